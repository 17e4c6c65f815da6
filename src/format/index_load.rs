//! Loading a finished file's keyframe index from its end, without doing any I/O: the loader
//! says which byte range it needs next and is handed those bytes. TAIL first, then SEEK's
//! 12-byte header, then either the rest of SEEK (its CRC checked: [`Entries::InMemory`]; no
//! byte is asked for twice) or its
//! fixed bytes and track directory, the entries left in the file to be read on demand
//! ([`Entries::OnDemand`], for one-off lookups in large files; each lookup checks the block it
//! lands on). Each part is checked before the next read is asked for, so no claim in the file
//! makes a reader fetch or allocate more than the index itself (at most
//! [`MAX_CHUNK`](crate::format::limits::MAX_CHUNK) bytes, within the file).
//!
//! Drivers: [`Reader`](crate::format::reader::Reader) with positional reads (the CLI, the
//! pull-mode demuxer), and the push-mode demuxer with BYTES seeks upstream.

use crate::format::chunk::{CHUNK_HEADER_LEN, ChunkHeader};
use crate::format::error::{Code, Error};
use crate::format::seek::{SEEK_FIXED_LEN, SeekTable};
use crate::format::tail::{TAIL_CHUNK_LEN, Tail};

/// Where SEEK's entries are to be: read with the rest, or left in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entries {
    InMemory,
    OnDemand,
}

/// Where the load is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexLoad {
    /// Waiting for the last [`TAIL_CHUNK_LEN`] bytes of a file of this length.
    Tail { file_len: u64, entries: Entries },
    /// Waiting for SEEK's chunk header (and its 8 fixed bytes, entries on demand).
    SeekHeader { tail: Tail, entries: Entries },
    /// Waiting for the rest of the SEEK chunk after its header (read on, never again).
    Seek {
        tail: Tail,
        head: [u8; CHUNK_HEADER_LEN],
        len: u64,
    },
    /// Waiting for SEEK's track directory (entries on demand).
    SeekDirectory {
        tail: Tail,
        size: u32,
        fixed: [u8; SEEK_FIXED_LEN],
    },
}

/// What the loader wants or has found.
#[derive(Debug)]
pub enum Next {
    /// Hand over exactly `len` bytes from `offset`.
    Need { offset: u64, len: usize },
    /// The index, its chunk's CRC checked.
    Loaded(LoadedIndex),
    /// The file has no intact TAIL: it was cut short or not finished.
    Absent,
    /// TAIL or SEEK is there but unusable; the error says what and where.
    Failed(Error),
}

#[derive(Debug)]
pub struct LoadedIndex {
    pub tail: Tail,
    pub table: SeekTable,
    /// SEEK's payload, which the table's entries are read from; `None` when they are read
    /// from the file ([`Entries::OnDemand`]).
    pub payload: Option<Vec<u8>>,
}

impl IndexLoad {
    /// Starts loading the index of a file of `file_len` bytes whose body starts at
    /// `body_offset` (a file too short to hold a TAIL after its body has none).
    pub fn start(file_len: u64, body_offset: u64, entries: Entries) -> (Self, Next) {
        let load = IndexLoad::Tail { file_len, entries };
        if file_len < body_offset.saturating_add(TAIL_CHUNK_LEN) {
            return (load, Next::Absent);
        }
        let need = Next::Need {
            offset: file_len - TAIL_CHUNK_LEN,
            len: TAIL_CHUNK_LEN as usize,
        };
        (load, need)
    }

    /// Takes the bytes asked for by the last [`Next::Need`].
    pub fn feed(&mut self, bytes: &[u8]) -> Next {
        match *self {
            IndexLoad::Tail { file_len, entries } => {
                let at = file_len - TAIL_CHUNK_LEN;
                match Tail::check(bytes, file_len) {
                    Ok(Some(tail)) => {
                        *self = IndexLoad::SeekHeader { tail, entries };
                        // With entries on demand the fixed bytes come in the same read.
                        let len = match entries {
                            Entries::InMemory => CHUNK_HEADER_LEN,
                            Entries::OnDemand => CHUNK_HEADER_LEN + SEEK_FIXED_LEN,
                        };
                        Next::Need {
                            offset: tail.seek_offset,
                            len,
                        }
                    }
                    Ok(None) => Next::Absent,
                    Err(e) => Next::Failed(e.with_offset(at)),
                }
            }
            IndexLoad::SeekHeader { tail, entries } => {
                let Some(head) = bytes.first_chunk::<CHUNK_HEADER_LEN>() else {
                    return Next::Failed(short(tail.seek_offset));
                };
                let h = ChunkHeader::parse(head);
                if let Err(e) = SeekTable::check_header(&h, &tail) {
                    return Next::Failed(e);
                }
                if entries == Entries::OnDemand {
                    let fixed = bytes
                        .get(CHUNK_HEADER_LEN..CHUNK_HEADER_LEN + SEEK_FIXED_LEN)
                        .filter(|_| h.size as usize >= SEEK_FIXED_LEN);
                    let Some(fixed) = fixed.and_then(|f| <[u8; SEEK_FIXED_LEN]>::try_from(f).ok())
                    else {
                        return Next::Failed(short(tail.seek_offset));
                    };
                    return match SeekTable::directory_len(&fixed, h.size) {
                        Ok(len) => {
                            *self = IndexLoad::SeekDirectory {
                                tail,
                                size: h.size,
                                fixed,
                            };
                            Next::Need {
                                offset: tail.seek_offset
                                    + (CHUNK_HEADER_LEN + SEEK_FIXED_LEN) as u64,
                                len: len as usize,
                            }
                        }
                        Err(e) => Next::Failed(e.with_offset(tail.seek_offset)),
                    };
                }
                *self = IndexLoad::Seek {
                    tail,
                    head: *head,
                    len: h.chunk_len(),
                };
                Next::Need {
                    offset: tail.seek_offset + CHUNK_HEADER_LEN as u64,
                    len: h.chunk_len() as usize - CHUNK_HEADER_LEN,
                }
            }
            IndexLoad::SeekDirectory { tail, size, fixed } => {
                let entries_at =
                    tail.seek_offset + (CHUNK_HEADER_LEN + SEEK_FIXED_LEN + bytes.len()) as u64;
                match SeekTable::from_directory(&fixed, bytes, size, entries_at) {
                    Ok(table) => Next::Loaded(LoadedIndex {
                        tail,
                        table,
                        payload: None,
                    }),
                    Err(e) => Next::Failed(e.with_offset(tail.seek_offset)),
                }
            }
            IndexLoad::Seek { tail, head, len } => {
                if (CHUNK_HEADER_LEN + bytes.len()) as u64 != len {
                    return Next::Failed(short(tail.seek_offset));
                }
                let mut chunk = Vec::with_capacity(len as usize);
                chunk.extend_from_slice(&head);
                chunk.extend_from_slice(bytes);
                match SeekTable::from_chunk(&chunk) {
                    Ok((table, payload)) => Next::Loaded(LoadedIndex {
                        tail,
                        table,
                        payload: Some(payload),
                    }),
                    Err(e) => Next::Failed(e.with_offset(tail.seek_offset)),
                }
            }
        }
    }
}

fn short(offset: u64) -> Error {
    Error::new(Code::ChunkTruncated, "fewer bytes than asked for").with_offset(offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::fixture::{block, one_track_meta};
    use crate::format::writer::Writer;

    fn file() -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), &one_track_meta(3)).unwrap();
        for i in 0..20u64 {
            w.write_block(&block(3, i, i % 5 == 0), &[i as u8; 100])
                .unwrap();
        }
        w.finish().unwrap().0
    }

    /// Drives the load over `f`, returning every range asked for and the outcome.
    fn drive(f: &[u8]) -> (Vec<(u64, usize)>, Next) {
        drive_with(f, Entries::InMemory)
    }

    fn drive_with(f: &[u8], entries: Entries) -> (Vec<(u64, usize)>, Next) {
        let (mut load, mut next) = IndexLoad::start(f.len() as u64, 100, entries);
        let mut asked = Vec::new();
        while let Next::Need { offset, len } = next {
            asked.push((offset, len));
            let end = (offset as usize + len).min(f.len());
            next = load.feed(&f[offset as usize..end]);
        }
        (asked, next)
    }

    #[test]
    fn a_finished_file_loads_in_three_reads() {
        let f = file();
        let (asked, next) = drive(&f);
        let Next::Loaded(l) = next else {
            panic!("{next:?}")
        };
        assert_eq!(asked.len(), 3);
        assert_eq!(asked[0], (f.len() as u64 - 36, 36));
        assert_eq!(asked[1], (l.tail.seek_offset, 12));
        // The rest of SEEK, read on from its header: no byte is asked for twice.
        assert_eq!(
            asked[2],
            (
                l.tail.seek_offset + 12,
                (l.tail.veri_offset - l.tail.seek_offset - 12) as usize
            )
        );
        assert_eq!(l.table.entry_total(), 4);
        // Entries on demand: the fixed bytes and the directory instead of the whole chunk.
        let (asked, next) = drive_with(&f, Entries::OnDemand);
        let Next::Loaded(d) = next else {
            panic!("{next:?}")
        };
        assert_eq!(asked.len(), 3);
        assert_eq!(asked[1], (d.tail.seek_offset, 20));
        assert_eq!(asked[2], (d.tail.seek_offset + 20, 48));
        assert!(d.payload.is_none());
        let mut src = &f[..];
        let mut mem = &l.payload.as_ref().unwrap()[..];
        for i in 0..4 {
            assert_eq!(
                d.table.entry(&mut src, i).unwrap(),
                l.table.entry(&mut mem, i).unwrap()
            );
        }
    }

    #[test]
    fn a_tail_pointing_elsewhere_costs_one_header() {
        let mut f = file();
        let n = f.len();
        let tail = Tail::check(&f[n - 36..], n as u64).unwrap().unwrap();
        let forged = Tail {
            seek_offset: 200,
            ..tail
        };
        f[n - 36..].copy_from_slice(&forged.encode_chunk());
        let (asked, next) = drive(&f);
        assert_eq!(asked, vec![(n as u64 - 36, 36), (200, 12)]);
        match next {
            Next::Failed(e) => assert_eq!(e.code, Code::TailMismatch),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cut_file_has_no_index_and_a_damaged_seek_fails_on_its_crc() {
        let f = file();
        assert!(matches!(drive(&f[..f.len() - 1]).1, Next::Absent));
        let mut g = f.clone();
        let tail = Tail::check(&f[f.len() - 36..], f.len() as u64)
            .unwrap()
            .unwrap();
        g[tail.seek_offset as usize + 20] ^= 1;
        match drive(&g).1 {
            Next::Failed(e) => assert_eq!(e.offset, Some(tail.seek_offset)),
            other => panic!("{other:?}"),
        }
    }
}
