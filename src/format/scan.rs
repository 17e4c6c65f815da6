//! The incremental chunk scanner: accepts bytes in pieces of any size, yields whole chunks
//! whose CRC holds, and reports damaged regions, then resynchronises on the next valid chunk.
//!
//! Resynchronisation: after a chunk fails (bad magic, size over the limit, CRC mismatch,
//! extent past the end), the scanner searches from the byte after its start for the first
//! offset where a chunk with a known tag, an allowed size and a matching CRC begins. The
//! failed chunk is reported once, as one region, with its ordinal; the chunk found next gets
//! the following ordinal. A single damaged byte therefore costs exactly one chunk.

use std::io::{self, Read};

use crate::format::chunk::{
    CHUNK_HEADER_LEN, ChunkHeader, MAX_PAYLOAD, TAG_HEADER, Tag, chunk_crc, crc_matches,
    is_known_tag, tag_name,
};
use crate::format::error::{Code, Error};

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

#[derive(Debug)]
pub struct Scanner {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    ordinal: u64,
    eof: bool,
    /// Set while the chunk at `start` is known bad: where the search for the next valid chunk
    /// resumes, and what was wrong.
    resync: Option<(usize, Code, String)>,
}

const READ_SIZE: usize = 1 << 20;

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
            resync: None,
        }
    }

    /// File offset of the next byte not yet accounted for.
    pub fn position(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Ordinal the next chunk will get.
    pub fn next_ordinal(&self) -> u64 {
        self.ordinal
    }

    /// Bytes buffered but not yet yielded.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    fn make_room(&mut self, extra: usize) {
        if self.start > 0 && (self.start >= self.buf.len() / 2 || self.end + extra > self.buf.len())
        {
            self.buf.copy_within(self.start..self.end, 0);
            if let Some((p, _, _)) = &mut self.resync {
                *p -= self.start;
            }
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end + extra > self.buf.len() {
            self.buf.resize(self.end + extra, 0);
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.make_room(data.len());
        self.buf[self.end..self.end + data.len()].copy_from_slice(data);
        self.end += data.len();
    }

    /// Reads once from `r` straight into the buffer; at end of input calls `finish`.
    /// Returns the number of bytes read.
    pub fn fill_from<R: Read>(&mut self, r: &mut R) -> io::Result<usize> {
        let want = self.wanted().max(READ_SIZE);
        self.make_room(want);
        let n = loop {
            match r.read(&mut self.buf[self.end..self.end + want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.end += n;
        if n == 0 {
            self.finish();
        }
        Ok(n)
    }

    /// How many more bytes the chunk being looked at needs (a hint for readers).
    fn wanted(&self) -> usize {
        let avail = self.end - self.start;
        if self.resync.is_some() || avail < CHUNK_HEADER_LEN {
            return CHUNK_HEADER_LEN;
        }
        let h = self.header_at(self.start);
        if h.size > MAX_PAYLOAD {
            return CHUNK_HEADER_LEN;
        }
        (h.chunk_len() as usize).saturating_sub(avail)
    }

    /// Marks the end of input: what is left is judged now instead of waiting for more.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    fn header_at(&self, pos: usize) -> ChunkHeader {
        ChunkHeader::parse(
            self.buf[pos..pos + CHUNK_HEADER_LEN]
                .try_into()
                .expect("12 bytes"),
        )
    }

    pub fn step(&mut self) -> Step<'_> {
        if let Some((from, code, msg)) = self.resync.take() {
            return self.resync_from(from, code, msg);
        }
        let avail = self.end - self.start;
        if avail == 0 {
            return if self.eof { Step::End } else { Step::NeedMore };
        }
        if avail < CHUNK_HEADER_LEN {
            if !self.eof {
                return Step::NeedMore;
            }
            let msg = format!("the file ends {avail} bytes into a chunk header");
            return self.resync_from(self.start + 1, Code::ChunkTruncated, msg);
        }
        let h = self.header_at(self.start);
        let offset = self.position();
        if self.ordinal == 0 && offset == 0 && h.tag != TAG_HEADER {
            let msg = format!(
                "the file starts with \"{}\", not \"H4MK\"",
                tag_name(&h.tag)
            );
            return self.resync_from(self.start + 1, Code::FileMagic, msg);
        }
        if h.size > MAX_PAYLOAD {
            let msg = format!(
                "{} chunk declares {} bytes, over the {MAX_PAYLOAD}-byte limit",
                tag_name(&h.tag),
                h.size
            );
            return self.resync_from(self.start + 1, Code::ChunkSizeLimit, msg);
        }
        let len = h.chunk_len() as usize;
        if avail < len {
            if !self.eof {
                return Step::NeedMore;
            }
            let msg = format!(
                "{} chunk declares {} payload bytes but the file ends after {}",
                tag_name(&h.tag),
                h.size,
                avail - CHUNK_HEADER_LEN
            );
            return self.resync_from(self.start + 1, Code::ChunkTruncated, msg);
        }
        let payload = &self.buf[self.start + CHUNK_HEADER_LEN..self.start + len];
        let crc = chunk_crc(&h.tag, h.size, &[payload]);
        if crc != h.crc {
            let msg = format!(
                "{} chunk: stored CRC {:08x}, computed {crc:08x}",
                tag_name(&h.tag),
                h.crc,
            );
            return self.resync_from(self.start + 1, Code::ChunkCrcMismatch, msg);
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

    /// Searches from `from` for the next valid chunk; the chunk at `start` is damaged.
    fn resync_from(&mut self, from: usize, code: Code, msg: String) -> Step<'_> {
        let mut q = from;
        let found = loop {
            if q + CHUNK_HEADER_LEN > self.end {
                if self.eof {
                    break None;
                }
                self.resync = Some((q, code, msg));
                return Step::NeedMore;
            }
            if is_known_tag(&self.buf[q..q + 4]) {
                let h = self.header_at(q);
                if h.size <= MAX_PAYLOAD {
                    let len = h.chunk_len() as usize;
                    if q + len <= self.end {
                        if crc_matches(&self.buf[q..q + len]) {
                            break Some(q);
                        }
                    } else if !self.eof {
                        // Cannot tell yet whether a valid chunk starts here.
                        self.resync = Some((q, code, msg));
                        return Step::NeedMore;
                    }
                }
            }
            q += 1;
        };
        let next = found.unwrap_or(self.end);
        let tag_end = (self.start + 4).min(self.end);
        let mut tag = [0u8; 4];
        tag[..tag_end - self.start].copy_from_slice(&self.buf[self.start..tag_end]);
        let head_end = (self.start + 52).min(self.end);
        let damage = Damage {
            error: Error::at(code, self.ordinal, self.position(), msg),
            len: (next - self.start) as u64,
            tag,
            head: self.buf[self.start..head_end].to_vec(),
        };
        self.ordinal += 1;
        self.start = next;
        Step::Damage(damage)
    }
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
    use crate::format::chunk::{TAG_CORE, TAG_META, encode_chunk};
    use crate::format::header::FileHeader;

    fn sample() -> Vec<u8> {
        let mut f = FileHeader::CURRENT.encode_chunk();
        f.extend(encode_chunk(&TAG_META, b"{}").unwrap());
        f.extend(encode_chunk(&TAG_CORE, &[5u8; 50]).unwrap());
        f.extend(encode_chunk(&TAG_CORE, &[6u8; 3]).unwrap());
        f
    }

    /// (ordinal, offset, Ok(tag) | Err(code)) for each item, feeding `piece` bytes at a time.
    fn scan(bytes: &[u8], piece: usize) -> Vec<(u64, u64, std::result::Result<Tag, Code>)> {
        let mut s = Scanner::new();
        let mut out = Vec::new();
        let mut fed = 0;
        loop {
            match s.step() {
                Step::Chunk(c) => out.push((c.ordinal, c.offset, Ok(c.header.tag))),
                Step::Damage(d) => out.push((
                    d.error.chunk.unwrap(),
                    d.error.offset.unwrap(),
                    Err(d.error.code),
                )),
                Step::End => return out,
                Step::NeedMore => {
                    if fed == bytes.len() {
                        s.finish();
                    } else {
                        let n = piece.min(bytes.len() - fed);
                        s.feed(&bytes[fed..fed + n]);
                        fed += n;
                    }
                }
            }
        }
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
}
