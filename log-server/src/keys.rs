//! The log's signing key file and the accepted vendor keys list.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use provlog_core::checkpoint::LogSigner;
use provlog_core::note::{MlDsa44NoteSigner, NoteSigner, VerifierKey};

/// File name of the log key inside the data directory.
pub const LOG_KEY_FILE: &str = "log.key";

/// File name of the log's ML-DSA-44 key inside the data directory (its skey,
/// type 0x06, named like the Ed25519 key).
pub const LOG_MLDSA_KEY_FILE: &str = "log-mldsa.key";

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
/// Creation is atomic ([`create_key_file`]).
pub fn load_or_create_log_key(dir: &Path, origin: &str) -> Result<(NoteSigner, bool), KeyError> {
    let path = dir.join(LOG_KEY_FILE);
    if path.exists() {
        return load_private_key(&path).map(|k| (k, false));
    }
    // The ML-DSA key is made right after this one at a log's first start:
    // if it is there, this directory held a log whose key was lost, and a
    // new key could not continue it. Refuse before writing anything.
    let pq = dir.join(LOG_MLDSA_KEY_FILE);
    if pq.exists() {
        return Err(KeyError::Invalid {
            path: path.display().to_string(),
            detail: format!(
                "missing, but {} is there: this directory holds a log whose key was lost; restore {LOG_KEY_FILE} from a backup (a new key cannot sign an existing log)",
                pq.display()
            ),
        });
    }
    let signer = NoteSigner::generate(origin).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })?;
    if create_key_file(dir, &path, &signer.to_skey())? {
        Ok((signer, true))
    } else {
        // Another process created it first: use that one.
        load_private_key(&path).map(|k| (k, false))
    }
}

/// Loads the log's ML-DSA-44 key from `dir`, creating it (mode 0600,
/// atomically) named like `ed25519` when there is none. A stored key whose
/// name differs from the Ed25519 key's is refused (one log, one origin).
/// Returns the key and whether it was created now.
pub fn load_or_create_ml_dsa_key(
    dir: &Path,
    ed25519: &NoteSigner,
) -> Result<(MlDsa44NoteSigner, bool), KeyError> {
    let path = dir.join(LOG_MLDSA_KEY_FILE);
    let invalid = |detail: String| KeyError::Invalid {
        path: path.display().to_string(),
        detail,
    };
    let (key, created) = if path.exists() {
        (load_ml_dsa_key(&path)?, false)
    } else {
        let key =
            MlDsa44NoteSigner::generate(ed25519.name()).map_err(|e| invalid(e.to_string()))?;
        if create_key_file(dir, &path, &key.to_skey())? {
            (key, true)
        } else {
            (load_ml_dsa_key(&path)?, false)
        }
    };
    if key.name() != ed25519.name() {
        return Err(invalid(format!(
            "the ML-DSA-44 key is named {:?} but the log key {:?}",
            key.name(),
            ed25519.name()
        )));
    }
    Ok((key, created))
}

/// The log's checkpoint signer from `dir`: the Ed25519 key (created if
/// missing, named `origin`) and the ML-DSA-44 key (created if missing).
/// Returns the signer and which keys were created now (Ed25519, ML-DSA-44).
pub fn load_or_create_log_signer(
    dir: &Path,
    origin: &str,
) -> Result<(LogSigner, bool, bool), KeyError> {
    let (ed, ed_created) = load_or_create_log_key(dir, origin)?;
    let (pq, pq_created) = load_or_create_ml_dsa_key(dir, &ed)?;
    let signer = LogSigner::new(ed, Some(pq)).map_err(|e| KeyError::Invalid {
        path: dir.display().to_string(),
        detail: e.to_string(),
    })?;
    Ok((signer, ed_created, pq_created))
}

/// The log's verifier keys stored in `dir` (server stopped or running):
/// the Ed25519 key, then the ML-DSA-44 key if there is one.
pub fn stored_verifier_keys(dir: &Path) -> Result<Vec<VerifierKey>, KeyError> {
    let mut keys = vec![load_private_key(&dir.join(LOG_KEY_FILE))?.verifier_key()];
    let pq = dir.join(LOG_MLDSA_KEY_FILE);
    if pq.exists() {
        keys.push(load_ml_dsa_key(&pq)?.verifier_key());
    }
    Ok(keys)
}

/// Creates `path` holding `skey` atomically: written to a temporary file
/// (mode 0600) in `dir`, fsync'd, then linked into place (which fails if
/// `path` exists), and the directory fsync'd. A crash leaves either no key
/// file or a complete one (at worst a stray temporary file), never a
/// truncated key. Returns false if `path` already existed.
pub(crate) fn create_key_file(dir: &Path, path: &Path, skey: &str) -> Result<bool, KeyError> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(format!("{skey}\n").as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io(&tmp))?;
    drop(f);
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(io(path)(e)),
    }
    // Make the new directory entry durable too.
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(true)
}

/// Loads an ML-DSA-44 private key file, refusing one that group or others
/// can read.
pub fn load_ml_dsa_key(path: &Path) -> Result<MlDsa44NoteSigner, KeyError> {
    let text = read_private(path)?;
    MlDsa44NoteSigner::parse_skey(text.trim()).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

fn read_private(path: &Path) -> Result<String, KeyError> {
    let meta = fs::metadata(path).map_err(io(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions(path.display().to_string(), mode));
    }
    fs::read_to_string(path).map_err(io(path))
}

/// Loads a private key file, refusing one that group or others can read.
pub fn load_private_key(path: &Path) -> Result<NoteSigner, KeyError> {
    let text = read_private(path)?;
    NoteSigner::parse_skey(text.trim()).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// The accepted vendor keys, by vkey string.
#[derive(Debug, Clone, Default)]
pub struct AcceptedKeys {
    keys: HashMap<String, VerifierKey>,
    /// `NEW replaces OLD` lines: new vkey → the one it replaces.
    replaces: HashMap<String, String>,
}

impl AcceptedKeys {
    /// Reads a file of vkeys, one per line; blank lines and `#` comments are
    /// skipped. A line `NEW replaces OLD` accepts NEW and not OLD, and tells
    /// a log with the verifiable index to record a rotation (a key listed
    /// on its own line cannot also be replaced, and a key is replaced once).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = fs::read_to_string(path).map_err(io(path))?;
        let bad = |n: usize, detail: String| KeyError::Invalid {
            path: path.display().to_string(),
            detail: format!("line {}: {detail}", n + 1),
        };
        let parse = |n: usize, s: &str| VerifierKey::parse(s).map_err(|e| bad(n, e.to_string()));
        let mut keys = HashMap::new();
        let mut replaces = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let key = match words.as_slice() {
                [one] => parse(n, one)?,
                [new, "replaces", old] => {
                    let (new, old) = (parse(n, new)?, parse(n, old)?);
                    if new.to_vkey() == old.to_vkey() {
                        return Err(bad(n, "a key cannot replace itself".into()));
                    }
                    if replaces.values().any(|o| *o == old.to_vkey()) {
                        return Err(bad(n, format!("{} is replaced twice", old.to_vkey())));
                    }
                    replaces.insert(new.to_vkey(), old.to_vkey());
                    new
                }
                _ => return Err(bad(n, "expected VKEY or NEW_VKEY replaces OLD_VKEY".into())),
            };
            keys.insert(key.to_vkey(), key);
        }
        if let Some(old) = replaces.values().find(|o| keys.contains_key(*o)) {
            return Err(KeyError::Invalid {
                path: path.display().to_string(),
                detail: format!("{old} is both accepted and replaced"),
            });
        }
        Ok(AcceptedKeys { keys, replaces })
    }

    /// The key `new` replaces (`new replaces OLD` line), if any.
    pub fn replaced_by(&self, new: &str) -> Option<&str> {
        self.replaces.get(new).map(String::as_str)
    }

    /// Whether the vendor vkey is accepted.
    pub fn contains(&self, vkey: &str) -> bool {
        self.keys.contains_key(vkey)
    }

    /// The accepted vkeys (canonical strings) with their parsed keys, in
    /// no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &VerifierKey)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v))
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
