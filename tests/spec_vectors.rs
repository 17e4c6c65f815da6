//! docs/H4MK.md quotes the writer's real output for its test vector, and the quoted
//! hashes are recomputed here from their definitions, independently of the writer.

#[path = "../examples/spec_vectors.rs"]
mod vectors;

use sha2::{Digest, Sha256};

#[test]
fn the_spec_quotes_the_current_vector() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/H4MK.md")).unwrap();
    let v = vectors::vector_markdown();
    assert!(
        spec.contains(&v),
        "docs/H4MK.md is out of date; its vector section must read:\n{v}"
    );
}

#[test]
fn vector_hashes_follow_their_definitions() {
    let file = vectors::vector_file();
    // Walk the chunks by the framing rules alone.
    let mut at = 0usize;
    let mut leaves = Vec::new();
    let mut veri_root = None;
    while at < file.len() {
        let size = u32::from_le_bytes(file[at + 4..at + 8].try_into().unwrap()) as usize;
        let chunk = &file[at..at + 12 + size];
        let mut crc = crc32fast::Hasher::new();
        crc.update(&chunk[..8]);
        crc.update(&chunk[12..]);
        assert_eq!(
            crc.finalize(),
            u32::from_le_bytes(chunk[8..12].try_into().unwrap())
        );
        match &chunk[..4] {
            b"CORE" | b"SAFE" => leaves.push(<[u8; 32]>::from(
                Sha256::new()
                    .chain_update([0u8])
                    .chain_update(chunk)
                    .finalize(),
            )),
            b"VERI" => veri_root = Some(chunk[12 + 40..12 + 72].to_vec()),
            _ => {}
        }
        at += 12 + size;
    }
    assert_eq!(leaves.len(), 3);
    let node = |l: &[u8], r: &[u8]| -> [u8; 32] {
        Sha256::new()
            .chain_update([1u8])
            .chain_update(l)
            .chain_update(r)
            .finalize()
            .into()
    };
    // RFC 6962 for three leaves: H(H(l0, l1), l2).
    let root = node(&node(&leaves[0], &leaves[1]), &leaves[2]);
    assert_eq!(veri_root.unwrap(), root.to_vec());
}
