//! Sealing and opening one block: header || ciphertext || tag. The AEAD nonce (and the CTR
//! counter block) comes from the block index, unique under a per-track key, so any block opens on
//! its own, with no stored IV.

use aes::Aes256;
use aes_gcm_siv::aead::{AeadInPlace, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce, Tag};
use ctr::cipher::{InnerIvInit, StreamCipher, StreamCipherCoreWrapper};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, UnboundKey};

use super::Error;
use super::header::{BlockFields, HEADER_LEN, MaskHeader};
use super::key::{KeyId, MasterKey};
use super::schedule::{Mode, SALT_LEN, track_key};

type Ctr = StreamCipherCoreWrapper<ctr::CtrCore<Aes256, ctr::flavors::Ctr64BE>>;

enum Cipher {
    /// ring's AES-256-GCM (BoringSSL's assembly: several times the speed of a portable one).
    Gcm(Box<LessSafeKey>),
    Siv(Box<Aes256GcmSiv>),
    Ctr(Box<Aes256>),
}

impl Cipher {
    fn new(master: &MasterKey, mode: Mode, salt: &[u8; SALT_LEN], track: u32) -> Cipher {
        let key = track_key(master, salt, mode, track);
        match mode {
            Mode::Aes256Gcm => Cipher::Gcm(Box::new(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, &key[..]).expect("a 32-byte key"),
            ))),
            Mode::Aes256GcmSiv => Cipher::Siv(Box::new(Aes256GcmSiv::new((&*key).into()))),
            Mode::Xor => Cipher::Ctr(Box::new(Aes256::new((&*key).into()))),
        }
    }
}

/// 96-bit nonce: four zero bytes, then the block index as u64 big-endian.
fn nonce(index: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&index.to_be_bytes());
    n
}

/// CTR counter block: the block index as u64 big-endian, then a 64-bit big-endian counter
/// from 0.
fn ctr_for(aes: &Aes256, index: u64) -> Ctr {
    let mut iv = [0u8; 16];
    iv[..8].copy_from_slice(&index.to_be_bytes());
    Ctr::from_core(ctr::CtrCore::inner_iv_init(aes.clone(), &iv.into()))
}

/// Masks the blocks of one track in one session.
pub struct Sealer {
    template: MaskHeader,
    cipher: Cipher,
}

impl Sealer {
    pub fn new(
        master: &MasterKey,
        mode: Mode,
        salt: [u8; SALT_LEN],
        track: u32,
        caps_digest: [u8; 32],
    ) -> Sealer {
        Sealer {
            template: MaskHeader {
                mode,
                key_id: master.id(),
                salt,
                track,
                caps_digest,
                fields: BlockFields::default(),
                payload_len: 0,
            },
            cipher: Cipher::new(master, mode, &salt, track),
        }
    }

    pub fn key_id(&self) -> KeyId {
        self.template.key_id
    }

    pub fn salt(&self) -> [u8; SALT_LEN] {
        self.template.salt
    }

    /// Size of the masked form of a payload of `payload_len` bytes.
    pub fn sealed_len(&self, payload_len: usize) -> usize {
        HEADER_LEN + payload_len + self.template.mode.tag_len()
    }

    /// Writes header || ciphertext || tag to `dst`, which must be `sealed_len(payload.len())`
    /// bytes. Payloads are limited to 4 GiB − 1.
    pub fn seal_into(&self, fields: BlockFields, payload: &[u8], dst: &mut [u8]) {
        assert_eq!(dst.len(), self.sealed_len(payload.len()));
        let header = MaskHeader {
            fields,
            payload_len: u32::try_from(payload.len()).expect("payload under 4 GiB"),
            ..self.template
        };
        let aad = header.encode();
        let (head, rest) = dst.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&aad);
        let (body, tag) = rest.split_at_mut(payload.len());
        body.copy_from_slice(payload);
        let n = nonce(fields.index);
        match &self.cipher {
            Cipher::Gcm(c) => tag.copy_from_slice(
                c.seal_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(n),
                    Aad::from(&aad[..]),
                    body,
                )
                .expect("payload within GCM limits")
                .as_ref(),
            ),
            Cipher::Siv(c) => tag.copy_from_slice(
                &c.encrypt_in_place_detached(Nonce::from_slice(&n), &aad, body)
                    .expect("payload within GCM-SIV limits"),
            ),
            Cipher::Ctr(aes) => ctr_for(aes, fields.index).apply_keystream(body),
        }
    }

    /// `seal_into` a new vector.
    pub fn seal(&self, fields: BlockFields, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; self.sealed_len(payload.len())];
        self.seal_into(fields, payload, &mut out);
        out
    }
}

/// Opens the blocks of one track of one session.
pub struct Opener {
    key_id: KeyId,
    mode: Mode,
    salt: [u8; SALT_LEN],
    track: u32,
    cipher: Cipher,
}

impl Opener {
    pub fn new(master: &MasterKey, mode: Mode, salt: [u8; SALT_LEN], track: u32) -> Opener {
        Opener {
            key_id: master.id(),
            mode,
            salt,
            track,
            cipher: Cipher::new(master, mode, &salt, track),
        }
    }

    /// Checks `block` (parsed as `header`) and writes its plaintext to `dst`
    /// (`header.payload_len` bytes). Nothing is written on failure except ciphertext that
    /// did not authenticate, which the caller must discard.
    pub fn open_into(
        &self,
        block: &[u8],
        header: &MaskHeader,
        dst: &mut [u8],
    ) -> Result<(), Error> {
        if header.key_id != self.key_id {
            return Err(Error::WrongKey {
                block: header.key_id,
                configured: self.key_id,
            });
        }
        let tampered = || Error::Tampered {
            track: header.track,
            index: header.fields.index,
            pts: header.fields.pts,
        };
        if header.mode != self.mode || header.salt != self.salt || header.track != self.track {
            return Err(tampered());
        }
        let len = header.payload_len as usize;
        assert_eq!(dst.len(), len);
        let aad = &block[..HEADER_LEN];
        dst.copy_from_slice(&block[HEADER_LEN..HEADER_LEN + len]);
        let tag = &block[HEADER_LEN + len..];
        let n = nonce(header.fields.index);
        let ok = match &self.cipher {
            Cipher::Gcm(c) => c
                .open_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(n),
                    Aad::from(aad),
                    ring::aead::Tag::try_from(tag).expect("16-byte tag"),
                    dst,
                    0..,
                )
                .is_ok(),
            Cipher::Siv(c) => c
                .decrypt_in_place_detached(Nonce::from_slice(&n), aad, dst, Tag::from_slice(tag))
                .is_ok(),
            Cipher::Ctr(aes) => {
                ctr_for(aes, header.fields.index).apply_keystream(dst);
                true
            }
        };
        if ok { Ok(()) } else { Err(tampered()) }
    }

    /// Parses and opens `block` into a new vector.
    pub fn open(&self, block: &[u8]) -> Result<(MaskHeader, Vec<u8>), Error> {
        let header = MaskHeader::parse(block)?;
        let mut out = vec![0u8; header.payload_len as usize];
        self.open_into(block, &header, &mut out)?;
        Ok((header, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::header::{FLAG_FINAL, FLAG_KEYFRAME};

    use crate::crypto::unhex as hex;

    #[test]
    fn nist_gcm_aes256_test_cases_13_and_14() {
        let c = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0u8; 32]).unwrap());
        let n = || ring::aead::Nonce::assume_unique_for_key([0u8; 12]);
        let mut empty: [u8; 0] = [];
        let t = c
            .seal_in_place_separate_tag(n(), Aad::empty(), &mut empty)
            .unwrap();
        assert_eq!(t.as_ref(), &hex("530f8afbc74536b9a963b4f1c4cb738b")[..]);
        let mut block = [0u8; 16];
        let t = c
            .seal_in_place_separate_tag(n(), Aad::empty(), &mut block)
            .unwrap();
        assert_eq!(block[..], hex("cea7403d4d606b6e074ec5d3baf39d18")[..]);
        assert_eq!(t.as_ref(), &hex("d0d1c8a799996bf0265b98b5d48ab919")[..]);
    }

    #[test]
    fn nist_sp800_38a_ctr_aes256() {
        use ctr::cipher::KeyIvInit;
        let key = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        let iv = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
        let mut data = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let mut c = ctr::Ctr128BE::<Aes256>::new(key[..].into(), iv[..].into());
        c.apply_keystream(&mut data);
        assert_eq!(
            data,
            hex("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5")
        );
    }

    fn fields(index: u64) -> BlockFields {
        BlockFields {
            index,
            flags: FLAG_KEYFRAME,
            pts: Some(index * 40_000_000),
            dts: None,
            duration: Some(40_000_000),
        }
    }

    #[test]
    fn round_trip_in_every_mode() {
        let master = MasterKey::from_bytes([3; 32]);
        for mode in [Mode::Aes256Gcm, Mode::Aes256GcmSiv, Mode::Xor] {
            let s = Sealer::new(&master, mode, [5; 16], 2, [7; 32]);
            let o = Opener::new(&master, mode, [5; 16], 2);
            for len in [0usize, 1, 15, 16, 17, 1000] {
                let payload: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                let sealed = s.seal(fields(len as u64), &payload);
                assert_eq!(sealed.len(), HEADER_LEN + len + mode.tag_len());
                if len > 0 {
                    assert_ne!(&sealed[HEADER_LEN..HEADER_LEN + len], &payload[..]);
                }
                let (h, plain) = o.open(&sealed).unwrap();
                assert_eq!(plain, payload);
                assert_eq!(h.fields, fields(len as u64));
                assert_eq!(h.caps_digest, [7; 32]);
            }
        }
    }

    #[test]
    fn any_altered_bit_fails_in_the_authenticated_modes() {
        let master = MasterKey::from_bytes([3; 32]);
        for mode in [Mode::Aes256Gcm, Mode::Aes256GcmSiv] {
            let s = Sealer::new(&master, mode, [5; 16], 2, [7; 32]);
            let o = Opener::new(&master, mode, [5; 16], 2);
            let sealed = s.seal(fields(9), b"some media bytes");
            for byte in 0..sealed.len() {
                let mut t = sealed.clone();
                t[byte] ^= 0x10;
                let err = o.open(&t).unwrap_err();
                assert!(
                    matches!(
                        err,
                        Error::Tampered { .. } | Error::Malformed(_) | Error::WrongKey { .. }
                    ),
                    "{mode:?} byte {byte}: {err}"
                );
            }
        }
    }

    #[test]
    fn wrong_key_other_track_and_other_session_are_named() {
        let a = MasterKey::from_bytes([3; 32]);
        let b = MasterKey::from_bytes([4; 32]);
        let sealed = Sealer::new(&a, Mode::Aes256Gcm, [5; 16], 2, [0; 32]).seal(fields(1), b"x");
        let e = Opener::new(&b, Mode::Aes256Gcm, [5; 16], 2)
            .open(&sealed)
            .unwrap_err();
        assert_eq!(
            e,
            Error::WrongKey {
                block: a.id(),
                configured: b.id()
            }
        );
        assert!(e.to_string().contains(&a.id().to_string()));
        let e = Opener::new(&a, Mode::Aes256Gcm, [5; 16], 3)
            .open(&sealed)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "block 1 of track 2 (PTS 40000000 ns) fails authentication: altered, moved or truncated"
        );
        let e = Opener::new(&a, Mode::Aes256Gcm, [6; 16], 2)
            .open(&sealed)
            .unwrap_err();
        assert_eq!(e.code(), "safe.auth.failed");
        // A seal is a header and a tag.
        let seal = Sealer::new(&a, Mode::Aes256Gcm, [5; 16], 2, [0; 32]).seal(
            BlockFields {
                index: 2,
                flags: FLAG_FINAL,
                ..Default::default()
            },
            b"",
        );
        let (h, p) = Opener::new(&a, Mode::Aes256Gcm, [5; 16], 2)
            .open(&seal)
            .unwrap();
        assert!(h.is_final() && p.is_empty());
    }

    #[test]
    fn xor_is_malleable_as_documented() {
        let m = MasterKey::from_bytes([3; 32]);
        let s = Sealer::new(&m, Mode::Xor, [5; 16], 0, [0; 32]);
        let mut sealed = s.seal(fields(0), b"attack at dawn");
        sealed[HEADER_LEN] ^= b'a' ^ b'A';
        let (_, plain) = Opener::new(&m, Mode::Xor, [5; 16], 0)
            .open(&sealed)
            .unwrap();
        assert_eq!(plain, b"Attack at dawn");
    }

    #[test]
    fn siv_is_deterministic_and_gcm_sessions_differ() {
        let m = MasterKey::from_bytes([3; 32]);
        let salt = [0x5a; 16];
        let a = Sealer::new(&m, Mode::Aes256GcmSiv, salt, 0, [0; 32]).seal(fields(4), b"same");
        let b = Sealer::new(&m, Mode::Aes256GcmSiv, salt, 0, [0; 32]).seal(fields(4), b"same");
        assert_eq!(a, b);
        let s1 = crate::crypto::schedule::random_salt().unwrap();
        let s2 = crate::crypto::schedule::random_salt().unwrap();
        let a = Sealer::new(&m, Mode::Aes256Gcm, s1, 0, [0; 32]).seal(fields(4), b"same");
        let b = Sealer::new(&m, Mode::Aes256Gcm, s2, 0, [0; 32]).seal(fields(4), b"same");
        assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..]);
    }
}

#[cfg(test)]
mod vectors {
    //! The test vectors published in docs/MASK.md.
    use super::*;
    use crate::crypto::header::FLAG_KEYFRAME;
    use crate::crypto::schedule::track_key;
    use sha2::{Digest, Sha256};

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    pub fn inputs() -> (
        MasterKey,
        [u8; 16],
        u32,
        [u8; 32],
        BlockFields,
        &'static [u8],
    ) {
        let key = MasterKey::from_bytes(std::array::from_fn(|i| i as u8));
        let salt: [u8; 16] = std::array::from_fn(|i| 0xa0 + i as u8);
        let digest: [u8; 32] = Sha256::digest(b"audio/x-opus").into();
        let fields = BlockFields {
            index: 5,
            flags: FLAG_KEYFRAME,
            pts: Some(1_000_000_000),
            dts: None,
            duration: Some(20_000_000),
        };
        (key, salt, 3, digest, fields, "HarmonyØ4".as_bytes())
    }

    /// Each mode's track key and sealed block, as docs/MASK.md publishes them (checked there
    /// against an independent implementation: Python's `cryptography` over OpenSSL).
    const PUBLISHED: [(Mode, &str, &str); 3] = [
        (
            Mode::Aes256Gcm,
            "fc0b5bf537ef5e115a9cef996759bb790a16287155e20d65bc4d1b1e542508b7",
            "48344d5301010100a365c183f57dd5f50105fe8ac1fbad45a0a1a2a3a4a5a6a7a8a9aaabacadaeaf03000000050000000000000000ca9a3b00000000ffffffffffffffff002d3101000000008f63bb6ade7089df6b882882cb28e4bdaa0ac40ceab100e407ac8fcce8767efe0a00000006062a050e3ce9d7f4e3425c5d972badf59bbae2bebcaf9492aa",
        ),
        (
            Mode::Aes256GcmSiv,
            "82bfa325263cd8eef9934798159b5b1de06b8c83ad091d959350f24c255d3628",
            "48344d5301030100a365c183f57dd5f50105fe8ac1fbad45a0a1a2a3a4a5a6a7a8a9aaabacadaeaf03000000050000000000000000ca9a3b00000000ffffffffffffffff002d3101000000008f63bb6ade7089df6b882882cb28e4bdaa0ac40ceab100e407ac8fcce8767efe0a000000aa15ef94f23a0eb0c8fb6fe5aa49f0dfbe663a0c58f27117703a",
        ),
        (
            Mode::Xor,
            "ea611e31ec401e6c2d41e3fd670ca80beef87e894f55eef748d321187b1c72c2",
            "48344d5301020100a365c183f57dd5f50105fe8ac1fbad45a0a1a2a3a4a5a6a7a8a9aaabacadaeaf03000000050000000000000000ca9a3b00000000ffffffffffffffff002d3101000000008f63bb6ade7089df6b882882cb28e4bdaa0ac40ceab100e407ac8fcce8767efe0a0000000a824350b6d845a33013",
        ),
    ];

    #[test]
    fn published_vectors() {
        let doc = include_str!("../../docs/MASK.md");
        let (key, salt, track, digest, fields, payload) = inputs();
        for (mode, want_key, want_sealed) in PUBLISHED {
            assert_eq!(
                hex(&track_key(&key, &salt, mode, track)[..]),
                want_key,
                "{mode:?}"
            );
            let sealed = Sealer::new(&key, mode, salt, track, digest).seal(fields, payload);
            assert_eq!(hex(&sealed), want_sealed, "{mode:?}");
            let (h, plain) = Opener::new(&key, mode, salt, track).open(&sealed).unwrap();
            assert_eq!((h.fields, plain.as_slice()), (fields, payload));
            assert!(
                doc.contains(want_key) && doc.contains(want_sealed),
                "docs/MASK.md lists the {mode:?} vector"
            );
        }
        assert!(doc.contains(&key.id().to_string()));
    }

    /// The aes-256-gcm-siv session salts published in docs/MASK.md (checked there with Python's
    /// hmac and hashlib): a named session and the first-block session of the vector's block.
    #[test]
    fn published_session_salts() {
        use crate::crypto::schedule::{SessionId, first_block_digest, siv_session_salt};
        let doc = include_str!("../../docs/MASK.md");
        let (key, _, track, digest, fields, payload) = inputs();
        let named = hex(&siv_session_salt(&key, SessionId::Named("take-1")));
        let first = first_block_digest(&digest, track, Some((&fields, payload)));
        let from_first = hex(&siv_session_salt(&key, SessionId::FirstBlock(&first)));
        for (got, want) in [
            (named, "c2dda1d386c35f7daaa33431602bdebc"),
            (
                hex(&first),
                "2234699c10b8f46e1137bed23ca39d85bd2ed1df003dec359a765d30de33b977",
            ),
            (from_first, "3cc7371425a45b609868b2279303bbf3"),
        ] {
            assert_eq!(got, want);
            assert!(doc.contains(want), "docs/MASK.md lists {want}");
        }
    }
}
