//! The random-access reader: opens a file with a few positional reads (header, META, TAIL,
//! the SEEK directory), answers keyframe lookups by binary search, reads single blocks and
//! checks them against the leaf table. Files without SEEK and VERI (cut short) are indexed
//! by one linear scan instead.

use std::collections::BTreeMap;
use std::io::{self, Read};

use crate::format::block::{BLOCK_HEADER_LEN, BlockFlags, BlockHeader, CLIPPING_LEN};
use crate::format::chunk::{
    CHUNK_HEADER_LEN, ChunkHeader, MAX_PAYLOAD, TAG_HASH, TAG_HEADER, TAG_META, TAG_SAFE, TAG_SIGN,
    TAG_VERI, is_block_tag, is_known_tag, tag_name,
};
use crate::format::error::{Code, Error, Result};
use crate::format::header::{FileHeader, HEADER_CHUNK_LEN};
use crate::format::index_load::{Entries, IndexLoad, LoadedIndex, Next};
use crate::format::integrity::{CHECKPOINT_FIXED_LEN, Checkpoint, CheckpointFixed, Veri};
use crate::format::item::{Item, decode};
use crate::format::merkle::{Hash, leaf_hash};
use crate::format::meta::Meta;
use crate::format::scan::{Scanner, Step, drive};
use crate::format::seek::{SeekEntry, SeekHit, SeekIndexBuilder, SeekTable, Snap};
use crate::format::signature::Signature;
use crate::format::source::ReadAt;
use crate::format::tail::Tail;

/// One block read at a known offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockAt {
    pub offset: u64,
    pub masked: bool,
    pub header: BlockHeader,
    pub data: Vec<u8>,
    /// Leaf hash of the chunk as stored.
    pub leaf: Hash,
    /// Length of the whole chunk; the next chunk starts at `offset + chunk_len`.
    pub chunk_len: u64,
}

/// Where the keyframe index came from.
#[derive(Debug)]
enum Index {
    /// SEEK in the file, found through TAIL: read whole (CRC checked), or its directory with
    /// the entries read on demand from the file (`payload` is then `None`).
    InFile {
        tail: Tail,
        table: SeekTable,
        payload: Option<Vec<u8>>,
    },
    /// Rebuilt by a linear scan; entries held in memory.
    Scanned { table: SeekTable, payload: Vec<u8> },
}

pub struct Reader<S: ReadAt> {
    src: S,
    len: u64,
    header: FileHeader,
    meta: Meta,
    /// Offset of the chunk after the first META.
    body_offset: u64,
    index: Option<Index>,
    /// Why TAIL/SEEK could not be used, when they could not.
    index_problem: Option<Error>,
    veri: Option<Veri>,
}

/// Reads `src` at `offset` as a `Read`, for feeding the scanner.
struct ReadAtCursor<'a, S: ReadAt> {
    src: &'a mut S,
    pos: u64,
    end: u64,
}

impl<S: ReadAt> Read for ReadAtCursor<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.end - self.pos).min(buf.len() as u64) as usize;
        self.src.read_exact_at(self.pos, &mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

fn io_at(offset: u64, what: &'static str) -> impl Fn(io::Error) -> Error {
    move |e| Error::io(e, what).with_offset(offset)
}

impl<S: ReadAt> Reader<S> {
    /// Opens a file: header, META, and the index through TAIL when the file has one (its
    /// directory; entries are read on demand).
    pub fn open(src: S) -> Result<Self> {
        Self::open_with(src, Entries::OnDemand)
    }

    /// Opens a file, with SEEK's entries read whole (CRC checked) or left in the file.
    pub fn open_with(mut src: S, entries: Entries) -> Result<Self> {
        let len = src.size().map_err(|e| Error::io(e, "reading file size"))?;
        let mut magic = [0u8; 4];
        src.read_exact_at(0, &mut magic).map_err(|_| {
            Error::at(
                Code::ChunkTruncated,
                0,
                0,
                format!("a {len}-byte file is too short for an H4MK header"),
            )
        })?;
        if magic != TAG_HEADER {
            return Err(Error::at(
                Code::FileMagic,
                0,
                0,
                format!(
                    "the file starts with \"{}\", not \"H4MK\"",
                    tag_name(&magic)
                ),
            ));
        }
        let (_, payload) = read_chunk(&mut src, len, 0, Some(0))?;
        let header = FileHeader::decode(&payload).map_err(|e| e.with_location(0, 0))?;
        let (h, json) = read_chunk(&mut src, len, HEADER_CHUNK_LEN, Some(1))?;
        if h.tag != TAG_META {
            return Err(Error::at(
                Code::ChunkOrder,
                1,
                HEADER_CHUNK_LEN,
                format!("chunk 1 is {}, not META", tag_name(&h.tag)),
            ));
        }
        let meta = Meta::from_json(&json).map_err(|e| e.with_location(1, HEADER_CHUNK_LEN))?;
        let body_offset = HEADER_CHUNK_LEN + h.chunk_len();
        let mut r = Reader {
            src,
            len,
            header,
            meta,
            body_offset,
            index: None,
            index_problem: None,
            veri: None,
        };
        match r.read_tail(entries) {
            Ok(Some(LoadedIndex {
                tail,
                table,
                payload,
            })) => {
                r.index = Some(Index::InFile {
                    tail,
                    table,
                    payload,
                })
            }
            Ok(None) => {
                r.index_problem = Some(Error::new(
                    Code::VeriAbsent,
                    "the file has no TAIL: it was cut short or not finished",
                ))
            }
            Err(e) => r.index_problem = Some(e),
        }
        Ok(r)
    }

    /// The index through TAIL, loaded by [`IndexLoad`] with positional reads.
    fn read_tail(&mut self, entries: Entries) -> Result<Option<LoadedIndex>> {
        let (mut load, mut next) = IndexLoad::start(self.len, self.body_offset, entries);
        loop {
            next = match next {
                Next::Need { offset, len } => {
                    let mut b = vec![0u8; len];
                    self.src
                        .read_exact_at(offset, &mut b)
                        .map_err(io_at(offset, "reading the index"))?;
                    load.feed(&b)
                }
                Next::Loaded(l) => return Ok(Some(l)),
                Next::Absent => return Ok(None),
                Next::Failed(e) => return Err(e),
            }
        }
    }

    /// The file's own keyframe index (found through TAIL), consuming the reader; the reader
    /// back when the file has none.
    pub fn into_file_index(self) -> std::result::Result<(SeekTable, Vec<u8>), Box<Self>> {
        match self.index {
            Some(Index::InFile {
                table,
                payload: Some(payload),
                ..
            }) => Ok((table, payload)),
            _ => Err(Box::new(self)),
        }
    }

    pub fn header(&self) -> &FileHeader {
        &self.header
    }
    pub fn meta(&self) -> &Meta {
        &self.meta
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Offset of the first chunk after META.
    pub fn body_offset(&self) -> u64 {
        self.body_offset
    }
    /// True when SEEK and VERI were found through TAIL.
    pub fn is_finished(&self) -> bool {
        matches!(self.index, Some(Index::InFile { .. }))
    }
    /// Why the file's own index is not in use, if it is not.
    pub fn index_problem(&self) -> Option<&Error> {
        self.index_problem.as_ref()
    }
    pub fn tail(&self) -> Option<&Tail> {
        match &self.index {
            Some(Index::InFile { tail, .. }) => Some(tail),
            _ => None,
        }
    }

    /// The keyframe index, rebuilding it by a linear scan when the file has none.
    pub fn seek_table(&mut self) -> Result<&SeekTable> {
        if self.index.is_none() {
            let payload = self.scan_index()?;
            let table = SeekTable::from_payload(&payload)?;
            self.index = Some(Index::Scanned { table, payload });
        }
        match self.index.as_ref() {
            Some(Index::InFile { table, .. }) | Some(Index::Scanned { table, .. }) => Ok(table),
            None => unreachable!("index was just built"),
        }
    }

    fn scan_index(&mut self) -> Result<Vec<u8>> {
        let mut builder = SeekIndexBuilder::new(self.meta.tracks.iter().map(|t| t.id));
        let mut leaf = 0u64;
        let mut cursor = ReadAtCursor {
            src: &mut self.src,
            pos: self.body_offset,
            end: self.len,
        };
        let mut scanner = Scanner::at(self.body_offset, 2).with_file_len(self.len);
        drive(&mut cursor, &mut scanner, |step| {
            if let Step::Chunk(c) = step
                && let Item::Block { header, .. } = decode(&c)?
            {
                builder.note_block(
                    header.track,
                    header.time(),
                    header.duration,
                    header.flags.is_keyframe(),
                    c.offset,
                    leaf,
                );
                leaf += 1;
            }
            Ok(true)
        })?;
        let chunk = builder.encode_chunk()?;
        Ok(chunk[CHUNK_HEADER_LEN..].to_vec())
    }

    /// Runs `f` with the index and the source its entries are read from.
    fn with_index<T>(
        &mut self,
        f: impl FnOnce(&SeekTable, &mut dyn ReadAt) -> Result<T>,
    ) -> Result<T> {
        self.seek_table()?;
        match &self.index {
            Some(Index::InFile {
                table,
                payload: Some(payload),
                ..
            })
            | Some(Index::Scanned { table, payload }) => f(table, &mut payload.as_slice()),
            Some(Index::InFile { table, .. }) => f(table, &mut self.src),
            None => unreachable!("seek_table built the index"),
        }
    }

    /// The keyframe of `track` (or of any track) at or before / after `time`, in the
    /// tracks' own block times (as stored).
    pub fn keyframe_by_block_time(
        &mut self,
        track: Option<u32>,
        time: u64,
        snap: Snap,
    ) -> Result<Option<SeekHit>> {
        self.with_index(|table, mut src| match track {
            Some(t) => table.find_in_track(&mut src, t, time, snap),
            None => table.find_any(&mut src, time, snap),
        })
    }

    /// The keyframe of `track` (or of any track) at or before / after a **stream time**: each
    /// track's block times are shifted by its META `time_offset`, so tracks stamped on
    /// different bases are compared on one timeline.
    pub fn keyframe_by_stream_time(
        &mut self,
        track: Option<u32>,
        time: u64,
        snap: Snap,
    ) -> Result<Option<SeekHit>> {
        let meta = self.meta.clone();
        let stream = |id: u32, block_time: u64| {
            meta.track(id)
                .map_or(block_time, |t| t.stream_time(block_time))
        };
        let tracks: Vec<u32> = match track {
            Some(t) => vec![t],
            None => self.seek_table()?.tracks.iter().map(|t| t.track).collect(),
        };
        let mut best: Option<(u64, SeekHit)> = None;
        for id in tracks {
            let raw = meta.track(id).map_or(time, |t| t.block_time(time));
            let Some(hit) = self.keyframe_by_block_time(Some(id), raw, snap)? else {
                continue;
            };
            let at = stream(id, hit.entry.time);
            let better = best.as_ref().is_none_or(|(b, bh)| match snap {
                Snap::Before => {
                    (at, std::cmp::Reverse(hit.entry.offset))
                        > (*b, std::cmp::Reverse(bh.entry.offset))
                }
                Snap::After => (at, hit.entry.offset) < (*b, bh.entry.offset),
            });
            if better {
                best = Some((at, hit));
            }
        }
        Ok(best.map(|(_, h)| h))
    }

    /// Entry `i` of the keyframe index (all tracks, in directory order).
    pub fn seek_entry(&mut self, i: u64) -> Result<SeekEntry> {
        self.with_index(|table, mut src| table.entry(&mut src, i))
    }

    /// Reads and CRC-checks the block chunk at `offset`.
    pub fn read_block_at(&mut self, offset: u64) -> Result<BlockAt> {
        let (h, payload) = read_chunk(&mut self.src, self.len, offset, None)?;
        if !is_block_tag(&h.tag) {
            return Err(Error::new(
                Code::ChunkOrder,
                format!(
                    "expected a block at offset {offset}, found {}",
                    tag_name(&h.tag)
                ),
            )
            .with_offset(offset));
        }
        let (header, data) = BlockHeader::decode(&payload).map_err(|e| e.with_offset(offset))?;
        let ch = h.encode();
        let leaf = leaf_hash(&[&ch, &payload]);
        Ok(BlockAt {
            offset,
            masked: h.tag == TAG_SAFE,
            header,
            data: data.to_vec(),
            leaf,
            chunk_len: h.chunk_len(),
        })
    }

    /// VERI, read once through TAIL.
    pub fn veri(&mut self) -> Result<&Veri> {
        if self.veri.is_none() {
            let Some(tail) = self.tail().copied() else {
                return Err(Error::new(
                    Code::VeriAbsent,
                    "the file has no VERI (no TAIL found)",
                ));
            };
            let (h, payload) = read_chunk(&mut self.src, self.len, tail.veri_offset, None)?;
            if h.tag != TAG_VERI {
                return Err(
                    Error::new(Code::TailMismatch, "TAIL does not point at VERI")
                        .with_offset(tail.veri_offset),
                );
            }
            self.veri = Some(Veri::decode(&payload).map_err(|e| e.with_offset(tail.veri_offset))?);
        }
        Ok(self.veri.as_ref().expect("just read"))
    }

    /// The stored leaf hash of block ordinal `leaf`, read from its HASH chunk (two small reads).
    pub fn stored_leaf(&mut self, leaf: u64) -> Result<Hash> {
        let piece = *self.veri()?.piece_for_leaf(leaf).ok_or_else(|| {
            Error::new(
                Code::ChunkUnlisted,
                format!("block ordinal {leaf} is not in the leaf table"),
            )
        })?;
        let mut fixed = [0u8; CHUNK_HEADER_LEN + CHECKPOINT_FIXED_LEN];
        self.src
            .read_exact_at(piece.offset, &mut fixed)
            .map_err(io_at(piece.offset, "reading HASH"))?;
        let hash = CheckpointFixed::decode(&fixed).map_err(|e| e.with_offset(piece.offset))?;
        let at = hash
            .leaf_offset(piece.offset, leaf)
            .filter(|_| hash.first_leaf == piece.first_leaf)
            .ok_or_else(|| {
                Error::new(
                    Code::ChunkUnlisted,
                    format!("HASH chunk at {} does not hold leaf {leaf}", piece.offset),
                )
                .with_offset(piece.offset)
            })?;
        let mut out = [0u8; 32];
        self.src
            .read_exact_at(at, &mut out)
            .map_err(io_at(at, "reading a leaf hash"))?;
        Ok(out)
    }

    /// Bytes of block data per track (chunk and block headers not counted), from a walk over the
    /// chunk headers of the body (12 bytes read per chunk, then the block's track and flags):
    /// payloads are neither read nor checked. `None` when the walk meets a header that cannot be
    /// followed (damage: a full scan is needed to get past it).
    pub fn data_bytes_per_track(&mut self) -> Result<Option<BTreeMap<u32, u64>>> {
        let end = self.tail().map_or(self.len, |t| t.seek_offset);
        let mut out = BTreeMap::new();
        let mut at = self.body_offset;
        while at < end {
            if at + (CHUNK_HEADER_LEN + BLOCK_HEADER_LEN) as u64 > self.len {
                return Ok(None);
            }
            let mut head = [0u8; CHUNK_HEADER_LEN + 8];
            self.src
                .read_exact_at(at, &mut head)
                .map_err(io_at(at, "reading a chunk header"))?;
            let h = ChunkHeader::parse(head[..CHUNK_HEADER_LEN].try_into().expect("12 bytes"));
            if !is_known_tag(&h.tag) || h.size > MAX_PAYLOAD || at + h.chunk_len() > self.len {
                return Ok(None);
            }
            if is_block_tag(&h.tag) {
                let track = u32::from_le_bytes(head[12..16].try_into().expect("4 bytes"));
                let flags = BlockFlags(u32::from_le_bytes(
                    head[16..20].try_into().expect("4 bytes"),
                ));
                let clipped = flags.0 & BlockFlags::CLIPPED != 0;
                let headers =
                    BLOCK_HEADER_LEN as u64 + if clipped { CLIPPING_LEN as u64 } else { 0 };
                *out.entry(track).or_default() += u64::from(h.size).saturating_sub(headers);
            }
            at += h.chunk_len();
        }
        Ok(Some(out))
    }

    /// The chunk at `offset`, CRC checked: its header and payload.
    pub fn chunk_at(&mut self, offset: u64) -> Result<(ChunkHeader, Vec<u8>)> {
        read_chunk(&mut self.src, self.len, offset, None)
    }

    /// Every HASH chunk VERI lists, in file order (finished files).
    pub fn checkpoints(&mut self) -> Result<Vec<(u64, Checkpoint)>> {
        let pieces = self.veri()?.pieces.clone();
        let mut out = Vec::with_capacity(pieces.len());
        for p in pieces {
            let (h, payload) = self.chunk_at(p.offset)?;
            if h.tag != TAG_HASH {
                return Err(Error::new(
                    Code::ChunkUnlisted,
                    format!(
                        "VERI lists a HASH chunk at {}, found {}",
                        p.offset,
                        tag_name(&h.tag)
                    ),
                )
                .with_offset(p.offset));
            }
            let cp = Checkpoint::decode(&payload).map_err(|e| e.with_offset(p.offset))?;
            if cp.first_leaf != p.first_leaf {
                return Err(Error::new(
                    Code::ChunkUnlisted,
                    format!(
                        "VERI lists the HASH chunk at {} from leaf {}, it says {}",
                        p.offset, p.first_leaf, cp.first_leaf
                    ),
                )
                .with_offset(p.offset));
            }
            out.push((p.offset, cp));
        }
        Ok(out)
    }

    /// The SIGN chunk right after VERI, if there is one (finished files).
    pub fn veri_signature(&mut self) -> Result<Option<Signature>> {
        let Some(tail) = self.tail().copied() else {
            return Ok(None);
        };
        let (veri, _) = self.chunk_at(tail.veri_offset)?;
        let at = tail.veri_offset + veri.chunk_len();
        if at >= tail.file_len - crate::format::tail::TAIL_CHUNK_LEN {
            return Ok(None);
        }
        let (h, payload) = self.chunk_at(at)?;
        if h.tag != TAG_SIGN {
            return Ok(None);
        }
        Signature::decode(&payload)
            .map(Some)
            .map_err(|e| e.with_offset(at))
    }

    /// Looks up a keyframe by stream time and reads its block, checking that the block is the
    /// one the entry names: CRC, track, time, and (in a finished file) its leaf in the leaf table.
    pub fn seek_verified(
        &mut self,
        track: Option<u32>,
        time: u64,
        snap: Snap,
    ) -> Result<Option<(SeekHit, BlockAt)>> {
        let Some(hit) = self.keyframe_by_stream_time(track, time, snap)? else {
            return Ok(None);
        };
        let block = self.read_block_at(hit.entry.offset)?;
        let mismatch = |what: String| {
            Err(Error::new(Code::SeekEntryMismatch, what).with_offset(hit.entry.offset))
        };
        if block.header.track != hit.track
            || block.header.time() != Some(hit.entry.time)
            || !block.header.flags.is_keyframe()
        {
            return mismatch(format!(
                "SEEK names a track {} keyframe at {} ns; the block there is a track {} {} {}",
                hit.track,
                hit.entry.time,
                block.header.track,
                if block.header.flags.is_keyframe() {
                    "keyframe"
                } else {
                    "delta block"
                },
                block
                    .header
                    .time()
                    .map_or("without a time".to_string(), |t| format!("at {t} ns")),
            ));
        }
        if self.is_finished() {
            let stored = self.stored_leaf(hit.entry.ordinal)?;
            if stored != block.leaf {
                return Err(Error::new(
                    Code::BlockHashMismatch,
                    format!(
                        "block ordinal {} does not match its leaf hash",
                        hit.entry.ordinal
                    ),
                )
                .with_offset(hit.entry.offset));
            }
        }
        Ok(Some((hit, block)))
    }

    /// Visits every chunk (and damaged region) from the first after META, in file order.
    pub fn scan_body(&mut self, visit: impl FnMut(Step<'_>) -> Result<bool>) -> Result<()> {
        let mut cursor = ReadAtCursor {
            src: &mut self.src,
            pos: self.body_offset,
            end: self.len,
        };
        let mut scanner = Scanner::at(self.body_offset, 2).with_file_len(self.len);
        drive(&mut cursor, &mut scanner, visit)
    }
}

/// Reads one chunk at `offset` through the scanner's whole-chunk path, which judges its
/// header (size limit, extent within the file) before anything is allocated and its CRC after.
fn read_chunk<S: ReadAt>(
    src: &mut S,
    len: u64,
    offset: u64,
    ordinal: Option<u64>,
) -> Result<(ChunkHeader, Vec<u8>)> {
    let locate = |e: Error| match ordinal {
        Some(_) => e,
        None => Error { chunk: None, ..e },
    };
    if offset.saturating_add(CHUNK_HEADER_LEN as u64) > len {
        return Err(locate(Error::at(
            Code::ChunkTruncated,
            ordinal.unwrap_or(0),
            offset,
            format!("the file ends at {len}, inside a chunk header"),
        )));
    }
    let mut head = [0u8; CHUNK_HEADER_LEN];
    src.read_exact_at(offset, &mut head)
        .map_err(|e| locate(Error::io(e, "reading a chunk header").with_offset(offset)))?;
    // Any ordinal but 0 where none is known: the file magic is checked only for chunk 0.
    let mut scanner = Scanner::at(offset, ordinal.unwrap_or(1)).with_file_len(len);
    let chunk_len = scanner.whole_chunk_len(&head).map_err(locate)?;
    let mut payload = vec![0u8; (chunk_len - CHUNK_HEADER_LEN as u64) as usize];
    src.read_exact_at(offset + CHUNK_HEADER_LEN as u64, &mut payload)
        .map_err(|e| locate(Error::io(e, "reading a chunk").with_offset(offset)))?;
    let header = scanner.take_whole(&head, &payload).map_err(locate)?.header;
    Ok((header, payload))
}
