//! Random access over arbitrary bytes: open, index lookups, block reads, the leaf table and a
//! verified seek. Errors are fine; panics, hangs and huge allocations are not.
#![no_main]

use gsth4::format::reader::Reader;
use gsth4::format::seek::Snap;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = Reader::open(data) else {
        return;
    };
    let tracks: Vec<u32> = r.meta().tracks.iter().map(|t| t.id).take(4).collect();
    let _ = r.seek_table();
    for t in &tracks {
        for time in [0u64, 1_000_000_000, u64::MAX / 2] {
            for snap in [Snap::Before, Snap::After] {
                if let Ok(Some(hit)) = r.keyframe_by_block_time(Some(*t), time, snap) {
                    let _ = r.read_block_at(hit.entry.offset);
                }
            }
        }
        let _ = r.seek_verified(Some(*t), 500_000_000, Snap::Before);
    }
    let _ = r.veri();
    let _ = r.stored_leaf(0);
    let mut chunks = 0u32;
    let _ = r.scan_body(|_| {
        chunks += 1;
        Ok(chunks < 10_000)
    });
});
