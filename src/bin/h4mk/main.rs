//! `h4mk`: inspect, verify, seek, extract, export and repair H4MK files.

mod export;
mod extract;
mod inspect;
mod plot;
mod progress;
mod repair;
mod seek;
mod timefmt;
mod verify;

use std::io::ErrorKind;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "h4mk",
    version,
    about = "Inspect, verify, seek, extract, export and repair H4MK (HarmonyØ4) files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the header, writer, tracks and index of a file; optionally every chunk and keyframe,
    /// and a PNG timeline of the blocks
    Inspect(inspect::Args),
    /// Check every CRC, leaf hash, digest and the Merkle root; list every failure
    Verify(verify::Args),
    /// Find the keyframe at or before (or after) a time, using the SEEK index
    Seek(seek::Args),
    /// Write one track's block payloads, concatenated, to a file or stdout
    Extract(extract::Args),
    /// Wrap an opaque file into H4MK blocks
    Export(export::Args),
    /// Rebuild HASH, SEEK, VERI and TAIL for a file cut short, keeping every intact block
    Repair(repair::Args),
}

/// What a command reports back: success, a file that failed its checks, or an error.
pub enum Outcome {
    Ok,
    /// The command ran but found problems (verify); exit status 1.
    Problems,
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`h4mk inspect --chunks x | head`) instead of failing on every write.
    // SAFETY: restoring the default action of a signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Seek(a) => seek::run(a),
        Command::Extract(a) => extract::run(a),
        Command::Export(a) => export::run(a),
        Command::Repair(a) => repair::run(a),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h4mk: {e}");
            ExitCode::from(2)
        }
    }
}

pub type CliResult = Result<Outcome, Box<dyn std::error::Error>>;

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
        || e.to_string().contains("Broken pipe")
}

/// Opens a file for reading with its path in the error.
pub fn open(path: &PathBuf) -> Result<std::fs::File, Box<dyn std::error::Error>> {
    std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()).into())
}
