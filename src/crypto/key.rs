//! The master key and its public identifier. Key bytes never appear in `Debug`, `Display` or
//! error text, and are wiped when dropped.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::Error;
use crate::format::limits::MAX_KEY_FILE;

pub const KEY_LEN: usize = 32;
pub const KEY_ID_LEN: usize = 16;

/// A 256-bit master key.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id {})", self.id())
    }
}

/// The public identifier of a master key: lets an unmasker tell "wrong key" from "tampered".
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::merkle::hex(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        MasterKey(Zeroizing::new(bytes))
    }

    /// A key given as 64 hex digits (either case; surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let text = text.trim();
        if text.len() != 2 * KEY_LEN {
            return Err(Error::KeyFormat(format!(
                "{} characters; a hex key has {}",
                text.len(),
                2 * KEY_LEN
            )));
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        for (i, pair) in text.as_bytes().chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]);
            let lo = hex_digit(pair[1]);
            match (hi, lo) {
                (Some(h), Some(l)) => key[i] = h << 4 | l,
                _ => {
                    return Err(Error::KeyFormat(format!(
                        "not a hex digit at position {}",
                        2 * i + usize::from(hi.is_some())
                    )));
                }
            }
        }
        Ok(MasterKey(key))
    }

    /// A key file's contents: exactly 32 raw bytes, or 64 hex digits (a trailing newline
    /// allowed).
    pub fn parse(contents: &[u8]) -> Result<Self, Error> {
        if contents.len() == KEY_LEN {
            let mut key = Zeroizing::new([0u8; KEY_LEN]);
            key.copy_from_slice(contents);
            return Ok(MasterKey(key));
        }
        match std::str::from_utf8(contents) {
            Ok(text) if text.trim().len() == 2 * KEY_LEN => Self::from_hex(text),
            _ => Err(Error::KeyFormat(format!(
                "{} bytes; a key file holds 32 raw bytes or 64 hex digits",
                contents.len()
            ))),
        }
    }

    /// Reads a key file, refusing anything longer than [`MAX_KEY_FILE`] bytes whatever the
    /// file system says of its size (`/dev/zero`, a pipe or a growing file).
    pub fn read_file(path: &std::path::Path) -> Result<Self, Error> {
        use std::io::Read;
        let fail = |what: String| Error::KeyFile(format!("{}: {what}", path.display()));
        let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let mut contents = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
        file.take(MAX_KEY_FILE + 1)
            .read_to_end(&mut contents)
            .map_err(|e| fail(e.to_string()))?;
        if contents.len() as u64 > MAX_KEY_FILE {
            return Err(fail(format!(
                "more than {MAX_KEY_FILE} bytes, too large for a key file"
            )));
        }
        Self::parse(&contents).map_err(|e| fail(e.to_string()))
    }

    /// HKDF-SHA256(ikm = key, no salt, info = "h4mk/v1/key-id"), 16 bytes.
    pub fn id(&self) -> KeyId {
        let mut id = [0u8; KEY_ID_LEN];
        Hkdf::<Sha256>::new(None, &self.0[..])
            .expand(b"h4mk/v1/key-id", &mut id)
            .expect("16 bytes is a valid HKDF length");
        KeyId(id)
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn forms_of_a_key_file() {
        let raw: Vec<u8> = (0u8..32).collect();
        let a = MasterKey::parse(&raw).unwrap();
        let b = MasterKey::parse(format!("{HEX}\n").as_bytes()).unwrap();
        let c = MasterKey::from_hex(&HEX.to_uppercase()).unwrap();
        assert_eq!(a.bytes(), b.bytes());
        assert_eq!(a.bytes(), c.bytes());
        assert_eq!(a.id(), c.id());
    }

    #[test]
    fn errors_never_show_the_key() {
        let mut bad = HEX.to_string();
        bad.replace_range(10..11, "g");
        let e = MasterKey::from_hex(&bad).unwrap_err().to_string();
        assert_eq!(e, "key: not a hex digit at position 10");
        assert!(!e.contains("0102"));
        let e = MasterKey::parse(&[7u8; 31]).unwrap_err().to_string();
        assert_eq!(
            e,
            "key: 31 bytes; a key file holds 32 raw bytes or 64 hex digits"
        );
        let k = MasterKey::from_hex(HEX).unwrap();
        let shown = format!("{k:?}");
        assert!(!shown.contains(HEX) && !shown.contains("0001"), "{shown}");
        assert!(shown.contains(&k.id().to_string()));
    }

    #[test]
    fn key_id_is_hkdf_of_the_key() {
        // Vector published in docs/MASK.md (checked independently with HMAC-SHA256).
        let k = MasterKey::from_hex(HEX).unwrap();
        assert_eq!(k.id().to_string(), KEY_ID_OF_HEX);
    }

    pub const KEY_ID_OF_HEX: &str = "a365c183f57dd5f50105fe8ac1fbad45";
}
