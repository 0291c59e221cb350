//! Building a claim for a file from command-line options.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use provlog_core::claim::{
    Asset, C2paBinding, Claim, Consent, DigitalSourceType, DirectDisclosure, Disclosure,
    ExclusionRange, Generator, HardBinding, HashAlg, IndirectDisclosure,
};
use provlog_core::signed_claim::SignedClaim;
use sha2::{Digest, Sha256};

use crate::keys::load_key;
use crate::out::outln;

/// Claim contents that are not read from the file itself.
#[derive(Args, Debug, Clone)]
pub struct ClaimArgs {
    /// Generator as VENDOR/TOOL/VERSION (e.g. "Example AI/imagegen/2.1").
    #[arg(long, default_value = "unknown/unknown/0")]
    pub generator: String,
    /// IPTC digital source type term (e.g. trainedAlgorithmicMedia,
    /// compositeWithTrainedAlgorithmicMedia).
    #[arg(long, default_value = "trainedAlgorithmicMedia")]
    pub source_type: String,
    /// Disclosures applied, comma-separated: label, caption (direct);
    /// c2pa, watermark, metadata (indirect).
    #[arg(long, value_delimiter = ',', default_value = "metadata")]
    pub disclosure: Vec<String>,
    /// C2PA active manifest label embedded in the asset, if any (needs
    /// --c2pa-claim-hash and --c2pa-hash too).
    #[arg(long, requires_all = ["c2pa_claim_hash", "c2pa_hash"])]
    pub c2pa_manifest: Option<String>,
    /// SHA-256 (hex) of the C2PA claim the manifest signature covers.
    #[arg(long)]
    pub c2pa_claim_hash: Option<String>,
    /// The `c2pa.hash.data` hard-binding SHA-256 (hex).
    #[arg(long)]
    pub c2pa_hash: Option<String>,
    /// A hard-binding exclusion range START:LENGTH, copied from the manifest
    /// (repeat for several).
    #[arg(long)]
    pub c2pa_exclusion: Vec<String>,
    /// Consent status where a real person is depicted: not_applicable,
    /// obtained, not_obtained, unknown.
    #[arg(long)]
    pub consent: Option<String>,
    /// Creation time (unix seconds); default: now.
    #[arg(long)]
    pub created: Option<u64>,
    /// Per-vendor sequence number.
    #[arg(long)]
    pub sequence: Option<u64>,
}

/// SHA-256 and size of a file, streamed.
pub fn hash_file(path: &Path) -> Result<([u8; 32], u64, Vec<u8>), String> {
    let mut f = fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut head = Vec::new();
    let mut size = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        if head.len() < 8192 {
            let take = n.min(8192 - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hasher.finalize().into(), size, head))
}

/// Media type sniffed from the content, `application/octet-stream` if unknown.
pub fn sniff_media_type(head: &[u8]) -> String {
    infer::get(head)
        .map(|t| t.mime_type().to_string())
        .unwrap_or_else(|| "application/octet-stream".to_string())
}

impl ClaimArgs {
    /// Builds the claim for `file`.
    pub fn build(&self, file: &Path) -> Result<Claim, String> {
        let (sha256, size, head) = hash_file(file)?;
        self.build_for(sha256, size, sniff_media_type(&head))
    }

    /// Builds the claim for an asset already hashed.
    pub fn build_for(
        &self,
        sha256: [u8; 32],
        size: u64,
        media_type: String,
    ) -> Result<Claim, String> {
        let mut parts = self.generator.splitn(3, '/');
        let (vendor, tool, version) = match (parts.next(), parts.next(), parts.next()) {
            (Some(v), Some(t), Some(ver)) => (v, t, ver),
            _ => {
                return Err(format!(
                    "--generator {:?} must be VENDOR/TOOL/VERSION",
                    self.generator
                ));
            }
        };
        let source_type: DigitalSourceType = self
            .source_type
            .parse()
            .map_err(|e| format!("--source-type: {e}"))?;
        let mut direct = Vec::new();
        let mut indirect = Vec::new();
        for d in &self.disclosure {
            match d.trim() {
                "label" => direct.push(DirectDisclosure::Label),
                "caption" => direct.push(DirectDisclosure::Caption),
                "c2pa" => indirect.push(IndirectDisclosure::C2pa),
                "watermark" => indirect.push(IndirectDisclosure::Watermark),
                "metadata" => indirect.push(IndirectDisclosure::Metadata),
                "" => {}
                other => {
                    return Err(format!(
                        "--disclosure {other:?}: use label, caption, c2pa, watermark or metadata"
                    ));
                }
            }
        }
        let consent = match &self.consent {
            None => None,
            Some(c) => Some(
                c.parse::<Consent>()
                    .map_err(|e| format!("--consent: {e}"))?,
            ),
        };
        let created = match self.created {
            Some(t) => t,
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let claim = Claim {
            version: 1,
            asset: Asset {
                sha256,
                media_type,
                size,
            },
            c2pa: self.c2pa_binding()?,
            soft_bindings: vec![],
            generator: Generator {
                vendor: vendor.to_string(),
                tool: tool.to_string(),
                version: version.to_string(),
            },
            created,
            source_type,
            disclosure: Disclosure { direct, indirect },
            consent,
            sequence: self.sequence,
        };
        claim
            .validate()
            .map_err(|e| format!("the claim is not valid: {e}"))?;
        Ok(claim)
    }
}

impl ClaimArgs {
    fn c2pa_binding(&self) -> Result<Option<C2paBinding>, String> {
        let Some(label) = &self.c2pa_manifest else {
            return Ok(None);
        };
        let hex32 = |name: &str, v: &Option<String>| -> Result<Vec<u8>, String> {
            let v = v
                .as_deref()
                .ok_or_else(|| format!("--c2pa-manifest needs --{name}"))?;
            let b = hex::decode(v.trim()).map_err(|_| format!("--{name} is not hex"))?;
            if b.len() != 32 {
                return Err(format!("--{name} must be a SHA-256 (64 hex digits)"));
            }
            Ok(b)
        };
        let exclusions = self
            .c2pa_exclusion
            .iter()
            .map(|e| {
                let (start, length) = e
                    .split_once(':')
                    .ok_or_else(|| format!("--c2pa-exclusion {e:?} must be START:LENGTH"))?;
                Ok(ExclusionRange {
                    start: start
                        .parse()
                        .map_err(|_| format!("--c2pa-exclusion {e:?}: bad start"))?,
                    length: length
                        .parse()
                        .map_err(|_| format!("--c2pa-exclusion {e:?}: bad length"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Some(C2paBinding {
            manifest_label: label.clone(),
            claim_alg: HashAlg::Sha256,
            claim_hash: hex32("c2pa-claim-hash", &self.c2pa_claim_hash)?,
            hard_binding: HardBinding {
                alg: HashAlg::Sha256,
                hash: hex32("c2pa-hash", &self.c2pa_hash)?,
                exclusions,
            },
        }))
    }
}

/// `provlog claim`.
pub fn claim_command(
    file: &Path,
    key: &Path,
    out: Option<&Path>,
    args: &ClaimArgs,
) -> Result<(), String> {
    let signer = load_key(key)?;
    let claim = args.build(file)?;
    let vkey = signer.verifier_key().to_vkey();
    let signed = SignedClaim::sign(&claim, signer.signing_key(), &vkey)
        .map_err(|e| format!("cannot sign: {e}"))?;
    if let Some(out) = out {
        fs::write(out, signed.to_bytes())
            .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
        eprintln!(
            "wrote signed claim ({} bytes) to {}",
            signed.to_bytes().len(),
            out.display()
        );
    }
    let json = serde_json::json!({
        "vendor_key": vkey,
        "claim": claim,
    });
    outln!(
        "{}",
        serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
    );
    Ok(())
}
