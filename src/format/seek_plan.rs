//! Where playback restarts for a seek: the keyframe to land on, and the byte offset from which
//! every audio and video track can decode.

use crate::format::error::{Code, Error, Result};
use crate::format::meta::{Meta, Track, TrackKind};
use crate::format::seek::{SeekHit, SeekTable, Snap};

/// Which keyframe of the reference track a seek lands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    /// The last keyframe at or before the target (also used to start accurate seeks).
    Before,
    /// The first keyframe at or after it (the last one when there is none after).
    After,
    /// Whichever of the two is closer; the earlier on a tie.
    Nearest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekPlan {
    /// The reference track: the first video track with keyframes, else the first with any.
    pub track: u32,
    /// Stream time of the keyframe landed on.
    pub keyframe: u64,
    /// Where that keyframe's block starts.
    pub keyframe_offset: u64,
    /// Where to read from: no later than that keyframe and than the keyframe at or before it
    /// of every other audio and video track.
    pub offset: u64,
}

/// The track seeks land on: the first video track with keyframes, else the first track with
/// any (the demuxer's and `h4mk seek`'s one rule).
pub fn reference_track<'a>(meta: &'a Meta, table: &SeekTable) -> Option<&'a Track> {
    let has_keyframes = |id: u32| table.summary(id).is_some_and(|s| s.entry_count > 0);
    meta.tracks
        .iter()
        .find(|t| t.kind == TrackKind::Video && has_keyframes(t.id))
        .or_else(|| meta.tracks.iter().find(|t| has_keyframes(t.id)))
}

/// Plans a seek to stream time `target`. `find` looks a keyframe up by block time in one
/// track (the reader's or an in-memory index).
pub fn plan(
    meta: &Meta,
    table: &SeekTable,
    target: u64,
    landing: Landing,
    mut find: impl FnMut(u32, u64, Snap) -> Result<Option<SeekHit>>,
) -> Result<SeekPlan> {
    let reference = reference_track(meta, table)
        .ok_or_else(|| Error::new(Code::SeekAbsent, "the index holds no keyframes"))?;
    let raw = reference.block_time(target);
    let before = find(reference.id, raw, Snap::Before)?;
    let after = find(reference.id, raw, Snap::After)?;
    let hit = match landing {
        Landing::Nearest => match (before, after) {
            (Some(b), Some(a)) => Some(if raw - b.entry.time <= a.entry.time - raw {
                b
            } else {
                a
            }),
            (b, a) => b.or(a),
        },
        Landing::After => after.or(before),
        Landing::Before => before.or(after),
    }
    .ok_or_else(|| Error::new(Code::SeekAbsent, "no keyframe found"))?;
    let keyframe = reference.stream_time(hit.entry.time);
    let mut offset = hit.entry.offset;
    for t in meta
        .tracks
        .iter()
        .filter(|t| t.id != reference.id && matches!(t.kind, TrackKind::Video | TrackKind::Audio))
    {
        if let Some(h) = find(t.id, t.block_time(keyframe), Snap::Before)? {
            offset = offset.min(h.entry.offset);
        }
    }
    Ok(SeekPlan {
        track: reference.id,
        keyframe,
        keyframe_offset: hit.entry.offset,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::chunk::CHUNK_HEADER_LEN;
    use crate::format::meta::Track;
    use crate::format::seek::SeekIndexBuilder;

    const S: u64 = 1_000_000_000;

    /// Data track 0 (keyframes every 0.5 s), video track 1 on a +10 s base (keyframes every
    /// 2 s), audio track 2 (every 20 ms); offsets grow with time.
    fn setup() -> (Meta, SeekTable, Vec<u8>) {
        let track = |id, kind, time_offset| Track {
            id,
            kind,
            caps: String::new(),
            tags: None,
            time_offset,
        };
        let meta = Meta::new(vec![
            track(0, TrackKind::Data, 0),
            track(1, TrackKind::Video, 10 * S as i64),
            track(2, TrackKind::Audio, 0),
        ]);
        let mut b = SeekIndexBuilder::new([0, 1, 2]);
        let mut ordinal = 0;
        for ms in (0..20_000u64).step_by(20) {
            let t = ms * 1_000_000;
            let offset = ms * 100;
            if ms % 500 == 0 {
                b.note_block(0, Some(t), None, true, offset, ordinal);
                ordinal += 1;
            }
            if ms % 40 == 0 {
                b.note_block(
                    1,
                    Some(10 * S + t),
                    None,
                    ms % 2000 == 0,
                    offset + 10,
                    ordinal,
                );
                ordinal += 1;
            }
            b.note_block(2, Some(t), None, true, offset + 20, ordinal);
            ordinal += 1;
        }
        let chunk = b.encode_chunk().unwrap();
        let payload = chunk[CHUNK_HEADER_LEN..].to_vec();
        (meta, SeekTable::from_payload(&payload).unwrap(), payload)
    }

    fn run(target: u64, landing: Landing) -> SeekPlan {
        let (meta, table, payload) = setup();
        plan(&meta, &table, target, landing, |t, time, snap| {
            table.find_in_track(&mut payload.as_slice(), t, time, snap)
        })
        .unwrap()
    }

    #[test]
    fn lands_on_the_video_track_in_stream_time() {
        let p = run(5_300_000_000, Landing::Before);
        assert_eq!((p.track, p.keyframe), (1, 4 * S));
        assert_eq!(run(5_300_000_000, Landing::After).keyframe, 6 * S);
        assert_eq!(run(5_300_000_000, Landing::Nearest).keyframe, 6 * S);
        assert_eq!(run(4_900_000_000, Landing::Nearest).keyframe, 4 * S);
        assert_eq!(
            run(5 * S, Landing::Nearest).keyframe,
            4 * S,
            "ties go to the earlier"
        );
        // Past the last keyframe, After falls back to it.
        assert_eq!(run(19_500_000_000, Landing::After).keyframe, 18 * S);
    }

    #[test]
    fn reads_from_where_audio_can_start_too_but_ignores_data() {
        // Video keyframe at 4 s is at offset 400_010; audio at 4 s is at 400_020; the data
        // track's keyframe at 4 s (offset 400_000) does not pull the offset back.
        let p = run(4_100_000_000, Landing::Before);
        assert_eq!((p.offset, p.keyframe_offset), (400_010, 400_010));
        let p = run(16_000_000_000, Landing::Before);
        assert_eq!(p.keyframe, 16 * S);
        assert_eq!(p.keyframe_offset, 1_600_010);
    }

    #[test]
    fn no_keyframes_is_an_error() {
        let (meta, _, _) = setup();
        let empty = SeekIndexBuilder::new([0, 1, 2]).encode_chunk().unwrap();
        let table = SeekTable::from_payload(&empty[CHUNK_HEADER_LEN..]).unwrap();
        let err = plan(&meta, &table, 0, Landing::Before, |_, _, _| Ok(None)).unwrap_err();
        assert_eq!(err.code, Code::SeekAbsent);
    }
}
