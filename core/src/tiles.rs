//! C2SP tlog-tiles: tile coordinates and paths, hash tiles, entry bundles,
//! and a [`NodeReader`] that computes tree nodes from tiles (spec/tiles.md).
//!
//! A hash tile at tile level `L` holds up to 256 consecutive node hashes of
//! tree level `8·L`; tree levels between multiples of 8 are not stored and
//! are recomputed by hashing up to 128 hashes of the tile below them.
//! Entry bundles hold up to 256 consecutive entries, each prefixed with its
//! length as a big-endian u16.
//!
//! Paths arrive from untrusted URLs, so [`Tile::parse_path`] accepts only the
//! one canonical spelling of each tile and nothing else.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::hash::{HASH_SIZE, Hash, node_hash};
use crate::tree::{NodeId, NodeReader, TreeError};

/// Number of tree levels one tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// Number of hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Largest tile level a path may name (tlog-tiles: 0..=63).
pub const MAX_TILE_LEVEL: u8 = 63;
/// Largest entry an entry bundle can hold: its length must fit in a u16.
pub const MAX_BUNDLE_ENTRY: usize = u16::MAX as usize;

/// Errors about tile paths, tile contents and tile reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// A path that is not the canonical path of any tile.
    #[error("invalid tile path {path:?}: {reason}")]
    BadPath {
        /// The rejected path (truncated to 128 bytes).
        path: String,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// Tile coordinates that cannot exist (width 0 or above 256, level above 63).
    #[error("invalid tile: {0}")]
    BadTile(&'static str),
    /// Hash tile data of the wrong length for its width.
    #[error("tile {path} must be {expected} bytes, got {got}")]
    WrongTileLength {
        /// Path of the tile.
        path: String,
        /// 32 × width.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// An entry too large for a bundle's u16 length prefix.
    #[error("entry {index} of the bundle is {len} bytes; the maximum is 65535")]
    EntryTooLarge {
        /// Position in the bundle.
        index: usize,
        /// Entry length.
        len: usize,
    },
    /// More than 256 entries in one bundle.
    #[error("a bundle holds at most 256 entries, got {0}")]
    TooManyEntries(usize),
    /// Bundle bytes that end inside a length prefix or an entry.
    #[error("entry bundle is truncated at byte {offset}: entry {index} needs {needed} more bytes")]
    TruncatedBundle {
        /// Offset where the incomplete entry (or its prefix) starts.
        offset: usize,
        /// Position of the incomplete entry.
        index: usize,
        /// Bytes missing.
        needed: usize,
    },
    /// A bundle with a different number of entries than its tile width.
    #[error("entry bundle {path} must hold {expected} entries, got {got}")]
    BundleCount {
        /// Path of the bundle.
        path: String,
        /// Tile width.
        expected: usize,
        /// Entries decoded.
        got: usize,
    },
    /// The tile does not exist (or is not stored).
    #[error("tile {0} not found")]
    NotFound(String),
    /// A tile reader failed (I/O, network, storage).
    #[error("reading tile {path}: {message}")]
    Read {
        /// Path of the tile.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Which kind of tile: a hash tile at a tile level, or an entry bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLevel {
    /// Hash tile at tile level `L`, holding hashes of tree level `8·L`.
    Hash(u8),
    /// Entry bundle (`tile/entries/...`).
    Entries,
}

/// One tile or entry bundle: its level, index within the level, and width
/// (number of hashes or entries, 1..=256; 256 = full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Hash tile level or entries.
    pub level: TileLevel,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes or entries, 1..=256.
    pub width: u16,
}

/// Appends `n` as 3-digit groups, all but the last prefixed with `x`.
fn push_index(out: &mut String, n: u64) {
    let digits = n.to_string();
    let pad = (3 - digits.len() % 3) % 3;
    let padded = format!("{}{}", "0".repeat(pad), digits);
    let groups = padded.len() / 3;
    for (i, chunk) in padded.as_bytes().chunks(3).enumerate() {
        if i + 1 < groups {
            out.push('x');
        }
        // Chunks of an ASCII decimal string are ASCII.
        out.push_str(std::str::from_utf8(chunk).unwrap_or("000"));
        if i + 1 < groups {
            out.push('/');
        }
    }
}

/// Parses a decimal integer with no sign, no leading zeros (except "0") and
/// at least one digit.
fn parse_canonical_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn three_digits(s: &str) -> Option<u64> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

impl Tile {
    /// A hash tile; fails if `level` > 63 or `width` is not in 1..=256.
    pub fn hash(level: u8, index: u64, width: u16) -> Result<Tile, TileError> {
        if level > MAX_TILE_LEVEL {
            return Err(TileError::BadTile("tile level above 63"));
        }
        Self::checked(TileLevel::Hash(level), index, width)
    }

    /// An entry bundle; fails if `width` is not in 1..=256.
    pub fn entries(index: u64, width: u16) -> Result<Tile, TileError> {
        Self::checked(TileLevel::Entries, index, width)
    }

    fn checked(level: TileLevel, index: u64, width: u16) -> Result<Tile, TileError> {
        if width == 0 || u64::from(width) > TILE_WIDTH {
            return Err(TileError::BadTile("tile width must be 1..=256"));
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// True when the tile holds all 256 hashes or entries (and is immutable).
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The same tile coordinates at full width.
    pub fn full(&self) -> Tile {
        Tile {
            width: TILE_WIDTH as u16,
            ..*self
        }
    }

    /// The tile's canonical path relative to the log prefix, without a
    /// leading slash: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let mut p = String::from("tile/");
        match self.level {
            TileLevel::Hash(l) => p.push_str(&l.to_string()),
            TileLevel::Entries => p.push_str("entries"),
        }
        p.push('/');
        push_index(&mut p, self.index);
        if !self.is_full() {
            p.push_str(".p/");
            p.push_str(&self.width.to_string());
        }
        p
    }

    /// Parses a tile path (relative to the log prefix, no leading slash).
    /// Only the canonical form [`Tile::path`] produces is accepted: no `.`
    /// or `..` or empty segments, 3-digit groups with `x` on all but the last,
    /// no superfluous leading `x000` group, level 0..=63 and width 1..=255
    /// in canonical decimal, and the index must fit in 64 bits.
    pub fn parse_path(p: &str) -> Result<Tile, TileError> {
        let bad = |reason: &'static str| TileError::BadPath {
            path: p.chars().take(128).collect(),
            reason,
        };
        // Longest canonical path: "tile/entries/" + 7 groups + ".p/255".
        if p.len() > 64 {
            return Err(bad("path is too long"));
        }
        let mut parts: Vec<&str> = p.split('/').collect();
        if parts.first() != Some(&"tile") {
            return Err(bad("path must start with \"tile/\""));
        }
        if parts.len() < 3 {
            return Err(bad("path needs a level and an index"));
        }
        let level = match parts.get(1).copied() {
            Some("entries") => TileLevel::Entries,
            Some(l) => {
                let l = parse_canonical_decimal(l)
                    .ok_or(bad("level must be a decimal number without leading zeros"))?;
                let l = u8::try_from(l)
                    .ok()
                    .filter(|l| *l <= MAX_TILE_LEVEL)
                    .ok_or(bad("level must be 0..=63"))?;
                TileLevel::Hash(l)
            }
            None => return Err(bad("path needs a level")),
        };
        // Partial tile: "<last group>.p/<W>".
        let mut width = TILE_WIDTH as u16;
        let n = parts.len();
        if let Some(stem) = parts.get(n - 2).and_then(|s| s.strip_suffix(".p")) {
            if n < 4 {
                return Err(bad("path needs an index"));
            }
            let w = parts.get(n - 1).copied().unwrap_or("");
            let w = parse_canonical_decimal(w)
                .ok_or(bad("width must be a decimal number without leading zeros"))?;
            if w == 0 || w >= TILE_WIDTH {
                return Err(bad("partial width must be 1..=255"));
            }
            // w < 256, so it fits.
            width = w as u16;
            parts.truncate(n - 1);
            if let Some(last) = parts.last_mut() {
                *last = stem;
            }
        }
        let groups = parts.get(2..).unwrap_or(&[]);
        if groups.is_empty() {
            return Err(bad("path needs an index"));
        }
        // u64::MAX has 20 digits: 7 groups.
        if groups.len() > 7 {
            return Err(bad("index does not fit in 64 bits"));
        }
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *g
            } else {
                g.strip_prefix('x')
                    .ok_or(bad("all index groups but the last must start with 'x'"))?
            };
            let v = three_digits(digits).ok_or(bad("index groups must be exactly three digits"))?;
            if i == 0 && !last && v == 0 {
                return Err(bad("index has a superfluous leading zero group"));
            }
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(v))
                .ok_or(bad("index does not fit in 64 bits"))?;
        }
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// The hashes of a hash tile's bytes, checking the length is 32 × width.
    pub fn parse_hashes(&self, data: &[u8]) -> Result<Vec<Hash>, TileError> {
        let expected = usize::from(self.width) * HASH_SIZE;
        if data.len() != expected {
            return Err(TileError::WrongTileLength {
                path: self.path(),
                expected,
                got: data.len(),
            });
        }
        Ok(data
            .chunks_exact(HASH_SIZE)
            .filter_map(|c| Hash::try_from(c).ok())
            .collect())
    }

    /// Decodes an entry bundle for this tile, checking it holds exactly
    /// `width` entries.
    pub fn parse_bundle<'a>(&self, data: &'a [u8]) -> Result<Vec<&'a [u8]>, TileError> {
        let entries = decode_bundle(data)?;
        if entries.len() != usize::from(self.width) {
            return Err(TileError::BundleCount {
                path: self.path(),
                expected: usize::from(self.width),
                got: entries.len(),
            });
        }
        Ok(entries)
    }
}

impl std::fmt::Display for Tile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path())
    }
}

impl std::str::FromStr for Tile {
    type Err = TileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tile::parse_path(s)
    }
}

/// Number of hashes tree level `8·level` has in a tree of `size` leaves
/// (`floor(size / 256^level)`); 0 for levels no u64 tree reaches.
fn hashes_at_tile_level(level: u8, size: u64) -> u64 {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    size.checked_shr(shift).unwrap_or(0)
}

fn tile_in(level: TileLevel, count: u64, index: u64) -> Option<Tile> {
    let start = index.checked_mul(TILE_WIDTH)?;
    if start >= count {
        return None;
    }
    let width = (count - start).min(TILE_WIDTH);
    // width <= 256.
    Some(Tile {
        level,
        index,
        width: width as u16,
    })
}

/// The hash tile `(level, index)` as it exists in a tree of `size` leaves:
/// full, or partial with width `floor(size / 256^level) mod 256` if it is the
/// right-most one; `None` if the tree has no such tile.
pub fn hash_tile(level: u8, index: u64, size: u64) -> Option<Tile> {
    if level > MAX_TILE_LEVEL {
        return None;
    }
    tile_in(
        TileLevel::Hash(level),
        hashes_at_tile_level(level, size),
        index,
    )
}

/// The entry bundle `index` as it exists in a tree of `size` leaves.
pub fn entry_bundle(index: u64, size: u64) -> Option<Tile> {
    tile_in(TileLevel::Entries, size, index)
}

/// The tile of a given kind as it exists at `size` (see [`hash_tile`] and
/// [`entry_bundle`]).
pub fn tile_at_size(level: TileLevel, index: u64, size: u64) -> Option<Tile> {
    match level {
        TileLevel::Hash(l) => hash_tile(l, index, size),
        TileLevel::Entries => entry_bundle(index, size),
    }
}

/// Every hash tile of a tree of `size` leaves, level 0 first, left to right.
/// Lazy: a large tree has about `size / 255` tiles.
pub fn hash_tiles_for_size(size: u64) -> impl Iterator<Item = Tile> {
    (0..=MAX_TILE_LEVEL)
        .take_while(move |&l| hashes_at_tile_level(l, size) > 0)
        .flat_map(move |l| {
            let count = hashes_at_tile_level(l, size);
            let tiles = count.div_ceil(TILE_WIDTH);
            (0..tiles).filter_map(move |i| hash_tile(l, i, size))
        })
}

/// Every entry bundle of a tree of `size` leaves, left to right.
pub fn entry_bundles_for_size(size: u64) -> impl Iterator<Item = Tile> {
    (0..size.div_ceil(TILE_WIDTH)).filter_map(move |i| entry_bundle(i, size))
}

/// The right-most (possibly partial) tiles of every hash level of a tree of
/// `size` leaves, level 0 first: the only hash tiles that change as the tree
/// grows.
pub fn right_edge_tiles(size: u64) -> Vec<Tile> {
    (0..=MAX_TILE_LEVEL)
        .map_while(|l| {
            let count = hashes_at_tile_level(l, size);
            let last = count.checked_sub(1)? / TILE_WIDTH;
            hash_tile(l, last, size)
        })
        .collect()
}

/// Where node `id` lives: the hash tile holding its tree level rounded down
/// to a multiple of 8, at the width that tile has at `size`, plus the
/// position and count of the hashes in that tile it is computed from
/// (`count = 2^(level mod 8)`). `None` if the node is not complete at `size`.
pub fn tile_for_node(id: NodeId, size: u64) -> Option<(Tile, usize, usize)> {
    if !id.is_complete_in(size) {
        return None;
    }
    let tile_level = id.level / TILE_HEIGHT;
    let sub = id.level % TILE_HEIGHT;
    // First hash of tree level 8·tile_level under this node.
    let first = id.index.checked_shl(u32::from(sub))?;
    let tile = hash_tile(tile_level, first / TILE_WIDTH, size)?;
    // Both < 256.
    let offset = (first % TILE_WIDTH) as usize;
    let count = 1usize << sub;
    if offset + count > usize::from(tile.width) {
        return None;
    }
    Some((tile, offset, count))
}

/// Concatenates hashes into hash tile bytes.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// Encodes an entry bundle: each entry prefixed with its length as a
/// big-endian u16. At most 256 entries of at most 65535 bytes each.
pub fn encode_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, TileError> {
    if entries.len() as u64 > TILE_WIDTH {
        return Err(TileError::TooManyEntries(entries.len()));
    }
    let total: usize = entries.iter().map(|e| e.len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (index, e) in entries.iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes an entry bundle. Rejects data that ends inside a length prefix
/// or an entry, and bundles of more than 256 entries. An empty input is an
/// empty bundle (which [`Tile::parse_bundle`] rejects, as no tile is empty).
pub fn decode_bundle(data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    BundleEntries::new(data).collect()
}

/// Entry `k` of a bundle, found by walking the length prefixes before it:
/// no allocation, and nothing after entry `k` is read (so a damaged tail
/// goes unnoticed; [`decode_bundle`] checks the whole bundle). `Ok(None)`
/// when the bundle has `k` entries or fewer; an error in or before entry
/// `k` is returned.
pub fn bundle_entry(data: &[u8], k: usize) -> Result<Option<&[u8]>, TileError> {
    for (j, entry) in BundleEntries::new(data).enumerate() {
        // An error before entry k is the answer: the entry cannot be located.
        let entry = entry?;
        if j == k {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// The entries of a bundle in order, each checked as [`decode_bundle`]
/// checks it; the first error ends the iteration.
#[derive(Clone, Debug)]
pub struct BundleEntries<'a> {
    data: &'a [u8],
    offset: usize,
    index: usize,
    failed: bool,
}

impl<'a> BundleEntries<'a> {
    /// Iterates over the entries of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        BundleEntries {
            data,
            offset: 0,
            index: 0,
            failed: false,
        }
    }

    fn fail(&mut self, e: TileError) -> Option<Result<&'a [u8], TileError>> {
        self.failed = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for BundleEntries<'a> {
    type Item = Result<&'a [u8], TileError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (offset, index) = (self.offset, self.index);
        let rest = self.data.get(offset..).unwrap_or_default();
        if self.failed || rest.is_empty() {
            return None;
        }
        if index as u64 >= TILE_WIDTH {
            return self.fail(TileError::TooManyEntries(index + 1));
        }
        let Some((prefix, body)) = rest.split_first_chunk::<2>() else {
            return self.fail(TileError::TruncatedBundle {
                offset,
                index,
                needed: 2 - rest.len(),
            });
        };
        let len = usize::from(u16::from_be_bytes(*prefix));
        let Some(entry) = body.get(..len) else {
            return self.fail(TileError::TruncatedBundle {
                offset,
                index,
                needed: len - body.len(),
            });
        };
        self.offset = offset + 2 + len;
        self.index = index + 1;
        Some(Ok(entry))
    }
}

/// Reads raw tile bytes (server: from storage; client: over HTTP; tests: from memory).
pub trait TileReader {
    /// The bytes of `tile` at exactly the tile's width.
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError>;
}

impl<T: TileReader + ?Sized> TileReader for &T {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        (**self).read_tile(tile)
    }
}

/// A [`NodeReader`] over the hash tiles of a tree of a given size. Nodes at
/// tree levels that are not multiples of 8 are computed by hashing the
/// `2^(level mod 8)` hashes below them in the tile level under them. Each
/// tile is read at most once per [`NodeReader::read_nodes`] call, at the
/// width it has at this size.
#[derive(Clone, Debug)]
pub struct TileNodeReader<R> {
    reader: R,
    size: u64,
}

impl<R: TileReader> TileNodeReader<R> {
    /// Serves nodes of the tree of `size` leaves from `reader`'s tiles.
    pub fn new(reader: R, size: u64) -> Self {
        TileNodeReader { reader, size }
    }

    /// The tree size this reader serves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The underlying tile reader.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

/// Hashes `2^k` complete-subtree siblings up to their common root.
fn hash_up(hashes: &[Hash]) -> Option<Hash> {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match p {
                [l, r] => Some(node_hash(l, r)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
    }
    level.first().copied()
}

impl<R: TileReader> NodeReader for TileNodeReader<R> {
    fn read_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, TreeError> {
        let mut located = Vec::with_capacity(ids.len());
        for id in ids {
            let loc = tile_for_node(*id, self.size).ok_or(TreeError::NodeBeyondSize {
                level: id.level,
                index: id.index,
                size: self.size,
            })?;
            located.push(loc);
        }
        let mut tiles: HashMap<Tile, Vec<Hash>> = HashMap::new();
        let mut out = Vec::with_capacity(ids.len());
        for (id, (tile, offset, count)) in ids.iter().zip(located) {
            let stored = match tiles.entry(tile) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => {
                    let data = self.reader.read_tile(&tile).map_err(TreeError::read)?;
                    v.insert(tile.parse_hashes(&data).map_err(TreeError::read)?)
                }
            };
            let hashes = stored.get(offset..offset + count);
            let node = hashes.and_then(hash_up).ok_or(TreeError::MissingNode {
                level: id.level,
                index: id.index,
            })?;
            out.push(node);
        }
        Ok(out)
    }
}

/// A [`TileReader`] over tiles held in memory, keyed by path; partial tiles
/// are served as the prefix of the stored (wider) tile at the same
/// coordinates. For tests and small tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryTiles {
    tiles: HashMap<(TileLevel, u64), Vec<u8>>,
}

impl MemoryTiles {
    /// No tiles.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds the hash tiles of the tree of `size` leaves from a node reader
    /// (one read per tile), each at its width at that size.
    pub fn from_nodes(r: &impl NodeReader, size: u64) -> Result<Self, TreeError> {
        let mut t = Self::new();
        for tile in hash_tiles_for_size(size) {
            let TileLevel::Hash(level) = tile.level else {
                continue;
            };
            let ids: Vec<NodeId> = (0..u64::from(tile.width))
                .map(|i| NodeId::new(level * TILE_HEIGHT, tile.index * TILE_WIDTH + i))
                .collect();
            let hashes = r.read_nodes(&ids)?;
            t.insert(&tile, encode_hash_tile(&hashes));
        }
        Ok(t)
    }

    /// Stores a tile's bytes (replacing any narrower version).
    pub fn insert(&mut self, tile: &Tile, data: Vec<u8>) {
        self.tiles.insert((tile.level, tile.index), data);
    }
}

impl TileReader for MemoryTiles {
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, TileError> {
        let data = self
            .tiles
            .get(&(tile.level, tile.index))
            .ok_or_else(|| TileError::NotFound(tile.path()))?;
        let want = match tile.level {
            TileLevel::Hash(_) => usize::from(tile.width) * HASH_SIZE,
            TileLevel::Entries => {
                // Bundle prefixes are found by walking the length prefixes.
                let mut end = 0usize;
                for _ in 0..tile.width {
                    let len = data
                        .get(end..end + 2)
                        .and_then(|b| <[u8; 2]>::try_from(b).ok())
                        .map(|b| usize::from(u16::from_be_bytes(b)))
                        .ok_or_else(|| TileError::NotFound(tile.path()))?;
                    end += 2 + len;
                }
                end
            }
        };
        data.get(..want)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| TileError::NotFound(tile.path()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spec_example_sizes() {
        // tlog-tiles: a tree of 70,000 has 273 full level-0 tiles, a partial
        // of width 112, one full level-1 tile, a partial of 17, and a partial
        // level-2 tile of width 1.
        let tiles: Vec<Tile> = hash_tiles_for_size(70_000).collect();
        let l0: Vec<&Tile> = tiles
            .iter()
            .filter(|t| t.level == TileLevel::Hash(0))
            .collect();
        assert_eq!(l0.len(), 274);
        assert_eq!(l0.iter().filter(|t| t.is_full()).count(), 273);
        assert_eq!(l0.last().unwrap().width, 112);
        let l1: Vec<&Tile> = tiles
            .iter()
            .filter(|t| t.level == TileLevel::Hash(1))
            .collect();
        assert_eq!(
            l1.iter().map(|t| t.width).collect::<Vec<_>>(),
            vec![256, 17]
        );
        let l2: Vec<&Tile> = tiles
            .iter()
            .filter(|t| t.level == TileLevel::Hash(2))
            .collect();
        assert_eq!(l2.iter().map(|t| t.width).collect::<Vec<_>>(), vec![1]);
        assert_eq!(tiles.len(), 274 + 2 + 1);
        assert_eq!(
            right_edge_tiles(70_000)
                .iter()
                .map(|t| t.width)
                .collect::<Vec<_>>(),
            vec![112, 17, 1]
        );
        // A tree of 256: a full level-0 tile and a level-1 tile of width 1.
        assert_eq!(
            hash_tiles_for_size(256).collect::<Vec<_>>(),
            vec![Tile::hash(0, 0, 256).unwrap(), Tile::hash(1, 0, 1).unwrap()]
        );
        assert_eq!(hash_tiles_for_size(0).count(), 0);
        assert_eq!(
            entry_bundles_for_size(513)
                .map(|t| t.width)
                .collect::<Vec<_>>(),
            vec![256, 256, 1]
        );
        // The largest tree reaches tile level 7 and no further.
        assert_eq!(right_edge_tiles(u64::MAX).len(), 8);
    }

    #[test]
    fn path_examples() {
        assert_eq!(
            Tile::hash(0, 1_234_067, 256).unwrap().path(),
            "tile/0/x001/x234/067"
        );
        assert_eq!(Tile::hash(2, 0, 7).unwrap().path(), "tile/2/000.p/7");
        assert_eq!(
            Tile::entries(1000, 256).unwrap().path(),
            "tile/entries/x001/000"
        );
        assert_eq!(
            Tile::hash(0, u64::MAX, 1).unwrap().path(),
            "tile/0/x018/x446/x744/x073/x709/x551/615.p/1"
        );
    }

    #[test]
    fn node_locations() {
        // Level 3 node 5 in a tree of 100: hashes 40..48 of level-0 tile 0 (width 100).
        assert_eq!(
            tile_for_node(NodeId::new(3, 5), 100),
            Some((Tile::hash(0, 0, 100).unwrap(), 40, 8))
        );
        // Level 8 node 3: level-1 tile 0, offset 3.
        assert_eq!(
            tile_for_node(NodeId::new(8, 3), 1024),
            Some((Tile::hash(1, 0, 4).unwrap(), 3, 1))
        );
        assert_eq!(tile_for_node(NodeId::new(3, 13), 100), None);
    }

    #[test]
    fn bundles() {
        let big = vec![0u8; 65_536];
        assert_eq!(
            encode_bundle(&[b"a", &big]),
            Err(TileError::EntryTooLarge {
                index: 1,
                len: 65_536
            })
        );
        let max = vec![7u8; 65_535];
        let enc = encode_bundle(&[b"", &max, b"xyz"]).unwrap();
        assert_eq!(
            decode_bundle(&enc).unwrap(),
            vec![&b""[..], &max[..], &b"xyz"[..]]
        );
        assert!(matches!(
            decode_bundle(&enc[..enc.len() - 1]),
            Err(TileError::TruncatedBundle { .. })
        ));
        let mut trailing = enc.clone();
        trailing.push(0);
        assert!(matches!(
            decode_bundle(&trailing),
            Err(TileError::TruncatedBundle { needed: 1, .. })
        ));
        let many: Vec<&[u8]> = vec![b"" as &[u8]; 257];
        assert_eq!(encode_bundle(&many), Err(TileError::TooManyEntries(257)));
        assert!(matches!(
            decode_bundle(&[0u8; 2 * 257]),
            Err(TileError::TooManyEntries(257))
        ));
    }
}
