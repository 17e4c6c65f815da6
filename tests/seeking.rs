//! Seeking in pull mode (filesrc) and push mode (filesrc ! queue), on a 10-minute file.

mod gstcommon;

use gst::prelude::*;
use gstcommon::*;
use gsth4::format::block::BlockFlags;
use gsth4::format::meta::{Meta, Track, TrackKind};
use gsth4::format::writer::{NewBlock, Writer};

const SEC: u64 = 1_000_000_000;
/// Video is stamped on a 1000-hour base, as x264enc does.
const VIDEO_BASE: u64 = 1000 * 3600 * SEC;
const MINUTES: u64 = 10;

/// 10 minutes: video at 25 fps with a keyframe every second, audio in 20 ms blocks.
fn ten_minutes(path: &str) {
    let mut meta = Meta::new(vec![
        Track {
            id: 0,
            kind: TrackKind::Video,
            caps: "video/x-h4-test".into(),
            tags: None,
            time_offset: VIDEO_BASE as i64,
        },
        Track {
            id: 1,
            kind: TrackKind::Audio,
            caps: "audio/x-h4-test".into(),
            tags: None,
            time_offset: 0,
        },
    ]);
    meta.writer.commit = "test".into();
    let f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut w = Writer::new(f, &meta).unwrap();
    let end = MINUTES * 60 * SEC;
    let (mut v, mut a) = (0u64, 0u64);
    loop {
        let (vt, at) = (v * 40_000_000, a * 20_000_000);
        if vt >= end && at >= end {
            break;
        }
        if vt <= at && vt < end {
            let key = v % 25 == 0;
            let b = NewBlock {
                track: 0,
                flags: BlockFlags(if key { BlockFlags::KEYFRAME } else { 0 }),
                pts: Some(VIDEO_BASE + vt),
                dts: Some(VIDEO_BASE + vt),
                duration: Some(40_000_000),
                ..NewBlock::default()
            };
            w.write_block(&b, &v.to_le_bytes()).unwrap();
            v += 1;
        } else {
            let b = NewBlock {
                track: 1,
                flags: BlockFlags(BlockFlags::KEYFRAME),
                pts: Some(at),
                duration: Some(20_000_000),
                ..NewBlock::default()
            };
            w.write_block(&b, &a.to_le_bytes()).unwrap();
            a += 1;
        }
    }
    w.finish().unwrap();
}

struct Player {
    p: gst::Pipeline,
    video: Shared,
    audio: Shared,
}

fn player(path: &str, push: bool) -> Player {
    let q = if push { "queue !" } else { "" };
    let p = pipeline(&format!(
        "filesrc location={path} ! {q} h4mkdemux timestamps=as-stored name=d \
         d.video_0 ! queue ! appsink name=v   d.audio_0 ! queue ! appsink name=a"
    ));
    let (video, audio) = (capture(&p, "v"), capture(&p, "a"));
    p.set_state(gst::State::Paused).unwrap();
    assert_eq!(
        p.state(gst::ClockTime::from_seconds(10)).0,
        Ok(gst::StateChangeSuccess::Success)
    );
    Player { p, video, audio }
}

impl Player {
    fn seek(&self, flags: gst::SeekFlags, target: u64, stop: Option<u64>) -> gst::Seqnum {
        self.video.lock().unwrap().buffers.clear();
        self.video.lock().unwrap().events.clear();
        self.video.lock().unwrap().discont.clear();
        let seek = gst::event::Seek::new(
            1.0,
            flags,
            gst::SeekType::Set,
            gst::ClockTime::from_nseconds(target),
            if stop.is_some() {
                gst::SeekType::Set
            } else {
                gst::SeekType::None
            },
            stop.map(gst::ClockTime::from_nseconds),
        );
        let seqnum = seek.seqnum();
        assert!(self.p.send_event(seek), "seek to {target} refused");
        assert_eq!(
            self.p.state(gst::ClockTime::from_seconds(10)).0,
            Ok(gst::StateChangeSuccess::Success)
        );
        seqnum
    }

    /// Stream time of the first video buffer after the last seek, checking its events.
    fn check_landing(
        &self,
        seqnum: gst::Seqnum,
        want_keyframe: u64,
        want_segment_time: u64,
        what: &str,
    ) {
        let c = self.video.lock().unwrap();
        let first = c
            .buffers
            .first()
            .unwrap_or_else(|| panic!("{what}: no buffer"));
        assert!(!first.delta, "{what}: first buffer is a keyframe");
        assert_eq!(
            c.discont.first(),
            Some(&true),
            "{what}: first buffer is DISCONT"
        );
        assert_eq!(
            first.pts.unwrap().nseconds() - VIDEO_BASE,
            want_keyframe,
            "{what}: keyframe"
        );
        let kinds: Vec<(gst::EventType, gst::Seqnum)> = c
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.type_(),
                    gst::EventType::FlushStart
                        | gst::EventType::FlushStop
                        | gst::EventType::Segment
                )
            })
            .map(|e| (e.type_(), e.seqnum()))
            .collect();
        assert_eq!(
            kinds,
            [
                (gst::EventType::FlushStart, seqnum),
                (gst::EventType::FlushStop, seqnum),
                (gst::EventType::Segment, seqnum)
            ],
            "{what}: flush and segment events carry the seek's seqnum"
        );
        let seg = c.segments().pop().unwrap();
        assert_eq!(
            seg.time().unwrap().nseconds(),
            want_segment_time,
            "{what}: segment time"
        );
        // The pad's segment maps the track's base back onto stream time.
        let first_pts = first.pts.unwrap();
        // Defined outside the segment too: an accurate seek's keyframe comes before its start.
        let st = seg
            .to_stream_time_full(first_pts)
            .and_then(|t| t.positive())
            .unwrap_or_else(|| panic!("{what}: {first_pts} in {seg:?}"));
        assert_eq!(
            st.nseconds(),
            want_keyframe,
            "{what}: stream time of the keyframe"
        );
    }
}

fn random_seeks(push: bool) {
    let (_d, path) = tmp("ten.h4mk");
    ten_minutes(&path);
    let pl = player(&path, push);
    let mut x = if push { 17u64 } else { 5u64 };
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let dur = MINUTES * 60 * SEC;
    for i in 0..200 {
        let target = rnd(dur - 2 * SEC);
        let before = target / SEC * SEC;
        let after = target.div_ceil(SEC) * SEC;
        let (flags, keyframe, seg_time, label) = match i % 4 {
            0 => (
                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
                before,
                before,
                "key-unit",
            ),
            1 => (
                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT | gst::SeekFlags::SNAP_AFTER,
                after,
                after,
                "snap-after",
            ),
            2 => (
                gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
                before,
                target,
                "accurate",
            ),
            _ => (
                gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT | gst::SeekFlags::SNAP_BEFORE,
                before,
                before,
                "snap-before",
            ),
        };
        let seqnum = pl.seek(flags, target, None);
        pl.check_landing(
            seqnum,
            keyframe,
            seg_time,
            &format!("seek {i} ({label}) to {target}"),
        );
        // Audio lands too, at or before the video keyframe's time.
        let a = pl.audio.lock().unwrap();
        assert!(
            a.buffers
                .first()
                .and_then(|b| b.pts)
                .is_some_and(|t| t.nseconds() <= keyframe.max(target))
        );
    }
    // The reported duration is the file's.
    assert_eq!(
        pl.p.query_duration::<gst::ClockTime>()
            .map(|d| d.nseconds()),
        Some(dur)
    );
    pl.p.set_state(gst::State::Null).unwrap();
}

#[test]
fn two_hundred_random_seeks_in_pull_mode() {
    random_seeks(false);
}

#[test]
fn two_hundred_random_seeks_in_push_mode() {
    random_seeks(true);
}

#[test]
fn segment_stop_ends_the_stream() {
    let (_d, path) = tmp("ten.h4mk");
    ten_minutes(&path);
    for push in [false, true] {
        let pl = player(&path, push);
        pl.seek(
            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
            100 * SEC,
            Some(103 * SEC),
        );
        pl.video.lock().unwrap().buffers.clear();
        let bus = pl.p.bus().unwrap();
        pl.p.set_state(gst::State::Playing).unwrap();
        let msg = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(20),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        assert!(
            matches!(
                msg.as_ref().map(|m| m.view()),
                Some(gst::MessageView::Eos(_))
            ),
            "push={push}: {msg:?}"
        );
        let c = pl.video.lock().unwrap();
        let last = c.buffers.last().unwrap().pts.unwrap().nseconds() - VIDEO_BASE;
        assert!(
            (102 * SEC..103 * SEC).contains(&last),
            "push={push}: last video buffer at {last}"
        );
        drop(c);
        pl.p.set_state(gst::State::Null).unwrap();
    }
}

#[test]
fn seeking_query_answers_in_both_modes() {
    let (_d, path) = tmp("ten.h4mk");
    ten_minutes(&path);
    for push in [false, true] {
        let pl = player(&path, push);
        let mut q = gst::query::Seeking::new(gst::Format::Time);
        assert!(pl.p.query(&mut q));
        assert!(q.result().0, "push={push}: seekable");
        pl.p.set_state(gst::State::Null).unwrap();
    }
}
