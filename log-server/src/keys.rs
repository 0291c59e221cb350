//! The log's signing key file and the accepted vendor keys list.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use provlog_core::note::{NoteSigner, VerifierKey};

/// File name of the log key inside the data directory.
pub const LOG_KEY_FILE: &str = "log.key";

/// Errors with key files.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The key file can be read by other users.
    #[error("{0} is readable by group or others (mode {1:o}); run `chmod 600 {0}`")]
    Permissions(String, u32),
    /// The file does not hold a valid key.
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads the log key from `dir`, creating it (mode 0600) with name `origin`
/// when there is none. Returns the signer and whether it was created now.
pub fn load_or_create_log_key(dir: &Path, origin: &str) -> Result<(NoteSigner, bool), KeyError> {
    let path = dir.join(LOG_KEY_FILE);
    if path.exists() {
        return load_private_key(&path).map(|k| (k, false));
    }
    fs::create_dir_all(dir).map_err(io(dir))?;
    let signer = NoteSigner::generate(origin).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    write_secret_file(&path, &format!("{}\n", signer.to_skey())).map_err(io(&path))?;
    Ok((signer, true))
}

/// Writes a new secret file atomically (mode 0600): into `PATH.tmp`
/// (replacing what an interrupted write left there), fsync, then linked to
/// `path` only if no file is there (never overwriting a key), and the
/// directory fsync'd. A kill at any point leaves either no file at `path`
/// or the complete one.
pub fn write_secret_file(path: &Path, contents: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    drop(f);
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    linked?;
    if let Some(dir) = path.parent()
        && let Ok(d) = fs::File::open(dir)
    {
        d.sync_all()?;
    }
    Ok(())
}

/// Loads a private key file, refusing one that group or others can read.
pub fn load_private_key(path: &Path) -> Result<NoteSigner, KeyError> {
    let meta = fs::metadata(path).map_err(io(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions(path.display().to_string(), mode));
    }
    let text = fs::read_to_string(path).map_err(io(path))?;
    NoteSigner::parse_skey(text.trim()).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// The accepted vendor keys, by vkey string.
#[derive(Debug, Clone, Default)]
pub struct AcceptedKeys {
    keys: HashMap<String, VerifierKey>,
}

impl AcceptedKeys {
    /// Reads a file of vkeys, one per line; blank lines and `#` comments are skipped.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(io(path))?;
        let mut keys = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let key = VerifierKey::parse(line).map_err(|e| KeyError::Invalid {
                path: path.display().to_string(),
                detail: format!("line {}: {e}", n + 1),
            })?;
            keys.insert(key.to_vkey(), key);
        }
        Ok(AcceptedKeys { keys })
    }

    /// Whether the vendor vkey is accepted.
    pub fn contains(&self, vkey: &str) -> bool {
        self.keys.contains_key(vkey)
    }

    /// Number of accepted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
