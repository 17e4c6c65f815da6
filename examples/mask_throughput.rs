//! h4mask throughput against the raw cipher it uses, in one process and one run.
//!
//! cargo run --release --example mask_throughput -- [MiB] [block KiB]
//! Prints GB/s for: the raw AES-256-GCM (ring) and AES-256-CTR (RustCrypto) h4mask uses, on one
//! buffer,
//! then h4mask masking (aes-256-gcm, aes-256-gcm-siv, xor) in a fakesrc ! h4mask ! fakesink
//! pipeline, net of the same pipeline without h4mask, and masking then unmasking in one
//! pipeline (a thread each).

use std::time::Instant;

use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
use ctr::cipher::{KeyIvInit, StreamCipher};
use gst::prelude::*;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args.get(1).map_or(Ok(2048), |s| s.parse())?;
    let block_kib: usize = args.get(2).map_or(Ok(64), |s| s.parse())?;
    let block = block_kib * 1024;
    let blocks = mib * 1024 * 1024 / block;
    let bytes = (blocks * block) as f64;
    let gbs = |secs: f64| bytes / secs / 1e9;
    println!(
        "{blocks} blocks of {block_kib} KiB ({mib} MiB), {} cores",
        std::thread::available_parallelism()?.get()
    );

    let mut buf = vec![7u8; block];
    let gcm = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[1u8; 32]).map_err(|_| "key")?);
    let t = Instant::now();
    for i in 0..blocks as u64 {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&i.to_be_bytes());
        let tag = gcm
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(n),
                Aad::from(&[0u8; 112]),
                &mut buf,
            )
            .map_err(|_| "seal")?;
        let _ = std::hint::black_box(tag);
    }
    let raw_gcm = gbs(t.elapsed().as_secs_f64());
    println!("raw ring AES-256-GCM seal in place: {raw_gcm:.2} GB/s");
    let siv = aes_gcm_siv::Aes256GcmSiv::new(&[1u8; 32].into());
    let t = Instant::now();
    for i in 0..blocks as u64 {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&i.to_be_bytes());
        let tag = siv
            .encrypt_in_place_detached(aes_gcm_siv::Nonce::from_slice(&n), &[0u8; 112], &mut buf)
            .map_err(|_| "seal")?;
        let _ = std::hint::black_box(tag);
    }
    let raw_siv = gbs(t.elapsed().as_secs_f64());
    println!("raw aes-gcm-siv AES-256-GCM-SIV seal in place: {raw_siv:.2} GB/s");
    let t = Instant::now();
    for i in 0..blocks as u64 {
        let mut iv = [0u8; 16];
        iv[..8].copy_from_slice(&i.to_be_bytes());
        let mut c = ctr::Ctr64BE::<aes::Aes256>::new(&[1u8; 32].into(), &iv.into());
        c.apply_keystream(&mut buf);
    }
    let raw_ctr = gbs(t.elapsed().as_secs_f64());
    println!("raw ctr AES-256-CTR keystream in place: {raw_ctr:.2} GB/s");

    gst::init()?;
    gsth4::plugin_register_static()?;
    let dir = std::env::temp_dir().join(format!("h4mask-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key = dir.join("key");
    std::fs::write(&key, [3u8; 32])?;
    let key = key.display();
    let src = format!(
        "fakesrc num-buffers={blocks} sizetype=fixed sizemax={block} ! application/x-bench"
    );
    let time = |desc: &str| -> Result<f64, Box<dyn std::error::Error>> {
        let p = gst::parse::launch(desc)?
            .downcast::<gst::Pipeline>()
            .map_err(|_| "pipeline")?;
        let t = Instant::now();
        p.set_state(gst::State::Playing)?;
        let msg = p
            .bus()
            .ok_or("bus")?
            .timed_pop_filtered(
                gst::ClockTime::NONE,
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .ok_or("no message")?;
        let secs = t.elapsed().as_secs_f64();
        p.set_state(gst::State::Null)?;
        if let gst::MessageView::Error(e) = msg.view() {
            return Err(format!("{desc}: {}", e.error()).into());
        }
        Ok(secs)
    };
    let best = |desc: &str| -> Result<f64, Box<dyn std::error::Error>> {
        let mut t = f64::MAX;
        for _ in 0..3 {
            t = t.min(time(desc)?);
        }
        Ok(t)
    };
    let base = best(&format!("{src} ! fakesink"))?;
    println!("pipeline without h4mask: {base:.3} s");
    let report = |what: &str, secs: f64, raw: f64| {
        let net = gbs(secs - base);
        println!(
            "h4mask {what}: {:.3} s, {:.2} GB/s gross, {net:.2} GB/s net = {:.0}% of the raw cipher",
            secs,
            gbs(secs),
            100.0 * net / raw
        );
    };
    for (mode, raw) in [
        ("aes-256-gcm", raw_gcm),
        ("aes-256-gcm-siv", raw_siv),
        ("xor", raw_ctr),
    ] {
        let secs = best(&format!(
            "{src} ! h4mask key-file={key} mode={mode} ! fakesink"
        ))?;
        report(&format!("mask {mode}"), secs, raw);
    }
    // Unmasking runs after masking in one pipeline: the figure is for both.
    let both = best(&format!(
        "{src} ! h4mask key-file={key} ! queue ! h4mask direction=unmask key-file={key} ! fakesink"
    ))?;
    println!(
        "h4mask mask ! queue ! h4mask unmask, aes-256-gcm: {both:.3} s, {:.2} GB/s through both",
        gbs(both)
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
