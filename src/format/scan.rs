//! The incremental chunk scanner: accepts bytes in pieces of any size, yields whole chunks
//! whose CRC holds, and reports damaged regions, then resynchronises on the next valid chunk.
//!
//! Resynchronisation: after a chunk fails (bad magic, size over the limit, CRC mismatch,
//! extent past the end), the scanner searches from the byte after its start for the first
//! offset where a chunk with a known tag, an allowed size and a matching CRC begins. The
//! failed chunk is reported once, as one region, with its ordinal; the chunk found next gets
//! the following ordinal. A single damaged byte therefore costs exactly one chunk.
//!
//! Budgets (see `limits`): every offset is tried once and a candidate's CRC comes from
//! checkpoints (`range_crc`) in bounded time, so the search is linear in the bytes scanned
//! whatever sizes the damaged bytes claim; the damaged bytes are let go as the search passes
//! them, so memory stays within one chunk and one read however long the damage runs.

use std::io::{self, Read};

use crate::format::chunk::{
    CHUNK_HEADER_LEN, ChunkHeader, MAX_PAYLOAD, TAG_HEADER, Tag, chunk_crc, is_known_tag, tag_name,
};
use crate::format::error::{Code, Error, Result};
use crate::format::limits::READ_PIECE;
use crate::format::range_crc::{RangeCrc, SHIFT_COST, STRIDE};

/// A complete chunk whose CRC matched.
#[derive(Debug, Clone, Copy)]
pub struct RawChunk<'a> {
    pub ordinal: u64,
    pub offset: u64,
    pub header: ChunkHeader,
    /// The bytes after the header (`header.size` of them).
    pub payload: &'a [u8],
}

impl RawChunk<'_> {
    pub fn end(&self) -> u64 {
        self.offset + self.header.chunk_len()
    }
}

/// A region that failed: one chunk's worth of bytes that could not be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Code, chunk ordinal and the offset where the damaged chunk starts.
    pub error: Error,
    /// Bytes skipped, from the damaged chunk's start to the next valid chunk or the end.
    pub len: u64,
    /// The tag as read (it may itself be damaged).
    pub tag: Tag,
    /// The first bytes of the damaged chunk (up to 52: a chunk and block header), so a reader
    /// can say which block it probably was. Unverified by definition.
    pub head: Vec<u8>,
}

#[derive(Debug)]
pub enum Step<'a> {
    Chunk(RawChunk<'a>),
    Damage(Damage),
    /// Feed more bytes (or call `finish`) and ask again.
    NeedMore,
    /// Every byte fed has been accounted for and `finish` was called.
    End,
}

/// How many bytes of a damaged chunk's start a [`Damage`] carries.
const HEAD_LEN: usize = 52;

#[derive(Debug)]
pub struct Scanner {
    buf: Vec<u8>,
    /// Index in `buf` of the first byte still needed.
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    ordinal: u64,
    eof: bool,
    /// The input's length, when known: claims past it are refused without waiting.
    file_len: Option<u64>,
    /// Set while the chunk at `Resync::at` is known bad and the next valid one is searched for.
    resync: Option<Resync>,
    /// CRC checkpoints for the searches, kept from one search to the next so that no byte is
    /// hashed for them twice. Bytes are kept from `min(start, crc.keep_from())` on.
    crc: RangeCrc,
    /// The most memory held at once (buffer and CRC checkpoints), in bytes.
    peak: usize,
    /// Work done by finished searches and the plain path, in bytes hashed or tried.
    work: u64,
    /// The next read's size: small for small inputs, growing to [`READ_PIECE`].
    read_piece: usize,
}

/// The first read's size; each read that fills its piece doubles the next, up to
/// [`READ_PIECE`].
const FIRST_READ: usize = 16 << 10;

/// The most work a search may do per byte it scans, in bytes hashed: every offset is tried
/// (1), at most one in two starts a known tag (tags overlap by at most two bytes), and such a
/// candidate costs two strides of CRC, its 8-byte prefix and one shift.
pub const WORK_PER_BYTE: u64 = 1 + (2 * STRIDE + 8 + SHIFT_COST).div_ceil(2);

/// A search for the next valid chunk after a damaged one. The damaged bytes are let go as the
/// search passes them; only the first [`HEAD_LEN`] are kept, for the report.
#[derive(Debug)]
struct Resync {
    at: u64,
    code: Code,
    msg: String,
    head: Vec<u8>,
    /// The next offset to try as a chunk start.
    next: u64,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    /// A scanner positioned at the start of a file.
    pub fn new() -> Self {
        Self::at(0, 0)
    }

    /// A scanner whose first byte is at `offset` in the file, where chunk `ordinal` starts.
    pub fn at(offset: u64, ordinal: u64) -> Self {
        Scanner {
            buf: Vec::new(),
            start: 0,
            end: 0,
            base: offset,
            ordinal,
            eof: false,
            file_len: None,
            resync: None,
            crc: RangeCrc::new(offset),
            peak: 0,
            work: 0,
            read_piece: FIRST_READ,
        }
    }

    /// Tells the scanner where the input ends: a chunk claiming to reach past it is damaged at
    /// once instead of being waited for, and the end is judged when the last byte arrives.
    pub fn with_file_len(mut self, len: u64) -> Self {
        self.file_len = Some(len);
        self
    }

    /// File offset of the next byte not yet accounted for.
    pub fn position(&self) -> u64 {
        match &self.resync {
            Some(r) => r.at,
            None => self.abs(self.start),
        }
    }

    /// Ordinal the next chunk will get.
    pub fn next_ordinal(&self) -> u64 {
        self.ordinal
    }

    /// Bytes fed but not yet accounted for (some may already have been let go, when they
    /// are part of a damaged chunk).
    pub fn buffered(&self) -> usize {
        (self.abs(self.end) - self.position()) as usize
    }

    /// Work done so far, in bytes hashed or tried: at most [`WORK_PER_BYTE`] per byte fed.
    pub fn work(&self) -> u64 {
        self.work + self.crc.work()
    }

    /// The most memory the scanner has held at once, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.peak
    }

    fn abs(&self, i: usize) -> u64 {
        self.base + i as u64
    }

    fn idx(&self, offset: u64) -> usize {
        (offset - self.base) as usize
    }

    fn at_end(&self) -> bool {
        self.eof || self.file_len == Some(self.abs(self.end))
    }

    fn account(&mut self) {
        self.peak = self.peak.max(self.buf.capacity() + 4 * self.crc.marks());
    }

    /// Index of the first byte kept: the scan's, or the checkpoint's below it.
    fn kept(&self) -> usize {
        self.idx(self.crc.keep_from().clamp(self.base, self.abs(self.start)))
    }

    fn make_room(&mut self, extra: usize) {
        self.crc.forget_below(self.abs(self.start));
        let kept = self.kept();
        if kept > 0 && (kept >= self.buf.len() / 2 || self.end + extra > self.buf.len()) {
            self.buf.copy_within(kept..self.end, 0);
            self.base += kept as u64;
            self.end -= kept;
            self.start -= kept;
        }
        if self.end + extra > self.buf.len() {
            self.buf.resize(self.end + extra, 0);
        }
        self.account();
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.make_room(data.len());
        self.buf[self.end..self.end + data.len()].copy_from_slice(data);
        self.end += data.len();
    }

    /// Reads once (at most [`READ_PIECE`] bytes) from `r` straight into the buffer; at end of
    /// input calls `finish`. Returns the number of bytes read.
    pub fn fill_from<R: Read>(&mut self, r: &mut R) -> io::Result<usize> {
        let piece = self.read_piece;
        self.make_room(piece);
        let n = loop {
            match r.read(&mut self.buf[self.end..self.end + piece]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == piece {
            self.read_piece = (piece * 2).min(READ_PIECE);
        }
        self.end += n;
        if n == 0 {
            self.finish();
        }
        Ok(n)
    }

    /// Marks the end of input: what is left is judged now instead of waiting for more.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    fn header_at(&self, offset: u64) -> ChunkHeader {
        let i = self.idx(offset);
        ChunkHeader::parse(
            self.buf[i..i + CHUNK_HEADER_LEN]
                .try_into()
                .expect("12 bytes"),
        )
    }

    pub fn step(&mut self) -> Step<'_> {
        if let Some(r) = self.resync.take() {
            return self.search(r);
        }
        let avail = self.end - self.start;
        if avail == 0 {
            return if self.at_end() {
                Step::End
            } else {
                Step::NeedMore
            };
        }
        if avail < CHUNK_HEADER_LEN {
            if !self.at_end() {
                return Step::NeedMore;
            }
            let msg = format!("the file ends {avail} bytes into a chunk header");
            return self.damaged(Code::ChunkTruncated, msg);
        }
        let offset = self.position();
        let h = self.header_at(offset);
        let len = h.chunk_len() as usize;
        let known = self.file_len.is_some() || self.at_end();
        let end = self.file_len.unwrap_or(self.abs(self.end));
        if let Some((code, msg)) = self.frame_problem(offset, &h, known.then_some(end)) {
            return self.damaged(code, msg);
        }
        if avail < len {
            return Step::NeedMore;
        }
        let payload = &self.buf[self.start + CHUNK_HEADER_LEN..self.start + len];
        self.work += len as u64;
        if let Some(msg) = crc_problem(&h, payload) {
            return self.damaged(Code::ChunkCrcMismatch, msg);
        }
        let ordinal = self.ordinal;
        self.ordinal += 1;
        let start = self.start;
        self.start += len;
        Step::Chunk(RawChunk {
            ordinal,
            offset,
            header: h,
            payload: &self.buf[start + CHUNK_HEADER_LEN..start + len],
        })
    }

    /// What is wrong with a chunk header at `offset`, judged on the header alone: the file
    /// magic, the size limit, and (when the input's `end` is known) a claim past it.
    fn frame_problem(
        &self,
        offset: u64,
        h: &ChunkHeader,
        end: Option<u64>,
    ) -> Option<(Code, String)> {
        if self.ordinal == 0 && offset == 0 && h.tag != TAG_HEADER {
            let msg = format!(
                "the file starts with \"{}\", not \"H4MK\"",
                tag_name(&h.tag)
            );
            return Some((Code::FileMagic, msg));
        }
        if h.size > MAX_PAYLOAD {
            let msg = format!(
                "{} chunk declares {} bytes, over the {MAX_PAYLOAD}-byte limit",
                tag_name(&h.tag),
                h.size
            );
            return Some((Code::ChunkSizeLimit, msg));
        }
        let end = end.filter(|e| offset + h.chunk_len() > *e)?;
        let left = end.saturating_sub(offset + CHUNK_HEADER_LEN as u64);
        let msg = format!(
            "{} chunk declares {} payload bytes but the file ends after {left}",
            tag_name(&h.tag),
            h.size,
        );
        Some((Code::ChunkTruncated, msg))
    }

    /// The fast path for readers that fetch whole chunks themselves (positional reads, the
    /// pull-mode demuxer): the length of the whole chunk whose header `head` is at the
    /// scanner's position, or the error `step` would report for it. Only when nothing is
    /// buffered and no search is under way.
    pub fn whole_chunk_len(&self, head: &[u8; CHUNK_HEADER_LEN]) -> Result<u64> {
        let offset = self.position();
        if self.resync.is_some() || self.buffered() > 0 {
            return Err(Error::at(
                Code::InvalidInput,
                self.ordinal,
                offset,
                "the scanner holds bytes: step through them first",
            ));
        }
        let h = ChunkHeader::parse(head);
        match self.frame_problem(offset, &h, self.file_len) {
            Some((code, msg)) => Err(Error::at(code, self.ordinal, offset, msg)),
            None => Ok(h.chunk_len()),
        }
    }

    /// Takes the whole chunk at the scanner's position, read by the caller (`head` and its
    /// `payload`), without copying it: the chunk when its framing and CRC hold, and the
    /// scanner moves past it; otherwise the error, and nothing changes (feed the bytes and
    /// step, to report the damage and resynchronise).
    pub fn take_whole<'a>(
        &mut self,
        head: &[u8; CHUNK_HEADER_LEN],
        payload: &'a [u8],
    ) -> Result<RawChunk<'a>> {
        let len = self.whole_chunk_len(head)?;
        let offset = self.position();
        let h = ChunkHeader::parse(head);
        let problem = if payload.len() as u64 + CHUNK_HEADER_LEN as u64 != len {
            let msg = format!(
                "{} chunk: {} payload bytes read of {}",
                tag_name(&h.tag),
                payload.len(),
                h.size
            );
            Some((Code::ChunkTruncated, msg))
        } else {
            crc_problem(&h, payload).map(|msg| (Code::ChunkCrcMismatch, msg))
        };
        self.work += len;
        if let Some((code, msg)) = problem {
            return Err(Error::at(code, self.ordinal, offset, msg));
        }
        let ordinal = self.ordinal;
        self.ordinal += 1;
        self.base = offset + len;
        self.start = 0;
        self.end = 0;
        // The bytes before are not the scanner's to keep: no checkpoint may lean on them.
        self.crc.restart(self.base);
        Ok(RawChunk {
            ordinal,
            offset,
            header: h,
            payload,
        })
    }

    /// The chunk at `start` is damaged: starts the search for the next valid one.
    fn damaged(&mut self, code: Code, msg: String) -> Step<'_> {
        let at = self.position();
        let r = Resync {
            at,
            code,
            msg,
            head: Vec::with_capacity(HEAD_LEN),
            next: at + 1,
        };
        self.search(r)
    }

    /// Copies what is still missing of the damaged chunk's first bytes before they go.
    fn keep_head(&self, r: &mut Resync) {
        let from = r.at + r.head.len() as u64;
        let to = (r.at + HEAD_LEN as u64).min(self.abs(self.end));
        if from < to && from >= self.abs(self.start) {
            r.head
                .extend_from_slice(&self.buf[self.idx(from)..self.idx(to)]);
        }
    }

    /// Searches from `r.next` for the first offset where a chunk with a known tag, an allowed
    /// size and a matching CRC begins. Each offset is tried once; a candidate's CRC comes from
    /// `r.crc` in bounded time whatever size it claims.
    fn search(&mut self, mut r: Resync) -> Step<'_> {
        let avail = self.abs(self.end);
        let mut q = r.next;
        let found = loop {
            if q + CHUNK_HEADER_LEN as u64 > avail {
                if self.at_end() {
                    break None;
                }
                return self.park(r, q);
            }
            let i = self.idx(q);
            if is_known_tag(&self.buf[i..i + 4]) {
                let h = self.header_at(q);
                let e = q + h.chunk_len();
                let fits = h.size <= MAX_PAYLOAD && self.file_len.is_none_or(|l| e <= l);
                if fits && e > avail && !self.at_end() {
                    // Cannot tell yet whether a valid chunk starts here.
                    return self.park(r, q);
                }
                if fits && e <= avail {
                    let kept = self.kept();
                    let bytes = &self.buf[kept..self.end];
                    let at = self.abs(kept);
                    let crc = self
                        .crc
                        .with_prefix(&self.buf[i..i + 8], bytes, at, q + 12, e);
                    if crc == h.crc {
                        break Some(q);
                    }
                }
            }
            q += 1;
        };
        self.work += q - r.next;
        self.keep_head(&mut r);
        let next = found.unwrap_or(avail);
        let mut tag = [0u8; 4];
        let n = r.head.len().min(4);
        tag[..n].copy_from_slice(&r.head[..n]);
        let damage = Damage {
            error: Error::at(r.code, self.ordinal, r.at, r.msg),
            len: next - r.at,
            tag,
            head: r.head,
        };
        self.ordinal += 1;
        self.start = self.idx(next);
        Step::Damage(damage)
    }

    /// Waits for more input at `q`, letting go of the bytes the search no longer needs.
    fn park(&mut self, mut r: Resync, q: u64) -> Step<'_> {
        self.keep_head(&mut r);
        self.work += q - r.next;
        r.next = q;
        self.start = self.idx(q);
        self.crc.forget_below(q);
        self.resync = Some(r);
        self.account();
        Step::NeedMore
    }
}

/// Why `payload` is not `h`'s, by its CRC (`None` when it is).
fn crc_problem(h: &ChunkHeader, payload: &[u8]) -> Option<String> {
    let crc = chunk_crc(&h.tag, h.size, &[payload]);
    (crc != h.crc).then(|| {
        format!(
            "{} chunk: stored CRC {:08x}, computed {crc:08x}",
            tag_name(&h.tag),
            h.crc,
        )
    })
}

/// Runs `scanner` over everything `r` yields, handing each chunk and damaged region to
/// `visit` until it returns `false` or the input ends. Only I/O errors end it early.
pub fn drive<R: Read>(
    r: &mut R,
    scanner: &mut Scanner,
    mut visit: impl FnMut(Step<'_>) -> crate::format::error::Result<bool>,
) -> crate::format::error::Result<()> {
    loop {
        match scanner.step() {
            Step::NeedMore => {
                scanner
                    .fill_from(r)
                    .map_err(|e| Error::io(e, "reading H4MK input"))?;
            }
            Step::End => return Ok(()),
            step => {
                if !visit(step)? {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::chunk::{TAG_CORE, TAG_HASH, TAG_META, encode_chunk};
    use crate::format::header::FileHeader;

    fn sample() -> Vec<u8> {
        let mut f = FileHeader::CURRENT.encode_chunk();
        f.extend(encode_chunk(&TAG_META, b"{}").unwrap());
        f.extend(encode_chunk(&TAG_CORE, &[5u8; 50]).unwrap());
        f.extend(encode_chunk(&TAG_CORE, &[6u8; 3]).unwrap());
        f
    }

    type Items = Vec<(u64, u64, std::result::Result<Tag, Code>)>;

    fn chunk_item(c: &RawChunk) -> (u64, u64, std::result::Result<Tag, Code>) {
        (c.ordinal, c.offset, Ok(c.header.tag))
    }

    fn damage_item(d: &Damage) -> (u64, u64, std::result::Result<Tag, Code>) {
        (
            d.error.chunk.unwrap(),
            d.error.offset.unwrap(),
            Err(d.error.code),
        )
    }

    /// Deterministic numbers below `n` (xorshift), for the randomised tests.
    fn numbers(mut seed: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        }
    }

    /// Runs `s` over `bytes` fed `piece` bytes at a time: (ordinal, offset, Ok(tag) |
    /// Err(code)) for each item, and the scanner at the end. With the length known, the scanner
    /// must never wait past it.
    fn run(mut s: Scanner, bytes: &[u8], piece: usize) -> (Items, Scanner) {
        let known = s.file_len.is_some();
        let mut out = Vec::new();
        let mut fed = 0;
        loop {
            match s.step() {
                Step::Chunk(c) => out.push(chunk_item(&c)),
                Step::Damage(d) => out.push(damage_item(&d)),
                Step::End => return (out, s),
                Step::NeedMore if fed == bytes.len() => {
                    assert!(!known, "the scanner waits past the known length");
                    s.finish();
                }
                Step::NeedMore => {
                    let n = piece.min(bytes.len() - fed);
                    s.feed(&bytes[fed..fed + n]);
                    fed += n;
                }
            }
        }
    }

    /// As the pull-mode demuxer reads: each whole chunk fetched and taken by `take_whole` when
    /// the scanner is idle, the scanner fed `piece` bytes when that fails.
    fn scan_pulled(bytes: &[u8], piece: usize) -> Items {
        let mut s = Scanner::new().with_file_len(bytes.len() as u64);
        let mut out = Vec::new();
        let mut fed = 0usize;
        loop {
            if s.buffered() == 0 && s.resync.is_none() && fed + CHUNK_HEADER_LEN <= bytes.len() {
                let head: [u8; CHUNK_HEADER_LEN] = bytes[fed..fed + 12].try_into().unwrap();
                if let Ok(len) = s.whole_chunk_len(&head) {
                    let end = fed + len as usize;
                    if let Ok(c) = s.take_whole(&head, &bytes[fed + 12..end]) {
                        out.push(chunk_item(&c));
                        fed = end;
                        continue;
                    }
                }
            }
            match s.step() {
                Step::Chunk(c) => out.push(chunk_item(&c)),
                Step::Damage(d) => out.push(damage_item(&d)),
                Step::End => return out,
                Step::NeedMore => {
                    assert!(fed < bytes.len(), "the scanner waits past the known length");
                    let n = piece.min(bytes.len() - fed);
                    s.feed(&bytes[fed..fed + n]);
                    fed += n;
                }
            }
        }
    }

    fn scan(bytes: &[u8], piece: usize) -> Items {
        run(Scanner::new(), bytes, piece).0
    }

    fn scan_known_len(bytes: &[u8], piece: usize) -> Items {
        run(
            Scanner::new().with_file_len(bytes.len() as u64),
            bytes,
            piece,
        )
        .0
    }

    #[test]
    fn any_piece_size_gives_the_same_chunks() {
        let f = sample();
        let whole = scan(&f, f.len());
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[2], (2, 34, Ok(TAG_CORE)));
        for piece in 1..40 {
            assert_eq!(scan(&f, piece), whole, "piece size {piece}");
        }
    }

    #[test]
    fn one_flipped_byte_costs_exactly_one_chunk() {
        let f = sample();
        let starts = [0usize, 20, 34, 96];
        for i in 0..f.len() {
            let mut bad = f.clone();
            bad[i] ^= 0x40;
            let items = scan(&bad, 7);
            let hit = starts.iter().rposition(|s| *s <= i).unwrap() as u64;
            let damaged: Vec<_> = items.iter().filter(|x| x.2.is_err()).collect();
            assert_eq!(damaged.len(), 1, "byte {i}: {items:?}");
            assert_eq!(damaged[0].0, hit, "byte {i}");
            assert_eq!(damaged[0].1, starts[hit as usize] as u64, "byte {i}");
            assert_eq!(
                items.len(),
                4,
                "byte {i}: ordinals after the damage must line up: {items:?}"
            );
            if i < 4 {
                assert_eq!(damaged[0].2, Err(Code::FileMagic));
            }
        }
    }

    #[test]
    fn cut_file_keeps_complete_chunks_and_reports_the_rest() {
        let f = sample();
        let items = scan(&f[..f.len() - 1], 5);
        assert_eq!(items.len(), 4);
        assert_eq!(items[3], (3, 96, Err(Code::ChunkTruncated)));
        let items = scan(&f[..98], 5);
        assert_eq!(items[3], (3, 96, Err(Code::ChunkTruncated)));
    }

    #[test]
    fn oversized_declaration_is_refused_without_waiting() {
        let mut f = FileHeader::CURRENT.encode_chunk();
        f.extend_from_slice(b"CORE");
        f.extend_from_slice(&u32::MAX.to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        let mut s = Scanner::new();
        s.feed(&f);
        assert!(matches!(s.step(), Step::Chunk(_)));
        s.finish();
        match s.step() {
            Step::Damage(d) => assert_eq!(d.error.code, Code::ChunkSizeLimit),
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.step(), Step::End));
    }

    /// The plain definition: the first offset after `from` where a chunk with a known tag, an
    /// allowed size, inside the input, and a matching CRC begins.
    fn reference(bytes: &[u8]) -> Items {
        let mut out = Vec::new();
        let mut pos = 0usize;
        let mut ordinal = 0u64;
        let valid = |q: usize| {
            q + CHUNK_HEADER_LEN <= bytes.len() && is_known_tag(&bytes[q..q + 4]) && {
                let h = ChunkHeader::parse(bytes[q..q + 12].try_into().unwrap());
                h.size <= MAX_PAYLOAD
                    && q as u64 + h.chunk_len() <= bytes.len() as u64
                    && crate::format::chunk::crc_matches(&bytes[q..q + h.chunk_len() as usize])
            }
        };
        while pos < bytes.len() {
            let ok = valid(pos) && !(ordinal == 0 && pos == 0 && bytes[0..4] != TAG_HEADER);
            if ok {
                let h = ChunkHeader::parse(bytes[pos..pos + 12].try_into().unwrap());
                out.push((ordinal, pos as u64, Ok(h.tag)));
                pos += h.chunk_len() as usize;
            } else {
                let next = (pos + 1..bytes.len())
                    .find(|q| valid(*q))
                    .unwrap_or(bytes.len());
                out.push((ordinal, pos as u64, Err(Code::ChunkCrcMismatch)));
                pos = next;
            }
            ordinal += 1;
        }
        out
    }

    fn codes_erased(items: Items) -> Items {
        items
            .into_iter()
            .map(|(o, at, r)| (o, at, r.map_err(|_| Code::ChunkCrcMismatch)))
            .collect()
    }

    /// Random damage on random chunks (chunks duplicated, swapped or dropped, size fields at
    /// their extremes, bit flips, plausible headers, cuts, valid chunks planted inside others):
    /// the scanner agrees with the plain definition, fed in any piece size, with and without the
    /// length, and stays within its work and memory budgets.
    #[test]
    fn damage_of_every_kind_matches_the_plain_definition() {
        let mut rnd = numbers(0x2545_f491_4f6c_dd1du64);
        for round in 0..400 {
            // Whole chunks first, for chunk-level mutations.
            let mut chunks = vec![FileHeader::CURRENT.encode_chunk()];
            for _ in 0..rnd(8) + 1 {
                let tag = [TAG_CORE, TAG_META, TAG_HASH][rnd(3)];
                let len = rnd(700);
                let payload: Vec<u8> = (0..len).map(|_| rnd(256) as u8).collect();
                chunks.push(encode_chunk(&tag, &payload).unwrap());
            }
            for _ in 0..rnd(3) {
                let n = chunks.len();
                match rnd(4) {
                    0 => {
                        let c = chunks[rnd(n)].clone();
                        chunks.insert(rnd(n + 1), c);
                    }
                    1 if n > 1 => chunks.swap(rnd(n), rnd(n)),
                    2 if n > 1 => {
                        chunks.remove(rnd(n));
                    }
                    _ => {
                        // A size field at an extreme.
                        let size = [0, 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, u32::MAX][rnd(5)];
                        chunks[rnd(n)][4..8].copy_from_slice(&size.to_le_bytes());
                    }
                }
            }
            let mut f = chunks.concat();
            for _ in 0..rnd(4) {
                match rnd(4) {
                    0 => {
                        let i = rnd(f.len());
                        f[i] ^= 1 << rnd(8);
                    }
                    1 => {
                        // A plausible header claiming up to past the end.
                        let i = rnd(f.len());
                        let mut h = b"CORE".to_vec();
                        h.extend(((rnd(2000)) as u32).to_le_bytes());
                        h.extend([0; 4]);
                        let n = h.len().min(f.len() - i);
                        f[i..i + n].copy_from_slice(&h[..n]);
                    }
                    2 => {
                        let cut = rnd(f.len()) + 1;
                        f.truncate(cut);
                    }
                    _ => {
                        // A valid chunk planted inside another one.
                        let i = rnd(f.len());
                        let c = encode_chunk(&TAG_CORE, &[7; 5]).unwrap();
                        let n = c.len().min(f.len() - i);
                        f[i..i + n].copy_from_slice(&c[..n]);
                    }
                }
            }
            let want = reference(&f);
            for piece in [1, 5, 64, 4096] {
                assert_eq!(
                    codes_erased(scan(&f, piece)),
                    want,
                    "round {round} piece {piece}"
                );
                assert_eq!(
                    codes_erased(scan_pulled(&f, piece)),
                    want,
                    "round {round} piece {piece}, whole chunks taken when idle"
                );
                let (work, peak, _) = cost(&f, piece, piece % 2 == 0);
                let bound = (WORK_PER_BYTE + 2) * f.len() as u64 + 1024;
                assert!(work <= bound, "round {round}: work {work} > {bound}");
                assert!(
                    peak <= 2 * f.len() + (1 << 20) + 4096,
                    "round {round}: {peak}"
                );
                assert_eq!(
                    codes_erased(scan_known_len(&f, piece)),
                    want,
                    "round {round} piece {piece}, length known"
                );
            }
        }
    }

    /// A damaged chunk followed by a dense run of plausible headers, each claiming a large
    /// payload: the work is linear in the bytes (the old search hashed each claim in full).
    #[test]
    fn a_run_of_plausible_headers_costs_linear_work() {
        let mut f = FileHeader::CURRENT.encode_chunk();
        f.extend_from_slice(b"XXXX");
        let n = 200_000;
        for k in 0..n {
            f.extend_from_slice(b"CORE");
            // Each claim reaches to near the end of the run.
            let claim = ((n - k) * 12) as u32 - 12;
            f.extend_from_slice(&claim.to_le_bytes());
            f.extend_from_slice(&[0; 4]);
        }
        let t = std::time::Instant::now();
        let items = scan(&f, 1 << 16);
        let spent = t.elapsed();
        assert_eq!(items.len(), 2, "{:?}", &items[..items.len().min(4)]);
        assert_eq!(items[1], (1, 20, Err(Code::ChunkSizeLimit)));
        // 2.4 MB of candidates: quadratic work would be about 240 GB of CRC.
        assert!(spent.as_secs_f64() < 5.0, "{spent:?}");
    }

    /// One damaged header, then a long stretch with no valid chunk, fed as a stream: memory
    /// stays within a read and the checkpoints, not the length of the damage.
    #[test]
    fn a_long_damaged_stretch_is_not_kept() {
        let mut s = Scanner::new();
        s.feed(&FileHeader::CURRENT.encode_chunk());
        assert!(matches!(s.step(), Step::Chunk(_)));
        let junk: Vec<u8> = (0..1 << 16).map(|i| (i * 7 + 3) as u8).collect();
        let mut fed = 0u64;
        for _ in 0..800 {
            s.feed(&junk);
            fed += junk.len() as u64;
            assert!(matches!(s.step(), Step::NeedMore));
        }
        assert!(fed >= 50 << 20);
        assert!(s.peak_memory() < 1 << 20, "{} bytes held", s.peak_memory());
        s.finish();
        match s.step() {
            Step::Damage(d) => {
                assert_eq!(d.error.offset, Some(20));
                assert_eq!(d.len, fed);
                assert_eq!(d.head, junk[..52].to_vec());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.step(), Step::End));
    }

    /// A claim of 256 MiB in a small input whose length is known is refused at once, with no
    /// buffer sized by the claim.
    #[test]
    fn a_claim_past_the_known_end_is_damage_at_once() {
        let mut f = FileHeader::CURRENT.encode_chunk();
        f.extend_from_slice(b"CORE");
        f.extend_from_slice(&(MAX_PAYLOAD - 1).to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        f.extend(encode_chunk(&TAG_CORE, &[1; 100]).unwrap());
        let mut s = Scanner::new().with_file_len(f.len() as u64);
        let mut r: &[u8] = &f;
        let mut items = Vec::new();
        drive(&mut r, &mut s, |step| {
            items.push(match step {
                Step::Chunk(c) => Ok(c.offset),
                Step::Damage(d) => Err((d.error.code, d.error.offset, d.len)),
                _ => unreachable!(),
            });
            Ok(true)
        })
        .unwrap();
        assert_eq!(
            items,
            vec![Ok(0), Err((Code::ChunkTruncated, Some(20), 12)), Ok(32)]
        );
        assert!(s.peak_memory() <= READ_PIECE + 4096, "{}", s.peak_memory());
    }

    /// Scans `bytes` in pieces and returns the scanner's work, peak memory and item count.
    fn cost(bytes: &[u8], piece: usize, known_len: bool) -> (u64, usize, usize) {
        let mut s = Scanner::new();
        if known_len {
            s = s.with_file_len(bytes.len() as u64);
        }
        let (items, s) = run(s, bytes, piece);
        (s.work(), s.peak_memory(), items.len())
    }

    /// Many short damaged regions, each followed by a candidate claiming to reach the end of
    /// the input and then a valid chunk: the checkpoints are shared between searches, so the
    /// work stays linear (one checkpoint pass per search would be quadratic).
    #[test]
    fn many_searches_share_their_checkpoints() {
        let unit = {
            let mut u = vec![0xEEu8; 3];
            u.extend_from_slice(b"CORE");
            u.extend_from_slice(&[0; 8]);
            u.extend(encode_chunk(&TAG_CORE, &[9; 9]).unwrap());
            u
        };
        let n = 20_000;
        let mut f = FileHeader::CURRENT.encode_chunk();
        let first = f.len();
        for _ in 0..n {
            f.extend_from_slice(&unit);
        }
        let total = f.len();
        for k in 0..n {
            let p = first + k * unit.len() + 3;
            let claim = (total - p - 12 - 7) as u32;
            f[p + 4..p + 8].copy_from_slice(&claim.to_le_bytes());
        }
        for known_len in [false, true] {
            let (work, peak, items) = cost(&f, 1 << 16, known_len);
            assert_eq!(items, 1 + 2 * n);
            let bound = (WORK_PER_BYTE + 2) * f.len() as u64 + 1024;
            assert!(work <= bound, "work {work} > {bound} for {} bytes", f.len());
            // The input is 0.5 MB: held whole at most, with its checkpoints.
            assert!(peak <= 2 * f.len() + (1 << 20), "{peak}");
        }
    }

    /// The budgets hold under random damage: work within WORK_PER_BYTE (plus the plain path's
    /// one pass and the damaged chunk's) per byte, memory within the input and one read.
    #[test]
    fn random_damage_stays_within_the_budgets() {
        let mut rnd = numbers(0x9e37_79b9_7f4a_7c15u64);
        for _ in 0..200 {
            let mut f = FileHeader::CURRENT.encode_chunk();
            for _ in 0..rnd(30) + 1 {
                let payload: Vec<u8> = (0..rnd(3000)).map(|_| rnd(256) as u8).collect();
                f.extend(encode_chunk(&TAG_CORE, &payload).unwrap());
            }
            for _ in 0..rnd(40) {
                let i = rnd(f.len());
                match rnd(3) {
                    0 => f[i] ^= 1 << rnd(8),
                    1 => {
                        let n = 12.min(f.len() - i);
                        let mut h = [TAG_CORE, TAG_META, TAG_HASH][rnd(3)].to_vec();
                        h.extend((rnd(1 << 20) as u32).to_le_bytes());
                        h.extend([0; 4]);
                        f[i..i + n].copy_from_slice(&h[..n]);
                    }
                    _ => {
                        let n = rnd(2000).min(f.len() - i);
                        f[i..i + n].fill(rnd(256) as u8);
                    }
                }
            }
            for (piece, known) in [(1, false), (97, true), (4096, false), (1 << 20, true)] {
                let (work, peak, _) = cost(&f, piece, known);
                let bound = (WORK_PER_BYTE + 2) * f.len() as u64 + 1024;
                assert!(work <= bound, "work {work} > {bound}");
                assert!(peak <= 2 * f.len() + (1 << 20) + 4096, "{peak}");
            }
        }
    }
}
