//! Captures of a live stream: the stream header (file header and META) followed by the sender's
//! chunks from a join point on, as a client that joined late saves them. Verification names
//! the join, checks every block it holds and anchors signatures from the first SIGN it holds.

mod common;

use common::{chunk_map, meta, sample_blocks};
use gsth4::crypto::signing::SigningKey;
use gsth4::format::Code;
use gsth4::format::chunk::encode_chunk;
use gsth4::format::integrity::Checkpoint;
use gsth4::format::meta::{CheckpointPolicy, Signer};
use gsth4::format::repair::{RepairOptions, repair};
use gsth4::format::verify::{Report, verify};
use gsth4::format::writer::Writer;

/// Two tracks of 30 blocks, a checkpoint every 8 blocks; signed when `signed`.
fn stream(signed: bool) -> Vec<u8> {
    let key = SigningKey::from_seed(&[3; 32]).unwrap();
    let mut m = meta(
        2,
        CheckpointPolicy {
            blocks: 8,
            ..CheckpointPolicy::default()
        },
    );
    m.signer = signed.then(|| Signer::of(&key.public()));
    let mut w = Writer::new(Vec::new(), &m).unwrap();
    if signed {
        w.sign_with(key).unwrap();
    }
    for b in sample_blocks(2, 30, 11) {
        w.write_block(&b.spec, &b.data).unwrap();
    }
    w.finish().unwrap().0
}

/// What a client joining at the sender's chunk `join` saves: the stream header, then the
/// stream from that chunk on.
fn capture(stream: &[u8], join: usize) -> Vec<u8> {
    let map = chunk_map(stream);
    let header_end = map[2].1 as usize;
    let mut out = stream[..header_end].to_vec();
    out.extend_from_slice(&stream[map[join].1 as usize..]);
    out
}

fn check(bytes: &[u8]) -> Report {
    verify(bytes, |_| {}).unwrap()
}

/// Leaf (block ordinal) of the sender's chunk `join`, or of the first block after it.
fn first_block_at(stream: &[u8], join: usize) -> u64 {
    chunk_map(stream)[..join]
        .iter()
        .filter(|c| &c.2 == b"CORE" || &c.2 == b"SAFE")
        .count() as u64
}

#[test]
fn a_capture_from_any_block_verifies_and_says_where_it_joined() {
    for signed in [false, true] {
        let s = stream(signed);
        let whole = check(&s);
        assert!(
            whole.is_ok() && whole.joined.is_none(),
            "{:?}",
            whole.findings
        );
        let map = chunk_map(&s);
        let veri = map.iter().position(|c| &c.2 == b"VERI").unwrap();
        let mut joins = 0;
        // Every chunk boundary from the second block to VERI.
        for (join, &(_, offset, tag)) in map.iter().enumerate().take(veri + 1).skip(3) {
            let c = capture(&s, join);
            let r = check(&c);
            let what = format!(
                "signed {signed}, join at chunk {join} ({})",
                String::from_utf8_lossy(&tag)
            );
            assert!(r.is_ok(), "{what}: {:#?}", r.findings);
            let j = r
                .joined
                .unwrap_or_else(|| panic!("{what}: no join reported"));
            assert_eq!(j.chunk, join as u64, "{what}");
            assert_eq!(j.offset, map[2].1, "{what}");
            assert_eq!(j.sender_offset, Some(offset), "{what}");
            assert_eq!(j.first_block, first_block_at(&s, join), "{what}");
            assert_eq!(j.stated_root, whole.root, "{what}");
            assert_eq!(r.root, None, "{what}: a capture cannot recompute the root");
            assert_eq!(r.bytes, c.len() as u64);
            // The first SIGN held anchors the chain; a later one vouches.
            let signs = chunk_map(&c).iter().filter(|x| &x.2 == b"SIGN").count();
            if signed && signs >= 2 {
                let st = r.signed.unwrap_or_else(|| panic!("{what}: not signed"));
                assert!(st.whole_file, "{what}");
                assert_eq!(st.blocks, 60, "{what}");
                // Anchored by the first SIGN held: everything after it is vouched for.
                assert!(st.from_block >= j.first_block, "{what}");
                assert!(st.from_block <= j.first_block + 8 + 1, "{what}: {st:?}");
            } else {
                assert_eq!(r.signed, None);
            }
            joins += 1;
        }
        assert!(joins > 50, "{joins} join points tried");
    }
}

#[test]
fn a_byte_flipped_in_transit_is_named_at_its_place_in_the_capture() {
    let s = stream(true);
    let map = chunk_map(&s);
    // Join at a delta block in the middle of the second checkpoint's range.
    let join = map
        .iter()
        .enumerate()
        .filter(|(_, c)| &c.2 == b"CORE")
        .map(|(i, _)| i)
        .nth(12)
        .unwrap();
    let c = capture(&s, join);
    let cmap = chunk_map(&c);
    let blocks: Vec<_> = cmap
        .iter()
        .enumerate()
        .filter(|(i, c)| &c.2 == b"CORE" && cmap[i + 1].1 - c.1 > 100)
        .map(|(_, c)| *c)
        .collect();
    for nth in [0usize, 5, 20] {
        let (ordinal, offset, _) = blocks[nth];
        // A flip the CRC catches.
        let mut bad = c.clone();
        bad[offset as usize + 40] ^= 0x10;
        let r = check(&bad);
        assert_eq!(
            r.findings
                .iter()
                .map(|f| (f.code, f.chunk, f.offset))
                .collect::<Vec<_>>(),
            vec![(Code::ChunkCrcMismatch, Some(ordinal), Some(offset))],
            "block {nth}: {:#?}",
            r.findings
        );
        assert!(r.joined.is_some());
        // An edit with its CRC made good: the leaf listed for it disagrees.
        let end = cmap[ordinal as usize + 1].1 as usize;
        let chunk = &c[offset as usize..end];
        let mut payload = chunk[12..].to_vec();
        *payload.last_mut().unwrap() ^= 0x10;
        let mut edited = c.clone();
        edited[offset as usize..end].copy_from_slice(&encode_chunk(b"CORE", &payload).unwrap());
        let r = check(&edited);
        let codes: Vec<_> = r
            .findings
            .iter()
            .map(|f| (f.code, f.chunk, f.offset))
            .collect();
        assert_eq!(
            codes[0],
            (Code::BlockHashMismatch, Some(ordinal), Some(offset)),
            "block {nth}: {:#?}",
            r.findings
        );
        assert!(
            codes[1..].iter().all(|c| c.0 == Code::SignInvalid),
            "only the signature over the edit can fail besides: {:#?}",
            r.findings
        );
    }
}

#[test]
fn a_capture_cut_short_says_so_and_what_it_verified() {
    let s = stream(false);
    let c = capture(&s, 20);
    let hashes: Vec<u64> = chunk_map(&c)
        .iter()
        .filter(|c| &c.2 == b"HASH")
        .map(|c| c.1)
        .collect();
    // Cut in the middle of the range after the second HASH held.
    let cut_at = chunk_map(&c)
        .iter()
        .find(|x| x.1 > hashes[1])
        .map(|x| x.1 as usize + 5)
        .unwrap();
    let r = check(&c[..cut_at + 200]);
    assert!(r.joined.is_some());
    let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
    assert!(codes.contains(&Code::VeriAbsent), "{:#?}", r.findings);
    let absent = r
        .findings
        .iter()
        .find(|f| f.code == Code::VeriAbsent)
        .unwrap();
    assert!(
        absent
            .message
            .contains("the capture ends before the stream did"),
        "{absent}"
    );
    assert!(r.verified_through > hashes[1], "{r:?}");
}

#[test]
fn repair_keeps_every_block_of_a_capture() {
    let s = stream(false);
    let map = chunk_map(&s);
    let join = map
        .iter()
        .position(|c| &c.2 == b"CORE" && c.1 > 2000)
        .unwrap();
    let c = capture(&s, join);
    let held = chunk_map(&c).iter().filter(|x| &x.2 == b"CORE").count() as u64;
    let (out, report) = repair(
        std::io::Cursor::new(&c),
        Vec::new(),
        RepairOptions::default(),
    )
    .unwrap();
    assert_eq!(report.kept_blocks, held, "{report:#?}");
    assert!(report.contradicted.is_empty(), "{report:#?}");
    let r = check(&out);
    assert!(r.is_ok() && r.joined.is_none(), "{:#?}", r.findings);
    assert_eq!(r.blocks, held);
}

/// The capture with the `nth` HASH chunk it holds rewritten by `edit` (CRC made good).
fn edit_hash(c: &[u8], nth: usize, edit: impl Fn(&mut Checkpoint)) -> (Vec<u8>, u64, u64) {
    let map = chunk_map(c);
    let i = map
        .iter()
        .enumerate()
        .filter(|(_, x)| &x.2 == b"HASH")
        .nth(nth)
        .unwrap()
        .0;
    let (ordinal, start, end) = (map[i].0, map[i].1 as usize, map[i + 1].1 as usize);
    let mut cp = Checkpoint::decode(&c[start + 12..end]).unwrap();
    edit(&mut cp);
    let mut out = c[..start].to_vec();
    out.extend_from_slice(&cp.encode_chunk().unwrap());
    out.extend_from_slice(&c[end..]);
    (out, ordinal, start as u64)
}

/// The capture with a block in chunks `within` edited (its last byte; CRC made good) and its
/// leaf rewritten to match in the `nth` HASH chunk: a forgery only a signature can catch.
/// Returns the forged capture and the block's position among the capture's blocks.
fn forge(c: &[u8], within: std::ops::Range<usize>, nth: usize) -> (Vec<u8>, u64) {
    let map = chunk_map(c);
    let is_block = |i: usize| &map[i].2 == b"CORE";
    let victim = within
        .clone()
        .find(|&i| is_block(i) && map[i + 1].1 - map[i].1 > 80)
        .unwrap();
    let (vs, ve) = (map[victim].1 as usize, map[victim + 1].1 as usize);
    let mut payload = c[vs + 12..ve].to_vec();
    *payload.last_mut().unwrap() ^= 1;
    let block = encode_chunk(b"CORE", &payload).unwrap();
    let mut forged = c.to_vec();
    forged[vs..ve].copy_from_slice(&block);
    let leaf = gsth4::format::merkle::leaf_hash(&[&block]);
    let hash = (0..map.len())
        .filter(|&i| &map[i].2 == b"HASH")
        .nth(nth)
        .unwrap();
    // The leaves of the blocks from the victim to the HASH end its list.
    let from_end = (victim..hash).filter(|&i| is_block(i)).count();
    let (forged, ..) = edit_hash(&forged, nth, |cp| {
        let n = cp.leaves.len();
        cp.leaves[n - from_end] = leaf;
    });
    (forged, (0..victim).filter(|&i| is_block(i)).count() as u64)
}

#[test]
fn after_the_first_sign_held_a_rewritten_checkpoint_breaks_the_signature() {
    let s = stream(true);
    let join = chunk_map(&s)
        .iter()
        .position(|x| &x.2 == b"CORE" && x.1 > 1500)
        .unwrap();
    let c = capture(&s, join);
    let map = chunk_map(&c);
    let hashes: Vec<usize> = (0..map.len()).filter(|&i| &map[i].2 == b"HASH").collect();
    // In the second HASH's range: the leaves agree, the chain anchored at the first SIGN held
    // does not.
    let (forged, _) = forge(&c, hashes[0]..hashes[1], 1);
    let r = check(&forged);
    let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, vec![Code::SignInvalid], "{:#?}", r.findings);
    assert!(
        r.findings[0].message.contains("signed another history"),
        "{}",
        r.findings[0]
    );
    assert_eq!(
        r.signed, None,
        "no signature vouches for the forged history"
    );

    // The same forgery in the range of the first HASH held cannot be caught: the chain
    // through that HASH starts before the join. The report says the signature vouches only
    // for the blocks after it.
    let (forged, nth_block) = forge(&c, 2..hashes[0], 0);
    let r = check(&forged);
    assert!(r.is_ok(), "{:#?}", r.findings);
    let forged_ordinal = r.joined.unwrap().first_block + nth_block;
    let st = r.signed.unwrap();
    assert!(
        st.from_block > forged_ordinal,
        "the signature must not claim block {forged_ordinal}: {st:?}"
    );
}

#[test]
fn a_checkpoint_that_misstates_where_its_range_starts_is_named() {
    // A capture of an unsigned stream that holds only blocks before its first HASH learns
    // where its chunks stand in the sender's stream from the next HASH (as given): the claim
    // checked is the one after.
    for (bytes, nth, what) in [
        (stream(false), 1, "file"),
        (capture(&stream(false), 30), 2, "capture"),
    ] {
        let (bad, ordinal, offset) = edit_hash(&bytes, nth, |cp| cp.first_offset += 1);
        let r = check(&bad);
        let f: Vec<_> = r
            .findings
            .iter()
            .map(|f| (f.code, f.chunk, f.offset))
            .collect();
        assert_eq!(
            f,
            vec![(Code::ChunkUnlisted, Some(ordinal), Some(offset))],
            "{what}: {:#?}",
            r.findings
        );
        assert!(
            r.findings[0]
                .message
                .contains("says its range starts at byte")
        );
    }
}
