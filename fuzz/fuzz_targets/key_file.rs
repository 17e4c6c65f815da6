//! Key files and hex keys: accepted or refused, never a panic, and never echoed in an error.
#![no_main]

use gsth4::crypto::MasterKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match MasterKey::parse(data) {
        Ok(k) => {
            let _ = k.id();
        }
        Err(e) => {
            let msg = e.to_string();
            if data.len() >= 8 && let Ok(text) = std::str::from_utf8(data) {
                let t = text.trim();
                if t.len() >= 8 && t.chars().all(|c| c.is_ascii_hexdigit()) {
                    assert!(!msg.contains(t), "the error shows the key text");
                }
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = MasterKey::from_hex(text);
    }
});
