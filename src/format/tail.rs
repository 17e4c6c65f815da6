//! TAIL: the fixed-size last chunk that locates SEEK and VERI in one read from the end.

use crate::format::chunk::{CHUNK_HEADER_LEN, PayloadReader, TAG_TAIL, crc_matches, encode_chunk};
use crate::format::error::{Code, Error, Result};

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

    /// Checks the last `TAIL_CHUNK_LEN` bytes of a file of `file_len` bytes: `Ok(None)` when
    /// they are not an intact TAIL (the file was cut short or not finished), an error when
    /// the TAIL does not fit the file, the TAIL when it does.
    pub fn check(chunk: &[u8], file_len: u64) -> Result<Option<Self>> {
        if chunk.len() as u64 != TAIL_CHUNK_LEN || chunk[0..4] != TAG_TAIL || !crc_matches(chunk) {
            return Ok(None);
        }
        let tail = Tail::decode(&chunk[CHUNK_HEADER_LEN..])?;
        let at = file_len.saturating_sub(TAIL_CHUNK_LEN);
        if tail.file_len != file_len
            || tail.seek_offset >= tail.veri_offset
            || tail.veri_offset >= at
        {
            return Err(Error::new(
                Code::TailMismatch,
                format!(
                    "TAIL says the file is {} bytes with SEEK at {} and VERI at {}, but it is {file_len} bytes",
                    tail.file_len, tail.seek_offset, tail.veri_offset
                ),
            ));
        }
        Ok(Some(tail))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_tells_missing_from_wrong_from_right() {
        let t = Tail {
            seek_offset: 100,
            veri_offset: 200,
            file_len: 336,
        };
        let chunk = t.encode_chunk();
        assert_eq!(Tail::check(&chunk, 336).unwrap(), Some(t));
        // Damaged or absent: the file was cut short.
        let mut bad = chunk.clone();
        bad[20] ^= 1;
        assert_eq!(Tail::check(&bad, 336).unwrap(), None);
        assert_eq!(Tail::check(&chunk[..30], 336).unwrap(), None);
        // Intact but not this file's.
        assert_eq!(
            Tail::check(&chunk, 400).unwrap_err().code,
            Code::TailMismatch
        );
        let loop_back = Tail {
            seek_offset: 200,
            veri_offset: 100,
            file_len: 336,
        }
        .encode_chunk();
        assert_eq!(
            Tail::check(&loop_back, 336).unwrap_err().code,
            Code::TailMismatch
        );
        let past = Tail {
            seek_offset: 100,
            veri_offset: 300,
            file_len: 336,
        }
        .encode_chunk();
        assert_eq!(
            Tail::check(&past, 336).unwrap_err().code,
            Code::TailMismatch
        );
    }
}
