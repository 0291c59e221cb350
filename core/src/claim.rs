//! The provenance claim, schema v1 and v2, in deterministic CBOR.
//!
//! A [`Claim`] says which asset (SHA-256, media type, size) a vendor's tool
//! produced, how the asset is bound to its C2PA manifest and to soft
//! bindings (perceptual hashes, watermarks), what the IPTC digital source
//! type is, which disclosures were applied, and the consent status where a
//! real person is depicted. `spec/claim.md` is the normative description.
//!
//! The encoding is a CBOR map with short snake_case text keys, in RFC 8949
//! §4.2.1 core deterministic encoding: shortest-form integers, definite
//! lengths, map keys sorted bytewise by their encoding, no floats, no tags.
//! [`Claim::to_cbor`] is a small hand-written encoder that can only produce
//! that form. [`Claim::from_cbor`] checks the size, reads the bytes with a
//! small strict CBOR reader (bounded nesting, no allocation from declared
//! lengths, non-shortest heads and indefinite lengths rejected with their
//! offset), maps the items onto the schema (rejecting duplicate keys,
//! unknown keys and wrong types), validates the claim, and finally
//! re-encodes it and compares: any input that is not byte-identical to the
//! canonical encoding (e.g. unsorted keys) is rejected. That makes the claim
//! bytes a function of the claim, so one claim has exactly one leaf hash in
//! the log.
//!
//! Both directions use the crate's one CBOR implementation, [`crate::cbor`];
//! ciborium remains the independent encoder the tests compare against.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

pub use crate::cbor::CborError;
use crate::cbor::{Cbor, Item, decode as read_cbor};

/// Schema version 1 (no C2PA validation record, data-hash hard bindings only).
pub const CLAIM_VERSION: u32 = 1;
/// Schema version 2: adds the hard-binding `kind` (data, BMFF or box hash),
/// the C2PA `validation` record and the `c2pa` soft-binding kind. Version 1
/// claims stay valid and keep their exact encoding.
pub const CLAIM_VERSION_2: u32 = 2;
/// The newest schema version this crate reads and writes.
pub const LATEST_CLAIM_VERSION: u32 = CLAIM_VERSION_2;
/// Most status codes in a C2PA validation record.
pub const MAX_VALIDATION_CODES: usize = 16;
/// Largest encoded claim accepted, in bytes.
pub const MAX_CLAIM_SIZE: usize = 8 * 1024;
/// Deepest nesting of arrays and maps accepted while decoding a claim.
///
/// Schema v1 nests at most five levels (claim → c2pa → hard → exclusions →
/// range), so anything deeper is rejected by the CBOR reader before it can
/// recurse further or allocate for it.
pub const MAX_CLAIM_DEPTH: usize = 5;
/// Longest text field (vendor, tool, version, manifest label, …) in bytes.
pub const MAX_TEXT_LEN: usize = 256;
/// Longest media type in bytes (RFC 6838: 127 + "/" + 127).
pub const MAX_MEDIA_TYPE_LEN: usize = 255;
/// Longest soft-binding algorithm name in bytes.
pub const MAX_ALG_NAME_LEN: usize = 128;
/// Most soft bindings in one claim.
pub const MAX_SOFT_BINDINGS: usize = 16;
/// Longest soft-binding value (perceptual hash, watermark ID) in bytes.
pub const MAX_SOFT_BINDING_VALUE: usize = 1024;
/// Most exclusion ranges in the C2PA hard binding.
pub const MAX_EXCLUSIONS: usize = 64;
/// Prefix of every IPTC digital source type URI.
pub const IPTC_DIGITAL_SOURCE_TYPE_PREFIX: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";

/// What is wrong with a claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The encoded claim is over [`MAX_CLAIM_SIZE`].
    #[error("claim is {size} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not one well-formed CBOR item within the limits.
    #[error("claim: {0}")]
    Cbor(#[from] CborError),
    /// Well-formed and schema-valid, but not the deterministic encoding.
    #[error(
        "claim CBOR is not in deterministic encoding (RFC 8949 §4.2.1: shortest-form \
         integers, definite lengths, map keys sorted bytewise)"
    )]
    NotCanonical,
    /// A map has the same key twice.
    #[error("duplicate key {key:?} in map {map}")]
    DuplicateKey {
        /// Path of the map.
        map: String,
        /// The repeated key.
        key: String,
    },
    /// A map has a key schema v1 does not define (the schema is closed).
    #[error("unknown key {key:?} in map {map}")]
    UnknownKey {
        /// Path of the map.
        map: String,
        /// The unknown key, or a description of a non-text key.
        key: String,
    },
    /// A required key is absent.
    #[error("missing required key {key:?} in map {map}")]
    MissingKey {
        /// Path of the map.
        map: String,
        /// The missing key.
        key: &'static str,
    },
    /// A field has the wrong CBOR type.
    #[error("field {field} must be {expected}")]
    WrongType {
        /// Path of the field.
        field: String,
        /// What the schema requires.
        expected: &'static str,
    },
    /// An integer does not fit the field's range.
    #[error("field {field} is out of range for {expected}")]
    OutOfRange {
        /// Path of the field.
        field: String,
        /// The accepted range.
        expected: &'static str,
    },
    /// The version field is not a version this crate reads (1 or 2).
    #[error("unsupported claim version {0}; this implementation reads versions 1 and 2")]
    UnsupportedVersion(u64),
    /// A version-1 claim uses a field or value that only version 2 defines.
    #[error("{field} needs claim version 2, but the claim is version 1")]
    NeedsVersion2 {
        /// What needs version 2.
        field: String,
    },
    /// A C2PA validation record contradicts itself (e.g. `trusted` with
    /// failure codes).
    #[error("c2pa.validation: {0}")]
    BadValidation(String),
    /// A closed-vocabulary field holds a term schema v1 does not define.
    #[error("field {field} has unknown value {value:?}")]
    UnknownValue {
        /// Path of the field.
        field: String,
        /// The unknown term.
        value: String,
    },
    /// The media type is not `type/subtype` in lowercase RFC 6838 syntax.
    #[error("media type {0:?} is not a lowercase RFC 6838 type/subtype without parameters")]
    InvalidMediaType(String),
    /// A text field is empty.
    #[error("field {field} must not be empty")]
    EmptyText {
        /// Path of the field.
        field: String,
    },
    /// A text or byte field is longer than allowed.
    #[error("field {field} is {len} bytes, over the {max}-byte limit")]
    TooLong {
        /// Path of the field.
        field: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A text field contains a control character.
    #[error("field {field} contains a control character")]
    ControlCharacter {
        /// Path of the field.
        field: String,
    },
    /// An algorithm name has characters outside `[A-Za-z0-9._:/+-]`.
    #[error("field {field} is not a valid algorithm name: {value:?}")]
    InvalidAlgName {
        /// Path of the field.
        field: String,
        /// The rejected name.
        value: String,
    },
    /// A hash or digest has the wrong length for its algorithm.
    #[error("field {field} is {len} bytes, but {alg} digests are {expected} bytes")]
    BadHashLength {
        /// Path of the field.
        field: String,
        /// Algorithm that fixes the length.
        alg: &'static str,
        /// Actual length.
        len: usize,
        /// Required length.
        expected: usize,
    },
    /// A list has more items than allowed.
    #[error("list {field} has {len} items, over the limit of {max}")]
    TooManyItems {
        /// Path of the list.
        field: String,
        /// Number of items.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A list that must not repeat items repeats one.
    #[error("list {field} repeats {value:?}")]
    DuplicateItem {
        /// Path of the list.
        field: String,
        /// The repeated item.
        value: String,
    },
    /// A disclosure list is not in its canonical (bytewise text) order.
    #[error("list {field} must be sorted bytewise by its text values")]
    Unsorted {
        /// Path of the list.
        field: String,
    },
    /// A C2PA exclusion range overflows or lies outside the asset.
    #[error(
        "c2pa.hard.exclusions[{index}] (start {start}, length {length}) does not lie within \
         the {size}-byte asset"
    )]
    ExclusionOutOfRange {
        /// Index of the range in the list.
        index: usize,
        /// Its start offset.
        start: u64,
        /// Its length.
        length: u64,
        /// The asset size.
        size: u64,
    },
}

/// Defines a closed vocabulary encoded as CBOR text.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The text that encodes this value in the claim.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Parses the encoded text; `None` for a term schema v1 does not define.
            pub fn from_term(term: &str) -> Option<Self> {
                match term {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ClaimError;
            fn from_str(s: &str) -> Result<Self, ClaimError> {
                Self::from_term(s).ok_or_else(|| ClaimError::UnknownValue {
                    field: stringify!($name).to_string(),
                    value: s.to_string(),
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// Hash algorithms C2PA allows for hashed URIs and hard bindings.
    HashAlg {
        /// SHA-256 (32-byte digest).
        Sha256 => "sha256",
        /// SHA-384 (48-byte digest).
        Sha384 => "sha384",
        /// SHA-512 (64-byte digest).
        Sha512 => "sha512",
    }
}

impl HashAlg {
    /// Length of this algorithm's digest in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
            HashAlg::Sha512 => 64,
        }
    }
}

text_enum! {
    /// The kind of a soft binding: a fingerprint computed from the content,
    /// or an identifier embedded in it.
    SoftBindingKind {
        /// A perceptual hash / fingerprint of the content.
        Perceptual => "perceptual",
        /// An invisible watermark payload (identifier) embedded in the content.
        Watermark => "watermark",
        /// (v2) Copied from the manifest's `c2pa.soft-binding` assertion; whether
        /// it is a watermark or a fingerprint is what the C2PA soft-binding
        /// algorithm list says of its `alg`.
        C2pa => "c2pa",
    }
}

text_enum! {
    /// The form of the C2PA hard binding (which assertion it copies).
    HardBindingKind {
        /// `c2pa.hash.data`: a hash of the file bytes outside the exclusion
        /// ranges (JPEG, PNG, WebP, GIF, WAV, …). The only kind in v1.
        Data => "data",
        /// `c2pa.hash.bmff` (v2/v3): a hash of the ISO BMFF boxes outside the
        /// manifest's box exclusions (MP4, MOV, HEIF, AVIF, …); no byte ranges.
        Bmff => "bmff",
        /// `c2pa.hash.boxes`: per-box hashes; `hash` is the hash (with `alg`)
        /// of the assertion's CBOR content, as the claim references it.
        Boxes => "boxes",
    }
}

text_enum! {
    /// The C2PA validation state of the manifest store when the claim was
    /// made (C2PA 2.x: Invalid, Valid, Trusted).
    C2paValidationState {
        /// Valid, and the signer chains to a trust anchor the tool was given.
        Trusted => "trusted",
        /// Well-formed, signature and hard binding valid; the signer is not
        /// (known to be) trusted.
        Valid => "valid",
        /// The SDK reported a failure other than an untrusted signer; logged
        /// only because the vendor asked (`--allow-invalid-c2pa`).
        Invalid => "invalid",
    }
}

text_enum! {
    /// IPTC Digital Source Type (NewsCodes vocabulary `digitalsourcetype`),
    /// the value C2PA's `c2pa.actions` `digitalSourceType` carries as a URI.
    ///
    /// Schema v1 is closed: a term outside this list is rejected, so that a
    /// verifier that accepts a claim also understands it. Retired IPTC terms
    /// are accepted because legacy C2PA manifests still carry them; new
    /// terms need a new schema version.
    DigitalSourceType {
        /// Captured from real life with a digital camera or recorder.
        DigitalCapture => "digitalCapture",
        /// Several captured frames merged by non-generative processing (e.g. HDR).
        ComputationalCapture => "computationalCapture",
        /// Digitised from a film negative.
        NegativeFilm => "negativeFilm",
        /// Digitised from a film positive / transparency.
        PositiveFilm => "positiveFilm",
        /// Digitised from a print.
        Print => "print",
        /// Retired IPTC term, replaced by `humanEdits`.
        MinorHumanEdits => "minorHumanEdits",
        /// Edited by humans with non-generative tools.
        HumanEdits => "humanEdits",
        /// Modified by an algorithm without adding new content.
        AlgorithmicallyEnhanced => "algorithmicallyEnhanced",
        /// Retired IPTC term, replaced by the synthetic-media terms.
        SoftwareImage => "softwareImage",
        /// Retired IPTC term, replaced by `digitalCreation`.
        DigitalArt => "digitalArt",
        /// Created by a human with digital tools.
        DigitalCreation => "digitalCreation",
        /// Generated from data (e.g. sensor data, visualisation).
        DataDrivenMedia => "dataDrivenMedia",
        /// Generated by a model trained on sampled content (generative AI).
        TrainedAlgorithmicMedia => "trainedAlgorithmicMedia",
        /// Generated purely by an algorithm not trained on sampled content.
        AlgorithmicMedia => "algorithmicMedia",
        /// A screen capture.
        ScreenCapture => "screenCapture",
        /// A recording of a virtual event (e.g. a game or simulation).
        VirtualRecording => "virtualRecording",
        /// Mix of several elements, no further detail.
        Composite => "composite",
        /// Mix of several captured elements.
        CompositeCapture => "compositeCapture",
        /// Mix that includes synthetic (non-captured) elements.
        CompositeSynthetic => "compositeSynthetic",
        /// Mix that includes elements generated by a trained model (AI inpainting, …).
        CompositeWithTrainedAlgorithmicMedia => "compositeWithTrainedAlgorithmicMedia",
    }
}

impl DigitalSourceType {
    /// The full IPTC URI, as C2PA's `digitalSourceType` carries it.
    pub fn uri(self) -> String {
        format!("{IPTC_DIGITAL_SOURCE_TYPE_PREFIX}{}", self.as_str())
    }

    /// Parses a full IPTC URI (`http://cv.iptc.org/newscodes/digitalsourcetype/<term>`).
    pub fn from_uri(uri: &str) -> Option<Self> {
        uri.strip_prefix(IPTC_DIGITAL_SOURCE_TYPE_PREFIX)
            .and_then(Self::from_term)
    }

    /// Whether IPTC has retired this term (still accepted for legacy content).
    pub fn is_retired(self) -> bool {
        matches!(
            self,
            DigitalSourceType::MinorHumanEdits
                | DigitalSourceType::SoftwareImage
                | DigitalSourceType::DigitalArt
        )
    }
}

text_enum! {
    /// A disclosure shown to people (declared in bytewise text order, which
    /// is the order the list must be in).
    DirectDisclosure {
        /// A caption or accompanying text says the content is synthetic.
        Caption => "caption",
        /// A visible label or icon on the content.
        Label => "label",
    }
}

text_enum! {
    /// A machine-readable disclosure (declared in bytewise text order, which
    /// is the order the list must be in).
    IndirectDisclosure {
        /// A C2PA manifest is embedded in or bound to the asset.
        C2pa => "c2pa",
        /// File metadata (XMP/IPTC/EXIF) carries the digital source type.
        Metadata => "metadata",
        /// An invisible watermark is embedded in the content.
        Watermark => "watermark",
    }
}

text_enum! {
    /// Consent status of real people depicted in the asset.
    Consent {
        /// No real person is depicted.
        NotApplicable => "not_applicable",
        /// Consent of every depicted person was obtained.
        Obtained => "obtained",
        /// Consent of a depicted person was not obtained.
        NotObtained => "not_obtained",
        /// The vendor does not know.
        Unknown => "unknown",
    }
}

/// Serializes bytes as lowercase hex for JSON display.
fn hex_bytes<S: Serializer, B: AsRef<[u8]>>(bytes: &B, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(bytes))
}

/// The asset the claim is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// SHA-256 of the asset file's bytes, exactly as distributed.
    #[serde(serialize_with = "hex_bytes")]
    pub sha256: [u8; 32],
    /// Lowercase RFC 6838 media type without parameters, e.g. `image/png`.
    pub media_type: String,
    /// Size of the asset file in bytes.
    pub size: u64,
}

/// One byte range excluded from the C2PA hard-binding hash (the bytes that
/// hold the manifest itself), copied verbatim from `c2pa.hash.data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ExclusionRange {
    /// Offset of the first excluded byte.
    pub start: u64,
    /// Number of excluded bytes.
    pub length: u64,
}

/// The C2PA hard binding (`c2pa.hash.data`): the hash of the asset with the
/// exclusion ranges left out (or, in v2, the BMFF or box-hash form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HardBinding {
    /// Which hard-binding assertion this copies ([`HardBindingKind::Data`] in v1).
    pub kind: HardBindingKind,
    /// Hash algorithm (`alg` of `c2pa.hash.data`).
    pub alg: HashAlg,
    /// The hash value (`hash`).
    #[serde(serialize_with = "hex_bytes")]
    pub hash: Vec<u8>,
    /// The exclusion ranges (`exclusions`), in the manifest's order.
    pub exclusions: Vec<ExclusionRange>,
}

/// Binding of the claim to the asset's C2PA manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct C2paBinding {
    /// Label of the active manifest (e.g. `urn:c2pa:…` or `urn:uuid:…`).
    pub manifest_label: String,
    /// Algorithm of `claim_hash`.
    pub claim_alg: HashAlg,
    /// Hash of the C2PA claim's CBOR bytes (what the manifest signature covers).
    #[serde(serialize_with = "hex_bytes")]
    pub claim_hash: Vec<u8>,
    /// The `c2pa.hash.data` hard binding.
    pub hard_binding: HardBinding,
    /// (v2) The validation result when the claim was made; `None` when the
    /// tool did not validate the manifest (binding typed by hand).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<C2paValidation>,
}

/// What the C2PA SDK said of the manifest store when the claim was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct C2paValidation {
    /// The validation state.
    pub state: C2paValidationState,
    /// The SDK's failure status codes (e.g. `signingCredential.untrusted`,
    /// `assertion.dataHash.mismatch`), sorted bytewise, no duplicates.
    pub codes: Vec<String>,
}

/// A soft binding (`c2pa.soft-binding`): a fingerprint or watermark that
/// survives re-encoding, tagged with the algorithm that produced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SoftBinding {
    /// Fingerprint or watermark.
    pub kind: SoftBindingKind,
    /// Algorithm name, e.g. from the C2PA soft-binding algorithm list.
    pub alg: String,
    /// The fingerprint or watermark payload.
    #[serde(serialize_with = "hex_bytes")]
    pub value: Vec<u8>,
}

/// The tool that produced the asset (C2PA `claim_generator_info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Generator {
    /// The organisation operating the tool.
    pub vendor: String,
    /// Product or model name.
    pub tool: String,
    /// Tool or model version.
    pub version: String,
}

/// Disclosures applied to the asset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Disclosure {
    /// Human-visible disclosures, sorted, no duplicates.
    pub direct: Vec<DirectDisclosure>,
    /// Machine-readable disclosures, sorted, no duplicates.
    pub indirect: Vec<IndirectDisclosure>,
}

/// A provenance claim, schema v1 or v2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// Schema version: [`CLAIM_VERSION`] (1) or [`CLAIM_VERSION_2`]; see
    /// [`Claim::required_version`].
    pub version: u32,
    /// The asset.
    pub asset: Asset,
    /// Optional binding to the asset's C2PA manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub c2pa: Option<C2paBinding>,
    /// Soft bindings, in the vendor's order (empty when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub soft_bindings: Vec<SoftBinding>,
    /// The generating tool.
    pub generator: Generator,
    /// Creation time of the asset, Unix seconds.
    pub created: u64,
    /// IPTC digital source type.
    pub source_type: DigitalSourceType,
    /// Disclosures applied.
    pub disclosure: Disclosure,
    /// Consent status where a real person is depicted; `None` if not stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// Optional per-vendor sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}

// ---------------------------------------------------------------------------
// Map keys. Kept together so the spec table and the code are easy to compare.

const K_VERSION: &str = "v";
const K_ASSET: &str = "asset";
const K_C2PA: &str = "c2pa";
const K_SOFT: &str = "soft";
const K_GENERATOR: &str = "gen";
const K_CREATED: &str = "created";
const K_SOURCE_TYPE: &str = "src";
const K_DISCLOSURE: &str = "disc";
const K_CONSENT: &str = "consent";
const K_SEQUENCE: &str = "seq";
const CLAIM_KEYS: &[&str] = &[
    K_VERSION,
    K_ASSET,
    K_C2PA,
    K_SOFT,
    K_GENERATOR,
    K_CREATED,
    K_SOURCE_TYPE,
    K_DISCLOSURE,
    K_CONSENT,
    K_SEQUENCE,
];

const K_SHA256: &str = "sha256";
const K_MEDIA_TYPE: &str = "type";
const K_SIZE: &str = "size";
const ASSET_KEYS: &[&str] = &[K_SHA256, K_MEDIA_TYPE, K_SIZE];

const K_MANIFEST: &str = "manifest";
const K_CLAIM_ALG: &str = "claim_alg";
const K_CLAIM_HASH: &str = "claim_hash";
const K_HARD: &str = "hard";
const K_VALIDATION: &str = "validation";
const C2PA_KEYS: &[&str] = &[K_MANIFEST, K_CLAIM_ALG, K_CLAIM_HASH, K_HARD, K_VALIDATION];

const K_ALG: &str = "alg";
const K_HASH: &str = "hash";
const K_EXCLUSIONS: &str = "exclusions";
const K_HARD_KIND: &str = "kind";
const HARD_KEYS: &[&str] = &[K_ALG, K_HASH, K_EXCLUSIONS, K_HARD_KIND];

const K_STATE: &str = "state";
const K_CODES: &str = "codes";
const VALIDATION_KEYS: &[&str] = &[K_STATE, K_CODES];

const K_START: &str = "start";
const K_LENGTH: &str = "length";
const RANGE_KEYS: &[&str] = &[K_START, K_LENGTH];

const K_KIND: &str = "kind";
const K_VALUE: &str = "value";
const SOFT_KEYS: &[&str] = &[K_KIND, K_ALG, K_VALUE];

const K_VENDOR: &str = "vendor";
const K_TOOL: &str = "tool";
const K_TOOL_VERSION: &str = "version";
const GENERATOR_KEYS: &[&str] = &[K_VENDOR, K_TOOL, K_TOOL_VERSION];

const K_DIRECT: &str = "direct";
const K_INDIRECT: &str = "indirect";
const DISCLOSURE_KEYS: &[&str] = &[K_DIRECT, K_INDIRECT];

// ---------------------------------------------------------------------------
// Deterministic encoder.

/// A map with static text keys, for the claim's encoder.
fn map<'a>(entries: Vec<(&'static str, Item<'a>)>) -> Item<'a> {
    Item::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Item::Text(k), v))
            .collect(),
    )
}

impl Claim {
    fn to_item(&self) -> Item<'_> {
        let mut m = vec![
            (K_VERSION, Item::Uint(u64::from(self.version))),
            (
                K_ASSET,
                map(vec![
                    (K_SHA256, Item::Bytes(&self.asset.sha256)),
                    (K_MEDIA_TYPE, Item::Text(&self.asset.media_type)),
                    (K_SIZE, Item::Uint(self.asset.size)),
                ]),
            ),
            (
                K_GENERATOR,
                map(vec![
                    (K_VENDOR, Item::Text(&self.generator.vendor)),
                    (K_TOOL, Item::Text(&self.generator.tool)),
                    (K_TOOL_VERSION, Item::Text(&self.generator.version)),
                ]),
            ),
            (K_CREATED, Item::Uint(self.created)),
            (K_SOURCE_TYPE, Item::Text(self.source_type.as_str())),
            (
                K_DISCLOSURE,
                map(vec![
                    (
                        K_DIRECT,
                        Item::Array(
                            self.disclosure
                                .direct
                                .iter()
                                .map(|d| Item::Text(d.as_str()))
                                .collect(),
                        ),
                    ),
                    (
                        K_INDIRECT,
                        Item::Array(
                            self.disclosure
                                .indirect
                                .iter()
                                .map(|d| Item::Text(d.as_str()))
                                .collect(),
                        ),
                    ),
                ]),
            ),
        ];
        if let Some(c) = &self.c2pa {
            let hb = &c.hard_binding;
            let mut hard = vec![
                (K_ALG, Item::Text(hb.alg.as_str())),
                (K_HASH, Item::Bytes(&hb.hash)),
                (
                    K_EXCLUSIONS,
                    Item::Array(
                        hb.exclusions
                            .iter()
                            .map(|r| {
                                map(vec![
                                    (K_START, Item::Uint(r.start)),
                                    (K_LENGTH, Item::Uint(r.length)),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ];
            // v1 has no kind (it is always a data hash); v2 always says it,
            // so each version has one encoding of a hard binding.
            if self.version >= CLAIM_VERSION_2 {
                hard.push((K_HARD_KIND, Item::Text(hb.kind.as_str())));
            }
            let mut c2pa = vec![
                (K_MANIFEST, Item::Text(&c.manifest_label)),
                (K_CLAIM_ALG, Item::Text(c.claim_alg.as_str())),
                (K_CLAIM_HASH, Item::Bytes(&c.claim_hash)),
                (K_HARD, map(hard)),
            ];
            if let Some(v) = &c.validation {
                c2pa.push((
                    K_VALIDATION,
                    map(vec![
                        (K_STATE, Item::Text(v.state.as_str())),
                        (
                            K_CODES,
                            Item::Array(v.codes.iter().map(|c| Item::Text(c)).collect()),
                        ),
                    ]),
                ));
            }
            m.push((K_C2PA, map(c2pa)));
        }
        // An empty soft-binding list is encoded by leaving the key out, so
        // there is exactly one encoding of "no soft bindings".
        if !self.soft_bindings.is_empty() {
            m.push((
                K_SOFT,
                Item::Array(
                    self.soft_bindings
                        .iter()
                        .map(|s| {
                            map(vec![
                                (K_KIND, Item::Text(s.kind.as_str())),
                                (K_ALG, Item::Text(&s.alg)),
                                (K_VALUE, Item::Bytes(&s.value)),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if let Some(c) = self.consent {
            m.push((K_CONSENT, Item::Text(c.as_str())));
        }
        if let Some(s) = self.sequence {
            m.push((K_SEQUENCE, Item::Uint(s)));
        }
        map(m)
    }

    /// The deterministic CBOR encoding of this claim.
    ///
    /// Encoding does not validate; call [`Claim::validate`] first (signing
    /// does). Only valid claims round-trip through [`Claim::from_cbor`].
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.to_item().encode(&mut out);
        out
    }

    /// Decodes and validates a claim, accepting only the deterministic encoding.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, ClaimError> {
        if bytes.len() > MAX_CLAIM_SIZE {
            return Err(ClaimError::TooLarge {
                size: bytes.len(),
                max: MAX_CLAIM_SIZE,
            });
        }
        let value = read_cbor(bytes, MAX_CLAIM_DEPTH)?;
        let claim = Self::from_value(value)?;
        claim.validate()?;
        // Every field has been checked against the schema; anything left
        // that differs from our encoding is an encoding choice (integer
        // width, key order, indefinite lengths, bignum tags), i.e. not
        // canonical.
        if claim.to_cbor() != bytes {
            return Err(ClaimError::NotCanonical);
        }
        Ok(claim)
    }

    fn from_value(value: Cbor<'_>) -> Result<Self, ClaimError> {
        // Report a future schema version as such, before its (to us)
        // unknown keys are.
        if let Cbor::Map(entries) = &value {
            for (k, v) in entries {
                if let (Cbor::Text(k), Cbor::Uint(n)) = (k, v)
                    && *k == K_VERSION
                    && *n != u64::from(CLAIM_VERSION)
                    && *n != u64::from(CLAIM_VERSION_2)
                {
                    return Err(ClaimError::UnsupportedVersion(*n));
                }
            }
        }
        let mut m = Fields::new(value, String::new(), CLAIM_KEYS)?;
        let version = m.required_uint(K_VERSION)?;
        let version =
            u32::try_from(version).map_err(|_| ClaimError::UnsupportedVersion(version))?;
        let asset = {
            let mut a = m.required_map(K_ASSET, ASSET_KEYS)?;
            let sha = a.required_bytes(K_SHA256)?;
            let sha256 =
                <[u8; 32]>::try_from(sha.as_slice()).map_err(|_| ClaimError::BadHashLength {
                    field: a.path(K_SHA256),
                    alg: HashAlg::Sha256.as_str(),
                    len: sha.len(),
                    expected: 32,
                })?;
            Asset {
                sha256,
                media_type: a.required_text(K_MEDIA_TYPE)?,
                size: a.required_uint(K_SIZE)?,
            }
        };
        let c2pa = match m.take(K_C2PA) {
            None => None,
            Some(v) => {
                let mut c = Fields::new(v, m.path(K_C2PA), C2PA_KEYS)?;
                let manifest_label = c.required_text(K_MANIFEST)?;
                let claim_alg = c.required_term::<HashAlg>(K_CLAIM_ALG)?;
                let claim_hash = c.required_bytes(K_CLAIM_HASH)?;
                let mut h = c.required_map(K_HARD, HARD_KEYS)?;
                let alg = h.required_term::<HashAlg>(K_ALG)?;
                let hash = h.required_bytes(K_HASH)?;
                // v1 never has the key (rejected as unknown below); v2 must.
                let kind = match h.take(K_HARD_KIND) {
                    None if version >= CLAIM_VERSION_2 => {
                        return Err(ClaimError::MissingKey {
                            map: h.path.clone(),
                            key: K_HARD_KIND,
                        });
                    }
                    None => HardBindingKind::Data,
                    Some(_) if version < CLAIM_VERSION_2 => {
                        return Err(ClaimError::UnknownKey {
                            map: h.path.clone(),
                            key: K_HARD_KIND.to_string(),
                        });
                    }
                    Some(v) => term(v, || h.path(K_HARD_KIND))?,
                };
                let list_path = h.path(K_EXCLUSIONS);
                let exclusions = expect_array(h.required(K_EXCLUSIONS)?, || list_path.clone())?
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let mut r = Fields::new(v, format!("{list_path}[{i}]"), RANGE_KEYS)?;
                        Ok(ExclusionRange {
                            start: r.required_uint(K_START)?,
                            length: r.required_uint(K_LENGTH)?,
                        })
                    })
                    .collect::<Result<Vec<_>, ClaimError>>()?;
                let validation = match c.take(K_VALIDATION) {
                    None => None,
                    Some(_) if version < CLAIM_VERSION_2 => {
                        return Err(ClaimError::UnknownKey {
                            map: c.path.clone(),
                            key: K_VALIDATION.to_string(),
                        });
                    }
                    Some(v) => {
                        let mut f = Fields::new(v, c.path(K_VALIDATION), VALIDATION_KEYS)?;
                        let state = f.required_term::<C2paValidationState>(K_STATE)?;
                        let codes_path = f.path(K_CODES);
                        let codes = expect_array(f.required(K_CODES)?, || codes_path.clone())?
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| match v {
                                Cbor::Text(s) => Ok(s.to_string()),
                                _ => Err(ClaimError::WrongType {
                                    field: format!("{codes_path}[{i}]"),
                                    expected: "a text string",
                                }),
                            })
                            .collect::<Result<Vec<_>, ClaimError>>()?;
                        Some(C2paValidation { state, codes })
                    }
                };
                Some(C2paBinding {
                    manifest_label,
                    claim_alg,
                    claim_hash,
                    hard_binding: HardBinding {
                        kind,
                        alg,
                        hash,
                        exclusions,
                    },
                    validation,
                })
            }
        };
        let soft_bindings = match m.take(K_SOFT) {
            None => Vec::new(),
            Some(v) => {
                let list_path = m.path(K_SOFT);
                expect_array(v, || list_path.clone())?
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let mut s = Fields::new(v, format!("{list_path}[{i}]"), SOFT_KEYS)?;
                        Ok(SoftBinding {
                            kind: s.required_term(K_KIND)?,
                            alg: s.required_text(K_ALG)?,
                            value: s.required_bytes(K_VALUE)?,
                        })
                    })
                    .collect::<Result<Vec<_>, ClaimError>>()?
            }
        };
        let generator = {
            let mut g = m.required_map(K_GENERATOR, GENERATOR_KEYS)?;
            Generator {
                vendor: g.required_text(K_VENDOR)?,
                tool: g.required_text(K_TOOL)?,
                version: g.required_text(K_TOOL_VERSION)?,
            }
        };
        let created = m.required_uint(K_CREATED)?;
        let source_type = m.required_term(K_SOURCE_TYPE)?;
        let disclosure = {
            let mut d = m.required_map(K_DISCLOSURE, DISCLOSURE_KEYS)?;
            Disclosure {
                direct: d.required_term_list(K_DIRECT)?,
                indirect: d.required_term_list(K_INDIRECT)?,
            }
        };
        let consent = match m.take(K_CONSENT) {
            None => None,
            Some(v) => Some(term(v, || m.path(K_CONSENT))?),
        };
        let sequence = match m.take(K_SEQUENCE) {
            None => None,
            Some(v) => Some(uint(v, || m.path(K_SEQUENCE))?),
        };
        Ok(Claim {
            version,
            asset,
            c2pa,
            soft_bindings,
            generator,
            created,
            source_type,
            disclosure,
            consent,
            sequence,
        })
    }

    /// The first field or value this claim uses that only schema version 2
    /// defines, if any.
    pub fn needs_version_2(&self) -> Option<&'static str> {
        if let Some(c) = &self.c2pa {
            if c.hard_binding.kind != HardBindingKind::Data {
                return Some("c2pa.hard.kind (a BMFF or box-hash hard binding)");
            }
            if c.validation.is_some() {
                return Some("c2pa.validation");
            }
        }
        if self
            .soft_bindings
            .iter()
            .any(|s| s.kind == SoftBindingKind::C2pa)
        {
            return Some("soft[].kind \"c2pa\"");
        }
        None
    }

    /// The lowest schema version that can hold this claim: 2 if it uses any
    /// version-2 field ([`Claim::needs_version_2`]), else 1. Producers write
    /// this version, so a claim that needs nothing new stays readable by
    /// version-1 verifiers.
    pub fn required_version(&self) -> u32 {
        if self.needs_version_2().is_some() {
            CLAIM_VERSION_2
        } else {
            CLAIM_VERSION
        }
    }

    /// Checks the schema rules that the types alone cannot express: version,
    /// media type syntax, text lengths and characters, hash lengths, list
    /// limits, disclosure order, exclusion ranges within the asset.
    pub fn validate(&self) -> Result<(), ClaimError> {
        if self.version != CLAIM_VERSION && self.version != CLAIM_VERSION_2 {
            return Err(ClaimError::UnsupportedVersion(u64::from(self.version)));
        }
        if let Some(field) = self.needs_version_2()
            && self.version < CLAIM_VERSION_2
        {
            return Err(ClaimError::NeedsVersion2 {
                field: field.to_string(),
            });
        }
        validate_media_type(&self.asset.media_type)?;
        if let Some(c) = &self.c2pa {
            check_text(
                || "c2pa.manifest".to_string(),
                &c.manifest_label,
                MAX_TEXT_LEN,
            )?;
            check_hash("c2pa.claim_hash", c.claim_alg, &c.claim_hash)?;
            let hb = &c.hard_binding;
            check_hash("c2pa.hard.hash", hb.alg, &hb.hash)?;
            check_count("c2pa.hard.exclusions", hb.exclusions.len(), MAX_EXCLUSIONS)?;
            if hb.kind != HardBindingKind::Data && !hb.exclusions.is_empty() {
                return Err(ClaimError::OutOfRange {
                    field: "c2pa.hard.exclusions".to_string(),
                    expected: "an empty list (byte-range exclusions belong to data hashes only)",
                });
            }
            if let Some(v) = &c.validation {
                check_count("c2pa.validation.codes", v.codes.len(), MAX_VALIDATION_CODES)?;
                for (i, code) in v.codes.iter().enumerate() {
                    check_alg_name(|| format!("c2pa.validation.codes[{i}]"), code)?;
                }
                for pair in v.codes.windows(2) {
                    if let [a, b] = pair {
                        if a == b {
                            return Err(ClaimError::DuplicateItem {
                                field: "c2pa.validation.codes".to_string(),
                                value: a.clone(),
                            });
                        }
                        if a > b {
                            return Err(ClaimError::Unsorted {
                                field: "c2pa.validation.codes".to_string(),
                            });
                        }
                    }
                }
                if v.state == C2paValidationState::Trusted && !v.codes.is_empty() {
                    return Err(ClaimError::BadValidation(
                        "a trusted manifest has no failure codes".to_string(),
                    ));
                }
                if v.state == C2paValidationState::Invalid && v.codes.is_empty() {
                    return Err(ClaimError::BadValidation(
                        "an invalid manifest names at least one failure code".to_string(),
                    ));
                }
            }
            for (index, r) in hb.exclusions.iter().enumerate() {
                let inside = r
                    .start
                    .checked_add(r.length)
                    .is_some_and(|end| end <= self.asset.size);
                if !inside {
                    return Err(ClaimError::ExclusionOutOfRange {
                        index,
                        start: r.start,
                        length: r.length,
                        size: self.asset.size,
                    });
                }
            }
        }
        check_count("soft", self.soft_bindings.len(), MAX_SOFT_BINDINGS)?;
        for (i, s) in self.soft_bindings.iter().enumerate() {
            // Field paths are only formatted when there is an error.
            check_alg_name(|| format!("soft[{i}].alg"), &s.alg)?;
            let field = || format!("soft[{i}].value");
            if s.value.is_empty() {
                return Err(ClaimError::EmptyText { field: field() });
            }
            if s.value.len() > MAX_SOFT_BINDING_VALUE {
                return Err(ClaimError::TooLong {
                    field: field(),
                    len: s.value.len(),
                    max: MAX_SOFT_BINDING_VALUE,
                });
            }
            if self.soft_bindings[..i].contains(s) {
                return Err(ClaimError::DuplicateItem {
                    field: "soft".to_string(),
                    value: format!("{} {} {}", s.kind, s.alg, hex::encode(&s.value)),
                });
            }
        }
        check_text(
            || "gen.vendor".to_string(),
            &self.generator.vendor,
            MAX_TEXT_LEN,
        )?;
        check_text(
            || "gen.tool".to_string(),
            &self.generator.tool,
            MAX_TEXT_LEN,
        )?;
        check_text(
            || "gen.version".to_string(),
            &self.generator.version,
            MAX_TEXT_LEN,
        )?;
        check_sorted_set("disc.direct", &self.disclosure.direct)?;
        check_sorted_set("disc.indirect", &self.disclosure.indirect)?;
        Ok(())
    }
}

fn check_count(field: &str, len: usize, max: usize) -> Result<(), ClaimError> {
    if len > max {
        return Err(ClaimError::TooManyItems {
            field: field.to_string(),
            len,
            max,
        });
    }
    Ok(())
}

fn check_text(field: impl Fn() -> String, s: &str, max: usize) -> Result<(), ClaimError> {
    if s.is_empty() {
        return Err(ClaimError::EmptyText { field: field() });
    }
    if s.len() > max {
        return Err(ClaimError::TooLong {
            field: field(),
            len: s.len(),
            max,
        });
    }
    // Claims are displayed by CLIs and web pages; control characters
    // (including newlines and escape sequences) have no business in them.
    if s.chars().any(char::is_control) {
        return Err(ClaimError::ControlCharacter { field: field() });
    }
    Ok(())
}

fn check_hash(field: &str, alg: HashAlg, hash: &[u8]) -> Result<(), ClaimError> {
    if hash.len() != alg.digest_len() {
        return Err(ClaimError::BadHashLength {
            field: field.to_string(),
            alg: alg.as_str(),
            len: hash.len(),
            expected: alg.digest_len(),
        });
    }
    Ok(())
}

fn check_alg_name(field: impl Fn() -> String, alg: &str) -> Result<(), ClaimError> {
    check_text(&field, alg, MAX_ALG_NAME_LEN)?;
    let ok = alg
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || b"._:/+-".contains(&c));
    if !ok {
        return Err(ClaimError::InvalidAlgName {
            field: field(),
            value: alg.to_string(),
        });
    }
    Ok(())
}

fn check_sorted_set<T: Ord + Copy + fmt::Display>(
    field: &str,
    list: &[T],
) -> Result<(), ClaimError> {
    for pair in list.windows(2) {
        if let [a, b] = pair {
            if a == b {
                return Err(ClaimError::DuplicateItem {
                    field: field.to_string(),
                    value: a.to_string(),
                });
            }
            if a > b {
                return Err(ClaimError::Unsorted {
                    field: field.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// RFC 6838 §4.2 restricted-name, in lowercase, for both type and subtype;
/// parameters are not allowed (they are not part of what identifies the
/// format, and a second spelling of the same type would be a second claim).
pub fn validate_media_type(mt: &str) -> Result<(), ClaimError> {
    let bad = || ClaimError::InvalidMediaType(mt.to_string());
    if mt.len() > MAX_MEDIA_TYPE_LEN {
        return Err(bad());
    }
    let (ty, sub) = mt.split_once('/').ok_or_else(bad)?;
    let restricted_name = |s: &str| {
        let mut bytes = s.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        first_ok
            && s.len() <= 127
            && bytes
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"!#$&-^_.+".contains(&c))
    };
    if restricted_name(ty) && restricted_name(sub) {
        Ok(())
    } else {
        Err(bad())
    }
}

// ---------------------------------------------------------------------------
// Strict mapping from a decoded CBOR value onto the schema.

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn describe_key(k: &Cbor<'_>) -> String {
    match k {
        Cbor::Text(s) => (*s).to_string(),
        Cbor::Uint(n) => format!("integer {n}"),
        Cbor::Nint(n) => format!("integer -1-{n}"),
        other => format!("non-text key ({})", other.kind()),
    }
}

/// The entries of one CBOR map, checked for duplicate and unknown keys.
/// Field paths for error messages are only built when an error occurs.
struct Fields<'a> {
    path: String,
    entries: Vec<(&'a str, Cbor<'a>)>,
}

impl<'a> Fields<'a> {
    fn new(value: Cbor<'a>, path: String, allowed: &[&str]) -> Result<Self, ClaimError> {
        let Cbor::Map(raw) = value else {
            return Err(ClaimError::WrongType {
                field: map_name(&path),
                expected: "a map",
            });
        };
        let mut entries: Vec<(&'a str, Cbor<'a>)> = Vec::with_capacity(raw.len());
        for (k, v) in raw {
            // The reader keeps every entry of a map, duplicates included, so
            // duplicates are detected here.
            let key = match k {
                Cbor::Text(s) if allowed.contains(&s) => s,
                other => {
                    return Err(ClaimError::UnknownKey {
                        map: map_name(&path),
                        key: describe_key(&other),
                    });
                }
            };
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(ClaimError::DuplicateKey {
                    map: map_name(&path),
                    key: key.to_string(),
                });
            }
            entries.push((key, v));
        }
        Ok(Fields { path, entries })
    }

    fn path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn take(&mut self, key: &str) -> Option<Cbor<'a>> {
        let pos = self.entries.iter().position(|(k, _)| *k == key)?;
        Some(self.entries.swap_remove(pos).1)
    }

    fn required(&mut self, key: &'static str) -> Result<Cbor<'a>, ClaimError> {
        self.take(key).ok_or_else(|| ClaimError::MissingKey {
            map: map_name(&self.path),
            key,
        })
    }

    fn required_uint(&mut self, key: &'static str) -> Result<u64, ClaimError> {
        let v = self.required(key)?;
        uint(v, || self.path(key))
    }

    fn required_bytes(&mut self, key: &'static str) -> Result<Vec<u8>, ClaimError> {
        match self.required(key)? {
            Cbor::Bytes(b) => Ok(b.to_vec()),
            _ => Err(ClaimError::WrongType {
                field: self.path(key),
                expected: "a byte string",
            }),
        }
    }

    fn required_text(&mut self, key: &'static str) -> Result<String, ClaimError> {
        match self.required(key)? {
            Cbor::Text(s) => Ok(s.to_string()),
            _ => Err(ClaimError::WrongType {
                field: self.path(key),
                expected: "a text string",
            }),
        }
    }

    fn required_term<T: FromTerm>(&mut self, key: &'static str) -> Result<T, ClaimError> {
        let v = self.required(key)?;
        term(v, || self.path(key))
    }

    fn required_term_list<T: FromTerm>(&mut self, key: &'static str) -> Result<Vec<T>, ClaimError> {
        let v = self.required(key)?;
        expect_array(v, || self.path(key))?
            .into_iter()
            .enumerate()
            .map(|(i, v)| term(v, || format!("{}[{i}]", self.path(key))))
            .collect()
    }

    fn required_map(
        &mut self,
        key: &'static str,
        allowed: &[&str],
    ) -> Result<Fields<'a>, ClaimError> {
        let v = self.required(key)?;
        Fields::new(v, self.path(key), allowed)
    }
}

fn map_name(path: &str) -> String {
    if path.is_empty() {
        "claim".to_string()
    } else {
        path.to_string()
    }
}

fn uint(v: Cbor<'_>, field: impl FnOnce() -> String) -> Result<u64, ClaimError> {
    match v {
        Cbor::Uint(n) => Ok(n),
        Cbor::Nint(_) => Err(ClaimError::OutOfRange {
            field: field(),
            expected: "an unsigned 64-bit integer",
        }),
        _ => Err(ClaimError::WrongType {
            field: field(),
            expected: "an unsigned integer",
        }),
    }
}

fn expect_array<'a>(
    v: Cbor<'a>,
    field: impl FnOnce() -> String,
) -> Result<Vec<Cbor<'a>>, ClaimError> {
    match v {
        Cbor::Array(a) => Ok(a),
        _ => Err(ClaimError::WrongType {
            field: field(),
            expected: "an array",
        }),
    }
}

/// The closed vocabularies, for the generic decoding helpers.
trait FromTerm: Sized {
    fn from_term_str(s: &str) -> Option<Self>;
}

macro_rules! impl_from_term {
    ($($t:ty),*) => {
        $(impl FromTerm for $t {
            fn from_term_str(s: &str) -> Option<Self> {
                <$t>::from_term(s)
            }
        })*
    };
}
impl_from_term!(
    HashAlg,
    HardBindingKind,
    C2paValidationState,
    SoftBindingKind,
    DigitalSourceType,
    DirectDisclosure,
    IndirectDisclosure,
    Consent
);

fn term<T: FromTerm>(v: Cbor<'_>, field: impl FnOnce() -> String) -> Result<T, ClaimError> {
    match v {
        Cbor::Text(s) => T::from_term_str(s).ok_or_else(|| ClaimError::UnknownValue {
            field: field(),
            value: s.to_string(),
        }),
        _ => Err(ClaimError::WrongType {
            field: field(),
            expected: "a text string",
        }),
    }
}
