//! TAIL: the fixed-size last chunk that locates SEEK and VERI in one read from the end.

use crate::format::chunk::{PayloadReader, TAG_TAIL, encode_chunk};
use crate::format::error::Result;

pub const TAIL_PAYLOAD_LEN: usize = 24;
pub const TAIL_CHUNK_LEN: u64 = 36;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    pub seek_offset: u64,
    pub veri_offset: u64,
    /// Length of the whole file, TAIL included: a reader compares it with what it has.
    pub file_len: u64,
}

impl Tail {
    pub fn encode_chunk(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(TAIL_PAYLOAD_LEN);
        p.extend_from_slice(&self.seek_offset.to_le_bytes());
        p.extend_from_slice(&self.veri_offset.to_le_bytes());
        p.extend_from_slice(&self.file_len.to_le_bytes());
        encode_chunk(&TAG_TAIL, &p).expect("tail payload is tiny")
    }

    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = PayloadReader::new(payload, "TAIL");
        let t = Tail {
            seek_offset: r.u64()?,
            veri_offset: r.u64()?,
            file_len: r.u64()?,
        };
        r.finish()?;
        Ok(t)
    }
}
