//! The HKDF-SHA256 key schedule (RFC 5869): a pseudo-random key per masking session from the
//! master key and the session's salt, then one key per track and mode.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::header::BlockFields;
use super::key::{KEY_LEN, MasterKey};

pub const SALT_LEN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Authenticated; a fresh random salt per session.
    Aes256Gcm = 1,
    /// Unauthenticated and malleable AES-256-CTR keystream, for compatibility.
    Xor = 2,
    /// Authenticated and nonce-misuse resistant: safe with a salt derived from the recording's
    /// session id (named, or its first block), so the same input gives the same bytes.
    Aes256GcmSiv = 3,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Aes256Gcm => "aes-256-gcm",
            Mode::Xor => "xor",
            Mode::Aes256GcmSiv => "aes-256-gcm-siv",
        }
    }

    pub fn from_label(label: &str) -> Option<Mode> {
        [Mode::Aes256Gcm, Mode::Xor, Mode::Aes256GcmSiv]
            .into_iter()
            .find(|m| m.label() == label)
    }

    pub fn from_byte(b: u8) -> Option<Mode> {
        [Mode::Aes256Gcm, Mode::Xor, Mode::Aes256GcmSiv]
            .into_iter()
            .find(|m| *m as u8 == b)
    }

    pub fn authenticated(self) -> bool {
        self != Mode::Xor
    }

    /// Bytes a sealed block adds after the ciphertext.
    pub fn tag_len(self) -> usize {
        if self.authenticated() { 16 } else { 0 }
    }
}

/// Key of one track in one mode: HKDF-Expand(HKDF-Extract(salt, master),
/// "h4mk/v1/<mode>/track" || track as u32 big-endian, 32).
pub fn track_key(
    master: &MasterKey,
    salt: &[u8; SALT_LEN],
    mode: Mode,
    track: u32,
) -> Zeroizing<[u8; KEY_LEN]> {
    let hk = Hkdf::<Sha256>::new(Some(salt), master.bytes());
    let mut info = Vec::with_capacity(32);
    info.extend_from_slice(b"h4mk/v1/");
    info.extend_from_slice(mode.label().as_bytes());
    info.extend_from_slice(b"/track");
    info.extend_from_slice(&track.to_be_bytes());
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    hk.expand(&info, &mut key[..])
        .expect("32 bytes is a valid HKDF length");
    key
}

/// Where the deterministic mode's session comes from: a name given by whoever records, or the
/// recording's own first block. Either way the salt, and so every block key, belongs to one
/// recording, never to the key alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionId<'a> {
    /// An explicit session id (h4mask's `session-id`), as UTF-8 bytes.
    Named(&'a str),
    /// [`first_block_digest`] of the stream's first block.
    FirstBlock(&'a [u8; 32]),
}

/// The session salt of `aes-256-gcm-siv`: HKDF-Expand(HKDF-Extract(no salt, master),
/// "h4mk/v1/aes-256-gcm-siv/session/named/" || id, 16) or
/// "h4mk/v1/aes-256-gcm-siv/session/first-block/" || digest. Safe to reuse only because GCM-SIV
/// tolerates nonce reuse; two recordings with the same id (or the same first block) share it.
pub fn siv_session_salt(master: &MasterKey, id: SessionId<'_>) -> [u8; SALT_LEN] {
    let mut info = b"h4mk/v1/aes-256-gcm-siv/session/".to_vec();
    match id {
        SessionId::Named(name) => {
            info.extend_from_slice(b"named/");
            info.extend_from_slice(name.as_bytes());
        }
        SessionId::FirstBlock(digest) => {
            info.extend_from_slice(b"first-block/");
            info.extend_from_slice(digest);
        }
    }
    let mut salt = [0u8; SALT_LEN];
    Hkdf::<Sha256>::new(None, master.bytes())
        .expand(&info, &mut salt)
        .expect("16 bytes is a valid HKDF length");
    salt
}

/// What a stream's first block contributes to its session: SHA-256(caps digest || u32be(track)
/// || u64be(PTS) || u64be(DTS) || u64be(duration) || u16be(flags) || payload), absent times as
/// all ones. A stream that ends before its first block hashes the caps digest and track alone.
pub fn first_block_digest(
    caps_digest: &[u8; 32],
    track: u32,
    first: Option<(&BlockFields, &[u8])>,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(caps_digest);
    h.update(track.to_be_bytes());
    if let Some((f, payload)) = first {
        for t in [f.pts, f.dts, f.duration] {
            h.update(t.unwrap_or(u64::MAX).to_be_bytes());
        }
        h.update(f.flags.to_be_bytes());
        h.update(payload);
    }
    h.finalize().into()
}

/// A fresh random salt from the operating system.
pub fn random_salt() -> Result<[u8; SALT_LEN], String> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::crypto::unhex as hex;

    #[test]
    fn rfc5869_test_case_1() {
        let ikm = [0x0bu8; 22];
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let (prk, hk) = Hkdf::<Sha256>::extract(Some(&salt), &ikm);
        assert_eq!(
            prk[..],
            hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")[..]
        );
        let mut okm = [0u8; 42];
        hk.expand(&info, &mut okm).unwrap();
        assert_eq!(
            okm[..],
            hex(
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
            )[..]
        );
    }

    #[test]
    fn keys_differ_by_salt_mode_and_track() {
        let m = MasterKey::from_bytes([9; 32]);
        let s1 = [1u8; 16];
        let s2 = [2u8; 16];
        let k = |s: &[u8; 16], mode, t| *track_key(&m, s, mode, t);
        let base = k(&s1, Mode::Aes256Gcm, 0);
        assert_ne!(base, k(&s2, Mode::Aes256Gcm, 0));
        assert_ne!(base, k(&s1, Mode::Xor, 0));
        assert_ne!(base, k(&s1, Mode::Aes256GcmSiv, 0));
        assert_ne!(base, k(&s1, Mode::Aes256Gcm, 1));
        assert_eq!(base, k(&s1, Mode::Aes256Gcm, 0));
        assert_ne!(random_salt().unwrap(), random_salt().unwrap());
        let d = first_block_digest(&[0; 32], 0, None);
        let a = siv_session_salt(&m, SessionId::FirstBlock(&d));
        assert_eq!(a, siv_session_salt(&m, SessionId::FirstBlock(&d)));
        assert_ne!(a, siv_session_salt(&m, SessionId::Named("take 1")));
        assert_ne!(
            siv_session_salt(&m, SessionId::Named("take 1")),
            siv_session_salt(&m, SessionId::Named("take 2"))
        );
        let f = BlockFields {
            pts: Some(0),
            ..Default::default()
        };
        assert_ne!(d, first_block_digest(&[0; 32], 0, Some((&f, b""))));
        assert_ne!(
            first_block_digest(&[0; 32], 0, Some((&f, b"a"))),
            first_block_digest(&[0; 32], 0, Some((&f, b"b")))
        );
    }
}
