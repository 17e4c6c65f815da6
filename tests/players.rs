//! Where users meet the plugin: playbin, gst-play-1.0 and gst-discoverer-1.0 find h4mkdemux
//! through the typefinder, play, seek and report what the file holds.

mod gstcommon;

use gstcommon::*;

/// 4 s of H.264 (a keyframe a second) and Opus, with a title and an artist on the video.
fn av_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("av.h4mk").display().to_string();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=100 ! video/x-raw,width=160,height=120,framerate=25/1 \
           ! x264enc key-int-max=25 speed-preset=ultrafast ! h264parse \
           ! taginject tags=\"title=Testcard,artist=gst-h4\" ! queue ! m.video_0 \
         audiotestsrc num-buffers=188 ! audio/x-raw,rate=48000 ! opusenc ! queue ! m.audio_0 \
         h4mkmux name=m ! filesink location={path}"
    ));
    run(&p, 60);
    path
}

#[test]
fn discoverer_reports_duration_streams_and_tags() {
    let d = tempfile::tempdir().unwrap();
    let path = av_file(&d);
    let mut c = gst_tool("gst-discoverer-1.0");
    c.arg("-v").arg(&path);
    let text = stdout_within(c, 60);
    assert!(text.contains("Duration: 0:00:04.0"), "{text}");
    assert!(text.contains("Seekable: yes"), "{text}");
    assert!(text.contains("container #0: video/x-h4mk"), "{text}");
    assert!(text.contains("container format: H4MK"), "{text}");
    assert!(text.contains("video #1: video/x-h264"), "{text}");
    assert!(text.contains("audio #2: audio/x-opus"), "{text}");
    assert!(text.contains("title: Testcard"), "{text}");
    assert!(text.contains("artist: gst-h4"), "{text}");
    assert!(text.contains("Width: 160"), "{text}");
    assert!(text.contains("Sample rate: 48000"), "{text}");
}

#[test]
fn playbin_plays_to_eos() {
    let d = tempfile::tempdir().unwrap();
    let path = av_file(&d);
    let p = pipeline(&format!(
        "playbin uri=file://{path} video-sink=\"fakesink name=vs sync=false\" audio-sink=\"fakesink sync=false\""
    ));
    run(&p, 60);
}

/// gst-play-1.0 with a start position: it prerolls, seeks (accurately) to 2.5 s and plays to
/// the end at real speed, and quits. fakesink's last-message shows every frame the video sink
/// rendered. (With the video's stored 1000 h timestamps beside the audio's 0, playsink's
/// stream synchronizer of GStreamer 1.22 never ends playback: h4mkdemux aligns the tracks by
/// default, which this checks as well.)
#[test]
fn gst_play_plays_and_seeks() {
    let d = tempfile::tempdir().unwrap();
    let path = av_file(&d);
    let mut c = gst_tool("gst-play-1.0");
    c.args([
        "--no-interactive",
        "-v",
        "--videosink=fakesink name=vs sync=true silent=false",
        "--audiosink=fakesink sync=true",
        "--start-position=2.5",
        &path,
    ]);
    c.stdin(std::process::Stdio::null());
    let text = stdout_within(c, 30);
    // "... (vs:sink) (115200 bytes, dts: none, pts: 1000:00:02.520000000, ..."
    let frames: Vec<u64> = text
        .lines()
        .filter(|l| l.contains("last-message = chain") && l.contains("(vs:sink)"))
        .filter_map(|l| {
            let t = l.split("pts: ").nth(1)?.split(',').next()?;
            let mut parts = t.split(':');
            let h: u64 = parts.next()?.parse().ok()?;
            let m: u64 = parts.next()?.parse().ok()?;
            let s: f64 = parts.next()?.parse().ok()?;
            // x264enc starts at 1000 h; h4mkdemux moves the audio there too.
            Some(((h - 1000) * 3600 + m * 60) * 1000 + (s * 1000.0).round() as u64)
        })
        .collect();
    assert!(frames.len() > 20, "frames rendered: {frames:?}\n{text}");
    // The preroll frame at 0, then straight to 2.5 s (accurate seek), on to the last frame.
    let after: Vec<u64> = frames.iter().copied().skip_while(|&t| t < 2000).collect();
    assert!(
        frames[..frames.len() - after.len()]
            .iter()
            .all(|&t| t < 100),
        "only the preroll frame before the seek: {frames:?}"
    );
    assert_eq!(after.first(), Some(&2500), "{frames:?}");
    assert_eq!(after.last(), Some(&3960), "{frames:?}");
    assert!(
        text.contains("/ 0:00:04.0"),
        "position and duration shown:\n{text}"
    );
    assert!(text.contains("Reached end of play list."), "{text}");
}

/// Frame digests of `desc` (a source of raw video named into `appsink name=out`).
fn frames_of(desc: &str) -> Vec<Vec<u8>> {
    let p = pipeline(desc);
    let c = capture(&p, "out");
    run(&p, 60);
    let c = c.lock().unwrap();
    c.buffers.iter().map(|b| b.data.clone()).collect()
}

/// splitmuxsink with h4mkmux: each file reports its own duration (as Matroska and MP4 files
/// do), and splitmuxsrc plays the set as the unsplit recording.
#[test]
fn splitmuxsink_files_have_their_own_duration_and_splitmuxsrc_plays_them_as_one() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().display().to_string();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=270 pattern=ball ! video/x-raw,format=I420,width=160,height=120,framerate=30/1 \
           ! x264enc key-int-max=30 speed-preset=ultrafast bframes=2 ! h264parse ! tee name=t \
         t. ! queue ! splitmuxsink muxer-factory=h4mkmux location={dir}/part%02d.h4mk max-size-time=3000000000 \
         t. ! queue ! h4mkmux ! filesink location={dir}/whole.h4mk"
    ));
    run(&p, 60);
    for i in 0..3 {
        let mut c = gst_tool("gst-discoverer-1.0");
        c.arg(format!("{dir}/part{i:02}.h4mk"));
        let text = stdout_within(c, 60);
        let line = text
            .lines()
            .find(|l| l.contains("Duration:"))
            .unwrap_or_default();
        // 90 frames of 1/30 s: 3 s, within a frame.
        assert!(
            line.contains("Duration: 0:00:02.9") || line.contains("Duration: 0:00:03.0"),
            "part {i}: {line}"
        );
    }
    let whole = frames_of(&format!(
        "filesrc location={dir}/whole.h4mk ! decodebin ! video/x-raw ! appsink name=out"
    ));
    assert_eq!(whole.len(), 270);
    let parts = frames_of(&format!(
        "splitmuxsrc location={dir}/part*.h4mk ! decodebin ! video/x-raw ! appsink name=out"
    ));
    assert!(
        parts == whole,
        "splitmuxsrc gives the same {} frames",
        whole.len()
    );
}

/// A file with h4fftfilter's token track (2.1 s of a 440 Hz sine, 2 s of video):
/// h4tokentext turns the frames of each second into one line of text, or each frame into one
/// with `interval=0`; decodebin plugs it by itself, so gst-discoverer-1.0 sees a subtitle
/// stream and gst-play-1.0 shows it and plays to the end, no decoder reported missing.
#[test]
fn token_tracks_as_text_and_in_a_player() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("tokens.h4mk").display().to_string();
    let p = pipeline(&format!(
        "audiotestsrc num-buffers=100 wave=sine freq=440 ! audio/x-raw,rate=48000,channels=1 \
           ! h4fftfilter name=f ! audioconvert ! opusenc ! queue ! m.audio_0 \
         f.tokens ! queue ! m.data_0 \
         videotestsrc num-buffers=50 ! video/x-raw,width=160,height=120,framerate=25/1 \
           ! x264enc speed-preset=ultrafast ! h264parse ! queue ! m.video_0 \
         h4mkmux name=m ! filesink location={path}"
    ));
    run(&p, 60);
    let lines_of = |interval: &str| {
        let p = pipeline(&format!(
            "filesrc location={path} ! h4mkdemux name=dm dm.data_0 \
               ! h4tokentext {interval} ! appsink name=out sync=false"
        ));
        let out = capture(&p, "out");
        run(&p, 60);
        let out = out.lock().unwrap();
        assert_eq!(out.caps.as_deref(), Some("text/x-raw, format=(string)utf8"));
        out.buffers
            .iter()
            .map(|b| {
                let text = String::from_utf8(b.data.clone()).unwrap();
                (
                    b.pts.unwrap().nseconds(),
                    b.duration.unwrap().nseconds(),
                    text,
                )
            })
            .collect::<Vec<_>>()
    };
    let frames = lines_of("interval=0");
    assert!(frames.len() > 40, "{}", frames.len());
    assert!(
        frames[5..]
            .iter()
            .all(|(_, _, l)| l.starts_with("mix: 440 Hz")),
        "{frames:?}"
    );
    // A line a second: at 0, 1 and 2 s (from the first frame, to the frame), each covering its
    // frames and together all of them.
    let seconds = lines_of("");
    let starts: Vec<u64> = seconds
        .iter()
        .map(|(pts, _, _)| pts - frames[0].0)
        .collect();
    let second = 1_000_000_000;
    assert_eq!(starts.len(), 3, "{seconds:?}");
    for (start, want) in starts.iter().zip([0, second, 2 * second]) {
        assert!(start.abs_diff(want) < 50_000_000, "{seconds:?}");
    }
    let (last_pts, last_duration, _) = frames[frames.len() - 1];
    let (pts, duration, _) = &seconds[2];
    assert_eq!(pts + duration, last_pts + last_duration);
    assert!(
        seconds.iter().all(|(_, _, l)| l.starts_with("mix: 440 Hz")),
        "{seconds:?}"
    );

    let mut c = gst_tool("gst-discoverer-1.0");
    c.arg(&path);
    let said = stdout_within(c, 60);
    assert!(said.contains(": Timed Text"), "{said}");
    assert!(said.contains("subtitles #"), "{said}");
    assert!(!said.contains("Missing plugins"), "{said}");
    for _ in 0..3 {
        let mut c = gst_tool("gst-play-1.0");
        c.args(["--videosink=fakesink", "--audiosink=fakesink", &path]);
        let (out, errors) = output_within(c, 60);
        assert!(out.contains("Reached end of play list"), "{out}{errors}");
        assert!(
            !(out.clone() + &errors).contains("No decoder"),
            "{out}{errors}"
        );
    }
}
