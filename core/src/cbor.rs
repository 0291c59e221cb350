//! The crate's one CBOR implementation: a small strict reader and a
//! deterministic writer (RFC 8949 §4.2.1 core deterministic encoding).
//!
//! Every CBOR format in provlog (the claim, the COSE_Sign1 envelope and its
//! headers, the receipt bundle, batch bodies, COSE receipts) is read and
//! written here, so there is exactly one notion of "well-formed" and of
//! "canonical" in the crate.
//!
//! The reader ([`decode`]) never trusts a declared length for allocation: a
//! length or count must fit in the remaining input before anything is read
//! or reserved, so memory is bounded by the input size. Nesting is bounded
//! while reading (so is recursion), and non-shortest heads and
//! indefinite-length items are rejected at once with their offset. Floats,
//! tags and simple values are read, so a schema can say which field has the
//! wrong type. Cost: one pass over the input, strings borrowed, not copied.
//!
//! The writer ([`Item::encode`] and the `write_*` functions) can only
//! produce shortest-form heads and definite lengths, and [`Item::Map`] sorts
//! its keys bytewise by their encoding.
//!
//! [`decode_bytes_array`] reads the one top-level shape that carries many
//! items (a batch: an array of byte strings) without building a generic
//! tree: the count is checked against the caller's limit before any
//! allocation.
//!
//! The reader is hand-written rather than a generic deserializer because it
//! is several times faster on the ingest path (it borrows strings instead of
//! allocating them) and can say *where* an encoding is not deterministic;
//! the tests compare it with independent encoders (ciborium, coset).

use std::cmp::Ordering;

/// Why some bytes are not a well-formed, reasonably sized CBOR item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// The input ended in the middle of a data item.
    #[error("CBOR input is truncated")]
    Truncated,
    /// The bytes are not well-formed CBOR.
    #[error("CBOR is not well-formed at byte offset {offset}")]
    Malformed {
        /// Byte offset where decoding failed.
        offset: usize,
    },
    /// A text string is not valid UTF-8.
    #[error("CBOR text string at byte offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Byte offset of the string's head.
        offset: usize,
    },
    /// Well-formed CBOR that is not in deterministic encoding at this item.
    #[error("CBOR at byte offset {offset} is not deterministic: {reason}")]
    NotDeterministic {
        /// Byte offset of the item's head.
        offset: usize,
        /// What is not deterministic.
        reason: &'static str,
    },
    /// Arrays, maps or tags nested deeper than allowed.
    #[error("CBOR nests deeper than {max} levels")]
    TooDeep {
        /// The nesting limit.
        max: usize,
    },
    /// Bytes after the end of the single top-level item.
    #[error("{count} trailing byte(s) after the CBOR item")]
    TrailingBytes {
        /// Number of bytes left over.
        count: usize,
    },
}

/// A decoded CBOR item, borrowing strings from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor<'a> {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is -1 - n.
    Nint(u64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3.
    Text(&'a str),
    /// Major type 4.
    Array(Vec<Cbor<'a>>),
    /// Major type 5, entries in input order (duplicates kept: schemas check).
    Map(Vec<(Cbor<'a>, Cbor<'a>)>),
    /// Major type 6.
    Tag(u64, Box<Cbor<'a>>),
    /// Major type 7 simple value (false = 20, true = 21, null = 22, …).
    Simple(u8),
    /// Major type 7 float (value not decoded).
    Float,
}

impl Cbor<'_> {
    /// A short name of the item's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Cbor::Uint(_) => "unsigned integer",
            Cbor::Nint(_) => "negative integer",
            Cbor::Bytes(_) => "byte string",
            Cbor::Text(_) => "text string",
            Cbor::Array(_) => "array",
            Cbor::Map(_) => "map",
            Cbor::Tag(..) => "tag",
            Cbor::Simple(_) => "simple value",
            Cbor::Float => "float",
        }
    }

    /// The item as an `i64`, if it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Cbor::Uint(n) => i64::try_from(n).ok(),
            Cbor::Nint(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        }
    }
}

/// A cursor over CBOR input, reading one head or item at a time.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self.buf.get(self.pos).ok_or(CborError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn remaining(&self) -> u64 {
        self.buf.len().saturating_sub(self.pos) as u64
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let n = usize::try_from(n)
            .ok()
            .filter(|n| *n <= rest.len())
            .ok_or(CborError::Truncated)?;
        let (head, _) = rest.split_at(n);
        self.pos += n;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        <[u8; N]>::try_from(self.take(N as u64)?).map_err(|_| CborError::Truncated)
    }

    /// Reads the argument for additional information `ai` (< 28), checking
    /// that it is in shortest form.
    fn argument(&mut self, ai: u8, start: usize) -> Result<u64, CborError> {
        let (arg, min) = match ai {
            0..=23 => return Ok(u64::from(ai)),
            24 => (u64::from(self.byte()?), 24),
            25 => (u64::from(u16::from_be_bytes(self.array()?)), 0x100),
            26 => (u64::from(u32::from_be_bytes(self.array()?)), 0x1_0000),
            _ => (u64::from_be_bytes(self.array()?), 0x1_0000_0000),
        };
        if arg < min {
            return Err(CborError::NotDeterministic {
                offset: start,
                reason: "integer or length not in shortest form",
            });
        }
        Ok(arg)
    }

    /// Reads the head of a non-major-7 item: (major type, argument).
    fn head(&mut self) -> Result<(u8, u64, usize), CborError> {
        let start = self.pos;
        let ib = self.byte()?;
        let (major, ai) = (ib >> 5, ib & 0x1f);
        match ai {
            0..=27 => {}
            31 if matches!(major, 2..=5) => {
                return Err(CborError::NotDeterministic {
                    offset: start,
                    reason: "indefinite-length item",
                });
            }
            _ => return Err(CborError::Malformed { offset: start }),
        }
        let arg = self.argument(ai, start)?;
        Ok((major, arg, start))
    }

    fn item(&mut self, depth: usize) -> Result<Cbor<'a>, CborError> {
        let start = self.pos;
        let ib = *self.buf.get(self.pos).ok_or(CborError::Truncated)?;
        if ib >> 5 == 7 {
            self.pos += 1;
            return match ib & 0x1f {
                ai @ 0..=23 => Ok(Cbor::Simple(ai)),
                24 => {
                    let v = self.byte()?;
                    if v < 32 {
                        return Err(CborError::Malformed { offset: start });
                    }
                    Ok(Cbor::Simple(v))
                }
                25 => self.take(2).map(|_| Cbor::Float),
                26 => self.take(4).map(|_| Cbor::Float),
                27 => self.take(8).map(|_| Cbor::Float),
                // Reserved values, or a "break" outside an indefinite item.
                _ => Err(CborError::Malformed { offset: start }),
            };
        }
        let (major, arg, start) = self.head()?;
        let remaining = self.remaining();
        match major {
            0 => Ok(Cbor::Uint(arg)),
            1 => Ok(Cbor::Nint(arg)),
            2 => self.take(arg).map(Cbor::Bytes),
            3 => {
                let b = self.take(arg)?;
                std::str::from_utf8(b)
                    .map(Cbor::Text)
                    .map_err(|_| CborError::InvalidUtf8 { offset: start })
            }
            4 => {
                let depth = self.deeper(depth)?;
                // Every item takes at least one byte, so a count larger than
                // the rest of the input is a truncation; this also bounds the
                // allocation by the input size.
                if arg > remaining {
                    return Err(CborError::Truncated);
                }
                let mut items = Vec::with_capacity(arg as usize);
                for _ in 0..arg {
                    items.push(self.item(depth)?);
                }
                Ok(Cbor::Array(items))
            }
            5 => {
                let depth = self.deeper(depth)?;
                if arg > remaining / 2 {
                    return Err(CborError::Truncated);
                }
                let mut entries = Vec::with_capacity(arg as usize);
                for _ in 0..arg {
                    let k = self.item(depth)?;
                    let v = self.item(depth)?;
                    entries.push((k, v));
                }
                Ok(Cbor::Map(entries))
            }
            _ => {
                let depth = self.deeper(depth)?;
                Ok(Cbor::Tag(arg, Box::new(self.item(depth)?)))
            }
        }
    }

    fn deeper(&self, depth: usize) -> Result<usize, CborError> {
        depth.checked_sub(1).ok_or(CborError::TooDeep {
            max: self.max_depth,
        })
    }

    fn finish(&self) -> Result<(), CborError> {
        let count = self.buf.len().saturating_sub(self.pos);
        if count > 0 {
            return Err(CborError::TrailingBytes { count });
        }
        Ok(())
    }
}

/// Reads exactly one CBOR item from `bytes` with at most `max_depth` levels
/// of nested arrays, maps and tags (so recursion is bounded too). Bytes
/// after the item are an error.
pub fn decode(bytes: &[u8], max_depth: usize) -> Result<Cbor<'_>, CborError> {
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        max_depth,
    };
    let item = r.item(max_depth)?;
    r.finish()?;
    Ok(item)
}

/// Why a body is not an acceptable array of byte strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArrayError {
    /// Not well-formed, not deterministic, or trailing bytes.
    #[error("{0}")]
    Cbor(#[from] CborError),
    /// The top-level item is not an array.
    #[error("the body must be a CBOR array of byte strings")]
    NotArray,
    /// An item of the array is not a byte string.
    #[error("item {0} is not a byte string")]
    NotBytes(u64),
    /// The array declares more items than the caller accepts.
    #[error("the array has {count} items; the limit is {max}")]
    TooMany {
        /// Items declared.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// The array is empty and the caller needs at least one item.
    #[error("the array is empty")]
    Empty,
}

/// Reads a top-level CBOR array of byte strings (a batch body), borrowing
/// each item. The declared count is checked against `max_items` *before*
/// anything is allocated, each item is checked as it is reached, and bytes
/// after the array are an error. Memory: one slice per item, at most
/// `max_items`; nothing proportional to the declared lengths.
pub fn decode_bytes_array(bytes: &[u8], max_items: usize) -> Result<Vec<&[u8]>, ArrayError> {
    let mut r = Reader {
        buf: bytes,
        pos: 0,
        max_depth: 1,
    };
    let (major, count, _) = r.head()?;
    if major != 4 {
        return Err(ArrayError::NotArray);
    }
    if count == 0 {
        return Err(ArrayError::Empty);
    }
    // A count the rest of the input cannot hold is a malformed body, not a
    // large one; both checks come before any allocation.
    if count > r.remaining() {
        return Err(CborError::Truncated.into());
    }
    if count > max_items as u64 {
        return Err(ArrayError::TooMany {
            count,
            max: max_items,
        });
    }
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        if r.buf.get(r.pos).is_some_and(|b| b >> 5 != 2) {
            return Err(ArrayError::NotBytes(i));
        }
        let (_, len, _) = r.head()?;
        out.push(r.take(len)?);
    }
    r.finish()?;
    Ok(out)
}

/// Encodes a CBOR array of byte strings (a batch body, a batch answer).
pub fn encode_bytes_array<B: AsRef<[u8]>>(items: &[B]) -> Vec<u8> {
    let total: usize = items.iter().map(|b| b.as_ref().len() + 9).sum();
    let mut out = Vec::with_capacity(total + 9);
    write_head(&mut out, 4, items.len() as u64);
    for b in items {
        write_bytes(&mut out, b.as_ref());
    }
    out
}

/// Writes a CBOR head (major type + argument) in shortest form.
pub fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if let Ok(a) = u8::try_from(arg) {
        out.extend_from_slice(&[m | 24, a]);
    } else if let Ok(a) = u16::try_from(arg) {
        out.push(m | 25);
        out.extend_from_slice(&a.to_be_bytes());
    } else if let Ok(a) = u32::try_from(arg) {
        out.push(m | 26);
        out.extend_from_slice(&a.to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// The length of a CBOR head with argument `arg` in shortest form.
pub fn head_len(arg: u64) -> usize {
    match arg {
        0..24 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Writes a definite-length byte string.
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

/// Writes a definite-length text string.
pub fn write_text(out: &mut Vec<u8>, s: &str) {
    write_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Writes an integer (major type 0 or 1).
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        write_head(out, 0, n as u64);
    } else {
        write_head(out, 1, (-1 - n) as u64);
    }
}

/// A CBOR item to encode deterministically, borrowing its strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<'a> {
    /// An unsigned integer.
    Uint(u64),
    /// A signed integer (major type 0 or 1 by sign).
    Int(i64),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A text string.
    Text(&'a str),
    /// An array.
    Array(Vec<Item<'a>>),
    /// A map; [`Item::encode`] sorts the entries by their keys' encoding.
    Map(Vec<(Item<'a>, Item<'a>)>),
    /// A tagged item.
    Tag(u64, Box<Item<'a>>),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// Bytes that are already one deterministic CBOR item, copied verbatim.
    Raw(&'a [u8]),
}

impl Item<'_> {
    /// Appends the deterministic encoding of this item to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Item::Uint(n) => write_head(out, 0, *n),
            Item::Int(n) => write_int(out, *n),
            Item::Bytes(b) => write_bytes(out, b),
            Item::Text(s) => write_text(out, s),
            Item::Array(items) => {
                write_head(out, 4, items.len() as u64);
                for item in items {
                    item.encode(out);
                }
            }
            Item::Map(entries) => {
                let mut sorted: Vec<&(Item<'_>, Item<'_>)> = entries.iter().collect();
                sorted.sort_by(|a, b| key_order(&a.0, &b.0));
                write_head(out, 5, entries.len() as u64);
                for (k, v) in sorted {
                    k.encode(out);
                    v.encode(out);
                }
            }
            Item::Tag(t, inner) => {
                write_head(out, 6, *t);
                inner.encode(out);
            }
            Item::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
            Item::Null => out.push(0xf6),
            Item::Raw(b) => out.extend_from_slice(b),
        }
    }

    /// The deterministic encoding of this item, in one allocation of
    /// exactly [`Item::encoded_len`] bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }

    /// The length of this item's encoding, without encoding it.
    pub fn encoded_len(&self) -> usize {
        match self {
            Item::Uint(n) => head_len(*n),
            Item::Int(n) => head_len(if *n >= 0 { *n as u64 } else { (-1 - *n) as u64 }),
            Item::Raw(b) => b.len(),
            Item::Bytes(b) => head_len(b.len() as u64) + b.len(),
            Item::Text(t) => head_len(t.len() as u64) + t.len(),
            Item::Array(items) => {
                head_len(items.len() as u64) + items.iter().map(Item::encoded_len).sum::<usize>()
            }
            Item::Map(entries) => {
                head_len(entries.len() as u64)
                    + entries
                        .iter()
                        .map(|(k, v)| k.encoded_len() + v.encoded_len())
                        .sum::<usize>()
            }
            Item::Tag(t, inner) => head_len(*t) + inner.encoded_len(),
            Item::Bool(_) | Item::Null => 1,
        }
    }
}

/// Bytewise order of two keys' encodings (RFC 8949 §4.2.1), without
/// encoding the common cases: text keys order by (length, bytes) and
/// non-negative integers by value, both before negative integers.
fn key_order(a: &Item<'_>, b: &Item<'_>) -> Ordering {
    let int = |i: &Item<'_>| match *i {
        Item::Uint(n) => Some((0u8, n)),
        Item::Int(n) if n >= 0 => Some((0, n as u64)),
        Item::Int(n) => Some((1, (-1 - n) as u64)),
        _ => None,
    };
    match (a, b) {
        (Item::Text(x), Item::Text(y)) => (x.len(), x.as_bytes()).cmp(&(y.len(), y.as_bytes())),
        _ => match (int(a), int(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.to_vec().cmp(&b.to_vec()),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn encoded_len_is_the_encodings_length() {
        // Every head boundary, for every kind of item that has a head, and
        // nesting of each container kind.
        let args = [
            0u64,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            u64::MAX,
        ];
        let blob = vec![7u8; 70_000];
        let mut items: Vec<Item<'_>> =
            vec![Item::Null, Item::Bool(true), Item::Raw(&[0x83, 1, 2, 3])];
        for &a in &args {
            items.push(Item::Uint(a));
            items.push(Item::Int(a as i64));
            items.push(Item::Int(-1 - (a >> 1) as i64));
            items.push(Item::Tag(a, Box::new(Item::Uint(a))));
        }
        for n in [0, 23, 24, 255, 256, 65_535, 65_536, 70_000] {
            items.push(Item::Bytes(&blob[..n]));
        }
        items.push(Item::Text("text"));
        for item in &items {
            assert_eq!(item.encoded_len(), item.to_vec().len(), "{item:?}");
        }
        let array = Item::Array(items.clone());
        let map = Item::Map(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (Item::Uint(i as u64), v.clone()))
                .collect(),
        );
        let nested = Item::Array(vec![
            array.clone(),
            map.clone(),
            Item::Tag(18, Box::new(map)),
        ]);
        for item in [array, nested] {
            let enc = item.to_vec();
            assert_eq!(item.encoded_len(), enc.len());
            assert_eq!(
                enc.capacity(),
                enc.len(),
                "one allocation of the exact size"
            );
        }
        let long = Item::Array(vec![Item::Null; 300]);
        assert_eq!(long.encoded_len(), 3 + 300);
    }

    #[test]
    fn map_keys_sort_by_encoding() {
        let m = Item::Map(vec![
            (Item::Int(-1), Item::Null),
            (Item::Text("bb"), Item::Null),
            (Item::Uint(24), Item::Null),
            (Item::Text("a"), Item::Null),
            (Item::Uint(1), Item::Null),
        ]);
        // 1 (0x01) < 24 (0x18 0x18) < -1 (0x20) < "a" (0x61) < "bb" (0x62)
        assert_eq!(
            m.to_vec(),
            [
                0xa5, 0x01, 0xf6, 0x18, 0x18, 0xf6, 0x20, 0xf6, 0x61, b'a', 0xf6, 0x62, b'b', b'b',
                0xf6
            ]
        );
    }

    #[test]
    fn bytes_arrays_are_bounded_before_allocation() {
        let body = encode_bytes_array(&[b"ab".as_slice(), b"".as_slice()]);
        assert_eq!(
            decode_bytes_array(&body, 2).unwrap(),
            [&b"ab"[..], &b""[..]]
        );
        assert_eq!(
            decode_bytes_array(&body, 1),
            Err(ArrayError::TooMany { count: 2, max: 1 })
        );
        let mut trailing = body.clone();
        trailing.push(0);
        assert_eq!(
            decode_bytes_array(&trailing, 2),
            Err(ArrayError::Cbor(CborError::TrailingBytes { count: 1 }))
        );
        // A declared count of 2^32 in a 5-byte body: refused, nothing reserved.
        assert_eq!(
            decode_bytes_array(&[0x9a, 0xff, 0xff, 0xff, 0xff], usize::MAX),
            Err(ArrayError::Cbor(CborError::Truncated))
        );
        assert_eq!(decode_bytes_array(&[0x80], 5), Err(ArrayError::Empty));
        assert_eq!(
            decode_bytes_array(&[0x81, 0x01], 5),
            Err(ArrayError::NotBytes(0))
        );
        assert_eq!(decode_bytes_array(&[0xa0], 5), Err(ArrayError::NotArray));
        assert!(matches!(
            decode_bytes_array(&[0x9f, 0x40, 0xff], 5),
            Err(ArrayError::Cbor(CborError::NotDeterministic { .. }))
        ));
    }
}
