//! `h4mk extract`: one track's block payloads, concatenated in file order.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use gsth4::format::item::{Item, decode};
use gsth4::format::reader::Reader;
use gsth4::format::scan::Step;
use gsth4::format::source::IoSource;

use crate::progress::Progress;
use crate::{CliResult, Outcome, open};

#[derive(clap::Args)]
pub struct Args {
    /// The H4MK file
    file: PathBuf,
    /// Track id (may be left out when the file has one track)
    #[arg(long)]
    track: Option<u32>,
    /// Output file ("-" or absent: standard output)
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(a: Args) -> CliResult {
    let mut r = Reader::open(IoSource::new(open(&a.file)?))?;
    let track = match (a.track, r.meta().tracks.as_slice()) {
        (Some(t), _) if r.meta().track(t).is_some() => t,
        (Some(t), _) => return Err(format!("{} has no track {t}", a.file.display()).into()),
        (None, [only]) => only.id,
        (None, tracks) => {
            let ids: Vec<String> = tracks
                .iter()
                .map(|t| format!("{} ({})", t.id, t.kind.as_str()))
                .collect();
            return Err(format!(
                "{} has {} tracks; choose one with --track: {}",
                a.file.display(),
                tracks.len(),
                ids.join(", ")
            )
            .into());
        }
    };
    let sink: Box<dyn Write> = match &a.output {
        Some(p) if p.as_os_str() != "-" => {
            Box::new(File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?)
        }
        _ => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    let mut damaged = Vec::new();
    let mut masked = None;
    let mut blocks = 0u64;
    let mut write_error = None;
    let mut progress = Progress::new("extract", r.len());
    r.scan_body(|step| {
        match step {
            Step::Chunk(c) => {
                progress.update(c.end());
                if let Ok(Item::Block {
                    masked: m,
                    header,
                    data,
                }) = decode(&c)
                    && header.track == track
                {
                    if m {
                        masked = Some((c.ordinal, c.offset));
                        return Ok(false);
                    }
                    if let Err(e) = out.write_all(data) {
                        write_error = Some(e);
                        return Ok(false);
                    }
                    blocks += 1;
                }
            }
            Step::Damage(d) => damaged.push(d.error),
            _ => {}
        }
        Ok(true)
    })?;
    progress.done();
    if let Some(e) = write_error {
        return Err(Box::new(e));
    }
    out.flush()?;
    if let Some((ordinal, offset)) = masked {
        return Err(format!(
            "track {track} holds masked (SAFE) blocks, starting at chunk {ordinal}, offset {offset}: unmasking them needs a key, which extract does not take; {blocks} clear block(s) were written"
        )
        .into());
    }
    for d in &damaged {
        eprintln!("h4mk: skipped damaged data: {d}");
    }
    eprintln!("h4mk: extracted {blocks} block(s) of track {track}");
    Ok(if damaged.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}
