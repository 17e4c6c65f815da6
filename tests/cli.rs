//! The `h4mk` command line: outputs, exit codes and errors on real files.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_h4mk");

fn h4mk(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("h4mk runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn random_file(path: &Path, len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

struct Dir(tempfile::TempDir);
impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn p(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.p(name).display().to_string()
    }
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o).0))
}

#[test]
fn export_extract_round_trip_and_inspect() {
    let d = Dir::new();
    let data = random_file(&d.p("in.bin"), 1_000_003, 1);
    let o = h4mk(&[
        "export",
        &d.s("in.bin"),
        "-o",
        &d.s("a.h4mk"),
        "--block-size",
        "4096",
        "--fps",
        "25",
        "--gop",
        "10",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = h4mk(&["extract", &d.s("a.h4mk"), "-o", &d.s("out.bin")]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(std::fs::read(d.p("out.bin")).unwrap(), data);

    let v = json(&h4mk(&[
        "inspect",
        &d.s("a.h4mk"),
        "--json",
        "--chunks",
        "--keyframes",
    ]));
    let blocks = 1_000_003u64.div_ceil(4096);
    assert_eq!(v["tracks"][0]["blocks"], blocks);
    assert_eq!(v["tracks"][0]["keyframes"], blocks.div_ceil(10));
    assert_eq!(v["tracks"][0]["end_time_ns"], blocks * 40_000_000);
    assert_eq!(v["finished"], true);
    assert_eq!(v["chunk_counts"]["CORE"], blocks);
    assert_eq!(v["keyframes"][3]["time_ns"], 1_200_000_000u64);
    let chunks = v["chunks"].as_array().unwrap();
    assert_eq!(chunks[0]["ordinal"], 2);
    assert_eq!(chunks[0]["flags"][0], "keyframe");
    assert_eq!(chunks[1]["pts_ns"], 40_000_000);

    let o = h4mk(&["inspect", &d.s("a.h4mk")]);
    let (out, _) = text(&o);
    assert!(
        out.contains("H4MK 1.0") && out.contains("application/octet-stream"),
        "{out}"
    );
}

#[test]
fn export_to_a_pipe_gives_a_valid_file() {
    let d = Dir::new();
    random_file(&d.p("in.bin"), 300_000, 2);
    let mut export = Command::new(BIN)
        .args(["export", &d.s("in.bin"), "-o", "-", "--block-size", "1000"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let cat = Command::new("cat")
        .stdin(export.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(export.wait().unwrap().success());
    std::fs::write(d.p("piped.h4mk"), &cat.stdout).unwrap();
    let o = h4mk(&[
        "export",
        &d.s("in.bin"),
        "-o",
        &d.s("file.h4mk"),
        "--block-size",
        "1000",
    ]);
    assert!(o.status.success());
    assert_eq!(
        cat.stdout,
        std::fs::read(d.p("file.h4mk")).unwrap(),
        "pipe and file outputs are the same bytes"
    );
    assert!(h4mk(&["verify", &d.s("piped.h4mk")]).status.success());
}

#[test]
fn verify_lists_failures_with_code_chunk_and_offset() {
    let d = Dir::new();
    random_file(&d.p("in.bin"), 50_000, 3);
    assert!(
        h4mk(&[
            "export",
            &d.s("in.bin"),
            "-o",
            &d.s("a.h4mk"),
            "--block-size",
            "1000"
        ])
        .status
        .success()
    );
    let o = h4mk(&["verify", &d.s("a.h4mk")]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains(": OK: "));

    let mut bytes = std::fs::read(d.p("a.h4mk")).unwrap();
    let chunks = json(&h4mk(&["inspect", &d.s("a.h4mk"), "--json", "--chunks"]));
    // Damage two blocks: the 3rd and the 30th.
    let (c3, c30) = (&chunks["chunks"][2], &chunks["chunks"][29]);
    for c in [c3, c30] {
        let at = c["offset"].as_u64().unwrap() as usize + 100;
        bytes[at] ^= 0x10;
    }
    std::fs::write(d.p("bad.h4mk"), &bytes).unwrap();
    let o = h4mk(&["verify", &d.s("bad.h4mk"), "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{f:?}");
    for (finding, c) in f.iter().zip([c3, c30]) {
        assert_eq!(finding["code"], "chunk.crc.mismatch");
        assert_eq!(finding["chunk"], c["ordinal"]);
        assert_eq!(finding["offset"], c["offset"]);
    }
    let o = h4mk(&["verify", &d.s("bad.h4mk")]);
    let (out, _) = text(&o);
    assert!(
        out.contains("2 problem(s)") && out.contains("chunk.crc.mismatch"),
        "{out}"
    );
    assert!(!out.contains("Some(") && !out.contains("None"), "{out}");
    // The next step it names, run as printed, gives a file that verifies with the 48 intact
    // blocks.
    let step = out
        .split("next:\n  ")
        .nth(1)
        .and_then(|s| s.split("   (").next())
        .unwrap_or_else(|| panic!("a next step: {out}"));
    let args: Vec<&str> = step.split_whitespace().collect();
    assert_eq!(args[..2], ["h4mk", "repair"], "{step}");
    assert!(h4mk(&args[1..]).status.success(), "{step}");
    let repaired = json(&h4mk(&["verify", args[4], "--json"]));
    assert_eq!(repaired["ok"], true);
    assert_eq!(repaired["blocks"], 48);
    // The undamaged blocks are all still there.
    let o = h4mk(&["extract", &d.s("bad.h4mk"), "-o", &d.s("out.bin")]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        std::fs::read(d.p("out.bin")).unwrap().len(),
        50_000 - 2 * 1000
    );
}

#[test]
fn seek_snaps_before_and_after_by_track() {
    let d = Dir::new();
    random_file(&d.p("in.bin"), 100_000, 4);
    assert!(
        h4mk(&[
            "export",
            &d.s("in.bin"),
            "-o",
            &d.s("a.h4mk"),
            "--block-size",
            "100",
            "--fps",
            "30000/1001",
            "--gop",
            "15"
        ])
        .status
        .success()
    );
    let gop_ns = |k: u64| (k * 15 * 1_001 * 1_000_000_000) / 30_000;
    let v = json(&h4mk(&["seek", &d.s("a.h4mk"), "2.1", "--json"]));
    assert_eq!(v["keyframe_time_ns"], gop_ns(4));
    assert_eq!(v["track_index"], 60);
    assert_eq!(v["leaf_verified"], true);
    let v = json(&h4mk(&[
        "seek",
        &d.s("a.h4mk"),
        "0:00:02.1",
        "--after",
        "--track",
        "0",
        "--json",
    ]));
    assert_eq!(v["keyframe_time_ns"], gop_ns(5));
    let o = h4mk(&["seek", &d.s("a.h4mk"), "9999", "--after"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).0.starts_with("no keyframe at or after"));
    let o = h4mk(&["seek", &d.s("a.h4mk"), "1", "--track", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("has no track 5"));
}

#[test]
fn repair_makes_a_cut_file_verify_and_keeps_its_blocks() {
    let d = Dir::new();
    let data = random_file(&d.p("in.bin"), 200_000, 5);
    assert!(
        h4mk(&[
            "export",
            &d.s("in.bin"),
            "-o",
            &d.s("a.h4mk"),
            "--block-size",
            "1000"
        ])
        .status
        .success()
    );
    let full = std::fs::read(d.p("a.h4mk")).unwrap();
    std::fs::write(d.p("cut.h4mk"), &full[..full.len() * 2 / 3]).unwrap();
    let o = h4mk(&["verify", &d.s("cut.h4mk")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).0.contains("veri.absent"));
    // Seeking still works on the cut file, by scanning.
    assert!(h4mk(&["seek", &d.s("cut.h4mk"), "1"]).status.success());

    let o = h4mk(&["repair", &d.s("cut.h4mk"), "-o", &d.s("fixed.h4mk")]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(h4mk(&["verify", &d.s("fixed.h4mk")]).status.success());
    let o = h4mk(&["extract", &d.s("fixed.h4mk")]);
    assert!(o.status.success());
    let kept = o.stdout.len();
    assert!(kept > 0 && kept.is_multiple_of(1000) && kept < data.len());
    assert_eq!(&o.stdout[..], &data[..kept]);
    // The cut lost less than two blocks' worth beyond the index.
    let v = json(&h4mk(&["inspect", &d.s("fixed.h4mk"), "--json"]));
    assert_eq!(
        v["tracks"][0]["blocks"].as_u64().unwrap() as usize,
        kept / 1000
    );

    // In place.
    std::fs::copy(d.p("cut.h4mk"), d.p("inplace.h4mk")).unwrap();
    assert!(
        h4mk(&["repair", &d.s("inplace.h4mk"), "--in-place"])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(d.p("inplace.h4mk")).unwrap(),
        std::fs::read(d.p("fixed.h4mk")).unwrap()
    );
    // Neither -o nor --in-place is a usage error.
    assert_eq!(h4mk(&["repair", &d.s("cut.h4mk")]).status.code(), Some(2));
}

#[test]
fn bad_input_gets_one_clear_line_and_no_panic() {
    let d = Dir::new();
    std::fs::write(d.p("text.txt"), b"hello, not a container\n").unwrap();
    std::fs::write(d.p("empty.h4mk"), b"").unwrap();
    random_file(&d.p("in.bin"), 10, 6);
    let cases: &[(&[&str], &str)] = &[
        (
            &["inspect", "/nonexistent/x.h4mk"],
            "cannot open /nonexistent/x.h4mk",
        ),
        (&["verify", "/nonexistent/x.h4mk"], "cannot open"),
        (
            &["inspect", &d.s("text.txt")],
            "text.txt is not an H4MK file",
        ),
        (&["seek", &d.s("empty.h4mk"), "1"], "is empty (0 bytes)"),
        (&["extract", &d.s("text.txt")], "is not an H4MK file"),
        (&["seek", &d.s("text.txt"), "soon"], "is not a time"),
        (
            &[
                "export",
                &d.s("in.bin"),
                "-o",
                &d.s("o.h4mk"),
                "--block-size",
                "0",
            ],
            "block-size",
        ),
        (
            &["export", &d.s("in.bin"), "-o", &d.s("o.h4mk"), "--fps", "0"],
            "is not a frame rate",
        ),
        (
            &["export", &d.s("in.bin"), "-o", &d.s("o.h4mk"), "--gop", "0"],
            "gop",
        ),
        (
            &["export", &d.s("in.bin"), "-o", "/nonexistent/dir/o.h4mk"],
            "cannot create /nonexistent/dir/o.h4mk",
        ),
        (
            &["repair", &d.s("text.txt"), "-o", &d.s("r.h4mk")],
            "is not an H4MK file",
        ),
        (&["verify", &d.s("text.txt")], "is not an H4MK file"),
    ];
    for (args, want) in cases {
        let o = h4mk(args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // A failed repair leaves no half-written output behind.
    assert!(!d.p("r.h4mk").exists());
}

#[test]
fn h4mk_verify_names_the_chunk_of_every_flipped_byte() {
    let d = Dir::new();
    random_file(&d.p("in.bin"), 120, 7);
    let o = h4mk(&[
        "export",
        &d.s("in.bin"),
        "-o",
        &d.s("a.h4mk"),
        "--block-size",
        "40",
        "--gop",
        "2",
    ]);
    assert!(o.status.success());
    let file = std::fs::read(d.p("a.h4mk")).unwrap();
    // Chunk starts by the framing rule: 12-byte header plus the declared size.
    let mut starts = Vec::new();
    let mut at = 0usize;
    while at < file.len() {
        starts.push(at);
        at += 12 + u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
    }
    for i in 0..file.len() {
        let mut bad = file.clone();
        bad[i] ^= 0x04;
        std::fs::write(d.p("bad.h4mk"), &bad).unwrap();
        let o = h4mk(&["verify", &d.s("bad.h4mk"), "--json"]);
        assert_eq!(o.status.code(), Some(1), "byte {i}");
        let v = json(&o);
        let f = v["findings"].as_array().unwrap();
        let chunk = starts.iter().rposition(|s| *s <= i).unwrap();
        assert_eq!(f.len(), 1, "byte {i}: {f:?}");
        assert_eq!(f[0]["chunk"], chunk as u64, "byte {i}: {f:?}");
        assert_eq!(f[0]["offset"], starts[chunk] as u64, "byte {i}");
        let code = f[0]["code"].as_str().unwrap();
        let want: &[&str] = if i < 4 {
            &["file.magic"]
        } else if (4..8).contains(&(i - starts[chunk])) {
            &["chunk.crc.mismatch", "chunk.truncated", "chunk.size.limit"]
        } else {
            &["chunk.crc.mismatch"]
        };
        assert!(want.contains(&code), "byte {i}: {code}");
    }
}

/// Input that is not H4MK is refused with exit 2 and named for what it is, by every command
/// that reads H4MK; a file whose magic alone is damaged is still read (and reported, exit 1).
#[test]
fn input_that_is_not_h4mk_is_named_and_refused() {
    let d = Dir::new();
    let mkv = d.p("clip.mkv");
    let made = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=3",
            "!",
            "jpegenc",
            "!",
            "matroskamux",
        ])
        .args(["!", "filesink", &format!("location={}", mkv.display())])
        .status()
        .unwrap();
    assert!(made.success());
    let empty = d.p("empty.h4mk");
    std::fs::write(&empty, b"").unwrap();
    let dir = d.p("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let out = d.p("out.h4mk");
    let cases = [
        (
            mkv.clone(),
            "is not an H4MK file (GStreamer's typefinders say video/x-matroska)",
        ),
        (empty.clone(), "is empty (0 bytes), not an H4MK file"),
        (dir.clone(), "is a directory, not an H4MK file"),
    ];
    for (path, says) in &cases {
        let p = path.to_str().unwrap();
        for args in [
            vec!["verify", p],
            vec!["inspect", p],
            vec!["seek", p, "1"],
            vec!["extract", p, "-o", "/dev/null"],
            vec!["repair", p, "-o", out.to_str().unwrap()],
        ] {
            let o = h4mk(&args);
            let (stdout, stderr) = text(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {stdout} {stderr}");
            assert!(stderr.contains(says), "{args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        }
    }
    assert!(
        !out.exists(),
        "nothing is written for input that is not H4MK"
    );
}

/// `seek` without `--track` lands where players do (the first video track with keyframes, not
/// the audio keyframe just before); a time past the end is said; a negative time is refused
/// with a reason (not a suggestion of `-- -1`).
#[test]
fn seek_follows_one_rule_and_says_what_is_odd() {
    let d = Dir::new();
    let f = d.p("av.h4mk");
    let m = common::meta(2, gsth4::format::meta::CheckpointPolicy::default());
    std::fs::write(
        &f,
        common::write_file(&m, &common::sample_blocks(2, 250, 5)),
    )
    .unwrap();
    let p = f.to_str().unwrap();
    let v = json(&h4mk(&["seek", p, "5.5", "--json"]));
    assert_eq!(v["track"], 0, "{v}");
    assert_eq!(v["keyframe_time_ns"], 5_200_000_000u64, "{v}");
    assert_eq!(v["past_end"], false, "{v}");
    let v = json(&h4mk(&["seek", p, "5.5", "--track", "1", "--json"]));
    assert_eq!(v["keyframe_time_ns"], 5_480_000_001u64, "{v}");
    // 250 frames of 40 ms: the video track ends at 10 s.
    let o = h4mk(&["seek", p, "999"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        err.contains("is past the end of track 0 (0:00:10.000000000)"),
        "{err}"
    );
    assert!(out.contains("0:00:09.600000000"), "{out}");
    assert_eq!(json(&h4mk(&["seek", p, "999", "--json"]))["past_end"], true);
    let o = h4mk(&["seek", p, "-1"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("'-1' is before the start"), "{err}");
    assert!(!err.contains("-- -1"), "{err}");
}

/// `verify` takes several files and `-` for standard input; a file that cannot be read is
/// reported and the others are still verified (exit 2 then, else 1 for any problem).
#[test]
fn verify_takes_several_files_and_standard_input() {
    let d = Dir::new();
    let good = d.p("good.h4mk");
    let m = common::meta(1, gsth4::format::meta::CheckpointPolicy::default());
    let bytes = common::write_file(&m, &common::sample_blocks(1, 50, 3));
    std::fs::write(&good, &bytes).unwrap();
    let bad = d.p("bad.h4mk");
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0x10;
    std::fs::write(&bad, &damaged).unwrap();
    let (g, b) = (good.to_str().unwrap(), bad.to_str().unwrap());

    let o = h4mk(&["verify", g, b]);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("good.h4mk: OK"), "{out}");
    assert!(out.contains("bad.h4mk: 1 problem(s)"), "{out}");

    let o = h4mk(&["verify", g, "/nonexistent/x.h4mk"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(out.contains("good.h4mk: OK"), "{out}");
    assert!(err.contains("cannot open /nonexistent/x.h4mk"), "{err}");

    // -q: only what is wrong.
    let o = h4mk(&["-q", "verify", g, b]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !out.contains("good.h4mk") && out.contains("bad.h4mk: 1 problem(s)"),
        "{out}"
    );
    assert!(err.is_empty(), "{err}");
    let o = h4mk(&["verify", "-q", g]);
    assert_eq!(
        (o.status.code(), text(&o)),
        (Some(0), (String::new(), String::new()))
    );
    let o = h4mk(&["repair", "-q", b, "-o", d.s("fixed.h4mk").as_str()]);
    assert!(
        o.status.success() && text(&o).0.is_empty(),
        "{:?}",
        text(&o)
    );

    let v = json(&h4mk(&["verify", "--json", g, b]));
    assert_eq!(v.as_array().map(|a| a.len()), Some(2), "{v}");
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[1]["ok"], false);

    let mut child = Command::new(BIN)
        .args(["verify", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o).0.starts_with("standard input: OK"),
        "{}",
        text(&o).0
    );
}

/// An edited block: payload byte changed and the chunk's CRC recomputed, so only the file's
/// integrity (its leaf in HASH) tells. Returns the edited block's chunk offset.
fn edit_block(file: &mut [u8], nth_block: usize) -> usize {
    let mut at = 20; // after the 20-byte file header chunk
    let mut seen = 0;
    loop {
        let size = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
        if &file[at..at + 4] == b"CORE" {
            if seen == nth_block {
                file[at + 12 + 40 + 7] ^= 0x20;
                let mut h = crc32fast::Hasher::new();
                h.update(&file[at..at + 8]);
                h.update(&file[at + 12..at + 12 + size]);
                file[at + 8..at + 12].copy_from_slice(&h.finalize().to_le_bytes());
                return at;
            }
            seen += 1;
        }
        at += 12 + size;
    }
}

/// Repair never launders: a block edited with its CRC recomputed is named by verify, left out
/// by repair (the result verifies without it), or kept with --keep-unverified and then named
/// by verify in the repaired file.
#[test]
fn repair_leaves_out_an_edited_block_or_keeps_it_named() {
    let d = Dir::new();
    let data = random_file(&d.p("in.bin"), 50_000, 9);
    let export = [
        "export",
        &d.s("in.bin"),
        "-o",
        &d.s("a.h4mk"),
        "--block-size",
        "1000",
    ];
    assert!(h4mk(&export).status.success());
    let mut file = std::fs::read(d.p("a.h4mk")).unwrap();
    let offset = edit_block(&mut file, 17);
    std::fs::write(d.p("edited.h4mk"), &file).unwrap();

    let o = h4mk(&["verify", &d.s("edited.h4mk")]);
    assert_eq!(o.status.code(), Some(1));
    let (out, _) = text(&o);
    let words: Vec<&str> = out.split_whitespace().collect();
    let names_it = words
        .windows(2)
        .any(|w| w == ["offset", &offset.to_string()]);
    assert!(out.contains("block.hash.mismatch") && names_it, "{out}");

    // By default the edited block is left out and named.
    let o = h4mk(&["repair", &d.s("edited.h4mk"), "-o", &d.s("fixed.h4mk")]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, err) = text(&o);
    assert!(out.contains("kept 49 block(s)"), "{out}");
    assert!(
        err.contains(&format!("offset {offset}")) && err.contains("track 0 block 17"),
        "{err}"
    );
    assert!(h4mk(&["verify", &d.s("fixed.h4mk")]).status.success());
    let kept = h4mk(&["extract", &d.s("fixed.h4mk")]).stdout;
    let mut want = data[..17_000].to_vec();
    want.extend_from_slice(&data[18_000..]);
    assert!(kept == want, "every block but the edited one");

    // Kept on request: listed in META, and verify names it (exit 1, its own code).
    let o = h4mk(&[
        "repair",
        &d.s("edited.h4mk"),
        "-o",
        &d.s("kept.h4mk"),
        "--keep-unverified",
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o)
            .1
            .contains("kept, listed as unverified: track 0 block 17")
    );
    let o = h4mk(&["verify", &d.s("kept.h4mk")]);
    assert_eq!(o.status.code(), Some(1));
    let (out, _) = text(&o);
    assert!(out.contains("block.unverified"), "{out}");
    assert!(out.contains("track 0 block 17 was kept by repair"), "{out}");
    assert_eq!(out.matches("block.unverified").count(), 1, "{out}");
    // Repairing the repaired file again does not launder it.
    let o = h4mk(&["repair", &d.s("kept.h4mk"), "-o", &d.s("again.h4mk")]);
    assert!(o.status.success());
    let o = h4mk(&["verify", &d.s("again.h4mk")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).0.contains("track 0 block 17 was kept by repair"));

    // Every repaired file says so: from which root, by which writer.
    let bytes = std::fs::read(d.p("fixed.h4mk")).unwrap();
    let r = gsth4::format::reader::Reader::open(bytes.as_slice()).unwrap();
    let rec = r.meta().repaired.clone().unwrap();
    assert_eq!(rec.writer.name, "gst-h4");
    assert_eq!(
        rec.from_root, None,
        "the edited file's VERI no longer matches"
    );
}
