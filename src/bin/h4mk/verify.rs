//! `h4mk verify`: every CRC, leaf, digest and root; every failure listed; exit 1 on any.

use std::io::BufReader;
use std::path::PathBuf;

use gsth4::format::merkle::hex;
use gsth4::format::verify::verify;

use crate::progress::Progress;
use crate::{CliResult, Outcome, open_h4mk};

#[derive(clap::Args)]
pub struct Args {
    /// The H4MK file
    file: PathBuf,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult {
    let f = open_h4mk(&a.file)?;
    let len = f.metadata()?.len();
    let mut progress = Progress::new("verify", len);
    let report = verify(BufReader::with_capacity(1 << 20, f), |done| {
        progress.update(done)
    })?;
    progress.done();
    if a.json {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| serde_json::json!({"code": f.code.as_str(), "chunk": f.chunk, "offset": f.offset, "message": f.message}))
            .collect();
        let out = serde_json::json!({
            "file": a.file.display().to_string(),
            "ok": report.is_ok(),
            "bytes": report.bytes,
            "chunks": report.chunks,
            "blocks": report.blocks,
            "checkpoints": report.checkpoints,
            "verified_through": report.verified_through,
            "root": report.root.map(|r| hex(&r)),
            "findings": findings,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if report.is_ok() {
        println!(
            "{}: OK: {} chunks, {} blocks, {} checkpoints, {} bytes; Merkle root {}",
            a.file.display(),
            report.chunks,
            report.blocks,
            report.checkpoints,
            report.bytes,
            report.root.map(|r| hex(&r)).unwrap_or_default()
        );
    } else {
        println!(
            "{}: {} problem(s) in {} chunks ({} blocks); bytes 0..{} verified",
            a.file.display(),
            report.findings.len(),
            report.chunks,
            report.blocks,
            report.verified_through
        );
        for f in &report.findings {
            let chunk = f.chunk.map_or_else(|| "-".into(), |c| c.to_string());
            let offset = f.offset.map_or_else(|| "-".into(), |o| o.to_string());
            println!(
                "  {:<22} chunk {:>8}  offset {:>12}  {}",
                f.code.as_str(),
                chunk,
                offset,
                f.message
            );
        }
    }
    Ok(if report.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}
