//! Why a command failed, and its exit status.
//!
//! | exit | kind | meaning |
//! |---|---|---|
//! | 0 | | everything asked succeeded and verified |
//! | 1 | `not-verified` | a check ran and failed: tampered file, bad proof or signature, wrong log key, inconsistent log, no claim found |
//! | 2 | `usage` | bad arguments (unknown flag, malformed vkey, hex or URL) |
//! | 3 | `could-not-check` | the check could not be made: log unreachable or failing, missing receipt, file or key unreadable, other I/O |
//! | 4 | `refused` | the log refused the request (4xx: key not accepted, invalid claim) |
//! | 130, 143 | `interrupted` | stopped by SIGINT / SIGTERM (128 + signal); re-running resumes |

use provlog_client::http::HttpError;

/// The kind of a failure; each has its own exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A verification ran and failed.
    NotVerified,
    /// Bad arguments.
    Usage,
    /// The check could not be made (network, missing file, I/O).
    CouldNotCheck,
    /// The log refused the request.
    Refused,
    /// Stopped by a signal (its number).
    Interrupted(i32),
}

impl Kind {
    /// The process exit status.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::NotVerified => 1,
            Kind::Usage => 2,
            Kind::CouldNotCheck => 3,
            Kind::Refused => 4,
            Kind::Interrupted(sig) => u8::try_from(128 + sig).unwrap_or(130),
        }
    }

    /// The name used in `--json` errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NotVerified => "not-verified",
            Kind::Usage => "usage",
            Kind::CouldNotCheck => "could-not-check",
            Kind::Refused => "refused",
            Kind::Interrupted(_) => "interrupted",
        }
    }

    /// Which of two kinds a summary reports: a verification failure first,
    /// then a refusal, then a failure to check.
    pub fn worst(self, other: Kind) -> Kind {
        let rank = |k: Kind| match k {
            Kind::Interrupted(_) => 4,
            Kind::NotVerified => 3,
            Kind::Refused => 2,
            Kind::Usage => 1,
            Kind::CouldNotCheck => 0,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// A failed command: what to print and how to exit.
#[derive(Debug)]
pub struct Fail {
    /// The kind (exit status).
    pub kind: Kind,
    /// The message, naming the cause in words.
    pub message: String,
    /// Whether the command already printed its own `--json` lines for it.
    pub reported: bool,
}

impl Fail {
    /// A failure of kind `kind`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Fail {
        Fail {
            kind,
            message: message.into(),
            reported: false,
        }
    }

    /// The same failure, its `--json` output already printed.
    pub fn reported(mut self) -> Fail {
        self.reported = true;
        self
    }

    /// The same failure with `context: ` in front of the message.
    pub fn context(mut self, context: impl std::fmt::Display) -> Fail {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// The error as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.message,
            "kind": self.kind.as_str(),
            "exit": self.kind.exit_code(),
        })
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Unclassified failures are failures to check (I/O and the like).
impl From<String> for Fail {
    fn from(message: String) -> Fail {
        Fail::new(Kind::CouldNotCheck, message)
    }
}

impl From<&str> for Fail {
    fn from(message: &str) -> Fail {
        Fail::new(Kind::CouldNotCheck, message)
    }
}

/// For code that still reports failures as `String` (the kind is lost:
/// such a failure exits 3).
impl From<Fail> for String {
    fn from(f: Fail) -> String {
        f.message
    }
}

/// The kind of a failed call to the log.
pub fn http_kind(e: &HttpError) -> Kind {
    match e {
        HttpError::BadUrl { .. } => Kind::Usage,
        HttpError::Status { status, .. } if *status == 429 || *status == 408 || *status >= 500 => {
            Kind::CouldNotCheck
        }
        HttpError::Status { .. } => Kind::Refused,
        HttpError::Checkpoint(_) | HttpError::Receipt(_) => Kind::NotVerified,
        HttpError::Transport { .. }
        | HttpError::TooLarge { .. }
        | HttpError::BadResponse { .. } => Kind::CouldNotCheck,
    }
}

impl From<HttpError> for Fail {
    fn from(e: HttpError) -> Fail {
        Fail::new(http_kind(&e), e.to_string())
    }
}

/// A verification failure (exit 1).
pub fn not_verified(message: impl Into<String>) -> Fail {
    Fail::new(Kind::NotVerified, message)
}

/// Bad arguments (exit 2).
pub fn usage(message: impl Into<String>) -> Fail {
    Fail::new(Kind::Usage, message)
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let kinds = [
            Kind::NotVerified,
            Kind::Usage,
            Kind::CouldNotCheck,
            Kind::Refused,
            Kind::Interrupted(2),
        ];
        let codes: Vec<u8> = kinds.iter().map(|k| k.exit_code()).collect();
        assert_eq!(codes, vec![1, 2, 3, 4, 130]);
        assert_eq!(Kind::Interrupted(15).exit_code(), 143);
        assert_eq!(
            Kind::CouldNotCheck.worst(Kind::NotVerified),
            Kind::NotVerified
        );
        assert_eq!(Kind::NotVerified.worst(Kind::Refused), Kind::NotVerified);
    }
}
