//! Building a claim for a file: what the file itself says (hash, media
//! type, its C2PA manifest store, a perceptual hash of the picture), plus
//! command-line options for what it does not say.
//!
//! Rule for options and the manifest (spec/claim.md §3.10): an option may
//! supply a value the manifest does not state; an option that contradicts a
//! value the manifest states is an error, never a silent override.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use provlog_c2pa::read::{ManifestFacts, read_manifest};
use provlog_c2pa::{C2paError, C2paOptions};
use provlog_core::claim::{
    Asset, C2paBinding, C2paValidationState, Claim, Consent, DigitalSourceType, DirectDisclosure,
    Disclosure, ExclusionRange, Generator, HardBinding, HardBindingKind, HashAlg,
    IndirectDisclosure, SoftBinding, SoftBindingKind,
};
use provlog_core::signed_claim::SignedClaim;
use sha2::{Digest, Sha256};

use crate::atomic::write_atomic;
use crate::keys::load_key;
use crate::out::outln;

/// Generator when neither `--generator` nor the manifest names one.
const DEFAULT_GENERATOR: &str = "unknown/unknown/0";
/// Source type when neither `--source-type` nor the manifest states one.
const DEFAULT_SOURCE_TYPE: &str = "trainedAlgorithmicMedia";

/// Claim contents that are not read from the file itself.
#[derive(Args, Debug, Clone)]
pub struct ClaimArgs {
    /// Generator as VENDOR/TOOL/VERSION (e.g. "Example AI/imagegen/2.1").
    /// With a C2PA manifest, TOOL and VERSION must agree with its
    /// claim_generator_info (VENDOR may be given; else the signer's
    /// organisation). Default when nothing states it: unknown/unknown/0.
    #[arg(long)]
    pub generator: Option<String>,
    /// IPTC digital source type term (e.g. trainedAlgorithmicMedia,
    /// compositeWithTrainedAlgorithmicMedia). With a C2PA manifest it must
    /// agree with the manifest's c2pa.actions. Default when nothing states
    /// it: trainedAlgorithmicMedia.
    #[arg(long)]
    pub source_type: Option<String>,
    /// Disclosures applied, comma-separated: label, caption (direct);
    /// c2pa, watermark, metadata (indirect). `c2pa` is added when the file
    /// carries a manifest.
    #[arg(long, value_delimiter = ',', default_value = "metadata")]
    pub disclosure: Vec<String>,
    /// C2PA active manifest label, when the binding is given by hand (needs
    /// --c2pa-claim-hash and --c2pa-hash too). With a manifest in the file,
    /// these must agree with it.
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
    /// Log a file whose C2PA manifest the SDK finds invalid (e.g. its hard
    /// binding does not match the bytes) anyway; the claim records the
    /// state `invalid` and the SDK's failure codes.
    #[arg(long)]
    pub allow_invalid_c2pa: bool,
    /// PEM bundle of C2PA trust anchors; a manifest signed under one of them
    /// is recorded as `trusted` (otherwise `valid`, signer untrusted).
    #[arg(long)]
    pub c2pa_trust_anchors: Option<PathBuf>,
    /// Do not compute the perceptual-hash soft binding of images.
    #[arg(long)]
    pub no_phash: bool,
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

/// SHA-256 and size of a file, streamed, and its first 8 KiB.
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

/// Everything read from one file.
pub struct FileFacts {
    /// SHA-256 of the bytes.
    pub sha256: [u8; 32],
    /// Size in bytes.
    pub size: u64,
    /// Sniffed media type.
    pub media_type: String,
    /// The C2PA manifest store, if the file has one.
    pub manifest: Option<ManifestFacts>,
    /// The perceptual hash, for images (unless `--no-phash`).
    pub phash: Option<u64>,
}

/// Parses VENDOR/TOOL/VERSION.
fn parse_generator(g: &str) -> Result<Generator, String> {
    let mut parts = g.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(v), Some(t), Some(ver)) => Ok(Generator {
            vendor: v.to_string(),
            tool: t.to_string(),
            version: ver.to_string(),
        }),
        _ => Err(format!("--generator {g:?} must be VENDOR/TOOL/VERSION")),
    }
}

/// The C2PA options from `--c2pa-trust-anchors`.
pub fn c2pa_options(trust_anchors: Option<&Path>) -> Result<C2paOptions, String> {
    let trust_anchors = match trust_anchors {
        None => None,
        Some(p) => Some(
            fs::read_to_string(p)
                .map_err(|e| format!("cannot read --c2pa-trust-anchors {}: {e}", p.display()))?,
        ),
    };
    Ok(C2paOptions { trust_anchors })
}

/// Reads a file's manifest store (if the SDK handles its type). A file the
/// SDK cannot even parse to look for a store has none (with a warning); a
/// store that is there but cannot be read is an error.
pub fn read_c2pa(
    file: &Path,
    media_type: &str,
    opts: &C2paOptions,
) -> Result<Option<ManifestFacts>, String> {
    match read_manifest(file, media_type, opts) {
        Err(C2paError::Unreadable(e)) => {
            eprintln!(
                "warning: {}: no C2PA manifest store found (the C2PA SDK cannot parse the file: {e})",
                file.display()
            );
            Ok(None)
        }
        r => r.map_err(|e| {
            format!(
                "{}: cannot read its C2PA manifest store: {e}",
                file.display()
            )
        }),
    }
}

/// The perceptual hash of an image file, bounded (spec/claim.md §3.3).
/// `None` for files that are not supported images; an image that cannot be
/// decoded within the limits gets no perceptual hash (with a warning): the
/// hash is an extra way to find the claim, not a condition for logging it.
pub fn phash_file(file: &Path, head: &[u8], size: u64) -> Result<Option<u64>, String> {
    if !provlog_media::is_supported_image(head) {
        return Ok(None);
    }
    if size > provlog_media::MAX_IMAGE_BYTES as u64 {
        eprintln!(
            "warning: {}: {size} bytes is over the {}-byte limit; no perceptual hash",
            file.display(),
            provlog_media::MAX_IMAGE_BYTES
        );
        return Ok(None);
    }
    let bytes = fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    match provlog_media::perceptual_hash_of(&bytes) {
        Ok(h) => Ok(Some(h)),
        Err(e) => {
            eprintln!("warning: {}: {e}; no perceptual hash", file.display());
            Ok(None)
        }
    }
}

impl ClaimArgs {
    /// Checks the options alone (generator, disclosure, consent, source
    /// type, a hand-typed C2PA binding), so a typo fails at once as a usage
    /// error instead of once per file.
    pub fn check(&self) -> Result<(), String> {
        let facts = FileFacts {
            sha256: [0; 32],
            size: 0,
            media_type: "application/octet-stream".into(),
            manifest: None,
            phash: None,
        };
        self.build_from(&facts).map(|_| ())
    }

    /// Reads everything the claim takes from the file.
    pub fn read_file(&self, file: &Path) -> Result<FileFacts, String> {
        let (sha256, size, head) = hash_file(file)?;
        let media_type = sniff_media_type(&head);
        let opts = c2pa_options(self.c2pa_trust_anchors.as_deref())?;
        let manifest = read_c2pa(file, &media_type, &opts)?;
        let phash = if self.no_phash {
            None
        } else {
            phash_file(file, &head, size)?
        };
        Ok(FileFacts {
            sha256,
            size,
            media_type,
            manifest,
            phash,
        })
    }

    /// Builds the claim from what was read of a file.
    pub fn build_from(&self, f: &FileFacts) -> Result<Claim, String> {
        let m = f.manifest.as_ref();
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
        if m.is_some() {
            indirect.push(IndirectDisclosure::C2pa);
        }
        direct.sort();
        direct.dedup();
        indirect.sort();
        indirect.dedup();
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
        let c2pa = match m {
            Some(m) => Some(self.binding_from_manifest(m)?),
            None => self.c2pa_binding()?,
        };
        let mut soft_bindings: Vec<SoftBinding> = Vec::new();
        if let Some(m) = m {
            soft_bindings.extend(m.soft_bindings.iter().cloned());
        }
        if let Some(h) = f.phash {
            soft_bindings.push(SoftBinding {
                kind: SoftBindingKind::Perceptual,
                alg: provlog_media::PHASH_ALG.to_string(),
                value: provlog_media::phash_value(h).to_vec(),
            });
        }
        let mut claim = Claim {
            version: 1,
            asset: Asset {
                sha256: f.sha256,
                media_type: f.media_type.clone(),
                size: f.size,
            },
            c2pa,
            soft_bindings,
            generator: self.generator_for(m)?,
            created,
            source_type: self.source_type_for(m)?,
            disclosure: Disclosure { direct, indirect },
            consent,
            sequence: self.sequence,
        };
        // The lowest schema version that holds it (v2 for a claim read from
        // a manifest: it records the validation state).
        claim.version = claim.required_version();
        claim
            .validate()
            .map_err(|e| format!("the claim is not valid: {e}"))?;
        Ok(claim)
    }

    /// The binding from the manifest; the SDK's verdict decides.
    fn binding_from_manifest(&self, m: &ManifestFacts) -> Result<C2paBinding, String> {
        if m.validation.state == C2paValidationState::Invalid && !self.allow_invalid_c2pa {
            return Err(format!(
                "its C2PA manifest {} is invalid (the C2PA SDK reports: {}); refusing to log it \
                 (--allow-invalid-c2pa logs it anyway and records that)",
                m.active_manifest,
                m.codes()
            ));
        }
        let binding = m.binding();
        // Hand-typed binding flags must agree with the manifest.
        if let Some(typed) = self.c2pa_binding()? {
            if typed.manifest_label != binding.manifest_label {
                return Err(format!(
                    "--c2pa-manifest {} contradicts the file's C2PA manifest {}",
                    typed.manifest_label, binding.manifest_label
                ));
            }
            if typed.claim_hash != binding.claim_hash {
                return Err("--c2pa-claim-hash contradicts the file's C2PA manifest".into());
            }
            if typed.hard_binding.hash != binding.hard_binding.hash
                || (!self.c2pa_exclusion.is_empty()
                    && typed.hard_binding.exclusions != binding.hard_binding.exclusions)
            {
                return Err(
                    "--c2pa-hash/--c2pa-exclusion contradict the file's C2PA hard binding".into(),
                );
            }
        }
        Ok(binding)
    }

    fn generator_for(&self, m: Option<&ManifestFacts>) -> Result<Generator, String> {
        let typed = match &self.generator {
            None => None,
            Some(g) => Some(parse_generator(g)?),
        };
        let Some(stated) = m.and_then(|m| m.generator.as_ref()) else {
            return match typed {
                Some(g) => Ok(g),
                None => parse_generator(DEFAULT_GENERATOR),
            };
        };
        match typed {
            Some(g) => {
                if g.tool != stated.tool || stated.version.as_ref().is_some_and(|v| *v != g.version)
                {
                    return Err(format!(
                        "--generator {}/{}/{} contradicts the C2PA manifest's \
                         claim_generator_info ({} {})",
                        g.vendor,
                        g.tool,
                        g.version,
                        stated.tool,
                        stated.version.as_deref().unwrap_or("(no version)")
                    ));
                }
                Ok(g)
            }
            None => Ok(Generator {
                vendor: stated
                    .vendor
                    .clone()
                    .unwrap_or_else(|| "unknown".to_string()),
                tool: stated.tool.clone(),
                version: stated
                    .version
                    .clone()
                    .unwrap_or_else(|| "unknown".to_string()),
            }),
        }
    }

    fn source_type_for(&self, m: Option<&ManifestFacts>) -> Result<DigitalSourceType, String> {
        let typed = match &self.source_type {
            None => None,
            Some(s) => Some(
                s.parse::<DigitalSourceType>()
                    .map_err(|e| format!("--source-type: {e}"))?,
            ),
        };
        match (m.and_then(|m| m.source_type.clone()), typed) {
            (Some(Ok(stated)), Some(t)) if stated != t => Err(format!(
                "--source-type {t} contradicts the C2PA manifest's digitalSourceType {stated}"
            )),
            (Some(Ok(stated)), _) => Ok(stated),
            (Some(Err(uri)), None) => Err(format!(
                "the C2PA manifest's digitalSourceType {uri} is not an IPTC term the claim schema \
                 knows; say which term applies with --source-type"
            )),
            (_, Some(t)) => Ok(t),
            (None, None) => DEFAULT_SOURCE_TYPE
                .parse()
                .map_err(|e| format!("internal: {e}")),
        }
    }

    /// The binding typed with `--c2pa-*` flags, if any.
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
                kind: HardBindingKind::Data,
                alg: HashAlg::Sha256,
                hash: hex32("c2pa-hash", &self.c2pa_hash)?,
                exclusions,
            },
            validation: None,
        }))
    }
}

/// `provlog claim`.
pub fn claim_command(
    file: &Path,
    key: &Path,
    out: Option<&Path>,
    args: &ClaimArgs,
) -> Result<(), crate::fail::Fail> {
    args.check().map_err(crate::fail::usage)?;
    let signer = load_key(key)?;
    let facts = args.read_file(file)?;
    if facts.size == 0 {
        return Err(crate::fail::usage(format!(
            "{} is empty: there is nothing to register",
            file.display()
        )));
    }
    let claim = args
        .build_from(&facts)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    if let Some(m) = &facts.manifest
        && m.validation.state == C2paValidationState::Invalid
    {
        eprintln!(
            "warning: {}: logging an INVALID C2PA manifest (--allow-invalid-c2pa): {}",
            file.display(),
            m.codes()
        );
    }
    let vkey = signer.verifier_key().to_vkey();
    let signed = SignedClaim::sign(&claim, signer.signing_key(), &vkey)
        .map_err(|e| format!("cannot sign: {e}"))?;
    if let Some(out) = out {
        write_atomic(out, signed.to_bytes())
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
