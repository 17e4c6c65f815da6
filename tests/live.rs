//! Live H4MK: h4mkmux with `streamable=true` behind tcpserversink, and viewers that connect
//! while it records. Each gets the streamheader (file header and META) first and starts at a
//! keyframe; what it decodes is compared with a full decode of the file recorded at the same
//! time through a tee.

mod gstcommon;

use std::time::{Duration, Instant};

use gst::prelude::*;
use gstcommon::{capture, pipeline, run};
use sha2::{Digest, Sha256};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The decode chain every reader uses: stored timestamps, decoded video as I420 and audio as
/// S16, each buffer as (PTS, SHA-256 of its data).
fn decoding(source: &str) -> String {
    format!(
        "{source} ! h4mkdemux name=d timestamps=as-stored \
           d.video_0 ! queue ! decodebin ! videoconvert ! video/x-raw,format=I420 \
             ! appsink name=v sync=false \
           d.audio_0 ! queue ! decodebin ! audioconvert ! audio/x-raw,format=S16LE \
             ! appsink name=a sync=false"
    )
}

type Frames = Vec<(u64, [u8; 32])>;

fn frames(c: &gstcommon::Shared) -> Frames {
    c.lock()
        .unwrap()
        .buffers
        .iter()
        .map(|b| (b.pts.unwrap().nseconds(), Sha256::digest(&b.data).into()))
        .collect()
}

/// `got` is `reference` from some frame on, to the end: nothing lost, nothing changed.
fn is_tail_of(got: &Frames, reference: &Frames) -> Result<usize, String> {
    let first = got.first().ok_or("nothing decoded")?;
    let at = reference
        .iter()
        .position(|f| f == first)
        .ok_or_else(|| format!("the first frame (PTS {}) is not the sender's", first.0))?;
    if reference[at..] != got[..] {
        let differ = got
            .iter()
            .zip(&reference[at..])
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(reference.len() - at));
        return Err(format!(
            "{} frames from PTS {}; the sender's differ from frame {differ} on ({} frames there)",
            got.len(),
            first.0,
            reference.len() - at
        ));
    }
    Ok(at)
}

/// `frames` at 30 a second of live H.264 (a keyframe a second) and Opus through h4mkmux for
/// live output (with `mux` properties added), teed to `file` and to `network`.
fn live_sender(file: &std::path::Path, mux: &str, network: &str, frames: u32) -> String {
    format!(
        "videotestsrc is-live=true num-buffers={frames} pattern=ball \
           ! video/x-raw,width=320,height=240,framerate=30/1 \
           ! x264enc tune=zerolatency key-int-max=30 speed-preset=ultrafast ! h264parse \
           ! queue ! m.video_0 \
         audiotestsrc is-live=true num-buffers={} freq=330 ! audio/x-raw,rate=48000 \
           ! opusenc ! queue ! m.audio_0 \
         h4mkmux name=m streamable=true {mux} ! tee name=t \
           t. ! queue ! filesink location={} \
           t. ! queue ! {network}",
        frames * 47 / 30,
        file.display()
    )
}

/// Waits for `p` to reach EOS; an error or `secs` without one fails the test.
fn until_eos(p: &gst::Pipeline, secs: u64, what: &str) {
    let end = p.bus().unwrap().timed_pop_filtered(
        gst::ClockTime::from_seconds(secs),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    assert!(
        matches!(
            end.as_ref().map(|m| m.view()),
            Some(gst::MessageView::Eos(_))
        ),
        "{what}: {end:?}"
    );
}

/// Stops a sender at EOS once tcpserversink has had time to send what it still queues for its
/// clients (EOS reaches the sink when the last buffer is queued, not sent; stopping drops the
/// rest), which ends each viewer's stream.
fn close_after_drain(sender: &gst::Pipeline) {
    std::thread::sleep(Duration::from_millis(1000));
    sender.set_state(gst::State::Null).unwrap();
}

/// The video and audio of a whole file, decoded as the viewers decode them.
fn decoded_file(path: &std::path::Path) -> (Frames, Frames) {
    let p = pipeline(&decoding(&format!("filesrc location={}", path.display())));
    let (video, audio) = (capture(&p, "v"), capture(&p, "a"));
    run(&p, 60);
    (frames(&video), frames(&audio))
}

struct Viewer {
    joined: Duration,
    pipeline: gst::Pipeline,
    video: gstcommon::Shared,
    audio: gstcommon::Shared,
}

#[test]
fn late_joiners_over_tcp_decode_the_senders_frames() {
    let dir = tempfile::tempdir().unwrap();
    let sent = dir.path().join("sent.h4mk");
    let port = free_port();
    // 10 s of live H.264 (a keyframe a second) and Opus; the recording and the network get
    // the same buffers.
    let sender = pipeline(&live_sender(
        &sent,
        "",
        &format!("tcpserversink host=127.0.0.1 port={port} sync-method=latest-keyframe"),
        300,
    ));
    sender.set_state(gst::State::Playing).unwrap();
    let started = Instant::now();
    let mut viewers = Vec::new();
    for join_ms in [300u64, 2500, 5000] {
        let when = Duration::from_millis(join_ms);
        std::thread::sleep(when.saturating_sub(started.elapsed()));
        let p = pipeline(&decoding(&format!(
            "tcpclientsrc host=127.0.0.1 port={port}"
        )));
        let video = capture(&p, "v");
        let audio = capture(&p, "a");
        p.set_state(gst::State::Playing).unwrap();
        viewers.push(Viewer {
            joined: started.elapsed(),
            pipeline: p,
            video,
            audio,
        });
    }
    // A viewer's pipeline while it plays: a stream without an end known, not seekable, and
    // its latency answered.
    std::thread::sleep(Duration::from_millis(1500));
    {
        let p = &viewers[2].pipeline;
        assert_eq!(p.query_duration::<gst::ClockTime>(), None);
        let demux = p.by_name("d").unwrap();
        let pad = demux.static_pad("video_0").expect("a video pad");
        let mut q = gst::query::Seeking::new(gst::Format::Time);
        let answered = pad.query(&mut q);
        assert!(!answered || !q.result().0, "seekable: {q:?}");
        let mut q = gst::query::Latency::new();
        assert!(p.query(&mut q), "latency answered");
        println!("viewer pipeline latency: {:?}", q.result());
    }
    until_eos(&sender, 30, "the sender");
    close_after_drain(&sender);
    for v in &viewers {
        until_eos(
            &v.pipeline,
            20,
            &format!("the viewer joined at {:?}", v.joined),
        );
        v.pipeline.set_state(gst::State::Null).unwrap();
    }

    let (ref_video, ref_audio) = decoded_file(&sent);
    assert_eq!(ref_video.len(), 300);
    let first_pts = ref_video.iter().map(|f| f.0).min().unwrap();
    for v in &viewers {
        let got = frames(&v.video);
        let at = is_tail_of(&got, &ref_video)
            .unwrap_or_else(|e| panic!("viewer joined at {:?}: {e}", v.joined));
        // It starts at the keyframe it joined on: within a second of its joining.
        let start = Duration::from_nanos(got[0].0 - first_pts);
        assert!(
            start + Duration::from_millis(1500) > v.joined
                && start < v.joined + Duration::from_millis(1500),
            "viewer joined at {:?} starts at {start:?}",
            v.joined
        );
        // Its segment starts at its first frame, which plays at once (within a frame), and
        // keeps the recording's stream time.
        {
            let c = v.video.lock().unwrap();
            let seg = c.segments()[0].clone();
            let first = c.buffers[0].pts.unwrap();
            let running = seg.to_running_time(first).unwrap();
            assert!(
                running < gst::ClockTime::from_mseconds(34),
                "running time {running}"
            );
            let stream_time = seg.to_stream_time(first).unwrap();
            assert!(
                stream_time.nseconds().abs_diff(start.as_nanos() as u64) < 50_000_000,
                "stream time {stream_time} for the frame at {start:?} of the recording"
            );
        }
        let audio = frames(&v.audio);
        let ref_pts: Vec<u64> = ref_audio.iter().map(|f| f.0).collect();
        let pts: Vec<u64> = audio.iter().map(|f| f.0).collect();
        let from = ref_pts
            .iter()
            .position(|p| *p == pts[0])
            .expect("audio of the sender");
        assert_eq!(pts[..], ref_pts[from..], "viewer joined at {:?}", v.joined);
        // An Opus decoder that starts mid-stream converges on the sender's samples within
        // half a second (measured: the first 24 or 25 buffers of 20 ms differ); from 1 s on
        // every sample is the sender's.
        let differ: Vec<usize> = audio
            .iter()
            .zip(&ref_audio[from..])
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, _)| i)
            .collect();
        assert!(
            differ.iter().all(|i| *i < 50),
            "viewer joined at {:?}: audio buffers {differ:?} differ",
            v.joined
        );
        println!(
            "viewer joined at {:?}: {} video frames from frame {at} (at {start:?}), all the \
             sender's; {} audio buffers from buffer {from}, all but the first {} sample-identical",
            v.joined,
            got.len(),
            audio.len(),
            differ.len()
        );
    }
}

/// Recording and streaming at once: the file a tee gives the filesink beside a tcpserversink
/// (live output, a buffer per chunk) is byte for byte the file recorded alone.
#[test]
fn a_recording_teed_to_the_network_is_the_file_recorded_alone() {
    let dir = tempfile::tempdir().unwrap();
    let sources = "videotestsrc num-buffers=90 pattern=ball \
           ! video/x-raw,width=320,height=240,framerate=30/1 \
           ! x264enc key-int-max=30 speed-preset=ultrafast threads=1 ! h264parse \
           ! queue ! m.video_0 \
         audiotestsrc num-buffers=140 ! audio/x-raw,rate=48000 ! opusenc ! queue ! m.audio_0";
    let alone = dir.path().join("alone.h4mk");
    run(
        &pipeline(&format!(
            "{sources} h4mkmux name=m ! filesink location={}",
            alone.display()
        )),
        60,
    );
    let teed = dir.path().join("teed.h4mk");
    let port = free_port();
    let p = pipeline(&format!(
        "{sources} h4mkmux name=m streamable=true ! tee name=t \
           t. ! queue ! filesink location={} \
           t. ! queue ! tcpserversink name=net host=127.0.0.1 port={port}",
        teed.display()
    ));
    let out = capture(&p, "net");
    run(&p, 60);
    let (alone, teed) = (std::fs::read(alone).unwrap(), std::fs::read(teed).unwrap());
    assert!(
        alone == teed,
        "{} and {} bytes differ",
        alone.len(),
        teed.len()
    );
    // The network side got the same bytes, cut at chunk boundaries: the header chunk and META
    // flagged HEADER, then one buffer per chunk.
    let sent = out.lock().unwrap();
    let joined: Vec<u8> = sent.buffers.iter().flat_map(|b| b.data.clone()).collect();
    assert!(joined == alone);
    assert_eq!(&sent.buffers[0].data[..4], b"H4MK");
    assert!(sent.buffers[0].header && sent.buffers[1].header);
    assert_eq!(&sent.buffers[1].data[..4], b"META");
    assert!(sent.buffers.len() > 90 + 140);
    let caps = sent.caps.clone().unwrap();
    assert!(
        caps.starts_with("video/x-h4mk, streamheader=(buffer)<"),
        "{caps}"
    );
    drop(sent);

    // Straight into a network sink, which cannot seek, h4mkmux writes for live output by
    // itself; into a file it does not.
    for (sink, live) in [
        (
            format!("tcpserversink host=127.0.0.1 port={}", free_port()),
            true,
        ),
        (
            format!("filesink location={}", dir.path().join("f.h4mk").display()),
            false,
        ),
    ] {
        let p = pipeline(&format!("{sources} h4mkmux name=m ! {sink} name=out"));
        let out = capture(&p, "out");
        run(&p, 60);
        let caps = out.lock().unwrap().caps.clone().unwrap();
        assert_eq!(caps.contains("streamheader"), live, "{sink}: {caps}");
    }
}

/// For each video frame: when (pipeline clock) it reached the muxer, and when the output
/// holding it left: the muxer's own delay, in a live pipeline of H.264 and Opus. Frames are
/// matched by running time; `frames_of` gives the video times in an output buffer, as running
/// times when `running` and as stored PTS otherwise.
fn mux_delays(
    muxer: &str,
    frames_of: fn(&gst::BufferRef) -> Vec<u64>,
    running: bool,
) -> Vec<Duration> {
    let p = pipeline(&format!(
        "videotestsrc is-live=true num-buffers=60 ! video/x-raw,width=320,height=240,framerate=30/1 \
           ! x264enc tune=zerolatency key-int-max=30 speed-preset=ultrafast ! h264parse \
           ! queue ! m.video_0 \
         audiotestsrc is-live=true num-buffers=94 ! audio/x-raw,rate=48000 ! opusenc \
           ! queue ! m.audio_0 \
         {muxer} name=m ! fakesink name=out sync=false"
    ));
    type Shared<T> = std::sync::Arc<std::sync::Mutex<T>>;
    let arrived: Shared<std::collections::HashMap<u64, gst::ClockTime>> = Default::default();
    let left: Shared<Vec<(u64, gst::ClockTime)>> = Default::default();
    let segment: Shared<Option<gst::FormattedSegment<gst::ClockTime>>> = Default::default();
    let mux = p.by_name("m").unwrap();
    let clock_of = |e: &gst::Element| e.clock().map(|c| c.time());
    let (a, m, seg) = (arrived.clone(), mux.clone(), segment.clone());
    mux.static_pad("video_0")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let (Some(gst::PadProbeData::Buffer(b)), Some(now)) = (&info.data, clock_of(&m)) {
                let s = pad
                    .sticky_event::<gst::event::Segment>(0)
                    .and_then(|e| e.segment().downcast_ref::<gst::ClockTime>().cloned());
                if let Some(rt) = s.as_ref().and_then(|s| s.to_running_time(b.pts()?)) {
                    a.lock().unwrap().insert(rt.nseconds(), now);
                }
                *seg.lock().unwrap() = s;
            }
            gst::PadProbeReturn::Ok
        });
    let (l, m) = (left.clone(), mux.clone());
    mux.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let (Some(gst::PadProbeData::Buffer(b)), Some(now)) = (&info.data, clock_of(&m)) {
                l.lock()
                    .unwrap()
                    .extend(frames_of(b).into_iter().map(|t| (t, now)));
            }
            gst::PadProbeReturn::Ok
        });
    run(&p, 60);
    let arrived = arrived.lock().unwrap();
    let segment = segment.lock().unwrap().clone().expect("a video segment");
    let delays: Vec<Duration> = left
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(t, out)| {
            let rt = match running {
                true => *t,
                false => segment
                    .to_running_time(gst::ClockTime::from_nseconds(*t))?
                    .nseconds(),
            };
            Some(Duration::from_nanos((*out - *arrived.get(&rt)?).nseconds()))
        })
        .collect();
    delays
}

/// The video PTS of the blocks in an h4mkmux output buffer (live output: one chunk).
fn h4mk_frames(b: &gst::BufferRef) -> Vec<u64> {
    use gsth4::format::block::BlockHeader;
    let data = b.map_readable().unwrap();
    if data.len() < 12 || &data[..4] != b"CORE" {
        return Vec::new();
    }
    match BlockHeader::decode(&data[12..]) {
        Ok((h, _)) if h.track == 0 => h.pts.into_iter().collect(),
        _ => Vec::new(),
    }
}

/// matroskamux stamps each block's buffer with its running time (and a duration; audio
/// blocks too, told apart by times no video frame has).
fn matroska_frames(b: &gst::BufferRef) -> Vec<u64> {
    match (b.pts(), b.duration()) {
        (Some(pts), Some(_)) => vec![pts.nseconds()],
        _ => Vec::new(),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Live output adds at most a frame (33 ms) of delay over `matroskamux streamable=true`.
#[test]
fn live_output_adds_at_most_a_frame_of_delay_over_matroska() {
    let mut h4 = Vec::new();
    let mut mkv = Vec::new();
    // Interleaved rounds: this machine's speed drifts.
    for _ in 0..2 {
        h4.extend(mux_delays("h4mkmux streamable=true", h4mk_frames, false));
        mkv.extend(mux_delays(
            "matroskamux streamable=true",
            matroska_frames,
            true,
        ));
    }
    assert!(
        h4.len() >= 100 && mkv.len() >= 100,
        "{} {}",
        h4.len(),
        mkv.len()
    );
    let (h4_median, mkv_median) = (median(h4.clone()), median(mkv.clone()));
    let (h4_max, mkv_max) = (*h4.iter().max().unwrap(), *mkv.iter().max().unwrap());
    println!(
        "delay from mux input to output per video frame: h4mkmux median {h4_median:?} \
         (max {h4_max:?}, {} frames), matroskamux median {mkv_median:?} (max {mkv_max:?}, {} frames)",
        h4.len(),
        mkv.len()
    );
    assert!(
        h4_median <= mkv_median + Duration::from_millis(33),
        "h4mkmux {h4_median:?}, matroskamux {mkv_median:?}"
    );
}

/// The same over SRT (srtsink as listener, srtsrc as caller, on 127.0.0.1): a viewer that
/// connects 2.5 s in gets the streamheader first (in pieces an SRT message holds) and decodes
/// the sender's frames from a keyframe on, although srtsink starts it at any buffer.
#[test]
fn a_late_viewer_over_srt_decodes_the_senders_frames() {
    let dir = tempfile::tempdir().unwrap();
    let sent = dir.path().join("sent.h4mk");
    let port = free_port();
    let sender = pipeline(&live_sender(
        &sent,
        "",
        &format!("srtsink uri=srt://127.0.0.1:{port}?mode=listener wait-for-connection=false"),
        180,
    ));
    sender.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let viewer = pipeline(&decoding(&format!(
        "srtsrc uri=srt://127.0.0.1:{port}?mode=caller"
    )));
    let video = capture(&viewer, "v");
    let _audio = capture(&viewer, "a");
    viewer.set_state(gst::State::Playing).unwrap();
    until_eos(&sender, 30, "the sender");
    // The last chunks cross the network; srtsrc then waits for more, so the viewer is stopped.
    std::thread::sleep(Duration::from_millis(500));
    viewer.set_state(gst::State::Null).unwrap();
    sender.set_state(gst::State::Null).unwrap();
    let (reference, _) = decoded_file(&sent);
    let got = frames(&video);
    let at = is_tail_of(&got, &reference).unwrap_or_else(|e| panic!("{e}"));
    assert!((60..=120).contains(&at), "starts at frame {at}");
    assert_eq!(at % 30, 0, "a keyframe");
    println!(
        "SRT viewer: {} frames from frame {at}, all the sender's",
        got.len()
    );
}

const H4MK: &str = env!("CARGO_BIN_EXE_h4mk");

fn h4mk(args: &[&str]) -> (Option<i32>, String) {
    let o = std::process::Command::new(H4MK)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// A viewer that saves what it receives from 2 s in (`tcpclientsrc ! filesink`) holds a
/// capture: `h4mk verify` says where it joined, checks every block it holds and the
/// signature from the first SIGN it holds; a byte flipped in it is named; `h4mk repair`
/// keeps all its blocks, from the keyframe it joined at; h4mkdemux plays it.
#[test]
fn a_late_joiners_capture_verifies_from_where_it_joined() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    assert_eq!(h4mk(&["keygen", "-q", "-o", &path("k")]).0, Some(0));
    let sent = dir.path().join("sent.h4mk");
    let port = free_port();
    let sender = pipeline(&live_sender(
        &sent,
        &format!(
            "signing-key-file={} checkpoint-interval=500000000",
            path("k")
        ),
        &format!("tcpserversink host=127.0.0.1 port={port} sync-method=latest-keyframe"),
        150,
    ));
    sender.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    let viewer = pipeline(&format!(
        "tcpclientsrc host=127.0.0.1 port={port} ! filesink location={}",
        path("capture.h4mk")
    ));
    viewer.set_state(gst::State::Playing).unwrap();
    until_eos(&sender, 30, "sender");
    close_after_drain(&sender);
    until_eos(&viewer, 10, "viewer");
    viewer.set_state(gst::State::Null).unwrap();

    let sent = std::fs::read(&sent).unwrap();
    let cap = std::fs::read(path("capture.h4mk")).unwrap();
    let (code, out) = h4mk(&["verify", "--json", &path("capture.h4mk")]);
    assert_eq!(code, Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let j = &v["joined"];
    let (at, sender_at) = (
        j["offset"].as_u64().unwrap() as usize,
        j["sender_offset"].as_u64().unwrap() as usize,
    );
    // The stream header is the recording's file header and META; the rest is the recording
    // from the join on, byte for byte.
    assert_eq!(cap[..at], sent[..at]);
    assert!(
        cap[at..] == sent[sender_at..],
        "the capture is the recording's tail"
    );
    // It joined at a keyframe video block, and the signature vouches from its first SIGN on.
    assert_eq!(&cap[at..at + 4], b"CORE");
    let signed = &v["signed"];
    assert_eq!(signed["whole_file"], true, "{v}");
    assert!(signed["from_block"].as_u64().unwrap() >= j["first_block"].as_u64().unwrap());
    let (code, out) = h4mk(&["verify", &path("capture.h4mk")]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("joined at the sender's chunk {}", j["chunk"])),
        "{out}"
    );

    // A byte flipped in transit, in the tenth chunk after the join.
    let mut at_chunk = at;
    for _ in 0..10 {
        at_chunk +=
            12 + u32::from_le_bytes(cap[at_chunk + 4..at_chunk + 8].try_into().unwrap()) as usize;
    }
    let mut bad = cap.clone();
    bad[at_chunk + 20] ^= 0x04;
    std::fs::write(path("bad.h4mk"), &bad).unwrap();
    let (code, out) = h4mk(&["verify", &path("bad.h4mk")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("chunk.crc")
            && out.contains(&format!("chunk {:>8}  offset {:>12}", 12, at_chunk)),
        "{out}"
    );

    // Repair keeps every block, the joined keyframe first; the result plays.
    let blocks = v["blocks"].as_u64().unwrap();
    let (code, out) = h4mk(&[
        "repair",
        &path("capture.h4mk"),
        "-o",
        &path("repaired.h4mk"),
    ]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = h4mk(&["verify", "--json", &path("repaired.h4mk")]);
    assert_eq!(code, Some(0), "{out}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["blocks"].as_u64(), Some(blocks), "{out}");
    let (video, _) = decoded_file(&dir.path().join("capture.h4mk"));
    let (reference, _) = decoded_file(&dir.path().join("sent.h4mk"));
    let from = is_tail_of(&video, &reference).unwrap();
    // Joined 2 s in: at the keyframe of 1 s or of 2 s.
    assert!(
        [30, 60].contains(&from),
        "the capture starts at frame {from}"
    );

    // 3000 bytes lost in transit mid-stream: h4mkdemux in push mode names the damage, marks
    // the next buffer of each track DISCONT, and plays on to the end.
    let mut gap = cap.clone();
    let mid = cap.len() / 2;
    gap.drain(mid..mid + 3000);
    std::fs::write(path("gap.h4mk"), &gap).unwrap();
    let whole = blocks_played(&path("capture.h4mk"));
    let p = pipeline(&format!(
        "pushfilesrc location={} ! h4mkdemux name=d \
           d.video_0 ! queue ! appsink name=v d.audio_0 ! queue ! appsink name=a",
        path("gap.h4mk")
    ));
    let (v, a) = (capture(&p, "v"), capture(&p, "a"));
    let messages = run(&p, 30);
    let warning = messages
        .iter()
        .find_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(w.error().to_string()),
            _ => None,
        })
        .expect("a warning");
    assert!(warning.contains("damaged data skipped"), "{warning}");
    for (track, got, all) in [("video", &v, &whole.0), ("audio", &a, &whole.1)] {
        let got = got.lock().unwrap();
        let pts: Vec<_> = got.buffers.iter().map(|b| b.pts).collect();
        let lost = all.iter().filter(|p| !pts.contains(p)).count();
        assert!(lost > 0 && lost < 20, "{track}: {lost} blocks lost");
        assert_eq!(pts.last(), all.last(), "{track} plays to the end");
        // The first buffer after the lost ones is DISCONT, and no other but the first.
        let after = pts.iter().zip(all).position(|(a, b)| a != b).unwrap();
        assert!(got.discont[after], "{track}: buffer {after} after the gap");
        assert_eq!(
            got.discont[1..].iter().filter(|d| **d).count(),
            1,
            "{track}: only there"
        );
    }
}

/// The PTS of every block of each track of an H4MK file, as h4mkdemux sends them.
fn blocks_played(path: &str) -> (Vec<Option<gst::ClockTime>>, Vec<Option<gst::ClockTime>>) {
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux name=d \
           d.video_0 ! queue ! appsink name=v d.audio_0 ! queue ! appsink name=a"
    ));
    let (v, a) = (capture(&p, "v"), capture(&p, "a"));
    run(&p, 30);
    let pts = |c: &gstcommon::Shared| c.lock().unwrap().buffers.iter().map(|b| b.pts).collect();
    (pts(&v), pts(&a))
}

/// HTTP: the `http_live` example serves the stream while it records. A viewer joining 2.5 s in
/// with souphttpsrc decodes the sender's frames from a keyframe on; what curl saves from the
/// same moment verifies as a capture that joined there.
#[test]
fn over_http_a_late_viewer_decodes_and_a_late_capture_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let port = free_port();
    let mut server = gstcommon::example("http_live");
    server
        .args([&port.to_string(), "6", path("sent.h4mk").to_str().unwrap()])
        .stdout(std::process::Stdio::null());
    let mut server = server.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let url = format!("http://127.0.0.1:{port}/");
    let viewer = pipeline(&decoding(&format!(
        "souphttpsrc location={url} is-live=true"
    )));
    let (video, _audio) = (capture(&viewer, "v"), capture(&viewer, "a"));
    viewer.set_state(gst::State::Playing).unwrap();
    let curl = std::process::Command::new("curl")
        .args(["-s", "--max-time", "20", &url, "-o"])
        .arg(path("joined.h4mk"))
        .status()
        .unwrap();
    assert!(curl.success(), "curl: {curl}");
    assert!(server.wait().unwrap().success(), "the server failed");
    until_eos(&viewer, 10, "HTTP viewer");
    viewer.set_state(gst::State::Null).unwrap();

    let (reference, _) = decoded_file(&path("sent.h4mk"));
    let got = frames(&video);
    let from = is_tail_of(&got, &reference).unwrap();
    assert!(
        [60, 90].contains(&from),
        "the viewer starts at frame {from}"
    );

    let (code, out) = h4mk(&["verify", "--json", path("joined.h4mk").to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let first = v["joined"]["first_block"].as_u64().unwrap();
    assert!(first > 60, "joined at block {first}");
}
