//! Per-block masking behind `h4mask`, free of GStreamer types: the master key and its id, the
//! HKDF-SHA256 key schedule, the clear block header that is also the AEAD's associated data, and
//! sealing / opening in three modes (AES-256-GCM, AES-256-GCM-SIV, and the unauthenticated
//! AES-256-CTR "xor" keystream). docs/MASK.md is the specification.

pub mod block;
pub mod header;
pub mod key;
pub mod params;
pub mod schedule;
pub mod signing;

pub use block::{Opener, Sealer};
pub use header::{BlockFields, MaskHeader};
pub use key::{KeyId, MasterKey};
pub use schedule::Mode;

/// What can go wrong, with stable codes for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A key given inline is malformed (the text never includes key material).
    KeyFormat(String),
    /// A key file cannot be read or is malformed.
    KeyFile(String),
    /// Not a masked block: bad magic, version, mode or lengths.
    Malformed(String),
    /// The block was masked under another key.
    WrongKey { block: KeyId, configured: KeyId },
    /// Authentication failed: the block was altered (or the key is right but the header lies).
    Tampered {
        track: u32,
        index: u64,
        pts: Option<u64>,
    },
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::KeyFormat(_) => "key.format",
            Error::KeyFile(_) => "key.file",
            Error::Malformed(_) => "safe.malformed",
            Error::WrongKey { .. } => "safe.key.wrong",
            Error::Tampered { .. } => "safe.auth.failed",
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::KeyFormat(why) => write!(f, "key: {why}"),
            Error::KeyFile(why) => write!(f, "key file {why}"),
            Error::Malformed(why) => write!(f, "not a masked block: {why}"),
            Error::WrongKey { block, configured } => write!(
                f,
                "block masked with key id {block}, but the configured key has id {configured}"
            ),
            Error::Tampered { track, index, pts } => {
                write!(f, "block {index} of track {track}")?;
                match pts {
                    Some(p) => write!(f, " (PTS {p} ns)")?,
                    None => write!(f, " (no PTS)")?,
                }
                write!(f, " fails authentication: altered, moved or truncated")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Bytes from hex digits, for test vectors.
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}
