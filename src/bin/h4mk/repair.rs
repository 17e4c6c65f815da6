//! `h4mk repair`: rebuild the index and integrity chunks of a file cut short or damaged,
//! keeping every intact block the file's own integrity does not contradict.

use std::io::{BufReader, BufWriter};
use std::path::PathBuf;

use gsth4::format::repair::{RepairOptions, repair};

use crate::progress::{Progress, ProgressReader};
use crate::rewrite::Rewrite;
use crate::{CliResult, Outcome, open_h4mk};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("dest").required(true).args(["output", "in_place"])))]
pub struct Args {
    /// The H4MK file to repair
    file: PathBuf,
    /// Where to write the repaired file
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Replace the file (written beside it first, then renamed over it)
    #[arg(long)]
    in_place: bool,
    /// Keep blocks whose content disagrees with the file's HASH or VERI (edited, or damaged
    /// with a rewritten CRC) instead of leaving them out; the repaired file lists them, and
    /// verify reports each (block.unverified)
    #[arg(long)]
    keep_unverified: bool,
}

pub fn run(a: Args) -> CliResult {
    let file = open_h4mk(&a.file)?;
    let len = file.metadata()?.len();
    let input = ProgressReader::new(
        BufReader::with_capacity(1 << 20, file),
        // Verified first, then copied: the input is read twice.
        Progress::new("repair", 2 * len),
    );
    let rewrite = Rewrite::new(&a.file, a.output.as_deref(), a.in_place, ".repairing")?;
    let out = rewrite.create()?;
    let mut input = input;
    let options = RepairOptions {
        keep_unverified: a.keep_unverified,
    };
    let result = repair(&mut input, BufWriter::with_capacity(4 << 20, out), options);
    input.finish();
    let (out, report) = match result {
        Ok(x) => x,
        Err(e) => {
            rewrite.abandon();
            return Err(Box::new(e));
        }
    };
    let written = rewrite.commit(out.into_inner().map_err(|e| e.into_error())?)?;
    for d in &report.dropped {
        eprintln!("h4mk: left out: {d}");
    }
    if a.keep_unverified {
        for c in &report.contradicted {
            eprintln!(
                "h4mk: kept, listed as unverified: track {} block {} at offset {} (chunk {})",
                c.block.track, c.block.index, c.offset, c.ordinal
            );
        }
    }
    crate::say!(
        "{}: kept {} block(s) of {} input bytes; {} region(s) left out; wrote {} bytes ({} chunks) to {}",
        a.file.display(),
        report.kept_blocks,
        report.bytes_in,
        report.dropped.len(),
        report.summary.bytes,
        report.summary.chunks,
        written.display()
    );
    Ok(Outcome::Ok)
}
