//! `h4mk prove` and `h4mk check-proof`: one block with its inclusion proof to the (signed) root,
//! checked without the file.

use std::io::Write;
use std::path::PathBuf;

use gsth4::format::merkle::hex;
use gsth4::format::proof::{Proof, Which, check_proof, prove};
use gsth4::format::reader::Reader;
use gsth4::format::source::IoSource;

use crate::keys::trusted;
use crate::timefmt::{format_opt, parse_time};
use crate::{CliResult, Outcome, open_h4mk};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["block", "time"])))]
pub struct Args {
    /// The H4MK file (finished: it has VERI)
    file: PathBuf,
    /// The block by its ordinal in the file (0 for the first block, whatever its track)
    #[arg(long)]
    block: Option<u64>,
    /// The block of --track presenting at this time: seconds (12.5), H:MM:SS.frac, or with a
    /// unit (1500ms)
    #[arg(long, value_parser = parse_time, requires = "track")]
    time: Option<u64>,
    /// The track of --time
    #[arg(long)]
    track: Option<u32>,
    /// Write the proof (JSON) here instead of standard output
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(a: Args) -> CliResult {
    let mut r = Reader::open(IoSource::new(open_h4mk(&a.file)?))?;
    let which = match (a.block, a.time, a.track) {
        (Some(n), _, _) => Which::Ordinal(n),
        (None, Some(time), Some(track)) => Which::Time { track, time },
        _ => unreachable!("clap requires --block or --time with --track"),
    };
    let proof = prove(&mut r, which).map_err(|e| format!("{}: {e}", a.file.display()))?;
    let json = serde_json::to_string_pretty(&proof)?;
    match &a.output {
        Some(path) => std::fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => writeln!(std::io::stdout().lock(), "{json}")?,
    }
    if a.output.is_some() {
        let b = &proof.block;
        crate::say!(
            "block {} (track {} index {}, PTS {}): {} audit path hash(es) to the root {} over {} blocks, {}",
            b.ordinal,
            b.track,
            b.index,
            format_opt(b.pts),
            proof.inclusion.audit_path.len(),
            proof.inclusion.root,
            proof.inclusion.tree_size,
            match &proof.signature {
                Some(s) => format!("signed by ed25519 key {}", s.key_id),
                None => "not signed".into(),
            }
        );
    }
    Ok(Outcome::Ok)
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The proof (JSON from h4mk prove; "-": standard input)
    proof: PathBuf,
    /// Require the root to be signed by this Ed25519 public key (a key file, or a directory of
    /// *.pub files; may be repeated)
    #[arg(long, value_name = "KEY.pub|DIR")]
    trust: Vec<PathBuf>,
    /// Write the proven block's data (its payload) here
    #[arg(long)]
    data: Option<PathBuf>,
}

pub fn check_run(a: CheckArgs) -> CliResult {
    let keys = match a.trust.is_empty() {
        true => None,
        false => Some(trusted(&a.trust)?),
    };
    let text = match a.proof.as_os_str() == "-" {
        true => std::io::read_to_string(std::io::stdin())?,
        false => std::fs::read_to_string(&a.proof)
            .map_err(|e| format!("cannot read {}: {e}", a.proof.display()))?,
    };
    let shown = a.proof.display();
    let proof: Proof =
        serde_json::from_str(&text).map_err(|e| format!("{shown} is not a proof: {e}"))?;
    let checked = match check_proof(&proof) {
        Ok(c) => c,
        Err(e) => {
            println!("{shown}: FAILED: {e}");
            return Ok(Outcome::Problems);
        }
    };
    if let Some(path) = &a.data {
        std::fs::write(path, &checked.data)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let h = &checked.header;
    let trust = match (checked.signer, &keys) {
        (Some(k), Some(keys)) if keys.contains(&k) => {
            Ok(format!("signed by ed25519 key {} (trusted)", k.id()))
        }
        (Some(k), Some(_)) => Err(format!(
            "signed by ed25519 key {}, which is not trusted",
            k.id()
        )),
        (Some(k), None) => Ok(format!(
            "signed by ed25519 key {} (not checked against trusted keys)",
            k.id()
        )),
        (None, Some(_)) => Err("the root is not signed".to_string()),
        (None, None) => {
            Ok("the root is not signed: compare it with one from a source you trust".to_string())
        }
    };
    let what = format!(
        "block {} (track {} index {}, PTS {}, {} bytes) is leaf {} of {} under root {}",
        checked.ordinal,
        h.track,
        h.index,
        format_opt(h.pts),
        checked.data.len(),
        checked.ordinal,
        checked.tree_size,
        hex(&checked.root)
    );
    match trust {
        Ok(t) => {
            crate::say!("{shown}: OK: {what}; {t}");
            Ok(Outcome::Ok)
        }
        Err(t) => {
            println!("{shown}: FAILED: {what}, but {t}");
            Ok(Outcome::Problems)
        }
    }
}
