//! Wrong input to the elements: each case gets its named message, good data is kept.

mod gstcommon;

use gst::prelude::*;
use gstcommon::*;
use gsth4::format::block::BlockFlags;
use gsth4::format::meta::{Meta, Track, TrackKind};
use gsth4::format::writer::{NewBlock, Writer};

fn appsrc(p: &gst::Pipeline, name: &str, caps: &str) -> gst_app::AppSrc {
    let src = app_src(p, name);
    src.set_caps(Some(&gst::Caps::from_str(caps).unwrap()));
    src.set_format(gst::Format::Time);
    src
}

use std::str::FromStr;

fn timed(i: u64, data: &[u8]) -> gst::Buffer {
    let mut b = gst::Buffer::from_slice(data.to_vec());
    b.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(i * 10));
    b
}

#[test]
fn a_buffer_without_timestamps_is_a_mux_error_naming_the_pad() {
    let p = pipeline("appsrc name=s ! h4mkmux name=m ! fakesink");
    let s = appsrc(&p, "s", "application/x-test");
    s.push_buffer(timed(0, b"ok")).unwrap();
    s.push_buffer(gst::Buffer::from_slice(b"untimed".to_vec()))
        .unwrap();
    s.end_of_stream().unwrap();
    let (err, _) = run_to_error(&p, 10);
    assert_eq!(
        err,
        "pad video_0: a buffer has neither PTS nor DTS, and the one before it no duration to place it by; H4MK stores explicit time"
    );
}

#[test]
fn a_media_type_change_is_a_mux_error_and_a_field_change_is_stored() {
    let p = pipeline("appsrc name=s ! h4mkmux name=m ! fakesink");
    let s = appsrc(&p, "s", "video/x-test, width=(int)1");
    s.push_buffer(timed(0, b"a")).unwrap();
    s.set_caps(Some(&gst::Caps::from_str("audio/x-other").unwrap()));
    s.push_buffer(timed(1, b"b")).unwrap();
    s.end_of_stream().unwrap();
    let (err, _) = run_to_error(&p, 10);
    assert!(
        err.contains("caps changed from video/x-test to audio/x-other"),
        "{err}"
    );

    // Same media type, other fields: a META update, and the demuxer sends the new caps.
    let (_d, path) = tmp("caps.h4mk");
    let p = pipeline(&format!(
        "appsrc name=s ! h4mkmux ! filesink location={path}"
    ));
    let s = appsrc(&p, "s", "video/x-test, width=(int)1");
    s.push_buffer(timed(0, b"a")).unwrap();
    s.set_caps(Some(
        &gst::Caps::from_str("video/x-test, width=(int)2").unwrap(),
    ));
    s.push_buffer(timed(1, b"b")).unwrap();
    s.end_of_stream().unwrap();
    run(&p, 10);
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored ! appsink name=out"
    ));
    let out = capture(&p, "out");
    run(&p, 10);
    let c = out.lock().unwrap();
    let caps: Vec<String> = c
        .events
        .iter()
        .filter_map(|e| match e.view() {
            gst::EventView::Caps(c) => Some(c.caps().to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        caps,
        ["video/x-test, width=(int)1", "video/x-test, width=(int)2"]
    );
    assert_eq!(c.buffers.len(), 2);
}

#[test]
fn a_pad_requested_after_data_started_is_refused_with_an_error() {
    let p = pipeline("appsrc name=s ! h4mkmux name=m ! fakesink");
    let s = appsrc(&p, "s", "application/x-test");
    p.set_state(gst::State::Playing).unwrap();
    s.push_buffer(timed(0, b"a")).unwrap();
    s.push_buffer(timed(1, b"b")).unwrap();
    // Wait until the muxer has written (and so declared its tracks).
    let sink_pad = p.by_name("m").unwrap().static_pad("src").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while sink_pad.current_caps().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let m = p.by_name("m").unwrap();
    assert!(m.request_pad_simple("video_%u").is_none());
    let (err, _) = run_to_error(&p, 10);
    assert!(
        err.contains("pad video_%u requested after data started"),
        "{err}"
    );
}

#[test]
fn eos_before_any_buffer_still_gives_a_valid_file() {
    let (d, path) = tmp("one-empty.h4mk");
    let p = pipeline(&format!(
        "appsrc name=a ! m. appsrc name=b ! m. h4mkmux name=m ! filesink location={path}"
    ));
    let a = appsrc(&p, "a", "application/x-a");
    let b = appsrc(&p, "b", "application/x-b");
    a.push_buffer(timed(0, b"x")).unwrap();
    a.end_of_stream().unwrap();
    b.end_of_stream().unwrap();
    run(&p, 10);
    let bytes = std::fs::read(&path).unwrap();
    let report = gsth4::format::verify::verify(bytes.as_slice(), |_| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.blocks, 1);

    let all = d.path().join("none.h4mk").display().to_string();
    let p = pipeline(&format!(
        "appsrc name=a ! h4mkmux ! filesink location={all}"
    ));
    appsrc(&p, "a", "application/x-a").end_of_stream().unwrap();
    run(&p, 10);
    let report = gsth4::format::verify::verify(std::fs::File::open(&all).unwrap(), |_| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.blocks, 0);
}

/// 100 one-track blocks of 100 bytes; returns the file and each block's chunk offset.
fn blocks_file(path: &str) -> Vec<u64> {
    let meta = Meta::new(vec![Track {
        id: 0,
        kind: TrackKind::Video,
        caps: "video/x-test".into(),
        tags: None,
        time_offset: 0,
    }]);
    let mut w = Writer::new(std::fs::File::create(path).unwrap(), &meta).unwrap();
    let mut offsets = Vec::new();
    for i in 0..100u64 {
        let b = NewBlock {
            track: 0,
            flags: BlockFlags(if i % 10 == 0 { BlockFlags::KEYFRAME } else { 0 }),
            pts: Some(i * 40_000_000),
            duration: Some(40_000_000),
            ..NewBlock::default()
        };
        offsets.push(w.write_block(&b, &[i as u8; 100]).unwrap().offset);
    }
    w.finish().unwrap();
    offsets
}

fn warnings(msgs: &[gst::Message]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(w.error().to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_damaged_block_is_reported_and_skipped_and_the_rest_plays() {
    let (_d, path) = tmp("damaged.h4mk");
    let offsets = blocks_file(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    let hit = offsets[37] as usize;
    bytes[hit + 12 + 40 + 5] ^= 0xff; // inside block 37's data
    std::fs::write(&path, &bytes).unwrap();
    for push in [false, true] {
        let q = if push { "queue !" } else { "" };
        let p = pipeline(&format!(
            "filesrc location={path} ! {q} h4mkdemux timestamps=as-stored ! appsink name=out"
        ));
        let out = capture(&p, "out");
        let msgs = run(&p, 10);
        let w = warnings(&msgs);
        assert_eq!(w.len(), 1, "push={push}: {w:?}");
        assert!(
            w[0].contains(&format!("chunk.crc.mismatch at offset {hit}")),
            "{}",
            w[0]
        );
        assert!(
            w[0].contains("track 0, block 37, PTS 0:00:01.480000000"),
            "{}",
            w[0]
        );
        let c = out.lock().unwrap();
        assert_eq!(c.buffers.len(), 99, "push={push}");
        assert!(c.buffers.iter().all(|b| b.data[0] != 37));
    }
    // With the error policy, the damage stops playback with an error naming it.
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored damage-policy=error ! fakesink"
    ));
    let (err, _) = run_to_error(&p, 10);
    assert!(
        err.contains(&format!("chunk.crc.mismatch at offset {hit}")),
        "{err}"
    );
}

#[test]
fn a_file_cut_short_plays_to_its_last_complete_block() {
    let (_d, path) = tmp("cut.h4mk");
    let offsets = blocks_file(&path);
    let bytes = std::fs::read(&path).unwrap();
    let cut = offsets[60] as usize + 70; // inside block 60
    std::fs::write(&path, &bytes[..cut]).unwrap();
    for push in [false, true] {
        let q = if push { "queue !" } else { "" };
        let p = pipeline(&format!(
            "filesrc location={path} ! {q} h4mkdemux timestamps=as-stored ! appsink name=out"
        ));
        let out = capture(&p, "out");
        let msgs = run(&p, 10);
        assert_eq!(out.lock().unwrap().buffers.len(), 60, "push={push}");
        let w = warnings(&msgs);
        assert!(
            w.iter().any(|w| w.contains("chunk.truncated")),
            "push={push}: {w:?}"
        );
    }
}

#[test]
fn a_file_that_is_not_h4mk_is_an_error() {
    let (_d, path) = tmp("not.h4mk");
    std::fs::write(&path, vec![b'x'; 5000]).unwrap();
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored ! fakesink"
    ));
    let (err, _) = run_to_error(&p, 10);
    assert!(
        err.contains("not a readable H4MK file: file.magic"),
        "{err}"
    );
}

// ---- h4fftfilter and h4mask: odd input and properties at their limits ----

/// Pushes `buffers` (raw bytes, optional PTS) of `caps` through `desc` (with an appsrc named
/// `s` and an appsink named `out`) to EOS; returns what reached the sink and the bus warnings.
fn through(desc: &str, caps: &str, buffers: Vec<(Vec<u8>, Option<u64>)>) -> (Shared, Vec<String>) {
    let p = pipeline(desc);
    let s = appsrc(&p, "s", caps);
    let out = capture(&p, "out");
    p.set_state(gst::State::Playing).unwrap();
    for (data, pts) in buffers {
        let mut b = gst::Buffer::from_slice(data);
        b.get_mut()
            .unwrap()
            .set_pts(pts.map(gst::ClockTime::from_nseconds));
        s.push_buffer(b).unwrap();
    }
    s.end_of_stream().unwrap();
    let msgs = {
        let bus = p.bus().unwrap();
        let mut msgs = Vec::new();
        loop {
            let m = bus
                .timed_pop(gst::ClockTime::from_seconds(10))
                .expect("EOS in time");
            match m.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(e) => panic!("{desc}: {} ({:?})", e.error(), e.debug()),
                _ => msgs.push(m),
            }
        }
        msgs
    };
    p.set_state(gst::State::Null).unwrap();
    (out, warnings(&msgs))
}

const F32_MONO: &str = "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, rate=(int)8000, channels=(int)1";

fn silence(samples: usize) -> Vec<u8> {
    vec![0u8; samples * 4]
}

#[test]
fn fftfilter_takes_untimed_empty_and_partial_buffers() {
    // No timestamps: tokens are timed from the segment start; empty buffers and a trailing
    // partial sample change nothing.
    let (tok, w) = through(
        "appsrc name=s ! h4fftfilter name=f frame-size=256 ! fakesink f.tokens ! queue ! appsink name=out",
        F32_MONO,
        vec![
            (silence(300), None),
            (vec![], None),
            (silence(300), None),
            (vec![1, 2], None),
        ],
    );
    assert!(w.is_empty(), "{w:?}");
    let c = tok.lock().unwrap();
    let pts: Vec<u64> = c
        .buffers
        .iter()
        .map(|b| b.pts.unwrap().nseconds())
        .collect();
    // 600 samples: frames at 0 and 256 complete, 512 padded; 256 samples = 32 ms at 8 kHz.
    assert_eq!(pts, vec![0, 32_000_000, 64_000_000]);
    // EOS before any data: no tokens, no error.
    let (tok, _) = through(
        "appsrc name=s ! h4fftfilter name=f ! fakesink f.tokens ! queue ! appsink name=out",
        F32_MONO,
        vec![],
    );
    assert!(tok.lock().unwrap().buffers.is_empty());
}

#[test]
fn fftfilter_properties_at_their_limits() {
    for props in [
        "frame-size=16 top-k=1 hop=1",
        "frame-size=16 top-k=9 portable=true",
        "frame-size=65536 top-k=32769 threshold=-200",
        "frame-size=65536 top-k=32769 portable=true",
        "hop=1048576 threshold=0 window=rectangular",
        "per-channel=true post-messages=false window=blackman-harris",
    ] {
        let p = pipeline(&format!(
            "audiotestsrc num-buffers=80 samplesperbuffer=1024 ! audio/x-raw,channels=2 ! h4fftfilter {props} ! fakesink"
        ));
        run(&p, 30);
    }
}

#[test]
fn mask_takes_untimed_and_empty_buffers_and_a_caps_change() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, [1u8; 32]).unwrap();
    let key = key.display();
    let data = vec![
        (b"first".to_vec(), Some(0)),
        (vec![], Some(10)),
        (b"untimed".to_vec(), None),
    ];
    let (out, w) = through(
        &format!(
            "appsrc name=s ! h4mask key-file={key} track=4294967295 ! h4mask direction=unmask key-file={key} ! appsink name=out"
        ),
        "application/x-test",
        data.clone(),
    );
    assert!(w.is_empty(), "{w:?}");
    let got: Vec<(Vec<u8>, Option<u64>)> = out
        .lock()
        .unwrap()
        .buffers
        .iter()
        .map(|b| (b.data.clone(), b.pts.map(|t| t.nseconds())))
        .collect();
    assert_eq!(got, data);

    // New caps mid-stream: a new masking session, unmasked under the new caps.
    let p = pipeline(&format!(
        "appsrc name=s format=time ! h4mask key-file={key} ! h4mask direction=unmask key-file={key} ! appsink name=out"
    ));
    let s = app_src(&p, "s");
    let out = capture(&p, "out");
    p.set_state(gst::State::Playing).unwrap();
    for (i, caps) in ["application/x-a", "application/x-b, n=(int)2"]
        .iter()
        .enumerate()
    {
        s.set_caps(Some(&gst::Caps::from_str(caps).unwrap()));
        let mut b = gst::Buffer::from_slice(vec![i as u8; 10]);
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(i as u64));
        s.push_buffer(b).unwrap();
    }
    s.end_of_stream().unwrap();
    run(&p, 10);
    let c = out.lock().unwrap();
    assert_eq!(c.buffers.len(), 2);
    assert_eq!(c.caps.as_deref(), Some("application/x-b, n=(int)2"));
}

#[test]
fn property_values_beyond_their_range_are_refused_by_name() {
    // GObject refuses them with a warning naming the property; the element keeps its default
    // and the pipeline still runs. (In-process, that warning would be fatal under
    // G_DEBUG=fatal_warnings, so this runs gst-launch-1.0.)
    let plugin_dir = env!("CARGO_MANIFEST_DIR").to_string() + "/target/release";
    for (element, prop) in [
        ("h4fftfilter", "frame-size=8"),
        ("h4fftfilter", "frame-size=131072"),
        ("h4fftfilter", "top-k=0"),
        ("h4fftfilter", "hop=2000000"),
        ("h4fftfilter", "threshold=10"),
        ("h4mkmux", "checkpoint-interval=1"),
        ("h4mkmux", "checkpoint-interval=4000000000000"),
    ] {
        let desc = format!("audiotestsrc num-buffers=3 ! {element} {prop} ! fakesink");
        let out = std::process::Command::new("gst-launch-1.0")
            .env("GST_PLUGIN_PATH", &plugin_dir)
            .env_remove("G_DEBUG")
            .args(desc.split_whitespace())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let name = prop.split('=').next().unwrap();
        assert!(
            stderr.contains(&format!("for property '{name}'")),
            "{element} {prop}: {stderr}"
        );
        assert!(
            out.status.success(),
            "{element} {prop}: the pipeline runs with the default"
        );
    }
}
