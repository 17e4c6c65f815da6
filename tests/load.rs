//! Load: many pipelines at once in one process, state changes with seeks in flight, and a
//! muxer pad released mid-stream. Nothing may deadlock or lose a buffer.

mod common;
mod gstcommon;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Rng, read_blocks};
use gst::prelude::*;
use gstcommon::*;
use gsth4::format::verify::verify;

/// Records every buffer that reaches `pad`.
fn record(pad: &gst::Pad) -> Arc<Mutex<Vec<Captured>>> {
    let seen: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let s = seen.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
            s.lock().unwrap().push(Captured::of(b));
        }
        gst::PadProbeReturn::Ok
    });
    seen
}

/// Muxes a raw video and a raw audio stream (different for each `i`) and demuxes the file:
/// what comes out equals what went in, buffer for buffer.
fn mux_and_demux(i: u64, dir: &std::path::Path) {
    let path = dir.join(format!("{i}.h4mk")).display().to_string();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=40 pattern={} ! video/x-raw,width=32,height=24,framerate=25/1 ! queue ! mux.video_0 \
         audiotestsrc num-buffers=30 freq={} samplesperbuffer=320 ! audio/x-raw,rate=8000,channels=1 ! queue ! mux.audio_0 \
         h4mkmux name=mux ! filesink location={path}",
        i % 20,
        200 + i * 10
    ));
    let mux = p.by_name("mux").unwrap();
    let sent_v = record(&mux.static_pad("video_0").unwrap());
    let sent_a = record(&mux.static_pad("audio_0").unwrap());
    run(&p, 120);
    let q = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored name=d d.video_0 ! queue ! appsink name=v d.audio_0 ! queue ! appsink name=a"
    ));
    let (v, a) = (capture(&q, "v"), capture(&q, "a"));
    run(&q, 120);
    assert_eq!(
        v.lock().unwrap().buffers,
        *sent_v.lock().unwrap(),
        "pipeline {i}: video"
    );
    assert_eq!(
        a.lock().unwrap().buffers,
        *sent_a.lock().unwrap(),
        "pipeline {i}: audio"
    );
    assert_eq!(v.lock().unwrap().buffers.len(), 40);
}

#[test]
fn thirty_two_mux_demux_pipelines_at_once() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::thread::scope(|s| {
        for i in 0..32 {
            s.spawn(move || mux_and_demux(i, d));
        }
    });
}

fn ten_seconds(path: &str) {
    let p = pipeline(&format!(
        "videotestsrc num-buffers=250 ! video/x-raw,width=64,height=48,framerate=25/1 \
         ! x264enc key-int-max=25 speed-preset=ultrafast ! h264parse ! queue ! mux.video_0 \
         audiotestsrc num-buffers=500 samplesperbuffer=160 ! audio/x-raw,rate=8000 ! queue ! mux.audio_0 \
         h4mkmux name=mux ! filesink location={path}"
    ));
    run(&p, 60);
}

#[test]
fn state_changes_with_seeks_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ten.h4mk").display().to_string();
    ten_seconds(&path);
    let states = [
        gst::State::Null,
        gst::State::Ready,
        gst::State::Paused,
        gst::State::Playing,
    ];
    for push in [false, true] {
        let (p, _) = demux_to_fakesinks(&path, push);
        let mut rng = Rng(if push { 11 } else { 5 });
        for round in 0..60 {
            let target = states[rng.below(4) as usize];
            let seeker = (target >= gst::State::Paused).then(|| {
                let p = p.clone();
                let at = gst::ClockTime::from_mseconds(rng.below(9_000));
                std::thread::spawn(move || {
                    for _ in 0..3 {
                        let _ = p.seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT, at);
                        std::thread::sleep(Duration::from_millis(1));
                    }
                })
            });
            let _ = p.set_state(target);
            let (res, current, _) = p.state(gst::ClockTime::from_seconds(10));
            if let Some(s) = seeker {
                s.join().unwrap();
            }
            if res.is_err() {
                let bus = p.bus().unwrap();
                let errors: Vec<String> = std::iter::from_fn(|| bus.pop())
                    .filter_map(|m| match m.view() {
                        gst::MessageView::Error(e) => {
                            Some(format!("{} ({:?})", e.error(), e.debug()))
                        }
                        _ => None,
                    })
                    .collect();
                panic!("push {push} round {round}: {target:?} failed: {errors:?}");
            }
            assert_eq!(
                current, target,
                "push {push} round {round}: stuck on the way to {target:?}"
            );
        }
        p.set_state(gst::State::Null).unwrap();
        let bus = p.bus().unwrap();
        while let Some(m) = bus.pop() {
            if let gst::MessageView::Error(e) = m.view() {
                panic!("push {push}: {} ({:?})", e.error(), e.debug());
            }
        }
    }
}

#[test]
fn a_muxer_pad_released_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("released.h4mk").display().to_string();
    init();
    let p = gst::Pipeline::new();
    let mux = gst::ElementFactory::make("h4mkmux").build().unwrap();
    let sink = gst::ElementFactory::make("filesink")
        .property("location", &path)
        .build()
        .unwrap();
    p.add_many([&mux, &sink]).unwrap();
    mux.link(&sink).unwrap();
    let srcs: Vec<gst_app::AppSrc> = (0..2)
        .map(|i| {
            let src = gst_app::AppSrc::builder()
                .caps(
                    &gst::Caps::builder("application/x-test")
                        .field("n", i)
                        .build(),
                )
                .format(gst::Format::Time)
                .build();
            p.add(&src).unwrap();
            let pad = mux.request_pad_simple("data_%u").unwrap();
            src.static_pad("src").unwrap().link(&pad).unwrap();
            src
        })
        .collect();
    p.set_state(gst::State::Playing).unwrap();
    let buf = |i: u64, track: u8| {
        let mut b = gst::Buffer::from_slice(vec![track; 64 + i as usize]);
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(i * 10));
        b
    };
    for i in 0..20 {
        srcs[0].push_buffer(buf(i, 0)).unwrap();
        srcs[1].push_buffer(buf(i, 1)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    // Release the second pad while the first keeps streaming.
    let pad = srcs[1].static_pad("src").unwrap().peer().unwrap();
    srcs[1].static_pad("src").unwrap().unlink(&pad).unwrap();
    mux.release_request_pad(&pad);
    for i in 20..40 {
        srcs[0].push_buffer(buf(i, 0)).unwrap();
    }
    srcs[0].end_of_stream().unwrap();
    let bus = p.bus().unwrap();
    let m = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(10),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("EOS in time");
    p.set_state(gst::State::Null).unwrap();
    if let gst::MessageView::Error(e) = m.view() {
        panic!("{} ({:?})", e.error(), e.debug());
    }
    let file = std::fs::read(&path).unwrap();
    assert!(verify(file.as_slice(), |_| {}).unwrap().is_ok());
    let blocks = read_blocks(&file);
    let track = |t: u32| -> Vec<Vec<u8>> {
        blocks
            .iter()
            .filter(|b| b.1.spec.track == t)
            .map(|b| b.1.data.clone())
            .collect()
    };
    let first: Vec<Vec<u8>> = (0..40).map(|i| vec![0u8; 64 + i]).collect();
    assert_eq!(track(0), first, "the remaining pad's blocks are all there");
    let second = track(1);
    assert!(second.len() <= 20);
    assert_eq!(
        second,
        (0..second.len())
            .map(|i| vec![1u8; 64 + i])
            .collect::<Vec<_>>(),
        "a prefix of the released pad's blocks"
    );
}
