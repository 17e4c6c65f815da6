//! Ed25519 signing keys (RFC 8032) and their public keys, in the files OpenSSL reads and writes:
//! a PKCS#8 `PRIVATE KEY` and an SPKI `PUBLIC KEY`, PEM or DER. The private key never appears in
//! `Debug`, `Display` or error text, and the bytes read for it are wiped when dropped (ring keeps
//! its own expanded copy, which is not).

use std::fmt;
use std::path::Path;

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::Error;
use crate::format::limits::MAX_KEY_FILE;

pub const PUBLIC_KEY_LEN: usize = 32;
pub const SIGNATURE_LEN: usize = 64;
pub const SIGNER_ID_LEN: usize = 16;

/// DER of an Ed25519 PKCS#8 v1 private key before its 32-byte seed (RFC 8410), the form
/// OpenSSL writes and reads.
const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// DER of an Ed25519 SubjectPublicKeyInfo before its 32 key bytes (RFC 8410).
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The public identifier of a signing key: the first 16 bytes of SHA-256 of its public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SignerId(pub [u8; SIGNER_ID_LEN]);

impl fmt::Display for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::format::merkle::hex(&self.0))
    }
}

impl fmt::Debug for SignerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerId({self})")
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; PUBLIC_KEY_LEN]);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(id {})", self.id())
    }
}

impl PublicKey {
    pub fn id(&self) -> SignerId {
        let d = Sha256::digest(self.0);
        let mut id = [0u8; SIGNER_ID_LEN];
        id.copy_from_slice(&d[..SIGNER_ID_LEN]);
        SignerId(id)
    }

    pub fn verify(&self, message: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(message, signature)
            .is_ok()
    }

    /// SPKI DER (RFC 8410), as `openssl pkey -pubout -outform DER` writes it.
    pub fn to_der(&self) -> Vec<u8> {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.0);
        der
    }

    /// A PEM `PUBLIC KEY`, as `openssl pkey -pubout` writes it.
    pub fn to_pem(&self) -> String {
        pem_lf(&pem::Pem::new("PUBLIC KEY", self.to_der()))
    }

    /// A public key file's contents: a PEM `PUBLIC KEY`, its DER, or 64 hex digits.
    pub fn parse(contents: &[u8]) -> Result<PublicKey, Error> {
        let der = match pem::parse(contents) {
            Ok(p) if p.tag() == "PUBLIC KEY" => p.into_contents(),
            Ok(p) => {
                return Err(Error::KeyFormat(format!(
                    "a PEM {}, not a PUBLIC KEY",
                    p.tag()
                )));
            }
            Err(_) => match std::str::from_utf8(contents).map(str::trim) {
                // ASCII only: a multi-byte character must not split a digit pair.
                Ok(text) if text.len() == 2 * PUBLIC_KEY_LEN && text.is_ascii() => {
                    let mut key = [0u8; PUBLIC_KEY_LEN];
                    for (i, b) in key.iter_mut().enumerate() {
                        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                            .map_err(|_| Error::KeyFormat("not 64 hex digits".into()))?;
                    }
                    return Ok(PublicKey(key));
                }
                _ => contents.to_vec(),
            },
        };
        match der.strip_prefix(&SPKI_PREFIX[..]) {
            Some(key) if key.len() == PUBLIC_KEY_LEN => {
                Ok(PublicKey(key.try_into().expect("32 bytes")))
            }
            _ => Err(Error::KeyFormat(
                "not an Ed25519 public key (PEM or DER SubjectPublicKeyInfo, or 64 hex digits)"
                    .into(),
            )),
        }
    }

    pub fn read_file(path: &Path) -> Result<PublicKey, Error> {
        let contents = read_key_file(path)?;
        Self::parse(&contents).map_err(|e| Error::KeyFile(format!("{}: {e}", path.display())))
    }
}

/// An Ed25519 key pair.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    public: PublicKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(id {})", self.public.id())
    }
}

impl SigningKey {
    /// A new key from the operating system's random numbers, with its PKCS#8 v1 document (RFC
    /// 8410, as OpenSSL writes it; to be written to a key file; wiped when dropped).
    pub fn generate() -> Result<(SigningKey, Zeroizing<Vec<u8>>), Error> {
        let mut der = Zeroizing::new(PKCS8_V1_PREFIX.to_vec());
        der.resize(PKCS8_V1_PREFIX.len() + 32, 0);
        getrandom::getrandom(&mut der[PKCS8_V1_PREFIX.len()..])
            .map_err(|e| Error::KeyFormat(format!("no random numbers for a new key: {e}")))?;
        Ok((Self::from_pkcs8(&der)?, der))
    }

    /// From a PKCS#8 document (v1 as OpenSSL writes, or v2 as ring does).
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, Error> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(Self::of_pair)
            .map_err(|_| Error::KeyFormat("not an Ed25519 PKCS#8 private key".into()))
    }

    fn of_pair(pair: Ed25519KeyPair) -> SigningKey {
        let public = PublicKey(
            pair.public_key()
                .as_ref()
                .try_into()
                .expect("32-byte Ed25519 public key"),
        );
        SigningKey { pair, public }
    }

    /// From the 32-byte seed of RFC 8032 (test vectors).
    pub fn from_seed(seed: &[u8; 32]) -> Result<SigningKey, Error> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(Self::of_pair)
            .map_err(|_| Error::KeyFormat("not an Ed25519 seed".into()))
    }

    /// A private key file's contents: a PEM `PRIVATE KEY` or its DER.
    pub fn parse(contents: &[u8]) -> Result<SigningKey, Error> {
        match pem::parse(contents) {
            Ok(p) if p.tag() == "PRIVATE KEY" => {
                Self::from_pkcs8(&Zeroizing::new(p.into_contents()))
            }
            Ok(p) => Err(Error::KeyFormat(format!(
                "a PEM {}, not a PRIVATE KEY",
                p.tag()
            ))),
            Err(_) => Self::from_pkcs8(contents),
        }
    }

    pub fn read_file(path: &Path) -> Result<SigningKey, Error> {
        let contents = read_key_file(path)?;
        Self::parse(&contents).map_err(|e| Error::KeyFile(format!("{}: {e}", path.display())))
    }

    /// A PEM `PRIVATE KEY` of a PKCS#8 document.
    pub fn pem_of(pkcs8: &[u8]) -> Zeroizing<String> {
        Zeroizing::new(pem_lf(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec())))
    }

    pub fn public(&self) -> PublicKey {
        self.public
    }

    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.pair
            .sign(message)
            .as_ref()
            .try_into()
            .expect("64-byte Ed25519 signature")
    }
}

/// PEM with Unix line ends, as OpenSSL writes it.
fn pem_lf(p: &pem::Pem) -> String {
    pem::encode_config(
        p,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// A key file, refused past [`MAX_KEY_FILE`] bytes whatever the file system says of its size.
fn read_key_file(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    use std::io::Read;
    let fail = |what: String| Error::KeyFile(format!("{}: {what}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut contents = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut contents)
        .map_err(|e| fail(e.to_string()))?;
    if contents.len() as u64 > MAX_KEY_FILE {
        return Err(fail(format!(
            "more than {MAX_KEY_FILE} bytes, too large for a key file"
        )));
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::unhex as hex;

    /// RFC 8032 section 7.1, TEST 1, 2, 3 and SHA(abc).
    #[test]
    fn rfc8032_test_vectors() {
        let vectors = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
            (
                "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
                "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
                "af82",
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
            ),
            (
                "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
                "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
                "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
            ),
        ];
        for (seed, public, message, signature) in vectors {
            let key = SigningKey::from_seed(&hex(seed).try_into().unwrap()).unwrap();
            assert_eq!(key.public().0[..], hex(public)[..]);
            let sig = key.sign(&hex(message));
            assert_eq!(sig[..], hex(signature)[..]);
            assert!(key.public().verify(&hex(message), &sig));
            let mut bad = sig;
            bad[10] ^= 1;
            assert!(!key.public().verify(&hex(message), &bad));
            assert!(!key.public().verify(b"another message", &sig));
        }
    }

    #[test]
    fn key_files_round_trip_and_errors_name_no_key_bytes() {
        let (key, pkcs8) = SigningKey::generate().unwrap();
        let pem = SigningKey::pem_of(&pkcs8);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = SigningKey::parse(pem.as_bytes()).unwrap();
        assert_eq!(again.public(), key.public());
        assert_eq!(SigningKey::parse(&pkcs8).unwrap().public(), key.public());
        let public = key.public();
        assert_eq!(
            PublicKey::parse(public.to_pem().as_bytes()).unwrap(),
            public
        );
        assert_eq!(PublicKey::parse(&public.to_der()).unwrap(), public);
        let hexed: String = public.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(PublicKey::parse(hexed.as_bytes()).unwrap(), public);
        // Found by fuzzing: 64 bytes of text (after trimming) with a two-byte character that a
        // digit pair would split.
        let mut odd = vec![b'!', 0xc2, 0xa3];
        odd.resize(64, 0);
        odd.push(b' ');
        let e = PublicKey::parse(&odd).unwrap_err();
        assert_eq!(e.code(), "key.format");
        // A private key where a public one is expected, and the other way round.
        let e = PublicKey::parse(pem.as_bytes()).unwrap_err().to_string();
        assert_eq!(e, "key: a PEM PRIVATE KEY, not a PUBLIC KEY");
        let e = SigningKey::parse(public.to_pem().as_bytes())
            .unwrap_err()
            .to_string();
        assert_eq!(e, "key: a PEM PUBLIC KEY, not a PRIVATE KEY");
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("SigningKey(id {})", public.id()));
        // OpenSSL's PKCS#8 v1 form (`openssl genpkey -algorithm ed25519`) of RFC 8032's TEST 1.
        let v1 = hex(
            "302e020100300506032b6570042204209d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        );
        assert_eq!(
            SigningKey::parse(&v1).unwrap().public().0[..],
            hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")[..]
        );
    }
}
