//! `h4mk inspect`: what a file holds, from its header, META and index; `--chunks` and
//! `--keyframes` add full listings (the chunk table needs one pass over the file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use gsth4::format::chunk::{is_block_tag, tag_name};
use gsth4::format::item::{Item, decode};
use gsth4::format::merkle::hex;
use gsth4::format::reader::Reader;
use gsth4::format::scan::Step;
use gsth4::format::source::IoSource;
use serde_json::{Value, json};

use crate::describe;
use crate::timefmt::format_ns;
use crate::{CliResult, Outcome, open_h4mk};

#[derive(clap::Args)]
pub struct Args {
    /// The H4MK file
    file: PathBuf,
    /// Print as JSON
    #[arg(long)]
    json: bool,
    /// List every chunk (ordinal, offset, tag, size; track, index, times and flags of blocks)
    #[arg(long)]
    chunks: bool,
    /// List every keyframe in the SEEK index
    #[arg(long)]
    keyframes: bool,
    /// Also draw the blocks as a PNG timeline (lanes per track, keyframes, masked blocks,
    /// damaged chunks) to this file
    #[arg(long, value_name = "PNG")]
    plot: Option<PathBuf>,
}

pub fn run(a: Args) -> CliResult {
    let mut r = Reader::open(IoSource::new(open_h4mk(&a.file)?))?;
    let header = *r.header();
    let meta = r.meta().clone();
    let finished = r.is_finished();
    let problem = r.index_problem().map(|e| e.to_string());
    let tail = r.tail().copied();
    let table = r.seek_table()?.clone();
    let veri = if finished {
        Some(r.veri()?.clone())
    } else {
        None
    };

    gst::init()?;
    let data_bytes = r.data_bytes_per_track()?;
    let mut tracks = Vec::new();
    let (mut file_start, mut file_end) = (u64::MAX, 0u64);
    for t in &meta.tracks {
        let s = table.summary(t.id);
        let first = s.and_then(|s| s.first_time).map(|x| t.stream_time(x));
        let end = s.and_then(|s| s.end_time).map(|x| t.stream_time(x));
        let duration = first.zip(end).map(|(a, b)| b.saturating_sub(a));
        if let (Some(a), Some(b)) = (first, end) {
            file_start = file_start.min(a);
            file_end = file_end.max(b);
        }
        let bytes = data_bytes
            .as_ref()
            .map(|b| b.get(&t.id).copied().unwrap_or(0));
        let caps = t.caps.parse::<gst::Caps>().ok();
        let m = caps.as_ref().map(describe::media);
        let m = m.as_ref();
        tracks.push(json!({
            "id": t.id,
            "kind": t.kind.as_str(),
            "codec": m.map(|m| m.codec.clone()),
            "masked": t.caps.starts_with(gsth4::convert::MASKED_CAPS),
            "width": m.and_then(|m| m.width),
            "height": m.and_then(|m| m.height),
            "framerate": m.and_then(|m| m.framerate).map(|f| json!({"num": f.numer(), "den": f.denom()})),
            "sample_rate": m.and_then(|m| m.rate),
            "channels": m.and_then(|m| m.channels),
            "blocks": s.map_or(0, |s| s.block_count),
            "keyframes": s.map_or(0, |s| s.entry_count),
            "data_bytes": bytes,
            "bitrate": bitrate(bytes, duration),
            "first_time_ns": first,
            "end_time_ns": end,
            "duration_ns": duration,
            "time_offset_ns": t.time_offset,
            "caps": caps.as_ref().map_or(Value::Null, describe::caps_json),
            "caps_string": t.caps,
            "tags": t.tags.as_deref().map(describe::tags_json),
        }));
    }
    let duration =
        (file_end >= file_start && file_start != u64::MAX).then(|| file_end - file_start);

    let mut keyframes = Vec::new();
    if a.keyframes {
        for t in &table.tracks {
            for i in t.first_entry..t.first_entry + t.entry_count {
                let e = r.seek_entry(i)?;
                keyframes.push(json!({"track": t.track, "time_ns": e.time, "offset": e.offset, "ordinal": e.ordinal}));
            }
        }
    }

    let mut chunk_rows = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut damaged = Vec::new();
    if a.chunks {
        r.scan_body(|step| {
            match step {
                Step::Chunk(c) => {
                    *counts.entry(tag_name(&c.header.tag)).or_default() += 1;
                    let mut row = json!({"ordinal": c.ordinal, "offset": c.offset, "tag": tag_name(&c.header.tag), "size": c.header.size});
                    if is_block_tag(&c.header.tag)
                        && let Ok(Item::Block { header: h, .. }) = decode(&c) {
                            row["track"] = json!(h.track);
                            row["index"] = json!(h.index);
                            row["pts_ns"] = json!(h.pts);
                            row["dts_ns"] = json!(h.dts);
                            row["duration_ns"] = json!(h.duration);
                            row["flags"] = json!(h.flags.names());
                        }
                    chunk_rows.push(row);
                }
                Step::Damage(d) => damaged.push(d.error.to_string()),
                _ => {}
            }
            Ok(true)
        })?;
    }

    let out = json!({
        "schema": SCHEMA,
        "file": a.file.display().to_string(),
        "bytes": r.len(),
        "duration_ns": duration,
        "bitrate": bitrate(Some(r.len()), duration),
        "version": format!("{}.{}", header.major, header.minor),
        "finished": finished,
        "index_problem": problem,
        "writer": meta.writer,
        "checkpoint": meta.checkpoint,
        "tags": meta.tags.as_deref().map(describe::tags_json),
        "signer": meta.signer.as_ref().map(|s| s.key_id.clone()),
        "tracks": tracks,
        "seek": tail.map(|t| json!({"offset": t.seek_offset, "entries": table.entry_total()})),
        "veri": veri.as_ref().map(|v| json!({
            "offset": tail.map(|t| t.veri_offset),
            "blocks": v.leaf_count,
            "root": hex(&v.root),
            "hash_chunks": v.pieces.len(),
        })),
        "chunk_counts": if a.chunks { json!(counts) } else { Value::Null },
        "chunks": if a.chunks { json!(chunk_rows) } else { Value::Null },
        "damaged": if a.chunks { json!(damaged) } else { Value::Null },
        "keyframes": if a.keyframes { json!(keyframes) } else { Value::Null },
    });
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_human(&out);
    }
    if let Some(png) = &a.plot {
        let name = a.file.file_name().map_or_else(
            || a.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let damaged = crate::plot::write(&mut r, &name, png)?;
        eprintln!(
            "h4mk: timeline written to {} ({damaged} damaged chunk(s) shown)",
            png.display()
        );
    }
    Ok(Outcome::Ok)
}

/// The name and version of the JSON layout, documented in docs/CLI.md and docs/inspect.schema.json.
pub const SCHEMA: &str = "h4mk-inspect/1";

/// Bits per second of `bytes` over `duration` ns.
fn bitrate(bytes: Option<u64>, duration: Option<u64>) -> Option<u64> {
    let (b, d) = (bytes?, duration.filter(|d| *d > 0)?);
    Some((u128::from(b) * 8 * 1_000_000_000 / u128::from(d)) as u64)
}

fn rate(bits: &Value) -> Option<String> {
    let b = bits.as_u64()?;
    Some(if b >= 1_000_000 {
        format!("{:.2} Mbit/s", b as f64 / 1e6)
    } else {
        format!("{:.0} kbit/s", b as f64 / 1e3)
    })
}

fn print_human(v: &Value) {
    let t = |x: &Value| x.as_u64().map_or_else(|| "none".to_string(), format_ns);
    println!(
        "{}: {} bytes, H4MK {}",
        v["file"].as_str().unwrap_or(""),
        v["bytes"],
        v["version"].as_str().unwrap_or("")
    );
    let w = &v["writer"];
    println!(
        "writer: {} {} (commit {})",
        w["name"].as_str().unwrap_or(""),
        w["version"].as_str().unwrap_or(""),
        w["commit"].as_str().unwrap_or("")
    );
    if v["finished"].as_bool() == Some(true) {
        println!(
            "index: SEEK at {} ({} keyframes), VERI at {} ({} blocks, {} HASH chunks, root {})",
            v["seek"]["offset"],
            v["seek"]["entries"],
            v["veri"]["offset"],
            v["veri"]["blocks"],
            v["veri"]["hash_chunks"],
            v["veri"]["root"].as_str().unwrap_or("")
        );
    } else {
        println!(
            "index: not finished ({}); keyframes found by scanning",
            v["index_problem"].as_str().unwrap_or("no TAIL")
        );
    }
    let mut overall = vec![format!("duration {}", t(&v["duration_ns"]))];
    overall.extend(rate(&v["bitrate"]).map(|r| format!("{r} overall")));
    overall.extend(
        v["signer"]
            .as_str()
            .map(|k| format!("signed by ed25519 key {k}")),
    );
    println!("{}", overall.join(", "));
    let verbose = crate::verbose() > 0;
    if let Some(tags) = v["tags"].as_object().filter(|t| !t.is_empty()) {
        println!("tags: {}", tag_line(tags, verbose));
    }
    println!("tracks:");
    for tr in v["tracks"].as_array().into_iter().flatten() {
        let mut what = vec![tr["codec"].as_str().unwrap_or("unknown codec").to_string()];
        if tr["masked"].as_bool() == Some(true) {
            what[0] += " (masked)";
        }
        if let (Some(w), Some(h)) = (tr["width"].as_i64(), tr["height"].as_i64()) {
            what.push(format!("{w}x{h}"));
        }
        if let (Some(n), Some(d)) = (
            tr["framerate"]["num"].as_i64(),
            tr["framerate"]["den"].as_i64(),
        ) {
            what.push(format!("{} fps", trim(n as f64 / d as f64)));
        }
        if let Some(r) = tr["sample_rate"].as_i64() {
            what.push(format!("{r} Hz"));
        }
        if let Some(c) = tr["channels"].as_i64() {
            what.push(format!("{c} channel{}", if c == 1 { "" } else { "s" }));
        }
        what.extend(rate(&tr["bitrate"]));
        println!(
            "  {:>3} {:<5} {}",
            tr["id"],
            tr["kind"].as_str().unwrap_or(""),
            what.join(", ")
        );
        println!(
            "            {} .. {} ({}), {}, {}",
            t(&tr["first_time_ns"]),
            t(&tr["end_time_ns"]),
            t(&tr["duration_ns"]),
            count(&tr["blocks"], "block"),
            count(&tr["keyframes"], "keyframe")
        );
        if verbose {
            if let Some(offset) = tr["time_offset_ns"].as_i64().filter(|o| *o != 0) {
                println!(
                    "            block times are stream time + {offset} ns (the producer's segment)"
                );
            }
            println!(
                "            caps: {}",
                tr["caps_string"].as_str().unwrap_or("")
            );
            if let Some(tags) = tr["tags"].as_object().filter(|t| !t.is_empty()) {
                println!("            tags: {}", tag_line(tags, true));
            }
        }
    }
    if !verbose {
        println!("(-v: full caps and tags)");
    }
    if let Some(counts) = v["chunk_counts"].as_object() {
        let list: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("chunks after META: {}", list.join(", "));
        for c in v["chunks"].as_array().into_iter().flatten() {
            let mut line = format!(
                "  {:>8} @{:>12} {} {:>9} B",
                c["ordinal"],
                c["offset"],
                c["tag"].as_str().unwrap_or(""),
                c["size"]
            );
            if c.get("track").is_some() {
                let flags: Vec<&str> = c["flags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .collect();
                line += &format!(
                    "  track {} #{} pts {} dts {} dur {} {}",
                    c["track"],
                    c["index"],
                    t(&c["pts_ns"]),
                    t(&c["dts_ns"]),
                    t(&c["duration_ns"]),
                    flags.join(",")
                );
            }
            println!("{line}");
        }
        for d in v["damaged"].as_array().into_iter().flatten() {
            println!("  damaged: {}", d.as_str().unwrap_or(""));
        }
    }
    if let Some(k) = v["keyframes"].as_array() {
        println!("keyframes:");
        for e in k {
            println!(
                "  track {:>3} {} offset {:>12} block {}",
                e["track"],
                t(&e["time_ns"]),
                e["offset"],
                e["ordinal"]
            );
        }
    }
}

/// A number without trailing zeros (29.97, 30, 23.976).
fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Tags on one line: all of them with `-v`, else the ones people look for.
fn tag_line(tags: &serde_json::Map<String, Value>, all: bool) -> String {
    const SHOWN: [&str; 6] = [
        "title",
        "artist",
        "album",
        "datetime",
        "comment",
        "language-code",
    ];
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let parts: Vec<String> = tags
        .iter()
        .filter(|(k, _)| all || SHOWN.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", text(v)))
        .collect();
    if parts.is_empty() {
        format!("{} tag(s)", tags.len())
    } else {
        parts.join(", ")
    }
}

/// "1 block", "60 blocks".
fn count(n: &Value, what: &str) -> String {
    let n = n.as_u64().unwrap_or(0);
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
