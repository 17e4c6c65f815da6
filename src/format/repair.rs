//! Repair: rewrite a file through the writer, keeping its header-declared META and every
//! block whose chunk is intact and whose content the file's own integrity does not contradict,
//! and rebuilding HASH, SEEK, VERI and TAIL.
//!
//! A signed file comes out unsigned (the key is not here): META no longer names the signer, and
//! `sign_file` signs the result again.
//!
//! Repair never launders: a block whose leaf hash disagrees with an intact HASH or VERI (its
//! payload was edited and its CRC recomputed, say) is left out, unless the caller asks to keep
//! such blocks; they are then listed in the new file's META, and verify names each. Every
//! repaired file's META says it was repaired, by which writer and from which root.
//!
//! The writer is deterministic and the checkpoint policy travels in META, so repairing a file
//! that only lost its end gives back the bytes the original writer would have written for the
//! blocks that survived, but for the repair record in META.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};

use crate::format::block::BlockHeader;
use crate::format::chunk::{CHUNK_HEADER_LEN, TAG_META};
use crate::format::error::{Code, Error, Result};
use crate::format::item::{Item, decode};
use crate::format::merkle::hex;
use crate::format::meta::{BlockId, Meta, Repaired, WriterIdentity};
use crate::format::scan::{Scanner, Step, drive};
use crate::format::verify::verify;
use crate::format::writer::{NewBlock, Summary, Writer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RepairOptions {
    /// Keep blocks whose leaf hash disagrees with the original integrity (listed in META as
    /// unverified) instead of leaving them out.
    pub keep_unverified: bool,
}

/// A block the original file's integrity contradicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contradicted {
    pub ordinal: u64,
    pub offset: u64,
    pub block: BlockId,
    pub pts: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Blocks copied to the output.
    pub kept_blocks: u64,
    /// What was left behind: damaged regions and blocks that could not be kept.
    pub dropped: Vec<Error>,
    /// Blocks whose leaf hash disagreed with the original integrity (left out, or kept and
    /// listed as unverified with `keep_unverified`).
    pub contradicted: Vec<Contradicted>,
    pub bytes_in: u64,
    pub summary: Summary,
}

/// The blocks `verify` found contradicted by their HASH or VERI, with their identity read
/// from their headers; and the root of the file when its VERI checked out.
fn contradicted_blocks<R: Read + Seek>(
    input: &mut R,
) -> Result<(Vec<Contradicted>, Option<String>)> {
    let report = verify(&mut *input, |_| {})?;
    let mut out = Vec::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.code == Code::BlockHashMismatch)
    {
        let (Some(ordinal), Some(offset)) = (f.chunk, f.offset) else {
            continue;
        };
        let mut head = [0u8; CHUNK_HEADER_LEN + crate::format::block::BLOCK_HEADER_LEN];
        input
            .seek(SeekFrom::Start(offset))
            .and_then(|_| input.read_exact(&mut head))
            .map_err(|e| Error::io(e, "reading a block header"))?;
        let (h, _) = BlockHeader::decode(&head[CHUNK_HEADER_LEN..])?;
        out.push(Contradicted {
            ordinal,
            offset,
            block: BlockId {
                track: h.track,
                index: h.index,
            },
            pts: h.pts,
        });
    }
    Ok((out, report.root.map(|r| hex(&r))))
}

/// Reads `input` to its end and writes the repaired file to `output`. The input is read
/// twice: verified first, then copied.
pub fn repair<R: Read + Seek, W: Write>(
    mut input: R,
    output: W,
    options: RepairOptions,
) -> Result<(W, RepairReport)> {
    let (contradicted, from_root) = contradicted_blocks(&mut input)?;
    input
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(e, "rewinding the input"))?;
    let by_offset: HashMap<u64, Contradicted> =
        contradicted.iter().map(|c| (c.offset, *c)).collect();
    let mut record = Repaired {
        from_root,
        writer: WriterIdentity::this_build(),
        unverified: Vec::new(),
    };
    if options.keep_unverified {
        record.unverified = contradicted.iter().map(|c| c.block).collect();
        record.unverified.sort();
    }
    let mut writer: Option<Writer<W>> = None;
    let mut output = Some(output);
    let mut dropped = Vec::new();
    let mut kept_blocks = 0u64;
    let mut bytes_in = 0u64;
    let mut scanner = Scanner::new();
    drive(&mut input, &mut scanner, |step| {
        match step {
            Step::Damage(d) => {
                bytes_in = d.error.offset.unwrap_or(0) + d.len;
                dropped.push(d.error);
            }
            Step::Chunk(c) => {
                bytes_in = c.end();
                let item = match decode(&c) {
                    Ok(item) => item,
                    Err(e) if c.header.tag == TAG_META && writer.is_none() => return Err(e),
                    Err(e) => {
                        dropped.push(e);
                        return Ok(true);
                    }
                };
                match (item, writer.as_mut()) {
                    (Item::Meta { json, meta }, None) => {
                        // A file repaired before keeps its unverified blocks listed.
                        if let Some(earlier) = &meta.repaired {
                            record.unverified.extend_from_slice(&earlier.unverified);
                            record.unverified.sort();
                            record.unverified.dedup();
                        }
                        // Members this version does not know are kept. A signed file's
                        // repair is not signed (no key here): META stops naming the signer,
                        // and `h4mk sign` signs the result anew.
                        let json = match meta.signer {
                            None => Meta::json_with(json, "repaired", &record)?.0,
                            Some(_) => Meta {
                                signer: None,
                                repaired: Some(record.clone()),
                                ..meta
                            }
                            .to_json(),
                        };
                        let out = output.take().expect("output is taken once");
                        writer = Some(Writer::with_meta_json(out, &json)?);
                    }
                    (Item::Meta { mut meta, .. }, Some(w)) => {
                        meta.repaired = Some(record.clone());
                        meta.signer = None;
                        if let Err(e) = w.write_meta_update(&meta) {
                            dropped.push(e.with_location(c.ordinal, c.offset));
                        }
                    }
                    (Item::Block { header, .. }, Some(_))
                        if !options.keep_unverified && by_offset.contains_key(&c.offset) =>
                    {
                        dropped.push(Error::at(
                            Code::BlockHashMismatch,
                            c.ordinal,
                            c.offset,
                            format!(
                                "track {} block {} (PTS {}) left out: its content disagrees with the file's own integrity (edited, or damaged with its CRC rewritten)",
                                header.track,
                                header.index,
                                header.pts.map_or("none".into(), |p| p.to_string())
                            ),
                        ));
                    }
                    (
                        Item::Block {
                            masked,
                            header,
                            data,
                        },
                        Some(w),
                    ) => {
                        let b = NewBlock::from_header(&header, masked);
                        match w.write_block_at_index(&b, header.index, data) {
                            Ok(_) => kept_blocks += 1,
                            Err(e) if e.code == Code::Io => return Err(e),
                            Err(e) => dropped.push(e.with_location(c.ordinal, c.offset)),
                        }
                    }
                    (Item::Block { .. }, None) => {
                        dropped.push(Error::at(
                            Code::ChunkOrder,
                            c.ordinal,
                            c.offset,
                            "a block before META",
                        ));
                    }
                    // Header, HASH, SEEK, VERI and TAIL are rebuilt; unknown chunks are not kept.
                    (Item::Unknown, _) => dropped.push(Error::at(
                        Code::ChunkUnlisted,
                        c.ordinal,
                        c.offset,
                        format!(
                            "unknown {} chunk not copied",
                            crate::format::chunk::tag_name(&c.header.tag)
                        ),
                    )),
                    _ => {}
                }
            }
            Step::NeedMore | Step::End => {}
        }
        Ok(true)
    })?;
    let Some(writer) = writer else {
        return Err(Error::new(
            Code::MetaInvalid,
            "no intact META chunk: the track table is lost, nothing can be rebuilt",
        ));
    };
    let (out, summary) = writer.finish()?;
    Ok((
        out,
        RepairReport {
            kept_blocks,
            dropped,
            contradicted,
            bytes_in,
            summary,
        },
    ))
}
