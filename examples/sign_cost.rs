//! What signing costs: one checkpoint signature on its own, the signing writer against the plain
//! one, and verifying a signed file against an unsigned one. Runs interleaved rounds and prints
//! medians and ranges of CPU time (this process, user + system) and wall time. Prints figures;
//! never fails on a timing. Run by benches/sign.sh.
//!
//! cargo run --release --example sign_cost [MiB] [rounds]

use std::time::{Duration, Instant};

use gsth4::crypto::signing::SigningKey;
use gsth4::format::block::BlockFlags;
use gsth4::format::meta::{CheckpointPolicy, Meta, Signer, Track, TrackKind};
use gsth4::format::signature::{Signature, Signed, chain_next};
use gsth4::format::verify::verify;
use gsth4::format::writer::{NewBlock, Writer};

fn cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

/// (CPU, wall) of `f`.
fn measure(f: impl FnOnce()) -> (Duration, Duration) {
    let (c, w) = (cpu(), Instant::now());
    f();
    (cpu() - c, w.elapsed())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn range(v: &[f64]) -> (f64, f64) {
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(0.0, f64::max),
    )
}

/// 25 fps video of 64 KiB blocks, a keyframe every 25: the default checkpoint policy puts a HASH
/// every 2 s (50 blocks).
fn write(blocks: u64, key: Option<SigningKey>, payload: &[u8]) -> (Vec<u8>, u64) {
    let mut meta = Meta::new(vec![Track {
        id: 0,
        kind: TrackKind::Video,
        caps: "video/x-h264".into(),
        tags: None,
        time_offset: 0,
    }]);
    meta.checkpoint = CheckpointPolicy::default();
    meta.signer = key.as_ref().map(|k| Signer::of(&k.public()));
    let mut w = Writer::new(Vec::with_capacity(blocks as usize * 66_000), &meta).unwrap();
    if let Some(k) = key {
        w.sign_with(k).unwrap();
    }
    for i in 0..blocks {
        let b = NewBlock {
            track: 0,
            masked: false,
            flags: BlockFlags(if i % 25 == 0 { BlockFlags::KEYFRAME } else { 0 }),
            pts: Some(i * 40_000_000),
            dts: None,
            duration: Some(40_000_000),
            clipping: None,
        };
        w.write_block(&b, payload).unwrap();
    }
    let (out, summary) = w.finish().unwrap();
    (out, summary.checkpoints)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mib: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let rounds: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(7);
    let key = || SigningKey::from_seed(&[7; 32]).unwrap();

    // One checkpoint's signature: the chain over a HASH chunk of 50 leaves, then Ed25519.
    let hash_chunk = vec![0x5au8; 12 + 64 + 2 * 56 + 50 * 32];
    let k = key();
    let n = 2000;
    let mut each = Vec::new();
    for _ in 0..5 {
        let (c, _) = measure(|| {
            let mut chain = [0u8; 32];
            for i in 0..n {
                chain = chain_next(&chain, &[&hash_chunk]);
                let s = Signature::sign(&k, Signed::Checkpoint, i, i, i, [1; 32], chain);
                std::hint::black_box(s);
            }
        });
        each.push(c.as_secs_f64() * 1e6 / n as f64);
    }
    let (lo, hi) = range(&each);
    println!(
        "one checkpoint signature (chain over a 1,788-byte HASH chunk + Ed25519 sign): median {:.1} us CPU (range {lo:.1}..{hi:.1}, 5 x {n})",
        median(each.clone())
    );

    let payload: Vec<u8> = (0..65_536u32).map(|i| (i * 2_654_435_761) as u8).collect();
    let blocks = mib * 16;
    let (mut w_plain, mut w_signed, mut v_plain, mut v_signed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut wr_plain, mut wr_signed, mut vr_plain, mut vr_signed) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut checkpoints = 0;
    let (mut plain_file, mut signed_file) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first, so drift in the machine's speed favours neither.
        for signed in [round % 2 == 0, round % 2 != 0] {
            let (c, w) = measure(|| {
                let (f, cps) = write(blocks, signed.then(key), &payload);
                checkpoints = cps;
                if signed {
                    signed_file = f;
                } else {
                    plain_file = f;
                }
            });
            let (cv, wv) = if signed {
                (&mut w_signed, &mut wr_signed)
            } else {
                (&mut w_plain, &mut wr_plain)
            };
            cv.push(c.as_secs_f64());
            wv.push(w.as_secs_f64());
        }
        for signed in [round % 2 != 0, round % 2 == 0] {
            let file = if signed { &signed_file } else { &plain_file };
            let (c, w) = measure(|| {
                let r = verify(file.as_slice(), |_| {}).unwrap();
                assert!(r.is_ok() && r.signed.is_some() == signed);
            });
            let (cv, wv) = if signed {
                (&mut v_signed, &mut vr_signed)
            } else {
                (&mut v_plain, &mut vr_plain)
            };
            cv.push(c.as_secs_f64());
            wv.push(w.as_secs_f64());
        }
    }
    let ratios = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x / y).collect::<Vec<f64>>();
    let report = |what: &str, signed: &[f64], plain: &[f64], wall_s: &[f64], wall_p: &[f64]| {
        let r = ratios(signed, plain);
        let rw = ratios(wall_s, wall_p);
        let (lo, hi) = range(&r);
        let (wlo, whi) = range(&rw);
        println!(
            "{what}, {mib} MiB, {checkpoints} checkpoints: CPU plain {:.1} ms, signed {:.1} ms, ratio {:.4} (rounds {lo:.4}..{hi:.4}); wall ratio {:.4} ({wlo:.4}..{whi:.4}); CPU per checkpoint {:+.1} us",
            median(plain.to_vec()) * 1e3,
            median(signed.to_vec()) * 1e3,
            median(r.clone()),
            median(rw.clone()),
            (median(signed.to_vec()) - median(plain.to_vec())) * 1e6 / checkpoints as f64,
        );
    };
    report("writer", &w_signed, &w_plain, &wr_signed, &wr_plain);
    report("verify", &v_signed, &v_plain, &vr_signed, &vr_plain);
    println!("({rounds} interleaved rounds; 64 KiB blocks at 25 a second, a checkpoint every 2 s)");
}
