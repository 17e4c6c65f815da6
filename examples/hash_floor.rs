//! The hashing floor of muxing a file: the CRC32 and the Merkle leaf hash (SHA-256) of every
//! block chunk of an H4MK file, computed on one core from memory, as h4mkmux must compute them
//! for the same blocks; leaf hashes four messages at a time, as the muxer's batches do at best.
//! Prints the CPU time (this thread, user + system) of the median of `rounds`, with the bytes
//! and blocks. Prints figures; never fails on a timing. Run by benches/elements.sh.
//!
//! cargo run --release --example hash_floor -- FILE.h4mk [rounds]

use std::time::Duration;

use gsth4::format::chunk::{CHUNK_HEADER_LEN, TAG_CORE, TAG_SAFE};
use gsth4::format::merkle::leaf_hashes;
use gsth4::format::scan::{Scanner, Step};

fn thread_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: hash_floor FILE.h4mk [rounds]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(1).map_or(Ok(5), |r| r.parse())?;
    let file = std::fs::read(path)?;
    // The block chunks, as (header, payload) slices of the file.
    let mut blocks: Vec<(&[u8], &[u8])> = Vec::new();
    let mut s = Scanner::new();
    s.feed(&file);
    s.finish();
    loop {
        match s.step() {
            Step::Chunk(c) if matches!(c.header.tag, TAG_CORE | TAG_SAFE) => {
                let at = c.offset as usize;
                let end = c.end() as usize;
                blocks.push((
                    &file[at..at + CHUNK_HEADER_LEN],
                    &file[at + CHUNK_HEADER_LEN..end],
                ));
            }
            Step::Chunk(_) => {}
            Step::Damage(d) => return Err(format!("{path}: {}", d.error).into()),
            Step::NeedMore | Step::End => break,
        }
    }
    let bytes: usize = blocks.iter().map(|(h, p)| h.len() + p.len()).sum();
    let mut times = Vec::new();
    let mut check = 0u32;
    for _ in 0..rounds {
        let start = thread_cpu();
        for (_, payload) in &blocks {
            check ^= crc32fast::hash(payload);
        }
        // The muxer hashes up to eight blocks per batch, four lanes at a time.
        for batch in blocks.chunks(8) {
            let parts: Vec<[&[u8]; 2]> = batch.iter().map(|(h, p)| [*h, *p]).collect();
            let chunks: Vec<&[&[u8]]> = parts.iter().map(|p| &p[..]).collect();
            check ^= u32::from(leaf_hashes(&chunks)[0][0]);
        }
        times.push(thread_cpu() - start);
    }
    times.sort();
    println!(
        "hashing floor (CRC32 + SHA-256 leaves of {} blocks, {bytes} bytes, one core, from memory): {:.0} ms CPU (range {:.0}-{:.0} ms, {rounds} rounds) [{check:08x}]",
        blocks.len(),
        times[rounds / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[rounds - 1].as_secs_f64() * 1e3,
    );
    Ok(())
}
