//! Chunk framing: `tag[4] | size u32 LE | crc32 u32 LE | payload[size]`.
//!
//! The CRC32 (IEEE 802.3, as `crc32fast` computes it) covers the tag, the size field and the
//! payload: every byte of a chunk except the CRC field itself.

use crate::format::error::{Code, Error, Result};

pub type Tag = [u8; 4];

/// The file header chunk; its tag doubles as the file magic.
pub const TAG_HEADER: Tag = *b"H4MK";
pub const TAG_META: Tag = *b"META";
pub const TAG_CORE: Tag = *b"CORE";
pub const TAG_SAFE: Tag = *b"SAFE";
pub const TAG_HASH: Tag = *b"HASH";
pub const TAG_SEEK: Tag = *b"SEEK";
pub const TAG_VERI: Tag = *b"VERI";
pub const TAG_TAIL: Tag = *b"TAIL";
pub const TAG_SIGN: Tag = *b"SIGN";

pub const KNOWN_TAGS: [Tag; 9] = [
    TAG_HEADER, TAG_META, TAG_CORE, TAG_SAFE, TAG_HASH, TAG_SEEK, TAG_VERI, TAG_TAIL, TAG_SIGN,
];

pub const CHUNK_HEADER_LEN: usize = 12;

pub use crate::format::limits::MAX_PAYLOAD;

pub fn is_known_tag(tag: &[u8]) -> bool {
    KNOWN_TAGS.iter().any(|t| t == tag)
}

pub fn is_block_tag(tag: &Tag) -> bool {
    *tag == TAG_CORE || *tag == TAG_SAFE
}

/// Printable form of a tag for messages (`"CORE"`, or escaped bytes when it is not ASCII).
pub fn tag_name(tag: &Tag) -> String {
    tag.iter()
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkHeader {
    pub tag: Tag,
    pub size: u32,
    pub crc: u32,
}

impl ChunkHeader {
    pub fn parse(bytes: &[u8; CHUNK_HEADER_LEN]) -> Self {
        ChunkHeader {
            tag: [bytes[0], bytes[1], bytes[2], bytes[3]],
            size: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            crc: u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
        }
    }

    pub fn encode(&self) -> [u8; CHUNK_HEADER_LEN] {
        let mut out = [0u8; CHUNK_HEADER_LEN];
        out[0..4].copy_from_slice(&self.tag);
        out[4..8].copy_from_slice(&self.size.to_le_bytes());
        out[8..12].copy_from_slice(&self.crc.to_le_bytes());
        out
    }

    /// Total length of the chunk on disk.
    pub fn chunk_len(&self) -> u64 {
        CHUNK_HEADER_LEN as u64 + u64::from(self.size)
    }

    /// Whether `payload` is this header's: of the declared size, with the stored CRC.
    pub fn matches(&self, payload: &[u8]) -> bool {
        payload.len() == self.size as usize
            && chunk_crc(&self.tag, self.size, &[payload]) == self.crc
    }
}

/// CRC32 of a chunk whose payload is the concatenation of `parts`.
pub fn chunk_crc(tag: &Tag, size: u32, parts: &[&[u8]]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(tag);
    h.update(&size.to_le_bytes());
    for p in parts {
        h.update(p);
    }
    h.finalize()
}

/// The 12-byte header for a chunk whose payload is the concatenation of `parts`.
pub fn frame(tag: &Tag, parts: &[&[u8]]) -> Result<ChunkHeader> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let size = u32::try_from(len)
        .ok()
        .filter(|s| *s <= MAX_PAYLOAD)
        .ok_or_else(|| {
            Error::new(
                Code::ChunkSizeLimit,
                format!(
                    "{} payload of {len} bytes exceeds the {MAX_PAYLOAD}-byte limit",
                    tag_name(tag)
                ),
            )
        })?;
    Ok(ChunkHeader {
        tag: *tag,
        size,
        crc: chunk_crc(tag, size, parts),
    })
}

/// A whole encoded chunk in memory (for the small, non-block chunks).
pub fn encode_chunk(tag: &Tag, payload: &[u8]) -> Result<Vec<u8>> {
    let header = frame(tag, &[payload])?;
    let mut out = Vec::with_capacity(CHUNK_HEADER_LEN + payload.len());
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Checks the CRC of a complete chunk held in memory.
pub fn crc_matches(chunk: &[u8]) -> bool {
    let Some(head) = chunk.first_chunk::<CHUNK_HEADER_LEN>() else {
        return false;
    };
    let h = ChunkHeader::parse(head);
    chunk_crc(&h.tag, h.size, &[&chunk[CHUNK_HEADER_LEN..]]) == h.crc
}

/// Little-endian cursor over a chunk payload; every read is bounds-checked and reports
/// `chunk.malformed` naming the chunk type.
pub struct PayloadReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> PayloadReader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        PayloadReader {
            bytes,
            pos: 0,
            what,
        }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| {
                Error::new(
                    Code::ChunkMalformed,
                    format!(
                        "{} payload ends at byte {} but {n} more were needed at {}",
                        self.what,
                        self.bytes.len(),
                        self.pos
                    ),
                )
            })?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Fails unless every byte was consumed (trailing garbage is damage, not slack).
    pub fn finish(self) -> Result<()> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(Error::new(
                Code::ChunkMalformed,
                format!(
                    "{} payload has {} unexpected trailing bytes",
                    self.what,
                    self.bytes.len() - self.pos
                ),
            ))
        }
    }

    /// Checks that `count` records of `size` bytes fit in what is left, before any allocation.
    pub fn expect_records(&self, count: u64, size: usize) -> Result<usize> {
        let need = count.checked_mul(size as u64);
        match need {
            Some(n) if n <= self.remaining() as u64 => Ok(count as usize),
            _ => Err(Error::new(
                Code::ChunkMalformed,
                format!(
                    "{} declares {count} records of {size} bytes but has {} bytes left",
                    self.what,
                    self.remaining()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_covers_tag_size_and_payload() {
        let chunk = encode_chunk(&TAG_META, b"{}").unwrap();
        assert_eq!(&chunk[0..4], b"META");
        assert_eq!(&chunk[4..8], &2u32.to_le_bytes());
        assert!(crc_matches(&chunk));
        for i in (0..chunk.len()).filter(|i| !(8..12).contains(i)) {
            let mut bad = chunk.clone();
            bad[i] ^= 0x01;
            assert!(!crc_matches(&bad), "flip at {i} went unnoticed");
        }
        // Same bytes as hashing the whole thing minus the CRC field.
        let mut h = crc32fast::Hasher::new();
        h.update(b"META");
        h.update(&[2, 0, 0, 0]);
        h.update(b"{}");
        assert_eq!(
            u32::from_le_bytes(chunk[8..12].try_into().unwrap()),
            h.finalize()
        );
    }

    #[test]
    fn payload_reader_refuses_overreads_and_garbage() {
        let mut r = PayloadReader::new(&[1, 0, 0, 0, 9], "TEST");
        assert_eq!(r.u32().unwrap(), 1);
        assert_eq!(r.u32().unwrap_err().code, Code::ChunkMalformed);
        assert_eq!(r.finish().unwrap_err().code, Code::ChunkMalformed);
        let r = PayloadReader::new(&[0; 8], "TEST");
        assert!(r.expect_records(u64::MAX, 32).is_err());
        assert_eq!(r.expect_records(2, 4).unwrap(), 2);
    }
}
