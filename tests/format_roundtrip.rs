//! Round trip and determinism of the writer and readers.

mod common;

use common::*;
use gsth4::format::block::{BlockFlags, ClipUnit, Clipping};
use gsth4::format::meta::CheckpointPolicy;
use gsth4::format::verify::verify;
use gsth4::format::writer::NewBlock;
use proptest::prelude::*;

fn block_strategy(track_count: u32) -> impl Strategy<Value = Block> {
    let time = prop_oneof![Just(None), (0u64..u64::MAX - 1).prop_map(Some)];
    (
        0..track_count,
        any::<u32>(),
        time.clone(),
        time.clone(),
        time,
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::option::of((any::<bool>(), any::<u64>(), any::<u64>())),
    )
        .prop_map(
            |(track, flags, pts, dts, duration, masked, data, clipping)| Block {
                spec: NewBlock {
                    track,
                    masked,
                    // The clipped bit is stored exactly when there is a record.
                    flags: BlockFlags(
                        flags & !BlockFlags::CLIPPED
                            | if clipping.is_some() {
                                BlockFlags::CLIPPED
                            } else {
                                0
                            },
                    ),
                    pts,
                    dts,
                    duration,
                    clipping: clipping.map(|(samples, start, end)| Clipping {
                        unit: if samples {
                            ClipUnit::Samples
                        } else {
                            ClipUnit::Nanoseconds
                        },
                        start,
                        end,
                    }),
                },
                data,
            },
        )
}

fn stream_strategy() -> impl Strategy<Value = (u32, Vec<Block>, u32)> {
    prop_oneof![Just(1u32), Just(2), Just(3), Just(16)].prop_flat_map(|tracks| {
        (
            Just(tracks),
            proptest::collection::vec(block_strategy(tracks), 0..120),
            1u32..40,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn blocks_read_back_identical_and_bytes_are_deterministic((tracks, blocks, every) in stream_strategy()) {
        let policy = CheckpointPolicy { span_ns: 1_000_000_000, blocks: every, bytes: 4096 };
        let m = meta(tracks, policy);
        let file = write_file(&m, &blocks);
        prop_assert_eq!(&write_file(&m, &blocks), &file, "same input, same bytes");

        let back = read_blocks(&file);
        prop_assert_eq!(back.len(), blocks.len());
        let mut next_index = vec![0u64; tracks as usize];
        for ((index, got), want) in back.iter().zip(&blocks) {
            prop_assert_eq!(got, want);
            prop_assert_eq!(*index, next_index[want.spec.track as usize]);
            next_index[want.spec.track as usize] += 1;
        }
        let report = verify(file.as_slice(), |_| {}).unwrap();
        prop_assert!(report.is_ok(), "{:?}", report.findings);
        prop_assert_eq!(report.blocks, blocks.len() as u64);
        prop_assert!(report.root.is_some());
    }
}

#[test]
fn empty_file_with_no_tracks_is_valid() {
    let m = meta(0, CheckpointPolicy::default());
    let file = write_file(&m, &[]);
    let report = verify(file.as_slice(), |_| {}).unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.blocks, 0);
    // header, META, SEEK, VERI, TAIL
    assert_eq!(
        chunk_map(&file).iter().map(|c| c.2).collect::<Vec<_>>(),
        [*b"H4MK", *b"META", *b"SEEK", *b"VERI", *b"TAIL"]
    );
}

#[test]
fn checkpoints_follow_the_policy() {
    let m = meta(
        2,
        CheckpointPolicy {
            span_ns: 10_000_000_000,
            blocks: 8,
            bytes: 1 << 30,
        },
    );
    let blocks = sample_blocks(2, 20, 5); // 40 blocks
    let file = write_file(&m, &blocks);
    let tags: Vec<[u8; 4]> = chunk_map(&file).iter().map(|c| c.2).collect();
    let hashes: Vec<usize> = tags
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == *b"HASH")
        .map(|(i, _)| i)
        .collect();
    // A HASH after every 8 blocks: 5 of them, the first after chunk 2 + 8 blocks.
    assert_eq!(hashes, [10, 19, 28, 37, 46]);
    // Time span: 1 s at 25 fps per track.
    let m = meta(
        1,
        CheckpointPolicy {
            span_ns: 1_000_000_000,
            blocks: 1000,
            bytes: 1 << 30,
        },
    );
    let file = write_file(&m, &sample_blocks(1, 60, 5));
    let count = chunk_map(&file).iter().filter(|c| c.2 == *b"HASH").count();
    assert_eq!(
        count, 3,
        "blocks 0..=25 (span reaches 1 s), 26..=51, then the rest at finish"
    );
}

#[test]
fn deferred_leaves_give_the_same_bytes_and_a_missing_leaf_is_refused() {
    use gsth4::format::merkle::leaf_hash;
    use gsth4::format::writer::Writer;
    let m = meta(
        3,
        CheckpointPolicy {
            span_ns: 1_000_000_000,
            blocks: 7,
            bytes: 2000,
        },
    );
    let blocks = sample_blocks(3, 30, 9);
    let expected = write_file(&m, &blocks);
    let mut w = Writer::new(Vec::new(), &m).unwrap();
    let mut waiting = Vec::new();
    for b in &blocks {
        let (placement, head) = w.write_block_head(&b.spec, &b.data).unwrap();
        w.get_mut().extend_from_slice(&b.data);
        waiting.push((placement.leaf, leaf_hash(&[&head, &b.data])));
        if w.checkpoint_due() {
            for (leaf, hash) in waiting.drain(..) {
                w.set_leaf(leaf, hash).unwrap();
            }
            w.checkpoint().unwrap();
        }
    }
    for (leaf, hash) in waiting.drain(..) {
        w.set_leaf(leaf, hash).unwrap();
    }
    assert!(
        w.finish().unwrap().0 == expected,
        "deferred leaves changed the bytes"
    );

    let mut w = Writer::new(Vec::new(), &m).unwrap();
    let (p, _) = w
        .write_block_head(&blocks[0].spec, &blocks[0].data)
        .unwrap();
    w.get_mut().extend_from_slice(&blocks[0].data);
    let err = w.checkpoint().unwrap_err();
    assert_eq!(err.code, gsth4::format::Code::InvalidInput);
    assert!(err.message.contains("leaf hash of block 0"), "{err}");
    assert!(w.set_leaf(p.leaf + 1, [0; 32]).is_err());
}
