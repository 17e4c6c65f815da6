//! The examples run, in a short mode, as users would run them: record (static registration,
//! live video + audio + tokens), play_seek on the recording, spectrogram of its token track,
//! and `h4mk inspect --plot` of it.

use std::path::PathBuf;
use std::process::Command;

fn example(name: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path: PathBuf = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is built (cargo build --examples)",
        path.display()
    );
    Command::new(path)
}

fn stdout_of(mut c: Command) -> String {
    let out = c.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{c:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

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
    let text = stdout_of(c);
    assert!(text.contains("track 0 video"), "{text}");
    assert!(text.contains("track 1 audio"), "{text}");
    assert!(text.contains("track 2 data"), "{text}");
    assert!(text.contains("application/x-h4-tokens"), "{text}");
    assert!(text.contains("verifies"), "{text}");

    // Keyframes every second (30 frames): seeks to 1.5 s and 2.2 s land on 1 s and 2 s.
    let mut c = example("play_seek");
    c.args([f, "1.5", "2.2"]);
    let text = stdout_of(c);
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
    let text = stdout_of(c);
    assert!(text.contains("token frames"), "{text}");
    let (w, h, px) = read_png(&png_path);
    assert_eq!((w, h), (1200, 480));
    let brightest_row = |x: u32| {
        // Inside the plot (40 px of title above, 50 of axis below).
        (40..h - 50)
            .max_by_key(|&y| {
                let i = ((y * w + x) * 3) as usize;
                // Pale yellow (the loudest) has the most red and green over blue.
                px[i] as i32 + px[i + 1] as i32 - px[i + 2] as i32
            })
            .unwrap()
    };
    let start = brightest_row(70 + 20);
    let middle = brightest_row(70 + (1200 - 90) / 2);
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
    let (w, h, _) = read_png(&plot);
    assert_eq!(w, 1280);
    assert!(h > 300, "three lanes: {h}");
}
