//! The incremental parser the demuxer uses in push mode, fed the input in pieces whose sizes
//! come from the input itself, held to its work and memory budgets; then the whole-file
//! verifier.
#![no_main]

use gsth4::format::scan::{Scanner, Step, WORK_PER_BYTE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (sizes, body) = data.split_at(data.len().min(8));
    let mut s = Scanner::new();
    let mut at = 0;
    let mut i = 0;
    let mut accounted = 0u64;
    loop {
        match s.step() {
            Step::Chunk(c) => accounted = c.end(),
            Step::Damage(d) => accounted = accounted.max(d.error.offset.unwrap_or(0) + d.len),
            Step::NeedMore => {
                if at >= body.len() {
                    s.finish();
                } else {
                    let piece = 1 + usize::from(sizes.get(i % sizes.len().max(1)).copied().unwrap_or(255)) * 37;
                    let end = (at + piece).min(body.len());
                    s.feed(&body[at..end]);
                    at = end;
                    i += 1;
                }
            }
            Step::End => break,
        }
    }
    assert!(accounted <= body.len() as u64);
    assert!(s.work() <= (WORK_PER_BYTE + 2) * body.len() as u64 + 1024);
    assert!(s.peak_memory() <= 2 * body.len() + 64 * 1024);
    let _ = gsth4::format::verify::verify(body, |_| {});
});
