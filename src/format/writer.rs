//! The streaming, append-only writer. It never seeks, so it writes to pipes as well as
//! files; memory stays flat apart from the keyframe index and the HASH directory.
//!
//! File order: header, META, then blocks (and META updates) with a HASH checkpoint after
//! every range the checkpoint policy allows, and at `finish`: a last HASH, SEEK, VERI, TAIL.
//! A signing writer follows every HASH and VERI with a SIGN chunk.

use std::collections::BTreeMap;
use std::io::Write;

use crate::crypto::signing::SigningKey;
use crate::format::block::{BLOCK_HEADER_LEN, BlockFlags, BlockHeader, CLIPPING_LEN, Clipping};
use crate::format::chunk::{
    CHUNK_HEADER_LEN, MAX_PAYLOAD, TAG_CORE, TAG_META, TAG_SAFE, Tag, frame,
};
use crate::format::error::{Code, Error, Result};
use crate::format::header::FileHeader;
use crate::format::integrity::{Checkpoint, ChunkDigest, PieceRef, Veri, chunk_digest};
use crate::format::merkle::{Hash, MerkleAccumulator, leaf_hash};
use crate::format::meta::{CheckpointPolicy, Meta, Signer};
use crate::format::seek::SeekIndexBuilder;
use crate::format::signature::{CHAIN_START, Signature, Signed, chain_next};
use crate::format::tail::Tail;

/// Chunk header plus block header: what precedes a block's data (a clipping record adds
/// `CLIPPING_LEN`).
pub const BLOCK_HEAD_LEN: usize = CHUNK_HEADER_LEN + BLOCK_HEADER_LEN;

/// The largest media payload one block can carry (a clipped block's is 20 bytes less).
pub const MAX_BLOCK_DATA: usize = MAX_PAYLOAD as usize - BLOCK_HEADER_LEN;

/// What precedes a block's data in the file: chunk header, block header, clipping record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHead {
    bytes: [u8; BLOCK_HEAD_LEN + CLIPPING_LEN],
    len: usize,
}

impl BlockHead {
    /// Up to 72 bytes taken as a head (for tests of what handles heads).
    pub fn from_slice(b: &[u8]) -> Option<BlockHead> {
        let mut head = BlockHead {
            bytes: [0; BLOCK_HEAD_LEN + CLIPPING_LEN],
            len: b.len(),
        };
        head.bytes.get_mut(..b.len())?.copy_from_slice(b);
        Some(head)
    }
}

impl std::ops::Deref for BlockHead {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// A block to write; the per-track index is assigned by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NewBlock {
    pub track: u32,
    /// Store as SAFE: the data is a masked envelope.
    pub masked: bool,
    pub flags: BlockFlags,
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub duration: Option<u64>,
    /// Stored as a clipping record after the header.
    pub clipping: Option<Clipping>,
}

impl NewBlock {
    /// The block a stored header describes (what repair and readers hand back to a writer).
    pub fn from_header(h: &BlockHeader, masked: bool) -> Self {
        NewBlock {
            track: h.track,
            masked,
            flags: h.flags,
            pts: h.pts,
            dts: h.dts,
            duration: h.duration,
            clipping: h.clipping,
        }
    }
}

/// Where a block went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub chunk: u64,
    pub offset: u64,
    /// Block ordinal in the file (its Merkle leaf index).
    pub leaf: u64,
    /// Index within its track.
    pub index: u64,
}

/// What `finish` wrote.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub bytes: u64,
    pub chunks: u64,
    pub blocks: u64,
    pub keyframes: u64,
    /// HASH checkpoints written.
    pub checkpoints: u64,
    pub root: Hash,
}

/// The chunks since the last HASH checkpoint.
#[derive(Debug, Default)]
struct Range {
    first_chunk: u64,
    first_offset: u64,
    first_leaf: u64,
    /// Leaf hashes of the range's blocks; `None` until supplied (see `write_block_head`).
    leaves: Vec<Option<Hash>>,
    others: Vec<ChunkDigest>,
    block_bytes: u64,
    /// Smallest and largest block time per track: tracks may have different time bases.
    time_spans: BTreeMap<u32, (u64, u64)>,
}

pub struct Writer<W: Write> {
    out: W,
    offset: u64,
    ordinal: u64,
    meta: Meta,
    policy: CheckpointPolicy,
    next_index: BTreeMap<u32, u64>,
    /// Blocks written; the tree only holds those of finished ranges.
    blocks: u64,
    merkle: MerkleAccumulator,
    range: Range,
    pieces: Vec<PieceRef>,
    seek: SeekIndexBuilder,
    broken: bool,
    signer: Option<SigningKey>,
    /// The signing chain over the HASH chunks written so far.
    chain: Hash,
    /// Checkpoints follow META's policy; false when the caller places every one itself.
    by_policy: bool,
}

impl<W: Write> Writer<W> {
    /// Starts a file: writes the header and META.
    pub fn new(out: W, meta: &Meta) -> Result<Self> {
        meta.validate()?;
        Self::start(out, meta.clone(), &meta.to_json())
    }

    /// Starts a file with META bytes kept exactly as given (used by repair).
    pub fn with_meta_json(out: W, json: &[u8]) -> Result<Self> {
        let meta = Meta::from_json(json)?;
        Self::start(out, meta, json)
    }

    fn start(out: W, meta: Meta, json: &[u8]) -> Result<Self> {
        let mut w = Writer {
            out,
            offset: 0,
            ordinal: 0,
            policy: meta.checkpoint,
            next_index: meta.tracks.iter().map(|t| (t.id, 0)).collect(),
            seek: SeekIndexBuilder::new(meta.tracks.iter().map(|t| t.id)),
            meta,
            blocks: 0,
            merkle: MerkleAccumulator::new(),
            range: Range::default(),
            pieces: Vec::new(),
            broken: false,
            signer: None,
            chain: CHAIN_START,
            by_policy: true,
        };
        let header = match w.meta.signer {
            Some(_) => FileHeader::SIGNED,
            None => FileHeader::CURRENT,
        }
        .encode_chunk();
        w.write_other(&header)?;
        w.write_other_parts(&TAG_META, json)?;
        Ok(w)
    }

    /// Signs every HASH checkpoint and VERI from now on with `key`, which META must name as
    /// its signer. Call it before the first checkpoint.
    pub fn sign_with(&mut self, key: SigningKey) -> Result<()> {
        let want = Signer::of(&key.public());
        if self.meta.signer.as_ref() != Some(&want) {
            return Err(Error::new(
                Code::InvalidInput,
                format!(
                    "META names {} as the signer, the key is {}",
                    self.meta
                        .signer
                        .as_ref()
                        .map_or("no key".to_string(), |s| format!("key {}", s.key_id)),
                    want.key_id
                ),
            ));
        }
        if !self.pieces.is_empty() {
            return Err(Error::new(
                Code::InvalidInput,
                "signing must start before the first checkpoint",
            ));
        }
        self.signer = Some(key);
        Ok(())
    }

    /// From now on checkpoints are written only by [`Writer::checkpoint`] (and `finish`): for
    /// rewriting a file with its HASH chunks where they were.
    pub fn checkpoints_on_request_only(&mut self) {
        self.by_policy = false;
    }

    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The output, e.g. to take the bytes written so far out of an in-memory sink.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn check(&self) -> Result<()> {
        if self.broken {
            return Err(Error::new(
                Code::Io,
                "an earlier write failed; the writer cannot continue",
            ));
        }
        Ok(())
    }

    fn emit(&mut self, parts: &[&[u8]]) -> Result<(u64, u64)> {
        self.check()?;
        for p in parts {
            if let Err(e) = self.out.write_all(p) {
                self.broken = true;
                return Err(Error::io(e, "writing H4MK output"));
            }
        }
        let at = (self.ordinal, self.offset);
        self.offset += parts.iter().map(|p| p.len() as u64).sum::<u64>();
        self.ordinal += 1;
        Ok(at)
    }

    /// Writes a complete non-block chunk and accounts for it in the current range.
    fn write_other(&mut self, chunk: &[u8]) -> Result<(u64, u64)> {
        let (ordinal, offset) = self.emit(&[chunk])?;
        let tag: Tag = chunk[0..4].try_into().expect("chunk has a tag");
        self.range.others.push(ChunkDigest {
            ordinal,
            offset,
            tag,
            digest: chunk_digest(&[chunk]),
        });
        Ok((ordinal, offset))
    }

    fn write_other_parts(&mut self, tag: &Tag, payload: &[u8]) -> Result<(u64, u64)> {
        let mut chunk = frame(tag, &[payload])?.encode().to_vec();
        chunk.extend_from_slice(payload);
        self.write_other(&chunk)
    }

    /// Replaces META from here on (tags or caps updates). Track ids must stay the same.
    pub fn write_meta_update(&mut self, meta: &Meta) -> Result<()> {
        meta.validate()?;
        let same_ids = meta.tracks.len() == self.meta.tracks.len()
            && meta
                .tracks
                .iter()
                .all(|t| self.next_index.contains_key(&t.id));
        if !same_ids {
            return Err(Error::new(
                Code::InvalidInput,
                "a META update must declare the same track ids",
            ));
        }
        self.write_other_parts(&TAG_META, &meta.to_json())?;
        self.meta = meta.clone();
        Ok(())
    }

    /// Appends one block with the next index of its track.
    pub fn write_block(&mut self, b: &NewBlock, data: &[u8]) -> Result<Placement> {
        let index = self.next_index.get(&b.track).copied().ok_or_else(|| {
            Error::new(
                Code::InvalidInput,
                format!("track {} is not declared in META", b.track),
            )
        })?;
        self.write_block_at_index(b, index, data)
    }

    /// Appends one block with an explicit per-track index, which must not go backwards
    /// (repair keeps the original indices of the blocks it saves).
    pub fn write_block_at_index(
        &mut self,
        b: &NewBlock,
        index: u64,
        data: &[u8],
    ) -> Result<Placement> {
        let (placement, head) = self.put_block(b, index, data, true)?;
        self.range.leaves.push(Some(leaf_hash(&[&head, data])));
        if self.by_policy && self.checkpoint_due() {
            self.checkpoint()?;
        }
        Ok(placement)
    }

    /// Writes only the 52 header bytes of a block (CRC computed over `data`): the caller must
    /// write `data` to the output itself, right after, before any other call on this writer,
    /// and supply the block's leaf hash with [`Writer::set_leaf`] before the next checkpoint.
    /// This lets a caller hash blocks on other threads and hand payloads on without copying.
    /// No checkpoint is written here: see [`Writer::checkpoint_due`].
    pub fn write_block_head(
        &mut self,
        b: &NewBlock,
        data: &[u8],
    ) -> Result<(Placement, BlockHead)> {
        let index = self.next_index.get(&b.track).copied().ok_or_else(|| {
            Error::new(
                Code::InvalidInput,
                format!("track {} is not declared in META", b.track),
            )
        })?;
        let (placement, head) = self.put_block(b, index, data, false)?;
        self.range.leaves.push(None);
        Ok((placement, head))
    }

    /// Supplies the leaf hash of a block written with [`Writer::write_block_head`].
    pub fn set_leaf(&mut self, leaf: u64, hash: Hash) -> Result<()> {
        let r = &mut self.range;
        let slot = leaf
            .checked_sub(r.first_leaf)
            .and_then(|i| r.leaves.get_mut(i as usize));
        match slot {
            Some(s) => {
                *s = Some(hash);
                Ok(())
            }
            None => Err(Error::new(
                Code::InvalidInput,
                format!("block {leaf} is not waiting for its leaf hash"),
            )),
        }
    }

    /// Whether the checkpoint policy asks for a HASH chunk now.
    pub fn checkpoint_due(&self) -> bool {
        let r = &self.range;
        let span = r
            .time_spans
            .values()
            .map(|(lo, hi)| hi - lo)
            .max()
            .unwrap_or(0);
        !r.leaves.is_empty()
            && (r.leaves.len() as u64 >= u64::from(self.policy.blocks)
                || r.block_bytes >= self.policy.bytes
                || span >= self.policy.span_ns)
    }

    /// Validates and frames a block, writes its headers (and its data when `with_data`), and
    /// records it in the index; returns where it went and its 52 header bytes.
    fn put_block(
        &mut self,
        b: &NewBlock,
        index: u64,
        data: &[u8],
        with_data: bool,
    ) -> Result<(Placement, BlockHead)> {
        self.check()?;
        let next = self.next_index.get(&b.track).copied().ok_or_else(|| {
            Error::new(
                Code::InvalidInput,
                format!("track {} is not declared in META", b.track),
            )
        })?;
        if index < next {
            return Err(Error::new(
                Code::InvalidInput,
                format!(
                    "track {} block index {index} goes backwards (next is {next})",
                    b.track
                ),
            ));
        }
        let header = BlockHeader {
            track: b.track,
            flags: b.flags,
            index,
            pts: b.pts,
            dts: b.dts,
            duration: b.duration,
            clipping: b.clipping,
        };
        let hdr = header.encode();
        let limit = MAX_PAYLOAD as usize - hdr.len();
        if data.len() > limit {
            return Err(Error::new(
                Code::ChunkSizeLimit,
                format!(
                    "track {} block of {} bytes exceeds the {limit}-byte limit",
                    b.track,
                    data.len()
                ),
            ));
        }
        let tag = if b.masked { TAG_SAFE } else { TAG_CORE };
        let ch = frame(&tag, &[&hdr, data])?.encode();
        let mut head = BlockHead {
            bytes: [0; BLOCK_HEAD_LEN + CLIPPING_LEN],
            len: CHUNK_HEADER_LEN + hdr.len(),
        };
        head.bytes[..CHUNK_HEADER_LEN].copy_from_slice(&ch);
        head.bytes[CHUNK_HEADER_LEN..head.len].copy_from_slice(&hdr);
        let (chunk, offset) = if with_data {
            self.emit(&[&head, data])?
        } else {
            let at = self.emit(&[&head])?;
            self.offset += data.len() as u64;
            at
        };
        let ordinal = self.blocks;
        self.blocks += 1;
        self.next_index.insert(b.track, index + 1);
        self.seek.note_block(
            b.track,
            header.time(),
            b.duration,
            b.flags.is_keyframe(),
            offset,
            ordinal,
        );
        let r = &mut self.range;
        r.block_bytes += (head.len() + data.len()) as u64;
        if let Some(t) = header.time() {
            let e = r.time_spans.entry(b.track).or_insert((t, t));
            *e = (e.0.min(t), e.1.max(t));
        }
        Ok((
            Placement {
                chunk,
                offset,
                leaf: ordinal,
                index,
            },
            head,
        ))
    }

    /// Writes a HASH checkpoint for the blocks since the last one (if there are any), and
    /// flushes: everything before it is then verifiable even if the file is cut right after.
    pub fn checkpoint(&mut self) -> Result<()> {
        if self.range.leaves.is_empty() {
            return Ok(());
        }
        let leaves: Vec<Hash> = match self
            .range
            .leaves
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()
        {
            Some(l) => l,
            None => {
                let missing = self
                    .range
                    .leaves
                    .iter()
                    .position(Option::is_none)
                    .unwrap_or(0) as u64
                    + self.range.first_leaf;
                return Err(Error::new(
                    Code::InvalidInput,
                    format!("the leaf hash of block {missing} was not supplied"),
                ));
            }
        };
        for l in &leaves {
            self.merkle.push(*l);
        }
        let range = std::mem::take(&mut self.range);
        let cp = Checkpoint {
            first_chunk: range.first_chunk,
            first_offset: range.first_offset,
            first_leaf: range.first_leaf,
            root: self.merkle.root(),
            others: range.others,
            leaves,
        };
        let chunk = cp.encode_chunk()?;
        let (ordinal, offset) = self.emit(&[&chunk])?;
        self.pieces.push(PieceRef {
            first_leaf: cp.first_leaf,
            ordinal,
            offset,
        });
        self.range = Range {
            first_chunk: self.ordinal,
            first_offset: self.offset,
            first_leaf: self.merkle.count(),
            ..Range::default()
        };
        if let Some(sig) = self.signature(Signed::Checkpoint, ordinal, offset, &chunk) {
            // In the next range, listed like any other non-block chunk.
            self.write_other(&sig.encode_chunk())?;
        }
        self.flush()
    }

    /// The SIGN for the HASH or VERI chunk just written (`None` when not signing).
    fn signature(
        &mut self,
        signed: Signed,
        ordinal: u64,
        offset: u64,
        chunk: &[u8],
    ) -> Option<Signature> {
        let key = self.signer.as_ref()?;
        self.chain = chain_next(&self.chain, &[chunk]);
        Some(Signature::sign(
            key,
            signed,
            ordinal,
            offset,
            self.merkle.count(),
            self.merkle.root(),
            self.chain,
        ))
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| {
            self.broken = true;
            Error::io(e, "flushing H4MK output")
        })
    }

    /// Writes the last checkpoint, SEEK, VERI (and its SIGN) and TAIL, and returns the output.
    pub fn finish(mut self) -> Result<(W, Summary)> {
        self.checkpoint()?;
        let seek = self.seek.encode_chunk()?;
        let (_, seek_offset) = self.write_other(&seek)?;
        let range = std::mem::take(&mut self.range);
        let veri = Veri {
            leaf_count: self.merkle.count(),
            covered_len: self.offset,
            first_chunk: range.first_chunk,
            first_offset: range.first_offset,
            root: self.merkle.root(),
            others: range.others,
            pieces: std::mem::take(&mut self.pieces),
        };
        let veri_chunk = veri.encode_chunk()?;
        let (veri_ordinal, veri_offset) = self.emit(&[&veri_chunk])?;
        if let Some(sig) = self.signature(Signed::Veri, veri_ordinal, veri_offset, &veri_chunk) {
            self.emit(&[&sig.encode_chunk()])?;
        }
        let tail = Tail {
            seek_offset,
            veri_offset,
            file_len: self.offset + crate::format::tail::TAIL_CHUNK_LEN,
        };
        self.emit(&[&tail.encode_chunk()])?;
        self.flush()?;
        let summary = Summary {
            bytes: self.offset,
            chunks: self.ordinal,
            blocks: self.merkle.count(),
            keyframes: self.seek.entry_count() as u64,
            checkpoints: veri.pieces.len() as u64,
            root: veri.root,
        };
        Ok((self.out, summary))
    }
}
