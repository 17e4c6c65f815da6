//! Small files for the unit tests of the crate: one track, blocks of a pattern.

use crate::format::block::BlockFlags;
use crate::format::meta::{CheckpointPolicy, Meta, Track, TrackKind, WriterIdentity};
use crate::format::writer::NewBlock;

/// META of one video track `id` with caps `video/x-test`.
pub fn one_track_meta(id: u32) -> Meta {
    Meta {
        writer: WriterIdentity {
            name: "t".into(),
            version: "0".into(),
            commit: "0".into(),
        },
        checkpoint: CheckpointPolicy::default(),
        tracks: vec![Track {
            id,
            kind: TrackKind::Video,
            caps: "video/x-test".into(),
            tags: None,
            time_offset: 0,
        }],
        tags: None,
        repaired: None,
        signer: None,
    }
}

/// Block `i` of `track`: at `i` µs, 1 µs long.
pub fn block(track: u32, i: u64, keyframe: bool) -> NewBlock {
    NewBlock {
        track,
        masked: false,
        flags: BlockFlags(if keyframe { BlockFlags::KEYFRAME } else { 0 }),
        pts: Some(i * 1000),
        dts: None,
        duration: Some(1000),
        clipping: None,
    }
}
