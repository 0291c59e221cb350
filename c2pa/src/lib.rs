//! provlog's use of the C2PA SDK (the `c2pa` crate, network and OpenSSL
//! off): everything that touches a C2PA manifest store lives here, so the
//! core stays free of it and the CLI stays thin.
//!
//! - [`read`]: read and validate an asset's manifest store (embedded, or a
//!   `.c2pa` sidecar) and extract what a claim needs: the manifest that
//!   binds the content, its claim hash and hard binding, digital source
//!   type, generator, soft bindings, the SDK's validation verdict, and any
//!   provlog receipts carried in `org.provlog.receipt` assertions.
//! - [`embed`]: add a receipt to an asset as an `org.provlog.receipt`
//!   assertion in a C2PA update manifest, through the SDK's builder.
//!
//! Untrusted input: the manifest store is located by the SDK and its size
//! checked against [`MAX_MANIFEST_STORE`] before the SDK parses it; the SDK's
//! own limit on decompressed (Brotli) manifests is set to the same value.
//! JUMBF boxes are read with the `jumbf` crate (zero-copy, depth-limited),
//! never by hand.

pub mod embed;
pub mod read;

/// Label of the assertion that carries a provlog receipt.
pub const RECEIPT_ASSERTION: &str = "org.provlog.receipt";
/// Largest manifest store read, in bytes (embedded or sidecar).
pub const MAX_MANIFEST_STORE: usize = 16 * 1024 * 1024;

/// What went wrong with a manifest store.
#[derive(Debug, thiserror::Error)]
pub enum C2paError {
    /// The C2PA SDK refused the store or the operation.
    #[error("C2PA SDK: {0}")]
    Sdk(String),
    /// The store is larger than [`MAX_MANIFEST_STORE`].
    #[error("the C2PA manifest store is {size} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The store does not hold what a valid store must (as read with the
    /// SDK and the `jumbf` crate).
    #[error("C2PA manifest store: {0}")]
    Malformed(String),
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(String),
    /// The SDK could not parse the file's container far enough to look for
    /// a manifest store (e.g. a file with an image's magic bytes that is not
    /// a well-formed image). Callers treat it as "no manifest store".
    #[error("the C2PA SDK cannot parse the file to look for a manifest store: {0}")]
    Unreadable(String),
    /// The operation needs something the file does not have.
    #[error("{0}")]
    Unsupported(String),
}

impl From<c2pa::Error> for C2paError {
    fn from(e: c2pa::Error) -> Self {
        C2paError::Sdk(e.to_string())
    }
}

/// Options shared by reading and writing.
#[derive(Clone, Debug, Default)]
pub struct C2paOptions {
    /// Extra trust anchors (PEM bundle) for the signer check; without them
    /// no signer is trusted and a valid manifest is `valid`, not `trusted`.
    pub trust_anchors: Option<String>,
}

impl C2paOptions {
    /// The SDK context: trust anchors, no network, bounded decompression.
    pub fn context(&self) -> Result<c2pa::Context, C2paError> {
        let mut settings = serde_json::json!({
            "verify": {
                "verify_after_reading": true,
                "verify_after_sign": false,
                "ocsp_fetch": false,
                "remote_manifest_fetch": false,
            },
            "core": {
                "max_decompressed_manifest_size_in_mb": MAX_MANIFEST_STORE / (1024 * 1024),
            },
            "builder": {
                "claim_generator_info": {
                    "name": "provlog",
                    "version": env!("CARGO_PKG_VERSION"),
                },
            },
        });
        if let Some(pem) = &self.trust_anchors {
            settings["trust"] = serde_json::json!({ "user_anchors": pem });
        }
        Ok(c2pa::Context::new().with_settings(settings)?)
    }
}

/// Whether the SDK reads (and can embed into) this media type.
pub fn supports_media_type(media_type: &str) -> bool {
    c2pa::Reader::supported_mime_types()
        .iter()
        .any(|m| m.eq_ignore_ascii_case(media_type))
}
