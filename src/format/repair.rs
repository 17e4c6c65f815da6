//! Repair: rewrite a file through the writer, keeping its header-declared META and every
//! block whose chunk is intact, and rebuilding HASH, SEEK, VERI and TAIL.
//!
//! The writer is deterministic and the checkpoint policy travels in META, so repairing a file
//! that only lost its end gives back exactly the bytes the original writer would have written
//! for the blocks that survived.

use std::io::{Read, Write};

use crate::format::chunk::TAG_META;
use crate::format::error::{Code, Error, Result};
use crate::format::item::{Item, decode};
use crate::format::scan::{Scanner, Step, drive};
use crate::format::writer::{NewBlock, Summary, Writer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Blocks copied to the output.
    pub kept_blocks: u64,
    /// What was left behind: damaged regions and blocks that could not be kept.
    pub dropped: Vec<Error>,
    pub bytes_in: u64,
    pub summary: Summary,
}

/// Reads `input` to its end and writes the repaired file to `output`.
pub fn repair<R: Read, W: Write>(mut input: R, output: W) -> Result<(W, RepairReport)> {
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
                    (Item::Meta { json, .. }, None) => {
                        let out = output.take().expect("output is taken once");
                        writer = Some(Writer::with_meta_json(out, json)?);
                    }
                    (Item::Meta { meta, .. }, Some(w)) => {
                        if let Err(e) = w.write_meta_update(&meta) {
                            dropped.push(e.with_location(c.ordinal, c.offset));
                        }
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
            bytes_in,
            summary,
        },
    ))
}
