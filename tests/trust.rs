//! What a third party can check: masked blocks stay bound to their recording through an edit and
//! a repair.

mod gstcommon;

use std::process::{Command, Output};

use gst::prelude::*;
use gstcommon::*;

const BIN: &str = env!("CARGO_BIN_EXE_h4mk");
const KEY_HEX: &str = "8f3a1c5e7b9d2f4608a1c3e5b7d9f1a2c4e6f8091b3d5f7a9c1e3f5a7b9d1c3e";

fn h4mk(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("h4mk runs")
}

fn stdout_and_err(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn payload(word: &str, i: u64) -> Vec<u8> {
    format!(
        "{word} {i}: secret media bytes {}",
        "x".repeat(i as usize * 10)
    )
    .into_bytes()
}

/// Ten data blocks (`word` starts each payload) masked by h4mask with `props` and muxed by
/// h4mkmux into `path`.
fn masked_file(path: &str, key: &str, props: &str, word: &str) {
    let p = pipeline(&format!(
        "appsrc name=src format=time ! h4mask key-file={key} {props} ! h4mkmux ! filesink location={path}"
    ));
    let src = app_src(&p, "src");
    src.set_caps(Some(&"application/x-test".parse::<gst::Caps>().unwrap()));
    p.set_state(gst::State::Playing).unwrap();
    for i in 0..10u64 {
        let mut b = gst::Buffer::from_mut_slice(payload(word, i));
        let r = b.get_mut().unwrap();
        r.set_pts(gst::ClockTime::from_mseconds(i * 40));
        r.set_duration(gst::ClockTime::from_mseconds(40));
        src.push_buffer(b).unwrap();
    }
    src.end_of_stream().unwrap();
    run(&p, 20);
}

/// (offset, length) of the `nth` SAFE chunk of an H4MK file.
fn safe_chunk(file: &[u8], nth: usize) -> (usize, usize) {
    let mut at = 20; // after the file header chunk
    let mut seen = 0;
    loop {
        let size = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
        if &file[at..at + 4] == b"SAFE" {
            if seen == nth {
                return (at, 12 + size);
            }
            seen += 1;
        }
        at += 12 + size;
    }
}

/// Unmasks `path` through h4mkdemux and h4mask: the payloads that came out, and the error.
fn unmask_file(path: &str, key: &str) -> (Vec<Vec<u8>>, Option<gst::glib::Error>) {
    let p = pipeline(&format!(
        "filesrc location={path} ! h4mkdemux ! h4mask key-file={key} ! appsink name=out"
    ));
    let out = capture(&p, "out");
    p.set_state(gst::State::Playing).unwrap();
    let mut error = None;
    let bus = p.bus().unwrap();
    if let Some(m) = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(20),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) && let gst::MessageView::Error(e) = m.view()
    {
        error = Some(e.error());
    }
    p.set_state(gst::State::Null).unwrap();
    let got = out
        .lock()
        .unwrap()
        .buffers
        .iter()
        .map(|b| b.data.clone())
        .collect();
    (got, error)
}

/// A masked block taken from another recording made under the same key and track, spliced into
/// a file and re-indexed by `h4mk repair`, is refused in both authenticated modes; repair drops
/// it by default, and unmasking then reports the missing block. GCM-SIV stays deterministic.
#[test]
fn a_block_from_another_recording_is_refused_after_repair() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(d("key"), KEY_HEX).unwrap();
    let key = d("key");
    for mode in ["aes-256-gcm", "aes-256-gcm-siv"] {
        let props = format!("mode={mode}");
        masked_file(&d("a.h4mk"), &key, &props, "block");
        masked_file(&d("b.h4mk"), &key, &props, "other");
        let a = std::fs::read(d("a.h4mk")).unwrap();
        let b = std::fs::read(d("b.h4mk")).unwrap();
        if mode == "aes-256-gcm-siv" {
            masked_file(&d("a2.h4mk"), &key, &props, "block");
            assert!(
                a == std::fs::read(d("a2.h4mk")).unwrap(),
                "{mode}: same input, same bytes"
            );
        }
        let (at, len) = safe_chunk(&a, 4);
        let (bt, blen) = safe_chunk(&b, 4);
        assert_eq!(len, blen);
        let mut spliced = a.clone();
        spliced[at..at + len].copy_from_slice(&b[bt..bt + len]);
        std::fs::write(d("spliced.h4mk"), &spliced).unwrap();

        let o = h4mk(&["verify", &d("spliced.h4mk")]);
        assert_eq!(o.status.code(), Some(1), "{mode}: {}", stdout_and_err(&o));
        assert!(stdout_and_err(&o).contains("block.hash.mismatch"));

        // Kept by repair on request: the file verifies apart from that block, and unmasking
        // refuses it, having let out exactly the four blocks before it.
        let o = h4mk(&[
            "repair",
            &d("spliced.h4mk"),
            "-o",
            &d("kept.h4mk"),
            "--keep-unverified",
        ]);
        assert!(o.status.success(), "{mode}: {}", stdout_and_err(&o));
        let (got, err) = unmask_file(&d("kept.h4mk"), &key);
        let err = err.unwrap_or_else(|| panic!("{mode}: the spliced block opened"));
        assert!(err.matches(gst::StreamError::Decrypt), "{mode}: {err}");
        assert!(
            err.to_string()
                .contains("block 4 of track 0 (PTS 160000000 ns) fails authentication"),
            "{mode}: {err}"
        );
        assert_eq!(
            got,
            (0..4).map(|i| payload("block", i)).collect::<Vec<_>>(),
            "{mode}"
        );
        let o = h4mk(&[
            "extract",
            &d("kept.h4mk"),
            "--key-file",
            &key,
            "-o",
            &d("x.bin"),
        ]);
        assert!(
            !o.status.success(),
            "{mode}: extract opened the spliced block"
        );
        assert!(
            stdout_and_err(&o).contains("block 4 of track 0"),
            "{mode}: {}",
            stdout_and_err(&o)
        );

        // Dropped by repair (the default): unmasking names the gap.
        let o = h4mk(&["repair", &d("spliced.h4mk"), "-o", &d("dropped.h4mk")]);
        assert!(o.status.success(), "{mode}: {}", stdout_and_err(&o));
        let (got, err) = unmask_file(&d("dropped.h4mk"), &key);
        let err = err.unwrap_or_else(|| panic!("{mode}: the gap went unnoticed"));
        assert!(
            err.to_string()
                .contains("block index 5 where 4 was expected"),
            "{mode}: {err}"
        );
        assert_eq!(got.len(), 4, "{mode}");
    }
}
