//! A full-verbosity debug log of masking, unmasking and signing holds no key material. (Its own test
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
    windows_in(log, RAW_KEY)
}

/// Every 8-byte window of `secret` (printable) found in `log`, raw or in hex of either case.
fn windows_in(log: &str, secret: &[u8; 32]) -> Vec<String> {
    let hex = hex(secret);
    let raw = String::from_utf8_lossy(secret).to_string();
    let mut found = Vec::new();
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

/// gst-launch-1.0 at GST_DEBUG=*:9 with the plugin: a 20-buffer fakesrc of
/// application/x-test, then `rest`.
fn launch_at_level_9(rest: &[&str]) -> std::process::Output {
    std::process::Command::new("gst-launch-1.0")
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
        ])
        .args(rest)
        .output()
        .unwrap()
}

#[test]
fn gst_launch_at_level_9_with_a_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, RAW_KEY).unwrap();
    let key = key.display().to_string();
    let out = launch_at_level_9(&[
        "h4mask",
        &format!("key-file={key}"),
        "!",
        "h4mask",
        "direction=unmask",
        &format!("key-file={key}"),
        "!",
        "fakesink",
    ]);
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

/// Printable, as `RAW_KEY`: the Ed25519 seed of the signing key.
const SIGNING_SEED: &[u8; 32] = b"H4MK-SIGNING-LOG-TEST-SEED-0123!";

#[test]
fn gst_launch_at_level_9_with_a_signing_key_file() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    // PKCS#8 v1 (RFC 8410) around the seed, as PEM.
    let mut der = pkcs8_v1_prefix();
    der.extend_from_slice(SIGNING_SEED);
    let body = base64::engine::general_purpose::STANDARD.encode(&der);
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n");
    let key = dir.path().join("sign.pem");
    std::fs::write(&key, &pem).unwrap();
    let out_file = dir.path().join("out.h4mk");
    let out = launch_at_level_9(&[
        "h4mkmux",
        &format!("signing-key-file={}", key.display()),
        "checkpoint-interval=1000000",
        "!",
        "filesink",
        &format!("location={}", out_file.display()),
    ]);
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
    assert!(log.lines().count() > 1_000, "the log is on");
    assert!(
        log.contains("signing with key"),
        "the element says it signs (by key id)"
    );
    let mut found = windows_in(&log, SIGNING_SEED);
    // The PEM text of the seed (the DER prefix's base64 is public).
    for w in (24..body.len() - 12).step_by(4) {
        if log.contains(&body[w..w + 12]) {
            found.push(body[w..w + 12].to_string());
        }
    }
    assert_eq!(found, Vec::<String>::new());
    let f = std::fs::read(&out_file).unwrap();
    let r = gsth4::format::verify::verify(f.as_slice(), |_| {}).unwrap();
    assert!(
        r.is_ok() && r.signed.is_some_and(|s| s.whole_file),
        "{:?}",
        r.findings
    );
}

/// The DER of an Ed25519 PKCS#8 v1 key before its seed (RFC 8410).
fn pkcs8_v1_prefix() -> Vec<u8> {
    vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ]
}
