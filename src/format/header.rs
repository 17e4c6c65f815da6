//! The file header chunk (tag `H4MK`, always chunk 0 at offset 0).

use crate::format::chunk::{PayloadReader, TAG_HEADER, TAG_META, encode_chunk};
use crate::format::error::{Code, Error, Result};

pub const VERSION_MAJOR: u16 = 1;
pub const VERSION_MINOR: u16 = 0;
pub const HEADER_PAYLOAD_LEN: usize = 8;
/// Length of the whole header chunk on disk: the first META starts at this offset.
pub const HEADER_CHUNK_LEN: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    pub major: u16,
    pub minor: u16,
    /// Reserved, zero in versions 1.0 and 1.1.
    pub flags: u32,
}

impl FileHeader {
    pub const CURRENT: FileHeader = FileHeader {
        major: VERSION_MAJOR,
        minor: VERSION_MINOR,
        flags: 0,
    };

    /// Version 1.1 adds SIGN chunks: a file whose META names a signer says 1.1, any other 1.0.
    pub const SIGNED: FileHeader = FileHeader {
        major: VERSION_MAJOR,
        minor: 1,
        flags: 0,
    };

    pub fn encode_chunk(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(HEADER_PAYLOAD_LEN);
        p.extend_from_slice(&self.major.to_le_bytes());
        p.extend_from_slice(&self.minor.to_le_bytes());
        p.extend_from_slice(&self.flags.to_le_bytes());
        encode_chunk(&TAG_HEADER, &p).expect("header payload is tiny")
    }

    /// Decodes the payload and refuses major versions other than 1.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = PayloadReader::new(payload, "H4MK header");
        let h = FileHeader {
            major: r.u16()?,
            minor: r.u16()?,
            flags: r.u32()?,
        };
        r.finish()?;
        if h.major != VERSION_MAJOR {
            return Err(Error::new(
                Code::FileVersion,
                format!(
                    "file is H4MK version {}.{}; this reader implements {VERSION_MAJOR}.x",
                    h.major, h.minor
                ),
            ));
        }
        Ok(h)
    }
}
/// Whether `first`, the first bytes of an input, can be an H4MK file: it starts with the
/// `H4MK` magic, or META stands at offset 20 where the format puts it (a file whose magic
/// alone is damaged is still H4MK, for verify and repair to report and mend). Empty input is
/// not.
pub fn looks_like_h4mk(first: &[u8]) -> bool {
    let meta_at = HEADER_CHUNK_LEN as usize;
    first.starts_with(&TAG_HEADER) || first.get(meta_at..meta_at + 4) == Some(&TAG_META[..])
}
