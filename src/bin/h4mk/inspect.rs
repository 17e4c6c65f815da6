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

    let mut tracks = Vec::new();
    for t in &meta.tracks {
        let s = table.summary(t.id);
        tracks.push(json!({
            "id": t.id,
            "kind": t.kind.as_str(),
            "caps": t.caps,
            "tags": t.tags,
            "time_offset_ns": t.time_offset,
            "blocks": s.map_or(0, |s| s.block_count),
            "keyframes": s.map_or(0, |s| s.entry_count),
            "first_time_ns": s.and_then(|s| s.first_time).map(|x| t.stream_time(x)),
            "end_time_ns": s.and_then(|s| s.end_time).map(|x| t.stream_time(x)),
        }));
    }

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
        "file": a.file.display().to_string(),
        "bytes": r.len(),
        "version": format!("{}.{}", header.major, header.minor),
        "finished": finished,
        "index_problem": problem,
        "writer": meta.writer,
        "checkpoint": meta.checkpoint,
        "tags": meta.tags,
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
    if let Some(tags) = v["tags"].as_str() {
        println!("tags: {tags}");
    }
    println!("tracks:");
    for tr in v["tracks"].as_array().into_iter().flatten() {
        println!(
            "  {:>3} {:<5} {:>8} blocks {:>7} keyframes  {} .. {}",
            tr["id"],
            tr["kind"].as_str().unwrap_or(""),
            tr["blocks"],
            tr["keyframes"],
            t(&tr["first_time_ns"]),
            t(&tr["end_time_ns"])
        );
        if let Some(offset) = tr["time_offset_ns"].as_i64().filter(|o| *o != 0) {
            println!("      block times are stream time + {offset} ns (the producer's segment)");
        }
        println!("      caps: {}", tr["caps"].as_str().unwrap_or(""));
        if let Some(tags) = tr["tags"].as_str() {
            println!("      tags: {tags}");
        }
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
