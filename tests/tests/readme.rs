//! The README's command blocks, run as written (issue 18: "docs that are
//! tested"). Each test runs the blocks marked `<!-- test: NAME -->` with its
//! name, in order, in one bash session ([`provlog_e2e::readme::Shell`]:
//! temp dir, temp `HOME`, the binaries under test on `PATH`), and then
//! checks what the README says happens: output lines, files, receipts,
//! cosignatures, evidence. The first test fails if any command block has no
//! marker, or a marker names no test.
//!
//! The sections use the README's fixed ports (7300 for the log, 7401 and
//! 7402 for the monitors, SeaweedFS's defaults); such tests run one at a
//! time and fail, naming the port, if one is taken.
//!
//! Needs the binaries: `cargo build -p provlog-cli -p provlog-server -p
//! provlog-monitor` (cargo test --workspace builds them). The C2PA section
//! needs c2pa-python and the S3 section SeaweedFS's `weed` (.ci/run installs
//! both); without them those two are skipped, except under `CI=true`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use provlog_e2e::Vendor;
use provlog_e2e::readme::{
    Block, Shell, TESTS, blocks, fixed_ports, marked, marker_problems, readme, require_free_ports,
};

const MINUTE: Duration = Duration::from_secs(60);

/// Runs `blocks` in order in `shell`: a `background` block in a terminal
/// of its own (named `name-N`), the others in the session. Returns each
/// block's output ("" for a background block).
fn run_blocks(shell: &mut Shell, name: &str, blocks: &[Block]) -> Vec<String> {
    blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if b.background() {
                shell.terminal(&format!("{name}-{i}"), b, 2 * MINUTE);
                String::new()
            } else {
                shell.block(b, 3 * MINUTE)
            }
        })
        .collect()
}

/// Waits (at most `limit`) until `path` holds a line containing `needle`;
/// the file's text.
fn wait_for_line(path: &Path, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l.contains(needle)) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} has no line with {needle:?} after {} s:\n{text}",
            path.display(),
            limit.as_secs()
        );
        // Polling for a server's start-up line, bounded above.
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The quick start's `images/`: 4 pictures and 8 more in `2026-05/`, real
/// PNGs (so the perceptual hash has something to see).
fn write_images(work: &Path) {
    let dir = work.join("images");
    std::fs::create_dir_all(dir.join("2026-05")).expect("mkdir");
    let mut names: Vec<String> = ["cat", "dog", "harbour", "sunset"]
        .iter()
        .map(|n| format!("{n}.png"))
        .collect();
    names.extend((1..=8).map(|d| format!("2026-05/day-{d:02}.png")));
    for (i, name) in names.iter().enumerate() {
        let seed = i as u32 * 37 + 11;
        let img = image::RgbImage::from_fn(32, 32, |x, y| {
            let v = (x * seed + y * (seed ^ 0x55) + x * y) % 256;
            image::Rgb([v as u8, (v * 3 % 256) as u8, ((x + y) * seed % 256) as u8])
        });
        img.save(dir.join(name)).expect("write png");
    }
}

fn get(url: &str, accept: &str) -> Option<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(url)
            .header("accept", accept)
            .send()
            .await
            .ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    })
}

/// Skips (returns false, saying why) when `what` is missing, except under
/// `CI=true`, where it fails.
fn have(what: &str, present: bool, install: &str) -> bool {
    if !present {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "{what} is missing under CI=true; install it: {install}"
        );
        eprintln!("SKIPPED: {what} is missing (install it: {install})");
    }
    present
}

#[test]
fn every_command_block_is_run_by_a_named_test() {
    let md = readme();
    let problems = marker_problems(&md, TESTS);
    assert!(problems.is_empty(), "README.md:\n{}", problems.join("\n"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let this = std::fs::read_to_string(root.join("tests/tests/readme.rs")).expect("this file");
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    for (name, file) in TESTS {
        assert!(root.join(file).exists(), "{file} (for `test: {name}`)");
        if *file == "tests/tests/readme.rs" {
            assert!(
                this.contains(&format!("marked(\"{name}\")")),
                "no test here runs `marked(\"{name}\")`"
            );
        }
    }
    // A `ci` block is run by .ci/run: each of its commands is there.
    for b in blocks(&md)
        .iter()
        .filter(|b| b.is_commands() && b.test() == Some("ci"))
    {
        for line in b.body.lines() {
            let code = line.split(" #").next().unwrap_or_default().trim();
            for cmd in code.split("&&").map(str::trim).filter(|c| !c.is_empty()) {
                assert!(
                    ci.contains(cmd),
                    "README line {}: `{cmd}` is marked `test: ci` but .ci/run does not run it",
                    b.line
                );
            }
        }
    }
}

#[test]
fn the_two_commands() {
    let _ports = fixed_ports();
    require_free_ports(&[7300]);
    let mut shell = Shell::new();
    let blocks = marked("two-commands");
    run_blocks(&mut shell, "two-commands", &blocks);
    // `cargo run --release -p provlog-server`: the log on 127.0.0.1:7300
    // with its data in ./provlog-data and a key made at first start.
    let out = shell.root.path().join("two-commands-0.out");
    let text = wait_for_line(&out, "listening on http://127.0.0.1:7300", MINUTE);
    assert!(shell.work().join("provlog-data/log.key").exists());
    // Its origin comes from the listen address; the start-up lines say so
    // and say what to try next.
    assert!(text.contains("vkey 127.0.0.1:7300+"), "{text}");
    assert!(
        text.contains("was derived from the listen address"),
        "{text}"
    );
    assert!(text.contains("--public-url"), "{text}");
    assert!(
        text.contains("try: provlog submit --log http://127.0.0.1:7300"),
        "{text}"
    );
    // Not on a terminal: no colour codes, and none of the storage
    // engine's chatter at the default level.
    assert!(!text.contains('\u{1b}'), "no colour codes:\n{text}");
    assert!(
        !text.contains("fjall::") && !text.contains("lsm_tree::"),
        "storage engine lines only at debug:\n{text}"
    );
    // `GET /` says what this server is to a non-browser client.
    let (status, body) = get("http://127.0.0.1:7300/", "text/plain").expect("GET /");
    assert_eq!(status, 200);
    assert!(
        body.starts_with("provlog transparency log 127.0.0.1:7300\n"),
        "{body}"
    );
}

/// The quick start's blocks, run in `shell` (with the pictures in place).
fn quickstart(shell: &mut Shell) {
    write_images(&shell.work());
    let blocks = marked("quickstart");
    let outs = run_blocks(shell, "quickstart", &blocks);
    assert!(
        outs.iter()
            .any(|o| o.contains("12 logged with verified receipts"))
    );
}

#[test]
fn the_quick_start() {
    let _ports = fixed_ports();
    require_free_ports(&[7300]);
    let mut shell = Shell::new();
    quickstart(&mut shell);
    let work = shell.work();
    // Every picture has its receipt; the lost one was fetched back.
    let mut receipts = 0;
    for sub in ["images", "images/2026-05"] {
        for e in std::fs::read_dir(work.join(sub)).expect("images").flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            assert!(!name.ends_with(".pending"), "{name} left pending");
            receipts += usize::from(name.ends_with(".png.provlog"));
        }
    }
    assert_eq!(receipts, 12);
    let (status, out) = shell.run(
        "provlog verify images/cat.png --log-key \"$LOG_KEY\"",
        MINUTE,
    );
    assert_eq!(status, 0, "the fetched receipt verifies:\n{out}");
    assert!(out.starts_with("VERIFIED images/cat.png"), "{out}");
    // The log's stderr: where, its key, whether it is open, what to try.
    let log = std::fs::read_to_string(shell.root.path().join("quickstart-2.out")).expect("log");
    for needle in ["provlog log serving", "OPEN", "try: provlog submit"] {
        assert!(
            log.contains(needle),
            "{needle:?} in the log's output:\n{log}"
        );
    }
}

#[test]
fn the_cli_blocks() {
    let mut shell = Shell::new();
    for b in marked("cli") {
        shell.block(&b, MINUTE);
    }
    assert!(shell.work().join("vendor.key").exists());
    let completion = shell
        .home()
        .join(".local/share/bash-completion/completions/provlog");
    let script = std::fs::read_to_string(completion).unwrap_or_default();
    assert!(script.contains("_provlog"), "a bash completion script");
}

#[test]
fn the_c2pa_section() {
    let py = Command::new("python3")
        .args(["-c", "import c2pa"])
        .status()
        .is_ok_and(|s| s.success());
    if !have("c2pa-python", py, "python3 -m pip install c2pa-python") {
        return;
    }
    let _ports = fixed_ports();
    require_free_ports(&[7300]);
    let mut shell = Shell::new();
    // The README runs these scripts from a checkout.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::os::unix::fs::symlink(repo.join("c2pa"), shell.work().join("c2pa")).expect("link");
    // "continuing from the quick start".
    quickstart(&mut shell);
    let outs = run_blocks(&mut shell, "c2pa", &marked("c2pa"));
    let all = outs.join("\n");
    assert!(all.contains("Valid"), "c2pa-python still validates:\n{all}");
    assert!(
        all.contains("receipt     embedded in the C2PA manifest store"),
        "{all}"
    );
    let similar = outs.last().expect("the --similar block");
    assert!(similar.contains("every inclusion verified"), "{similar}");
}

#[test]
fn the_lookup_section() {
    let _ports = fixed_ports();
    require_free_ports(&[7300, 7301]);
    let mut shell = Shell::new();
    // "beside the quick start's log": its vendor key and pictures.
    quickstart(&mut shell);
    let outs = run_blocks(&mut shell, "lookup", &marked("lookup"));
    let all = outs.join("\n");
    // The console block compared each verdict; here, the counts: one
    // claim for cat.png, none for other.txt, all 12 for the vendor key,
    // the same 12 from the saved bundle offline.
    assert_eq!(
        all.matches("VERIFIED: 1 claims (complete as of checkpoint")
            .count(),
        1,
        "{all}"
    );
    assert_eq!(
        all.matches("VERIFIED ABSENT as of checkpoint").count(),
        1,
        "{all}"
    );
    assert_eq!(
        all.matches("VERIFIED: 12 claims (complete as of checkpoint")
            .count(),
        2,
        "{all}"
    );
    assert!(
        shell.work().join("mine.lookup").exists(),
        "the bundle was saved"
    );
    // The vendor's range: the 12 claims numbered 12-23 on this log.
    assert!(
        all.contains("VERIFIED: 12 claims with seq in [10, 25]")
            && all.contains("  gap: seq 10..11 (2 sequence numbers, no claim)")
            && all.contains("  gap: seq 24..25 (2 sequence numbers, no claim)"),
        "{all}"
    );
}

#[test]
fn the_s3_section() {
    let weed = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("weed").is_file()));
    if !have("SeaweedFS `weed`", weed, provlog_e2e::seaweed::INSTALL) {
        return;
    }
    let _ports = fixed_ports();
    // The log, and weed mini's default ports (master, volume, filer, S3).
    require_free_ports(&[7300, 8333, 9333, 8080, 8888, 19333, 18080, 18888]);
    let mut shell = Shell::new();
    let outs = run_blocks(&mut shell, "s3", &marked("s3"));
    let out = outs.last().expect("output");
    // The first checkpoint, read from the bucket: origin, size 0, the
    // empty tree's root, the log's signature.
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "127.0.0.1:7300")
        .unwrap_or_else(|| panic!("no checkpoint in:\n{out}"));
    assert_eq!(lines.get(at + 1), Some(&"0"), "{out}");
    assert_eq!(
        lines.get(at + 2),
        Some(&"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("— 127.0.0.1:7300 ")),
        "{out}"
    );
}

#[test]
fn the_s3_two_frontends_section() {
    let weed = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("weed").is_file()));
    if !have("SeaweedFS `weed`", weed, provlog_e2e::seaweed::INSTALL) {
        return;
    }
    let _ports = fixed_ports();
    // The sequencer, the two frontends, and weed mini's default ports.
    require_free_ports(&[
        7300, 7301, 7302, 8333, 9333, 8080, 8888, 19333, 18080, 18888,
    ]);
    let mut shell = Shell::new();
    // "any file `photo.png`".
    write_images(&shell.work());
    std::fs::copy(
        shell.work().join("images/cat.png"),
        shell.work().join("photo.png"),
    )
    .expect("photo.png");
    let outs = run_blocks(&mut shell, "s3-frontends", &marked("s3-frontends"));
    let out = outs.last().expect("output");
    let work = shell.work();
    // Two frontend keys, listed in the sequencer's file.
    let keys = std::fs::read_to_string(work.join("frontend-keys")).expect("frontend-keys");
    let listed: Vec<&str> = keys.lines().collect();
    assert_eq!(listed.len(), 2, "{keys}");
    assert!(
        listed.iter().all(|k| k.starts_with("provlog-frontend+")),
        "{keys}"
    );
    assert_ne!(listed[0], listed[1]);
    for d in ["fe1", "fe2"] {
        assert!(work.join(d).join("frontend.key").exists(), "{d}");
    }
    // Logged through the frontend, the receipt verified offline.
    assert!(
        out.contains("1 logged with verified receipts, 0 failed"),
        "{out}"
    );
    assert!(out.contains("VERIFIED photo.png"), "{out}");
    assert!(work.join("photo.png.provlog").exists());
    // The claim went through frontend 1: the sequencer took one forward.
    let (_, metrics) = get("http://127.0.0.1:7300/metrics", "text/plain").expect("metrics");
    assert!(
        metrics
            .lines()
            .any(|l| l == "provlog_forwarded_claims_total 1"),
        "{metrics}"
    );
    let (_, fe1) = get("http://127.0.0.1:7301/metrics", "text/plain").expect("metrics");
    assert!(
        fe1.lines().any(|l| l == "provlog_forwarded_claims_total 1"),
        "{fe1}"
    );
    // The bucket's checkpoint: the log's origin, size 1, its signature.
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "127.0.0.1:7300")
        .unwrap_or_else(|| panic!("no checkpoint in:\n{out}"));
    assert_eq!(lines.get(at + 1), Some(&"1"), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("— 127.0.0.1:7300 ")),
        "{out}"
    );
}

#[test]
fn the_two_monitor_walkthrough() {
    let _ports = fixed_ports();
    require_free_ports(&[7300, 7401, 7402]);
    let mut shell = Shell::new();
    write_images(&shell.work());
    let blocks = marked("two-monitors");
    assert_eq!(blocks.len(), 4, "walkthrough, submit, refresh, evidence");
    let walk = shell.block(&blocks[0], 3 * MINUTE);
    // `provlog-monitor vkey --data ma` printed monitor A's witness vkey.
    assert!(
        walk.lines().any(|l| l.starts_with("monitor-a.example+")),
        "{walk}"
    );
    // Once both monitors have cosigned, a receipt says the quorum is met.
    let vendor = Vendor::new("imagegen.example");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + 2 * MINUTE;
    let quorum = loop {
        let answer = rt.block_on(async {
            let r = http
                .post("http://127.0.0.1:7300/v1/claims")
                .header("content-type", "application/cose")
                .body(vendor.claim(1))
                .send()
                .await
                .ok()?;
            r.headers()
                .get("provlog-witness-quorum")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        match answer {
            Some(h) if h.starts_with("met") => break h,
            // Until both monitors have cosigned once a receipt may go out
            // below the quorum; resubmitting the same claim is a duplicate.
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "no witnessed receipt within 120 s:\n{}",
                    shell.transcript
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    assert_eq!(quorum, "met; cosignatures=2; quorum=2");

    // Register the images; one verifies under the policy, with both
    // witnesses named.
    let verified = shell.block(&blocks[1], 3 * MINUTE);
    assert!(
        verified.contains("12 logged with verified receipts"),
        "{verified}"
    );
    assert!(verified.contains("VERIFIED images/cat.png"), "{verified}");
    // Named as the policy names them (`witness ma ...`, `witness mb ...`).
    for w in ["ma (cosigned ", "mb (cosigned "] {
        assert!(
            verified
                .lines()
                .any(|l| l.contains("witnesses") && l.contains(w)),
            "{w} cosigned:\n{verified}"
        );
    }
    shell.block(&blocks[2], MINUTE);
    let (status, out) = shell.run("provlog verify images/cat.png --policy both.policy", MINUTE);
    assert_eq!(status, 0, "the refreshed receipt verifies:\n{out}");

    // "(`evidence list` prints `no evidence` on stderr and nothing on
    // stdout while there is none.)"
    let list = Command::new(shell.work().join("target/release/provlog-monitor"))
        .args(["evidence", "list", "--monitor", "http://127.0.0.1:7401"])
        .output()
        .expect("evidence list");
    assert!(list.status.success(), "{list:?}");
    assert!(list.stdout.is_empty(), "{list:?}");
    assert!(String::from_utf8_lossy(&list.stderr).contains("no evidence"));

    // Make some: the log is replaced by one with the same key and another
    // tree; monitor A, which audited the first, catches it.
    shell.stop("provlog-server --data log --listen");
    let fork = shell.root.path().join("fork");
    std::fs::create_dir_all(&fork).expect("mkdir");
    for f in ["log.key", "log-mldsa.key"] {
        std::fs::copy(shell.work().join("log").join(f), fork.join(f)).expect("copy key");
    }
    let forked = provlog_e2e::LogProcess::try_start_on(&fork, "127.0.0.1:7300", &[])
        .expect("the forked log");
    // A new client: the pooled connections went to the stopped log.
    let http = reqwest::Client::new();
    rt.block_on(async {
        http.post("http://127.0.0.1:7300/v1/claims")
            .header("content-type", "application/cose")
            .body(vendor.claim(999))
            .send()
            .await
    })
    .expect("a claim for the fork");
    let deadline = Instant::now() + 2 * MINUTE;
    let held = || {
        get("http://127.0.0.1:7401/v1/evidence", "application/json")
            .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|v| v["total"].as_u64())
            .is_some_and(|n| n > 0)
    };
    while !held() {
        assert!(
            Instant::now() < deadline,
            "monitor A holds no evidence after 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let checked = shell.block(&blocks[3], MINUTE);
    assert!(checked.contains("VALID evidence"), "{checked}");
    assert!(forked.stop());
}
