//! The README's quick start, run as written: every command of its first `sh` block, in order,
//! in one directory, through bash, with only the display and sound sinks swapped for
//! fakesink (this machine has no screen) and the example server's address swapped for a local
//! nginx serving that directory. The files the commands make are then checked.

mod gstcommon;

use std::path::Path;
use std::process::Command;

use gstcommon::nginx::Nginx;
use gstcommon::{output_within, plugin_dir};

/// The commands of the first ```sh block after `heading`: comments dropped, continuation lines
/// joined.
fn commands_under(readme: &str, heading: &str) -> Vec<String> {
    let section = &readme[readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"))..];
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("an sh block");
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = match line.find(" # ") {
            Some(at) if !line.trim_start().starts_with('#') => &line[..at],
            _ => line,
        };
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match line.trim_end().strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line.trim_end());
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

/// The command as this machine runs it: no screen, no sound card, the server at `port`.
fn headless(command: &str, port: u16) -> String {
    let mut c = command
        .replace("autovideosink", "fakesink")
        .replace("autoaudiosink", "fakesink")
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    if c.starts_with("gst-play-1.0 ") {
        c = c.replacen(
            "gst-play-1.0 ",
            "gst-play-1.0 --videosink=fakesink --audiosink=fakesink ",
            1,
        );
    }
    if c.contains(" playbin ") && !c.contains("video-sink") {
        c.push_str(" video-sink=fakesink audio-sink=fakesink");
    }
    c
}

fn h4mk_verifies(dir: &Path, name: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_h4mk"))
        .arg("verify")
        .arg(dir.join(name))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{name}: {said}{out:?}");
    said
}

#[test]
fn quick_start_runs_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let commands = commands_under(&readme, "## Quick start");
    // The block as the README has it today; a command added or lost shows here.
    assert_eq!(commands.len(), 13, "{commands:#?}");

    let server = Nginx::start();
    let dir = server.root();
    // What the quick start takes as given: a Matroska file to remux.
    let given = Command::new("gst-launch-1.0")
        .current_dir(&dir)
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=60",
            "!",
            "x264enc",
            "!",
            "h264parse",
            "!",
        ])
        .args([
            "queue",
            "!",
            "matroskamux",
            "name=m",
            "!",
            "filesink",
            "location=in.mkv",
        ])
        .args([
            "audiotestsrc",
            "num-buffers=100",
            "!",
            "opusenc",
            "!",
            "queue",
            "!",
            "m.",
        ])
        .status()
        .unwrap();
    assert!(given.success());

    let path = format!(
        "{}:{}",
        Path::new(env!("CARGO_BIN_EXE_h4mk"))
            .parent()
            .unwrap()
            .display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut said = Vec::new();
    for command in &commands {
        let run = headless(command, server.port());
        let mut c = Command::new("bash");
        c.args(["-euo", "pipefail", "-c", &run])
            .current_dir(&dir)
            .env("GST_PLUGIN_PATH", plugin_dir())
            .env("GST_REGISTRY", plugin_dir().join("test-registry.bin"))
            .env("PATH", &path);
        let (out, errors) = output_within(c, 120);
        assert!(
            !errors.contains("ERROR") && !out.contains("ERROR"),
            "{run}\n{out}{errors}"
        );
        said.push((command.clone(), out));
    }

    // What the commands made.
    for name in ["out.h4mk", "tokens.h4mk", "masked.h4mk"] {
        assert!(h4mk_verifies(&dir, name).contains(": OK: "));
    }
    let fft = said
        .iter()
        .find(|(c, _)| c.contains("grep h4fft"))
        .expect("the FFT messages command");
    assert!(fft.1.contains("h4fft"), "{}", fft.1);
    let png = std::fs::read(dir.join("out.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let served = server.stop();
    assert!(
        served
            .iter()
            .any(|s| s.path == "/out.h4mk" && s.status == 206),
        "the HTTP commands read by ranges: {served:?}"
    );
}
