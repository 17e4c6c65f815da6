//! Full verification of a file in one sequential pass: every chunk's CRC, every block's leaf
//! against its HASH chunk, every non-block chunk's digest, the running and final Merkle
//! roots, SEEK against the blocks, TAIL against where SEEK and VERI really are, and each SIGN
//! against the chunk it signs, the signing chain and META's signer.
//!
//! Verification keeps going after a failure and lists every finding. A damaged chunk is
//! reported once (by the scanner); the checks that depend on it are skipped rather than
//! reported again, so each finding names a distinct problem.
//!
//! A capture of a live stream (see [`crate::format::capture`]) is recognised at its first HASH
//! or VERI: the blocks it holds are checked against the leaves listed for them, its chunks
//! against the digests, SEEK and TAIL against where the capture holds them; the running roots,
//! which need the blocks before the join, cannot be. A signed stream's first SIGN in the capture
//! anchors the signing chain, so every later signature vouches for the chunks after it.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use crate::crypto::signing::PublicKey;
use crate::format::capture::{BEFORE_JOIN, Rebase, STREAM_HEADER_CHUNKS};
use crate::format::chunk::{
    CHUNK_HEADER_LEN, ChunkHeader, TAG_HEADER, TAG_META, TAG_SEEK, Tag, tag_name,
};
use crate::format::error::{Code, Error, Result};
use crate::format::header::HEADER_CHUNK_LEN as META_OFFSET;
use crate::format::integrity::{Checkpoint, ChunkDigest, PieceRef, Veri, chunk_digest};
use crate::format::item::{Item, decode};
use crate::format::merkle::{Hash, MerkleAccumulator, hex, leaf_hash};
use crate::format::meta::Meta;
use crate::format::scan::{RawChunk, Scanner, Step, drive};
use crate::format::seek::{SeekIndexBuilder, SeekTable};
use crate::format::signature::{Signature, Signed, chain_next};
use crate::format::tail::Tail;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Error>,
    pub bytes: u64,
    pub chunks: u64,
    pub blocks: u64,
    pub checkpoints: u64,
    /// Bytes `0 .. verified_through` are covered by a HASH or VERI chunk that checked out.
    pub verified_through: u64,
    /// The final Merkle root, when VERI was found and matched.
    pub root: Option<Hash>,
    /// How far the file is signed: its last SIGN that checked out.
    pub signed: Option<SignedThrough>,
    /// The file is a capture of a live stream that began after the sender's: where it joined.
    pub joined: Option<Joined>,
}

/// Where a capture joined the sender's stream, in the sender's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// The sender's chunk ordinal of the capture's first chunk after the stream header.
    pub chunk: u64,
    /// The capture's offset of that chunk.
    pub offset: u64,
    /// The sender's offset of that chunk, when the capture shows it.
    pub sender_offset: Option<u64>,
    /// The sender's block ordinal (Merkle leaf) of the capture's first block.
    pub first_block: u64,
    /// The final root VERI states, when the capture holds VERI: it cannot be recomputed
    /// without the blocks before the join.
    pub stated_root: Option<Hash>,
}

/// The last signature of a file that checked out, and what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedThrough {
    pub key: PublicKey,
    /// Blocks `from_block .. blocks` (block ordinals) are covered: from 0 in a whole file, from
    /// the first block after the first signed checkpoint in a capture.
    pub from_block: u64,
    pub blocks: u64,
    /// Bytes `from .. through` are covered (to the end of the SIGN chunk): from 0 in a whole
    /// file, from the end of its first SIGN in a capture.
    pub from: u64,
    pub through: u64,
    /// The signature is VERI's: the whole file but TAIL is covered.
    pub whole_file: bool,
}

/// A HASH or VERI just read: what the SIGN after it must state.
#[derive(Debug, Clone, Copy)]
struct SignTarget {
    signed: Signed,
    ordinal: u64,
    offset: u64,
    leaf_count: u64,
    root: Hash,
    /// The signing chain after this chunk; `None` once damage made it unknowable.
    chain: Option<Hash>,
}

impl Report {
    pub fn is_ok(&self) -> bool {
        self.findings.is_empty()
    }
}

#[derive(Debug, Clone)]
enum Entry {
    Block {
        ordinal: u64,
        offset: u64,
        leaf: Hash,
        note: BlockNote,
    },
    Other {
        ordinal: u64,
        offset: u64,
        tag: Tag,
        digest: Hash,
    },
    Damaged {
        ordinal: u64,
        offset: u64,
        /// The damage is exactly one chunk as its header states (its CRC failed), so the
        /// chunks after it kept their ordinals.
        whole: bool,
    },
}

/// What SEEK needs to know of a block.
#[derive(Debug, Clone, Copy)]
struct BlockNote {
    track: u32,
    time: Option<u64>,
    duration: Option<u64>,
    keyframe: bool,
}

impl Entry {
    fn ordinal(&self) -> u64 {
        match self {
            Entry::Block { ordinal, .. }
            | Entry::Other { ordinal, .. }
            | Entry::Damaged { ordinal, .. } => *ordinal,
        }
    }

    fn offset(&self) -> u64 {
        match self {
            Entry::Block { offset, .. }
            | Entry::Other { offset, .. }
            | Entry::Damaged { offset, .. } => *offset,
        }
    }
}

#[derive(Default)]
struct Verifier {
    findings: Vec<Error>,
    meta: Option<Meta>,
    next_index: BTreeMap<u32, u64>,
    range: Vec<Entry>,
    merkle: MerkleAccumulator,
    /// False once a leaf could not be known; root checks after that would only repeat it.
    tree_known: bool,
    pieces: Vec<PieceRef>,
    damaged: HashSet<u64>,
    /// The blocks META lists as kept by repair against the integrity (sorted).
    unverified: Vec<crate::format::meta::BlockId>,
    keyframes: SeekIndexBuilder,
    seek: Option<(u64, Vec<u8>)>,
    veri: Option<(u64, Veri)>,
    tail: Option<(u64, u64, Tail)>,
    chunks: u64,
    blocks: u64,
    verified_through: u64,
    end: u64,
    /// The signing chain over the intact HASH chunks read; `None` after damage.
    chain: Option<Hash>,
    sign_target: Option<SignTarget>,
    /// SIGN chunks that passed every check but the Ed25519 one: (signature, ordinal, offset,
    /// end of the chunk).
    signatures: Vec<(Signature, u64, u64, u64)>,
    signed: Option<SignedThrough>,
    /// Set when the file turned out to be a capture of a live stream.
    join: Option<Join>,
    /// Leaves before the first one this file holds (a capture's blocks before its join).
    leaf_base: u64,
    /// A SIGN right after the stream header: a finding, unless the file is a capture that
    /// joined right after a HASH chunk; then it anchors the signing chain. With the end of
    /// its chunk.
    stray_sign: Option<(Error, Signature, u64)>,
}

/// A capture's join, as verification goes on.
#[derive(Debug, Clone, Copy)]
struct Join {
    rebase: Rebase,
    first_block: u64,
    /// The SIGN taken as the signing chain's anchor: its index in `signatures`, the blocks it
    /// covers and the end of its chunk.
    anchor: Option<(usize, u64, u64)>,
}

/// Verifies the whole stream `r`; `progress` is called with the offset reached, now and then.
/// Only an I/O error makes this return `Err`; everything wrong with the file is a finding.
pub fn verify<R: Read>(mut r: R, mut progress: impl FnMut(u64)) -> Result<Report> {
    let mut v = Verifier {
        tree_known: true,
        chain: Some(crate::format::signature::CHAIN_START),
        ..Verifier::default()
    };
    let mut scanner = Scanner::new();
    let mut last_progress = 0u64;
    drive(&mut r, &mut scanner, |step| {
        match step {
            Step::Chunk(c) => {
                v.chunks += 1;
                v.end = c.end();
                v.on_chunk(&c);
            }
            Step::Damage(d) => {
                v.chunks += 1;
                v.chain = None;
                v.missing_signature();
                let (ordinal, offset) = (d.error.chunk.unwrap_or(0), d.error.offset.unwrap_or(0));
                v.end = offset + d.len;
                v.damaged.insert(offset);
                let whole = d.error.code == Code::ChunkCrcMismatch
                    && <&[u8; CHUNK_HEADER_LEN]>::try_from(
                        d.head.get(..CHUNK_HEADER_LEN).unwrap_or(&[]),
                    )
                    .is_ok_and(|h| ChunkHeader::parse(h).chunk_len() == d.len);
                v.range.push(Entry::Damaged {
                    ordinal,
                    offset,
                    whole,
                });
                v.findings.push(d.error);
            }
            Step::NeedMore | Step::End => {}
        }
        if v.end - last_progress >= 64 << 20 {
            last_progress = v.end;
            progress(v.end);
        }
        Ok(true)
    })?;
    progress(v.end);
    Ok(v.finish())
}

impl Verifier {
    fn find(&mut self, e: Error) {
        self.findings.push(e);
    }

    fn on_chunk(&mut self, c: &RawChunk) {
        let item = match decode(c) {
            Ok(item) => item,
            Err(e) => {
                // The CRC held but the content is not what its type requires.
                self.damaged.insert(c.offset);
                self.range.push(Entry::Damaged {
                    ordinal: c.ordinal,
                    offset: c.offset,
                    whole: true,
                });
                return self.find(e);
            }
        };
        if !matches!(item, Item::Signature(_)) {
            self.missing_signature();
        }
        if self.tail.is_some() {
            self.find(Error::at(
                Code::ChunkOrder,
                c.ordinal,
                c.offset,
                format!("{} chunk after TAIL", tag_name(&c.header.tag)),
            ));
        }
        let other = |c: &RawChunk| Entry::Other {
            ordinal: c.ordinal,
            offset: c.offset,
            tag: c.header.tag,
            digest: chunk_digest(&[&c.header.encode(), c.payload]),
        };
        match item {
            Item::Header(_) => {
                if c.ordinal != 0 {
                    self.find(Error::at(
                        Code::ChunkOrder,
                        c.ordinal,
                        c.offset,
                        "a second file header",
                    ));
                }
                self.range.push(other(c));
            }
            Item::Meta { meta, .. } => {
                // A damaged chunk 1 was the META: a later one is its update, not out of order.
                if self.meta.is_none() && c.ordinal != 1 && !self.damaged.contains(&META_OFFSET) {
                    self.find(Error::at(
                        Code::ChunkOrder,
                        c.ordinal,
                        c.offset,
                        "META is not chunk 1",
                    ));
                }
                if self.meta.is_none() {
                    // Blocks read before (when chunk 1 was damaged) keep their keyframes.
                    for t in &meta.tracks {
                        self.keyframes.declare_track(t.id);
                    }
                }
                self.unverified = meta
                    .repaired
                    .as_ref()
                    .map(|r| r.unverified.clone())
                    .unwrap_or_default();
                self.unverified.sort();
                self.meta = Some(meta);
                self.range.push(other(c));
            }
            Item::Block { header, .. } => {
                self.blocks += 1;
                let id = crate::format::meta::BlockId {
                    track: header.track,
                    index: header.index,
                };
                if let Some(r) = self.meta.as_ref().and_then(|m| m.repaired.as_ref())
                    && self.unverified.binary_search(&id).is_ok()
                {
                    self.find(Error::at(
                        Code::BlockUnverified,
                        c.ordinal,
                        c.offset,
                        format!(
                            "track {} block {} was kept by repair ({} {}) although the integrity of the file it came from (root {}) disagreed with it",
                            id.track,
                            id.index,
                            r.writer.name,
                            r.writer.version,
                            r.from_root.as_deref().unwrap_or("unknown")
                        ),
                    ));
                }
                if let Some(meta) = &self.meta {
                    if meta.track(header.track).is_none() {
                        self.find(Error::at(
                            Code::BlockTrack,
                            c.ordinal,
                            c.offset,
                            format!("block of undeclared track {}", header.track),
                        ));
                    }
                } else if !self.damaged.contains(&META_OFFSET) {
                    self.find(Error::at(
                        Code::ChunkOrder,
                        c.ordinal,
                        c.offset,
                        "a block before META",
                    ));
                }
                let next = self
                    .next_index
                    .insert(header.track, header.index + 1)
                    .unwrap_or(0);
                if header.index < next {
                    self.find(Error::at(
                        Code::BlockTrack,
                        c.ordinal,
                        c.offset,
                        format!(
                            "track {} block index {} after index {}",
                            header.track,
                            header.index,
                            next - 1
                        ),
                    ));
                }
                let note = BlockNote {
                    track: header.track,
                    time: header.time(),
                    duration: header.duration,
                    keyframe: header.flags.is_keyframe(),
                };
                self.range.push(Entry::Block {
                    ordinal: c.ordinal,
                    offset: c.offset,
                    leaf: leaf_hash(&[&c.header.encode(), c.payload]),
                    note,
                });
            }
            Item::Checkpoint(cp) => self.on_checkpoint(c, cp),
            Item::Seek { payload, .. } => {
                self.seek = Some((c.offset, payload.to_vec()));
                self.range.push(other(c));
            }
            Item::Veri(veri) => self.on_veri(c, veri),
            Item::Tail(tail) => {
                let tail = match &self.join {
                    Some(j) => j.rebase.tail(tail),
                    None => tail,
                };
                self.tail = Some((c.ordinal, c.offset, tail));
            }
            Item::Signature(sig) => {
                // After VERI a SIGN is part of the trailer, outside every range.
                if self.veri.is_none() {
                    self.range.push(other(c));
                }
                self.on_signature(c, sig);
            }
            Item::Unknown => self.range.push(other(c)),
        }
    }

    /// Places the next leaf in the tree; a block's keyframe is indexed under that leaf ordinal.
    fn push_leaf(&mut self, leaf: Hash, block: Option<(u64, BlockNote)>) {
        if let Some((offset, n)) = block {
            self.keyframes.note_block(
                n.track,
                n.time,
                n.duration,
                n.keyframe,
                offset,
                self.leaf_count(),
            );
        }
        self.merkle.push(leaf);
    }

    /// Leaves so far, counting those before a capture's join.
    fn leaf_count(&self) -> u64 {
        self.leaf_base + self.merkle.count()
    }

    /// Blocks in the current range (not yet pushed into the tree).
    fn pending_blocks(&self) -> u64 {
        self.range
            .iter()
            .filter(|e| matches!(e, Entry::Block { .. }))
            .count() as u64
    }

    /// Accounts for the range entries before `first_chunk`, whose HASH chunk was lost:
    /// their blocks go into the tree as computed; damaged entries there are blocks only if
    /// the leaf count says so, and then the tree can no longer be known.
    fn settle_orphans(&mut self, first_chunk: u64, first_leaf: u64) {
        let split = self
            .range
            .iter()
            .position(|e| e.ordinal() >= first_chunk)
            .unwrap_or(self.range.len());
        let orphans: Vec<Entry> = self.range.drain(..split).collect();
        if orphans.is_empty() {
            return;
        }
        let known = orphans
            .iter()
            .filter(|e| matches!(e, Entry::Block { .. }))
            .count() as u64;
        let needed = first_leaf.saturating_sub(self.leaf_count());
        for e in &orphans {
            if let Entry::Block {
                leaf, offset, note, ..
            } = e
            {
                self.push_leaf(*leaf, Some((*offset, *note)));
            }
        }
        if needed != known {
            self.tree_known = false;
        }
    }

    /// The first HASH or VERI of a capture claims more chunks before it than the file holds,
    /// and the file begins with a stream header: the capture joined the sender's stream at the
    /// chunk after it. Damage that may have swallowed chunks rules this out.
    fn detect_join(&mut self, c: &RawChunk, first_chunk: u64, listed: u64) {
        let stream_header = matches!(
            self.range.get(..2),
            Some([
                Entry::Other {
                    ordinal: 0,
                    tag: TAG_HEADER,
                    ..
                },
                Entry::Other {
                    ordinal: 1,
                    tag: TAG_META,
                    ..
                },
            ])
        );
        let ordinals_kept = self
            .range
            .iter()
            .all(|e| !matches!(e, Entry::Damaged { whole: false, .. }));
        let own = first_chunk + listed;
        if !stream_header || !ordinals_kept || own <= c.ordinal {
            return;
        }
        let join_chunk = own - c.ordinal + STREAM_HEADER_CHUNKS;
        if first_chunk > join_chunk {
            return;
        }
        let join_offset = self
            .range
            .get(STREAM_HEADER_CHUNKS as usize)
            .map_or(c.offset, Entry::offset);
        self.join = Some(Join {
            rebase: Rebase::new(join_chunk, join_offset),
            first_block: 0,
            anchor: None,
        });
        // The signing chain runs through HASH chunks the capture does not hold.
        self.chain = None;
    }

    /// A range's claims at this file's positions: for a capture, the chunks and leaves before
    /// the join are left out. Returns the first chunk, its offset when the file holds it, the
    /// first leaf, the listed chunks and the leaves.
    fn held_range<'l>(
        &mut self,
        first_chunk: u64,
        first_offset: u64,
        first_leaf: u64,
        others: &[ChunkDigest],
        leaves: &'l [Hash],
    ) -> (u64, Option<u64>, u64, Vec<ChunkDigest>, &'l [Hash]) {
        let Some(mut join) = self.join else {
            return (
                first_chunk,
                Some(first_offset),
                first_leaf,
                others.to_vec(),
                leaves,
            );
        };
        let r = &mut join.rebase;
        let start = r.chunk(first_chunk);
        let held_at = |ordinal: u64| {
            self.range
                .iter()
                .find(|e| e.ordinal() == ordinal)
                .map(Entry::offset)
        };
        if let Some(here) = start.and_then(held_at) {
            r.learn_offset(first_offset, here);
        }
        for d in others {
            let held = self.range.iter().find(|e| {
                matches!(e, Entry::Other { ordinal, digest, .. }
                    if Some(*ordinal) == r.chunk(d.ordinal) && *digest == d.digest)
            });
            if let Some(e) = held {
                r.learn_offset(d.offset, e.offset());
                break;
            }
        }
        let (held, before) = r.digests(others);
        let out = match start {
            Some(first) => (first, r.offset(first_offset), first_leaf, held, leaves),
            None => {
                let unheld = r.join_chunk - first_chunk;
                let skip = (unheld.saturating_sub(before) as usize).min(leaves.len());
                let first_leaf = first_leaf + skip as u64;
                (
                    STREAM_HEADER_CHUNKS,
                    None,
                    first_leaf,
                    held,
                    &leaves[skip..],
                )
            }
        };
        if self.pieces.is_empty() && self.merkle.count() == 0 {
            // The capture's first range: its first leaf is the first block held.
            self.leaf_base = out.2;
            join.first_block = out.2;
        }
        self.join = Some(join);
        out
    }

    /// Checks the range `[first_chunk, own ordinal)` against a listing of its others and
    /// (for HASH) its leaves, pushing leaves into the tree.
    fn settle_range(
        &mut self,
        c: &RawChunk,
        first_chunk: u64,
        first_offset: u64,
        first_leaf: u64,
        others: &[ChunkDigest],
        leaves: &[Hash],
    ) {
        let what = tag_name(&c.header.tag);
        if self.join.is_none() && self.pieces.is_empty() {
            self.detect_join(c, first_chunk, (others.len() + leaves.len()) as u64);
        }
        if let Some((e, sig, end)) = self.stray_sign.take() {
            match self.join {
                Some(j) => self.anchor_at(sig, STREAM_HEADER_CHUNKS, j.rebase.join_offset, end),
                None => self.find(e),
            }
        }
        let (first_chunk, first_offset, first_leaf, others, leaves) =
            self.held_range(first_chunk, first_offset, first_leaf, others, leaves);
        let others = others.as_slice();
        self.settle_orphans(first_chunk, first_leaf);
        if let Some(first) = self.range.first()
            && first.ordinal() == first_chunk
            && !matches!(first, Entry::Damaged { .. })
            && let Some(claimed) = first_offset
            && claimed != first.offset()
        {
            self.find(Error::at(
                Code::ChunkUnlisted,
                c.ordinal,
                c.offset,
                format!(
                    "{what} says its range starts at byte {claimed}, but its first chunk {first_chunk} is at byte {}",
                    first.offset()
                ),
            ));
        }
        if self
            .range
            .first()
            .is_some_and(|e| e.ordinal() != first_chunk)
            || (self.range.is_empty() && first_chunk != c.ordinal)
        {
            self.find(Error::at(
                Code::ChunkUnlisted,
                c.ordinal,
                c.offset,
                format!("{what} claims its range starts at chunk {first_chunk}"),
            ));
        }
        let expected_own = first_chunk + leaves.len() as u64 + others.len() as u64;
        if expected_own != c.ordinal {
            self.find(Error::at(
                Code::ChunkUnlisted,
                c.ordinal,
                c.offset,
                format!("{what} accounts for chunks {first_chunk}..{expected_own} but stands at chunk {}", c.ordinal),
            ));
        }
        if self.tree_known && self.leaf_count() != first_leaf {
            self.find(Error::at(
                Code::HashRootMismatch,
                c.ordinal,
                c.offset,
                format!(
                    "{what} starts at leaf {first_leaf} but {} blocks precede it",
                    self.leaf_count()
                ),
            ));
            self.tree_known = false;
        }
        let listed: BTreeMap<u64, &ChunkDigest> = others.iter().map(|o| (o.ordinal, o)).collect();
        let mut leaf_iter = leaves.iter();
        for e in std::mem::take(&mut self.range) {
            let ordinal = e.ordinal();
            if let Some(d) = listed.get(&ordinal) {
                match e {
                    Entry::Other {
                        offset,
                        tag,
                        digest,
                        ..
                    } => {
                        if tag != d.tag || digest != d.digest || offset != d.offset {
                            self.find(Error::at(
                                Code::ChunkDigestMismatch,
                                ordinal,
                                offset,
                                format!(
                                    "{} chunk SHA-256 {} differs from {} listed in {what}",
                                    tag_name(&tag),
                                    hex(&digest),
                                    hex(&d.digest)
                                ),
                            ));
                        }
                    }
                    Entry::Block { offset, .. } => self.find(Error::at(
                        Code::ChunkUnlisted,
                        ordinal,
                        offset,
                        format!("a block where {what} lists a {} chunk", tag_name(&d.tag)),
                    )),
                    Entry::Damaged { .. } => {}
                }
                continue;
            }
            let stored = leaf_iter.next();
            match (e, stored) {
                (
                    Entry::Block {
                        offset, leaf, note, ..
                    },
                    Some(stored),
                ) => {
                    if leaf != *stored {
                        // Tampered: its SEEK entry cannot be trusted either way.
                        self.damaged.insert(offset);
                        self.find(Error::at(
                            Code::BlockHashMismatch,
                            ordinal,
                            offset,
                            format!(
                                "block ordinal {}: leaf {} differs from {} in {what}",
                                self.leaf_count(),
                                hex(&leaf),
                                hex(stored)
                            ),
                        ));
                    }
                    let trusted = leaf == *stored;
                    self.push_leaf(*stored, trusted.then_some((offset, note)));
                }
                (Entry::Damaged { .. }, Some(stored)) => self.push_leaf(*stored, None),
                (Entry::Other { offset, tag, .. }, _) => {
                    self.find(Error::at(
                        Code::ChunkUnlisted,
                        ordinal,
                        offset,
                        format!("{} chunk not listed in {what}", tag_name(&tag)),
                    ));
                }
                (
                    Entry::Block {
                        offset, leaf, note, ..
                    },
                    None,
                ) => {
                    self.find(Error::at(
                        Code::ChunkUnlisted,
                        ordinal,
                        offset,
                        format!("block not listed in {what}"),
                    ));
                    self.push_leaf(leaf, Some((offset, note)));
                }
                (Entry::Damaged { .. }, None) => {}
            }
        }
        if leaf_iter.next().is_some() {
            self.find(Error::at(
                Code::ChunkUnlisted,
                c.ordinal,
                c.offset,
                format!("{what} lists more leaves than blocks precede it"),
            ));
            self.tree_known = false;
        }
    }

    fn on_checkpoint(&mut self, c: &RawChunk, cp: Checkpoint) {
        self.settle_range(
            c,
            cp.first_chunk,
            cp.first_offset,
            cp.first_leaf,
            &cp.others,
            &cp.leaves,
        );
        if self.tree_known && self.join.is_none() && self.merkle.root() != cp.root {
            self.find(Error::at(
                Code::HashRootMismatch,
                c.ordinal,
                c.offset,
                format!(
                    "running root {} differs from the computed {}",
                    hex(&cp.root),
                    hex(&self.merkle.root())
                ),
            ));
        }
        self.pieces.push(PieceRef {
            first_leaf: cp.first_leaf,
            ordinal: c.ordinal,
            offset: c.offset,
        });
        self.verified_through = c.end();
        self.chain = self
            .chain
            .map(|chain| chain_next(&chain, &[&c.header.encode(), c.payload]));
        self.sign_target = Some(SignTarget {
            signed: Signed::Checkpoint,
            ordinal: c.ordinal,
            offset: c.offset,
            leaf_count: cp.first_leaf + cp.leaves.len() as u64,
            root: cp.root,
            chain: self.chain,
        });
    }

    fn on_veri(&mut self, c: &RawChunk, veri: Veri) {
        self.settle_range(
            c,
            veri.first_chunk,
            veri.first_offset,
            veri.leaf_count,
            &veri.others,
            &[],
        );
        // A capture knows how many blocks precede VERI, not the root over them.
        let root_known = self.join.is_none();
        if self.tree_known
            && (self.leaf_count() != veri.leaf_count
                || (root_known && self.merkle.root() != veri.root))
        {
            self.find(Error::at(
                Code::VeriRootMismatch,
                c.ordinal,
                c.offset,
                format!(
                    "VERI root {} over {} blocks; computed {} over {}",
                    hex(&veri.root),
                    veri.leaf_count,
                    if root_known {
                        hex(&self.merkle.root())
                    } else {
                        "an unknown root".to_string()
                    },
                    self.leaf_count()
                ),
            ));
        }
        let (covered, pieces) = match &mut self.join {
            Some(j) => {
                j.rebase.learn_offset(veri.covered_len, c.offset);
                let covered = j.rebase.offset(veri.covered_len).unwrap_or(c.offset);
                (covered, j.rebase.pieces(&veri.pieces))
            }
            None => (veri.covered_len, veri.pieces.clone()),
        };
        if covered != c.offset {
            self.find(Error::at(
                Code::VeriRootMismatch,
                c.ordinal,
                c.offset,
                format!(
                    "VERI covers {} bytes but stands at offset {}",
                    veri.covered_len, c.offset
                ),
            ));
        }
        let listed: Vec<&PieceRef> = pieces
            .iter()
            .filter(|p| !self.damaged.contains(&p.offset))
            .collect();
        let seen: Vec<&PieceRef> = self.pieces.iter().collect();
        if listed != seen {
            let say = |p: Option<&&PieceRef>| match p {
                Some(p) => format!(
                    "a HASH chunk at offset {} (chunk {}) from leaf {}",
                    p.offset, p.ordinal, p.first_leaf
                ),
                None => "none".to_string(),
            };
            let i = (0..listed.len().max(seen.len()))
                .find(|i| listed.get(*i) != seen.get(*i))
                .unwrap_or(0);
            self.find(Error::at(
                Code::ChunkUnlisted,
                c.ordinal,
                c.offset,
                format!(
                    "VERI's HASH directory differs from the HASH chunks found, first at entry {i}: VERI lists {}, the file has {} ({} listed, {} found)",
                    say(listed.get(i)),
                    say(seen.get(i)),
                    listed.len(),
                    seen.len()
                ),
            ));
        }
        self.verified_through = c.end();
        self.sign_target = Some(SignTarget {
            signed: Signed::Veri,
            ordinal: c.ordinal,
            offset: c.offset,
            leaf_count: veri.leaf_count,
            root: veri.root,
            chain: self
                .chain
                .map(|chain| chain_next(&chain, &[&c.header.encode(), c.payload])),
        });
        self.veri = Some((c.offset, veri));
    }

    /// A signed file (META names a signer) follows each HASH and VERI with its SIGN; called
    /// when any other chunk (or damage) comes next.
    fn missing_signature(&mut self) {
        let Some(t) = self.sign_target.take() else {
            return;
        };
        if let Some(signer) = self.meta.as_ref().and_then(|m| m.signer.as_ref()) {
            self.find(Error::at(
                Code::SignAbsent,
                t.ordinal,
                t.offset,
                format!(
                    "META names signer {}, but the {} chunk here is not followed by its SIGN",
                    signer.key_id,
                    t.signed.name()
                ),
            ));
        }
    }

    /// Checks a SIGN against the chunk right before it, the signing chain and META's signer.
    fn on_signature(&mut self, c: &RawChunk, sig: Signature) {
        let key = sig.public_key.id();
        let invalid = |why: String| Error::at(Code::SignInvalid, c.ordinal, c.offset, why);
        let Some(t) = self.sign_target.take() else {
            let e = invalid(format!(
                "a SIGN by key {key} that does not follow a HASH or VERI chunk"
            ));
            // Right after the stream header it may be a capture's first chunk: the HASH it
            // signs came before the join. Known at the first HASH or VERI.
            if c.ordinal == STREAM_HEADER_CHUNKS && self.pieces.is_empty() {
                self.stray_sign = Some((e, sig, c.end()));
                return;
            }
            return self.find(e);
        };
        // A capture's SIGN names the signed chunk's place in the sender's stream.
        let (ordinal, offset) = match &mut self.join {
            Some(j) => {
                j.rebase.learn_offset(sig.offset, t.offset);
                (
                    j.rebase.chunk(sig.ordinal).unwrap_or(u64::MAX),
                    j.rebase.offset(sig.offset).unwrap_or(u64::MAX),
                )
            }
            None => (sig.ordinal, sig.offset),
        };
        if (t.signed, t.ordinal, t.offset) != (sig.signed, ordinal, offset) {
            return self.find(invalid(format!(
                "the SIGN by key {key} claims to sign the {} chunk {} at offset {}, but follows the {} chunk {} at offset {}",
                sig.signed.name(),
                sig.ordinal,
                sig.offset,
                t.signed.name(),
                t.ordinal,
                t.offset
            )));
        }
        if (sig.leaf_count, sig.root) != (t.leaf_count, t.root) {
            return self.find(invalid(format!(
                "key {key} signed root {} over {} blocks; the {} chunk states {} over {}",
                hex(&sig.root),
                sig.leaf_count,
                t.signed.name(),
                hex(&t.root),
                t.leaf_count
            )));
        }
        let anchor = match t.chain {
            Some(chain) if chain != sig.chain => {
                // Every later signature would say the same again.
                self.chain = None;
                return self.find(invalid(format!(
                    "key {key} signed another history: a chunk covered by this or an earlier HASH chunk (META, a block, a HASH, a SIGN) differs from what was signed"
                )));
            }
            Some(_) => false,
            // A capture's first SIGN states the chain through HASH chunks it does not hold:
            // taken as given, it anchors the chain for the HASH chunks after it.
            None if self.join.is_some_and(|j| j.anchor.is_none()) => true,
            // After damage the chain cannot be known, nor what this signature covers.
            None => return,
        };
        let named = self
            .meta
            .as_ref()
            .and_then(|m| m.signer.as_ref())
            .map(|s| s.key_id.clone());
        if named.as_deref() != Some(&key.to_string()) {
            return self.find(invalid(format!(
                "signed by key {key}, but META names {}",
                named.map_or("no signer".to_string(), |k| format!("key {k}"))
            )));
        }
        if let Some((earlier, ..)) = self.signatures.first()
            && earlier.public_key != sig.public_key
        {
            return self.find(invalid(format!(
                "signed by key {key} here and by key {} before",
                earlier.public_key.id()
            )));
        }
        if anchor {
            self.anchor_at(sig, c.ordinal, c.offset, c.end());
        } else {
            self.signatures.push((sig, c.ordinal, c.offset, c.end()));
        }
    }

    /// Takes a capture's first SIGN (chunk `ordinal` at `offset`, ending at `end`) as the
    /// anchor: the chain it states is where every later HASH chunk's chain starts.
    fn anchor_at(&mut self, sig: Signature, ordinal: u64, offset: u64, end: u64) {
        if let Some(j) = &mut self.join {
            j.anchor = Some((self.signatures.len(), sig.leaf_count, end));
            self.chain = Some(sig.chain);
        }
        self.signatures.push((sig, ordinal, offset, end));
    }

    /// The Ed25519 check, last signature first: the last one that verifies vouches, through the
    /// chain, for every byte before it, earlier SIGN chunks included, so those need no check of
    /// their own (one verification per file instead of one per checkpoint). A signature that
    /// does not verify is reported, and the one before it is tried.
    ///
    /// A capture's anchor vouches for nothing the capture can check; the signatures after it
    /// vouch for the blocks after it.
    fn settle_signatures(&mut self) {
        let (floor, from_block, from) = match self.join.and_then(|j| j.anchor) {
            Some((anchor, blocks, end)) => (anchor + 1, blocks, end),
            None => (0, 0, 0),
        };
        while self.signatures.len() > floor {
            let Some((sig, ordinal, offset, end)) = self.signatures.pop() else {
                break;
            };
            if sig.verifies() {
                self.signed = Some(SignedThrough {
                    key: sig.public_key,
                    from_block,
                    blocks: sig.leaf_count,
                    from,
                    through: end,
                    whole_file: sig.signed == Signed::Veri,
                });
                return;
            }
            self.bad_signature(&sig, ordinal, offset);
        }
        // Nothing after a capture's anchor vouched for it: it is still checked.
        if floor > 0
            && let Some((sig, ordinal, offset, _)) = self.signatures.pop()
            && !sig.verifies()
        {
            self.bad_signature(&sig, ordinal, offset);
        }
    }

    fn bad_signature(&mut self, sig: &Signature, ordinal: u64, offset: u64) {
        self.find(Error::at(
            Code::SignInvalid,
            ordinal,
            offset,
            format!(
                "the signature of the {} chunk at offset {} does not verify under key {}",
                sig.signed.name(),
                sig.offset,
                sig.public_key.id()
            ),
        ));
    }

    fn check_seek(&mut self) {
        let Some((offset, payload)) = self.seek.take() else {
            return;
        };
        let Ok(stored) = SeekTable::from_payload(&payload) else {
            return;
        };
        let rebase = self.join.map(|j| j.rebase);
        if rebase.is_some_and(|r| !r.offsets_known()) {
            // Nothing in the capture showed where its chunks stand in the sender's stream.
            return;
        }
        // A capture holds the keyframes from its join on, at its own offsets.
        let held = |e: crate::format::seek::SeekEntry| match rebase {
            None => Some(e),
            Some(r) => {
                (e.offset >= r.sender_join_offset()?).then(|| crate::format::seek::SeekEntry {
                    offset: r.offset(e.offset).unwrap_or(u64::MAX),
                    ..e
                })
            }
        };
        let builder = std::mem::take(&mut self.keyframes);
        let rebuilt_chunk = match builder.encode_chunk() {
            Ok(c) => c,
            Err(e) => return self.find(e),
        };
        let rebuilt_payload = &rebuilt_chunk[CHUNK_HEADER_LEN..];
        if rebuilt_payload == payload.as_slice() {
            return;
        }
        let Ok(rebuilt) = SeekTable::from_payload(rebuilt_payload) else {
            return;
        };
        let mut src_s = payload.as_slice();
        let mut src_r = rebuilt_payload;
        let entries =
            |t: &SeekTable, src: &mut &[u8], track: u32| -> Vec<crate::format::seek::SeekEntry> {
                t.summary(track)
                    .map(|s| {
                        (0..s.entry_count)
                            .filter_map(|i| t.entry(src, s.first_entry + i).ok())
                            .collect()
                    })
                    .unwrap_or_default()
            };
        // Summaries speak of every block: a damaged file or a capture lacks some.
        let damage = !self.damaged.is_empty() || rebase.is_some();
        for s in &stored.tracks {
            let kept: Vec<_> = entries(&stored, &mut src_s, s.track)
                .into_iter()
                .filter_map(held)
                .filter(|e| !self.damaged.contains(&e.offset))
                .collect();
            let actual = entries(&rebuilt, &mut src_r, s.track);
            if let Some(i) =
                (0..kept.len().max(actual.len())).find(|i| kept.get(*i) != actual.get(*i))
            {
                let say = |e: Option<&crate::format::seek::SeekEntry>| match e {
                    Some(e) => format!(
                        "a keyframe at {} ns (block ordinal {}, offset {})",
                        e.time, e.ordinal, e.offset
                    ),
                    None => "no keyframe".to_string(),
                };
                self.findings.push(
                    Error::new(
                        Code::SeekEntryMismatch,
                        format!(
                            "track {} keyframe {i}: SEEK has {}, the blocks give {}",
                            s.track,
                            say(kept.get(i)),
                            say(actual.get(i))
                        ),
                    )
                    .with_offset(offset),
                );
                return;
            }
            let summary_differs = rebuilt.summary(s.track).is_none_or(|r| {
                (r.block_count, r.first_time, r.end_time)
                    != (s.block_count, s.first_time, s.end_time)
            });
            if !damage && summary_differs {
                self.findings.push(
                    Error::new(
                        Code::SeekEntryMismatch,
                        format!("track {} summary in SEEK differs from the blocks", s.track),
                    )
                    .with_offset(offset),
                );
                return;
            }
        }
        if !damage && stored.tracks.len() != rebuilt.tracks.len() {
            self.findings.push(
                Error::new(
                    Code::SeekEntryMismatch,
                    "SEEK lists other tracks than the blocks use",
                )
                .with_offset(offset),
            );
        }
    }

    fn finish(mut self) -> Report {
        // A cut right after a HASH took its SIGN along: veri.absent says so. VERI's may not be
        // missing.
        if self.sign_target.is_some_and(|t| t.signed == Signed::Veri) {
            self.missing_signature();
        }
        if let Some((e, ..)) = self.stray_sign.take() {
            self.find(e);
        }
        self.settle_signatures();
        let pending = self.pending_blocks();
        let past_everything = self.range.last().map_or(0, |e| e.ordinal() + 1);
        self.settle_orphans(past_everything, self.leaf_count() + pending);
        let veri = self.veri.take();
        let tail = self.tail.take();
        match (&veri, &tail) {
            (None, Some((_, _, t))) if self.damaged.contains(&t.veri_offset) => {}
            (None, _) => {
                let why = match self.join {
                    Some(_) => "the capture ends before the stream did",
                    None => "it was cut short or not finished",
                };
                let msg = format!(
                    "the file has no VERI: {why}; verified through byte {}, {pending} later block(s) unverified",
                    self.verified_through
                );
                self.findings
                    .push(Error::new(Code::VeriAbsent, msg).with_offset(self.end));
            }
            (Some((veri_offset, v)), _) => {
                let rebase = self.join.map(|j| j.rebase);
                let here = |o: u64| rebase.map_or(Some(o), |r| r.offset(o)).unwrap_or(o);
                let seek_listed =
                    v.others
                        .iter()
                        .find(|o| o.tag == TAG_SEEK)
                        .map(|o| ChunkDigest {
                            offset: here(o.offset),
                            ..*o
                        });
                let seek_seen = self.seek.as_ref().map(|(o, _)| *o);
                // A capture that joined after SEEK does not hold it.
                let not_held = |o: u64| self.damaged.contains(&o) || o == BEFORE_JOIN;
                if seek_seen.is_none() && seek_listed.is_none_or(|o| !not_held(o.offset)) {
                    self.findings.push(
                        Error::new(Code::SeekAbsent, "the file has VERI but no SEEK")
                            .with_offset(*veri_offset),
                    );
                }
                match &tail {
                    Some((ordinal, offset, t)) => {
                        let seek_ok = seek_seen == Some(t.seek_offset)
                            || (seek_seen.is_none() && not_held(t.seek_offset));
                        if !seek_ok || t.veri_offset != *veri_offset || t.file_len != self.end {
                            self.findings.push(Error::at(
                                Code::TailMismatch,
                                *ordinal,
                                *offset,
                                format!(
                                    "TAIL points at SEEK {} and VERI {} in a {}-byte file; the file has {} and VERI at {} in {} bytes",
                                    t.seek_offset,
                                    t.veri_offset,
                                    t.file_len,
                                    seek_seen.map_or("no SEEK".to_string(), |o| format!("SEEK at {o}")),
                                    veri_offset,
                                    self.end
                                ),
                            ));
                        }
                    }
                    None if !self.damaged.iter().any(|d| d > veri_offset) => {
                        self.findings.push(
                            Error::new(Code::TailMismatch, "the file has no TAIL after VERI")
                                .with_offset(self.end),
                        );
                    }
                    None => {}
                }
            }
        }
        self.check_seek();
        self.findings
            .sort_by_key(|e| (e.offset.unwrap_or(u64::MAX), e.chunk));
        let joined = self.join.map(|j| Joined {
            chunk: j.rebase.join_chunk,
            offset: j.rebase.join_offset,
            sender_offset: j.rebase.sender_join_offset(),
            first_block: j.first_block,
            stated_root: veri.as_ref().map(|(_, v)| v.root),
        });
        Report {
            joined,
            root: veri
                .as_ref()
                .filter(|_| self.tree_known && self.join.is_none() && self.findings.is_empty())
                .map(|(_, v)| v.root),
            findings: self.findings,
            bytes: self.end,
            chunks: self.chunks,
            blocks: self.blocks,
            checkpoints: self.pieces.len() as u64,
            verified_through: self.verified_through,
            signed: self.signed,
        }
    }
}

/// What trusting only `trusted` keys adds to a report: the file must be signed, through VERI
/// when it is finished, by one of them.
pub fn trust_findings(report: &Report, trusted: &[PublicKey]) -> Vec<Error> {
    let Some(s) = report.signed else {
        return vec![Error::new(
            Code::SignAbsent,
            "trust was asked for, but the file carries no signature that checks out",
        )];
    };
    let mut out = Vec::new();
    if !trusted.contains(&s.key) {
        out.push(Error::new(
            Code::SignUntrusted,
            format!(
                "signed by key {}, which is not among the {} trusted key(s)",
                s.key.id(),
                trusted.len()
            ),
        ));
    }
    let finished = !report.findings.iter().any(|f| f.code == Code::VeriAbsent);
    if finished && !s.whole_file {
        out.push(
            Error::new(
                Code::SignAbsent,
                format!(
                    "VERI is not signed: the signature covers blocks 0 to {} and bytes 0 to {} only",
                    s.blocks.saturating_sub(1),
                    s.through
                ),
            )
            .with_offset(s.through),
        );
    }
    out
}
