//! HTTP delivery: H4MK served by a stock nginx on 127.0.0.1 plays through souphttpsrc and
//! playbin, and a seek near the end is served by Range requests, not by downloading the file.
//! The server's access log is the witness of what crossed the wire.

mod gstcommon;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use gst::prelude::*;
use gstcommon::nginx::{Nginx, Served};
use gstcommon::{capture, pipeline, run};

fn h4mk(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "h4mk {args:?}: {out:?}");
}

/// 48 MiB of incompressible blocks (64 KiB each, 25 per second, a keyframe every 25): a file
/// big enough that what a player buffers ahead is small beside it.
fn big_data_file(dir: &Path) -> PathBuf {
    let raw = dir.join("big.bin");
    let mut f = std::fs::File::create(&raw).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 1 << 16];
    for _ in 0..768 {
        for b in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    let out = dir.join("big.h4mk");
    h4mk(&[
        "export",
        raw.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--block-size",
        "65536",
        "--fps",
        "25",
        "--gop",
        "25",
    ]);
    out
}

/// Waits for the pipeline to preroll, panicking with the bus error if there is one.
fn preroll(p: &gst::Pipeline) {
    p.set_state(gst::State::Paused).unwrap();
    let (res, _, _) = p.state(gst::ClockTime::from_seconds(30));
    if res.is_err() {
        let err = p
            .bus()
            .unwrap()
            .pop_filtered(&[gst::MessageType::Error])
            .map(|m| format!("{m:?}"));
        p.set_state(gst::State::Null).unwrap();
        panic!("pipeline did not preroll: {err:?}");
    }
}

/// Checks the duration the pipeline reports (the demuxer reads the index from the end of the
/// file before the first block) and seeks to `target_ms` by keyframe.
fn seek_knowing_the_duration(p: &gst::Pipeline, duration: gst::ClockTime, target_ms: u64) {
    let known = p.query_duration::<gst::ClockTime>();
    assert_eq!(known, Some(duration), "duration over HTTP");
    p.seek_simple(
        gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
        gst::ClockTime::from_mseconds(target_ms),
    )
    .expect("a seek over HTTP");
}

fn report(what: &str, size: u64, served: &[Served]) -> u64 {
    let total: u64 = served.iter().map(|s| s.bytes).sum();
    eprintln!(
        "{what}: file {size} bytes, {} requests, {total} bytes sent ({:.1} %): {served:?}",
        served.len(),
        total as f64 * 100.0 / size as f64
    );
    total
}

/// What a seek near the end cost: a Range request past 90 % of the file, and less than half
/// of the file sent in all.
fn assert_served_by_ranges(what: &str, size: u64, served: &[Served]) {
    let total = report(what, size, served);
    assert!(
        served
            .iter()
            .any(|s| s.status == 206 && s.range.is_some_and(|(start, _)| start > size * 9 / 10)),
        "a Range request near the end: {served:?}"
    );
    assert!(
        total < size / 2,
        "a seek near the end fetched {total} of {size} bytes"
    );
}

#[test]
fn souphttpsrc_plays_and_a_seek_near_the_end_is_served_by_ranges() {
    let work = tempfile::tempdir().unwrap();
    let file = big_data_file(work.path());
    let size = std::fs::metadata(&file).unwrap().len();
    let server = Nginx::start();
    let whole_url = server.publish("whole.h4mk", &file);
    let url = server.publish("big.h4mk", &file);

    // Whole file first: every block arrives, in order, byte for byte.
    let p = pipeline(&format!(
        "souphttpsrc location={whole_url} ! h4mkdemux ! appsink name=out sync=false"
    ));
    let out = capture(&p, "out");
    run(&p, 60);
    let all = std::mem::take(&mut out.lock().unwrap().buffers);
    assert_eq!(all.len(), 768);
    for (i, b) in all.iter().enumerate() {
        assert_eq!(b.pts, Some(gst::ClockTime::from_mseconds(40 * i as u64)));
        assert_eq!(b.data.len(), 1 << 16);
    }

    // Then a seek to 29 s of 30.72 s: the first buffer is the keyframe at 29 s, the rest follow.
    let p = pipeline(&format!(
        "souphttpsrc location={url} ! h4mkdemux ! appsink name=out sync=false"
    ));
    let out = capture(&p, "out");
    preroll(&p);
    seek_knowing_the_duration(&p, gst::ClockTime::from_mseconds(30_720), 29_020);
    out.lock().unwrap().buffers.clear();
    run(&p, 60);
    let after = std::mem::take(&mut out.lock().unwrap().buffers);
    // The preroll buffer may be recorded before the flush; the seek's buffers are the tail.
    let tail = &all[725..];
    assert!(
        after.ends_with(tail),
        "after the seek: {} buffers, first PTS {:?}",
        after.len(),
        after.first().map(|b| b.pts)
    );
    assert_eq!(
        after[after.len() - tail.len()].pts,
        Some(gst::ClockTime::from_seconds(29))
    );

    let served = server.stop();
    let (whole, seek_run): (Vec<Served>, Vec<Served>) =
        served.into_iter().partition(|s| s.path == "/whole.h4mk");
    let total_whole = report("souphttpsrc whole file", size, &whole);
    assert!(
        (size..size + size / 10).contains(&total_whole),
        "playing the whole file fetched {total_whole} bytes of {size}"
    );
    assert_served_by_ranges("souphttpsrc seek", size, &seek_run);
}

/// Video (x264, incompressible picture so that the file is large) and Opus, 40 s.
fn big_av_file(dir: &Path) -> PathBuf {
    let out = dir.join("av.h4mk");
    let p = pipeline(&format!(
        "videotestsrc num-buffers=1000 pattern=snow ! video/x-raw,width=320,height=240,framerate=25/1 \
           ! x264enc key-int-max=25 speed-preset=ultrafast bitrate=6000 ! h264parse ! queue ! m.video_0 \
         audiotestsrc num-buffers=1875 ! audio/x-raw,rate=48000 ! opusenc ! queue ! m.audio_0 \
         h4mkmux name=m ! filesink location={}",
        out.display()
    ));
    run(&p, 120);
    out
}

#[test]
fn playbin_plays_over_http_and_seeks_by_range() {
    let work = tempfile::tempdir().unwrap();
    let file = big_av_file(work.path());
    let size = std::fs::metadata(&file).unwrap().len();
    let server = Nginx::start();
    let url = server.publish("av.h4mk", &file);

    let p = pipeline(&format!(
        "playbin uri={url} video-sink=\"appsink name=vs sync=false\" audio-sink=\"fakesink sync=false\""
    ));
    preroll(&p);
    // playbin puts its sinks in place while prerolling.
    let frames = capture(&p, "vs");
    seek_knowing_the_duration(&p, gst::ClockTime::from_seconds(40), 38_500);
    p.state(gst::ClockTime::from_seconds(30)).0.unwrap();
    frames.lock().unwrap().buffers.clear();
    run(&p, 60);
    let (after, segment) = {
        let mut f = frames.lock().unwrap();
        let segment = f.segments().pop().expect("a segment after the seek");
        (std::mem::take(&mut f.buffers), segment)
    };
    // Decoded frames (in stream time: x264enc starts its timestamps at 1000 h) from the
    // keyframe at 38 s to the last one, 39.96 s.
    let pts: Vec<u64> = after
        .iter()
        .filter_map(|b| segment.to_stream_time(b.pts?))
        .map(|t| t.mseconds())
        .collect();
    assert!(!pts.is_empty(), "frames after the seek");
    assert!(
        pts[0] >= 38_000 && pts[0] <= 38_500,
        "first frame after the seek at {} ms",
        pts[0]
    );
    assert_eq!(*pts.last().unwrap(), 39_960);

    let served = server.stop();
    assert_served_by_ranges("playbin seek", size, &served);
}
