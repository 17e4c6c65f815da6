//! `h4mk inspect --plot`: the file's blocks as a PNG timeline (a lane per track, keyframes,
//! masked blocks, damaged chunks), from one pass over the body.

use std::io::BufWriter;
use std::path::Path;

use gsth4::format::item::{Item, decode};
use gsth4::format::reader::Reader;
use gsth4::format::scan::Step;
use gsth4::format::source::ReadAt;
use gsth4::plot::timeline::{Damage, Lane, Mark, Timeline, render};

use crate::timefmt::format_ns;

/// Draws `r`'s blocks into `out`; returns how many damaged chunks the picture shows.
pub fn write<S: ReadAt>(
    r: &mut Reader<S>,
    name: &str,
    out: &Path,
) -> Result<usize, Box<dyn std::error::Error>> {
    let meta = r.meta().clone();
    let mut lanes: Vec<Lane> = meta
        .tracks
        .iter()
        .map(|t| Lane {
            label: format!("{} {}", t.id, t.kind.as_str()),
            marks: Vec::new(),
        })
        .collect();
    let mut damage = Vec::new();
    let mut last_time = None;
    r.scan_body(|step| {
        match step {
            Step::Chunk(c) => {
                if let Ok(Item::Block {
                    header,
                    data,
                    masked,
                }) = decode(&c)
                    && let Some(i) = meta.tracks.iter().position(|t| t.id == header.track)
                    && let Some(time) = header.time()
                {
                    let time = meta.tracks[i].stream_time(time);
                    lanes[i].marks.push(Mark {
                        time,
                        size: data.len() as u64,
                        keyframe: header.flags.is_keyframe(),
                        masked,
                    });
                    last_time = Some(last_time.map_or(time, |l: u64| l.max(time)));
                }
            }
            Step::Damage(d) => damage.push(Damage {
                time: last_time,
                offset: d.error.offset.unwrap_or(0),
            }),
            _ => {}
        }
        Ok(true)
    })?;
    let blocks: usize = lanes.iter().map(|l| l.marks.len()).sum();
    let end = lanes
        .iter()
        .flat_map(|l| l.marks.iter().map(|m| m.time))
        .max()
        .unwrap_or(0);
    let mut subtitle = format!(
        "{} bytes, {} tracks, {} blocks, {}; {}",
        r.len(),
        lanes.len(),
        blocks,
        format_ns(end),
        if r.is_finished() {
            "finished (SEEK, VERI, TAIL)"
        } else {
            "not finished"
        }
    );
    if !damage.is_empty() {
        let offsets: Vec<String> = damage
            .iter()
            .take(4)
            .map(|d| d.offset.to_string())
            .collect();
        subtitle += &format!(
            "; {} damaged chunk(s) at offset {}{}",
            damage.len(),
            offsets.join(", "),
            if damage.len() > 4 { ", ..." } else { "" }
        );
    }
    let n = damage.len();
    let picture = render(&Timeline {
        title: name.to_string(),
        subtitle,
        lanes,
        damage,
    })
    .map_err(|e| format!("drawing the timeline: {e}"))?;
    picture.write_png(BufWriter::new(std::fs::File::create(out)?))?;
    Ok(n)
}
