//! COSE pieces shared by signed claims, COSE receipts and transparent
//! statements (RFC 9052/9053, RFC 9679, draft-ietf-cose-dilithium,
//! RFC 9942, RFC 9597), all written with the crate's one CBOR writer.
//!
//! - the two signature algorithms provlog accepts: EdDSA (-8, Ed25519,
//!   strict verification) and ML-DSA-44 (-48, FIPS 204, empty context);
//! - `Sig_structure` for COSE_Sign1;
//! - COSE_Key encodings of note keys (OKP/Ed25519 and AKP/ML-DSA-44) and
//!   their RFC 9679 thumbprints, which name the log's key in receipts
//!   (`kid`) and at `/.well-known/scitt-keys`.

use ed25519_dalek::{Signature, Signer as _, SigningKey};

use crate::cbor::{Item, write_bytes, write_head, write_text};
use crate::hash::{Hash, sha256};
use crate::mldsa::{ML_DSA_44_SIGNATURE_LEN, MlDsa44SigningKey, MlDsaError};
use crate::note::{PublicKey, SIG_ED25519, SIG_ML_DSA_44, VerifierKey};

/// CBOR tag of a COSE_Sign1 message (RFC 9052 §2).
pub const COSE_SIGN1_TAG: u64 = 18;
/// Header label `alg` (RFC 9052 §3.1).
pub const LABEL_ALG: i64 = 1;
/// Header label `content type`.
pub const LABEL_CONTENT_TYPE: i64 = 3;
/// Header label `kid`.
pub const LABEL_KID: i64 = 4;
/// Header label `CWT Claims` (RFC 9597).
pub const LABEL_CWT_CLAIMS: i64 = 15;
/// Header label `receipts` (RFC 9942).
pub const LABEL_RECEIPTS: i64 = 394;
/// Header label `vds`, verifiable data structure (RFC 9942).
pub const LABEL_VDS: i64 = 395;
/// Header label `vdp`, verifiable data structure proofs (RFC 9942).
pub const LABEL_VDP: i64 = 396;
/// `vdp` map key of RFC9162_SHA256 inclusion proofs (RFC 9942).
pub const VDP_INCLUSION: i64 = -1;
/// Verifiable data structure RFC9162_SHA256 (RFC 9942).
pub const VDS_RFC9162_SHA256: i64 = 1;
/// CWT claim `iss` (RFC 8392).
pub const CWT_ISS: i64 = 1;
/// CWT claim `sub` (RFC 8392).
pub const CWT_SUB: i64 = 2;
/// CWT claim `iat` (RFC 8392).
pub const CWT_IAT: i64 = 6;
/// COSE algorithm EdDSA (RFC 9053; here always Ed25519).
pub const ALG_EDDSA: i64 = -8;
/// COSE algorithm ML-DSA-44 (draft-ietf-cose-dilithium, IANA COSE Algorithms).
pub const ALG_ML_DSA_44: i64 = -48;

/// A COSE signature algorithm provlog accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// EdDSA with Ed25519 (-8); 64-byte signatures, verified strictly.
    EdDsa,
    /// ML-DSA-44 (-48); 2,420-byte signatures, empty context.
    MlDsa44,
}

impl Algorithm {
    /// The COSE `alg` value.
    pub fn cose_value(self) -> i64 {
        match self {
            Algorithm::EdDsa => ALG_EDDSA,
            Algorithm::MlDsa44 => ALG_ML_DSA_44,
        }
    }

    /// The algorithm for a COSE `alg` value, if provlog accepts it.
    pub fn from_cose(alg: i64) -> Option<Self> {
        match alg {
            ALG_EDDSA => Some(Algorithm::EdDsa),
            ALG_ML_DSA_44 => Some(Algorithm::MlDsa44),
            _ => None,
        }
    }

    /// The signature length.
    pub fn signature_len(self) -> usize {
        match self {
            Algorithm::EdDsa => 64,
            Algorithm::MlDsa44 => ML_DSA_44_SIGNATURE_LEN,
        }
    }

    /// The algorithm a note key signs COSE messages with: EdDSA for the
    /// Ed25519 types, ML-DSA-44 for type 0x06.
    pub fn for_key(key: &VerifierKey) -> Self {
        match key.public_key() {
            PublicKey::Ed25519(_) => Algorithm::EdDsa,
            PublicKey::MlDsa44(_) => Algorithm::MlDsa44,
        }
    }
}

/// A key that signs COSE messages.
#[derive(Clone, Copy, Debug)]
pub enum CoseSigner<'a> {
    /// Ed25519 (EdDSA, deterministic by construction).
    Ed25519(&'a SigningKey),
    /// ML-DSA-44, hedged (FIPS 204 default).
    MlDsa44(&'a MlDsa44SigningKey),
    /// ML-DSA-44, deterministic variant (same bytes every time; test vectors).
    MlDsa44Deterministic(&'a MlDsa44SigningKey),
}

impl CoseSigner<'_> {
    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            CoseSigner::Ed25519(_) => Algorithm::EdDsa,
            CoseSigner::MlDsa44(_) | CoseSigner::MlDsa44Deterministic(_) => Algorithm::MlDsa44,
        }
    }

    /// Signs `msg` (a `Sig_structure`).
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, MlDsaError> {
        Ok(match self {
            CoseSigner::Ed25519(k) => k.sign(msg).to_bytes().to_vec(),
            CoseSigner::MlDsa44(k) => k.sign(msg)?.to_vec(),
            CoseSigner::MlDsa44Deterministic(k) => k.sign_deterministic(msg)?.to_vec(),
        })
    }

    /// Reports whether this signer's public key is the one in `key`.
    pub fn matches(&self, key: &VerifierKey) -> bool {
        match (self, key.public_key()) {
            (CoseSigner::Ed25519(k), PublicKey::Ed25519(pk)) => k.verifying_key() == *pk,
            (
                CoseSigner::MlDsa44(k) | CoseSigner::MlDsa44Deterministic(k),
                PublicKey::MlDsa44(pk),
            ) => k.public_key() == **pk,
            _ => false,
        }
    }
}

/// Verifies a COSE signature `sig` over `msg` with `key` under `alg`:
/// Ed25519 strictly (`verify_strict`), ML-DSA-44 with the empty context.
/// A key of the other algorithm never verifies.
pub fn verify_signature(key: &VerifierKey, alg: Algorithm, msg: &[u8], sig: &[u8]) -> bool {
    match (alg, key.public_key()) {
        (Algorithm::EdDsa, PublicKey::Ed25519(pk)) => {
            let Ok(sig) = Signature::from_slice(sig) else {
                return false;
            };
            pk.verify_strict(msg, &sig).is_ok()
        }
        (Algorithm::MlDsa44, PublicKey::MlDsa44(pk)) => pk.verify(msg, sig),
        _ => false,
    }
}

/// RFC 9052 §4.4 `Sig_structure` for a COSE_Sign1 with empty external AAD:
/// `["Signature1", protected, h'', payload]`, deterministic encoding.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 24);
    write_head(&mut out, 4, 4);
    write_text(&mut out, "Signature1");
    write_bytes(&mut out, protected);
    write_bytes(&mut out, &[]);
    write_bytes(&mut out, payload);
    out
}

/// COSE key type OKP (RFC 9053).
const KTY_OKP: u64 = 1;
/// COSE key type AKP (draft-ietf-cose-dilithium).
const KTY_AKP: u64 = 7;
/// COSE elliptic curve Ed25519.
const CRV_ED25519: u64 = 6;

/// The RFC 9679 thumbprint input: the key's required parameters only, as a
/// deterministic CBOR map. OKP: `{1: 1, -1: 6, -2: x}`; AKP (ML-DSA-44,
/// draft-ietf-cose-dilithium "AKP Thumbprints"): `{1: 7, 3: -48, -1: pub}`.
fn thumbprint_input(key: &VerifierKey) -> Vec<u8> {
    let pk = key.public_key_bytes();
    match key.public_key() {
        PublicKey::Ed25519(_) => Item::Map(vec![
            (Item::Int(1), Item::Uint(KTY_OKP)),
            (Item::Int(-1), Item::Uint(CRV_ED25519)),
            (Item::Int(-2), Item::Bytes(pk)),
        ])
        .to_vec(),
        PublicKey::MlDsa44(_) => Item::Map(vec![
            (Item::Int(1), Item::Uint(KTY_AKP)),
            (Item::Int(3), Item::Int(ALG_ML_DSA_44)),
            (Item::Int(-1), Item::Bytes(pk)),
        ])
        .to_vec(),
    }
}

/// The RFC 9679 COSE Key Thumbprint (SHA-256) of a note key's public key.
/// provlog uses it as the `kid` of COSE receipts (SCRAPI recommends it) and
/// of the log's COSE_Key at `/.well-known/scitt-keys`. Ed25519 note keys of
/// type 0x01 and 0x04 with the same public key have the same thumbprint.
pub fn key_thumbprint(key: &VerifierKey) -> Hash {
    sha256(&thumbprint_input(key))
}

/// The key as a COSE_Key map (RFC 9052 §7) with its thumbprint as `kid`
/// (label 2) and its `alg` (label 3): OKP Ed25519 `{1: 1, 2: kid, 3: -8,
/// -1: 6, -2: x}` or AKP `{1: 7, 2: kid, 3: -48, -1: pub}`.
pub fn cose_key(key: &VerifierKey) -> Vec<u8> {
    let kid = key_thumbprint(key);
    let pk = key.public_key_bytes();
    match key.public_key() {
        PublicKey::Ed25519(_) => Item::Map(vec![
            (Item::Int(1), Item::Uint(KTY_OKP)),
            (Item::Int(2), Item::Bytes(&kid)),
            (Item::Int(3), Item::Int(ALG_EDDSA)),
            (Item::Int(-1), Item::Uint(CRV_ED25519)),
            (Item::Int(-2), Item::Bytes(pk)),
        ])
        .to_vec(),
        PublicKey::MlDsa44(_) => Item::Map(vec![
            (Item::Int(1), Item::Uint(KTY_AKP)),
            (Item::Int(2), Item::Bytes(&kid)),
            (Item::Int(3), Item::Int(ALG_ML_DSA_44)),
            (Item::Int(-1), Item::Bytes(pk)),
        ])
        .to_vec(),
    }
}

/// A COSE_KeySet (RFC 9052 §7: an array of COSE_Key) of the log's receipt
/// keys, for `GET /.well-known/scitt-keys` (SCRAPI). Keys of the witness
/// type 0x04 are left out (a log signs receipts with its 0x01 / 0x06 keys).
pub fn cose_key_set(keys: &[VerifierKey]) -> Vec<u8> {
    let ks: Vec<Vec<u8>> = keys
        .iter()
        .filter(|k| matches!(k.key_type(), SIG_ED25519 | SIG_ML_DSA_44))
        .map(cose_key)
        .collect();
    let mut out = Vec::new();
    write_head(&mut out, 4, ks.len() as u64);
    for k in &ks {
        out.extend_from_slice(k);
    }
    out
}
