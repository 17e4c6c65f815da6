//! SEEK: the keyframe index. A directory with one record per track (sorted by track id),
//! then each track's entries sorted by time, so a lookup is a binary search that reads
//! O(log n) entries at their offsets.

use std::collections::BTreeMap;

use crate::format::chunk::{
    CHUNK_HEADER_LEN, ChunkHeader, MAX_PAYLOAD, PayloadReader, TAG_SEEK, crc_matches, encode_chunk,
    tag_name,
};
use crate::format::error::{Code, Error, Result};
use crate::format::source::ReadAt;
use crate::format::tail::Tail;

pub const SEEK_FIXED_LEN: usize = 8;
pub const TRACK_RECORD_LEN: usize = 48;
pub const ENTRY_LEN: usize = 24;

const NONE: u64 = u64::MAX;

/// One keyframe: its time (PTS, else DTS), the offset of its block chunk and its block
/// ordinal (Merkle leaf index), which lets a reader check the block against the leaf table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeekEntry {
    pub time: u64,
    pub offset: u64,
    pub ordinal: u64,
}

impl SeekEntry {
    fn decode(b: &[u8; ENTRY_LEN]) -> Self {
        let u = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        SeekEntry {
            time: u(0),
            ordinal: u(8),
            offset: u(16),
        }
    }
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&self.ordinal.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
    }
}

/// Per-track directory record: where its entries are and what the track spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackSummary {
    pub track: u32,
    pub first_entry: u64,
    pub entry_count: u64,
    pub block_count: u64,
    /// Smallest block time of the track.
    pub first_time: Option<u64>,
    /// Largest `time + duration` (or time) of the track.
    pub end_time: Option<u64>,
}

impl TrackSummary {
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.track.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.first_entry.to_le_bytes());
        out.extend_from_slice(&self.entry_count.to_le_bytes());
        out.extend_from_slice(&self.block_count.to_le_bytes());
        out.extend_from_slice(&self.first_time.unwrap_or(NONE).to_le_bytes());
        out.extend_from_slice(&self.end_time.unwrap_or(NONE).to_le_bytes());
    }
    fn decode(r: &mut PayloadReader) -> Result<Self> {
        let track = r.u32()?;
        r.take(4)?;
        let opt = |v: u64| (v != NONE).then_some(v);
        Ok(TrackSummary {
            track,
            first_entry: r.u64()?,
            entry_count: r.u64()?,
            block_count: r.u64()?,
            first_time: opt(r.u64()?),
            end_time: opt(r.u64()?),
        })
    }
}

/// Collects keyframes while writing (or scanning) and encodes the SEEK payload.
#[derive(Debug, Default, Clone)]
pub struct SeekIndexBuilder {
    tracks: BTreeMap<u32, (TrackSummary, Vec<SeekEntry>)>,
}

impl SeekIndexBuilder {
    pub fn new(track_ids: impl IntoIterator<Item = u32>) -> Self {
        let mut b = SeekIndexBuilder::default();
        for id in track_ids {
            b.track(id);
        }
        b
    }

    /// Lists a track, even one without blocks.
    pub fn declare_track(&mut self, id: u32) {
        self.track(id);
    }

    fn track(&mut self, id: u32) -> &mut (TrackSummary, Vec<SeekEntry>) {
        self.tracks.entry(id).or_insert_with(|| {
            (
                TrackSummary {
                    track: id,
                    first_entry: 0,
                    entry_count: 0,
                    block_count: 0,
                    first_time: None,
                    end_time: None,
                },
                Vec::new(),
            )
        })
    }

    /// Records a block; keyframes with a time become entries.
    pub fn note_block(
        &mut self,
        track: u32,
        time: Option<u64>,
        duration: Option<u64>,
        keyframe: bool,
        offset: u64,
        ordinal: u64,
    ) {
        let (summary, entries) = self.track(track);
        summary.block_count += 1;
        if let Some(t) = time {
            summary.first_time = Some(summary.first_time.map_or(t, |f| f.min(t)));
            let end = t.saturating_add(duration.unwrap_or(0));
            summary.end_time = Some(summary.end_time.map_or(end, |e| e.max(end)));
            if keyframe {
                entries.push(SeekEntry {
                    time: t,
                    offset,
                    ordinal,
                });
            }
        }
    }

    pub fn entry_count(&self) -> usize {
        self.tracks.values().map(|(_, e)| e.len()).sum()
    }

    pub fn encode_chunk(&self) -> Result<Vec<u8>> {
        let n = self.entry_count();
        let mut p = Vec::with_capacity(
            SEEK_FIXED_LEN + self.tracks.len() * TRACK_RECORD_LEN + n * ENTRY_LEN,
        );
        p.extend_from_slice(&(self.tracks.len() as u32).to_le_bytes());
        p.extend_from_slice(&(ENTRY_LEN as u32).to_le_bytes());
        let mut sorted: Vec<Vec<SeekEntry>> = Vec::with_capacity(self.tracks.len());
        let mut first = 0u64;
        for (summary, entries) in self.tracks.values() {
            let mut e = entries.clone();
            e.sort_unstable_by_key(|e| (e.time, e.ordinal));
            let s = TrackSummary {
                first_entry: first,
                entry_count: e.len() as u64,
                ..*summary
            };
            s.encode_into(&mut p);
            first += e.len() as u64;
            sorted.push(e);
        }
        for e in sorted.iter().flatten() {
            e.encode_into(&mut p);
        }
        encode_chunk(&TAG_SEEK, &p)
    }
}

/// Which keyframe a lookup wants relative to the target time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snap {
    /// The latest keyframe at or before the time.
    Before,
    /// The earliest keyframe at or after the time.
    After,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekHit {
    pub track: u32,
    pub entry: SeekEntry,
}

/// The SEEK directory, read eagerly; entries are read on demand from the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeekTable {
    pub tracks: Vec<TrackSummary>,
    /// Offset in the source of the first entry.
    entries_at: u64,
    entry_total: u64,
}

impl SeekTable {
    /// Checks the header of the chunk TAIL places at `tail.seek_offset`, before its payload is
    /// read: it must be SEEK, span exactly to VERI, and fit the size limit. Every reader of the
    /// index (pull, push, the CLI) asks this first, so no claim makes it read more.
    pub fn check_header(h: &ChunkHeader, tail: &Tail) -> Result<()> {
        let span = tail.veri_offset.saturating_sub(tail.seek_offset);
        if h.tag != TAG_SEEK || h.chunk_len() != span || h.size > MAX_PAYLOAD {
            return Err(Error::new(
                Code::TailMismatch,
                format!(
                    "TAIL points at a {} chunk of {} bytes, not a SEEK chunk of {span}",
                    tag_name(&h.tag),
                    h.chunk_len()
                ),
            )
            .with_offset(tail.seek_offset));
        }
        Ok(())
    }

    /// Checks a whole SEEK chunk held in memory (tag, length, CRC) and decodes it; returns the
    /// table and the payload its entries are read from.
    pub fn from_chunk(chunk: &[u8]) -> Result<(Self, Vec<u8>)> {
        let intact = chunk.len() >= CHUNK_HEADER_LEN
            && chunk[0..4] == TAG_SEEK
            && ChunkHeader::parse(chunk[..CHUNK_HEADER_LEN].try_into().expect("12 bytes"))
                .chunk_len()
                == chunk.len() as u64
            && crc_matches(chunk);
        if !intact {
            return Err(Error::new(
                Code::TailMismatch,
                "TAIL does not point at an intact SEEK chunk",
            ));
        }
        let payload = chunk[CHUNK_HEADER_LEN..].to_vec();
        Ok((Self::from_payload(&payload)?, payload))
    }

    /// Decodes a whole SEEK payload held in memory; entries are then read from `payload`
    /// with `entries_at` relative to it.
    pub fn from_payload(payload: &[u8]) -> Result<Self> {
        let mut r = PayloadReader::new(payload, "SEEK");
        let track_count = r.u32()?;
        if r.u32()? as usize != ENTRY_LEN {
            return Err(Error::new(
                Code::ChunkMalformed,
                "SEEK entry size is not 24",
            ));
        }
        let n = r.expect_records(track_count.into(), TRACK_RECORD_LEN)?;
        let dir = r.take(n * TRACK_RECORD_LEN)?;
        let entries_at = (SEEK_FIXED_LEN + dir.len()) as u64;
        Self::from_parts(dir, track_count, entries_at, r.remaining() as u64)
    }

    /// SEEK read in parts, its entries left in the file: the length of the track directory
    /// that follows the 8 fixed bytes `fixed` of a SEEK payload of `size` bytes, checked to fit.
    pub fn directory_len(fixed: &[u8; SEEK_FIXED_LEN], size: u32) -> Result<u64> {
        let track_count = u32::from_le_bytes(fixed[0..4].try_into().expect("4 bytes"));
        let entry_len = u32::from_le_bytes(fixed[4..8].try_into().expect("4 bytes"));
        let dir_len = u64::from(track_count) * TRACK_RECORD_LEN as u64;
        if entry_len as usize != ENTRY_LEN || SEEK_FIXED_LEN as u64 + dir_len > u64::from(size) {
            return Err(Error::new(
                Code::ChunkMalformed,
                "SEEK directory does not fit its chunk",
            ));
        }
        Ok(dir_len)
    }

    /// The table from a SEEK payload's fixed bytes and track directory (of the length
    /// `directory_len` gave), its entries at `entries_at` in the file.
    pub fn from_directory(
        fixed: &[u8; SEEK_FIXED_LEN],
        dir: &[u8],
        size: u32,
        entries_at: u64,
    ) -> Result<Self> {
        let track_count = u32::from_le_bytes(fixed[0..4].try_into().expect("4 bytes"));
        if Self::directory_len(fixed, size)? != dir.len() as u64 {
            return Err(Error::new(Code::ChunkMalformed, "SEEK directory cut short"));
        }
        let entry_bytes = u64::from(size) - (SEEK_FIXED_LEN + dir.len()) as u64;
        Self::from_parts(dir, track_count, entries_at, entry_bytes)
    }

    fn from_parts(dir: &[u8], track_count: u32, entries_at: u64, entry_bytes: u64) -> Result<Self> {
        if !entry_bytes.is_multiple_of(ENTRY_LEN as u64) {
            return Err(Error::new(
                Code::ChunkMalformed,
                "SEEK entries are not a whole number of records",
            ));
        }
        let entry_total = entry_bytes / ENTRY_LEN as u64;
        let mut r = PayloadReader::new(dir, "SEEK");
        let tracks = (0..track_count)
            .map(|_| TrackSummary::decode(&mut r))
            .collect::<Result<Vec<_>>>()?;
        for t in &tracks {
            let end = t.first_entry.checked_add(t.entry_count);
            if end.is_none_or(|e| e > entry_total) {
                return Err(Error::new(
                    Code::ChunkMalformed,
                    format!(
                        "SEEK track {} claims entries beyond the {entry_total} stored",
                        t.track
                    ),
                ));
            }
        }
        if tracks.windows(2).any(|w| w[0].track >= w[1].track) {
            return Err(Error::new(
                Code::ChunkMalformed,
                "SEEK tracks are not sorted by id",
            ));
        }
        Ok(SeekTable {
            tracks,
            entries_at,
            entry_total,
        })
    }

    pub fn entry_total(&self) -> u64 {
        self.entry_total
    }

    pub fn summary(&self, track: u32) -> Option<&TrackSummary> {
        self.tracks
            .binary_search_by_key(&track, |t| t.track)
            .ok()
            .map(|i| &self.tracks[i])
    }

    /// Entry `i` of the whole table (all tracks, in directory order).
    pub fn entry<S: ReadAt>(&self, src: &mut S, i: u64) -> Result<SeekEntry> {
        if i >= self.entry_total {
            return Err(Error::new(
                Code::InvalidInput,
                format!("SEEK entry {i} of {}", self.entry_total),
            ));
        }
        let mut b = [0u8; ENTRY_LEN];
        src.read_exact_at(self.entries_at + i * ENTRY_LEN as u64, &mut b)
            .map_err(|e| Error::io(e, "reading a SEEK entry"))?;
        Ok(SeekEntry::decode(&b))
    }

    /// The keyframe of `track` at or before (or after) `time`, by binary search.
    pub fn find_in_track<S: ReadAt>(
        &self,
        src: &mut S,
        track: u32,
        time: u64,
        snap: Snap,
    ) -> Result<Option<SeekHit>> {
        let Some(t) = self.summary(track) else {
            return Err(Error::new(
                Code::InvalidInput,
                format!("no track {track} in the SEEK index"),
            ));
        };
        // First index whose time is greater than `time` (Before) or at least `time` (After).
        let (mut lo, mut hi) = (0u64, t.entry_count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entry(src, t.first_entry + mid)?;
            let go_right = match snap {
                Snap::Before => e.time <= time,
                Snap::After => e.time < time,
            };
            if go_right { lo = mid + 1 } else { hi = mid }
        }
        let pick = match snap {
            Snap::Before => lo.checked_sub(1),
            Snap::After => (lo < t.entry_count).then_some(lo),
        };
        pick.map(|i| {
            Ok(SeekHit {
                track,
                entry: self.entry(src, t.first_entry + i)?,
            })
        })
        .transpose()
    }

    /// The same over every track: the latest keyframe at or before (or the earliest at or
    /// after) `time` in any track; ties go to the smaller file offset.
    pub fn find_any<S: ReadAt>(
        &self,
        src: &mut S,
        time: u64,
        snap: Snap,
    ) -> Result<Option<SeekHit>> {
        let mut best: Option<SeekHit> = None;
        for t in &self.tracks {
            let Some(hit) = self.find_in_track(src, t.track, time, snap)? else {
                continue;
            };
            let better = match (&best, snap) {
                (None, _) => true,
                (Some(b), Snap::Before) => {
                    (hit.entry.time, std::cmp::Reverse(hit.entry.offset))
                        > (b.entry.time, std::cmp::Reverse(b.entry.offset))
                }
                (Some(b), Snap::After) => {
                    (hit.entry.time, hit.entry.offset) < (b.entry.time, b.entry.offset)
                }
            };
            if better {
                best = Some(hit);
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (Vec<u8>, SeekTable) {
        let mut b = SeekIndexBuilder::new([2, 1]);
        // track 1: keyframes at 0, 10, 20, 30; track 2 at 5, 25
        for (i, t) in [0u64, 10, 20, 30].iter().enumerate() {
            b.note_block(
                1,
                Some(*t),
                Some(10),
                true,
                1000 + i as u64 * 100,
                i as u64 * 2,
            );
            b.note_block(
                1,
                Some(*t + 5),
                Some(5),
                false,
                1050 + i as u64 * 100,
                i as u64 * 2 + 1,
            );
        }
        b.note_block(2, Some(25), None, true, 2500, 9);
        b.note_block(2, Some(5), None, true, 500, 8);
        let chunk = b.encode_chunk().unwrap();
        let payload = chunk[CHUNK_HEADER_LEN..].to_vec();
        let t = SeekTable::from_payload(&payload).unwrap();
        (payload, t)
    }

    #[test]
    fn directory_is_sorted_and_summarised() {
        let (_, t) = table();
        assert_eq!(t.tracks.len(), 2);
        assert_eq!(t.tracks[0].track, 1);
        assert_eq!(t.tracks[0].entry_count, 4);
        assert_eq!(t.tracks[0].block_count, 8);
        assert_eq!(t.tracks[0].end_time, Some(40));
        assert_eq!(t.tracks[1].first_time, Some(5));
        assert_eq!(t.entry_total(), 6);
    }

    #[test]
    fn lookups_snap_before_and_after() {
        let (payload, t) = table();
        let mut src = payload.as_slice();
        let before = |time| {
            t.find_in_track(&mut &payload[..], 1, time, Snap::Before)
                .unwrap()
                .map(|h| h.entry.time)
        };
        assert_eq!(before(0), Some(0));
        assert_eq!(before(9), Some(0));
        assert_eq!(before(10), Some(10));
        assert_eq!(before(1000), Some(30));
        let after = |time| {
            t.find_in_track(&mut &payload[..], 1, time, Snap::After)
                .unwrap()
                .map(|h| h.entry.time)
        };
        assert_eq!(after(0), Some(0));
        assert_eq!(after(1), Some(10));
        assert_eq!(after(31), None);
        // Track 2 entries were noted out of order and come back sorted.
        assert_eq!(
            t.find_in_track(&mut src, 2, 6, Snap::Before)
                .unwrap()
                .unwrap()
                .entry
                .offset,
            500
        );
        assert_eq!(
            t.find_any(&mut src, 27, Snap::Before)
                .unwrap()
                .unwrap()
                .track,
            2
        );
        assert_eq!(
            t.find_any(&mut src, 21, Snap::After)
                .unwrap()
                .unwrap()
                .entry
                .time,
            25
        );
        assert_eq!(
            t.find_any(&mut src, 20, Snap::After)
                .unwrap()
                .unwrap()
                .track,
            1
        );
        assert!(t.find_in_track(&mut src, 7, 0, Snap::Before).is_err());
    }

    #[test]
    fn hostile_directory_is_refused() {
        let (mut payload, _) = table();
        payload[8 + 16..8 + 24].copy_from_slice(&u64::MAX.to_le_bytes()); // entry_count of track 1
        assert_eq!(
            SeekTable::from_payload(&payload).unwrap_err().code,
            Code::ChunkMalformed
        );
    }
}
