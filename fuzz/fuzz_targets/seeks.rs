//! Random seeks on mutated files, as the pull-mode demuxer does them: open, plan a seek to a
//! time taken from the input (each landing), check the keyframe landed on, then read on from
//! the planned offset with the file's length known, as the demuxer does: whole chunks taken
//! when the scanner is idle, the scanner fed when that fails. Errors are fine; panics, hangs
//! and large allocations are not, and the scanner must stay within its work and memory
//! budgets.
#![no_main]

use gsth4::format::limits::READ_PIECE;
use gsth4::format::reader::Reader;
use gsth4::format::scan::{Scanner, Step, WORK_PER_BYTE};
use gsth4::format::seek::Snap;
use gsth4::format::seek_plan::{Landing, plan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (params, file) = data.split_at(16);
    let Ok(mut r) = Reader::open(file) else {
        return;
    };
    let meta = r.meta().clone();
    let Ok(table) = r.seek_table().cloned() else {
        return;
    };
    for (k, landing) in [Landing::Before, Landing::After, Landing::Nearest]
        .into_iter()
        .enumerate()
    {
        let raw = u32::from_le_bytes(params[4 * k..4 * k + 4].try_into().unwrap());
        let target = u64::from(raw) * 1_000_000;
        let Ok(p) = plan(&meta, &table, target, landing, |track, time, snap| {
            r.keyframe_by_block_time(Some(track), time, snap)
        }) else {
            continue;
        };
        let track = Some(p.track).filter(|_| params[12] & 1 == 0);
        let _ = r.seek_verified(track, target, Snap::Before);
        let mut s = Scanner::at(p.offset, 0).with_file_len(file.len() as u64);
        let Some(rest) = file.get(p.offset as usize..) else {
            continue;
        };
        let mut fed = 0;
        let mut items = 0;
        loop {
            match s.step() {
                Step::Chunk(_) | Step::Damage(_) => {
                    items += 1;
                    if items > 64 {
                        break;
                    }
                }
                Step::End => break,
                Step::NeedMore => {
                    if params[14] & 1 == 0 && s.buffered() == 0 && rest.len() - fed >= 12 {
                        let head: [u8; 12] = rest[fed..fed + 12].try_into().unwrap();
                        if let Ok(len) = s.whole_chunk_len(&head) {
                            let end = fed + len as usize;
                            assert!(end <= rest.len(), "a whole chunk past the known length");
                            if s.take_whole(&head, &rest[fed + 12..end]).is_ok() {
                                fed = end;
                                items += 1;
                                continue;
                            }
                        }
                    }
                    let n = (1 + usize::from(params[13]) * 64).min(rest.len() - fed);
                    assert!(n > 0, "the scanner waits past the known length");
                    s.feed(&rest[fed..fed + n]);
                    fed += n;
                }
            }
        }
        assert!(s.work() <= (WORK_PER_BYTE + 2) * fed as u64 + 1024);
        assert!(s.peak_memory() <= 2 * fed + READ_PIECE);
    }
});
