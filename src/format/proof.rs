//! Per-block proofs: one block's chunk with its RFC 6962 inclusion proof (audit path) to the
//! file's Merkle root, and the Ed25519 signature over that root when the file is signed. A proof
//! is checked without the file: the block's bytes give its leaf hash, the audit path leads to the
//! root, and the signature says who vouched for the root. Written as JSON (docs/H4MK.md §9).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

use crate::crypto::signing::{PublicKey, SIGNATURE_LEN};
use crate::format::block::BlockHeader;
use crate::format::chunk::{CHUNK_HEADER_LEN, ChunkHeader, crc_matches, is_block_tag};
use crate::format::error::{Code, Error, Result};
use crate::format::merkle::{Hash, audit_path, hex, leaf_hash, root_from_audit_path, root_of};
use crate::format::reader::Reader;
use crate::format::seek::Snap;
use crate::format::signature::{Signature, Signed};
use crate::format::source::ReadAt;

pub const FORMAT: &str = "h4mk-block-proof";
pub const VERSION: u32 = 1;

/// Which block to prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// By block ordinal (its leaf index: 0 for the file's first block, whatever its track).
    Ordinal(u64),
    /// The block of `track` presenting at stream time `time` (ns): the one whose PTS and
    /// duration span it, else the last one starting before it.
    Time { track: u32, time: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    pub format: String,
    pub version: u32,
    pub block: ProvenBlock,
    pub inclusion: Inclusion,
    /// The SIGN over VERI, when the file is signed.
    pub signature: Option<ProofSignature>,
}

/// The block as its header says, and its whole chunk (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenBlock {
    pub ordinal: u64,
    pub offset: u64,
    pub track: u32,
    pub index: u64,
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub duration: Option<u64>,
    pub keyframe: bool,
    pub masked: bool,
    pub chunk: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inclusion {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Hex hashes, from the leaf's sibling up to the root's child (RFC 9162 §2.1.3.1).
    pub audit_path: Vec<String>,
    pub root: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofSignature {
    pub algorithm: String,
    pub key_id: String,
    pub public_key: String,
    /// `VERI`.
    pub signed: String,
    pub ordinal: u64,
    pub offset: u64,
    pub leaf_count: u64,
    pub root: String,
    pub chain: String,
    pub signature: String,
}

impl ProofSignature {
    fn of(s: &Signature) -> ProofSignature {
        ProofSignature {
            algorithm: "ed25519".into(),
            key_id: s.public_key.id().to_string(),
            public_key: hex(&s.public_key.0),
            signed: s.signed.name().into(),
            ordinal: s.ordinal,
            offset: s.offset,
            leaf_count: s.leaf_count,
            root: hex(&s.root),
            chain: hex(&s.chain),
            signature: hex(&s.signature),
        }
    }

    fn to_signature(&self) -> Result<Signature> {
        let signed = match self.signed.as_str() {
            "VERI" => Signed::Veri,
            "HASH" => Signed::Checkpoint,
            other => return Err(bad(format!("a signature over {other}"))),
        };
        if self.algorithm != "ed25519" {
            return Err(bad(format!("signature algorithm {}", self.algorithm)));
        }
        Ok(Signature {
            signed,
            ordinal: self.ordinal,
            offset: self.offset,
            leaf_count: self.leaf_count,
            root: unhex(&self.root, "signature root")?,
            chain: unhex(&self.chain, "signature chain")?,
            public_key: PublicKey(unhex(&self.public_key, "public key")?),
            signature: unhex::<SIGNATURE_LEN>(&self.signature, "signature")?,
        })
    }
}

fn bad(why: String) -> Error {
    Error::new(Code::InvalidInput, format!("not a valid proof: {why}"))
}

fn unhex<const N: usize>(text: &str, what: &str) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N || !text.is_ascii() {
        return Err(bad(format!("{what} is not {} hex digits", 2 * N)));
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|_| bad(format!("{what} is not hex")))?;
    }
    Ok(out)
}

/// The block at `offset` (known to be one), as a chunk's bytes and its header.
fn block_chunk<S: ReadAt>(r: &mut Reader<S>, offset: u64) -> Result<(Vec<u8>, BlockHeader)> {
    let (h, payload) = r.chunk_at(offset)?;
    let (header, _) = BlockHeader::decode(&payload).map_err(|e| e.with_offset(offset))?;
    let mut chunk = h.encode().to_vec();
    chunk.extend_from_slice(&payload);
    Ok((chunk, header))
}

/// Visits the blocks from `offset` (block ordinal `ordinal`) on, in file order, until `visit`
/// says stop or `end` is reached: (ordinal, offset, header).
fn walk_blocks<S: ReadAt>(
    r: &mut Reader<S>,
    mut offset: u64,
    mut ordinal: u64,
    end: u64,
    mut visit: impl FnMut(u64, u64, &BlockHeader) -> bool,
) -> Result<()> {
    while offset < end {
        let (h, payload) = r.chunk_at(offset)?;
        if is_block_tag(&h.tag) {
            let (header, _) = BlockHeader::decode(&payload).map_err(|e| e.with_offset(offset))?;
            if !visit(ordinal, offset, &header) {
                return Ok(());
            }
            ordinal += 1;
        }
        offset += h.chunk_len();
    }
    Ok(())
}

/// Proves one block of a finished file.
pub fn prove<S: ReadAt>(r: &mut Reader<S>, which: Which) -> Result<Proof> {
    let veri = r.veri().map_err(|e| {
        Error::new(
            e.code,
            format!(
                "{e}: only a finished file has the root a proof leads to (h4mk repair finishes one)"
            ),
        )
    })?;
    let (tree_size, root, seek_offset) = (
        veri.leaf_count,
        veri.root,
        r.tail().map_or(0, |t| t.seek_offset),
    );
    let checkpoints = r.checkpoints()?;
    let leaves: Vec<Hash> = checkpoints
        .iter()
        .flat_map(|(_, cp)| cp.leaves.iter().copied())
        .collect();
    if leaves.len() as u64 != tree_size || root_of(&leaves) != root {
        return Err(Error::new(
            Code::VeriRootMismatch,
            "the leaf table does not give VERI's root: h4mk verify says what is wrong",
        ));
    }
    let (ordinal, offset) = match which {
        Which::Ordinal(n) => {
            if n >= tree_size {
                return Err(Error::new(
                    Code::InvalidInput,
                    format!(
                        "there is no block {n}: the file has {tree_size} (0 to {})",
                        tree_size.saturating_sub(1)
                    ),
                ));
            }
            let i = checkpoints.partition_point(|(_, cp)| cp.first_leaf <= n) - 1;
            let (hash_offset, cp) = &checkpoints[i];
            let mut found = None;
            walk_blocks(
                r,
                cp.first_offset,
                cp.first_leaf,
                *hash_offset,
                |o, at, _| {
                    if o == n {
                        found = Some(at);
                    }
                    found.is_none()
                },
            )?;
            let at = found.ok_or_else(|| {
                Error::new(
                    Code::ChunkUnlisted,
                    format!("block {n} is not where its HASH chunk says"),
                )
            })?;
            (n, at)
        }
        Which::Time { track, time } => {
            let t = r.meta().track(track).cloned().ok_or_else(|| {
                Error::new(Code::InvalidInput, format!("the file has no track {track}"))
            })?;
            let target = t.block_time(time);
            let hit = r
                .keyframe_by_stream_time(Some(track), time, Snap::Before)?
                .ok_or_else(|| {
                    Error::new(
                        Code::InvalidInput,
                        format!("track {track} has no keyframe at or before {time} ns"),
                    )
                })?;
            // From that keyframe to the track's next keyframe after the time.
            let mut best: Option<(u64, u64, u64, bool)> = None;
            walk_blocks(
                r,
                hit.entry.offset,
                hit.entry.ordinal,
                seek_offset,
                |o, at, h| {
                    if h.track != track {
                        return true;
                    }
                    let Some(start) = h.pts.or(h.dts) else {
                        return true;
                    };
                    if start > target {
                        return !h.flags.is_keyframe();
                    }
                    let spans = h.duration.is_some_and(|d| target < start.saturating_add(d));
                    let better = match best {
                        None => true,
                        Some((_, _, s, covered)) => {
                            (spans && !covered) || (spans == covered && start >= s)
                        }
                    };
                    if better {
                        best = Some((o, at, start, spans));
                    }
                    true
                },
            )?;
            let (o, at, _, _) = best.expect("the keyframe itself starts at or before the time");
            (o, at)
        }
    };
    let (chunk, header) = block_chunk(r, offset)?;
    if leaf_hash(&[&chunk]) != leaves[ordinal as usize] {
        return Err(Error::new(
            Code::BlockHashMismatch,
            format!("block {ordinal} differs from its leaf hash: the file was changed after it was written"),
        )
        .with_offset(offset));
    }
    let signature = match r.veri_signature()? {
        None => None,
        Some(s)
            if s.signed == Signed::Veri
                && s.leaf_count == tree_size
                && s.root == root
                && s.verifies() =>
        {
            Some(ProofSignature::of(&s))
        }
        Some(_) => {
            return Err(Error::new(
                Code::SignInvalid,
                "VERI's signature does not check out: h4mk verify says why",
            ));
        }
    };
    Ok(Proof {
        format: FORMAT.into(),
        version: VERSION,
        block: ProvenBlock {
            ordinal,
            offset,
            track: header.track,
            index: header.index,
            pts: header.pts,
            dts: header.dts,
            duration: header.duration,
            keyframe: header.flags.is_keyframe(),
            masked: chunk[..4] == crate::format::chunk::TAG_SAFE,
            chunk: BASE64.encode(&chunk),
        },
        inclusion: Inclusion {
            leaf_index: ordinal,
            tree_size,
            audit_path: audit_path(&leaves, ordinal as usize)
                .iter()
                .map(|h| hex(h))
                .collect(),
            root: hex(&root),
        },
        signature,
    })
}

/// What a proof shows once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub header: BlockHeader,
    /// The block's data (without chunk and block headers).
    pub data: Vec<u8>,
    pub ordinal: u64,
    pub tree_size: u64,
    pub root: Hash,
    /// Who signed the root, when the proof carries a signature.
    pub signer: Option<PublicKey>,
}

/// Checks a proof on its own: the chunk's CRC and header, its leaf through the audit path to
/// the root, and the signature over that root.
pub fn check_proof(p: &Proof) -> Result<Checked> {
    if p.format != FORMAT || p.version != VERSION {
        return Err(bad(format!(
            "format {} version {}; this reader knows {FORMAT} version {VERSION}",
            p.format, p.version
        )));
    }
    let chunk = BASE64
        .decode(&p.block.chunk)
        .map_err(|e| bad(format!("the chunk is not base64: {e}")))?;
    let failed = |code: Code, why: String| Error::new(code, format!("the proof fails: {why}"));
    let head: [u8; CHUNK_HEADER_LEN] = chunk
        .get(..CHUNK_HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| {
            failed(
                Code::ChunkTruncated,
                "the chunk is shorter than its header".into(),
            )
        })?;
    let h = ChunkHeader::parse(&head);
    if !is_block_tag(&h.tag) || h.chunk_len() != chunk.len() as u64 {
        return Err(failed(
            Code::ChunkMalformed,
            "the chunk is not one whole block chunk".into(),
        ));
    }
    if !crc_matches(&chunk) {
        return Err(failed(
            Code::ChunkCrcMismatch,
            "the block's CRC does not match its bytes".into(),
        ));
    }
    let (header, data) = BlockHeader::decode(&chunk[CHUNK_HEADER_LEN..])?;
    let b = &p.block;
    let t = |v: Option<u64>| v.map_or("none".to_string(), |v| v.to_string());
    let fields = [
        ("track", b.track.to_string(), header.track.to_string()),
        ("index", b.index.to_string(), header.index.to_string()),
        ("PTS", t(b.pts), t(header.pts)),
        ("DTS", t(b.dts), t(header.dts)),
        ("duration", t(b.duration), t(header.duration)),
        (
            "keyframe",
            b.keyframe.to_string(),
            header.flags.is_keyframe().to_string(),
        ),
    ];
    let differ: Vec<String> = fields
        .iter()
        .filter(|(_, said, is)| said != is)
        .map(|(what, said, is)| format!("{what} {said} where the block's bytes say {is}"))
        .collect();
    if !differ.is_empty() {
        return Err(failed(
            Code::InvalidInput,
            format!("the proof describes another block: {}", differ.join(", ")),
        ));
    }
    let i = &p.inclusion;
    let path = i
        .audit_path
        .iter()
        .map(|h| unhex::<32>(h, "an audit path hash"))
        .collect::<Result<Vec<Hash>>>()?;
    let root = unhex::<32>(&i.root, "root")?;
    let reached = root_from_audit_path(&leaf_hash(&[&chunk]), i.leaf_index, i.tree_size, &path)
        .ok_or_else(|| {
            failed(
                Code::InvalidInput,
                format!(
                    "an audit path of {} hashes does not fit leaf {} of {}",
                    path.len(),
                    i.leaf_index,
                    i.tree_size
                ),
            )
        })?;
    if reached != root || b.ordinal != i.leaf_index {
        return Err(failed(
            Code::BlockHashMismatch,
            format!(
                "block {} leads to root {}, not {}: the block or its proof was changed",
                i.leaf_index,
                hex(&reached),
                i.root
            ),
        ));
    }
    let signer = match &p.signature {
        None => None,
        Some(s) => {
            let sig = s.to_signature()?;
            if (sig.leaf_count, sig.root) != (i.tree_size, root) || sig.signed != Signed::Veri {
                return Err(failed(
                    Code::SignInvalid,
                    format!(
                        "the signature covers root {} over {} blocks, the proof root {} over {}",
                        s.root, s.leaf_count, i.root, i.tree_size
                    ),
                ));
            }
            if !sig.verifies() || s.key_id != sig.public_key.id().to_string() {
                return Err(failed(
                    Code::SignInvalid,
                    format!("the signature does not verify under key {}", s.key_id),
                ));
            }
            Some(sig.public_key)
        }
    };
    Ok(Checked {
        header,
        data: data.to_vec(),
        ordinal: i.leaf_index,
        tree_size: i.tree_size,
        root,
        signer,
    })
}
