//! A sparse track (data with long silences) gets GAP events so downstream keeps going.

mod gstcommon;

use gstcommon::*;
use gsth4::format::block::BlockFlags;
use gsth4::format::meta::{Meta, Track, TrackKind};
use gsth4::format::writer::{NewBlock, Writer};

const MS: u64 = 1_000_000;

#[test]
fn a_silent_data_track_gets_contiguous_gap_events() {
    let (_d, path) = tmp("sparse.h4mk");
    let meta = Meta::new(vec![
        Track {
            id: 0,
            kind: TrackKind::Video,
            caps: "video/x-test".into(),
            tags: None,
            time_offset: 0,
        },
        Track {
            id: 1,
            kind: TrackKind::Data,
            caps: "application/x-test".into(),
            tags: None,
            time_offset: 0,
        },
    ]);
    let mut w = Writer::new(std::fs::File::create(&path).unwrap(), &meta).unwrap();
    let key = BlockFlags(BlockFlags::KEYFRAME);
    for i in 0..125u64 {
        let t = i * 40 * MS;
        if t == 0 || t == 4_520 * MS {
            let d = NewBlock {
                track: 1,
                flags: key,
                pts: Some(t),
                duration: Some(10 * MS),
                ..NewBlock::default()
            };
            w.write_block(&d, b"token").unwrap();
        }
        let v = NewBlock {
            track: 0,
            flags: key,
            pts: Some(t),
            duration: Some(40 * MS),
            ..NewBlock::default()
        };
        w.write_block(&v, &[1; 8]).unwrap();
    }
    w.finish().unwrap();

    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored name=d d.video_0 ! queue ! fakesink name=v d.data_0 ! queue ! fakesink name=s"
    ));
    let sparse = capture(&p, "s");
    run(&p, 10);
    let c = sparse.lock().unwrap();
    let gaps: Vec<(u64, u64)> = c
        .events
        .iter()
        .filter_map(|e| match e.view() {
            gst::EventView::Gap(g) => {
                let (ts, dur) = g.get();
                Some((ts.nseconds(), dur.unwrap().nseconds()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(c.buffers.len(), 2);
    assert!(gaps.len() >= 3, "{gaps:?}");
    // They start where the first token ended, follow each other, and stop before the next token.
    assert_eq!(gaps[0].0, 10 * MS, "{gaps:?}");
    for w in gaps.windows(2) {
        assert_eq!(w[0].0 + w[0].1, w[1].0, "{gaps:?}");
    }
    let (last, dur) = *gaps.last().unwrap();
    assert!(last + dur <= 4_520 * MS, "{gaps:?}");
    // No gap runs ahead of the video: each ends at a video block's time.
    assert!(
        gaps.iter().all(|(t, d)| (t + d) % (40 * MS) == 0),
        "{gaps:?}"
    );
}
