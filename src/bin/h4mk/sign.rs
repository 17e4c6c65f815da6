//! `h4mk sign`: sign a finished file, blocks untouched.

use std::io::{BufReader, BufWriter};
use std::path::PathBuf;

use gsth4::crypto::signing::SigningKey;
use gsth4::format::merkle::hex;
use gsth4::format::sign_file::sign_file;

use crate::rewrite::Rewrite;
use crate::{CliResult, Outcome, open_h4mk};

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("dest").required(true).args(["output", "in_place"])))]
pub struct Args {
    /// The H4MK file to sign (it must verify)
    file: PathBuf,
    /// The Ed25519 private key (PKCS#8, PEM or DER: h4mk keygen, or openssl genpkey -algorithm ed25519)
    #[arg(short, long)]
    key: PathBuf,
    /// Where to write the signed file
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Replace the file (written beside it first, then renamed over it)
    #[arg(long)]
    in_place: bool,
}

pub fn run(a: Args) -> CliResult {
    let key = SigningKey::read_file(&a.key)?;
    let id = key.public().id();
    let input = BufReader::with_capacity(1 << 20, open_h4mk(&a.file)?);
    let rewrite = Rewrite::new(&a.file, a.output.as_deref(), a.in_place, ".signing")?;
    let out = BufWriter::with_capacity(4 << 20, rewrite.create()?);
    let (out, report) = match sign_file(input, out, key) {
        Ok(x) => x,
        Err(e) => {
            rewrite.abandon();
            return Err(format!("{}: {e}", a.file.display()).into());
        }
    };
    let written = rewrite.commit(out.into_inner().map_err(|e| e.into_error())?)?;
    for old in &report.replaced {
        eprintln!("h4mk: replaced the signatures of key {old}");
    }
    for d in &report.left_out {
        eprintln!("h4mk: left out: {d}");
    }
    crate::say!(
        "{}: signed by ed25519 key {id}: {} block(s), {} checkpoint signature(s) and VERI's; Merkle root {} (unchanged); wrote {} bytes to {}",
        a.file.display(),
        report.blocks,
        report.summary.checkpoints,
        hex(&report.summary.root),
        report.summary.bytes,
        written.display()
    );
    Ok(Outcome::Ok)
}
