//! Hostile files against every reader: the core, `h4mk verify`, `inspect` and `repair`, the
//! demuxer in pull mode, in push mode from a pipe and in seekable push mode. Each reader runs
//! as a child process whose CPU time and peak RSS are measured (wait4), and is held to the
//! budgets of docs/SECURITY.md: time proportional to the file, memory under a fixed bound.

mod common;
mod gstcommon;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Block, identity, write_file};
use gsth4::format::Code;
use gsth4::format::block::BlockFlags;
use gsth4::format::chunk::{CHUNK_HEADER_LEN, ChunkHeader, MAX_PAYLOAD, encode_chunk};
use gsth4::format::meta::{CheckpointPolicy, Meta, Track, TrackKind};
use gsth4::format::scan::{Scanner, Step, drive};
use gsth4::format::tail::{TAIL_CHUNK_LEN, Tail};
use gsth4::format::verify::verify;
use gsth4::format::writer::NewBlock;

const H4MK: &str = env!("CARGO_BIN_EXE_h4mk");

/// Peak RSS allowed to any reader of these files (the largest is 100 MB, and the readers
/// before these fixes held all of it, or 256 MiB, or 4 GiB).
const RSS_LIMIT_KB: i64 = 80 * 1024;

/// What a child process cost.
#[derive(Debug)]
struct Cost {
    code: Option<i32>,
    cpu: f64,
    wall: f64,
    rss_kb: i64,
    stdout: String,
    stderr: String,
}

/// Runs `c` under GNU time (feeding `stdin` when given) to its end, killed with its process
/// group after `secs`. Not wait4 here: a child spawned from this large test process inherits
/// its peak RSS figure, where GNU time's own child starts from a small one.
fn measure(c: Command, stdin: Option<Vec<u8>>, secs: u64) -> Cost {
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut t = Command::new("/usr/bin/time");
    t.arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(report.path())
        .arg(c.get_program())
        .args(c.get_args())
        .envs(c.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = t.spawn().unwrap_or_else(|e| panic!("{t:?}: {e}"));
    let pid = child.id() as i32;
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            // A reader that stops early closes the pipe: not an error here.
            let _ = pipe.write_all(&bytes);
        })
    });
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            rx.recv_timeout(Duration::from_secs(secs))
        {
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    drop(tx);
    watchdog.join().unwrap();
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let figures = std::fs::read_to_string(report.path()).unwrap();
    let last = figures.lines().last().unwrap_or_default();
    let v: Vec<f64> = last.split(' ').filter_map(|x| x.parse().ok()).collect();
    let killed = figures.contains("terminated by signal") || v.len() != 4;
    Cost {
        code: if killed { None } else { out.status.code() },
        cpu: v.get(1).copied().unwrap_or(f64::NAN) + v.get(2).copied().unwrap_or(f64::NAN),
        wall: v.first().copied().unwrap_or(f64::NAN),
        rss_kb: v.get(3).copied().unwrap_or(f64::NAN) as i64,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn h4mk(args: &[&str]) -> Command {
    let mut c = Command::new(H4MK);
    c.args(args);
    c
}

fn launch(desc: &str) -> Command {
    let mut c = gstcommon::gst_tool("gst-launch-1.0");
    c.arg("-q").args(desc.split(' '));
    c
}

/// Builds the registry once, so that no measured run pays for it.
fn warm_registry() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let out = gstcommon::gst_tool("gst-inspect-1.0")
            .arg("h4mkdemux")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    });
}

/// The readers a file goes through, each a child process: (name, command, bytes on stdin).
fn readers(path: &str, bytes: &[u8]) -> Vec<(&'static str, Command, Option<Vec<u8>>)> {
    warm_registry();
    let out = format!("{path}.repaired");
    vec![
        ("h4mk verify", h4mk(&["verify", path]), None),
        ("h4mk inspect", h4mk(&["inspect", path]), None),
        ("h4mk repair", h4mk(&["repair", path, "-o", &out]), None),
        (
            "pull mode",
            launch(&format!("filesrc location={path} ! h4mkdemux ! fakesink")),
            None,
        ),
        (
            "push mode from a pipe",
            launch("fdsrc fd=0 ! h4mkdemux ! fakesink"),
            Some(bytes.to_vec()),
        ),
        (
            "seekable push mode",
            launch(&format!(
                "filesrc location={path} ! queue ! h4mkdemux ! fakesink"
            )),
            None,
        ),
    ]
}

/// Every reader ends on its own within `cpu_limit` seconds of CPU and the memory limit.
fn hold_every_reader_to_budget(what: &str, bytes: &[u8], cpu_limit: f64) {
    let (_dir, path) = gstcommon::tmp("hostile.h4mk");
    std::fs::write(&path, bytes).unwrap();
    for (name, cmd, stdin) in readers(&path, bytes) {
        let cost = measure(cmd, stdin, 60);
        eprintln!(
            "{what}, {name}: exit {:?}, {:.3} s CPU, {:.3} s wall, {} KB peak RSS",
            cost.code, cost.cpu, cost.wall, cost.rss_kb
        );
        assert!(
            cost.code.is_some(),
            "{what}, {name}: killed or crashed: {cost:?}"
        );
        assert!(
            cost.cpu < cpu_limit,
            "{what}, {name}: {:.2} s of CPU (limit {cpu_limit})",
            cost.cpu
        );
        assert!(
            cost.rss_kb < RSS_LIMIT_KB,
            "{what}, {name}: {} KB peak RSS",
            cost.rss_kb
        );
    }
}

fn one_track_meta() -> Meta {
    Meta {
        writer: identity(),
        checkpoint: CheckpointPolicy::default(),
        tracks: vec![Track {
            id: 0,
            kind: TrackKind::Data,
            caps: "application/x-test".into(),
            tags: None,
            time_offset: 0,
        }],
        tags: None,
        repaired: None,
        signer: None,
    }
}

fn block(i: u64, data: Vec<u8>) -> Block {
    Block {
        spec: NewBlock {
            track: 0,
            masked: false,
            flags: BlockFlags(BlockFlags::KEYFRAME),
            pts: Some(i * 40_000_000),
            dts: None,
            duration: Some(40_000_000),
            clipping: None,
        },
        data,
    }
}

/// Offsets and headers of the chunks of an intact file.
fn chunks(bytes: &[u8]) -> Vec<(usize, ChunkHeader)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let h = ChunkHeader::parse(bytes[at..at + 12].try_into().unwrap());
        out.push((at, h));
        at += h.chunk_len() as usize;
    }
    out
}

/// A 9.6 MB file whose second block is 8 MB of back-to-back chunk headers, each plausible
/// (a known tag, a size that stays inside the file) but with a wrong CRC; one byte of that
/// block flipped, so every reader resynchronises across the run.
fn plausible_run() -> (Vec<u8>, usize) {
    let run_len = 8 << 20;
    let mut blocks = vec![block(0, vec![1; 1000]), block(1, vec![0; run_len])];
    blocks.extend((2..40).map(|i| block(i, vec![i as u8; 40_000])));
    let mut f = write_file(&one_track_meta(), &blocks);
    let map = chunks(&f);
    let (big, _) = map[3];
    let payload = big + CHUNK_HEADER_LEN + gsth4::format::block::BLOCK_HEADER_LEN;
    let end = f.len();
    for p in (payload..payload + run_len - 12).step_by(12) {
        // Each claim ends 100 bytes before the file does.
        let claim = (end - p - 12 - 100) as u32;
        f[p..p + 4].copy_from_slice(b"CORE");
        f[p + 4..p + 8].copy_from_slice(&claim.to_le_bytes());
        f[p + 8..p + 12].copy_from_slice(&[0; 4]);
    }
    (f, big)
}

#[test]
fn a_run_of_plausible_headers_costs_time_in_proportion_to_the_file() {
    let (f, big) = plausible_run();
    // The core: one damaged region where the run is, then every later block.
    let t = Instant::now();
    let report = verify(f.as_slice(), |_| {}).unwrap();
    let spent = t.elapsed();
    let damaged: Vec<_> = report
        .findings
        .iter()
        .filter(|e| e.offset == Some(big as u64))
        .collect();
    assert_eq!(damaged.len(), 1, "{:?}", report.findings);
    assert_eq!(damaged[0].code, Code::ChunkCrcMismatch);
    assert_eq!(report.blocks, 39, "every block but the damaged one is read");
    assert!(spent < Duration::from_secs(2), "verify took {spent:?}");
    hold_every_reader_to_budget("plausible headers", &f, 3.0);
}

/// One damaged header, then 100 MB with no valid chunk, then good blocks: no reader keeps the
/// damaged stretch, and the blocks after it are all found.
#[test]
fn a_long_stretch_without_a_valid_chunk_is_not_kept_in_memory() {
    let junk = 100 << 20;
    let mut blocks = vec![block(0, vec![1; 1000]), block(1, vec![0; junk])];
    blocks.extend((2..12).map(|i| block(i, vec![i as u8; 1000])));
    let mut f = write_file(&one_track_meta(), &blocks);
    let (big, _) = chunks(&f)[3];
    // The block's size field over the limit: damaged at once, and the search starts.
    f[big + 4..big + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let payload = big + 12 + gsth4::format::block::BLOCK_HEADER_LEN;
    for (i, b) in f[payload..payload + junk].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
    }
    let mut s = Scanner::new();
    let mut r: &[u8] = &f;
    let mut later_blocks = 0;
    drive(&mut r, &mut s, |step| {
        if let Step::Chunk(c) = step
            && c.offset > big as u64
            && c.header.tag == *b"CORE"
        {
            later_blocks += 1;
        }
        Ok(true)
    })
    .unwrap();
    assert_eq!(later_blocks, 10);
    assert!(s.peak_memory() < 4 << 20, "{} bytes", s.peak_memory());
    hold_every_reader_to_budget("100 MB without a valid chunk", &f, 10.0);
}

/// One size field set just under the limit in a small file: no reader sizes a buffer by it.
#[test]
fn a_size_field_near_the_limit_allocates_nothing_by_it() {
    let blocks: Vec<_> = (0..60).map(|i| block(i, vec![i as u8; 40_000])).collect();
    let mut f = write_file(&one_track_meta(), &blocks);
    let (at, _) = chunks(&f)[10];
    f[at + 4..at + 8].copy_from_slice(&(MAX_PAYLOAD - 1).to_le_bytes());
    let report = verify(f.as_slice(), |_| {}).unwrap();
    assert_eq!(report.blocks, 59);
    assert!(
        report
            .findings
            .iter()
            .any(|e| e.offset == Some(at as u64) && e.code == Code::ChunkTruncated),
        "{:?}",
        report.findings
    );
    hold_every_reader_to_budget("size near the limit", &f, 2.0);
}

/// A finished file whose SEEK claims 4 GiB in its size and track count, with TAIL intact:
/// the index is refused on its header, and the file still plays and inspects by scanning.
#[test]
fn a_seek_chunk_claiming_4_gib_is_refused_before_allocating() {
    let blocks: Vec<_> = (0..200).map(|i| block(i, vec![i as u8; 10_000])).collect();
    let mut f = write_file(&one_track_meta(), &blocks);
    let tail = Tail::check(&f[f.len() - TAIL_CHUNK_LEN as usize..], f.len() as u64)
        .unwrap()
        .unwrap();
    let s = tail.seek_offset as usize;
    f[s + 4..s + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    f[s + 12..s + 16].copy_from_slice(&(u32::MAX / 48).to_le_bytes());
    let mut r = gsth4::format::reader::Reader::open(f.as_slice()).unwrap();
    let problem = r.index_problem().expect("the index is refused").clone();
    assert_eq!(problem.code, Code::TailMismatch, "{problem}");
    assert!(
        problem
            .to_string()
            .contains("SEEK chunk of 4294967307 bytes, not a SEEK chunk of"),
        "{problem}"
    );
    // Seeking still works, by the rebuilt index.
    let hit = r
        .keyframe_by_block_time(Some(0), 100 * 40_000_000, gsth4::format::seek::Snap::Before)
        .unwrap()
        .unwrap();
    assert_eq!(hit.entry.time, 100 * 40_000_000);
    // A claim within the size limit but not what TAIL says is refused on the header too.
    let mut g = f.clone();
    g[s + 4..s + 8].copy_from_slice(&(200u32 << 20).to_le_bytes());
    let r = gsth4::format::reader::Reader::open(g.as_slice()).unwrap();
    let problem = r.index_problem().expect("the index is refused");
    assert_eq!(problem.code, Code::TailMismatch, "{problem}");
    assert!(
        problem.to_string().contains("not a SEEK chunk of"),
        "{problem}"
    );
    hold_every_reader_to_budget("SEEK claiming 200 MiB", &g, 2.0);
    hold_every_reader_to_budget("SEEK claiming 4 GiB", &f, 2.0);
}

/// TAIL (with a valid CRC) pointing SEEK at the first block of a 100 MB file: seekable push
/// mode reads SEEK's header, refuses it, and plays on without fetching the file.
#[test]
fn a_tail_pointing_at_the_first_block_fetches_nothing_more() {
    let blocks: Vec<_> = (0..100).map(|i| block(i, vec![i as u8; 1 << 20])).collect();
    let mut f = write_file(&one_track_meta(), &blocks);
    let n = f.len();
    let at = n - TAIL_CHUNK_LEN as usize;
    let tail = Tail::check(&f[at..], n as u64).unwrap().unwrap();
    let first_block = chunks(&f)[2].0 as u64;
    let forged = Tail {
        seek_offset: first_block,
        ..tail
    };
    f[at..].copy_from_slice(&forged.encode_chunk());
    assert_eq!(
        Tail::check(&f[at..], n as u64).unwrap(),
        Some(forged),
        "the forged TAIL is intact"
    );
    hold_every_reader_to_budget("TAIL pointing at a block", &f, 3.0);
    // Push mode plays every block all the same.
    let (_dir, path) = gstcommon::tmp("forged-tail.h4mk");
    std::fs::write(&path, &f).unwrap();
    let (p, seen) = gstcommon::demux_to_fakesinks(&path, true);
    gstcommon::run(&p, 60);
    assert_eq!(seen.lock().unwrap().len(), 100);
}

/// A key file that never ends (`/dev/zero`) is refused after 1 KiB, in the core, in h4mask
/// and in `h4mk extract`.
#[test]
fn an_endless_key_file_is_refused_after_a_kilobyte() {
    let e = gsth4::crypto::MasterKey::read_file(std::path::Path::new("/dev/zero")).unwrap_err();
    assert!(e.to_string().contains("more than 1024 bytes"), "{e}");
    warm_registry();
    let cost = measure(
        launch("audiotestsrc num-buffers=10 ! h4mask key-file=/dev/zero ! fakesink"),
        None,
        30,
    );
    assert!(cost.code.is_some_and(|c| c != 0), "{cost:?}");
    assert!(
        cost.stderr.contains("more than 1024 bytes")
            || cost.stdout.contains("more than 1024 bytes"),
        "{cost:?}"
    );
    assert!(cost.rss_kb < RSS_LIMIT_KB && cost.cpu < 2.0, "{cost:?}");
    let blocks = vec![block(0, vec![1; 10])];
    let (_dir, path) = gstcommon::tmp("key.h4mk");
    std::fs::write(&path, write_file(&one_track_meta(), &blocks)).unwrap();
    let cost = measure(
        h4mk(&[
            "extract",
            &path,
            "--track",
            "0",
            "--key-file",
            "/dev/zero",
            "-o",
            "/dev/null",
        ]),
        None,
        30,
    );
    assert!(cost.rss_kb < RSS_LIMIT_KB && cost.cpu < 2.0, "{cost:?}");
}

/// An oversized chunk claim at the very start of the body, in a stream whose length is not
/// known: the scanner waits only for bytes that exist.
#[test]
fn a_stream_claim_is_backed_by_bytes_received() {
    let mut f = gsth4::format::header::FileHeader::CURRENT.encode_chunk();
    f.extend_from_slice(b"CORE");
    f.extend_from_slice(&(MAX_PAYLOAD - 1).to_le_bytes());
    f.extend_from_slice(&[0; 4]);
    f.extend(encode_chunk(b"CORE", &[3; 64]).unwrap());
    let mut s = Scanner::new();
    let mut r: &[u8] = &f;
    let mut seen = Vec::new();
    drive(&mut r, &mut s, |step| {
        seen.push(match step {
            Step::Chunk(c) => (c.offset, None),
            Step::Damage(d) => (d.error.offset.unwrap(), Some(d.error.code)),
            _ => unreachable!(),
        });
        Ok(true)
    })
    .unwrap();
    assert_eq!(
        seen,
        vec![(0, None), (20, Some(Code::ChunkTruncated)), (32, None)]
    );
    // One read piece, grown once: no buffer near the 256 MiB claimed.
    assert!(s.peak_memory() <= 4 << 20, "{}", s.peak_memory());
}
