//! h4mask: masked media through H4MK decodes like the clear path, seeks without a key, and
//! every kind of tampering is a named error with no plaintext of the affected block let out.

mod gstcommon;

use gst::prelude::*;
use gstcommon::*;

const KEY_HEX: &str = "8f3a1c5e7b9d2f4608a1c3e5b7d9f1a2c4e6f8091b3d5f7a9c1e3f5a7b9d1c3e";
const OTHER_KEY_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn key_file(dir: &tempfile::TempDir, name: &str, hex: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, format!("{hex}\n")).unwrap();
    p.display().to_string()
}

/// Decoded video frames and audio samples of `path`: (pts, bytes) each; through an unmasking
/// h4mask when `key` is given. The demuxer aligns the tracks (x264enc's 1000 h onto Opus's 0):
/// h4mask accepts the shifted times, since the whole track moves.
/// (PTS in ns, bytes) of each decoded buffer.
type Decoded = Vec<(u64, Vec<u8>)>;

fn decode(path: &str, key: Option<&str>) -> (Decoded, Decoded) {
    let unmask = |track: u32| {
        key.map(|k| format!("h4mask name=u{track} key-file={k} !"))
            .unwrap_or_default()
    };
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux name=d \
         d.video_0 ! queue ! {} decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=v \
         d.audio_0 ! queue ! {} decodebin ! audioconvert ! audio/x-raw,format=S16LE ! appsink name=a",
        unmask(0),
        unmask(1)
    ));
    let (v, a) = (capture(&p, "v"), capture(&p, "a"));
    run(&p, 60);
    let frames = |c: &Shared| {
        c.lock()
            .unwrap()
            .buffers
            .iter()
            .map(|b| (b.pts.unwrap().nseconds(), b.data.clone()))
            .collect::<Vec<_>>()
    };
    (frames(&v), frames(&a))
}

/// Caps seen by the probe on `pad` (CAPS events), as strings.
fn caps_on(pad: &gst::Pad) -> std::sync::Arc<std::sync::Mutex<Vec<String>>> {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(e)) = &info.data
            && let gst::EventView::Caps(c) = e.view()
        {
            s.lock().unwrap().push(c.caps().to_string());
        }
        gst::PadProbeReturn::Ok
    });
    seen
}

/// Records 5 s of H.264 and Opus twice from one encode: masked (video track 0, audio track 1)
/// and clear. Returns the caps that entered the masking elements.
fn record(dir: &tempfile::TempDir, key: &str) -> (String, String, Vec<String>) {
    let masked = dir.path().join("masked.h4mk").display().to_string();
    let clear = dir.path().join("clear.h4mk").display().to_string();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=150 pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1 \
         ! x264enc key-int-max=30 speed-preset=ultrafast bframes=2 ! h264parse ! tee name=vt \
         audiotestsrc num-buffers=250 ! opusenc ! tee name=at \
         vt. ! queue ! h4mask name=mv key-file={key} ! mux.video_0 \
         at. ! queue ! h4mask name=ma key-file={key} track=1 ! mux.audio_0 \
         h4mkmux name=mux ! filesink location={masked} \
         vt. ! queue ! cmux.video_0 at. ! queue ! cmux.audio_0 \
         h4mkmux name=cmux ! filesink location={clear}"
    ));
    let before = caps_on(&p.by_name("mv").unwrap().static_pad("sink").unwrap());
    let before_a = caps_on(&p.by_name("ma").unwrap().static_pad("sink").unwrap());
    run(&p, 60);
    let mut caps = before.lock().unwrap().clone();
    caps.extend(before_a.lock().unwrap().iter().cloned());
    (masked, clear, caps)
}

#[test]
fn masked_media_decodes_like_the_clear_path_and_seeks_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(&dir, "k", KEY_HEX);
    let (masked, clear, caps_in) = record(&dir, &key);
    assert_eq!(caps_in.len(), 2);

    // The file verifies without the key and stores SAFE chunks.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args(["inspect", "--chunks", &masked])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("SAFE"), "{listing}");
    assert!(!listing.contains("CORE"), "{listing}");
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args(["verify", &masked])
        .status()
        .unwrap();
    assert!(st.success());

    // h4mk extract with the key gives the bytes the clear file holds; a wrong key is named.
    let h4mk = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .args(args)
            .output()
            .unwrap()
    };
    for track in ["0", "1"] {
        let c = h4mk(&["extract", &clear, "--track", track, "--raw"]);
        let m = h4mk(&[
            "extract",
            &masked,
            "--track",
            track,
            "--key-file",
            &key,
            "--raw",
        ]);
        assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
        assert!(c.stdout.len() > 1000);
        assert!(c.stdout == m.stdout, "track {track}: unmasked bytes differ");
    }
    let other = key_file(&dir, "o", OTHER_KEY_HEX);
    let w = h4mk(&["extract", &masked, "--track", "0", "--key-file", &other]);
    assert_eq!(w.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&w.stderr).contains("but the key in"));
    let n = h4mk(&["extract", &masked, "--track", "0"]);
    assert!(String::from_utf8_lossy(&n.stderr).contains("needs the key (--key-file)"));

    let (cv, ca) = decode(&clear, None);
    assert_eq!(cv.len(), 150);
    assert!(ca.len() > 100);
    // Unmask restores the caps exactly, as strings.
    let p = pipeline(&format!(
        "filesrc location={masked} ! h4mkdemux timestamps=as-stored name=d d.video_0 ! queue ! h4mask name=u key-file={key} ! fakesink \
         d.audio_0 ! queue ! h4mask name=ua key-file={key} ! fakesink"
    ));
    let after = caps_on(&p.by_name("u").unwrap().static_pad("src").unwrap());
    let after_a = caps_on(&p.by_name("ua").unwrap().static_pad("src").unwrap());
    run(&p, 30);
    assert_eq!(after.lock().unwrap().as_slice(), &caps_in[..1]);
    assert_eq!(after_a.lock().unwrap().as_slice(), &caps_in[1..]);

    let (mv, ma) = decode(&masked, Some(&key));
    assert!(mv == cv, "decoded video differs from the clear path");
    assert!(ma == ca, "decoded audio differs from the clear path");

    // 50 random flushing key-unit seeks, each decoding the right frame.
    let reference: std::collections::HashMap<u64, Vec<u8>> = cv.into_iter().collect();
    let p = pipeline(&format!(
        "filesrc location={masked} ! h4mkdemux name=d d.video_0 ! queue ! h4mask key-file={key} \
         ! decodebin ! videoconvert ! video/x-raw,format=I420 ! appsink name=v"
    ));
    let v = capture(&p, "v");
    p.set_state(gst::State::Paused).unwrap();
    assert_eq!(
        p.state(gst::ClockTime::from_seconds(10)).0,
        Ok(gst::StateChangeSuccess::Success)
    );
    let mut x = 0x1234_5678_9abc_def1u64;
    for i in 0..50 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = gst::ClockTime::from_nseconds(x % 4_900_000_000);
        v.lock().unwrap().buffers.clear();
        p.seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT, target)
            .unwrap();
        assert_eq!(
            p.state(gst::ClockTime::from_seconds(10)).0,
            Ok(gst::StateChangeSuccess::Success),
            "seek {i} to {target}"
        );
        let c = v.lock().unwrap();
        let first = c
            .buffers
            .first()
            .unwrap_or_else(|| panic!("seek {i}: no frame"));
        let pts = first.pts.unwrap().nseconds();
        assert_eq!(
            reference.get(&pts),
            Some(&first.data),
            "seek {i} to {target}: frame at {pts} decodes as in the clear path"
        );
    }
    p.set_state(gst::State::Null).unwrap();
}

/// Ten masked blocks of a data stream (keyframe every third) plus the final seal, and the
/// masked caps, made by the element.
fn masked_blocks(key: &str, track: u32, mode: &str) -> (gst::Caps, Vec<Captured>) {
    masked_recording(key, &format!("track={track} mode={mode}"), "block")
}

/// `masked_blocks` with more h4mask properties, and `word` in place of "block" at the start of
/// every payload (another recording of the same shape).
fn masked_recording(key: &str, props: &str, word: &str) -> (gst::Caps, Vec<Captured>) {
    let p = pipeline(&format!(
        "appsrc name=src format=time ! h4mask key-file={key} {props} ! appsink name=out"
    ));
    let out = capture(&p, "out");
    let src = app_src(&p, "src");
    src.set_caps(Some(
        &"application/x-test, answer=(int)42"
            .parse::<gst::Caps>()
            .unwrap(),
    ));
    p.set_state(gst::State::Playing).unwrap();
    for i in 0..10u64 {
        let mut b = gst::Buffer::from_mut_slice(
            format!(
                "{word} {i}: secret media bytes {}",
                "x".repeat(i as usize * 10)
            )
            .into_bytes(),
        );
        let r = b.get_mut().unwrap();
        r.set_pts(gst::ClockTime::from_mseconds(i * 40));
        r.set_duration(gst::ClockTime::from_mseconds(40));
        if i % 3 != 0 {
            r.set_flags(gst::BufferFlags::DELTA_UNIT);
        }
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    let bus = p.bus().unwrap();
    bus.timed_pop_filtered(gst::ClockTime::from_seconds(10), &[gst::MessageType::Eos])
        .expect("EOS");
    let caps = out
        .lock()
        .unwrap()
        .caps
        .clone()
        .unwrap()
        .parse::<gst::Caps>()
        .unwrap();
    p.set_state(gst::State::Null).unwrap();
    let blocks = out.lock().unwrap().buffers.clone();
    assert_eq!(blocks.len(), 11);
    (caps, blocks)
}

struct Unmasked {
    out: Vec<Captured>,
    error: Option<gst::glib::Error>,
    warnings: Vec<String>,
}

fn unmask(caps: &gst::Caps, blocks: &[Captured], props: &str) -> Unmasked {
    let p = pipeline(&format!(
        "appsrc name=src format=time ! h4mask name=u direction=unmask {props} ! appsink name=out"
    ));
    let out = capture(&p, "out");
    let src = app_src(&p, "src");
    src.set_caps(Some(caps));
    let _ = p.set_state(gst::State::Playing);
    for b in blocks {
        let mut buf = gst::Buffer::from_mut_slice(b.data.clone());
        let r = buf.get_mut().unwrap();
        r.set_pts(b.pts);
        r.set_dts(b.dts);
        r.set_duration(b.duration);
        if b.delta {
            r.set_flags(gst::BufferFlags::DELTA_UNIT);
        }
        if src.push_buffer(buf).is_err() {
            break;
        }
    }
    let _ = src.end_of_stream();
    let bus = p.bus().unwrap();
    let mut warnings = Vec::new();
    let mut error = None;
    while let Some(m) = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(10),
        &[
            gst::MessageType::Eos,
            gst::MessageType::Error,
            gst::MessageType::Warning,
        ],
    ) {
        match m.view() {
            gst::MessageView::Warning(w) => warnings.push(w.error().to_string()),
            gst::MessageView::Error(e) => {
                error = Some(e.error());
                break;
            }
            _ => break,
        }
    }
    p.set_state(gst::State::Null).unwrap();
    let out = out.lock().unwrap().buffers.clone();
    Unmasked {
        out,
        error,
        warnings,
    }
}

fn plain(i: usize) -> Vec<u8> {
    format!("block {i}: secret media bytes {}", "x".repeat(i * 10)).into_bytes()
}

fn assert_first_plain(u: &Unmasked, n: usize, what: &str) {
    let got: Vec<Vec<u8>> = u.out.iter().map(|b| b.data.clone()).collect();
    let want: Vec<Vec<u8>> = (0..n).map(plain).collect();
    assert_eq!(
        got, want,
        "{what}: exactly the blocks before the affected one come out"
    );
}

#[test]
fn tampering_is_named_and_stops_before_the_affected_block() {
    for mode in ["aes-256-gcm", "aes-256-gcm-siv"] {
        tampering_in(mode);
    }
}

fn tampering_in(mode: &str) {
    eprintln!("mode {mode}: a failure below is in this mode");
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(&dir, "k", KEY_HEX);
    let other = key_file(&dir, "o", OTHER_KEY_HEX);
    let (caps, blocks) = masked_blocks(&key, 0, mode);
    let props = format!("key-file={key}");

    // Intact: everything, timestamps and flags restored, the seal consumed.
    let ok = unmask(&caps, &blocks, &props);
    assert!(ok.error.is_none(), "{:?}", ok.error);
    assert_first_plain(&ok, 10, "intact");
    for (i, b) in ok.out.iter().enumerate() {
        assert_eq!(b.pts, Some(gst::ClockTime::from_mseconds(i as u64 * 40)));
        assert_eq!(b.delta, i % 3 != 0);
    }

    let decrypt = |u: &Unmasked, want: &str, what: &str| {
        let e = u
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no error"));
        assert!(e.matches(gst::StreamError::Decrypt), "{what}: {e}");
        assert!(e.to_string().contains(want), "{what}: {e}");
    };
    let flipped = |at: usize, what: &str| {
        let mut t = blocks.clone();
        let len = t[4].data.len();
        let pos = if at == usize::MAX { len - 1 } else { at };
        t[4].data[pos] ^= 0x04;
        let u = unmask(&caps, &t, &props);
        decrypt(
            &u,
            "block 4 of track 0 (PTS 160000000 ns) fails authentication",
            what,
        );
        assert_first_plain(&u, 4, what);
    };
    flipped(30, "bit in the header's salt");
    flipped(80, "bit in the header's caps digest");
    flipped(112 + 3, "bit in the ciphertext");
    flipped(usize::MAX, "bit in the tag");

    // A bit in the clear index: the order check names it.
    let mut t = blocks.clone();
    t[4].data[44] ^= 0x01;
    let u = unmask(&caps, &t, &props);
    decrypt(&u, "block index 5 where 4 was expected", "index bit");
    assert_first_plain(&u, 4, "index bit");

    // Swapped, duplicated, dropped.
    let mut t = blocks.clone();
    t.swap(4, 5);
    let u = unmask(&caps, &t, &props);
    decrypt(
        &u,
        "block index 5 where 4 was expected: blocks reordered, duplicated or dropped",
        "swap",
    );
    assert_first_plain(&u, 4, "swap");
    let mut t = blocks.clone();
    t.insert(5, t[4].clone());
    let u = unmask(&caps, &t, &props);
    decrypt(&u, "block index 4 where 5 was expected", "duplicate");
    assert_first_plain(&u, 5, "duplicate");

    // The clear timestamp changed (the header still says the old one).
    let mut t = blocks.clone();
    t[4].pts = Some(gst::ClockTime::from_mseconds(999));
    let u = unmask(&caps, &t, &props);
    decrypt(&u, "timestamps or keyframe flag differ", "retimed");
    assert_first_plain(&u, 4, "retimed");

    // Moved from another track, or from another recording (another session's salt: random in
    // aes-256-gcm, from the first block in aes-256-gcm-siv).
    let (_, track1) = masked_blocks(&key, 1, mode);
    let (_, session2) = masked_recording(&key, &format!("track=0 mode={mode}"), "other");
    for (source, what) in [(&track1, "other track"), (&session2, "other file")] {
        let mut t = blocks.clone();
        t[4] = source[4].clone();
        let u = unmask(&caps, &t, &props);
        decrypt(&u, "block 4 of track", what);
        assert_first_plain(&u, 4, what);
    }

    // Truncation: the final seal (and the last block) dropped.
    let u = unmask(&caps, &blocks[..10], &props);
    decrypt(
        &u,
        "ends without its final seal after 10 block(s)",
        "seal dropped",
    );
    let u = unmask(&caps, &blocks[..9], &props);
    decrypt(
        &u,
        "ends without its final seal after 9 block(s)",
        "last block dropped",
    );
    assert_first_plain(&u, 9, "last block dropped");

    // Wrong key, no key: DECRYPT_NOKEY, nothing out.
    let u = unmask(&caps, &blocks, &format!("key-file={other}"));
    let e = u.error.expect("wrong key");
    assert!(e.matches(gst::StreamError::DecryptNokey), "{e}");
    let key_id = caps
        .structure(0)
        .unwrap()
        .get::<String>("h4mask-key-id")
        .unwrap();
    assert!(
        e.to_string().contains(&key_id) && e.to_string().contains("configured key has id"),
        "{e}"
    );
    assert!(u.out.is_empty());
    let u = unmask(&caps, &blocks, "");
    let e = u.error.expect("no key");
    assert!(e.matches(gst::StreamError::DecryptNokey), "{e}");
    assert_eq!(e.to_string(), "no key: set the key-file or key property");
    assert!(u.out.is_empty());

    // A malformed header: FORMAT.
    let mut t = blocks.clone();
    t[2].data.truncate(50);
    let u = unmask(&caps, &t, &props);
    let e = u.error.clone().expect("malformed");
    assert!(e.matches(gst::StreamError::Format), "{e}");
    assert!(
        e.to_string().contains("shorter than the 112-byte header"),
        "{e}"
    );
    assert_first_plain(&u, 2, "malformed");

    // Skip policy: a warning, the block left out, the rest delivered.
    let mut t = blocks.clone();
    t[4].data[120] ^= 0x80;
    let u = unmask(&caps, &t, &format!("{props} on-failure=skip"));
    assert!(u.error.is_none(), "{:?}", u.error);
    assert_eq!(u.warnings.len(), 1, "{:?}", u.warnings);
    assert!(
        u.warnings[0].contains("block 4 of track 0"),
        "{:?}",
        u.warnings
    );
    let got: Vec<Vec<u8>> = u.out.iter().map(|b| b.data.clone()).collect();
    let want: Vec<Vec<u8>> = (0..10).filter(|i| *i != 4).map(plain).collect();
    assert_eq!(got, want);
}

#[test]
fn modes_deterministic_output_and_the_xor_warning() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(&dir, "k", KEY_HEX);
    let props = format!("key-file={key}");
    // GCM-SIV: the same input gives the same bytes; GCM: a fresh salt each session.
    let (c1, a) = masked_blocks(&key, 0, "aes-256-gcm-siv");
    let (_, b) = masked_blocks(&key, 0, "aes-256-gcm-siv");
    assert_eq!(a, b);
    let u = unmask(&c1, &a, &props);
    assert!(u.error.is_none());
    assert_first_plain(&u, 10, "gcm-siv");
    // The GCM-SIV session is the recording's: another first block, or another session-id, is
    // another salt, and a block moved between such recordings under one key fails to open.
    let salt = |c: &gst::Caps| {
        c.structure(0)
            .unwrap()
            .get::<String>("h4mask-salt")
            .unwrap()
    };
    let siv = "track=0 mode=aes-256-gcm-siv";
    let (c2, other) = masked_recording(&key, siv, "other");
    let (c3, named) = masked_recording(&key, &format!("{siv} session-id=take-1"), "block");
    let (c4, named2) = masked_recording(&key, &format!("{siv} session-id=take-2"), "block");
    let (_, named1) = masked_recording(&key, &format!("{siv} session-id=take-1"), "block");
    assert_eq!(named, named1, "a named session is deterministic too");
    let salts = [salt(&c1), salt(&c2), salt(&c3), salt(&c4)];
    for i in 0..4 {
        for j in i + 1..4 {
            assert_ne!(salts[i], salts[j], "sessions {i} and {j}");
        }
    }
    for (source, what) in [(&other, "other first block"), (&named2, "other session-id")] {
        let mut t = a.clone();
        t[4] = source[4].clone();
        let u = unmask(&c1, &t, &props);
        let e = u
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: no error"));
        assert!(e.matches(gst::StreamError::Decrypt), "{what}: {e}");
        assert!(
            e.to_string()
                .contains("block 4 of track 0 (PTS 160000000 ns) fails authentication"),
            "{what}: {e}"
        );
        assert_first_plain(&u, 4, what);
    }
    let u = unmask(&c3, &named, &props);
    assert!(u.error.is_none());
    assert_first_plain(&u, 10, "named gcm-siv session");
    let (_, g1) = masked_blocks(&key, 0, "aes-256-gcm");
    let (_, g2) = masked_blocks(&key, 0, "aes-256-gcm");
    assert_ne!(g1[0].data, g2[0].data);
    // xor: opens, says it is unauthenticated in its caps, and a flipped bit goes unnoticed.
    let (cx, mut x) = masked_blocks(&key, 0, "xor");
    assert!(
        !cx.structure(0)
            .unwrap()
            .get::<bool>("h4mask-authenticated")
            .unwrap()
    );
    x[4].data[112] ^= b'b' ^ b'B';
    let u = unmask(&cx, &x, &props);
    assert!(u.error.is_none());
    assert_eq!(u.out[4].data[0], b'B');
}

#[test]
fn the_key_property_is_write_only_and_checked() {
    init();
    let m = gst::ElementFactory::make("h4mask").build().unwrap();
    let pspec = m.find_property("key").unwrap();
    assert!(!pspec.flags().contains(gst::glib::ParamFlags::READABLE));
    m.set_property("key", KEY_HEX);
    let p = pipeline("appsrc name=src ! h4mask name=m key=0123 ! fakesink");
    let (e, _) = run_to_error(&p, 10);
    assert_eq!(e, "key property: key: 4 characters; a hex key has 64");
}
