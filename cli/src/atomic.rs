//! Crash-safe file writes: every file the CLI writes (receipts, text
//! receipts, keys, remembered checkpoints, signed claims, pending claims)
//! goes through here.
//!
//! Contract of [`write_atomic`]: after it returns `Ok`, the file at `path`
//! holds exactly `bytes` and survives a crash or power loss; at any instant
//! before, `path` holds either its old content (or nothing) or the complete
//! new content, never a prefix. It writes a temporary file in the same
//! directory (so the rename cannot cross file systems), fsyncs it, renames
//! it over `path`, then fsyncs the directory so the rename itself is
//! durable. Cost: two fsyncs per file.
//!
//! A crash between creating and renaming the temporary file can leave a
//! `.NAME.tmp-PID-N` file behind; it is never read as a receipt (the name
//! does not end in `.provlog`) and `provlog submit` skips such names.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether `name` is a temporary file left by [`write_atomic`].
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// A fresh temporary path next to `path`.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp-{}-{n}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs a directory, so a rename or link in it is durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `bytes` to a new temporary file (mode `mode`) next to `path` and
/// fsyncs it; returns the temporary path. The caller links or renames it.
fn write_temp(path: &Path, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
    let tmp = temp_path(path)?;
    let result = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
    match result {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Atomically replaces (or creates) `path` with `bytes`, durably; see the
/// module contract. New files get mode 0644 (minus the umask).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_mode(path, bytes, 0o644)
}

/// [`write_atomic`] with the file mode of the new file.
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let tmp = write_temp(path, bytes, mode)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(parent_dir(path))
}

/// Like [`write_atomic_mode`], but never replaces an existing `path`: the
/// complete, fsynced temporary file is hard-linked into place, which fails
/// with `AlreadyExists` if `path` exists (used for private keys).
pub fn write_new_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, "file exists"));
    }
    let tmp = write_temp(path, bytes, mode)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked?;
    sync_dir(parent_dir(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("read dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| is_temp_name(n))
            .collect()
    }

    #[test]
    fn writes_replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.png.provlog");
        write_atomic(&path, b"first").expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"first");
        let big = vec![7u8; 1 << 20];
        write_atomic(&path, &big).expect("replace");
        assert_eq!(fs::read(&path).expect("read"), big);
        write_atomic(&path, b"").expect("empty");
        assert_eq!(fs::read(&path).expect("read"), b"");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
    }

    #[test]
    fn a_reader_sees_the_old_or_the_new_content_never_a_prefix() {
        // Writers replace the file with one of two complete contents while a
        // reader reads it over and over: every read is one of the two.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.provlog");
        let a = vec![b'a'; 256 * 1024];
        let b = vec![b'b'; 512 * 1024];
        write_atomic(&path, &a).expect("write");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, a, b, stop) = (path.clone(), a.clone(), b.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) || reads < 10 {
                    let got = fs::read(&path).expect("the file always exists");
                    assert!(
                        got == a || got == b,
                        "read {} bytes: a torn file",
                        got.len()
                    );
                    reads += 1;
                }
                reads
            })
        };
        for i in 0..50 {
            write_atomic(&path, if i % 2 == 0 { &b } else { &a }).expect("write");
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().expect("reader") >= 10);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x");
        write_atomic(&path, b"old").expect("write");
        // A directory where the file should be: the rename fails.
        let blocked = dir.path().join("sub");
        fs::create_dir(&blocked).expect("mkdir");
        fs::write(blocked.join("keep"), b"k").expect("write");
        assert!(write_atomic(&blocked, b"new").is_err());
        assert_eq!(fs::read(&path).expect("read"), b"old");
        assert!(leftovers(dir.path()).is_empty());
        // A missing directory: nothing is created.
        assert!(write_atomic(&dir.path().join("nope/x"), b"new").is_err());
    }

    #[test]
    fn write_new_never_replaces_and_sets_the_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vendor.key");
        write_new_atomic(&path, b"secret\n", 0o600).expect("create");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let e = write_new_atomic(&path, b"other\n", 0o600).expect_err("exists");
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).expect("read"), b"secret\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn temporary_names_are_recognised() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tmp = temp_path(&dir.path().join("cat.png.provlog")).expect("tmp");
        let name = tmp
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(is_temp_name(&name), "{name}");
        assert!(!name.ends_with(".provlog"));
        assert!(!is_temp_name("cat.png.provlog"));
    }
}
