//! HASH checkpoints and the VERI chunk.
//!
//! Chunks are accounted for in consecutive ordinal ranges. A HASH chunk covers the range of
//! chunks since the previous HASH chunk (or the file start): it lists the leaf hash of every
//! block chunk in the range, the SHA-256 of every other chunk in it, and the running Merkle
//! root over all blocks so far. VERI covers the last range (normally just SEEK), holds the
//! final root and the directory of HASH chunks (the leaf table, in pieces).

use sha2::{Digest, Sha256};

use crate::format::chunk::{
    CHUNK_HEADER_LEN, ChunkHeader, PayloadReader, TAG_HASH, TAG_VERI, Tag, encode_chunk, tag_name,
};
use crate::format::error::{Code, Error, Result};
use crate::format::merkle::Hash;

pub const CHECKPOINT_FIXED_LEN: usize = 64;
pub const DIGEST_RECORD_LEN: usize = 56;
pub const LEAF_LEN: usize = 32;
pub const VERI_FIXED_LEN: usize = 72;
pub const PIECE_RECORD_LEN: usize = 24;

/// SHA-256 of a whole non-block chunk as stored (header and payload), given in consecutive parts.
pub fn chunk_digest(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The digest of one non-block chunk in a covered range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkDigest {
    pub ordinal: u64,
    pub offset: u64,
    pub tag: Tag,
    pub digest: Hash,
}

impl ChunkDigest {
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ordinal.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.tag);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.digest);
    }
    fn decode(r: &mut PayloadReader) -> Result<Self> {
        let ordinal = r.u64()?;
        let offset = r.u64()?;
        let tag = r.array::<4>()?;
        r.take(4)?;
        Ok(ChunkDigest {
            ordinal,
            offset,
            tag,
            digest: r.array()?,
        })
    }
}

/// The fixed 64 bytes that start a HASH payload: enough to find one stored leaf without
/// reading the chunk (the reader's seek check reads only these and the leaf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointFixed {
    pub first_chunk: u64,
    pub first_offset: u64,
    pub first_leaf: u64,
    pub leaf_count: u32,
    pub other_count: u32,
    pub root: Hash,
}

impl CheckpointFixed {
    fn read(r: &mut PayloadReader) -> Result<Self> {
        Ok(CheckpointFixed {
            first_chunk: r.u64()?,
            first_offset: r.u64()?,
            first_leaf: r.u64()?,
            leaf_count: r.u32()?,
            other_count: r.u32()?,
            root: r.array()?,
        })
    }

    /// Decodes the chunk header and fixed bytes of a HASH chunk, checking the tag and that the
    /// counts fill exactly the size the header declares.
    pub fn decode(bytes: &[u8; CHUNK_HEADER_LEN + CHECKPOINT_FIXED_LEN]) -> Result<Self> {
        let h = ChunkHeader::parse(bytes[..CHUNK_HEADER_LEN].try_into().expect("12 bytes"));
        let fixed = Self::read(&mut PayloadReader::new(&bytes[CHUNK_HEADER_LEN..], "HASH"))?;
        let size = CHECKPOINT_FIXED_LEN as u64
            + u64::from(fixed.other_count) * DIGEST_RECORD_LEN as u64
            + u64::from(fixed.leaf_count) * LEAF_LEN as u64;
        if h.tag != TAG_HASH || size != u64::from(h.size) {
            return Err(Error::new(
                Code::ChunkMalformed,
                format!(
                    "a {} chunk of {} bytes where a HASH chunk of {size} was expected",
                    tag_name(&h.tag),
                    h.size
                ),
            ));
        }
        Ok(fixed)
    }

    /// Where leaf `leaf` is stored, in a HASH chunk at `chunk_offset` starting with these
    /// fixed bytes; `None` when the chunk does not hold it.
    pub fn leaf_offset(&self, chunk_offset: u64, leaf: u64) -> Option<u64> {
        let i = leaf.checked_sub(self.first_leaf)?;
        (i < u64::from(self.leaf_count)).then(|| {
            chunk_offset
                + (CHUNK_HEADER_LEN + CHECKPOINT_FIXED_LEN) as u64
                + u64::from(self.other_count) * DIGEST_RECORD_LEN as u64
                + i * LEAF_LEN as u64
        })
    }
}

/// A HASH chunk: one piece of the leaf table plus the accounting of its chunk range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Ordinal of the first chunk of the covered range.
    pub first_chunk: u64,
    /// Byte offset of that chunk.
    pub first_offset: u64,
    /// Leaf index (block ordinal) of the first block in the range.
    pub first_leaf: u64,
    /// Merkle root over leaves `0 .. first_leaf + leaves.len()`.
    pub root: Hash,
    pub others: Vec<ChunkDigest>,
    pub leaves: Vec<Hash>,
}

impl Checkpoint {
    /// Ordinal this HASH chunk itself must have: the chunk right after its range.
    pub fn own_ordinal(&self) -> u64 {
        self.first_chunk + self.leaves.len() as u64 + self.others.len() as u64
    }

    pub fn encode_chunk(&self) -> Result<Vec<u8>> {
        let mut p = Vec::with_capacity(
            CHECKPOINT_FIXED_LEN
                + self.others.len() * DIGEST_RECORD_LEN
                + self.leaves.len() * LEAF_LEN,
        );
        p.extend_from_slice(&self.first_chunk.to_le_bytes());
        p.extend_from_slice(&self.first_offset.to_le_bytes());
        p.extend_from_slice(&self.first_leaf.to_le_bytes());
        p.extend_from_slice(&(self.leaves.len() as u32).to_le_bytes());
        p.extend_from_slice(&(self.others.len() as u32).to_le_bytes());
        p.extend_from_slice(&self.root);
        for o in &self.others {
            o.encode_into(&mut p);
        }
        for l in &self.leaves {
            p.extend_from_slice(l);
        }
        encode_chunk(&TAG_HASH, &p)
    }

    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = PayloadReader::new(payload, "HASH");
        let CheckpointFixed {
            first_chunk,
            first_offset,
            first_leaf,
            leaf_count,
            other_count,
            root,
        } = CheckpointFixed::read(&mut r)?;
        let others = (0..r.expect_records(other_count.into(), DIGEST_RECORD_LEN)?)
            .map(|_| ChunkDigest::decode(&mut r))
            .collect::<Result<Vec<_>>>()?;
        let leaves = (0..r.expect_records(leaf_count.into(), LEAF_LEN)?)
            .map(|_| r.array())
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(Checkpoint {
            first_chunk,
            first_offset,
            first_leaf,
            root,
            others,
            leaves,
        })
    }
}

/// Where a HASH chunk is, for finding a block's leaf hash after a seek.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceRef {
    pub first_leaf: u64,
    pub ordinal: u64,
    pub offset: u64,
}

/// The VERI chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veri {
    /// Number of block chunks (Merkle leaves) in the file.
    pub leaf_count: u64,
    /// Bytes `0 .. covered_len` are accounted for; equals the offset of this VERI chunk.
    pub covered_len: u64,
    /// First chunk of the last range (after the last HASH chunk).
    pub first_chunk: u64,
    pub first_offset: u64,
    pub root: Hash,
    /// Digests of the chunks in the last range (normally just SEEK).
    pub others: Vec<ChunkDigest>,
    /// Every HASH chunk of the file, in order.
    pub pieces: Vec<PieceRef>,
}

impl Veri {
    pub fn own_ordinal(&self) -> u64 {
        self.first_chunk + self.others.len() as u64
    }

    pub fn encode_chunk(&self) -> Result<Vec<u8>> {
        let mut p = Vec::with_capacity(
            VERI_FIXED_LEN
                + self.others.len() * DIGEST_RECORD_LEN
                + self.pieces.len() * PIECE_RECORD_LEN,
        );
        p.extend_from_slice(&self.leaf_count.to_le_bytes());
        p.extend_from_slice(&self.covered_len.to_le_bytes());
        p.extend_from_slice(&self.first_chunk.to_le_bytes());
        p.extend_from_slice(&self.first_offset.to_le_bytes());
        p.extend_from_slice(&(self.others.len() as u32).to_le_bytes());
        p.extend_from_slice(&(self.pieces.len() as u32).to_le_bytes());
        p.extend_from_slice(&self.root);
        for o in &self.others {
            o.encode_into(&mut p);
        }
        for piece in &self.pieces {
            p.extend_from_slice(&piece.first_leaf.to_le_bytes());
            p.extend_from_slice(&piece.ordinal.to_le_bytes());
            p.extend_from_slice(&piece.offset.to_le_bytes());
        }
        encode_chunk(&TAG_VERI, &p)
    }

    pub fn decode(payload: &[u8]) -> Result<Self> {
        let mut r = PayloadReader::new(payload, "VERI");
        let leaf_count = r.u64()?;
        let covered_len = r.u64()?;
        let first_chunk = r.u64()?;
        let first_offset = r.u64()?;
        let other_count = r.u32()?;
        let piece_count = r.u32()?;
        let root = r.array()?;
        let others = (0..r.expect_records(other_count.into(), DIGEST_RECORD_LEN)?)
            .map(|_| ChunkDigest::decode(&mut r))
            .collect::<Result<Vec<_>>>()?;
        let pieces = (0..r.expect_records(piece_count.into(), PIECE_RECORD_LEN)?)
            .map(|_| {
                Ok(PieceRef {
                    first_leaf: r.u64()?,
                    ordinal: r.u64()?,
                    offset: r.u64()?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(Veri {
            leaf_count,
            covered_len,
            first_chunk,
            first_offset,
            root,
            others,
            pieces,
        })
    }

    /// The HASH chunk holding the leaf of block ordinal `leaf`, by binary search.
    pub fn piece_for_leaf(&self, leaf: u64) -> Option<&PieceRef> {
        if leaf >= self.leaf_count {
            return None;
        }
        let i = self.pieces.partition_point(|p| p.first_leaf <= leaf);
        i.checked_sub(1).map(|i| &self.pieces[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::chunk::{CHUNK_HEADER_LEN, TAG_META};

    #[test]
    fn checkpoint_and_veri_round_trip() {
        let cp = Checkpoint {
            first_chunk: 0,
            first_offset: 0,
            first_leaf: 0,
            root: [7; 32],
            others: vec![ChunkDigest {
                ordinal: 1,
                offset: 20,
                tag: TAG_META,
                digest: [9; 32],
            }],
            leaves: vec![[1; 32], [2; 32]],
        };
        let bytes = cp.encode_chunk().unwrap();
        assert_eq!(
            bytes.len(),
            CHUNK_HEADER_LEN + CHECKPOINT_FIXED_LEN + DIGEST_RECORD_LEN + 2 * LEAF_LEN
        );
        assert_eq!(Checkpoint::decode(&bytes[CHUNK_HEADER_LEN..]).unwrap(), cp);
        assert_eq!(cp.own_ordinal(), 3);

        let v = Veri {
            leaf_count: 5,
            covered_len: 999,
            first_chunk: 9,
            first_offset: 900,
            root: [3; 32],
            others: vec![],
            pieces: vec![
                PieceRef {
                    first_leaf: 0,
                    ordinal: 4,
                    offset: 100,
                },
                PieceRef {
                    first_leaf: 3,
                    ordinal: 8,
                    offset: 500,
                },
            ],
        };
        let bytes = v.encode_chunk().unwrap();
        assert_eq!(Veri::decode(&bytes[CHUNK_HEADER_LEN..]).unwrap(), v);
        assert_eq!(v.piece_for_leaf(2).unwrap().offset, 100);
        assert_eq!(v.piece_for_leaf(3).unwrap().offset, 500);
        assert_eq!(v.piece_for_leaf(4).unwrap().offset, 500);
        assert!(v.piece_for_leaf(5).is_none());
    }

    #[test]
    fn absurd_counts_are_refused_before_allocating() {
        let mut p = vec![0u8; CHECKPOINT_FIXED_LEN];
        p[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Checkpoint::decode(&p).is_err());
    }
}
