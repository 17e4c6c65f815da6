//! SIGN: an Ed25519 signature over one HASH checkpoint or over VERI, placed right after the
//! chunk it signs. The signed message is short and domain-separated: what is signed, where, the
//! number of blocks and the Merkle root it covers, and the signing chain, a digest that folds in
//! every HASH chunk so far (so META, the file header and every other chunk those HASH chunks list
//! are covered too), and VERI for the last signature.

use sha2::{Digest, Sha256};

use crate::crypto::signing::{PUBLIC_KEY_LEN, PublicKey, SIGNATURE_LEN, SigningKey};
use crate::format::chunk::{PayloadReader, TAG_SIGN, encode_chunk};
use crate::format::error::{Code, Error, Result};
use crate::format::merkle::Hash;

/// Prefix of every signed message.
pub const DOMAIN: &[u8; 16] = b"H4MK signature\0\x01";
pub const ALGORITHM_ED25519: u8 = 1;
pub const SIGNED_LEN: usize = 128;
pub const SIGN_PAYLOAD_LEN: usize = SIGNED_LEN + SIGNATURE_LEN;

/// The chunk a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Signed {
    Checkpoint = 1,
    Veri = 2,
}

impl Signed {
    pub fn name(self) -> &'static str {
        match self {
            Signed::Checkpoint => "HASH",
            Signed::Veri => "VERI",
        }
    }
}

/// The chain before the first HASH chunk.
pub const CHAIN_START: Hash = [0; 32];

/// The chain after `chunk` (a HASH or VERI chunk's bytes, header included):
/// SHA-256(previous || SHA-256(chunk)).
pub fn chain_next(previous: &Hash, chunk: &[&[u8]]) -> Hash {
    let mut inner = Sha256::new();
    for p in chunk {
        inner.update(p);
    }
    let mut h = Sha256::new();
    h.update(previous);
    h.update(inner.finalize());
    h.finalize().into()
}

/// One SIGN chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub signed: Signed,
    /// Ordinal and offset of the chunk signed (the one right before this SIGN).
    pub ordinal: u64,
    pub offset: u64,
    /// Blocks covered: leaves `0 .. leaf_count` of the Merkle tree.
    pub leaf_count: u64,
    /// Merkle root over those leaves.
    pub root: Hash,
    pub chain: Hash,
    pub public_key: PublicKey,
    pub signature: [u8; SIGNATURE_LEN],
}

impl Signature {
    /// Signs what a HASH or VERI chunk at `ordinal`/`offset` states.
    #[allow(clippy::too_many_arguments)]
    pub fn sign(
        key: &SigningKey,
        signed: Signed,
        ordinal: u64,
        offset: u64,
        leaf_count: u64,
        root: Hash,
        chain: Hash,
    ) -> Signature {
        let mut s = Signature {
            signed,
            ordinal,
            offset,
            leaf_count,
            root,
            chain,
            public_key: key.public(),
            signature: [0; SIGNATURE_LEN],
        };
        s.signature = key.sign(&s.message());
        s
    }

    /// The fixed fields, as stored (the first 128 bytes of the payload).
    fn signed_fields(&self) -> [u8; SIGNED_LEN] {
        let mut b = [0u8; SIGNED_LEN];
        b[0] = ALGORITHM_ED25519;
        b[1] = self.signed as u8;
        b[8..16].copy_from_slice(&self.ordinal.to_le_bytes());
        b[16..24].copy_from_slice(&self.offset.to_le_bytes());
        b[24..32].copy_from_slice(&self.leaf_count.to_le_bytes());
        b[32..64].copy_from_slice(&self.root);
        b[64..96].copy_from_slice(&self.chain);
        b[96..128].copy_from_slice(&self.public_key.0);
        b
    }

    /// DOMAIN || the 128 fixed bytes.
    pub fn message(&self) -> Vec<u8> {
        let mut m = DOMAIN.to_vec();
        m.extend_from_slice(&self.signed_fields());
        m
    }

    pub fn verifies(&self) -> bool {
        self.public_key.verify(&self.message(), &self.signature)
    }

    pub fn encode_chunk(&self) -> Vec<u8> {
        let mut p = self.signed_fields().to_vec();
        p.extend_from_slice(&self.signature);
        encode_chunk(&TAG_SIGN, &p).expect("a SIGN payload is small")
    }

    pub fn decode(payload: &[u8]) -> Result<Signature> {
        let mut r = PayloadReader::new(payload, "SIGN");
        let algorithm = r.array::<1>()?[0];
        let signed = match r.array::<1>()?[0] {
            1 => Signed::Checkpoint,
            2 => Signed::Veri,
            other => {
                return Err(Error::new(
                    Code::ChunkMalformed,
                    format!("SIGN signs chunk kind {other}; 1 (HASH) and 2 (VERI) exist"),
                ));
            }
        };
        if algorithm != ALGORITHM_ED25519 {
            return Err(Error::new(
                Code::ChunkMalformed,
                format!("SIGN algorithm {algorithm}; 1 (Ed25519) exists"),
            ));
        }
        if r.take(6)?.iter().any(|b| *b != 0) {
            return Err(Error::new(
                Code::ChunkMalformed,
                "SIGN reserved bytes are not zero",
            ));
        }
        let s = Signature {
            signed,
            ordinal: r.u64()?,
            offset: r.u64()?,
            leaf_count: r.u64()?,
            root: r.array()?,
            chain: r.array()?,
            public_key: PublicKey(r.array::<PUBLIC_KEY_LEN>()?),
            signature: r.array()?,
        };
        r.finish()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_byte_counts() {
        let key = SigningKey::from_seed(&[7; 32]).unwrap();
        let s = Signature::sign(&key, Signed::Checkpoint, 40, 9000, 33, [1; 32], [2; 32]);
        assert!(s.verifies());
        let chunk = s.encode_chunk();
        assert_eq!(chunk.len(), 12 + SIGN_PAYLOAD_LEN);
        assert_eq!(Signature::decode(&chunk[12..]).unwrap(), s);
        for i in 12..chunk.len() {
            let mut c = chunk.clone();
            c[i] ^= 0x01;
            match Signature::decode(&c[12..]) {
                Ok(t) => assert!(!t.verifies(), "byte {i} flipped still verifies"),
                Err(e) => assert_eq!(e.code, Code::ChunkMalformed),
            }
        }
        let chain = chain_next(&CHAIN_START, &[b"HASH", b"rest"]);
        assert_eq!(chain, chain_next(&CHAIN_START, &[b"HASHrest"]));
        assert_ne!(chain, chain_next(&chain, &[b"HASHrest"]));
    }

    /// The example of docs/H4MK.md section 3.9 (checked there with Python's `cryptography`).
    #[test]
    fn published_example() {
        use crate::crypto::unhex;
        let doc = include_str!("../../docs/H4MK.md");
        let key = SigningKey::from_seed(
            &unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .try_into()
                .unwrap(),
        )
        .unwrap();
        let root = unhex("7c8d2290ca6c6bce06532e62c7c7cdbd279e4df528da7f146feb8bd77c33e031");
        let s = Signature::sign(
            &key,
            Signed::Veri,
            8,
            948,
            3,
            root.try_into().unwrap(),
            [2; 32],
        );
        let hex = crate::format::merkle::hex;
        for (what, value) in [
            ("message", hex(&s.message())),
            ("signature", hex(&s.signature)),
            ("key id", key.public().id().to_string()),
        ] {
            assert!(
                doc.contains(&value),
                "docs/H4MK.md gives the {what} {value}"
            );
        }
    }

    #[test]
    fn chain_folds_whole_chunks() {
        let chain = chain_next(&CHAIN_START, &[b"HASH", b"rest"]);
        assert_eq!(chain, chain_next(&CHAIN_START, &[b"HASH", b"re", b"st"]));
        assert_ne!(chain, CHAIN_START);
    }
}
