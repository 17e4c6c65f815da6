//! `h4mk extract`: one track as players expect it (Annex B, Ogg, ADTS, … through GStreamer's
//! parsers and muxers), or with `--raw` its block payloads concatenated in file order; masked
//! (SAFE) blocks are unmasked with `--key-file`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use gsth4::crypto::params::MaskParams;
use gsth4::crypto::{Error as MaskError, MaskHeader, MasterKey, Opener};
use gsth4::format::block::BlockHeader;
use gsth4::format::item::{Item, decode};
use gsth4::format::reader::Reader;
use gsth4::format::scan::Step;
use gsth4::format::source::IoSource;

use crate::playable::{self, Playable};
use crate::progress::Progress;
use crate::{CliResult, Outcome, open_h4mk};

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
    /// Key file (32 raw bytes or 64 hex digits) to unmask a track written through h4mask
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Write the block payloads as stored, concatenated, instead of a playable stream
    #[arg(long)]
    raw: bool,
}

/// Where the blocks go: concatenated as they are, or through a GStreamer chain.
enum Out {
    Raw(BufWriter<Box<dyn Write>>),
    Playable(Playable),
}

impl Out {
    fn block(&mut self, header: &BlockHeader, data: &[u8]) -> Result<(), String> {
        match self {
            Out::Raw(w) => w.write_all(data).map_err(|e| e.to_string()),
            Out::Playable(p) => p.push(header, data),
        }
    }

    fn finish(self) -> Result<(), String> {
        match self {
            Out::Raw(mut w) => w.flush().map_err(|e| e.to_string()),
            Out::Playable(p) => p.finish(),
        }
    }
}

/// Opens a masked track's blocks in file order, checking that their indexes follow each other
/// and that the final seal closes the track.
struct Unmasker {
    opener: Opener,
    expected: u64,
    sealed: bool,
}

impl Unmasker {
    /// `Ok(None)` for the final seal. After a failure, the next block is expected to follow
    /// the failed one.
    fn open(&mut self, block: &[u8]) -> Result<Option<Vec<u8>>, MaskError> {
        let res = self.try_open(block);
        if res.is_err() {
            self.expected =
                MaskHeader::parse(block).map_or(self.expected + 1, |h| h.fields.index + 1);
            self.sealed = false;
        }
        res
    }

    fn try_open(&mut self, block: &[u8]) -> Result<Option<Vec<u8>>, MaskError> {
        let header = MaskHeader::parse(block)?;
        let index = header.fields.index;
        if index != self.expected {
            return Err(MaskError::Malformed(format!(
                "block index {index} where {} was expected: blocks reordered, duplicated or dropped",
                self.expected
            )));
        }
        let mut out = vec![0u8; header.payload_len as usize];
        self.opener.open_into(block, &header, &mut out)?;
        self.expected = index + 1;
        self.sealed = header.is_final();
        Ok((!header.is_final()).then_some(out))
    }
}

pub fn run(a: Args) -> CliResult {
    let mut r = Reader::open(IoSource::new(open_h4mk(&a.file)?))?;
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
    let caps = r
        .meta()
        .track(track)
        .map(|t| t.caps.clone())
        .unwrap_or_default();
    let mut unmasker = match (&a.key_file, MaskParams::from_caps_str(&caps)) {
        (Some(path), Some(p)) => {
            let key = MasterKey::read_file(path)?;
            if p.key_id != key.id().to_string() {
                return Err(format!(
                    "track {track} was masked with key id {}, but the key in {} has id {}",
                    p.key_id,
                    path.display(),
                    key.id()
                )
                .into());
            }
            Some(Unmasker {
                opener: Opener::new(&key, p.mode, p.salt, p.track),
                expected: 0,
                sealed: false,
            })
        }
        (Some(_), None) => {
            return Err(format!("track {track} is not masked (its caps carry no h4mask parameters); leave out --key-file").into());
        }
        (None, _) => None,
    };
    let path = a.output.as_deref().filter(|p| p.as_os_str() != "-");
    let playable = match a.raw {
        true => None,
        false => clear_caps(&caps, unmasker.is_some())
            .and_then(|c| playable::chain_for(&c).map(|(chain, what)| (c, chain, what))),
    };
    let mut out = match playable {
        Some((caps, chain, what)) => {
            crate::say_err!("h4mk: track {track} as {what}");
            Out::Playable(Playable::start(&caps, chain, path)?)
        }
        None => {
            if !a.raw {
                crate::say_err!(
                    "h4mk: track {track} ({}) has no playable single-stream form here: writing its block payloads as stored (h4mk convert writes a Matroska or MP4 file)",
                    caps.split(',').next().unwrap_or("")
                );
            }
            let sink: Box<dyn Write> = match path {
                Some(p) => Box::new(
                    File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?,
                ),
                None => Box::new(std::io::stdout().lock()),
            };
            Out::Raw(BufWriter::with_capacity(1 << 20, sink))
        }
    };
    let mut damaged = Vec::new();
    let mut masked = None;
    let mut failed = Vec::new();
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
                    let data = match (m, unmasker.as_mut()) {
                        (false, _) => std::borrow::Cow::Borrowed(data),
                        (true, None) => {
                            masked = Some((c.ordinal, c.offset));
                            return Ok(false);
                        }
                        (true, Some(u)) => match u.open(data) {
                            Ok(Some(plain)) => std::borrow::Cow::Owned(plain),
                            Ok(None) => return Ok(true),
                            Err(e) => {
                                failed.push(format!(
                                    "chunk {} at offset {}: {e}",
                                    c.ordinal, c.offset
                                ));
                                return Ok(true);
                            }
                        },
                    };
                    if let Err(e) = out.block(&header, &data) {
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
        return Err(e.into());
    }
    out.finish()?;
    if let Some((ordinal, offset)) = masked {
        return Err(format!(
            "track {track} holds masked (SAFE) blocks, starting at chunk {ordinal}, offset {offset}: unmasking them needs the key (--key-file); {blocks} clear block(s) were written"
        )
        .into());
    }
    for d in &damaged {
        eprintln!("h4mk: skipped damaged data: {d}");
    }
    for f in &failed {
        eprintln!("h4mk: skipped a block that did not unmask: {f}");
    }
    if let Some(u) = &unmasker
        && !u.sealed
    {
        failed.push("no final seal".into());
        eprintln!(
            "h4mk: track {track} ends without its final seal after block index {}: the recording was cut short or its end removed",
            u.expected
        );
    }
    crate::say_err!("h4mk: extracted {blocks} block(s) of track {track}");
    Ok(if damaged.is_empty() && failed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

/// The caps of a track's blocks as they come out: unmasked caps when a key opens them.
fn clear_caps(caps: &str, unmasking: bool) -> Option<gst::Caps> {
    gst::init().ok()?;
    let caps: gst::Caps = caps.parse().ok()?;
    match unmasking {
        true => gsth4::h4mask::caps::unmask_caps(&caps).ok().map(|u| u.caps),
        false => Some(caps),
    }
}
