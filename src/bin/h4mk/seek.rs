//! `h4mk seek`: the keyframe at or before (or after) a time, by binary search of SEEK, and
//! the block it names read and checked (CRC, track, time, leaf hash).

use std::path::PathBuf;

use gsth4::format::reader::Reader;
use gsth4::format::seek::Snap;
use gsth4::format::seek_plan::reference_track;
use gsth4::format::source::IoSource;

use crate::timefmt::{format_ns, format_opt, parse_time};
use crate::{CliResult, Outcome, open_h4mk};

#[derive(clap::Args)]
pub struct Args {
    /// The H4MK file
    file: PathBuf,
    /// Target time from the start of the file: seconds (12.5), H:MM:SS.frac, or with a unit
    /// (1500ms, 40us, 7ns)
    #[arg(value_parser = parse_time, allow_negative_numbers = true)]
    time: u64,
    /// This track's keyframes (default: the first video track with keyframes, else the first
    /// track with any: where players land)
    #[arg(long)]
    track: Option<u32>,
    /// The first keyframe at or after the time instead of the last one at or before it
    #[arg(long)]
    after: bool,
    /// Print as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult {
    let mut r = Reader::open(IoSource::new(open_h4mk(&a.file)?))?;
    if let Some(t) = a.track
        && r.meta().track(t).is_none()
    {
        return Err(format!("{} has no track {t}", a.file.display()).into());
    }
    let track = match a.track {
        Some(t) => t,
        None => {
            let table = r.seek_table()?.clone();
            let meta = r.meta().clone();
            reference_track(&meta, &table)
                .ok_or_else(|| format!("{} has no keyframes to seek to", a.file.display()))?
                .id
        }
    };
    // Past the end of the track: said, not silently answered with its last keyframe.
    let end = r
        .seek_table()?
        .summary(track)
        .and_then(|s| s.end_time)
        .zip(r.meta().track(track))
        .map(|(end, t)| t.stream_time(end));
    let past_end = end.is_some_and(|end| a.time >= end);
    if let Some(end) = end.filter(|_| past_end && !a.json) {
        eprintln!(
            "h4mk: {} is past the end of track {track} ({})",
            format_ns(a.time),
            format_ns(end)
        );
    }
    let snap = if a.after { Snap::After } else { Snap::Before };
    let rel = if a.after {
        "at or after"
    } else {
        "at or before"
    };
    let Some((hit, block)) = r.seek_verified(Some(track), a.time, snap)? else {
        if a.json {
            println!(
                "{}",
                serde_json::json!({"found": false, "time_ns": a.time, "track": track, "past_end": past_end})
            );
        } else {
            println!("no keyframe {rel} {}", format_ns(a.time));
        }
        return Ok(Outcome::Problems);
    };
    let track = r.meta().track(hit.track).cloned();
    let keyframe = track
        .as_ref()
        .map_or(hit.entry.time, |t| t.stream_time(hit.entry.time));
    let checked = if r.is_finished() {
        "CRC and leaf hash verified"
    } else {
        "CRC verified (no leaf table: file not finished)"
    };
    if a.json {
        let out = serde_json::json!({
            "found": true,
            "time_ns": a.time,
            "track": hit.track,
            "keyframe_time_ns": keyframe,
            "keyframe_block_time_ns": hit.entry.time,
            "offset": hit.entry.offset,
            "block_ordinal": hit.entry.ordinal,
            "track_index": block.header.index,
            "pts_ns": block.header.pts,
            "dts_ns": block.header.dts,
            "bytes": block.data.len(),
            "leaf_verified": r.is_finished(),
            "past_end": past_end,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "track {} keyframe {rel} {}: {} (stored pts {}, dts {}), block {} of the track, file block {}, offset {}, {} bytes; {checked}",
            hit.track,
            format_ns(a.time),
            format_ns(keyframe),
            format_opt(block.header.pts),
            format_opt(block.header.dts),
            block.header.index,
            hit.entry.ordinal,
            hit.entry.offset,
            block.data.len()
        );
    }
    Ok(Outcome::Ok)
}
