//! Whether a file is the asset a claim is about (spec/claim.md §5).
//!
//! A file matches a claim when its SHA-256 is the claim's `asset.sha256`,
//! or, for a claim with a C2PA binding, when the file's C2PA manifest store
//! binds the same content: the SDK validated the hard binding of the
//! manifest that binds the file's content over the file as it is now, and
//! that manifest is the claim's (same label, same claim hash, same hard
//! binding). The second rule is what lets a file keep verifying after an
//! update manifest (for example one carrying the provlog receipt) has been
//! added to its manifest store, which changes its SHA-256 but not its
//! content; any change to the content breaks the hard binding.
//!
//! The core does no C2PA parsing: the caller (the CLI, with the C2PA SDK)
//! says what it observed in an [`ObservedAsset`], and [`match_asset`]
//! applies the rule.

use crate::claim::{Claim, HardBinding, HashAlg};
use crate::hash::sha256;

/// What a C2PA-aware reader observed in a file's manifest store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedC2pa {
    /// Label of the manifest that binds the file's content: the active
    /// manifest, or, when the active manifest is an update manifest, the
    /// standard manifest reached through its `parentOf` ingredients.
    pub binding_manifest: String,
    /// Algorithm of `claim_hash`.
    pub claim_alg: HashAlg,
    /// Hash of that manifest's C2PA claim bytes.
    pub claim_hash: Vec<u8>,
    /// That manifest's hard binding.
    pub hard_binding: HardBinding,
    /// Whether the SDK verified that hard binding over the file's current
    /// bytes (a success code for it and no hard-binding failure code).
    pub hard_binding_verified: bool,
    /// The SDK's failure status codes for the store, for messages.
    pub failure_codes: Vec<String>,
}

/// What was observed of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedAsset {
    /// SHA-256 of the file bytes.
    pub sha256: [u8; 32],
    /// Its C2PA manifest store, if it has one that could be read.
    pub c2pa: Option<ObservedC2pa>,
}

/// How a file matched a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetMatch {
    /// The file is byte-for-byte the asset (its SHA-256 is the claim's).
    File,
    /// The file's bytes changed only inside the C2PA manifest store: the
    /// claim's manifest still binds the file's content.
    HardBinding,
}

/// Why a file does not match a claim.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssetMismatch {
    /// Different SHA-256, and no C2PA binding in the claim to fall back on.
    #[error("asset hash mismatch: the file hashes to {file}, the claim is for {claim}")]
    Hash {
        /// The file's SHA-256 (hex).
        file: String,
        /// The claim's (hex).
        claim: String,
    },
    /// Different SHA-256; the claim has a C2PA binding but the file has no
    /// readable manifest store.
    #[error(
        "asset hash mismatch (file {file}, claim {claim}) and the file has no C2PA manifest \
         to check the claim's hard binding against"
    )]
    NoManifest {
        /// The file's SHA-256 (hex).
        file: String,
        /// The claim's (hex).
        claim: String,
    },
    /// The file's content is bound by another manifest than the claim's.
    #[error(
        "the file's content is bound by C2PA manifest {found}, the claim by {claimed}: the \
         asset was edited or re-signed"
    )]
    OtherManifest {
        /// The file's binding manifest.
        found: String,
        /// The claim's.
        claimed: String,
    },
    /// Same manifest label, different claim hash or hard binding.
    #[error("the file's C2PA manifest {label} differs from the claim's: {what}")]
    ManifestDiffers {
        /// The label.
        label: String,
        /// What differs.
        what: &'static str,
    },
    /// The SDK did not verify the hard binding over the file's bytes.
    #[error(
        "the C2PA hard binding of manifest {label} does not match the file's content \
         (the C2PA SDK reports: {codes})"
    )]
    HardBindingFailed {
        /// The binding manifest.
        label: String,
        /// The SDK's failure codes, comma-separated.
        codes: String,
    },
}

/// Applies the asset-identity rule of spec/claim.md §5.
pub fn match_asset(claim: &Claim, observed: &ObservedAsset) -> Result<AssetMatch, AssetMismatch> {
    if claim.asset.sha256 == observed.sha256 {
        return Ok(AssetMatch::File);
    }
    let file = hex::encode(observed.sha256);
    let claimed = hex::encode(claim.asset.sha256);
    let Some(binding) = &claim.c2pa else {
        return Err(AssetMismatch::Hash {
            file,
            claim: claimed,
        });
    };
    let Some(seen) = &observed.c2pa else {
        return Err(AssetMismatch::NoManifest {
            file,
            claim: claimed,
        });
    };
    if seen.binding_manifest != binding.manifest_label {
        return Err(AssetMismatch::OtherManifest {
            found: seen.binding_manifest.clone(),
            claimed: binding.manifest_label.clone(),
        });
    }
    if seen.claim_alg != binding.claim_alg || seen.claim_hash != binding.claim_hash {
        return Err(AssetMismatch::ManifestDiffers {
            label: seen.binding_manifest.clone(),
            what: "its claim hash",
        });
    }
    if seen.hard_binding != binding.hard_binding {
        return Err(AssetMismatch::ManifestDiffers {
            label: seen.binding_manifest.clone(),
            what: "its hard binding",
        });
    }
    if !seen.hard_binding_verified {
        return Err(AssetMismatch::HardBindingFailed {
            label: seen.binding_manifest.clone(),
            codes: if seen.failure_codes.is_empty() {
                "no hard-binding success code".to_string()
            } else {
                seen.failure_codes.join(", ")
            },
        });
    }
    Ok(AssetMatch::HardBinding)
}

/// The lookup key of a hard binding: SHA-256 over
/// `kind || 0x00 || alg || 0x00 || hash` (kind and alg as their schema
/// terms). The log's hard-binding index (`GET /v1/lookup/hard-binding`) is
/// keyed by it; the exclusion ranges are not part of it because an update
/// manifest moves them while the content, and so the hash, stays the same.
pub fn hard_binding_key(hb: &HardBinding) -> [u8; 32] {
    let mut buf = Vec::with_capacity(16 + hb.hash.len());
    buf.extend_from_slice(hb.kind.as_str().as_bytes());
    buf.push(0);
    buf.extend_from_slice(hb.alg.as_str().as_bytes());
    buf.push(0);
    buf.extend_from_slice(&hb.hash);
    sha256(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim::{
        Asset, C2paBinding, DigitalSourceType, Disclosure, ExclusionRange, Generator,
        HardBindingKind,
    };

    fn hard(hash: u8) -> HardBinding {
        HardBinding {
            kind: HardBindingKind::Data,
            alg: HashAlg::Sha256,
            hash: vec![hash; 32],
            exclusions: vec![ExclusionRange {
                start: 2,
                length: 100,
            }],
        }
    }

    fn claim() -> Claim {
        Claim {
            version: 1,
            asset: Asset {
                sha256: [1; 32],
                media_type: "image/jpeg".into(),
                size: 1000,
            },
            c2pa: Some(C2paBinding {
                manifest_label: "urn:c2pa:one".into(),
                claim_alg: HashAlg::Sha256,
                claim_hash: vec![7; 32],
                hard_binding: hard(9),
                validation: None,
            }),
            soft_bindings: vec![],
            generator: Generator {
                vendor: "v".into(),
                tool: "t".into(),
                version: "1".into(),
            },
            created: 0,
            source_type: DigitalSourceType::TrainedAlgorithmicMedia,
            disclosure: Disclosure::default(),
            consent: None,
            sequence: None,
        }
    }

    fn seen() -> ObservedC2pa {
        ObservedC2pa {
            binding_manifest: "urn:c2pa:one".into(),
            claim_alg: HashAlg::Sha256,
            claim_hash: vec![7; 32],
            hard_binding: hard(9),
            hard_binding_verified: true,
            failure_codes: vec![],
        }
    }

    #[test]
    fn same_file_matches_without_looking_at_c2pa() {
        let o = ObservedAsset {
            sha256: [1; 32],
            c2pa: None,
        };
        assert_eq!(match_asset(&claim(), &o), Ok(AssetMatch::File));
    }

    #[test]
    fn updated_store_with_the_same_content_matches() {
        let o = ObservedAsset {
            sha256: [2; 32],
            c2pa: Some(seen()),
        };
        assert_eq!(match_asset(&claim(), &o), Ok(AssetMatch::HardBinding));
    }

    #[test]
    fn every_difference_is_a_mismatch() {
        type Change = Box<dyn Fn(&mut ObservedC2pa)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|s| s.binding_manifest = "urn:c2pa:two".into()),
                "re-signed",
            ),
            (Box::new(|s| s.claim_hash[0] ^= 1), "claim hash"),
            (Box::new(|s| s.claim_alg = HashAlg::Sha384), "claim hash"),
            (Box::new(|s| s.hard_binding.hash[0] ^= 1), "hard binding"),
            (
                Box::new(|s| s.hard_binding.kind = HardBindingKind::Bmff),
                "hard binding",
            ),
            (
                Box::new(|s| s.hard_binding.exclusions[0].length += 1),
                "hard binding",
            ),
            (
                Box::new(|s| {
                    s.hard_binding_verified = false;
                    s.failure_codes = vec!["assertion.dataHash.mismatch".into()];
                }),
                "assertion.dataHash.mismatch",
            ),
        ];
        for (change, want) in cases {
            let mut s = seen();
            change(&mut s);
            let o = ObservedAsset {
                sha256: [2; 32],
                c2pa: Some(s),
            };
            let e = match_asset(&claim(), &o).expect_err("must not match");
            assert!(e.to_string().contains(want), "{e}");
        }
        let mut no_c2pa = claim();
        no_c2pa.c2pa = None;
        let o = ObservedAsset {
            sha256: [2; 32],
            c2pa: Some(seen()),
        };
        assert!(matches!(
            match_asset(&no_c2pa, &o),
            Err(AssetMismatch::Hash { .. })
        ));
        let o = ObservedAsset {
            sha256: [2; 32],
            c2pa: None,
        };
        assert!(matches!(
            match_asset(&claim(), &o),
            Err(AssetMismatch::NoManifest { .. })
        ));
    }

    #[test]
    fn hard_binding_key_ignores_exclusions_but_not_kind_alg_or_hash() {
        let a = hard(9);
        let mut moved = a.clone();
        moved.exclusions[0].length = 5000;
        assert_eq!(hard_binding_key(&a), hard_binding_key(&moved));
        let mut k = a.clone();
        k.kind = HardBindingKind::Bmff;
        assert_ne!(hard_binding_key(&a), hard_binding_key(&k));
        assert_ne!(hard_binding_key(&a), hard_binding_key(&hard(8)));
    }
}
