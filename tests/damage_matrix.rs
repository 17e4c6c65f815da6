//! The damage matrix on a real multi-track file (H.264 video, the same video masked, Opus
//! audio, FFT tokens): 1,000 single-bit flips and 100 truncations. The verifier names every
//! flip's chunk and offset; the demuxer (skip policy) plays every undamaged block and reports
//! the damaged one; every cut file verifies as far as it holds and repairs to all its complete
//! blocks.

mod common;
mod gstcommon;

use std::collections::BTreeMap;

use common::{Rng, check_flip, chunk_map, read_blocks};
use gstcommon::*;
use gsth4::format::chunk::{CHUNK_HEADER_LEN, is_block_tag};
use gsth4::format::repair::repair;
use gsth4::format::verify::verify;

fn real_file(dir: &tempfile::TempDir) -> Vec<u8> {
    let key = dir.path().join("key");
    std::fs::write(&key, [0x42u8; 32]).unwrap();
    let path = dir.path().join("real.h4mk");
    let p = pipeline(&format!(
        "videotestsrc num-buffers=60 pattern=ball ! video/x-raw,width=64,height=48,framerate=30/1 \
         ! x264enc key-int-max=15 speed-preset=ultrafast ! h264parse ! tee name=vt \
         vt. ! queue ! mux.video_0 \
         vt. ! queue ! h4mask key-file={} ! mux.video_1 \
         audiotestsrc num-buffers=100 samplesperbuffer=960 ! audio/x-raw,rate=48000 \
         ! h4fftfilter name=f post-messages=false hop=2048 ! queue ! opusenc ! mux.audio_0 \
         f.tokens ! queue ! mux.data_0 \
         h4mkmux name=mux checkpoint-interval=250000000 ! filesink location={}",
        key.display(),
        path.display()
    ));
    run(&p, 60);
    std::fs::read(&path).unwrap()
}

#[test]
fn a_thousand_flips_and_a_hundred_cuts() {
    let dir = tempfile::tempdir().unwrap();
    let file = real_file(&dir);
    let map = chunk_map(&file);
    let tags: BTreeMap<[u8; 4], usize> = map.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.2).or_default() += 1;
        m
    });
    for tag in [
        b"CORE", b"SAFE", b"HASH", b"META", b"SEEK", b"VERI", b"TAIL",
    ] {
        assert!(
            tags.contains_key(tag),
            "the file has {} chunks: {tags:?}",
            String::from_utf8_lossy(tag)
        );
    }
    let intact_path = dir.path().join("intact.h4mk").display().to_string();
    std::fs::write(&intact_path, &file).unwrap();
    let intact = play(&intact_path);
    assert!(intact.error.is_none() && intact.warnings.is_empty());
    let pads: std::collections::BTreeSet<&str> =
        intact.buffers.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(pads.len(), 4, "{pads:?}");

    // 1,000 flips: the verifier names each chunk and offset.
    let mut rng = Rng(2026);
    let flips: Vec<(usize, u8)> = (0..1000)
        .map(|_| (rng.below(file.len() as u64) as usize, 1u8 << rng.below(8)))
        .collect();
    for &(i, mask) in &flips {
        check_flip(&file, &map, i, mask);
    }

    // The demuxer, on the same flips: all undamaged blocks play, the damaged one is reported.
    let damaged_path = dir.path().join("damaged.h4mk").display().to_string();
    let (mut block_flips, mut other_flips) = (0, 0);
    for &(i, mask) in &flips {
        let mut bad = file.clone();
        bad[i] ^= mask;
        std::fs::write(&damaged_path, &bad).unwrap();
        let (ordinal, start, tag) = map[map.iter().rposition(|c| c.1 as usize <= i).unwrap()];
        let got = play(&damaged_path);
        let what = format!(
            "flip at {i} in {} chunk {ordinal}",
            String::from_utf8_lossy(&tag)
        );
        if is_block_tag(&tag) {
            block_flips += 1;
            assert!(got.error.is_none(), "{what}: {:?}", got.error);
            assert_eq!(got.warnings.len(), 1, "{what}: {:?}", got.warnings);
            assert!(
                got.warnings[0].contains(&format!("offset {start}, chunk {ordinal}")),
                "{what}: {}",
                got.warnings[0]
            );
            // Exactly the damaged block is missing.
            let payload_at = start as usize + CHUNK_HEADER_LEN;
            let (header, data) = gsth4::format::block::BlockHeader::decode(
                &file[payload_at..payload_at + {
                    let size = u32::from_le_bytes(
                        file[start as usize + 4..start as usize + 8]
                            .try_into()
                            .unwrap(),
                    );
                    size as usize
                }],
            )
            .unwrap();
            let mut want = intact.buffers.clone();
            let lost = want
                .iter()
                .position(|b| b.1 == header.pts && b.2 == data)
                .unwrap_or_else(|| panic!("{what}: block not in the intact output"));
            want.remove(lost);
            assert!(got.buffers == want, "{what}: other blocks differ");
        } else if tag == *b"H4MK" || tag == *b"META" {
            other_flips += 1;
            // Without its header or track list the file cannot be played: a clear error.
            assert!(
                got.error.is_some() || got.buffers == intact.buffers,
                "{what}: {:?}",
                got.warnings
            );
        } else {
            other_flips += 1;
            // Index and integrity chunks: every block still plays.
            assert!(got.error.is_none(), "{what}: {:?}", got.error);
            assert!(got.buffers == intact.buffers, "{what}: blocks differ");
        }
    }
    // About half the bytes of this file are in blocks; where exactly the flips land moves a
    // little with the writer identity in META, so the bound leaves room either side.
    assert!(
        block_flips > 400 && other_flips > 100,
        "{block_flips} / {other_flips}"
    );

    // 100 cuts: verify says how far the file holds; repair keeps every complete block; the
    // demuxer plays to the last complete block.
    let blocks = read_blocks(&file);
    for n in 0..100 {
        let cut = 1 + rng.below(file.len() as u64 - 1) as usize;
        let short = &file[..cut];
        let report = verify(short, |_| {}).unwrap();
        assert!(!report.findings.is_empty(), "cut at {cut} passes verify");
        assert!(report.verified_through <= cut as u64);
        let complete = map
            .iter()
            .filter(|c| is_block_tag(&c.2))
            .filter(|c| {
                let size = u32::from_le_bytes(
                    file[c.1 as usize + 4..c.1 as usize + 8].try_into().unwrap(),
                );
                c.1 as usize + CHUNK_HEADER_LEN + size as usize <= cut
            })
            .count();
        let (out, rep) = match repair(std::io::Cursor::new(short), Vec::new(), Default::default()) {
            Ok(r) => r,
            Err(e) => {
                // Too short to hold the file header and META: nothing to keep.
                assert_eq!(complete, 0, "cut at {cut}: {e}");
                continue;
            }
        };
        assert_eq!(rep.kept_blocks as usize, complete, "cut at {cut}");
        assert!(
            verify(out.as_slice(), |_| {}).unwrap().is_ok(),
            "cut at {cut}: repaired file verifies"
        );
        let kept = read_blocks(&out);
        assert_eq!(
            kept.as_slice(),
            &blocks[..complete],
            "cut at {cut}: the same blocks"
        );
        if n % 10 == 0 {
            std::fs::write(&damaged_path, short).unwrap();
            let got = play(&damaged_path);
            assert_eq!(
                got.buffers.len(),
                complete,
                "cut at {cut}: demuxer plays every complete block"
            );
        }
    }
}
