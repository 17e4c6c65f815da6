//! Seeking reads O(log n) index entries, not the index.

mod common;

use std::cell::Cell;
use std::io;
use std::rc::Rc;

use common::*;
use gsth4::format::block::BlockFlags;
use gsth4::format::meta::CheckpointPolicy;
use gsth4::format::reader::Reader;
use gsth4::format::seek::Snap;
use gsth4::format::source::ReadAt;
use gsth4::format::writer::{NewBlock, Writer};

/// Counts reads and bytes in cells the test can look at while the reader owns the source.
struct Counting<'a> {
    data: &'a [u8],
    reads: Rc<Cell<u64>>,
    bytes: Rc<Cell<u64>>,
}

impl ReadAt for Counting<'_> {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.reads.set(self.reads.get() + 1);
        self.bytes.set(self.bytes.get() + buf.len() as u64);
        let mut d = self.data;
        d.read_exact_at(offset, buf)
    }
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.data.len() as u64)
    }
}

#[test]
fn a_million_keyframes_are_searched_in_logarithmic_reads() {
    const N: u64 = 1_000_000;
    let m = meta(2, CheckpointPolicy::default());
    let mut w = Writer::new(Vec::with_capacity(80 << 20), &m).unwrap();
    for i in 0..N {
        let b = NewBlock {
            track: (i % 2) as u32,
            flags: BlockFlags(BlockFlags::KEYFRAME),
            pts: Some(i * 1_000_000),
            duration: Some(1_000_000),
            ..NewBlock::default()
        };
        w.write_block(&b, &[]).unwrap();
    }
    let (file, summary) = w.finish().unwrap();
    assert_eq!(summary.keyframes, N);

    let (reads, bytes) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let src = Counting {
        data: &file,
        reads: reads.clone(),
        bytes: bytes.clone(),
    };
    let mut r = Reader::open(src).unwrap();
    assert!(r.is_finished());
    // Opening read the header, META, TAIL and the SEEK directory, not the 24 MB of entries.
    assert!(
        reads.get() <= 8 && bytes.get() < 4096,
        "open: {} reads, {} bytes",
        reads.get(),
        bytes.get()
    );

    let mut rng = Rng(7);
    for _ in 0..200 {
        let target = rng.below(N * 1_000_000);
        let track = rng.below(2) as u32;
        let before = reads.get();
        let hit = r
            .keyframe_by_stream_time(Some(track), target, Snap::Before)
            .unwrap()
            .unwrap();
        let used = reads.get() - before;
        // Track t has keyframes at every millisecond m with m % 2 == t.
        let ms = target / 1_000_000;
        let want_ms = if ms % 2 == u64::from(track) {
            ms
        } else {
            ms - 1
        };
        assert_eq!(
            hit.entry.time,
            want_ms * 1_000_000,
            "target {target} track {track}"
        );
        assert!(
            used <= 21,
            "{used} reads for one lookup among 500,000 entries"
        );
    }
    // Any track, snapping after: the next millisecond of either track.
    let before = reads.get();
    let (hit, block) = r
        .seek_verified(None, 777_777_777, Snap::After)
        .unwrap()
        .unwrap();
    assert_eq!((hit.track, block.header.pts), (0, Some(778_000_000)));
    // Two tracks' searches, the block, VERI once, and one leaf (two reads).
    assert!(
        reads.get() - before <= 2 * 21 + 8,
        "{} reads",
        reads.get() - before
    );
    assert!(bytes.get() < 1 << 20, "{} bytes read in all", bytes.get());
}
