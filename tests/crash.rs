//! Crash-safe recording: a gst-launch-1.0 recording killed with SIGKILL at random moments
//! leaves a file that plays up to its last complete block, and `h4mk repair` makes it verify
//! without losing any complete block.

mod common;
mod gstcommon;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Rng, read_blocks};
use gstcommon::*;
use gsth4::format::block::BlockHeader;
use gsth4::format::chunk::is_block_tag;
use gsth4::format::scan::{Scanner, Step};
use gsth4::format::verify::verify;

/// Payloads of the block chunks that are complete in `bytes` (a file cut anywhere).
fn complete_blocks(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut s = Scanner::new();
    s.feed(bytes);
    s.finish();
    let mut out = Vec::new();
    loop {
        match s.step() {
            Step::Chunk(c) if is_block_tag(&c.header.tag) => {
                let (_, payload) = BlockHeader::decode(c.payload).unwrap();
                out.push(payload.to_vec());
            }
            Step::Chunk(_) | Step::Damage(_) => {}
            Step::End => return out,
            Step::NeedMore => unreachable!("finished"),
        }
    }
}

#[test]
fn a_killed_recording_keeps_every_complete_block() {
    let plugin_dir = env!("CARGO_MANIFEST_DIR").to_string() + "/target/release";
    let mut rng = Rng(7);
    for round in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rec.h4mk").display().to_string();
        let mut child = Command::new("gst-launch-1.0")
            .env("GST_PLUGIN_PATH", &plugin_dir)
            .args(
                format!(
                    "-q videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1 \
                     ! x264enc tune=zerolatency key-int-max=15 speed-preset=ultrafast ! h264parse ! queue ! mux.video_0 \
                     audiotestsrc is-live=true ! opusenc ! queue ! mux.audio_0 \
                     h4mkmux name=mux checkpoint-interval=250000000 ! filesink location={path}"
                )
                .split_whitespace(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gst-launch-1.0 starts");
        let ms = 700 + rng.below(1800);
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let cut = std::fs::read(&path).unwrap();
        let blocks = complete_blocks(&cut);
        let complete = blocks.len();
        assert!(
            complete > 10,
            "round {round}: {complete} blocks after {ms} ms"
        );
        let report = verify(cut.as_slice(), |_| {}).unwrap();
        assert!(
            !report.is_ok(),
            "round {round}: a killed recording has no VERI"
        );

        // The demuxer plays every complete block.
        let played = play(&path);
        assert!(played.error.is_none(), "round {round}: {:?}", played.error);
        assert_eq!(
            played.buffers.len(),
            complete,
            "round {round}: killed after {ms} ms"
        );

        // Repair keeps them all, and the result verifies.
        let out = dir.path().join("repaired.h4mk");
        let st = Command::new(env!("CARGO_BIN_EXE_h4mk"))
            .args(["repair", &path, "-o", &out.display().to_string()])
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        let repaired = std::fs::read(&out).unwrap();
        assert!(verify(repaired.as_slice(), |_| {}).unwrap().is_ok());
        let kept = read_blocks(&repaired);
        assert_eq!(kept.len(), complete, "round {round}");
        // The same blocks, byte for byte, as the cut file holds.
        let kept: Vec<Vec<u8>> = kept.into_iter().map(|(_, b)| b.data).collect();
        assert!(kept == blocks, "round {round}: repaired blocks differ");
    }
}
