//! A full-verbosity debug log of masking and unmasking holds no key material. (Its own test
//! binary: the global log threshold would slow the other tests down.)

mod gstcommon;

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gstcommon::*;

/// Printable, so that a raw leak would show up as text too.
const RAW_KEY: &[u8; 32] = b"H4MASK-LOG-TEST-KEY-0123456789!?";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn leaks(log: &str) -> Vec<String> {
    let hex = hex(RAW_KEY);
    let raw = String::from_utf8_lossy(RAW_KEY).to_string();
    let mut found = Vec::new();
    // Any 8-byte window of the key, raw or in hex of either case.
    for w in 0..=(32 - 8) {
        for needle in [
            raw[w..w + 8].to_string(),
            hex[2 * w..2 * w + 16].to_string(),
            hex[2 * w..2 * w + 16].to_uppercase(),
        ] {
            if log.contains(&needle) {
                found.push(needle);
            }
        }
    }
    found
}

#[test]
fn gst_launch_at_level_9_with_a_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, RAW_KEY).unwrap();
    let key = key.display().to_string();
    let out = std::process::Command::new("gst-launch-1.0")
        .env("GST_DEBUG", "*:9")
        .env("GST_DEBUG_NO_COLOR", "1")
        .env(
            "GST_PLUGIN_PATH",
            env!("CARGO_MANIFEST_DIR").to_string() + "/target/release",
        )
        .args([
            "fakesrc",
            "num-buffers=20",
            "sizetype=fixed",
            "sizemax=4096",
            "filltype=pattern",
            "!",
            "application/x-test",
            "!",
            "h4mask",
            &format!("key-file={key}"),
            "!",
            "h4mask",
            "direction=unmask",
            &format!("key-file={key}"),
            "!",
            "fakesink",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.lines().count() > 10_000, "the log is on");
    assert!(log.contains("h4mask"), "our category logs");
    assert_eq!(leaks(&log), Vec::<String>::new());
}

#[test]
fn in_process_at_level_9_with_the_key_property() {
    init();
    let log = Arc::new(Mutex::new(String::new()));
    let l = log.clone();
    gst::log::remove_default_log_function();
    gst::log::add_log_function(move |cat, _level, file, function, line, _obj, msg| {
        // Formatted before taking the lock: formatting may log in turn.
        let text = msg.get().map(|m| m.to_string()).unwrap_or_default();
        let entry = format!("{} {file}:{line} {function} {text}\n", cat.name());
        l.lock().unwrap().push_str(&entry);
    });
    gst::log::set_active(true);
    gst::log::set_default_threshold(gst::DebugLevel::Memdump);

    let hex_key = hex(RAW_KEY);
    let p = pipeline(
        "fakesrc num-buffers=20 sizetype=fixed sizemax=4096 filltype=pattern ! application/x-test ! h4mask name=m \
         ! h4mask name=u direction=unmask ! fakesink",
    );
    p.by_name("m").unwrap().set_property("key", &hex_key);
    p.by_name("u").unwrap().set_property("key", &hex_key);
    run(&p, 30);
    // A wrong key and a tampered block go through the error paths too.
    let p = pipeline(
        "fakesrc num-buffers=5 sizetype=fixed sizemax=100 ! application/x-test ! h4mask name=m ! h4mask name=u direction=unmask ! fakesink",
    );
    p.by_name("m").unwrap().set_property("key", &hex_key);
    p.by_name("u").unwrap().set_property("key", "00".repeat(32));
    let (e, _) = run_to_error(&p, 10);
    assert!(e.contains("configured key has id"), "{e}");

    gst::log::set_default_threshold(gst::DebugLevel::None);
    let log = log.lock().unwrap();
    assert!(log.lines().count() > 1000, "the log is on");
    assert!(log.contains("key id"));
    assert!(!e.contains(&hex_key[..16]));
    assert_eq!(leaks(&log), Vec::<String>::new());
}
