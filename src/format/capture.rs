//! A capture of a live stream: what a client that joined late holds. It begins with the stream
//! header (the file header and META, as the sender gave them to the client) and goes on with
//! the sender's chunks from a chunk boundary on. Those chunks stand at other ordinals and
//! offsets than in the sender's stream, while the HASH, SIGN, VERI, SEEK and TAIL chunks the
//! capture holds speak of the sender's: [`Rebase`] translates the sender's positions into the
//! capture's.

use crate::format::integrity::{ChunkDigest, PieceRef};
use crate::format::tail::Tail;

/// Chunks of the stream header a capture begins with: the file header and META.
pub const STREAM_HEADER_CHUNKS: u64 = 2;

/// The capture's offset of a sender's offset before the join: no chunk of the capture is there.
pub const BEFORE_JOIN: u64 = u64::MAX;

/// Where a capture joined its sender's stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebase {
    /// The sender's ordinal of the capture's first chunk after the stream header.
    pub join_chunk: u64,
    /// The capture's offset of that chunk (the stream header's length).
    pub join_offset: u64,
    /// The sender's offsets minus the capture's, once a chunk the capture holds has shown it.
    shift: Option<u64>,
}

impl Rebase {
    pub fn new(join_chunk: u64, join_offset: u64) -> Rebase {
        Rebase {
            join_chunk,
            join_offset,
            shift: None,
        }
    }

    /// The capture's ordinal of the sender's chunk `ordinal`; `None` for a chunk before the
    /// join, which the capture does not hold.
    pub fn chunk(&self, ordinal: u64) -> Option<u64> {
        ordinal
            .checked_sub(self.join_chunk)
            .map(|n| n + STREAM_HEADER_CHUNKS)
    }

    /// Learns how offsets map from a chunk the sender places at `sender` and the capture holds
    /// at `here`; the first such pair counts.
    pub fn learn_offset(&mut self, sender: u64, here: u64) {
        if self.shift.is_none() {
            self.shift = sender.checked_sub(here);
        }
    }

    pub fn offsets_known(&self) -> bool {
        self.shift.is_some()
    }

    /// The capture's offset of the sender's offset `sender`, once known; [`BEFORE_JOIN`] for
    /// one before the capture's first chunk after the stream header.
    pub fn offset(&self, sender: u64) -> Option<u64> {
        self.shift.map(|s| match sender.checked_sub(s) {
            Some(here) if here >= self.join_offset => here,
            _ => BEFORE_JOIN,
        })
    }

    /// The sender's offset of the capture's first chunk after the stream header.
    pub fn sender_join_offset(&self) -> Option<u64> {
        self.shift.map(|s| s + self.join_offset)
    }

    /// The digests of chunks the capture holds, at its ordinals and (when known) offsets, and
    /// how many listed chunks came before the join.
    pub fn digests(&self, listed: &[ChunkDigest]) -> (Vec<ChunkDigest>, u64) {
        let mut before = 0;
        let mut held = Vec::with_capacity(listed.len());
        for d in listed {
            match self.chunk(d.ordinal) {
                Some(ordinal) => held.push(ChunkDigest {
                    ordinal,
                    offset: self.offset(d.offset).unwrap_or(d.offset),
                    ..*d
                }),
                None => before += 1,
            }
        }
        (held, before)
    }

    /// The HASH chunks of a VERI directory that the capture holds, at its positions.
    pub fn pieces(&self, pieces: &[PieceRef]) -> Vec<PieceRef> {
        pieces
            .iter()
            .filter_map(|p| {
                Some(PieceRef {
                    first_leaf: p.first_leaf,
                    ordinal: self.chunk(p.ordinal)?,
                    offset: self.offset(p.offset)?,
                })
            })
            .collect()
    }

    /// TAIL's offsets and length at the capture's positions (unchanged while unknown).
    pub fn tail(&self, t: Tail) -> Tail {
        let at = |o: u64| self.offset(o).unwrap_or(o);
        Tail {
            seek_offset: at(t.seek_offset),
            veri_offset: at(t.veri_offset),
            file_len: at(t.file_len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_move_by_the_join() {
        // The sender's chunk 40 at byte 9000 is the capture's chunk 2 at byte 1800.
        let mut r = Rebase::new(40, 1800);
        assert_eq!(r.chunk(39), None);
        assert_eq!(r.chunk(40), Some(2));
        assert_eq!(r.chunk(45), Some(7));
        assert_eq!(r.offset(9000), None, "unknown until a chunk shows it");
        r.learn_offset(9500, 2300);
        r.learn_offset(1, 0);
        assert_eq!(r.offset(9000), Some(1800));
        assert_eq!(
            r.offset(100),
            Some(BEFORE_JOIN),
            "before the capture: matches nothing"
        );
        assert_eq!(
            r.offset(8999),
            Some(BEFORE_JOIN),
            "in the stream header: not the sender's"
        );
        assert_eq!(r.sender_join_offset(), Some(9000));
        let d = |ordinal, offset| ChunkDigest {
            ordinal,
            offset,
            tag: *b"SIGN",
            digest: [7; 32],
        };
        let (held, before) = r.digests(&[d(38, 8000), d(41, 9100)]);
        assert_eq!(before, 1);
        assert_eq!(held, vec![d(3, 1900)]);
        let t = r.tail(Tail {
            seek_offset: 20_000,
            veri_offset: 21_000,
            file_len: 21_500,
        });
        assert_eq!(
            (t.seek_offset, t.veri_offset, t.file_len),
            (12_800, 13_800, 14_300)
        );
    }
}
