//! Reading and validating a manifest store: what a claim needs from it.
//!
//! The SDK's [`c2pa::Reader`] validates the store (signatures, hashed URIs,
//! the hard binding over the file's bytes, ingredients, trust) and gives the
//! manifests' assertions. Three things the SDK's reader does not expose are
//! read from the store's JUMBF boxes with the `jumbf` crate: the claim bytes
//! (to hash them), the hard-binding assertion (the reader hides it) and
//! whether a manifest is an update manifest (its box type UUID).

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use c2pa::assertions::{Actions, DataHash};
use c2pa::{Manifest, Reader, ValidationState};
use jumbf::parser::{ChildBox, SuperBox};
use provlog_core::asset_match::ObservedC2pa;
use provlog_core::claim::{
    C2paBinding, C2paValidation, C2paValidationState, DigitalSourceType, ExclusionRange,
    HardBinding, HardBindingKind, HashAlg, SoftBinding, SoftBindingKind,
};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::{C2paError, C2paOptions, MAX_MANIFEST_STORE, RECEIPT_ASSERTION};

/// Failure codes that say the signer is not trusted, which C2PA counts as
/// "valid" (not "trusted"), never as "invalid".
const TRUST_CODES: &[&str] = &["signingCredential.untrusted"];
/// Success codes of the three hard-binding checks.
const HARD_BINDING_MATCH: &[&str] = &[
    "assertion.dataHash.match",
    "assertion.bmffHash.match",
    "assertion.boxesHash.match",
];
/// JUMBF type UUID prefixes of a standard and an update manifest ("c2ma",
/// "c2um"; C2PA 2.x §11.1).
const STANDARD_MANIFEST: &[u8; 4] = b"c2ma";
const UPDATE_MANIFEST: &[u8; 4] = b"c2um";
/// JUMBF nesting read: store > manifest > assertion store > assertion > content.
const JUMBF_DEPTH: usize = 4;

/// The generator as the manifest states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestGenerator {
    /// The signer's organisation (from its certificate), if stated.
    pub vendor: Option<String>,
    /// `claim_generator_info[0].name` (or the product of a v1 `claim_generator`).
    pub tool: String,
    /// Its `version`, if stated.
    pub version: Option<String>,
}

/// What a claim needs from an asset's manifest store.
#[derive(Clone, Debug)]
pub struct ManifestFacts {
    /// The active manifest's label.
    pub active_manifest: String,
    /// The manifest that binds the content: the active one, or the standard
    /// manifest an update manifest (chain) refers to as its parent.
    pub binding_manifest: String,
    /// Algorithm of the binding manifest's claim.
    pub claim_alg: HashAlg,
    /// Hash of its claim bytes.
    pub claim_hash: Vec<u8>,
    /// Its hard binding, copied verbatim.
    pub hard_binding: HardBinding,
    /// Whether the SDK verified the hard binding over the file's bytes (a
    /// match code for it, and the store is not invalid).
    pub hard_binding_verified: bool,
    /// The SDK's verdict: state and failure codes.
    pub validation: C2paValidation,
    /// `digitalSourceType` of the binding manifest's actions, as a term, or
    /// the URI when it is not a term of the claim vocabulary.
    pub source_type: Option<Result<DigitalSourceType, String>>,
    /// The generator the binding manifest states.
    pub generator: Option<ManifestGenerator>,
    /// The binding manifest's `c2pa.soft-binding` blocks.
    pub soft_bindings: Vec<SoftBinding>,
    /// Receipt bytes from `org.provlog.receipt` assertions, newest manifest first.
    pub receipts: Vec<Vec<u8>>,
    /// Whether the store is embedded (else it is a sidecar).
    pub embedded: bool,
}

impl ManifestFacts {
    /// The claim's C2PA binding, with the validation record.
    pub fn binding(&self) -> C2paBinding {
        C2paBinding {
            manifest_label: self.binding_manifest.clone(),
            claim_alg: self.claim_alg,
            claim_hash: self.claim_hash.clone(),
            hard_binding: self.hard_binding.clone(),
            validation: Some(self.validation.clone()),
        }
    }

    /// What the asset-identity rule needs (spec/claim.md §5).
    pub fn observed(&self) -> ObservedC2pa {
        ObservedC2pa {
            binding_manifest: self.binding_manifest.clone(),
            claim_alg: self.claim_alg,
            claim_hash: self.claim_hash.clone(),
            hard_binding: self.hard_binding.clone(),
            hard_binding_verified: self.hard_binding_verified,
            failure_codes: self.validation.codes.clone(),
        }
    }

    /// The failure codes, comma-separated, for messages.
    pub fn codes(&self) -> String {
        self.validation.codes.join(", ")
    }
}

/// The `.c2pa` sidecar the SDK looks for: the file name with its extension
/// replaced by `c2pa`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    path.with_extension("c2pa")
}

fn hash_alg(name: &str) -> Result<HashAlg, C2paError> {
    HashAlg::from_term(name).ok_or_else(|| {
        C2paError::Malformed(format!(
            "hash algorithm {name:?} is not sha256/sha384/sha512"
        ))
    })
}

fn digest(alg: HashAlg, data: &[u8]) -> Vec<u8> {
    match alg {
        HashAlg::Sha256 => Sha256::digest(data).to_vec(),
        HashAlg::Sha384 => Sha384::digest(data).to_vec(),
        HashAlg::Sha512 => Sha512::digest(data).to_vec(),
    }
}

/// The manifest store's bytes: embedded, else the sidecar; `None` if there
/// is neither. The size is checked before the SDK parses anything.
fn store_bytes(path: &Path, media_type: &str) -> Result<Option<(Vec<u8>, bool)>, C2paError> {
    let mut file = File::open(path)
        .map_err(|e| C2paError::Io(format!("cannot open {}: {e}", path.display())))?;
    match c2pa::jumbf_io::load_jumbf_from_stream(media_type, &mut file) {
        Ok(bytes) => {
            if bytes.len() > MAX_MANIFEST_STORE {
                return Err(C2paError::TooLarge {
                    size: bytes.len(),
                    max: MAX_MANIFEST_STORE,
                });
            }
            Ok(Some((bytes, true)))
        }
        Err(c2pa::Error::JumbfNotFound) => {
            let sidecar = sidecar_path(path);
            let Ok(meta) = std::fs::metadata(&sidecar) else {
                return Ok(None);
            };
            if meta.len() > MAX_MANIFEST_STORE as u64 {
                return Err(C2paError::TooLarge {
                    size: usize::try_from(meta.len()).unwrap_or(usize::MAX),
                    max: MAX_MANIFEST_STORE,
                });
            }
            let mut bytes = Vec::new();
            File::open(&sidecar)
                .and_then(|f| {
                    f.take(MAX_MANIFEST_STORE as u64 + 1)
                        .read_to_end(&mut bytes)
                })
                .map_err(|e| C2paError::Io(format!("cannot read {}: {e}", sidecar.display())))?;
            if bytes.len() > MAX_MANIFEST_STORE {
                return Err(C2paError::TooLarge {
                    size: bytes.len(),
                    max: MAX_MANIFEST_STORE,
                });
            }
            Ok(Some((bytes, false)))
        }
        Err(e) => Err(C2paError::Unreadable(e.to_string())),
    }
}

/// The manifest superboxes of a store, by label.
struct StoreBoxes<'a> {
    manifests: Vec<(&'a str, &'a SuperBox<'a>)>,
}

impl<'a> StoreBoxes<'a> {
    fn new(store: &'a SuperBox<'a>) -> Self {
        let manifests = store
            .child_boxes
            .iter()
            .filter_map(ChildBox::as_super_box)
            .filter_map(|m| m.desc.label.map(|l| (l, m)))
            .collect();
        StoreBoxes { manifests }
    }

    fn manifest(&self, label: &str) -> Result<&'a SuperBox<'a>, C2paError> {
        let mut found = self.manifests.iter().filter(|(l, _)| *l == label);
        match (found.next(), found.next()) {
            (Some((_, m)), None) => Ok(m),
            (None, _) => Err(C2paError::Malformed(format!(
                "manifest {label} is not a JUMBF superbox of the store (compressed manifests \
                 are not supported)"
            ))),
            (Some(_), Some(_)) => Err(C2paError::Malformed(format!(
                "the store has two manifests labelled {label}"
            ))),
        }
    }
}

fn child<'a>(sbox: &'a SuperBox<'a>, pred: impl Fn(&str) -> bool) -> Vec<&'a SuperBox<'a>> {
    sbox.child_boxes
        .iter()
        .filter_map(ChildBox::as_super_box)
        .filter(|b| b.desc.label.is_some_and(&pred))
        .collect()
}

/// The CBOR content of a superbox (its first data box, of type `cbor`).
fn cbor_content<'a>(sbox: &'a SuperBox<'a>, what: &str) -> Result<&'a [u8], C2paError> {
    match sbox.data_box() {
        Some(d) if &d.tbox.0 == b"cbor" => Ok(d.data),
        _ => Err(C2paError::Malformed(format!(
            "{what} has no CBOR content box"
        ))),
    }
}

/// Reads the claim bytes and hard binding of the manifest `label`.
fn claim_and_hard_binding(
    boxes: &StoreBoxes<'_>,
    manifest: &Manifest,
    label: &str,
) -> Result<(HashAlg, Vec<u8>, HardBinding), C2paError> {
    let m = boxes.manifest(label)?;
    let claims = child(m, |l| l == "c2pa.claim.v2" || l == "c2pa.claim");
    let [claim_box] = claims.as_slice() else {
        return Err(C2paError::Malformed(format!(
            "manifest {label} does not have exactly one claim box"
        )));
    };
    let claim_bytes = cbor_content(claim_box, "the claim box")?;
    let claim: c2pa_cbor::Value = c2pa_cbor::from_slice(claim_bytes)
        .map_err(|e| C2paError::Malformed(format!("claim of {label} is not CBOR: {e}")))?;
    let alg_name = match &claim {
        c2pa_cbor::Value::Map(m) => m.iter().find_map(|(k, v)| match (k, v) {
            (c2pa_cbor::Value::Text(k), c2pa_cbor::Value::Text(v)) if k == "alg" => Some(v.clone()),
            _ => None,
        }),
        _ => None,
    }
    .ok_or_else(|| C2paError::Malformed(format!("claim of {label} has no alg")))?;
    let claim_alg = hash_alg(&alg_name)?;
    let claim_hash = digest(claim_alg, claim_bytes);

    let assertion_stores = child(m, |l| l == "c2pa.assertions");
    let [assertions] = assertion_stores.as_slice() else {
        return Err(C2paError::Malformed(format!(
            "manifest {label} does not have exactly one assertion store"
        )));
    };
    let base = |l: &str| l.split("__").next().unwrap_or(l).to_string();
    let hard = child(assertions, |l| {
        let b = base(l);
        b == "c2pa.hash.data" || b.starts_with("c2pa.hash.bmff") || b == "c2pa.hash.boxes"
    });
    let [hard_box] = hard.as_slice() else {
        return Err(C2paError::Malformed(format!(
            "manifest {label} has {} hard-binding assertions, not one",
            hard.len()
        )));
    };
    let hard_label = base(hard_box.desc.label.unwrap_or_default());
    let content = cbor_content(hard_box, &hard_label)?;
    let hard_binding = if hard_label == "c2pa.hash.data" {
        let dh: DataHash = c2pa_cbor::from_slice(content)
            .map_err(|e| C2paError::Malformed(format!("{hard_label} of {label}: {e}")))?;
        HardBinding {
            kind: HardBindingKind::Data,
            alg: hash_alg(dh.alg.as_deref().unwrap_or(&alg_name))?,
            hash: dh.hash.clone(),
            exclusions: dh
                .exclusions
                .iter()
                .flatten()
                .map(|r| ExclusionRange {
                    start: r.start(),
                    length: r.length(),
                })
                .collect(),
        }
    } else if hard_label.starts_with("c2pa.hash.bmff") {
        let bh: c2pa::assertions::BmffHash = c2pa_cbor::from_slice(content)
            .map_err(|e| C2paError::Malformed(format!("{hard_label} of {label}: {e}")))?;
        let hash = bh.hash().cloned().ok_or_else(|| {
            C2paError::Unsupported(format!(
                "{hard_label} of {label} has no top-level hash (Merkle-only BMFF hashes are not \
                 supported)"
            ))
        })?;
        HardBinding {
            kind: HardBindingKind::Bmff,
            alg: hash_alg(bh.alg().map(String::as_str).unwrap_or(&alg_name))?,
            hash,
            exclusions: vec![],
        }
    } else {
        // Box hash: per-box hashes; the binding is the assertion itself,
        // identified by the hash the claim holds for it.
        let r = manifest
            .assertion_references()
            .find(|r| r.url().ends_with("/c2pa.hash.boxes"))
            .ok_or_else(|| {
                C2paError::Malformed(format!(
                    "the claim of {label} does not reference its box hash"
                ))
            })?;
        let alg = match r.alg() {
            Some(a) => hash_alg(&a)?,
            None => claim_alg,
        };
        HardBinding {
            kind: HardBindingKind::Boxes,
            alg,
            hash: r.hash(),
            exclusions: vec![],
        }
    };
    Ok((claim_alg, claim_hash, hard_binding))
}

fn is_update_manifest(boxes: &StoreBoxes<'_>, label: &str) -> Result<bool, C2paError> {
    let m = boxes.manifest(label)?;
    let prefix: &[u8] = &m.desc.uuid[..4];
    if prefix == UPDATE_MANIFEST {
        Ok(true)
    } else if prefix == STANDARD_MANIFEST {
        Ok(false)
    } else {
        Err(C2paError::Malformed(format!(
            "manifest {label} has an unknown box type"
        )))
    }
}

/// Follows update manifests from the active one to the standard manifest
/// whose hard binding binds the content (as the SDK does).
fn binding_manifest(
    reader: &Reader,
    boxes: &StoreBoxes<'_>,
    active: &str,
) -> Result<String, C2paError> {
    let mut label = active.to_string();
    let mut seen = HashSet::new();
    while is_update_manifest(boxes, &label)? {
        if !seen.insert(label.clone()) {
            return Err(C2paError::Malformed("update manifests form a cycle".into()));
        }
        let m = reader
            .get_manifest(&label)
            .ok_or_else(|| C2paError::Malformed(format!("manifest {label} is missing")))?;
        label = m
            .parent()
            .and_then(|p| p.active_manifest())
            .ok_or_else(|| {
                C2paError::Malformed(format!("update manifest {label} has no parent manifest"))
            })?
            .to_string();
    }
    Ok(label)
}

fn source_type(m: &Manifest) -> Option<Result<DigitalSourceType, String>> {
    let mut first = None;
    for a in m.assertions() {
        if !a.label().starts_with("c2pa.actions") {
            continue;
        }
        let Ok(actions) = a.to_assertion::<Actions>() else {
            continue;
        };
        for act in actions.actions() {
            let Some(dst) = act.source_type() else {
                continue;
            };
            let dst = dst.to_string();
            let parsed = DigitalSourceType::from_uri(&dst).ok_or(dst);
            if act.action() == "c2pa.created" {
                return Some(parsed);
            }
            first.get_or_insert(parsed);
        }
    }
    first
}

fn generator(m: &Manifest) -> Option<ManifestGenerator> {
    let vendor = m.signature_info().and_then(|s| s.issuer.clone());
    if let Some(info) = m.claim_generator_info.as_ref().and_then(|v| v.first()) {
        return Some(ManifestGenerator {
            vendor,
            tool: info.name.clone(),
            version: info.version.clone(),
        });
    }
    // C2PA 1.x: "product/version (comment) other/1.0".
    let g = m.claim_generator()?;
    let first = g.split_whitespace().next()?;
    let (tool, version) = match first.split_once('/') {
        Some((t, v)) => (t.to_string(), Some(v.to_string())),
        None => (first.to_string(), None),
    };
    Some(ManifestGenerator {
        vendor,
        tool,
        version,
    })
}

fn soft_bindings(m: &Manifest) -> Result<Vec<SoftBinding>, C2paError> {
    let mut out = Vec::new();
    for a in m.assertions() {
        if a.label() != "c2pa.soft-binding" {
            continue;
        }
        let sb = a
            .to_assertion::<c2pa::assertions::SoftBinding>()
            .map_err(|e| C2paError::Malformed(format!("c2pa.soft-binding: {e}")))?;
        let alg = sb
            .alg
            .clone()
            .ok_or_else(|| C2paError::Malformed("c2pa.soft-binding has no alg".into()))?;
        for block in &sb.blocks {
            let value = base64::engine::general_purpose::STANDARD
                .decode(block.value.as_bytes())
                .map_err(|_| {
                    C2paError::Malformed(format!(
                        "c2pa.soft-binding ({alg}) value {:?} is not base64",
                        block.value
                    ))
                })?;
            let s = SoftBinding {
                kind: SoftBindingKind::C2pa,
                alg: alg.clone(),
                value,
            };
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    Ok(out)
}

fn receipts(reader: &Reader, active: &str) -> Vec<Vec<u8>> {
    let mut labels: Vec<&str> = reader.manifests().keys().map(String::as_str).collect();
    // Newest (active) first, then the rest in a stable order.
    labels.sort_by_key(|l| (*l != active, *l));
    let mut out = Vec::new();
    for l in labels {
        let Some(m) = reader.get_manifest(l) else {
            continue;
        };
        for a in m.assertions() {
            if a.label() == RECEIPT_ASSERTION
                && let Ok(b) = a.to_assertion::<serde_bytes::ByteBuf>()
            {
                out.push(b.into_vec());
            }
        }
    }
    out
}

/// Reads and validates the manifest store of `path` (media type
/// `media_type`): embedded, else the `.c2pa` sidecar. `Ok(None)` when the
/// file has neither, or the SDK does not handle the media type.
///
/// Cost: the store's size is checked (at most [`MAX_MANIFEST_STORE`])
/// before the SDK parses it; validation hashes the file once.
pub fn read_manifest(
    path: &Path,
    media_type: &str,
    opts: &C2paOptions,
) -> Result<Option<ManifestFacts>, C2paError> {
    if !crate::supports_media_type(media_type) {
        return Ok(None);
    }
    let Some((store, embedded)) = store_bytes(path, media_type)? else {
        return Ok(None);
    };
    let mut file = File::open(path)
        .map_err(|e| C2paError::Io(format!("cannot open {}: {e}", path.display())))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| C2paError::Io(e.to_string()))?;
    let reader = if embedded {
        Reader::from_context(opts.context()?).with_stream(media_type, file)?
    } else {
        Reader::from_context(opts.context()?)
            .with_manifest_data_and_stream(&store, media_type, file)?
    };
    let active = reader
        .active_label()
        .ok_or_else(|| C2paError::Malformed("the store has no active manifest".into()))?
        .to_string();

    let (top, _) = SuperBox::from_slice_with_depth_limit(&store, JUMBF_DEPTH)
        .map_err(|e| C2paError::Malformed(format!("JUMBF: {e:?}")))?;
    let boxes = StoreBoxes::new(&top);
    let binding = binding_manifest(&reader, &boxes, &active)?;
    let manifest = reader
        .get_manifest(&binding)
        .ok_or_else(|| C2paError::Malformed(format!("manifest {binding} is missing")))?;
    let (claim_alg, claim_hash, hard_binding) = claim_and_hard_binding(&boxes, manifest, &binding)?;

    // The SDK's verdict, over the active manifest and every ingredient.
    let mut failures: Vec<String> = Vec::new();
    let mut hard_ok = false;
    if let Some(results) = reader.validation_results() {
        let mut codes = Vec::new();
        if let Some(a) = results.active_manifest() {
            codes.push(a);
        }
        for d in results.ingredient_deltas().into_iter().flatten() {
            codes.push(d.validation_deltas());
        }
        for c in codes {
            failures.extend(c.failure().iter().map(|s| s.code().to_string()));
            hard_ok |= c.success().iter().any(|s| {
                HARD_BINDING_MATCH.contains(&s.code())
                    && s.url().is_some_and(|u| u.contains(binding.as_str()))
            });
        }
    }
    failures.sort();
    failures.dedup();
    let state = match reader.validation_state() {
        ValidationState::Trusted => C2paValidationState::Trusted,
        ValidationState::Valid => C2paValidationState::Valid,
        ValidationState::Invalid => C2paValidationState::Invalid,
    };
    // A store the SDK calls invalid without a failure code still needs one
    // for the record.
    if state == C2paValidationState::Invalid && failures.is_empty() {
        failures.push("provlog.validation.invalid".to_string());
    }
    if state == C2paValidationState::Trusted {
        failures.retain(|c| !TRUST_CODES.contains(&c.as_str()));
    }
    failures.truncate(provlog_core::claim::MAX_VALIDATION_CODES);
    let validation = C2paValidation {
        state,
        codes: failures,
    };
    Ok(Some(ManifestFacts {
        active_manifest: active.clone(),
        binding_manifest: binding.clone(),
        claim_alg,
        claim_hash,
        hard_binding,
        hard_binding_verified: hard_ok && state != C2paValidationState::Invalid,
        validation,
        source_type: source_type(manifest),
        generator: generator(manifest),
        soft_bindings: soft_bindings(manifest)?,
        receipts: receipts(&reader, &active),
        embedded,
    }))
}
