//! Helpers shared by the format tests: deterministic sample files.
#![allow(dead_code)]

use gsth4::format::Code;
use gsth4::format::block::BlockFlags;
use gsth4::format::chunk::{CHUNK_HEADER_LEN, MAX_PAYLOAD};
use gsth4::format::item::{Item, decode};
use gsth4::format::meta::{CheckpointPolicy, Meta, Track, TrackKind, WriterIdentity};
use gsth4::format::reader::Reader;
use gsth4::format::scan::Step;
use gsth4::format::verify::verify;
use gsth4::format::writer::{NewBlock, Writer};

/// A block as written or read back: the header fields a demuxer must restore, plus data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub spec: NewBlock,
    pub data: Vec<u8>,
}

pub fn identity() -> WriterIdentity {
    WriterIdentity {
        name: "gst-h4".into(),
        version: "test".into(),
        commit: "0000000".into(),
    }
}

pub fn meta(track_count: u32, policy: CheckpointPolicy) -> Meta {
    let kinds = [
        TrackKind::Video,
        TrackKind::Audio,
        TrackKind::Data,
        TrackKind::Text,
    ];
    Meta {
        writer: identity(),
        checkpoint: policy,
        tracks: (0..track_count)
            .map(|i| Track {
                id: i,
                kind: kinds[i as usize % kinds.len()],
                caps: format!("test/x-track-{i}, rate=(int)48000"),
                tags: (i == 0).then(|| "taglist, title=(string)\"Ø\";".into()),
                time_offset: 0,
            })
            .collect(),
        tags: None,
        repaired: None,
        signer: None,
    }
}

/// Tiny xorshift so samples are deterministic without a dependency.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Interleaved blocks of `track_count` tracks: 25 fps with a keyframe every 10 on even
/// tracks, every block a keyframe on odd ones; payload sizes vary, some are empty.
pub fn sample_blocks(track_count: u32, per_track: u64, seed: u64) -> Vec<Block> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::new();
    for i in 0..per_track {
        for t in 0..track_count {
            let key = t % 2 == 1 || i % 10 == 0;
            let len = if i % 7 == 3 {
                0
            } else {
                rng.below(300) as usize
            };
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            out.push(Block {
                spec: NewBlock {
                    track: t,
                    masked: false,
                    flags: BlockFlags(if key { BlockFlags::KEYFRAME } else { 0 }),
                    pts: Some(i * 40_000_000 + u64::from(t)),
                    dts: if t == 0 { Some(i * 40_000_000) } else { None },
                    duration: Some(40_000_000),
                    clipping: None,
                },
                data,
            });
        }
    }
    out
}

pub fn write_file(meta: &Meta, blocks: &[Block]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), meta).expect("writer starts");
    for b in blocks {
        w.write_block(&b.spec, &b.data).expect("block written");
    }
    w.finish().expect("finished").0
}

/// Every intact block of a file, in file order, with its per-track index.
pub fn read_blocks(bytes: &[u8]) -> Vec<(u64, Block)> {
    let mut r = Reader::open(bytes).expect("file opens");
    let mut out = Vec::new();
    r.scan_body(|step| {
        if let Step::Chunk(c) = step
            && let Ok(Item::Block {
                masked,
                header,
                data,
            }) = decode(&c)
        {
            let spec = NewBlock::from_header(&header, masked);
            out.push((
                header.index,
                Block {
                    spec,
                    data: data.to_vec(),
                },
            ));
        }
        Ok(true)
    })
    .expect("scan");
    out
}

/// Chunk boundaries of an intact file: (ordinal, offset, tag).
pub fn chunk_map(bytes: &[u8]) -> Vec<(u64, u64, [u8; 4])> {
    let mut s = gsth4::format::scan::Scanner::new();
    s.feed(bytes);
    s.finish();
    let mut out = Vec::new();
    loop {
        match s.step() {
            Step::Chunk(c) => out.push((c.ordinal, c.offset, c.header.tag)),
            Step::End => return out,
            other => panic!("intact file scanned as {other:?}"),
        }
    }
}

/// The code the verifier must give for a flip at byte `i` of chunk (`start`, `len`).
pub fn expected_code(bytes: &[u8], flipped: &[u8], start: usize, i: usize) -> Code {
    if i < 4 && start == 0 {
        return Code::FileMagic;
    }
    if (start + 4..start + 8).contains(&i) {
        let size = u32::from_le_bytes(flipped[start + 4..start + 8].try_into().unwrap());
        if size > MAX_PAYLOAD {
            return Code::ChunkSizeLimit;
        }
        if start + CHUNK_HEADER_LEN + size as usize > bytes.len() {
            return Code::ChunkTruncated;
        }
    }
    Code::ChunkCrcMismatch
}

pub fn check_flip(file: &[u8], map: &[(u64, u64, [u8; 4])], i: usize, mask: u8) {
    let mut bad = file.to_vec();
    bad[i] ^= mask;
    let (ordinal, start, tag) = map[map.iter().rposition(|c| c.1 as usize <= i).unwrap()];
    let want = expected_code(file, &bad, start as usize, i);
    let report = verify(bad.as_slice(), |_| {}).unwrap();
    let f = &report.findings;
    assert_eq!(
        f.len(),
        1,
        "byte {i} ({} chunk {ordinal}): {f:#?}",
        String::from_utf8_lossy(&tag)
    );
    assert_eq!(
        (f[0].code, f[0].chunk, f[0].offset),
        (want, Some(ordinal), Some(start)),
        "byte {i}: {}",
        f[0]
    );
}
