//! The per-vendor sequence counter of `provlog submit` (spec/lookup.md
//! §9.3): claims carry `seq`, taken from `KEY.seq` next to the vendor key,
//! so the vendor and its monitors can tell a missing or repeated claim
//! (spec/claim.md §3.9).
//!
//! Contract:
//! - `KEY.seq` holds the next unused number (decimal text). A number is
//!   handed out only after a value above it is durable in the file
//!   (written by [`write_atomic`]: fsync'd and renamed), so no crash can
//!   hand the same number out twice: never a repeat.
//! - Numbers are reserved [`CHUNK`] at a time (one fsync per chunk, not
//!   per claim); [`SeqCounter::close`] writes back the exact next number at
//!   the end of a run, interrupted or not. A crash before that leaves at
//!   most `CHUNK` numbers unused: a gap, which monitors report, never a
//!   repeat. (A re-run after a crash resends pending claims with the
//!   numbers they already carry.)
//! - One run at a time per key: the run holds an exclusive lock on
//!   `KEY.seq.lock` from [`SeqCounter::open`] until it ends; a second run
//!   with the same key fails at once and says so.
//! - The counter belongs to this key file on this machine: a copy of the
//!   key elsewhere has no counter and would repeat numbers (use one key
//!   per machine, or `--no-seq` there).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::atomic::write_atomic;

/// Numbers reserved per fsync of the counter file.
pub const CHUNK: u64 = 256;

/// An open counter: the lock held, a range reserved.
pub struct SeqCounter {
    path: PathBuf,
    _lock: File,
    /// (next number to hand out, end of the durable reservation).
    state: Mutex<(u64, u64)>,
}

/// `KEY.seq` for the key file `key`.
pub fn counter_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".seq");
    PathBuf::from(name)
}

/// `KEY.seq.lock`, held by the run using the counter of `key`.
pub fn lock_path(key: &Path) -> PathBuf {
    let mut name = counter_path(key).into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl SeqCounter {
    /// Locks and reads the counter of `key` (a missing counter starts at
    /// 0). Fails if another run holds the lock or the file does not hold
    /// a number.
    pub fn open(key: &Path) -> Result<SeqCounter, String> {
        let path = counter_path(key);
        let lock_path = lock_path(key);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "another provlog submit with this key is running (it holds {}); \
                     one run per key at a time keeps its seq numbers unique",
                    lock_path.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("cannot lock {}: {e}", lock_path.display()));
            }
        }
        let next = match std::fs::read(&path) {
            Ok(bytes) => parse(&bytes).ok_or_else(|| {
                format!(
                    "{} does not hold a sequence number (decimal text); \
                     it counts this key's claims: restore it, or pass --sequence N or --no-seq",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(SeqCounter {
            path,
            _lock: lock,
            state: Mutex::new((next, next)),
        })
    }

    /// The next number, durable in the counter before it is returned.
    pub fn next(&self) -> Result<u64, String> {
        let mut st = self
            .state
            .lock()
            .map_err(|_| "internal: the seq counter lock is poisoned".to_string())?;
        if st.0 == st.1 {
            let end =
                st.1.checked_add(CHUNK)
                    .ok_or("the sequence counter is exhausted")?;
            self.write(end)?;
            st.1 = end;
        }
        let n = st.0;
        st.0 += 1;
        Ok(n)
    }

    /// Writes back the exact next number (the unused part of the
    /// reservation is returned). Call at the end of every run.
    pub fn close(&self) -> Result<(), String> {
        let st = self
            .state
            .lock()
            .map_err(|_| "internal: the seq counter lock is poisoned".to_string())?;
        if st.0 != st.1 {
            self.write(st.0)?;
        }
        Ok(())
    }

    fn write(&self, value: u64) -> Result<(), String> {
        write_atomic(&self.path, format!("{value}\n").as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

fn parse(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn numbers_are_unique_across_runs_and_crashes() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("vendor.key");
        let c = SeqCounter::open(&key).unwrap();
        // Reserved before handed out: the file is ahead of every number.
        assert_eq!(c.next().unwrap(), 0);
        assert_eq!(
            std::fs::read_to_string(counter_path(&key)).unwrap(),
            "256\n"
        );
        assert_eq!(c.next().unwrap(), 1);
        // A second run with the same key is refused while this one runs.
        let second = SeqCounter::open(&key).err().unwrap();
        assert!(second.contains("another provlog submit"), "{second}");
        c.close().unwrap();
        drop(c);
        assert_eq!(std::fs::read_to_string(counter_path(&key)).unwrap(), "2\n");
        // The next run goes on; a "crash" (no close) leaves a gap, never a
        // repeat.
        let c = SeqCounter::open(&key).unwrap();
        let got: Vec<u64> = (0..300).map(|_| c.next().unwrap()).collect();
        assert_eq!(got, (2..302).collect::<Vec<_>>());
        drop(c);
        let c = SeqCounter::open(&key).unwrap();
        assert_eq!(c.next().unwrap(), 2 + 2 * CHUNK);
    }

    #[test]
    fn a_damaged_counter_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("vendor.key");
        for bad in ["", "x", "-1", "1 2", "99999999999999999999999"] {
            std::fs::write(counter_path(&key), bad).unwrap();
            let e = SeqCounter::open(&key).err().unwrap();
            assert!(
                e.contains("does not hold a sequence number"),
                "{bad:?}: {e}"
            );
        }
    }
}
