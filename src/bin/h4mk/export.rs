//! `h4mk export`: wrap an opaque file into blocks of fixed size, timed at a frame rate, with a
//! keyframe every `gop` blocks. `h4mk extract` gives the file back.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use gsth4::format::block::BlockFlags;
use gsth4::format::meta::{Meta, Track, TrackKind};
use gsth4::format::writer::{MAX_BLOCK_DATA, NewBlock, Writer};

use crate::progress::Progress;
use crate::{CliResult, Outcome, open};

#[derive(clap::Args)]
pub struct Args {
    /// The file to wrap ("-" for standard input)
    input: PathBuf,
    /// Output H4MK file ("-" for standard output: the writer never seeks)
    #[arg(short, long)]
    output: PathBuf,
    /// Bytes per block (1 .. 268435416)
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u64).range(1..=MAX_BLOCK_DATA as u64))]
    block_size: u64,
    /// Blocks per second, as N or N/D (e.g. 30000/1001)
    #[arg(long, default_value = "25", value_parser = parse_rate)]
    fps: (u64, u64),
    /// A keyframe every this many blocks (1 = every block)
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u64).range(1..))]
    gop: u64,
    /// Caps string stored for the track
    #[arg(long, default_value = "application/octet-stream")]
    caps: String,
}

fn parse_rate(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("'{s}' is not a frame rate: use N or N/D with N, D > 0");
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d): (u64, u64) = (
        n.trim().parse().map_err(|_| bad())?,
        d.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || d == 0 || n > 1_000_000_000 || d > 1_000_000_000 {
        return Err(bad());
    }
    Ok((n, d))
}

pub fn run(a: Args) -> CliResult {
    let (input, len): (Box<dyn Read>, u64) = if a.input.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), 0)
    } else {
        let f = open(&a.input)?;
        let len = f.metadata()?.len();
        (Box::new(f), len)
    };
    let sink: Box<dyn Write> = if a.output.as_os_str() == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(
            File::create(&a.output)
                .map_err(|e| format!("cannot create {}: {e}", a.output.display()))?,
        )
    };
    let meta = Meta::new(vec![Track {
        id: 0,
        kind: TrackKind::Data,
        caps: a.caps.clone(),
        tags: None,
        time_offset: 0,
    }]);
    let mut w = Writer::new(BufWriter::with_capacity(4 << 20, sink), &meta)?;
    let mut input = input;
    let mut buf = vec![0u8; a.block_size as usize];
    let (num, den) = a.fps;
    // Exact times: block i starts at i * den / num seconds.
    let time = |i: u64| (u128::from(i) * 1_000_000_000 * u128::from(den) / u128::from(num)) as u64;
    let mut progress = Progress::new("export", len);
    let mut i = 0u64;
    let mut done = 0u64;
    loop {
        let n = read_full(&mut input, &mut buf)?;
        if n == 0 {
            break;
        }
        let pts = time(i);
        let flags = BlockFlags(if i.is_multiple_of(a.gop) {
            BlockFlags::KEYFRAME
        } else {
            0
        });
        let b = NewBlock {
            track: 0,
            masked: false,
            flags,
            pts: Some(pts),
            dts: Some(pts),
            duration: Some(time(i + 1) - pts),
            clipping: None,
        };
        w.write_block(&b, &buf[..n])?;
        i += 1;
        done += n as u64;
        if i.is_multiple_of(256) {
            progress.update(done);
        }
        if n < buf.len() {
            break;
        }
    }
    let (_, summary) = w.finish()?;
    progress.done();
    if !crate::quiet() {
        eprintln!(
            "h4mk: wrote {} blocks ({} keyframes), {} bytes, to {}",
            summary.blocks,
            summary.keyframes,
            summary.bytes,
            a.output.display()
        );
    }
    Ok(Outcome::Ok)
}

/// Fills `buf` unless the input ends first; returns how much was read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
