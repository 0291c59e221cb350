//! Helpers shared by the in-process tests: valid signed claims, a log key,
//! and a sequencer over the fault-injecting memory store.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, OnceLock};

use provlog_core::checkpoint::{LogSigner, verify_checkpoint};
use provlog_core::claim::{
    Asset, Claim as ClaimBody, Consent, DigitalSourceType, DirectDisclosure, Disclosure, Generator,
    IndirectDisclosure,
};
use provlog_core::hash::{leaf_hash, sha256};
use provlog_core::note::{MlDsa44NoteSigner, NoteSigner, VerifierKey};
use provlog_core::signed_claim::SignedClaim;
use provlog_server::memory::MemoryStorage;
use provlog_server::metrics::Metrics;
use provlog_server::sequencer::{Claim, OpenError, Sequencer};

/// The test log's key (fixed seed: runs are reproducible).
pub fn log_signer() -> NoteSigner {
    NoteSigner::from_seed("test.example/log", 0x01, [7u8; 32]).unwrap()
}

/// The test log's ML-DSA-44 key (fixed seed).
pub fn log_ml_dsa_signer() -> MlDsa44NoteSigner {
    MlDsa44NoteSigner::from_seed("test.example/log", [8u8; 32]).unwrap()
}

/// The test log's checkpoint signer: Ed25519 and ML-DSA-44.
pub fn checkpoint_signer() -> LogSigner {
    LogSigner::new(log_signer(), Some(log_ml_dsa_signer())).unwrap()
}

/// The test vendor.
pub fn vendor() -> &'static NoteSigner {
    static V: OnceLock<NoteSigner> = OnceLock::new();
    V.get_or_init(|| NoteSigner::from_seed("vendor.example", 0x01, [9u8; 32]).unwrap())
}

/// A valid signed claim about synthetic asset number `i` (signed once,
/// then cached: the property tests draw thousands from a small pool).
pub fn signed_claim(i: u64) -> Vec<u8> {
    static POOL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    let pool = POOL.get_or_init(|| (0..POOL_SIZE).map(make_claim).collect());
    match pool.get(i as usize) {
        Some(c) => c.clone(),
        None => make_claim(i),
    }
}

/// Claims kept signed in the pool.
pub const POOL_SIZE: u64 = 512;

fn make_claim(i: u64) -> Vec<u8> {
    let asset = format!("asset number {i}");
    let body = ClaimBody {
        version: 1,
        asset: Asset {
            // A few claims share an asset, so lookups return several.
            sha256: sha256(format!("asset number {}", i / 3).as_bytes()),
            media_type: "image/png".into(),
            size: asset.len() as u64,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "Example AI".into(),
            tool: "imagegen".into(),
            version: "2.1".into(),
        },
        created: 1_790_000_000 + i,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure {
            direct: vec![DirectDisclosure::Label],
            indirect: vec![IndirectDisclosure::C2pa],
        },
        consent: Some(Consent::NotApplicable),
        sequence: Some(i),
    };
    let v = vendor();
    SignedClaim::sign(&body, v.signing_key(), &v.verifier_key().to_vkey())
        .unwrap()
        .to_bytes()
        .to_vec()
}

/// The sequencer's view of signed claim `i`.
pub fn claim(i: u64) -> Claim {
    let entry = signed_claim(i);
    let parsed = SignedClaim::from_bytes(&entry).unwrap();
    Claim {
        leaf: leaf_hash(&entry),
        asset: parsed.claim().asset.sha256,
        entry,
        index_keys: None,
        bindings: None,
    }
}

/// Opens a sequencer on `store` at time `now`.
pub fn open(store: &Arc<MemoryStorage>, now: u64) -> Result<Sequencer, OpenError> {
    Sequencer::open(
        store.clone(),
        store.clone(),
        checkpoint_signer(),
        Arc::new(Metrics::new()),
        now,
    )
}

/// The log's verifier key.
pub fn log_key() -> VerifierKey {
    log_signer().verifier_key()
}

/// (size, root) of a checkpoint note signed by the test log.
pub fn size_root(note: &[u8]) -> (u64, [u8; 32]) {
    let cp = verify_checkpoint(note, &log_key()).unwrap().checkpoint;
    (cp.size, cp.root)
}
