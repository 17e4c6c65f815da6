//! Exact playback as editors and players use it, judged by decoded frames: a full decode of
//! the file is the truth, and every range, reverse run, key-unit run and segment loop must give
//! exactly its frames (same times, same pixels), none missing, none extra, none concealed.

mod gstcommon;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gstcommon::*;
use sha2::{Digest, Sha256};

const SEC: u64 = 1_000_000_000;
/// 30 fps.
const FRAME: u64 = SEC / 30;
const FRAMES: u64 = 240;

/// A decoded frame: stream time of its PTS, running time, and a digest of its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Frame {
    time: u64,
    running: u64,
    digest: [u8; 8],
}

/// 8 s of moving picture at 30 fps, H.264 with a keyframe every 30 frames.
fn encode(path: &str, x264: &str) {
    let p = pipeline(&format!(
        "videotestsrc num-buffers={FRAMES} pattern=ball \
           ! video/x-raw,format=I420,width=160,height=120,framerate=30/1 \
           ! x264enc key-int-max=30 speed-preset=ultrafast {x264} ! h264parse \
           ! h4mkmux ! filesink location={path}"
    ));
    run(&p, 60);
}

/// filesrc ! [queue !] h4mkdemux ! h264parse ! avdec_h264 ! appsink, its frames recorded.
struct Decoder {
    p: gst::Pipeline,
    frames: Arc<Mutex<Vec<Frame>>>,
    pulled: Arc<Mutex<u64>>,
}

impl Decoder {
    fn new(path: &str, push: bool) -> Decoder {
        let q = if push { "queue !" } else { "" };
        let p = pipeline(&format!(
            "filesrc location={path} ! {q} h4mkdemux name=d ! h264parse ! avdec_h264 \
               ! video/x-raw,format=I420 ! appsink name=out sync=false"
        ));
        let frames: Arc<Mutex<Vec<Frame>>> = Arc::default();
        let f = frames.clone();
        let sink = p
            .by_name("out")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let buffer = sample.buffer().unwrap();
                    let segment = sample.segment().unwrap();
                    let segment = segment.downcast_ref::<gst::ClockTime>().unwrap();
                    let pts = buffer.pts().unwrap();
                    let map = buffer.map_readable().unwrap();
                    let digest = Sha256::digest(&map[..]);
                    f.lock().unwrap().push(Frame {
                        time: segment.to_stream_time(pts).unwrap().nseconds(),
                        running: segment.to_running_time(pts).unwrap().nseconds(),
                        digest: digest[..8].try_into().unwrap(),
                    });
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        // Bytes the demuxer pulls (pull mode) or is pushed (push mode).
        let pulled: Arc<Mutex<u64>> = Arc::default();
        let n = pulled.clone();
        let demux = p.by_name("d").unwrap();
        demux.static_pad("sink").unwrap().add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::PULL | gst::PadProbeType::PUSH,
            move |_, info| {
                if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                    *n.lock().unwrap() += b.size() as u64;
                }
                gst::PadProbeReturn::Ok
            },
        );
        p.set_state(gst::State::Paused).unwrap();
        assert_eq!(
            p.state(gst::ClockTime::from_seconds(20)).0,
            Ok(gst::StateChangeSuccess::Success)
        );
        Decoder { p, frames, pulled }
    }

    /// Plays to EOS from where the pipeline stands; returns the frames and bytes read since.
    fn play(&self) -> (Vec<Frame>, u64) {
        self.p.set_state(gst::State::Playing).unwrap();
        self.wait_for(gst::MessageType::Eos);
        self.take()
    }

    fn take(&self) -> (Vec<Frame>, u64) {
        let frames = std::mem::take(&mut *self.frames.lock().unwrap());
        let bytes = std::mem::take(&mut *self.pulled.lock().unwrap());
        (frames, bytes)
    }

    fn wait_for(&self, what: gst::MessageType) -> gst::Message {
        let bus = self.p.bus().unwrap();
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(30),
                &[what, gst::MessageType::Error],
            )
            .unwrap_or_else(|| panic!("no {what:?} in 30 s"));
        if let gst::MessageView::Error(e) = msg.view() {
            panic!("{}: {:?}", e.error(), e.debug());
        }
        msg
    }

    /// A seek from the sink; asserts that it is taken.
    fn seek(&self, rate: f64, flags: gst::SeekFlags, start: u64, stop: u64) {
        let seek = gst::event::Seek::new(
            rate,
            flags,
            gst::SeekType::Set,
            gst::ClockTime::from_nseconds(start),
            gst::SeekType::Set,
            gst::ClockTime::from_nseconds(stop),
        );
        assert!(
            self.p.send_event(seek),
            "seek {rate} {flags:?} [{start}, {stop}) refused"
        );
    }

    /// The frames of a flushing seek played to EOS, and the bytes read for them.
    fn range(&self, rate: f64, extra: gst::SeekFlags, start: u64, stop: u64) -> (Vec<Frame>, u64) {
        self.p.set_state(gst::State::Paused).unwrap();
        self.p.state(gst::ClockTime::from_seconds(20)).0.unwrap();
        self.take();
        let flags = gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE | extra;
        self.seek(rate, flags, start, stop);
        self.play()
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        let _ = self.p.set_state(gst::State::Null);
    }
}

/// The full decode: frame digests by stream time.
fn truth(path: &str) -> BTreeMap<u64, [u8; 8]> {
    let (frames, _) = Decoder::new(path, false).play();
    assert_eq!(
        frames.len() as u64,
        FRAMES,
        "the full decode has every frame"
    );
    let map: BTreeMap<u64, [u8; 8]> = frames.iter().map(|f| (f.time, f.digest)).collect();
    assert_eq!(map.len() as u64, FRAMES, "frames have distinct times");
    let distinct: std::collections::BTreeSet<_> = map.values().collect();
    assert!(distinct.len() as u64 > FRAMES / 2, "the picture moves");
    map
}

/// The frames a decoder shows for [start, stop): those overlapping the range, a frame that
/// begins before the start clipped to begin at it.
fn expected(truth: &BTreeMap<u64, [u8; 8]>, start: u64, stop: u64) -> Vec<(u64, [u8; 8])> {
    truth
        .iter()
        .filter(|&(&t, _)| t + FRAME > start && t < stop)
        .map(|(&t, &d)| (t.max(start), d))
        .collect()
}

fn shown(frames: &[Frame]) -> Vec<(u64, [u8; 8])> {
    frames.iter().map(|f| (f.time, f.digest)).collect()
}

/// xorshift64*: reproducible ranges.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn random_ranges(x264: &str, push: bool, seed: u64) {
    let (_d, path) = tmp("v.h4mk");
    encode(&path, x264);
    let truth = truth(&path);
    let dec = Decoder::new(&path, push);
    let mut rng = Rng(seed);
    let len = FRAMES * FRAME;
    for i in 0..100 {
        let start = rng.below(len - SEC);
        let stop = start + 1 + rng.below((len - start).min(3 * SEC));
        let (frames, _) = dec.range(1.0, gst::SeekFlags::empty(), start, stop);
        assert_eq!(
            shown(&frames),
            expected(&truth, start, stop),
            "range {i} [{start}, {stop}) ({x264}, push {push})"
        );
    }
}

#[test]
fn b_frames_ranges_are_exact_in_pull_mode() {
    random_ranges("bframes=3 b-pyramid=true", false, 1);
}

#[test]
fn b_frames_ranges_are_exact_in_push_mode() {
    random_ranges("bframes=3 b-pyramid=true", true, 2);
}

#[test]
fn ranges_without_b_frames_are_exact_in_both_modes() {
    random_ranges("bframes=0", false, 3);
    random_ranges("bframes=0", true, 4);
}

#[test]
fn reverse_playback_gives_the_forward_frames_reversed() {
    let (_d, path) = tmp("v.h4mk");
    encode(&path, "bframes=3 b-pyramid=true");
    let truth = truth(&path);
    let dec = Decoder::new(&path, false);
    for (rate, start, stop) in [
        (-1.0, 1_234_000_000, 5_432_000_000),
        (-2.0, 0, 3 * SEC),
        (-1.0, 6 * SEC + 10_000_000, FRAMES * FRAME),
    ] {
        let (frames, _) = dec.range(rate, gst::SeekFlags::empty(), start, stop);
        let mut want = expected(&truth, start, stop);
        want.reverse();
        assert_eq!(shown(&frames), want, "rate {rate} [{start}, {stop})");
    }
}

/// Keyframe times (stream time) of the file, from the demuxer's delta flags.
fn keyframes(path: &str) -> Vec<u64> {
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux ! appsink name=k sync=false"
    ));
    let c = capture(&p, "k");
    run(&p, 30);
    let c = c.lock().unwrap();
    let segment = c.segments().swap_remove(0);
    c.buffers
        .iter()
        .filter(|b| !b.delta)
        .map(|b| segment.to_stream_time(b.pts.unwrap()).unwrap().nseconds())
        .collect()
}

#[test]
fn key_unit_trick_mode_sends_only_the_keyframes_and_reads_only_them() {
    let (_d, path) = tmp("v.h4mk");
    encode(&path, "bframes=3 b-pyramid=true");
    let truth = truth(&path);
    let keys = keyframes(&path);
    assert_eq!(keys.len(), 8, "a keyframe a second: {keys:?}");
    let dec = Decoder::new(&path, false);
    let (start, stop) = (500_000_000, 6_500_000_000);
    let in_range: Vec<(u64, [u8; 8])> = keys
        .iter()
        .filter(|&&k| k >= start && k < stop)
        .map(|k| (*k, truth[k]))
        .collect();
    assert_eq!(in_range.len(), 6);
    let (_, normal_bytes) = dec.range(1.0, gst::SeekFlags::empty(), start, stop);
    for rate in [4.0, -4.0] {
        let (frames, bytes) = dec.range(rate, gst::SeekFlags::TRICKMODE_KEY_UNITS, start, stop);
        let mut want = in_range.clone();
        if rate < 0.0 {
            want.reverse();
        }
        assert_eq!(shown(&frames), want, "rate {rate}");
        assert!(
            bytes * 2 < normal_bytes,
            "rate {rate}: {bytes} bytes read, normal playback of the range {normal_bytes}"
        );
    }
}

#[test]
fn segment_seeks_loop_seamlessly() {
    let (_d, path) = tmp("v.h4mk");
    encode(&path, "bframes=3 b-pyramid=true");
    let truth = truth(&path);
    let dec = Decoder::new(&path, false);
    let (start, stop) = (2 * SEC, 3 * SEC + 500_000_000);
    let flags = gst::SeekFlags::SEGMENT | gst::SeekFlags::ACCURATE;
    dec.seek(1.0, gst::SeekFlags::FLUSH | flags, start, stop);
    dec.p.state(gst::ClockTime::from_seconds(20)).0.unwrap();
    dec.take();
    dec.seek(1.0, gst::SeekFlags::FLUSH | flags, start, stop);
    dec.p.set_state(gst::State::Playing).unwrap();
    for _ in 0..2 {
        let done = dec.wait_for(gst::MessageType::SegmentDone);
        let gst::MessageView::SegmentDone(d) = done.view() else {
            unreachable!()
        };
        assert_eq!(
            d.get(),
            gst::GenericFormattedValue::from(gst::ClockTime::from_nseconds(stop))
        );
        dec.seek(1.0, flags, start, stop);
    }
    dec.wait_for(gst::MessageType::SegmentDone);
    let one = expected(&truth, start, stop);
    let want: Vec<_> = one.iter().chain(&one).chain(&one).cloned().collect();
    // The message is posted as the demuxer ends the segment; the decoder drains its last
    // frames when the SEGMENT_DONE event reaches it, a moment later.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while dec.frames.lock().unwrap().len() < want.len() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (frames, _) = dec.take();
    assert_eq!(shown(&frames), want, "three loops of the segment's frames");
    // Running time goes on across loops: loop k starts k segment lengths later.
    let first = one[0].0;
    for (i, f) in frames.iter().enumerate() {
        let k = (i / one.len()) as u64;
        let offset = f.time.saturating_sub(start) + k * (stop - start);
        assert_eq!(f.running, offset, "frame {i} (loop {k}, time {})", f.time);
        assert!(f.time >= first);
    }
}

#[test]
fn push_mode_refuses_what_needs_pull_mode_and_says_why() {
    let (_d, path) = tmp("v.h4mk");
    encode(&path, "bframes=0");
    let dec = Decoder::new(&path, true);
    let flush = gst::SeekFlags::FLUSH;
    for (rate, flags, what) in [
        (-1.0, flush, "reverse playback"),
        (
            4.0,
            flush | gst::SeekFlags::TRICKMODE_KEY_UNITS,
            "key-unit trick mode",
        ),
        (1.0, flush | gst::SeekFlags::SEGMENT, "a segment seek"),
        (1.0, gst::SeekFlags::empty(), "a non-flushing seek"),
    ] {
        let seek = gst::event::Seek::new(
            rate,
            flags,
            gst::SeekType::Set,
            gst::ClockTime::SECOND,
            gst::SeekType::None,
            gst::ClockTime::NONE,
        );
        assert!(!dec.p.send_event(seek), "{what} refused");
        let msg = dec.wait_for(gst::MessageType::Warning);
        let gst::MessageView::Warning(w) = msg.view() else {
            unreachable!()
        };
        assert_eq!(
            w.error().to_string(),
            format!(
                "seek refused: {what} needs pull mode (a source the demuxer can read at any offset, such as filesrc); upstream only pushes"
            )
        );
    }
    // A plain flushing seek still works.
    let (frames, _) = dec.range(1.0, gst::SeekFlags::empty(), SEC, 2 * SEC);
    assert_eq!(frames.len(), 30);
}

/// Reverse playback of a file with audio beside the video: each audio block that overlaps the
/// range goes out exactly once, forward within each keyframe's group, DISCONT at each group.
#[test]
fn reverse_playback_sends_each_audio_block_once() {
    let (_d, path) = tmp("av.h4mk");
    let p = pipeline(&format!(
        "videotestsrc num-buffers={FRAMES} pattern=ball \
           ! video/x-raw,format=I420,width=160,height=120,framerate=30/1 \
           ! x264enc key-int-max=30 speed-preset=ultrafast bframes=2 ! h264parse ! queue ! m.video_0 \
         audiotestsrc num-buffers=400 samplesperbuffer=882 ! audio/x-raw,rate=44100,channels=1 \
           ! queue ! m.audio_0 \
         h4mkmux name=m ! filesink location={path}"
    ));
    run(&p, 60);
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux name=d \
         d.video_0 ! queue ! fakesink name=v   d.audio_0 ! queue ! fakesink name=a"
    ));
    let audio = capture(&p, "a");
    p.set_state(gst::State::Paused).unwrap();
    p.state(gst::ClockTime::from_seconds(20)).0.unwrap();
    let (start, stop) = (1_500_000_000u64, 5_250_000_000u64);
    audio.lock().unwrap().buffers.clear();
    audio.lock().unwrap().discont.clear();
    assert!(p.send_event(gst::event::Seek::new(
        -1.0,
        gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
        gst::SeekType::Set,
        gst::ClockTime::from_nseconds(start),
        gst::SeekType::Set,
        gst::ClockTime::from_nseconds(stop),
    )));
    run(&p, 30);
    let c = audio.lock().unwrap();
    let segment = c.segments().pop().unwrap();
    assert_eq!(segment.rate(), -1.0);
    // Audio blocks are 20 ms long: number them by stream time.
    let idx: Vec<u64> = c
        .buffers
        .iter()
        .map(|b| {
            let base = segment.start().unwrap().nseconds() - segment.time().unwrap().nseconds();
            (b.pts.unwrap().nseconds() - base) / 20_000_000
        })
        .collect();
    let mut sorted = idx.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), idx.len(), "no block twice: {idx:?}");
    let (first, last) = (sorted[0], *sorted.last().unwrap());
    assert_eq!(
        last - first + 1,
        sorted.len() as u64,
        "no block missing: {sorted:?}"
    );
    assert!(first * 20_000_000 <= start, "from the start: {sorted:?}");
    assert_eq!(last, (stop - 1) / 20_000_000, "to the stop: {sorted:?}");
    // Groups run forward and come latest first, each starting with DISCONT.
    let mut starts: Vec<usize> = (0..idx.len()).filter(|&i| c.discont[i]).collect();
    assert!(starts.len() >= 4, "one group per keyframe: {starts:?}");
    starts.push(idx.len());
    let groups: Vec<&[u64]> = starts.windows(2).map(|w| &idx[w[0]..w[1]]).collect();
    for g in &groups {
        assert!(g.windows(2).all(|p| p[1] == p[0] + 1), "forward: {g:?}");
    }
    for pair in groups.windows(2) {
        assert_eq!(
            pair[1].last().unwrap() + 1,
            pair[0][0],
            "latest first: {groups:?}"
        );
    }
}

/// Digests of the raw frames of a Matroska file, in order.
fn mkv_frames(path: &str) -> Vec<[u8; 8]> {
    let p = pipeline(&format!(
        "filesrc location={path} ! matroskademux ! appsink name=f sync=false"
    ));
    let c = capture(&p, "f");
    run(&p, 60);
    let c = c.lock().unwrap();
    c.buffers
        .iter()
        .map(|b| Sha256::digest(&b.data)[..8].try_into().unwrap())
        .collect()
}

/// Renders a GES timeline of clips (in-point and duration in seconds) cut from `src`.
fn ges_render(src: &str, clips: &[(f64, f64)], out: &str) {
    let mut c = gst_tool("ges-launch-1.0");
    c.args(["-t", "video", "--video-caps"])
        .arg("video/x-raw,width=160,height=120,framerate=30/1");
    for (inpoint, duration) in clips {
        c.arg("+clip").arg(format!("file://{src}"));
        // Floats: ges-launch-1.0 reads an integer as nanoseconds.
        c.arg(format!("inpoint={inpoint:.6}"))
            .arg(format!("duration={duration:.6}"));
    }
    c.args(["-f", "video/x-matroska:video/x-raw,format=I420", "-o"])
        .arg(format!("file://{out}"));
    stdout_within(c, 120);
}

/// A video editor's cuts: each clip of the rendered timeline is exactly the source's frames
/// from its in-point for its duration (the clip ends are where B-frames went wrong).
#[test]
fn ges_renders_clips_cut_from_an_h4mk_file_exactly() {
    let (d, path) = tmp("v.h4mk");
    encode(&path, "bframes=3 b-pyramid=true");
    let full = d.path().join("full.mkv").display().to_string();
    ges_render(&path, &[(0.0, 8.0)], &full);
    let full = mkv_frames(&full);
    assert_eq!(full.len() as u64, FRAMES, "the whole file, through GES");
    let clips = [(1.3, 1.0), (4.1, 0.7), (0.5, 0.6), (6.2, 1.1), (2.0, 0.5)];
    let cut = d.path().join("cut.mkv").display().to_string();
    ges_render(&path, &clips, &cut);
    let mut want = Vec::new();
    for (inpoint, duration) in clips {
        let first = (inpoint * 30.0_f64).round() as usize;
        let n = (duration * 30.0_f64).round() as usize;
        want.extend_from_slice(&full[first..first + n]);
    }
    assert_eq!(mkv_frames(&cut), want);
}
