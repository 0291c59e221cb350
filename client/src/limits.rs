//! The most bytes the client reads from each endpoint's response.
//!
//! Every limit is the largest answer an honest peer can give for that
//! endpoint (from the formats' own bounds in [`provlog_core`] and
//! spec/http-api.md), so a limit is never the reason an honest answer fails,
//! and a hostile or broken peer costs at most this much memory per call.
//! [`crate::bounded::read_limited`] enforces them while the body streams.

use provlog_core::receipt::{MAX_CHECKPOINT_NOTE_SIZE, MAX_PROOF_HASHES, MAX_RECEIPT_SIZE};
use provlog_core::signed_claim::MAX_ENTRY_SIZE;
use provlog_core::tiles::{MAX_BUNDLE_ENTRY, TILE_WIDTH, Tile, TileLevel};

/// `GET /checkpoint`: one signed note. A checkpoint carried in a receipt is
/// bounded by the same constant, so a log cannot serve a larger one that
/// its own receipts could still hold (the log's signature plus up to
/// [`provlog_core::note::MAX_SIGNATURES`] cosignature lines fit easily).
pub const CHECKPOINT: usize = MAX_CHECKPOINT_NOTE_SIZE;

/// Bytes per hash in a hash tile.
const HASH_SIZE: usize = 32;

/// `GET /tile/<L>/<N>`: a full hash tile is exactly 256 SHA-256 hashes;
/// anything longer is wrong whatever it holds.
pub const HASH_TILE: usize = TILE_WIDTH as usize * HASH_SIZE;

/// `GET /tile/entries/<N>`: 256 entries, each with its 2-byte length prefix
/// and at most [`MAX_BUNDLE_ENTRY`] (65535) bytes, the worst case of the
/// tlog-tiles bundle format (about 16 MiB). A provlog log's own entries are
/// at most 16 KiB, but the bound is the format's so any tlog-tiles log's
/// bundles can be read.
pub const BUNDLE: usize = TILE_WIDTH as usize * (2 + MAX_BUNDLE_ENTRY);

/// The limit for one tile: exact for a hash tile of its width, the format's
/// worst case for an entry bundle of its width.
pub fn tile(tile: &Tile) -> usize {
    let width = usize::from(tile.width);
    match tile.level {
        TileLevel::Hash(_) => width * HASH_SIZE,
        TileLevel::Entries => width * (2 + MAX_BUNDLE_ENTRY),
    }
}

/// `GET /v1/entries/<i>`: one signed claim, at most
/// [`MAX_ENTRY_SIZE`] (16 KiB) by spec/signed-claim.md.
pub const ENTRY: usize = MAX_ENTRY_SIZE;

/// Room for the JSON around a list of hashes or entries (keys, numbers,
/// whitespace a server may add).
const JSON_SLACK: usize = 4 * 1024;

/// Base64 of one SHA-256 hash in JSON: 44 characters, 2 quotes, a comma.
const JSON_HASH: usize = 47;

/// `GET /v1/proof/...`: at most [`MAX_PROOF_HASHES`] (64) hashes as JSON
/// strings plus the index/size fields, about 3 KiB; 16 KiB leaves room for
/// a server that pretty-prints.
pub const PROOF: usize = 16 * 1024;

/// Most entries one lookup answers (spec/http-api.md: "at most 1000").
pub const LOOKUP_ENTRIES: usize = 1000;

/// `GET /v1/lookup`: up to [`LOOKUP_ENTRIES`] entries, each a base64
/// signed claim (4/3 of 16 KiB) with a 64-hash proof, plus the checkpoint
/// note as a JSON string (escaping at most doubles it): about 25 MiB.
pub const LOOKUP: usize = LOOKUP_ENTRIES
    * (MAX_ENTRY_SIZE * 4 / 3 + 4 + MAX_PROOF_HASHES * JSON_HASH + 64)
    + 2 * CHECKPOINT
    + JSON_SLACK;

/// `GET /v1/lookup` with the proof bundle
/// (`application/vnd.provlog.lookup+cbor`): the bundle format's own bound,
/// [`provlog_core::index::proof::MAX_LOOKUP_SIZE`] (20 MiB: 1,024 entries
/// of at most 16 KiB with 64-hash proofs, a 256-hash path and a checkpoint
/// note), which the verifier also checks before decoding.
pub const LOOKUP_PROOF: usize = provlog_core::index::proof::MAX_LOOKUP_SIZE;

/// Most matches one C2PA soft-binding query answers (`maxResults` is
/// capped at 100 by the server, spec/http-api.md).
pub const MATCH_ENTRIES: usize = 100;

/// `GET /matches/byBinding`, `POST /matches/byContent`: up to
/// [`MATCH_ENTRIES`] matches, each a lookup entry plus its manifest id and
/// score (under 1 KiB of JSON), and the checkpoint note.
pub const MATCHES: usize = MATCH_ENTRIES
    * (MAX_ENTRY_SIZE * 4 / 3 + 4 + MAX_PROOF_HASHES * JSON_HASH + 1024)
    + 2 * CHECKPOINT
    + JSON_SLACK;

/// `POST /v1/claims`: one receipt, at most [`MAX_RECEIPT_SIZE`] by
/// spec/receipt.md (the entry, its proof and the cosigned checkpoint).
pub const RECEIPT: usize = MAX_RECEIPT_SIZE;

/// CBOR head of an array or byte string of any length we send: at most 9 bytes.
const CBOR_HEAD: usize = 9;

/// `POST /v1/claims/batch` of `claims` claims: a CBOR array of that many
/// receipts, so the limit grows with the request (a batch of one costs no
/// more than a single submission) instead of being the worst case of the
/// largest batch a log may accept.
pub fn batch_receipts(claims: usize) -> usize {
    claims
        .saturating_mul(RECEIPT + CBOR_HEAD)
        .saturating_add(CBOR_HEAD)
}

/// `POST <witness>/add-checkpoint`: signature lines, 64 KiB
/// ([`provlog_core::witness::MAX_RESPONSE_SIZE`], the same bound the
/// parser applies), and the `409` size body is a few bytes.
pub const COSIGNATURE: usize = provlog_core::witness::MAX_RESPONSE_SIZE;

/// An error answer (any status but success): a problem document or a short
/// text. Only its first 500 characters are ever shown, so 64 KiB is ample;
/// a longer one is reported without its detail.
pub const ERROR_BODY: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_limit_holds_the_largest_honest_answer() {
        // A full hash tile and the widest possible bundle.
        assert_eq!(tile(&Tile::hash(0, 0, 256).unwrap()), HASH_TILE);
        assert_eq!(tile(&Tile::hash(3, 7, 5).unwrap()), 5 * 32);
        assert_eq!(tile(&Tile::entries(0, 256).unwrap()), BUNDLE);
        const { assert!(BUNDLE >= 256 * (2 + 65535)) };
        // A proof of 64 hashes as the log writes it.
        let hashes: Vec<String> = (0..64).map(|_| "A".repeat(44)).collect();
        let proof = serde_json::json!({"index": u64::MAX, "size": u64::MAX, "proof": hashes});
        assert!(serde_json::to_vec_pretty(&proof).unwrap().len() < PROOF);
        // A lookup of 1000 maximal entries with maximal proofs and checkpoint.
        let entry = "A".repeat(MAX_ENTRY_SIZE.div_ceil(3) * 4);
        let proof: Vec<String> = (0..64).map(|_| "A".repeat(44)).collect();
        let entries: Vec<_> = (0..LOOKUP_ENTRIES)
            .map(|i| serde_json::json!({"index": u64::MAX - i as u64, "entry": entry, "proof": proof}))
            .collect();
        let lookup = serde_json::json!({
            "asset": "0".repeat(64),
            "checkpoint": "\n".repeat(CHECKPOINT),
            "entries": entries,
        });
        assert!(serde_json::to_vec(&lookup).unwrap().len() <= LOOKUP);
        const { assert!(LOOKUP < 32 << 20) };
        assert_eq!(batch_receipts(1), RECEIPT + 18);
        assert_eq!(batch_receipts(usize::MAX), usize::MAX);
    }
}
