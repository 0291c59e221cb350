//! Vendor key files: creation (mode 0600) and loading (refused if others can read it).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use provlog_core::note::NoteSigner;

use crate::atomic::write_new_atomic;
use crate::fail::{Fail, usage};
use crate::out::outln;

/// `provlog keygen`.
pub fn keygen(out: &Path, name: &str, json: bool) -> Result<(), Fail> {
    let signer = NoteSigner::generate(name)
        .map_err(|e| usage(format!("cannot make a key named {name:?}: {e}")))?;
    // Written complete and fsynced, then linked into place: a crash never
    // leaves a partial key, and an existing file is never replaced.
    write_new_atomic(out, format!("{}\n", signer.to_skey()).as_bytes(), 0o600).map_err(|e| {
        format!(
            "cannot create {}: {e} (it is never overwritten)",
            out.display()
        )
    })?;
    eprintln!(
        "wrote private key {} (mode 0600); give the vkey below to log operators",
        out.display()
    );
    let vkey = signer.verifier_key().to_vkey();
    if json {
        outln!(
            "{}",
            serde_json::json!({"vkey": vkey, "key_file": out.display().to_string()})
        );
    } else {
        outln!("{vkey}");
    }
    Ok(())
}

/// `provlog keygen --show KEYFILE`: the vkey of an existing key.
pub fn show(file: &Path, json: bool) -> Result<(), Fail> {
    let vkey = load_key(file)?.verifier_key().to_vkey();
    if json {
        outln!(
            "{}",
            serde_json::json!({"vkey": vkey, "key_file": file.display().to_string()})
        );
    } else {
        outln!("{vkey}");
    }
    Ok(())
}

/// Loads a vendor private key, refusing a file group or others can read.
pub fn load_key(path: &Path) -> Result<NoteSigner, String> {
    let meta =
        fs::metadata(path).map_err(|e| format!("cannot read key {}: {e}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "key file {} is readable by group or others (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read key {}: {e}", path.display()))?;
    NoteSigner::parse_skey(text.trim())
        .map_err(|e| format!("{} is not a provlog key: {e}", path.display()))
}
