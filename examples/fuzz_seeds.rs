//! Writes the fuzzers' seed corpus (fuzz/corpus/<target>/): small valid inputs of every
//! feature, made with the core writer and fixed keys so they are the same on every run.
//!
//! cargo run --release --example fuzz_seeds

use std::path::Path;

use gsth4::crypto::header::{FLAG_FINAL, FLAG_KEYFRAME};
use gsth4::crypto::{BlockFields, MasterKey, Mode, Sealer};
use gsth4::fft::Peak;
use gsth4::fft::tokens::{MIX, Section, TokenFrame};
use gsth4::format::block::BlockFlags;
use gsth4::format::meta::{CheckpointPolicy, Meta, Track, TrackKind, WriterIdentity};
use gsth4::format::writer::{NewBlock, Writer};

fn meta(masked: bool) -> Meta {
    let track = |id, kind, caps: &str| Track {
        id,
        kind,
        caps: caps.into(),
        tags: (id == 0).then(|| "taglist, title=(string)seed;".into()),
        time_offset: if id == 0 { 3_600_000_000_000_000 } else { 0 },
    };
    let video = if masked {
        "application/x-h4mk-masked, original-media-type=(string)video/x-h264, h4mask-mode=(string)aes-256-gcm, h4mask-authenticated=(boolean)true, h4mask-key-id=(string)00000000000000000000000000000000, h4mask-salt=(string)0102030405060708090a0b0c0d0e0f10, h4mask-track=(uint)0"
    } else {
        "video/x-h264, stream-format=(string)avc, alignment=(string)au"
    };
    Meta {
        writer: WriterIdentity {
            name: "gst-h4".into(),
            version: "seed".into(),
            commit: "0000000".into(),
        },
        checkpoint: CheckpointPolicy {
            span_ns: 200_000_000,
            blocks: 8,
            bytes: 1 << 20,
        },
        tracks: vec![
            track(0, TrackKind::Video, video),
            track(1, TrackKind::Audio, "audio/x-opus, channels=(int)2"),
            track(
                2,
                TrackKind::Data,
                "application/x-h4-tokens, version=(int)1",
            ),
        ],
        tags: Some("taglist, artist=(string)seed;".into()),
        repaired: None,
        signer: None,
    }
}

/// A three-track file (video with B-frame timing, audio, tokens), with checkpoints, a META
/// update, and SAFE blocks when `masked`.
fn file(masked: bool, finished: bool) -> Vec<u8> {
    let m = meta(masked);
    let key = MasterKey::from_bytes([9; 32]);
    let sealer = Sealer::new(&key, Mode::Aes256Gcm, [1; 16], 0, [0; 32]);
    let mut w = Writer::new(Vec::new(), &m).expect("writer");
    let ms = 1_000_000u64;
    for i in 0..24u64 {
        let key_frame = i % 6 == 0;
        let flags = BlockFlags(if key_frame { BlockFlags::KEYFRAME } else { 0 });
        let payload = vec![(i * 7) as u8; 20 + (i as usize % 5) * 30];
        let video = NewBlock {
            track: 0,
            masked,
            flags,
            pts: Some(i * 40 * ms + 80 * ms),
            dts: Some(i * 40 * ms),
            duration: Some(40 * ms),
            clipping: None,
        };
        let data = if masked {
            let fields = BlockFields {
                index: i,
                flags: if key_frame { FLAG_KEYFRAME } else { 0 },
                pts: video.pts,
                dts: video.dts,
                duration: video.duration,
            };
            sealer.seal(fields, &payload)
        } else {
            payload
        };
        w.write_block(&video, &data).expect("block");
        let audio = NewBlock {
            track: 1,
            masked: false,
            flags: BlockFlags(BlockFlags::KEYFRAME),
            pts: Some(i * 40 * ms),
            dts: None,
            duration: Some(20 * ms),
            clipping: None,
        };
        w.write_block(&audio, &[i as u8; 12]).expect("block");
        if i % 4 == 0 {
            let mut tokens = Vec::new();
            token_frame(i).encode(&mut tokens);
            let t = NewBlock {
                track: 2,
                masked: false,
                flags: BlockFlags(BlockFlags::KEYFRAME),
                pts: Some(i * 40 * ms),
                dts: None,
                duration: None,
                clipping: None,
            };
            w.write_block(&t, &tokens).expect("block");
        }
        if i == 12 {
            w.write_meta_update(&m).expect("META update");
        }
    }
    if masked {
        let seal = sealer.seal(
            BlockFields {
                index: 24,
                flags: FLAG_FINAL,
                pts: Some(24 * 40 * ms),
                ..Default::default()
            },
            &[],
        );
        let b = NewBlock {
            track: 0,
            masked: true,
            flags: BlockFlags(0),
            pts: Some(24 * 40 * ms),
            dts: None,
            duration: None,
            clipping: None,
        };
        w.write_block(&b, &seal).expect("seal");
    }
    if finished {
        w.finish().expect("finish").0
    } else {
        w.get_mut().clone()
    }
}

fn token_frame(i: u64) -> TokenFrame {
    TokenFrame {
        flags: 0,
        frame_size: 2048,
        hop: 1024,
        rate: 48000,
        valid: 2048,
        first_sample: i * 1024,
        sections: vec![Section {
            channel: MIX,
            peaks: vec![
                Peak {
                    bin: 19,
                    frequency: 440.1,
                    magnitude: -6.0,
                },
                Peak {
                    bin: 43,
                    frequency: 1000.0,
                    magnitude: -20.0,
                },
            ],
        }],
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(name), bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let clear = file(false, true);
    let masked = file(true, true);
    let unfinished = file(false, false);
    for target in ["reader", "push_parser"] {
        let dir = root.join(target);
        write(&dir, "three-tracks.h4mk", &clear)?;
        write(&dir, "masked.h4mk", &masked)?;
        write(&dir, "unfinished.h4mk", &unfinished)?;
        write(&dir, "cut.h4mk", &clear[..clear.len() * 2 / 3])?;
    }
    // `seeks` takes 16 bytes of seek parameters (three target times in ms, a track choice, a
    // read size) before the file.
    let dir = root.join("seeks");
    for (name, bytes) in [
        ("three-tracks", &clear),
        ("masked", &masked),
        ("unfinished", &unfinished),
    ] {
        let mut input = Vec::with_capacity(16 + bytes.len());
        for ms in [0u32, 1_500, 99_000] {
            input.extend_from_slice(&ms.to_le_bytes());
        }
        input.extend_from_slice(&[0, 40, 0, 0]);
        input.extend_from_slice(bytes);
        write(&dir, &format!("{name}.h4mk"), &input)?;
    }
    let dir = root.join("block_headers");
    let key = MasterKey::from_bytes([7; 32]);
    for mode in [Mode::Aes256Gcm, Mode::Aes256GcmSiv, Mode::Xor] {
        let s = Sealer::new(&key, mode, [2; 16], 1, [3; 32]);
        let fields = BlockFields {
            index: 3,
            flags: FLAG_KEYFRAME,
            pts: Some(1_000),
            dts: None,
            duration: Some(40),
        };
        write(
            &dir,
            &format!("{}.bin", mode.label()),
            &s.seal(fields, b"masked payload"),
        )?;
    }
    let mut tokens = Vec::new();
    token_frame(1).encode(&mut tokens);
    write(&dir, "tokens.bin", &tokens)?;
    // A CORE payload: block header and data.
    let core_at = clear
        .windows(4)
        .position(|w| w == b"CORE")
        .ok_or("no CORE chunk")?;
    let size = u32::from_le_bytes(clear[core_at + 4..core_at + 8].try_into()?) as usize;
    write(&dir, "block.bin", &clear[core_at + 12..core_at + 12 + size])?;
    // A SIGN payload, a signed file's block proof, and key files in both PEM forms.
    let signing = gsth4::crypto::signing::SigningKey::from_seed(&[9; 32])?;
    let sig = gsth4::format::signature::Signature::sign(
        &signing,
        gsth4::format::signature::Signed::Veri,
        8,
        948,
        3,
        [1; 32],
        [2; 32],
    );
    write(&dir, "sign.bin", &sig.encode_chunk()[12..])?;
    let (signed, _) = gsth4::format::sign_file::sign_file(
        std::io::Cursor::new(&clear),
        Vec::new(),
        gsth4::crypto::signing::SigningKey::from_seed(&[9; 32])?,
    )?;
    for target in ["reader", "push_parser"] {
        write(&root.join(target), "signed.h4mk", &signed)?;
    }
    let mut r = gsth4::format::reader::Reader::open(signed.as_slice())?;
    let proof = gsth4::format::proof::prove(&mut r, gsth4::format::proof::Which::Ordinal(1))?;
    write(&dir, "proof.json", &serde_json::to_vec(&proof)?)?;
    write(&dir, "public.pem", signing.public().to_pem().as_bytes())?;
    let dir = root.join("key_file");
    write(&dir, "raw.key", &[0x5a; 32])?;
    write(
        &dir,
        "hex.key",
        b"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
    )?;
    write(
        &dir,
        "upper.key",
        b"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
    )?;
    println!("seed corpus written to {}", root.display());
    Ok(())
}
