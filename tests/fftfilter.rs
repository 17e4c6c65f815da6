//! h4fftfilter in real pipelines: frequency accuracy (against `spectrum`), peak order,
//! passthrough, exact token timing, the token track through H4MK, and bad settings.

mod gstcommon;

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gstcommon::*;
use gsth4::fft::tokens::{FLAG_PADDED, MIX, TokenFrame};

/// The `h4fft` messages among `msgs`: (timestamp, duration, channel, padded, frequencies).
#[derive(Debug, Clone, PartialEq)]
struct Msg {
    timestamp: u64,
    duration: u64,
    channel: i32,
    padded: bool,
    bins: Vec<u32>,
    frequencies: Vec<f64>,
}

fn h4fft_messages(msgs: &[gst::Message]) -> Vec<Msg> {
    msgs.iter()
        .filter_map(|m| m.structure())
        .filter(|s| s.name() == "h4fft")
        .map(|s| Msg {
            timestamp: s.get("timestamp").unwrap(),
            duration: s.get("duration").unwrap(),
            channel: s.get("channel").unwrap(),
            padded: s.get("padded").unwrap(),
            bins: s
                .get::<gst::List>("bins")
                .unwrap()
                .iter()
                .map(|v| v.get::<u32>().unwrap())
                .collect(),
            frequencies: s
                .get::<gst::List>("frequencies")
                .unwrap()
                .iter()
                .map(|v| v.get::<f64>().unwrap())
                .collect(),
        })
        .collect()
}

/// Interleaved F32 samples: the sum of `(freq, amp)` tones on every channel, plus uniform
/// noise of `noise` amplitude (a fixed LCG, so the input is the same on every run).
fn tones(rate: u32, channels: usize, frames: usize, parts: &[(f64, f64)], noise: f64) -> Vec<f32> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        let t = i as f64 / f64::from(rate);
        let mut v: f64 = parts
            .iter()
            .map(|(f, a)| a * (2.0 * std::f64::consts::PI * f * t).sin())
            .sum();
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v += noise * ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0);
        out.extend(std::iter::repeat_n(v as f32, channels));
    }
    out
}

/// Feeds `samples` (F32, `channels`) to the appsrc named `src` in buffers of `piece` frames,
/// timestamped from `start` ns; `discont_at` marks one buffer (by index) DISCONT with a
/// timestamp jump of one second.
fn feed(
    p: &gst::Pipeline,
    rate: u32,
    channels: usize,
    samples: &[f32],
    piece: usize,
    discont_at: Option<usize>,
) {
    let src = app_src(p, "src");
    src.set_caps(Some(
        &gst::Caps::builder("audio/x-raw")
            .field("format", "F32LE")
            .field("layout", "interleaved")
            .field("rate", rate as i32)
            .field("channels", channels as i32)
            .build(),
    ));
    src.set_format(gst::Format::Time);
    let mut frame = 0u64;
    let mut jump = 0u64;
    for (i, chunk) in samples.chunks(piece * channels).enumerate() {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut b = gst::Buffer::from_mut_slice(bytes);
        {
            let b = b.get_mut().unwrap();
            if discont_at == Some(i) {
                jump = 1_000_000_000;
                b.set_flags(gst::BufferFlags::DISCONT);
            }
            b.set_pts(gst::ClockTime::from_nseconds(
                frame * 1_000_000_000 / u64::from(rate) + jump,
            ));
        }
        frame += (chunk.len() / channels) as u64;
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
}

#[test]
fn tones_are_found_within_2_hz_where_spectrum_is_bin_accurate() {
    for rate in [44100u32, 48000] {
        for freq in [440.0f64, 1000.0, 2500.0] {
            let p = pipeline(&format!(
                "audiotestsrc freq={freq} num-buffers=20 samplesperbuffer=1024 \
                 ! audio/x-raw,format=F32LE,rate={rate},channels=1 \
                 ! h4fftfilter top-k=1 ! spectrum bands=1025 interval={} threshold=-100 ! fakesink",
                2048u64 * 1_000_000_000 / u64::from(rate) + 1
            ));
            let msgs = run(&p, 20);
            let ours = h4fft_messages(&msgs);
            assert_eq!(ours.len(), 10, "{rate} Hz, {freq} Hz");
            for m in ours.iter().filter(|m| !m.padded) {
                let err = (m.frequencies[0] - freq).abs();
                assert!(
                    err < 2.0,
                    "{rate}/{freq}: h4fftfilter says {:?}",
                    m.frequencies
                );
            }
            // spectrum: the strongest band, at band * rate / nfft Hz.
            let bin_hz = f64::from(rate) / 2048.0;
            let theirs: Vec<f64> = msgs
                .iter()
                .filter_map(|m| m.structure())
                .filter(|s| s.name() == "spectrum")
                .map(|s| {
                    let mags: Vec<f32> = s
                        .get::<gst::List>("magnitude")
                        .unwrap()
                        .iter()
                        .map(|v| v.get::<f32>().unwrap())
                        .collect();
                    let band = (0..mags.len())
                        .max_by(|a, b| mags[*a].total_cmp(&mags[*b]))
                        .unwrap();
                    band as f64 * bin_hz
                })
                .collect();
            assert!(!theirs.is_empty());
            let their_err = (theirs[0] - freq).abs();
            assert!(their_err <= bin_hz / 2.0 + 1e-9);
            if (freq / bin_hz - (freq / bin_hz).round()).abs() > 0.1 {
                // Off-bin tones: spectrum's answer is off by more than our bound.
                assert!(their_err > 2.0, "{rate}/{freq}: spectrum {their_err} Hz");
            }
        }
    }
}

#[test]
fn two_tones_and_a_tone_in_noise_come_out_in_order() {
    let rate = 48000;
    // (tones, noise amplitude, expected peaks in order)
    type Case<'a> = (&'a [(f64, f64)], f64, &'a [f64]);
    let cases: [Case; 3] = [
        (&[(440.0, 0.5), (3000.0, 0.2)], 0.0, &[440.0, 3000.0]),
        (&[(5000.0, 0.1), (700.0, 0.4)], 0.0, &[700.0, 5000.0]),
        (&[(1000.0, 0.3)], 0.05, &[1000.0]),
    ];
    for (parts, noise, want) in cases {
        let p = pipeline(&format!(
            "appsrc name=src ! h4fftfilter top-k={} window=blackman-harris ! fakesink",
            want.len()
        ));
        let samples = tones(rate, 1, 8192, parts, noise);
        feed(&p, rate, 1, &samples, 1000, None);
        let msgs = h4fft_messages(&run(&p, 20));
        assert_eq!(msgs.len(), 4);
        for m in &msgs {
            assert_eq!(m.frequencies.len(), want.len(), "{m:?}");
            for (got, want) in m.frequencies.iter().zip(want) {
                assert!((got - want).abs() < 2.0, "{parts:?}: {m:?}");
            }
        }
    }
}

/// Every buffer entering and leaving the filter: (data pointer, bytes).
type Seen = Arc<Mutex<Vec<(usize, Vec<u8>)>>>;

fn watch(pad: &gst::Pad) -> Seen {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
            let map = b.map_readable().unwrap();
            s.lock()
                .unwrap()
                .push((map.as_ptr() as usize, map.to_vec()));
        }
        gst::PadProbeReturn::Ok
    });
    seen
}

#[test]
fn audio_passes_through_byte_identical_and_in_place() {
    for format in ["S16LE", "S32LE", "F32LE", "F64LE"] {
        let p = pipeline(&format!(
            "audiotestsrc wave=pink-noise num-buffers=30 samplesperbuffer=777 \
             ! audio/x-raw,format={format},rate=44100,channels=3 \
             ! h4fftfilter name=f hop=1000 per-channel=true ! fakesink"
        ));
        let f = p.by_name("f").unwrap();
        let before = watch(&f.static_pad("sink").unwrap());
        let after = watch(&f.static_pad("src").unwrap());
        let msgs = h4fft_messages(&run(&p, 20));
        let (before, after) = (before.lock().unwrap(), after.lock().unwrap());
        assert_eq!(before.len(), 30);
        assert_eq!(*before, *after, "{format}: same memory, same bytes");
        // 30 * 777 = 23310 samples: frames at 0, 1000, …, 21000 complete, 22000 padded; three
        // channels each.
        assert_eq!(msgs.len(), 23 * 3, "{format}");
        assert_eq!(msgs.iter().filter(|m| m.padded).count(), 3);
    }
}

/// Token buffers: (frame, pts, duration, discont).
fn tokens_of(c: &Shared) -> Vec<(TokenFrame, u64, u64, bool)> {
    let c = c.lock().unwrap();
    c.buffers
        .iter()
        .zip(&c.discont)
        .map(|(b, d)| {
            (
                TokenFrame::decode(&b.data).unwrap(),
                b.pts.unwrap().nseconds(),
                b.duration.unwrap().nseconds(),
                *d,
            )
        })
        .collect()
}

#[test]
fn token_count_and_timestamps_are_exact() {
    let rate = 48000u32;
    let ns = |n: u64| n * 1_000_000_000 / u64::from(rate);
    // (frame-size, hop, samples, buffer size, DISCONT at buffer)
    for (size, hop, total, piece, discont_at) in [
        (1024u64, 1024u64, 10_000u64, 1000usize, None),
        (1024, 256, 10_000, 999, None),
        (512, 700, 5000, 333, None),
        (1024, 1024, 8192, 1024, None),
        (1024, 512, 10_000, 1000, Some(4usize)),
    ] {
        let p = pipeline(&format!(
            "appsrc name=src ! h4fftfilter name=f frame-size={size} hop={hop} top-k=4 \
             ! fakesink f.tokens ! queue ! appsink name=tok"
        ));
        let tok = capture(&p, "tok");
        let samples = tones(rate, 1, total as usize, &[(440.0, 0.5)], 0.0);
        let msgs_handle = std::thread::spawn({
            let p = p.clone();
            move || h4fft_messages(&run(&p, 20))
        });
        // Let the pipeline reach PLAYING before feeding (appsrc queues anyway).
        feed(&p, rate, 1, &samples, piece, discont_at);
        let msgs = msgs_handle.join().unwrap();
        let got = tokens_of(&tok);

        // The model: segments of samples split at the DISCONT buffer, each framed on its own
        // from its first sample's timestamp; the partial frame before a DISCONT is dropped,
        // the one at EOS is padded.
        let mut want = Vec::new();
        let split = discont_at.map_or(total, |i| (i * piece) as u64);
        for (from, len, base) in [
            (0, split, 0),
            (split, total - split, ns(split) + 1_000_000_000),
        ] {
            if len == 0 {
                continue;
            }
            let mut start = 0;
            let mut covered = 0;
            while start + size <= len {
                want.push((
                    start,
                    size,
                    base + ns(start),
                    ns(start + size) - ns(start),
                    start == 0,
                ));
                covered = start + size;
                start += hop;
            }
            let last_segment = from + len == total;
            if last_segment && start < len && len > covered {
                let real = len - start;
                want.push((
                    start,
                    real,
                    base + ns(start),
                    ns(start + real) - ns(start),
                    start == 0,
                ));
            }
        }
        let got_model: Vec<_> = got
            .iter()
            .map(|(f, pts, dur, d)| (f.first_sample, u64::from(f.valid), *pts, *dur, *d))
            .collect();
        assert_eq!(
            got_model, want,
            "size {size} hop {hop} piece {piece} discont {discont_at:?}"
        );
        for (f, ..) in &got {
            assert_eq!(f.frame_size as u64, size);
            assert_eq!(f.hop as u64, hop);
            assert_eq!(f.rate, rate);
            assert_eq!(f.flags & FLAG_PADDED != 0, u64::from(f.valid) < size);
            assert_eq!(f.sections.len(), 1);
            assert_eq!(f.sections[0].channel, MIX);
        }
        // Messages and tokens describe the same frames.
        assert_eq!(msgs.len(), got.len());
        for (m, (f, pts, dur, _)) in msgs.iter().zip(&got) {
            assert_eq!((m.timestamp, m.duration), (*pts, *dur));
            let bins: Vec<u32> = f.sections[0].peaks.iter().map(|p| p.bin).collect();
            assert_eq!(m.bins, bins);
        }
        let caps = tok.lock().unwrap().caps.clone().unwrap();
        assert_eq!(
            caps,
            format!(
                "application/x-h4-tokens, version=(int)1, parsed=(boolean)true, rate=(int)48000, \
                 nfft=(int){size}, hop=(int){hop}, k=(int)4, sections=(int)1, window=(string)hann, \
                 transform=(string)native"
            )
        );
    }
}

#[test]
fn per_channel_tokens_name_their_channel() {
    let rate = 48000;
    let left = tones(rate, 1, 4096, &[(500.0, 0.5)], 0.0);
    let right = tones(rate, 1, 4096, &[(2000.0, 0.5)], 0.0);
    let stereo: Vec<f32> = left
        .iter()
        .zip(&right)
        .flat_map(|(l, r)| [*l, *r])
        .collect();
    let p = pipeline(
        "appsrc name=src ! h4fftfilter name=f per-channel=true top-k=1 ! fakesink f.tokens ! queue ! appsink name=tok",
    );
    let tok = capture(&p, "tok");
    feed(&p, rate, 2, &stereo, 4096, None);
    let msgs = h4fft_messages(&run(&p, 20));
    assert_eq!(
        msgs.iter().map(|m| m.channel).collect::<Vec<_>>(),
        vec![0, 1, 0, 1]
    );
    for (f, ..) in tokens_of(&tok) {
        assert_eq!(f.sections.len(), 2);
        assert_eq!(f.sections[0].channel, 0);
        assert!((f.sections[0].peaks[0].frequency - 500.0).abs() < 2.0);
        assert_eq!(f.sections[1].channel, 1);
        assert!((f.sections[1].peaks[0].frequency - 2000.0).abs() < 2.0);
    }
}

#[test]
fn tokens_stored_in_h4mk_come_back_byte_identical() {
    let (_d, path) = tmp("tokens.h4mk");
    let record = |location: &str| {
        let p = pipeline(&format!(
            "audiotestsrc freq=1000 num-buffers=100 ! audio/x-raw,rate=48000,channels=2 \
             ! h4fftfilter name=f hop=1024 ! audioconvert ! opusenc ! h4mkmux name=m \
             ! filesink location={location} f.tokens ! queue ! m.data_0"
        ));
        let tokens = watch(&p.by_name("f").unwrap().static_pad("tokens").unwrap());
        run(&p, 30);
        tokens
            .lock()
            .unwrap()
            .iter()
            .map(|x| x.1.clone())
            .collect::<Vec<_>>()
    };
    let sent = record(&path);
    // 102400 samples, frames of 2048 every 1024: the last complete one ends exactly at the end.
    assert_eq!(sent.len(), 99);

    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux timestamps=as-stored name=d d.data_0 ! queue ! appsink name=tok d.audio_0 ! queue ! fakesink"
    ));
    let tok = capture(&p, "tok");
    run(&p, 30);
    let got = tok.lock().unwrap();
    assert_eq!(
        got.buffers
            .iter()
            .map(|b| b.data.clone())
            .collect::<Vec<_>>(),
        sent
    );
    assert!(
        got.caps
            .as_deref()
            .unwrap()
            .starts_with("application/x-h4-tokens, version=(int)1")
    );
    for (i, b) in got.buffers.iter().enumerate() {
        let f = TokenFrame::decode(&b.data).unwrap();
        assert_eq!(
            b.pts.unwrap().nseconds(),
            f.first_sample * 1_000_000_000 / 48000
        );
        assert_eq!(f.first_sample, i as u64 * 1024);
    }
    drop(got);

    // The same input gives the same file.
    let (_d2, again) = tmp("again.h4mk");
    record(&again);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn bad_settings_and_caps_are_refused_with_a_reason() {
    for (props, want) in [
        (
            "frame-size=1001",
            "frame-size 1001 is not a power of two between 16 and 65536",
        ),
        ("frame-size=1000", "frame-size 1000 is not a power of two"),
        (
            "frame-size=2048 top-k=2000",
            "top-k 2000 is larger than the 1025 bins of a frame",
        ),
        (
            "frame-size=16 top-k=10",
            "top-k 10 is larger than the 9 bins of a frame",
        ),
    ] {
        let p = pipeline(&format!(
            "audiotestsrc num-buffers=5 ! h4fftfilter {props} ! fakesink"
        ));
        let (err, _) = run_to_error(&p, 10);
        assert!(err.contains(want), "{props}: {err}");
    }
    // Zero channels: the caps are refused at negotiation.
    let p = pipeline(
        "appsrc name=src caps=audio/x-raw,format=S16LE,rate=48000,channels=0,layout=interleaved format=time ! h4fftfilter ! fakesink",
    );
    let src = app_src(&p, "src");
    p.set_state(gst::State::Playing).unwrap();
    let _ = src.push_buffer(gst::Buffer::from_mut_slice(vec![0u8; 64]));
    let (err, debug) = run_to_error(&p, 10);
    assert!(
        debug.as_deref().unwrap_or("").contains("not-negotiated"),
        "{err} / {debug:?}"
    );
}

#[test]
fn the_same_audio_gives_the_same_tokens() {
    let samples = tones(44100, 2, 30_000, &[(300.0, 0.2), (4321.0, 0.1)], 0.3);
    let run_once = |portable: bool| {
        let p = pipeline(&format!(
            "appsrc name=src ! h4fftfilter name=f hop=300 portable={portable} ! fakesink \
             f.tokens ! queue ! appsink name=tok"
        ));
        let tok = capture(&p, "tok");
        feed(&p, 44100, 2, &samples, 441, None);
        run(&p, 20);
        let caps = tok.lock().unwrap().caps.clone().unwrap();
        let want = if portable { "portable" } else { "native" };
        assert!(
            caps.ends_with(&format!("transform=(string){want}")),
            "{caps}"
        );
        tokens_of(&tok)
    };
    let native = run_once(false);
    assert_eq!(native.len(), (30_000 - 2048) / 300 + 2);
    assert!(native == run_once(false), "a second run gave other tokens");
    let portable = run_once(true);
    assert!(
        portable == run_once(true),
        "a second portable run gave other tokens"
    );
    // The two transforms differ at most in rounding: the same frames, timestamps and peaks.
    assert_eq!(portable.len(), native.len());
    for ((p, pts, dur, d), (n, npts, ndur, nd)) in portable.iter().zip(&native) {
        assert_eq!((pts, dur, d), (npts, ndur, nd));
        let (pp, np) = (&p.sections[0].peaks, &n.sections[0].peaks);
        assert_eq!(pp.len(), np.len());
        for (a, b) in pp.iter().zip(np).take(2) {
            assert_eq!(a.bin, b.bin, "frame at {pts} ns");
            assert!((a.frequency - b.frequency).abs() < 0.01, "{a:?} {b:?}");
            assert!((a.magnitude - b.magnitude).abs() < 0.01, "{a:?} {b:?}");
        }
    }
}
