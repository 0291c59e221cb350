//! The witness key files: created on first start or by `provlog-monitor
//! init` (mode 0600), refused if group or others can read them, and refused
//! if their name differs from the configured `witness_name` (a key is never
//! silently renamed or replaced).
//!
//! `witness.key` is the cosignature/v1 key (type 0x04), always present.
//! `witness-ml-dsa-44.key` is the optional ML-DSA-44 key (type 0x06,
//! subtree/v1 cosignatures): created when the configuration says
//! `witness_ml_dsa_44 = true`, and used whenever it exists (a witness key
//! that logs may require is never dropped silently).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use provlog_core::note::{MlDsa44NoteSigner, NoteSigner, SIG_COSIGNATURE_V1};

use crate::witness::WitnessKeys;

/// File name of the witness key in the data directory.
pub const WITNESS_KEY_FILE: &str = "witness.key";

/// File name of the optional ML-DSA-44 witness key in the data directory.
pub const ML_DSA_WITNESS_KEY_FILE: &str = "witness-ml-dsa-44.key";

/// Name of a witness key created without a configured `witness_name`.
pub const DEFAULT_WITNESS_NAME: &str = "provlog-monitor";

/// Reads the key file `dir/file` (trimmed), or `None` if there is none;
/// refused if group or others may read it.
fn read_key_file(dir: &Path, file: &str) -> Result<Option<String>, String> {
    let path = dir.join(file);
    let show = path.display().to_string();
    if !path.exists() {
        return Ok(None);
    }
    let meta = fs::metadata(&path).map_err(|e| format!("{show}: {e}"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "{show} is readable by group or others (mode {mode:o}); run `chmod 600 {show}`"
        ));
    }
    let text = fs::read_to_string(&path).map_err(|e| format!("{show}: {e}"))?;
    Ok(Some(text.trim().to_owned()))
}

/// Writes a new key file `dir/file` (mode 0600) holding `skey`.
fn create_key_file(dir: &Path, file: &str, skey: &str) -> Result<(), String> {
    let path = dir.join(file);
    let show = path.display().to_string();
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Written to a temporary file and linked into place once complete: a
    // crash here must not leave an empty or partial key that would keep
    // the monitor from ever starting again.
    let tmp = dir.join(format!("{file}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(format!("{skey}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let linked = fs::hard_link(&tmp, &path).map_err(|e| format!("{show}: {e}"));
    let _ = fs::remove_file(&tmp);
    linked?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The error for a stored key named `have` when the configuration says `want`.
fn renamed(dir: &Path, file: &str, have: &str, want: &str) -> String {
    format!(
        "the witness key in {} is named {have:?}, but the configuration says witness_name = {want:?}; \
         a witness key is never renamed: set witness_name = {have:?} (logs and verifiers know the key by that name), \
         or use another --data directory for a new witness",
        dir.join(file).display(),
    )
}

/// Loads the witness key from `dir`, or `None` if there is none.
pub fn load(dir: &Path) -> Result<Option<NoteSigner>, String> {
    let Some(text) = read_key_file(dir, WITNESS_KEY_FILE)? else {
        return Ok(None);
    };
    let show = dir.join(WITNESS_KEY_FILE).display().to_string();
    let key = NoteSigner::parse_skey(&text).map_err(|e| format!("{show}: {e}"))?;
    if key.key_type() != SIG_COSIGNATURE_V1 {
        return Err(format!("{show} is not a cosignature/v1 key"));
    }
    Ok(Some(key))
}

/// Loads the ML-DSA-44 witness key from `dir`, or `None` if there is none.
pub fn load_ml_dsa(dir: &Path) -> Result<Option<MlDsa44NoteSigner>, String> {
    let Some(text) = read_key_file(dir, ML_DSA_WITNESS_KEY_FILE)? else {
        return Ok(None);
    };
    let show = dir.join(ML_DSA_WITNESS_KEY_FILE).display().to_string();
    MlDsa44NoteSigner::parse_skey(&text)
        .map(Some)
        .map_err(|e| format!("{show}: {e} (expected an ML-DSA-44 key, type 0x06)"))
}

/// Loads the witness key from `dir`, creating it if absent (named `name`,
/// or [`DEFAULT_WITNESS_NAME`]). A stored key whose name differs from a
/// given `name` is an error. Returns the key and whether it was created.
pub fn load_or_create(dir: &Path, name: Option<&str>) -> Result<(NoteSigner, bool), String> {
    if let Some(key) = load(dir)? {
        if let Some(want) = name
            && key.name() != want
        {
            return Err(renamed(dir, WITNESS_KEY_FILE, key.name(), want));
        }
        return Ok((key, false));
    }
    let name = name.unwrap_or(DEFAULT_WITNESS_NAME);
    let key = NoteSigner::generate_cosigner(name).map_err(|e| e.to_string())?;
    create_key_file(dir, WITNESS_KEY_FILE, &key.to_skey())?;
    Ok((key, true))
}

/// Which key files [`load_or_create_all`] created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Created {
    /// `witness.key`.
    pub cosigner: bool,
    /// `witness-ml-dsa-44.key`.
    pub ml_dsa_44: bool,
}

/// Loads the witness keys from `dir`: the cosignature/v1 key (created if
/// absent, as [`load_or_create`]) and the ML-DSA-44 key, which is loaded if
/// its file exists and created if `ml_dsa_44` asks for it. Both keys have
/// the witness's name (a stored ML-DSA-44 key with another name is an
/// error).
pub fn load_or_create_all(
    dir: &Path,
    name: Option<&str>,
    ml_dsa_44: bool,
) -> Result<(WitnessKeys, Created), String> {
    let (cosigner, created_cosigner) = load_or_create(dir, name)?;
    let mut created = Created {
        cosigner: created_cosigner,
        ml_dsa_44: false,
    };
    let ml = match load_ml_dsa(dir)? {
        Some(k) => {
            if k.name() != cosigner.name() {
                return Err(renamed(
                    dir,
                    ML_DSA_WITNESS_KEY_FILE,
                    k.name(),
                    cosigner.name(),
                ));
            }
            Some(k)
        }
        None if ml_dsa_44 => {
            let k = MlDsa44NoteSigner::generate(cosigner.name()).map_err(|e| e.to_string())?;
            create_key_file(dir, ML_DSA_WITNESS_KEY_FILE, &k.to_skey())?;
            created.ml_dsa_44 = true;
            Some(k)
        }
        None => None,
    };
    Ok((
        WitnessKeys {
            cosigner,
            ml_dsa_44: ml,
        },
        created,
    ))
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
    fn the_ml_dsa_44_key_is_created_on_demand_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (k, created) = load_or_create_all(dir.path(), Some("w.example"), false).unwrap();
        assert!(created.cosigner && !created.ml_dsa_44);
        assert!(k.ml_dsa_44.is_none());
        let (k, created) = load_or_create_all(dir.path(), Some("w.example"), true).unwrap();
        assert!(!created.cosigner && created.ml_dsa_44);
        let ml = k.ml_dsa_44.unwrap().verifier_key();
        assert_eq!(ml.key_type(), provlog_core::note::SIG_ML_DSA_44);
        assert_eq!(ml.name(), "w.example");
        let path = dir.path().join(ML_DSA_WITNESS_KEY_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Once there, it is used whatever the configuration says.
        let (again, created) = load_or_create_all(dir.path(), None, false).unwrap();
        assert_eq!(created, Created::default());
        assert_eq!(again.ml_dsa_44.as_ref().unwrap().verifier_key(), ml);
        assert_eq!(again.verifier_keys().len(), 2);
        // Readable by others: refused.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(load_or_create_all(dir.path(), None, false).is_err());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        // A key of another type in its place: refused.
        fs::remove_file(&path).unwrap();
        let ed = NoteSigner::generate_cosigner("w.example").unwrap();
        create_key_file(dir.path(), ML_DSA_WITNESS_KEY_FILE, &ed.to_skey()).unwrap();
        assert!(load_or_create_all(dir.path(), None, false).is_err());
        // One named otherwise than the witness: refused.
        fs::remove_file(&path).unwrap();
        let other = MlDsa44NoteSigner::generate("other.example").unwrap();
        create_key_file(dir.path(), ML_DSA_WITNESS_KEY_FILE, &other.to_skey()).unwrap();
        let err = load_or_create_all(dir.path(), None, true).unwrap_err();
        assert!(err.contains("other.example"), "{err}");
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
