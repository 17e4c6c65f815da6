//! Signing a finished file after the fact: it is verified first (a signature vouches for what it
//! covers, so damage is refused, not signed), then rewritten through the writer with META naming
//! the signer, every block byte for byte with its HASH checkpoints where they were, and a SIGN
//! after each HASH and VERI. The Merkle root does not change: the blocks are the same leaves.
//! Signatures already in the file are replaced.

use std::io::{Read, Seek, SeekFrom, Write};

use crate::crypto::signing::SigningKey;
use crate::format::chunk::tag_name;
use crate::format::error::{Code, Error, Result};
use crate::format::item::{Item, decode};
use crate::format::meta::{Meta, Signer};
use crate::format::scan::{Scanner, Step, drive};
use crate::format::verify::verify;
use crate::format::writer::{NewBlock, Summary, Writer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignReport {
    pub blocks: u64,
    /// Signatures by another key that the new ones replace (by key id).
    pub replaced: Vec<String>,
    /// Chunks of types this version does not know, left out.
    pub left_out: Vec<Error>,
    pub summary: Summary,
}

/// Signs `input` with `key`, writing the signed file to `output`.
pub fn sign_file<R: Read + Seek, W: Write>(
    mut input: R,
    output: W,
    key: SigningKey,
) -> Result<(W, SignReport)> {
    let report = verify(&mut input, |_| {})?;
    // Signatures by another key are replaced; anything else wrong is refused.
    let refused: Vec<&Error> = report
        .findings
        .iter()
        .filter(|f| !matches!(f.code, Code::SignInvalid | Code::SignAbsent))
        .collect();
    if let Some(first) = refused.first() {
        return Err(Error::new(
            Code::InvalidInput,
            format!(
                "the file does not verify ({} finding(s), first: {first}); a signature would vouch for that: repair it first",
                refused.len()
            ),
        ));
    }
    input
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(e, "rewinding the input"))?;
    let signer = Signer::of(&key.public());
    let mut key = Some(key);
    let mut output = Some(output);
    let mut writer: Option<Writer<W>> = None;
    let mut out = SignReport {
        blocks: 0,
        replaced: Vec::new(),
        left_out: Vec::new(),
        summary: Summary::default(),
    };
    let mut scanner = Scanner::new();
    drive(&mut input, &mut scanner, |step| {
        let Step::Chunk(c) = step else {
            return Ok(true);
        };
        match (decode(&c)?, writer.as_mut()) {
            (Item::Meta { json, .. }, None) => {
                let (json, _) = Meta::json_with(json, "signer", &signer)?;
                let mut w = Writer::with_meta_json(output.take().expect("once"), &json)?;
                w.checkpoints_on_request_only();
                w.sign_with(key.take().expect("once"))?;
                writer = Some(w);
            }
            (Item::Meta { mut meta, .. }, Some(w)) => {
                meta.signer = Some(signer.clone());
                w.write_meta_update(&meta)?;
            }
            (
                Item::Block {
                    masked,
                    header,
                    data,
                },
                Some(w),
            ) => {
                w.write_block_at_index(
                    &NewBlock::from_header(&header, masked),
                    header.index,
                    data,
                )?;
                out.blocks += 1;
            }
            (Item::Checkpoint(_), Some(w)) => w.checkpoint()?,
            (Item::Signature(s), _) => {
                let id = s.public_key.id().to_string();
                if id != signer.key_id && !out.replaced.contains(&id) {
                    out.replaced.push(id);
                }
            }
            (Item::Unknown, _) => out.left_out.push(Error::at(
                Code::ChunkUnlisted,
                c.ordinal,
                c.offset,
                format!("unknown {} chunk not copied", tag_name(&c.header.tag)),
            )),
            // The header, SEEK, VERI and TAIL are written anew.
            _ => {}
        }
        Ok(true)
    })?;
    let writer = writer.ok_or_else(|| Error::new(Code::MetaInvalid, "no META chunk"))?;
    let (w, summary) = writer.finish()?;
    if Some(summary.root) != report.root {
        return Err(Error::new(
            Code::VeriRootMismatch,
            "the signed file's Merkle root differs from the original's: the input changed while it was read",
        ));
    }
    out.summary = summary;
    Ok((w, out))
}
