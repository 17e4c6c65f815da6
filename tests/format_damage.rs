//! Corruption, truncation and hostile input against the verifier, reader and repair.

mod common;

use common::*;
use gsth4::format::Code;
use gsth4::format::chunk::{CHUNK_HEADER_LEN, MAX_PAYLOAD};
use gsth4::format::meta::CheckpointPolicy;
use gsth4::format::reader::Reader;
use gsth4::format::repair::repair;
use gsth4::format::verify::verify;

fn small_file() -> Vec<u8> {
    let m = meta(
        3,
        CheckpointPolicy {
            span_ns: 1_000_000_000,
            blocks: 4,
            bytes: 1 << 20,
        },
    );
    let mut blocks = sample_blocks(3, 4, 11);
    for b in &mut blocks {
        b.data.truncate(24);
    }
    write_file(&m, &blocks)
}

#[test]
fn every_single_byte_flip_names_its_chunk() {
    let file = small_file();
    let map = chunk_map(&file);
    assert!(map.iter().filter(|c| c.2 == *b"HASH").count() >= 3);
    for i in 0..file.len() {
        check_flip(&file, &map, i, 0x01);
        check_flip(&file, &map, i, 0x80);
    }
}

#[test]
fn random_flips_in_a_larger_file_name_their_chunk() {
    let m = meta(4, CheckpointPolicy::default());
    let file = write_file(&m, &sample_blocks(4, 400, 3));
    assert!(file.len() > 200_000);
    let map = chunk_map(&file);
    let mut rng = Rng(99);
    for _ in 0..300 {
        let i = rng.below(file.len() as u64) as usize;
        check_flip(&file, &map, i, 1 << rng.below(8));
    }
}

#[test]
fn cut_at_any_offset_keeps_every_complete_block_and_repairs() {
    let m = meta(
        2,
        CheckpointPolicy {
            span_ns: 1_000_000_000,
            blocks: 5,
            bytes: 1 << 20,
        },
    );
    let blocks = sample_blocks(2, 12, 21);
    let file = write_file(&m, &blocks);
    let map = chunk_map(&file);
    let block_ends: Vec<usize> = map
        .iter()
        .enumerate()
        .filter(|(_, c)| c.2 == *b"CORE")
        .map(|(k, _)| map.get(k + 1).map_or(file.len(), |n| n.1 as usize))
        .collect();
    let meta_end = map[2].1 as usize;
    for cut in meta_end..file.len() {
        let part = &file[..cut];
        let complete = block_ends.iter().filter(|e| **e <= cut).count();
        let got = read_blocks(part);
        assert_eq!(got.len(), complete, "cut at {cut}");
        for ((_, g), w) in got.iter().zip(&blocks) {
            assert_eq!(g, w, "cut at {cut}");
        }
        let report = verify(part, |_| {}).unwrap();
        assert!(!report.is_ok(), "a cut file at {cut} must not verify");
        assert!(
            report.findings.iter().any(|f| f.code == Code::VeriAbsent
                || f.code == Code::ChunkTruncated
                || f.code == Code::TailMismatch),
            "cut {cut}: {:?}",
            report.findings
        );

        let (fixed, rep) =
            repair(std::io::Cursor::new(part), Vec::new(), Default::default()).unwrap();
        assert_eq!(rep.kept_blocks as usize, complete, "cut at {cut}");
        let after = verify(fixed.as_slice(), |_| {}).unwrap();
        assert!(after.is_ok(), "cut {cut} repaired: {:?}", after.findings);
        let back = read_blocks(&fixed);
        assert_eq!(back.len(), complete);
        for ((_, g), w) in back.iter().zip(&blocks) {
            assert_eq!(g, w);
        }
        // Repair is the same writer: a file cut after its last block comes back as the
        // original writer wrote it, with the repair record added to META.
        let r = Reader::open(fixed.as_slice()).unwrap();
        let record = r.meta().repaired.clone().expect("the repair is recorded");
        assert_eq!(record.from_root, None, "a cut file has no VERI");
        assert!(record.unverified.is_empty());
        if complete == blocks.len() {
            let mut m = r.meta().clone();
            m.repaired = None;
            assert_eq!(m, *Reader::open(file.as_slice()).unwrap().meta());
            let mut with_record = m.clone();
            with_record.repaired = Some(record);
            assert_eq!(
                fixed,
                write_file(&with_record, &blocks),
                "cut at {cut}: a file that lost only its end is rebuilt as written, but for the record"
            );
        }
    }
}

#[test]
fn a_cut_file_verifies_up_to_its_last_checkpoint() {
    let m = meta(
        1,
        CheckpointPolicy {
            span_ns: u64::MAX,
            blocks: 10,
            bytes: 1 << 30,
        },
    );
    let file = write_file(&m, &sample_blocks(1, 35, 1));
    let map = chunk_map(&file);
    let third_hash = map.iter().filter(|c| c.2 == *b"HASH").nth(2).unwrap();
    let cut = map[third_hash.0 as usize + 1].1 as usize + 5; // a little into the next block
    let report = verify(&file[..cut], |_| {}).unwrap();
    assert_eq!(report.verified_through, map[third_hash.0 as usize + 1].1);
    assert_eq!(report.checkpoints, 3);
    let codes: Vec<Code> = report.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, [Code::ChunkTruncated, Code::VeriAbsent]);
}

#[test]
fn tampering_with_a_block_and_its_crc_is_caught_by_the_leaf_table() {
    let m = meta(1, CheckpointPolicy::default());
    let mut file = write_file(&m, &sample_blocks(1, 20, 8));
    let map = chunk_map(&file);
    let (ordinal, offset, _) = map[4]; // a block with data (block 3 of the sample is empty)
    let start = offset as usize;
    let size = u32::from_le_bytes(file[start + 4..start + 8].try_into().unwrap()) as usize;
    let last = start + CHUNK_HEADER_LEN + size - 1;
    file[last] ^= 0xff;
    let mut h = crc32fast::Hasher::new();
    h.update(&file[start..start + 8]);
    h.update(&file[start + 12..start + 12 + size]);
    let crc = h.finalize();
    file[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    let report = verify(file.as_slice(), |_| {}).unwrap();
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(report.findings[0].code, Code::BlockHashMismatch);
    assert_eq!(report.findings[0].chunk, Some(ordinal));
}

#[test]
fn hostile_headers_fail_fast_without_allocating() {
    let good = small_file();
    let open = |b: &[u8]| Reader::open(b).err().map(|e| e.code);

    let mut bad = good.clone();
    bad[0..4].copy_from_slice(b"RIFF");
    assert_eq!(open(&bad), Some(Code::FileMagic));

    // Version 2.0 with a valid CRC: refused as a version, not as damage.
    let mut v2 = gsth4::format::header::FileHeader {
        major: 2,
        minor: 0,
        flags: 0,
    }
    .encode_chunk();
    v2.extend_from_slice(&good[20..]);
    assert_eq!(open(&v2), Some(Code::FileVersion));

    // META claiming 4 GiB, and one claiming just under the limit in a tiny file.
    for size in [u32::MAX, MAX_PAYLOAD] {
        let mut huge = good[..20].to_vec();
        huge.extend_from_slice(b"META");
        huge.extend_from_slice(&size.to_le_bytes());
        huge.extend_from_slice(&[0; 4]);
        let want = if size > MAX_PAYLOAD {
            Code::ChunkSizeLimit
        } else {
            Code::ChunkTruncated
        };
        assert_eq!(open(&huge), Some(want));
        let report = verify(huge.as_slice(), |_| {}).unwrap();
        assert_eq!(report.findings[0].code, want);
    }

    // A TAIL that points backwards into itself (a loop) or past the end.
    let tail_at = good.len() - 36;
    for (seek, veri) in [
        (tail_at as u64, 0u64),
        (u64::MAX, u64::MAX),
        (0, tail_at as u64 + 1),
    ] {
        let mut t = good[..tail_at].to_vec();
        t.extend(
            gsth4::format::tail::Tail {
                seek_offset: seek,
                veri_offset: veri,
                file_len: good.len() as u64,
            }
            .encode_chunk(),
        );
        let r = Reader::open(t.as_slice()).unwrap();
        assert!(!r.is_finished());
        assert_eq!(r.index_problem().map(|e| e.code), Some(Code::TailMismatch));
    }

    // Empty input, and only a header.
    assert_eq!(open(&[]), Some(Code::ChunkTruncated));
    assert_eq!(open(&good[..20]), Some(Code::ChunkTruncated));
    assert_eq!(
        verify(&[][..], |_| {}).unwrap().findings[0].code,
        Code::VeriAbsent
    );
}

/// Rewrites the payload byte at `at` of the chunk starting at `chunk` and fixes its CRC, as a
/// deliberate editor would.
fn edit_and_reseal(f: &mut [u8], chunk: usize, at: usize, value: u8) {
    f[at] = value;
    let h = gsth4::format::chunk::ChunkHeader::parse(f[chunk..chunk + 12].try_into().unwrap());
    let end = chunk + h.chunk_len() as usize;
    let crc = gsth4::format::chunk::chunk_crc(&h.tag, h.size, &[&f[chunk + 12..end]]);
    f[chunk + 8..chunk + 12].copy_from_slice(&crc.to_le_bytes());
}

/// Findings about SEEK entries and VERI's HASH directory say what differs, in words: no Rust
/// debug text, and no "lists 6; the file has 6".
#[test]
fn index_and_directory_findings_say_what_differs() {
    let f = small_file();
    let n = f.len();
    let tail = gsth4::format::tail::Tail::check(&f[n - 36..], n as u64)
        .unwrap()
        .unwrap();
    // The first SEEK entry's time, one nanosecond later.
    let s = tail.seek_offset as usize;
    let tracks = u32::from_le_bytes(f[s + 12..s + 16].try_into().unwrap()) as usize;
    let entry = s + 12 + 8 + 48 * tracks;
    let mut g = f.clone();
    edit_and_reseal(&mut g, s, entry, f[entry].wrapping_add(1));
    let report = verify(g.as_slice(), |_| {}).unwrap();
    let seek: Vec<_> = report
        .findings
        .iter()
        .filter(|e| e.code == Code::SeekEntryMismatch)
        .collect();
    assert_eq!(seek.len(), 1, "{:?}", report.findings);
    let msg = &seek[0].message;
    assert!(msg.contains("SEEK has a keyframe at 1 ns"), "{msg}");
    assert!(msg.contains("the blocks give a keyframe at 0 ns"), "{msg}");
    assert!(!msg.contains("Some("), "{msg}");
    // The first piece of VERI's HASH directory pointing one byte off.
    let v = tail.veri_offset as usize;
    let others = u32::from_le_bytes(f[v + 12 + 32..v + 12 + 36].try_into().unwrap()) as usize;
    let piece_offset = v + 12 + 72 + 56 * others + 16;
    let mut g = f.clone();
    edit_and_reseal(&mut g, v, piece_offset, f[piece_offset] ^ 1);
    let report = verify(g.as_slice(), |_| {}).unwrap();
    let dir: Vec<_> = report
        .findings
        .iter()
        .filter(|e| e.message.contains("HASH directory"))
        .collect();
    assert_eq!(dir.len(), 1, "{:?}", report.findings);
    let msg = &dir[0].message;
    assert!(msg.contains("first at entry 0"), "{msg}");
    assert!(
        !msg.contains("lists 6 HASH chunks; the file has 6"),
        "{msg}"
    );
}
