//! Prints the test vectors of docs/H4MK.md: a small file as a hex dump, its chunk CRCs,
//! leaf hashes and Merkle root. `tests/spec_vectors.rs` checks the spec quotes this output.

use gsth4::format::block::BlockFlags;
use gsth4::format::chunk::{TAG_CORE, TAG_SAFE};
use gsth4::format::merkle::{hex, leaf_hash};
use gsth4::format::meta::{CheckpointPolicy, Meta, Track, TrackKind, WriterIdentity};
use gsth4::format::scan::{Scanner, Step};
use gsth4::format::writer::{NewBlock, Writer};

/// The vector file: two tracks, three blocks, a HASH chunk after every two blocks.
pub fn vector_file() -> Vec<u8> {
    let meta = Meta {
        writer: WriterIdentity {
            name: "gst-h4".into(),
            version: "spec".into(),
            commit: "0".into(),
        },
        checkpoint: CheckpointPolicy {
            span_ns: 2_000_000_000,
            blocks: 2,
            bytes: 1 << 26,
        },
        tracks: vec![
            Track {
                id: 0,
                kind: TrackKind::Video,
                caps: "video/x-h4-test".into(),
                tags: None,
                time_offset: 0,
            },
            Track {
                id: 1,
                kind: TrackKind::Audio,
                caps: "audio/x-h4-test".into(),
                tags: None,
                time_offset: 0,
            },
        ],
        tags: None,
        repaired: None,
        signer: None,
    };
    let key = BlockFlags(BlockFlags::KEYFRAME);
    let blocks: [(NewBlock, &[u8]); 3] = [
        (
            NewBlock {
                track: 0,
                flags: key,
                pts: Some(0),
                dts: Some(0),
                duration: Some(40_000_000),
                ..NewBlock::default()
            },
            b"H4",
        ),
        (
            NewBlock {
                track: 1,
                flags: key,
                pts: Some(0),
                dts: None,
                duration: Some(20_000_000),
                ..NewBlock::default()
            },
            &[1, 2, 3],
        ),
        (
            NewBlock {
                track: 0,
                pts: Some(40_000_000),
                dts: Some(40_000_000),
                duration: Some(40_000_000),
                ..NewBlock::default()
            },
            b"",
        ),
    ];
    let mut w = Writer::new(Vec::new(), &meta).expect("writer");
    for (b, data) in &blocks {
        w.write_block(b, data).expect("block");
    }
    w.finish().expect("finish").0
}

/// The vector as the Markdown the spec quotes.
pub fn vector_markdown() -> String {
    let file = vector_file();
    let mut out = String::new();
    out += &format!("File length: {} bytes.\n\n", file.len());
    out += "| ordinal | offset | tag | payload size | CRC32 | leaf hash (blocks) |\n|---|---|---|---|---|---|\n";
    let mut s = Scanner::new();
    s.feed(&file);
    s.finish();
    let mut leaves = Vec::new();
    let mut root = String::new();
    loop {
        match s.step() {
            Step::Chunk(c) => {
                let tag = String::from_utf8_lossy(&c.header.tag).into_owned();
                let leaf = if c.header.tag == TAG_CORE || c.header.tag == TAG_SAFE {
                    let l = hex(&leaf_hash(&[&c.header.encode(), c.payload]));
                    leaves.push(l.clone());
                    format!("`{l}`")
                } else {
                    String::new()
                };
                if tag == "VERI" {
                    root = hex(&c.payload[40..72]);
                }
                out += &format!(
                    "| {} | {} | {tag} | {} | `{:08x}` | {leaf} |\n",
                    c.ordinal, c.offset, c.header.size, c.header.crc
                );
            }
            Step::End => break,
            other => panic!("vector file does not scan: {other:?}"),
        }
    }
    out += &format!(
        "\nMerkle root over the {} leaves (stored in VERI): `{root}`\n\n```text\n",
        leaves.len()
    );
    for (i, line) in file.chunks(16).enumerate() {
        let hexes: Vec<String> = line.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = line
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out += &format!("{:08x}  {:<47}  |{ascii}|\n", i * 16, hexes.join(" "));
    }
    out += "```\n";
    out
}

#[allow(dead_code)]
fn main() {
    print!("{}", vector_markdown());
}
