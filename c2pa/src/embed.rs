//! Putting a provlog receipt inside the asset: an `org.provlog.receipt`
//! assertion (CBOR: a byte string holding the receipt, spec/receipt.md) in a
//! C2PA **update manifest** written by the SDK's builder, signed with the
//! vendor's C2PA credential. An update manifest adds no hard binding; the
//! SDK keeps validating the parent manifest's hard binding over the file,
//! so the file still validates in any C2PA validator and the claim's hard
//! binding still matches (spec/claim.md §5).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use c2pa::{Builder, BuilderIntent, SigningAlg};

use crate::read::{ManifestFacts, read_manifest};
use crate::{C2paError, C2paOptions, RECEIPT_ASSERTION};

/// A C2PA signing credential: certificate chain and private key (PEM).
pub struct C2paSigner {
    signer: c2pa::BoxedSigner,
}

impl C2paSigner {
    /// Loads a credential. `alg` is a C2PA signature algorithm name
    /// (`es256`, `es384`, `es512`, `ps256`, `ps384`, `ps512`, `ed25519`).
    pub fn from_pem(cert_chain: &[u8], private_key: &[u8], alg: &str) -> Result<Self, C2paError> {
        let alg: SigningAlg = alg.parse().map_err(|_| {
            C2paError::Unsupported(format!(
                "unknown C2PA signing algorithm {alg:?} (es256, es384, es512, ps256, ps384, \
                 ps512, ed25519)"
            ))
        })?;
        let signer = c2pa::create_signer::from_keys(cert_chain, private_key, alg, None)?;
        Ok(C2paSigner { signer })
    }

    /// Loads a credential from files.
    pub fn from_files(cert: &Path, key: &Path, alg: &str) -> Result<Self, C2paError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| C2paError::Io(format!("cannot read {}: {e}", p.display())))
        };
        Self::from_pem(&read(cert)?, &read(key)?, alg)
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".provlog-embed.tmp");
    path.with_file_name(name)
}

/// Adds `receipt` to the manifest store of `path` (media type
/// `media_type`) as an update manifest, replacing the file atomically.
///
/// The new file is written next to the old one, read back with the SDK
/// (the receipt must be there and the hard binding must still verify), made
/// durable, and only then renamed over the original; on any failure the
/// original is untouched. Returns what the SDK reads from the new file.
pub fn embed_receipt(
    path: &Path,
    media_type: &str,
    receipt: &[u8],
    signer: &C2paSigner,
    opts: &C2paOptions,
) -> Result<ManifestFacts, C2paError> {
    let before = read_manifest(path, media_type, opts)?.ok_or_else(|| {
        C2paError::Unsupported(format!(
            "{} has no C2PA manifest to update: --embed adds the receipt to an existing manifest \
             store (sign the asset with C2PA first, or use the sidecar receipt)",
            path.display()
        ))
    })?;
    if !before.embedded {
        return Err(C2paError::Unsupported(format!(
            "{}'s manifest store is a .c2pa sidecar; --embed writes into a manifest store \
             embedded in the file",
            path.display()
        )));
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut builder = Builder::from_context(opts.context()?);
        builder.set_intent(BuilderIntent::Update);
        builder.add_assertion(RECEIPT_ASSERTION, &serde_bytes::Bytes::new(receipt))?;
        let mut source = File::open(path)
            .map_err(|e| C2paError::Io(format!("cannot open {}: {e}", path.display())))?;
        let mut dest = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| C2paError::Io(format!("cannot create {}: {e}", tmp.display())))?;
        builder.sign(signer.signer.as_ref(), media_type, &mut source, &mut dest)?;
        dest.flush()
            .and_then(|()| dest.sync_all())
            .map_err(|e| C2paError::Io(format!("cannot write {}: {e}", tmp.display())))?;
        drop(dest);
        let after = read_manifest(&tmp, media_type, opts)?
            .ok_or_else(|| C2paError::Malformed("the written file has no manifest store".into()))?;
        if !after.receipts.iter().any(|r| r == receipt) {
            return Err(C2paError::Malformed(
                "the written manifest store does not carry the receipt".into(),
            ));
        }
        if after.binding_manifest != before.binding_manifest
            || after.hard_binding != before.hard_binding
            || (before.hard_binding_verified && !after.hard_binding_verified)
        {
            return Err(C2paError::Malformed(format!(
                "after the update the hard binding no longer verifies (SDK: {})",
                after.codes()
            )));
        }
        std::fs::rename(&tmp, path)
            .map_err(|e| C2paError::Io(format!("cannot replace {}: {e}", path.display())))?;
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(after)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
