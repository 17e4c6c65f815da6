//! h4mkmux and h4mkdemux with real encoders, decoders and players.

mod gstcommon;

use gst::prelude::*;
use gstcommon::*;

/// Pushes `n` data blocks (varied sizes, one empty, every third a delta unit) into an appsrc.
fn feed_data(pipeline: &gst::Pipeline, n: u64) -> Vec<Captured> {
    let src = app_src(pipeline, "data");
    src.set_caps(Some(
        &gst::Caps::builder("application/x-h4-test")
            .field("version", 1)
            .build(),
    ));
    src.set_format(gst::Format::Time);
    let mut sent = Vec::new();
    for i in 0..n {
        let data: Vec<u8> = (0..(i * 37 % 300)).map(|j| (i * 7 + j) as u8).collect();
        let mut b = gst::Buffer::from_slice(data.clone());
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(i * 100));
            b.set_dts(gst::ClockTime::from_mseconds(i * 100));
            b.set_duration(gst::ClockTime::from_mseconds(100));
            if i % 3 != 0 {
                b.set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        sent.push(Captured::of(&b));
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    sent
}

fn round_trip(video: &str, audio: &str) {
    let (_d, path) = tmp("rt.h4mk");
    let mux = pipeline(&format!(
        "videotestsrc num-buffers=75 ! video/x-raw,width=160,height=120,framerate=25/1 \
           ! x264enc key-int-max=25 bframes=2 speed-preset=ultrafast ! h264parse ! {video} ! tee name=tv \
         tv. ! queue ! appsink name=vin   tv. ! queue ! mux.video_0 \
         audiotestsrc num-buffers=80 ! {audio} ! tee name=ta \
         ta. ! queue ! appsink name=ain   ta. ! queue ! mux.audio_0 \
         appsrc name=data ! tee name=td \
         td. ! queue ! appsink name=din   td. ! queue ! mux.data_0 \
         h4mkmux name=mux ! filesink location={path}"
    ));
    let (vin, ain, din) = (
        capture(&mux, "vin"),
        capture(&mux, "ain"),
        capture(&mux, "din"),
    );
    let sent = feed_data(&mux, 20);
    run(&mux, 60);

    let demux = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored name=d \
         d.video_0 ! queue ! appsink name=vout   d.audio_0 ! queue ! appsink name=aout \
         d.data_0 ! queue ! appsink name=dout"
    ));
    let (vout, aout, dout) = (
        capture(&demux, "vout"),
        capture(&demux, "aout"),
        capture(&demux, "dout"),
    );
    run(&demux, 60);

    for (what, a, b) in [
        ("video", &vin, &vout),
        ("audio", &ain, &aout),
        ("data", &din, &dout),
    ] {
        let (a, b) = (a.lock().unwrap(), b.lock().unwrap());
        assert!(!a.buffers.is_empty(), "{what}: nothing went in");
        assert_eq!(a.buffers.len(), b.buffers.len(), "{what}: buffer count");
        for (i, (x, y)) in a.buffers.iter().zip(&b.buffers).enumerate() {
            assert_eq!(x, y, "{what} buffer {i}");
        }
        assert_eq!(a.caps, b.caps, "{what}: caps");
        assert_eq!(
            b.discont.first(),
            Some(&true),
            "{what}: first buffer is DISCONT"
        );
        assert!(
            b.discont[1..].iter().all(|d| !d),
            "{what}: DISCONT only at the start"
        );
    }
    assert_eq!(din.lock().unwrap().buffers, sent);
    // B-frames: some DTS differ from PTS, and they came back as they went in.
    assert!(vin.lock().unwrap().buffers.iter().any(|b| b.dts != b.pts));
    assert!(
        vin.lock()
            .unwrap()
            .buffers
            .iter()
            .filter(|b| !b.delta)
            .count()
            >= 3
    );
    let report =
        gsth4::format::verify::verify(std::fs::File::open(&path).unwrap(), |_| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
}

#[test]
fn avc_opus_and_data_round_trip_losslessly() {
    round_trip("video/x-h264,stream-format=avc,alignment=au", "opusenc");
}

#[test]
fn byte_stream_h264_and_raw_audio_round_trip_losslessly() {
    round_trip(
        "video/x-h264,stream-format=byte-stream,alignment=au",
        "audio/x-raw,format=S16LE,rate=48000,channels=2",
    );
}

/// Frame checksums of a file decoded by decodebin.
fn decoded_frames(path: &str) -> Vec<Vec<u8>> {
    let p = pipeline(&format!(
        "filesrc location={path} ! decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=out"
    ));
    let out = capture(&p, "out");
    run(&p, 60);

    out.lock()
        .unwrap()
        .buffers
        .iter()
        .map(|b| b.data.clone())
        .collect()
}

#[test]
fn decodebin_decodes_the_same_frames_as_from_matroska() {
    let (d, mkv) = tmp("a.mkv");
    let h4 = d.path().join("a.h4mk").display().to_string();
    let enc = pipeline(&format!(
        "videotestsrc num-buffers=50 pattern=ball ! video/x-raw,width=160,height=120,framerate=25/1 \
           ! x264enc key-int-max=10 bframes=1 speed-preset=ultrafast ! h264parse ! tee name=t \
         t. ! queue ! matroskamux ! filesink location={mkv} \
         t. ! queue ! h4mkmux ! filesink location={h4}"
    ));
    run(&enc, 60);
    let (a, b) = (decoded_frames(&mkv), decoded_frames(&h4));
    assert_eq!(a.len(), 50);
    assert!(a == b, "decoded frames differ");
}

#[test]
fn muxing_to_a_pipe_gives_a_file_that_plays_and_seeks() {
    init();
    let (d, path) = tmp("piped.h4mk");
    let status = gst_tool("sh")
        .arg("-c")
        .arg(format!(
            "gst-launch-1.0 -q videotestsrc num-buffers=60 ! video/x-raw,width=160,height=120,framerate=25/1 \
               ! x264enc key-int-max=10 speed-preset=ultrafast ! h264parse ! h4mkmux ! fdsink fd=1 | cat > {path}"
        ))
        .status()
        .unwrap();
    assert!(status.success());
    let report =
        gsth4::format::verify::verify(std::fs::File::open(&path).unwrap(), |_| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.blocks, 60);
    // Plays, and a seek lands on the keyframe at 1.2 s.
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored ! appsink name=out"
    ));
    let out = capture(&p, "out");
    p.set_state(gst::State::Paused).unwrap();
    p.state(gst::ClockTime::from_seconds(10)).0.unwrap();
    out.lock().unwrap().buffers.clear();
    p.seek_simple(
        gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
        gst::ClockTime::from_mseconds(1300),
    )
    .unwrap();
    p.state(gst::ClockTime::from_seconds(10)).0.unwrap();
    let first = out
        .lock()
        .unwrap()
        .buffers
        .first()
        .cloned()
        .expect("a buffer after the seek");
    assert!(!first.delta);
    assert_eq!(
        first.pts.map(|t| t.nseconds() % 3_600_000_000_000),
        Some(1_200_000_000)
    );
    p.set_state(gst::State::Null).unwrap();
    drop(d);
}

#[test]
fn muxing_the_same_input_twice_gives_identical_files() {
    let (d, mkv) = tmp("src.mkv");
    let enc = pipeline(&format!(
        "videotestsrc num-buffers=40 ! video/x-raw,width=160,height=120,framerate=25/1 \
           ! x264enc key-int-max=10 speed-preset=ultrafast ! h264parse ! queue ! m. \
         audiotestsrc num-buffers=40 ! opusenc ! queue ! m. matroskamux name=m ! filesink location={mkv}"
    ));
    run(&enc, 60);
    let mut files = Vec::new();
    for i in 0..2 {
        let out = d.path().join(format!("{i}.h4mk")).display().to_string();
        let p = pipeline(&format!(
            "filesrc location={mkv} ! matroskademux name=dm \
             dm.video_0 ! queue ! h264parse ! queue ! m.video_0 \
             dm.audio_0 ! queue ! m.audio_0 h4mkmux name=m ! filesink location={out}"
        ));
        run(&p, 60);
        files.push(std::fs::read(&out).unwrap());
    }
    assert!(files[0].len() > 10_000);
    assert!(files[0] == files[1], "two runs gave different bytes");
}

#[test]
fn tags_come_back_out_of_the_demuxer() {
    let (_d, path) = tmp("tags.h4mk");
    let p = pipeline(&format!(
        "audiotestsrc num-buffers=20 ! opusenc ! taginject name=ti ! m.audio_0 \
         h4mkmux name=m ! filesink location={path}"
    ));
    p.by_name("ti")
        .unwrap()
        .set_property("tags", "title=\"Ø-test\",artist=gst-h4");
    // Global tags set by the application through GstTagSetter.
    let mux = p.by_name("m").unwrap();
    mux.dynamic_cast_ref::<gst::TagSetter>()
        .unwrap()
        .add_tag::<gst::tags::Album>(&"Harmony", gst::TagMergeMode::Replace);
    run(&p, 30);
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored ! appsink name=out"
    ));
    let out = capture(&p, "out");
    run(&p, 30);
    let tags = &out.lock().unwrap().tags;
    let find = |f: &dyn Fn(&gst::TagList) -> Option<String>| tags.iter().find_map(f);
    assert_eq!(
        find(&|t| t.get::<gst::tags::Title>().map(|v| v.get().to_string())).as_deref(),
        Some("Ø-test")
    );
    assert_eq!(
        find(&|t| t.get::<gst::tags::Artist>().map(|v| v.get().to_string())).as_deref(),
        Some("gst-h4")
    );
    let album = tags
        .iter()
        .find(|t| t.get::<gst::tags::Album>().is_some())
        .expect("global tags");
    assert_eq!(album.get::<gst::tags::Album>().unwrap().get(), "Harmony");
    assert_eq!(album.scope(), gst::TagScope::Global);
}

/// The muxer writes exactly the bytes the core writer writes for the same blocks (here: what
/// `h4mk export` makes of a file), across many checkpoints.
#[test]
fn the_muxer_writes_what_the_core_writer_writes() {
    let (d, path) = tmp("in.bin");
    let data: Vec<u8> = (0..1500u32 * 16)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &data).unwrap();
    let exported = d.path().join("exported.h4mk");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args([
            "export",
            &path,
            "-o",
            exported.to_str().unwrap(),
            "--block-size",
            "16",
            "--fps",
            "25",
            "--gop",
            "25",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let muxed = d.path().join("muxed.h4mk").display().to_string();
    let p = pipeline(&format!(
        "appsrc name=data ! h4mkmux ! tee name=t t. ! queue ! filesink location={muxed} t. ! queue ! appsink name=out"
    ));
    let out = capture(&p, "out");
    let src = app_src(&p, "data");
    src.set_caps(Some(
        &gst::Caps::builder("application/octet-stream").build(),
    ));
    src.set_format(gst::Format::Time);
    for (i, chunk) in data.chunks(16).enumerate() {
        let i = i as u64;
        let mut b = gst::Buffer::from_slice(chunk.to_vec());
        let t = gst::ClockTime::from_mseconds(i * 40);
        let bm = b.get_mut().unwrap();
        bm.set_pts(t);
        bm.set_dts(t);
        bm.set_duration(gst::ClockTime::from_mseconds(40));
        if !i.is_multiple_of(25) {
            bm.set_flags(gst::BufferFlags::DELTA_UNIT);
        }
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    run(&p, 30);
    let captured: Vec<u8> = out
        .lock()
        .unwrap()
        .buffers
        .iter()
        .flat_map(|b| b.data.clone())
        .collect();
    let (a, b) = (
        std::fs::read(&exported).unwrap(),
        std::fs::read(&muxed).unwrap(),
    );
    assert!(
        captured == a,
        "the muxer pushed other bytes than the core writer wrote"
    );
    let first_difference = a.iter().zip(&b).position(|(x, y)| x != y);
    assert!(
        a == b,
        "muxer output differs from the core writer's: lengths {} and {}, first difference at {first_difference:?}",
        a.len(),
        b.len()
    );
}

/// Thousands of tiny blocks (empty payloads) through filesink: the file verifies and equals
/// what fdsink gets. (GStreamer 1.22's filesink loses data on batches of over 1024 memories.)
#[test]
fn tiny_blocks_survive_filesink() {
    let (d, path) = tmp("tiny.h4mk");
    let p = pipeline(&format!(
        "fakesrc num-buffers=3000 sizetype=empty datarate=1000 ! application/x-empty ! h4mkmux \
         ! tee name=t t. ! queue ! filesink location={path} t. ! queue ! appsink name=out"
    ));
    let out = capture(&p, "out");
    run(&p, 30);
    let file = std::fs::read(&path).unwrap();
    let pushed: Vec<u8> = out
        .lock()
        .unwrap()
        .buffers
        .iter()
        .flat_map(|b| b.data.clone())
        .collect();
    assert!(
        file == pushed,
        "filesink wrote {} bytes of {}",
        file.len(),
        pushed.len()
    );
    let report = gsth4::format::verify::verify(file.as_slice(), |_| {}).unwrap();
    assert!(
        report.is_ok(),
        "{:?}",
        &report.findings[..report.findings.len().min(3)]
    );
    assert_eq!(report.blocks, 3000);
    drop(d);
}

/// playbin leaves a data track's pad unlinked: NOT_LINKED there must not stop the others.
#[test]
fn playbin_plays_a_file_with_a_data_track_to_eos() {
    let (_d, path) = tmp("with-data.h4mk");
    let p = pipeline(&format!(
        "videotestsrc num-buffers=50 ! video/x-raw,width=160,height=120,framerate=25/1 \
           ! x264enc key-int-max=25 speed-preset=ultrafast ! h264parse ! queue ! m.video_0 \
         appsrc name=data ! queue ! m.data_0 h4mkmux name=m ! filesink location={path}"
    ));
    feed_data(&p, 20);
    run(&p, 30);
    let p = pipeline(&format!(
        "playbin uri=file://{path} video-sink=\"appsink name=vs sync=false\" audio-sink=\"fakesink sync=false\""
    ));
    // Count decoded frames at the video sink: all 50 must arrive although the data pad is unlinked.
    let sink = p.property::<gst::Element>("video-sink");
    let frames = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let f = frames.clone();
    sink.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            f.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    sink.downcast_ref::<gst_app::AppSink>()
        .unwrap()
        .set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(|s| {
                    s.pull_sample()
                        .map(|_| gst::FlowSuccess::Ok)
                        .map_err(|_| gst::FlowError::Eos)
                })
                .build(),
        );
    run(&p, 30);
    assert_eq!(frames.load(std::sync::atomic::Ordering::Relaxed), 50);
}

/// h4mkdemux (as stored) into h4mkmux gives back the same file, byte for byte: every block,
/// timestamp, flag, caps string, tag and track offset survives the round trip through
/// GStreamer, and the demuxer's own container-format tag is not stored.
#[test]
fn remuxing_as_stored_gives_the_same_bytes() {
    let (d, first) = tmp("first.h4mk");
    let again = d.path().join("again.h4mk").display().to_string();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=60 ! video/x-raw,width=160,height=120,framerate=25/1 \
           ! x264enc key-int-max=10 bframes=2 speed-preset=ultrafast ! h264parse \
           ! taginject tags=\"title=Remux\" ! queue ! m.video_0 \
         audiotestsrc num-buffers=100 ! audio/x-raw,rate=48000 ! opusenc ! queue ! m.audio_0 \
         h4mkmux name=m ! filesink location={first}"
    ));
    run(&p, 60);
    let p = pipeline(&format!(
        "filesrc location={first} ! h4mkdemux timestamps=as-stored name=d \
         d.video_0 ! queue ! m.video_0 d.audio_0 ! queue ! m.audio_0 \
         h4mkmux name=m ! filesink location={again}"
    ));
    run(&p, 60);
    let (a, b) = (
        std::fs::read(&first).unwrap(),
        std::fs::read(&again).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    assert!(a == b, "the remuxed file differs");
}

/// Blocks per track of an H4MK file, by its index.
fn block_counts(path: &str) -> Vec<u64> {
    let bytes = std::fs::read(path).unwrap();
    let mut r = gsth4::format::reader::Reader::open(bytes.as_slice()).unwrap();
    r.seek_table()
        .unwrap()
        .tracks
        .iter()
        .map(|t| t.block_count)
        .collect()
}

/// The demuxer ends each pad right after its track's last block, so a muxer downstream that
/// waits on every pad is not left waiting on a finished track while the video queue fills
/// (with EOS only at the end of the file, both remuxes below stall for good).
#[test]
fn remuxing_a_file_whose_audio_ends_3_s_early_completes() {
    let (_d, path) = tmp("early.h4mk");
    let p = pipeline(&format!(
        "videotestsrc num-buffers=180 ! video/x-raw,format=I420,width=160,height=120,framerate=30/1 \
           ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse ! queue ! m.video_0 \
         audiotestsrc num-buffers=129 samplesperbuffer=1024 ! audio/x-raw,rate=44100,channels=1 \
           ! queue ! m.audio_0 \
         h4mkmux name=m ! filesink location={path}"
    ));
    run(&p, 60);
    let counts = block_counts(&path);
    assert_eq!(counts, vec![180, 129]);
    for (muxer, out) in [("h4mkmux", "remuxed.h4mk"), ("matroskamux", "remuxed.mkv")] {
        let out = path.replace("early.h4mk", out);
        let p = pipeline(&format!(
            "filesrc location={path} ! h4mkdemux name=d \
             d.video_0 ! queue ! m.video_0   d.audio_0 ! queue ! m.audio_0 \
             {muxer} name=m ! filesink location={out}"
        ));
        run(&p, 30);
        if muxer == "h4mkmux" {
            assert_eq!(block_counts(&out), counts, "every block remuxed");
        } else {
            assert!(std::fs::metadata(&out).unwrap().len() > 10_000);
        }
    }
}

/// Small blocks from a source that is not live: the sink pads queue 2 s of them (threads hand
/// them over in long runs), and the output for a file comes in few buffers of gathered bytes;
/// from a live source the queue stays at 200 ms (it adds to the pipeline's latency) and each
/// block goes out at once. The file is the same either way.
#[test]
fn small_blocks_from_a_file_are_queued_and_gathered_not_from_a_live_source() {
    let mut files = Vec::new();
    for live in [false, true] {
        let (_dir, path) = tmp("small.h4mk");
        let p = pipeline(&format!(
            "appsrc name=data is-live={live} ! h4mkmux name=m ! identity name=out ! filesink location={path}"
        ));
        let out = capture(&p, "out");
        p.set_state(gst::State::Playing).unwrap();
        feed_data(&p, 300);
        run(&p, 30);
        let latency = p
            .by_name("m")
            .unwrap()
            .property::<gst::ClockTime>("latency");
        let pushes = out.lock().unwrap().buffers.len();
        if live {
            assert_eq!(latency, gst::ClockTime::from_mseconds(200));
            assert!(pushes > 150, "{pushes} output buffers");
        } else {
            assert_eq!(latency, gst::ClockTime::from_seconds(2));
            assert!(pushes < 10, "{pushes} output buffers");
        }
        files.push(std::fs::read(&path).unwrap());
    }
    assert!(files[0] == files[1], "the same file");
}
