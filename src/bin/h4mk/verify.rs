//! `h4mk verify`: every CRC, leaf, digest and root; every failure listed; exit 1 on any.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use gsth4::crypto::signing::PublicKey;
use gsth4::format::error::Code;
use gsth4::format::merkle::hex;
use gsth4::format::verify::{trust_findings, verify};

use crate::keys::trusted;

use crate::progress::Progress;
use crate::{CliResult, Outcome, read_h4mk};

#[derive(clap::Args)]
pub struct Args {
    /// The H4MK files ("-": standard input)
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print each report as JSON (an array when several files are given)
    #[arg(long)]
    json: bool,
    /// Trust only files signed by this Ed25519 public key (a PEM or DER key file, or a
    /// directory of *.pub files; may be repeated): an unsigned file, a bad signature, another
    /// signer or an unsigned VERI fails
    #[arg(long, value_name = "KEY.pub|DIR")]
    trust: Vec<PathBuf>,
}

/// Verifies every file given; one that cannot be read is reported and the others still are.
pub fn run(a: Args) -> CliResult {
    let trusted = match a.trust.is_empty() {
        true => None,
        false => Some(trusted(&a.trust)?),
    };
    let mut json = Vec::new();
    let (mut problems, mut errors) = (false, false);
    for file in &a.files {
        match verify_one(file, a.json, trusted.as_deref()) {
            Ok((ok, report)) => {
                problems |= !ok;
                json.extend(report);
            }
            Err(e) => {
                eprintln!("h4mk: {e}");
                errors = true;
            }
        }
    }
    if a.json {
        let out = match json.len() {
            1 if a.files.len() == 1 => json.remove(0),
            _ => serde_json::Value::Array(json),
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if errors {
        Outcome::Errors
    } else if problems {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

/// Verifies one file: whether it is intact, and its JSON report when asked for.
fn verify_one(
    file: &Path,
    as_json: bool,
    trusted: Option<&[PublicKey]>,
) -> Result<(bool, Option<serde_json::Value>), Box<dyn std::error::Error>> {
    let input = read_h4mk(file)?;
    let len = std::fs::metadata(file).map_or(0, |m| m.len());
    let mut progress = Progress::new("verify", len);
    let mut report = verify(BufReader::with_capacity(1 << 20, input), |done| {
        progress.update(done)
    })?;
    progress.done();
    if let Some(keys) = trusted {
        report.findings.extend(trust_findings(&report, keys));
    }
    let trust_word = |key: &PublicKey| match trusted {
        None => "not checked against trusted keys",
        Some(keys) if keys.contains(key) => "trusted",
        Some(_) => "NOT trusted",
    };
    let shown = match file.as_os_str() == "-" {
        true => "standard input".to_string(),
        false => file.display().to_string(),
    };
    if as_json {
        let findings: Vec<_> = report
            .findings
            .iter()
            .map(|f| serde_json::json!({"code": f.code.as_str(), "chunk": f.chunk, "offset": f.offset, "message": f.message}))
            .collect();
        let out = serde_json::json!({
            "file": shown,
            "ok": report.is_ok(),
            "bytes": report.bytes,
            "chunks": report.chunks,
            "blocks": report.blocks,
            "checkpoints": report.checkpoints,
            "verified_through": report.verified_through,
            "root": report.root.map(|r| hex(&r)),
            "joined": report.joined.map(|j| serde_json::json!({
                "chunk": j.chunk,
                "offset": j.offset,
                "sender_offset": j.sender_offset,
                "first_block": j.first_block,
                "stated_root": j.stated_root.map(|r| hex(&r)),
            })),
            "signed": report.signed.map(|s| serde_json::json!({
                "algorithm": "ed25519",
                "key_id": s.key.id().to_string(),
                "public_key": hex(&s.key.0),
                "from_block": s.from_block,
                "blocks": s.blocks,
                "from": s.from,
                "through": s.through,
                "whole_file": s.whole_file,
                "trusted": trusted.map(|keys| keys.contains(&s.key)),
            })),
            "findings": findings,
        });
        return Ok((report.is_ok(), Some(out)));
    }
    if report.is_ok() {
        if crate::quiet() {
            return Ok((true, None));
        }
        let root = match (report.root, report.joined.and_then(|j| j.stated_root)) {
            (Some(r), _) => format!("; Merkle root {}", hex(&r)),
            (None, Some(r)) => format!("; Merkle root {} as VERI states it", hex(&r)),
            (None, None) => String::new(),
        };
        println!(
            "{shown}: OK: {} chunks, {} blocks, {} checkpoints, {} bytes{root}",
            report.chunks, report.blocks, report.checkpoints, report.bytes,
        );
        say_joined(&report);
    } else {
        let held = match report.verified_through {
            0 => "no checkpoint holds, so nothing is verified".to_string(),
            end => format!("every other chunk up to byte {end} verified"),
        };
        println!(
            "{shown}: {} problem(s) in {} chunks ({} blocks); {held}",
            report.findings.len(),
            report.chunks,
            report.blocks,
        );
        say_joined(&report);
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
        let mut steps: Vec<String> = report
            .findings
            .iter()
            .filter_map(|f| next_step(f.code, file))
            .collect();
        steps.dedup();
        if !steps.is_empty() {
            println!("next:");
            for step in steps {
                println!("  {step}");
            }
        }
    }
    match report.signed {
        Some(s) => println!(
            "  signed by ed25519 key {} ({}): blocks {} to {} and bytes {} to {}{}",
            s.key.id(),
            trust_word(&s.key),
            s.from_block,
            s.blocks.saturating_sub(1),
            s.from,
            s.through,
            match (s.whole_file, report.joined.is_some()) {
                (true, false) => ", the whole file (VERI signed)",
                (true, true) => ", from the capture's first SIGN to the end (VERI signed)",
                (false, _) => " (through its last signed checkpoint)",
            }
        ),
        None if trusted.is_some() => println!("  not signed"),
        None => {}
    }
    Ok((report.is_ok(), None))
}

/// Where a capture joined its stream and what that leaves unchecked.
fn say_joined(report: &gsth4::format::verify::Report) {
    if let Some(j) = report.joined {
        let sender_byte = j
            .sender_offset
            .map_or(String::new(), |o| format!(", byte {o}"));
        println!(
            "  a capture of a live stream, joined at the sender's chunk {}{sender_byte} (byte {} here), block {}: its blocks are checked against the checkpoints that list them",
            j.chunk, j.offset, j.first_block
        );
        println!(
            "  not checked in a capture: its stream header (file header and META as sent at the join) and the Merkle root (it needs the blocks before the join)"
        );
    }
}

/// What to do about a finding with h4mk, when there is something to do.
fn next_step(code: Code, file: &Path) -> Option<String> {
    let name = match file.as_os_str() == "-" {
        true => "FILE".to_string(),
        false => file.display().to_string(),
    };
    let repaired = match name.strip_suffix(".h4mk") {
        Some(stem) => format!("{stem}.repaired.h4mk"),
        None => format!("{name}.repaired.h4mk"),
    };
    Some(match code {
        Code::ChunkCrcMismatch
        | Code::ChunkSizeLimit
        | Code::ChunkTruncated
        | Code::ChunkMalformed
        | Code::ChunkOrder
        | Code::ChunkUnlisted
        | Code::ChunkDigestMismatch
        | Code::MetaInvalid
        | Code::BlockTrack
        | Code::BlockHashMismatch
        | Code::HashRootMismatch
        | Code::VeriRootMismatch
        | Code::VeriAbsent
        | Code::SeekAbsent
        | Code::SeekEntryMismatch
        | Code::TailMismatch => format!(
            "h4mk repair {name} -o {repaired}   (a copy with every intact block and a new index; \
             blocks the file's own hashes contradict are left out and named)"
        ),
        Code::BlockUnverified => format!(
            "h4mk inspect {name} -v   (the repair record: which writer kept these blocks, from \
             which root)"
        ),
        Code::SignAbsent => format!(
            "h4mk sign {name} -k KEY --in-place   (the signer signs it again; until then it is \
             not vouched for)"
        ),
        Code::SignUntrusted => {
            format!("h4mk verify {name} --trust SIGNER.pub   (if you trust the key that signed it)")
        }
        Code::SignInvalid | Code::Io | Code::FileMagic | Code::FileVersion | Code::InvalidInput => {
            return None;
        }
    })
}
