//! The examples run, in a short mode, as users would run them: record (static registration,
//! live video + audio + tokens), play_seek on the recording, spectrogram of its token track,
//! and `h4mk inspect --plot` of it.

mod gstcommon;

use std::process::Command;

use gstcommon::{example, stdout_within};

fn read_png(path: &std::path::Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn record_play_seek_spectrogram_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rec.h4mk");
    let f = file.to_str().unwrap();

    let mut c = example("record");
    c.args([f, "3"]);
    let text = stdout_within(c, 60);
    assert!(text.contains("track 0 video"), "{text}");
    assert!(text.contains("track 1 audio"), "{text}");
    assert!(text.contains("track 2 data"), "{text}");
    assert!(text.contains("application/x-h4-tokens"), "{text}");
    assert!(text.contains("verifies"), "{text}");

    // Keyframes every second (30 frames): seeks to 1.5 s and 2.2 s land on 1 s and 2 s.
    let mut c = example("play_seek");
    c.args([f, "1.5", "2.2"]);
    let text = stdout_within(c, 60);
    let landed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("landed on the keyframe at ").nth(1))
        .collect();
    assert_eq!(landed.len(), 2, "{text}");
    for (got, want) in landed.iter().zip(["0:00:01.0", "0:00:02.0"]) {
        assert!(got.starts_with(want), "{text}");
    }
    assert!(text.contains("played to the end"), "{text}");

    // The tone glides up and back: at the middle of the picture the loudest peak sits higher
    // (a smaller y) than at the start.
    let png_path = dir.path().join("spec.png");
    let mut c = example("spectrogram");
    c.args([f, png_path.to_str().unwrap()]);
    let text = stdout_within(c, 60);
    assert!(text.contains("token frames"), "{text}");
    let (w, h, px) = read_png(&png_path);
    assert_eq!((w, h), (1280, 600));
    let brightest_row = |x: u32| {
        // Inside the chart (title above, time axis below, the colour scale to the right).
        (70..h - 70)
            .max_by_key(|&y| {
                let i = ((y * w + x) * 3) as usize;
                // The loudest (yellow) has the most red and green over blue.
                px[i] as i32 + px[i + 1] as i32 - px[i + 2] as i32
            })
            .unwrap()
    };
    let start = brightest_row(120);
    let middle = brightest_row(620);
    assert!(
        middle + 50 < start,
        "peak row at the start {start}, at the middle {middle}"
    );

    let plot = dir.path().join("plot.png");
    let out = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args(["inspect", f, "--plot", plot.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (w, h, px) = read_png(&plot);
    assert_eq!(w, 1280);
    assert!(h > 300, "three lanes: {h}");
    let red = |px: &[u8]| px.chunks_exact(3).filter(|p| *p == [220, 30, 30]).count();
    // The legend's swatch (14 x 14) is the only red of an intact file.
    assert_eq!(red(&px), 14 * 14);

    // A byte flipped in the middle of the file: a red line across the lanes, and the CLI says
    // it drew one damaged chunk.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    let damaged = dir.path().join("damaged.h4mk");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .args([
            "inspect",
            damaged.to_str().unwrap(),
            "--plot",
            plot.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("(1 damaged chunk(s) shown)"), "{said}");
    let (_, h2, px) = read_png(&plot);
    assert_eq!(h2, h);
    assert!(
        red(&px) > 14 * 14 + 3 * 200,
        "a red line: {} red pixels",
        red(&px)
    );
}
