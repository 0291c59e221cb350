//! Soft-binding quality on real photographs: recall of the original under
//! common transformations, and false matches among distinct images, for
//! every Hamming-distance threshold.
//!
//! ```sh
//! python3 bench/softbind/make_dataset.py /tmp/sbset      # scikit-image photos
//! cargo run --release -p provlog-media --example softbind_eval -- /tmp/sbset
//! ```
//!
//! Recall(t, transform): fraction of transformed copies whose own original
//! is within distance t. False matches(t): fraction of (copy, original)
//! pairs from *different* source photographs within t, over all copies;
//! also over (original, original) pairs. The production hash
//! (provlog_media::perceptual_hash) is compared with two other image_hasher
//! configurations, for the record.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use image_hasher::{HashAlg, HasherConfig};

type HashFn = fn(&image::DynamicImage) -> u64;

fn dhash(img: &image::DynamicImage) -> u64 {
    let h = HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::Gradient)
        .to_hasher()
        .hash_image(img);
    u64::from_be_bytes(h.as_bytes()[..8].try_into().unwrap())
}

fn median_dct(img: &image::DynamicImage) -> u64 {
    let h = HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::Median)
        .preproc_dct()
        .to_hasher()
        .hash_image(img);
    u64::from_be_bytes(h.as_bytes()[..8].try_into().unwrap())
}

fn double_gradient(img: &image::DynamicImage) -> u64 {
    let h = HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::DoubleGradient)
        .to_hasher()
        .hash_image(img);
    u64::from_be_bytes(h.as_bytes()[..8].try_into().unwrap())
}

fn dct_mean(img: &image::DynamicImage) -> u64 {
    let h = HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::Mean)
        .preproc_dct()
        .to_hasher()
        .hash_image(img);
    u64::from_be_bytes(h.as_bytes()[..8].try_into().unwrap())
}

fn blockhash(img: &image::DynamicImage) -> u64 {
    let h = HasherConfig::with_bytes_type::<[u8; 8]>()
        .hash_alg(HashAlg::Blockhash)
        .to_hasher()
        .hash_image(img);
    u64::from_be_bytes(h.as_bytes()[..8].try_into().unwrap())
}

fn load(path: &Path) -> image::DynamicImage {
    provlog_media::decode_image(&std::fs::read(path).unwrap()).unwrap()
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: softbind_eval DATASET_DIR");
    let dir = Path::new(&dir);
    let groups: HashMap<String, String> = std::fs::read_to_string(dir.join("groups.tsv"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut originals: Vec<(String, image::DynamicImage)> = Vec::new();
    for e in std::fs::read_dir(dir.join("orig")).unwrap() {
        let p = e.unwrap().path();
        let id = p.file_stem().unwrap().to_string_lossy().to_string();
        originals.push((id, load(&p)));
    }
    originals.sort_by(|a, b| a.0.cmp(&b.0));
    let mut queries: Vec<(String, String, image::DynamicImage)> = Vec::new();
    for e in std::fs::read_dir(dir.join("q")).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().to_string();
        let (id, t) = stem.split_once("__").unwrap();
        queries.push((id.to_string(), t.to_string(), load(&p)));
    }
    queries.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let photos: std::collections::BTreeSet<&String> = groups.values().collect();
    println!(
        "{} distinct images ({} photographs), {} transformed copies",
        originals.len(),
        photos.len(),
        queries.len()
    );
    let algs: [(&str, HashFn); 6] = [
        (provlog_media::PHASH_ALG, provlog_media::perceptual_hash),
        ("image_hasher Gradient 8x8 (dHash), no pre-scale", dhash),
        ("image_hasher DoubleGradient 8x8", double_gradient),
        ("image_hasher Median+DCT 8x8 (pHash)", median_dct),
        ("image_hasher Mean+DCT 8x8", dct_mean),
        ("image_hasher Blockhash 8x8", blockhash),
    ];
    for (name, f) in algs {
        let orig: Vec<(String, u64)> = originals.iter().map(|(id, i)| (id.clone(), f(i))).collect();
        let by_id: HashMap<&str, u64> = orig.iter().map(|(i, h)| (i.as_str(), *h)).collect();
        let qs: Vec<(String, String, u64)> = queries
            .iter()
            .map(|(id, t, i)| (id.clone(), t.clone(), f(i)))
            .collect();
        let transforms: Vec<String> = {
            let mut t: Vec<String> = qs.iter().map(|q| q.1.clone()).collect();
            t.sort();
            t.dedup();
            t
        };
        println!("\n== {name}");
        print!("{:>3}", "t");
        for t in &transforms {
            print!(" {t:>11}");
        }
        println!(" {:>11} {:>14} {:>14}", "all", "false(copy)", "false(orig)");
        let mut pairs_q = 0u64;
        let mut pairs_o = 0u64;
        let mut fm_q = BTreeMap::new();
        let mut fm_o = BTreeMap::new();
        for t in 0..=20u32 {
            let mut fq = 0u64;
            let mut fo = 0u64;
            pairs_q = 0;
            pairs_o = 0;
            for (qid, _, qh) in &qs {
                for (oid, oh) in &orig {
                    if groups[qid] != groups[oid] {
                        pairs_q += 1;
                        fq += u64::from((qh ^ oh).count_ones() <= t);
                    }
                }
            }
            for (i, (a, ah)) in orig.iter().enumerate() {
                for (b, bh) in &orig[i + 1..] {
                    if groups[a] != groups[b] {
                        pairs_o += 1;
                        fo += u64::from((ah ^ bh).count_ones() <= t);
                    }
                }
            }
            fm_q.insert(t, fq);
            fm_o.insert(t, fo);
            print!("{t:>3}");
            let mut all_hit = 0;
            for tr in &transforms {
                let (mut hit, mut n) = (0, 0);
                for (qid, qt, qh) in &qs {
                    if qt == tr {
                        n += 1;
                        hit += usize::from((qh ^ by_id[qid.as_str()]).count_ones() <= t);
                    }
                }
                all_hit += hit;
                print!(" {:>11.3}", hit as f64 / n as f64);
            }
            println!(
                " {:>11.3} {:>13.4}% {:>13.4}%",
                all_hit as f64 / qs.len() as f64,
                100.0 * fq as f64 / pairs_q as f64,
                100.0 * fo as f64 / pairs_o as f64
            );
        }
        println!("pairs: {pairs_q} (copy, other photo's original), {pairs_o} (original, original)");
    }
}
