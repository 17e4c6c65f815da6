//! `h4mk`: inspect, verify, seek, extract, export and repair H4MK files.

mod convert;
mod describe;
mod export;
mod extract;
mod inspect;
mod keys;
mod playable;
mod plot;
mod progress;
mod prove;
mod repair;
mod rewrite;
mod seek;
mod sign;
mod timefmt;
mod verify;

use std::io::ErrorKind;
use std::path::Path;

use gsth4::format::header::looks_like_h4mk;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "h4mk",
    version,
    about = "Inspect, verify, seek, extract, export, repair, sign and prove H4MK (HarmonyØ4) files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Say only what is wrong: no summaries, no progress (errors and findings still print)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Say more (inspect: full caps and tags)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

static VERBOSITY: std::sync::OnceLock<(bool, u8)> = std::sync::OnceLock::new();

/// `-q`: only what is wrong is printed.
pub fn quiet() -> bool {
    VERBOSITY.get().is_some_and(|v| v.0)
}

/// How many `-v`.
pub fn verbose() -> u8 {
    VERBOSITY.get().map_or(0, |v| v.1)
}

/// Prints a note on stderr, unless `-q`.
#[macro_export]
macro_rules! say_err {
    ($($t:tt)*) => {
        if !$crate::quiet() {
            eprintln!($($t)*);
        }
    };
}

/// Prints a summary line on stdout, unless `-q`.
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => {
        if !$crate::quiet() {
            println!($($t)*);
        }
    };
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
    /// Convert between H4MK and Matroska, WebM or MP4 (either way), packets untouched
    Convert(convert::Args),
    /// Rebuild HASH, SEEK, VERI and TAIL for a file cut short, keeping every intact block
    Repair(repair::Args),
    /// Make an Ed25519 signing key pair
    Keygen(keys::Args),
    /// Sign a finished file with an Ed25519 key: every HASH checkpoint and VERI, blocks untouched
    Sign(sign::Args),
    /// Write one block and its Merkle inclusion proof to the file's (signed) root as JSON
    Prove(prove::Args),
    /// Check a block proof without the file: its bytes, its path to the root, the signature
    CheckProof(prove::CheckArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), or write one page per command into a directory
    Man {
        /// Write h4mk.1 and h4mk-COMMAND.1 here instead of printing h4mk.1
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
}

/// What a command reports back: success, a file that failed its checks, or an error.
pub enum Outcome {
    Ok,
    /// The command ran but found problems (verify); exit status 1.
    Problems,
    /// Some inputs could not be read; each error was already reported; exit status 2.
    Errors,
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`h4mk inspect --chunks x | head`) instead of failing on every write.
    // SAFETY: restoring the default action of a signal before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    VERBOSITY.set((cli.quiet, cli.verbose)).expect("set once");
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Seek(a) => seek::run(a),
        Command::Extract(a) => extract::run(a),
        Command::Export(a) => export::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Repair(a) => repair::run(a),
        Command::Keygen(a) => keys::keygen(a),
        Command::Sign(a) => sign::run(a),
        Command::Prove(a) => prove::run(a),
        Command::CheckProof(a) => prove::check_run(a),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "h4mk", &mut std::io::stdout());
            Ok(Outcome::Ok)
        }
        Command::Man { dir } => man(dir),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        Ok(Outcome::Errors) => ExitCode::from(2),
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("h4mk: {e}");
            ExitCode::from(2)
        }
    }
}

pub type CliResult = Result<Outcome, Box<dyn std::error::Error>>;

/// The man pages, from the same definitions as `--help`.
fn man(dir: Option<std::path::PathBuf>) -> CliResult {
    use clap::CommandFactory;
    let cmd = Cli::command();
    match dir {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
        }
    }
    Ok(Outcome::Ok)
}

fn is_broken_pipe(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
        || e.to_string().contains("Broken pipe")
}

/// Opens a file for reading with its path in the error.
pub fn open(path: &Path) -> Result<std::fs::File, Box<dyn std::error::Error>> {
    std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()).into())
}

/// The media type GStreamer's typefinders give the first bytes of an input, if any.
fn typefind(first: &[u8]) -> Option<String> {
    gst::init().ok()?;
    let (caps, _) =
        gst_base::functions::type_find_helper_for_data(None::<&gst::Object>, first).ok()?;
    Some(caps.structure(0)?.name().to_string())
}

/// The first 4 KiB of an input, for telling what it is.
pub fn first_bytes(r: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut first = Vec::with_capacity(4096);
    r.take(4096).read_to_end(&mut first)?;
    Ok(first)
}

/// Refuses an input named `shown` whose first bytes are `first` if it is not H4MK: empty, or
/// neither H4MK magic nor META where the format puts it (`looks_like_h4mk`).
fn check_h4mk(shown: &str, first: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    if first.is_empty() {
        return Err(format!("{shown} is empty (0 bytes), not an H4MK file").into());
    }
    if !looks_like_h4mk(first) {
        let kind = typefind(first)
            .map(|caps| format!(" (GStreamer's typefinders say {caps})"))
            .unwrap_or_default();
        return Err(format!("{shown} is not an H4MK file{kind}").into());
    }
    Ok(())
}

/// An H4MK input read in order: a file, or standard input for `-`; checked as `open_h4mk`
/// checks, the bytes read for that handed back first.
pub fn read_h4mk(path: &Path) -> Result<Box<dyn std::io::Read>, Box<dyn std::error::Error>> {
    use std::io::Read;
    if path.as_os_str() != "-" {
        return Ok(Box::new(open_h4mk(path)?));
    }
    let mut stdin = std::io::stdin().lock();
    let first = first_bytes(&mut stdin)?;
    check_h4mk("standard input", &first)?;
    Ok(Box::new(std::io::Cursor::new(first).chain(stdin)))
}

/// Opens an H4MK input, refusing (exit 2) what is not one, by name: a directory, an empty file,
/// or a file that is not H4MK (`looks_like_h4mk`; the kind of file it seems to be, typefound
/// from its first bytes, is said). A file whose magic alone is damaged is opened.
pub fn open_h4mk(path: &Path) -> Result<std::fs::File, Box<dyn std::error::Error>> {
    use std::io::Seek;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    if meta.is_dir() {
        return Err(format!("{shown} is a directory, not an H4MK file").into());
    }
    let mut f = open(path)?;
    check_h4mk(&shown.to_string(), &first_bytes(&mut f)?)?;
    f.rewind()
        .map_err(|e| format!("{shown}: cannot read it from the start again: {e}"))?;
    Ok(f)
}
