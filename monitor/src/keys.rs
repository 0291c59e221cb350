//! The witness key file: created on first start or by `provlog-monitor
//! init` (mode 0600), refused if group or others can read it, and refused
//! if its name differs from the configured `witness_name` (a key is never
//! silently renamed or replaced).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use provlog_core::note::{NoteSigner, SIG_COSIGNATURE_V1};

/// File name of the witness key in the data directory.
pub const WITNESS_KEY_FILE: &str = "witness.key";

/// Name of a witness key created without a configured `witness_name`.
pub const DEFAULT_WITNESS_NAME: &str = "provlog-monitor";

/// Loads the witness key from `dir`, or `None` if there is none.
pub fn load(dir: &Path) -> Result<Option<NoteSigner>, String> {
    let path = dir.join(WITNESS_KEY_FILE);
    let show = path.display().to_string();
    if path.exists() {
        let meta = fs::metadata(&path).map_err(|e| format!("{show}: {e}"))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!(
                "{show} is readable by group or others (mode {mode:o}); run `chmod 600 {show}`"
            ));
        }
        let text = fs::read_to_string(&path).map_err(|e| format!("{show}: {e}"))?;
        let key = NoteSigner::parse_skey(text.trim()).map_err(|e| format!("{show}: {e}"))?;
        if key.key_type() != SIG_COSIGNATURE_V1 {
            return Err(format!("{show} is not a cosignature/v1 key"));
        }
        return Ok(Some(key));
    }
    Ok(None)
}

/// Loads the witness key from `dir`, creating it if absent (named `name`,
/// or [`DEFAULT_WITNESS_NAME`]). A stored key whose name differs from a
/// given `name` is an error. Returns the key and whether it was created.
pub fn load_or_create(dir: &Path, name: Option<&str>) -> Result<(NoteSigner, bool), String> {
    if let Some(key) = load(dir)? {
        if let Some(want) = name
            && key.name() != want
        {
            return Err(format!(
                "the witness key in {} is named {:?}, but the configuration says witness_name = {want:?}; \
                 a witness key is never renamed: set witness_name = {:?} (logs and verifiers know the key by that name), \
                 or use another --data directory for a new witness",
                dir.join(WITNESS_KEY_FILE).display(),
                key.name(),
                key.name()
            ));
        }
        return Ok((key, false));
    }
    let name = name.unwrap_or(DEFAULT_WITNESS_NAME);
    let path = dir.join(WITNESS_KEY_FILE);
    let show = path.display().to_string();
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key = NoteSigner::generate_cosigner(name).map_err(|e| e.to_string())?;
    // Written to a temporary file and linked into place once complete: a
    // crash here must not leave an empty or partial key that would keep
    // the monitor from ever starting again.
    let tmp = dir.join(format!("{WITNESS_KEY_FILE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(format!("{}\n", key.to_skey()).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let linked = fs::hard_link(&tmp, &path).map_err(|e| format!("{show}: {e}"));
    let _ = fs::remove_file(&tmp);
    linked?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok((key, true))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn created_once_and_refused_when_readable() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = load_or_create(dir.path(), Some("w.example")).unwrap();
        assert!(created);
        let (b, created) = load_or_create(dir.path(), None).unwrap();
        assert!(!created);
        assert_eq!(a.verifier_key(), b.verifier_key());
        let path = dir.path().join(WITNESS_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_or_create(dir.path(), Some("w.example")).is_err());
    }

    #[test]
    fn a_partial_key_left_by_a_crash_is_not_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join(format!("{WITNESS_KEY_FILE}.tmp"));
        fs::write(&tmp, b"PRIVATE+KEY+moncrash").unwrap();
        let (a, created) = load_or_create(dir.path(), Some("w.example")).unwrap();
        assert!(created);
        assert!(!tmp.exists());
        let (b, _) = load_or_create(dir.path(), Some("w.example")).unwrap();
        assert_eq!(a.verifier_key(), b.verifier_key());
        let mode = fs::metadata(dir.path().join(WITNESS_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_witness_name_that_differs_from_the_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let (a, _) = load_or_create(dir.path(), None).unwrap();
        assert_eq!(a.name(), DEFAULT_WITNESS_NAME);
        let err = load_or_create(dir.path(), Some("monitor-a.example")).unwrap_err();
        assert!(
            err.contains("\"provlog-monitor\"") && err.contains("monitor-a.example"),
            "{err}"
        );
        // The key was not touched.
        assert_eq!(
            load(dir.path()).unwrap().unwrap().verifier_key(),
            a.verifier_key()
        );
        assert!(load_or_create(dir.path(), Some(DEFAULT_WITNESS_NAME)).is_ok());
    }
}
