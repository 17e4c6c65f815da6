//! The fixed-layout headers inside chunks: the block header, the masked-block (SAFE payload)
//! header, a masked block opened under a fixed key, a SIGN payload, a token frame, and the same
//! bytes as a block proof (JSON) and as key files.
#![no_main]

use gsth4::crypto::{MaskHeader, MasterKey, Mode, Opener};
use gsth4::fft::tokens::TokenFrame;
use gsth4::crypto::signing::{PublicKey, SigningKey};
use gsth4::format::block::BlockHeader;
use gsth4::format::proof::{Proof, check_proof};
use gsth4::format::signature::Signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((h, media)) = BlockHeader::decode(data) {
        // Header and clipping record re-encode to the bytes they came from.
        assert_eq!(&h.encode()[..], &data[..data.len() - media.len()]);
    }
    if let Ok(h) = MaskHeader::parse(data) {
        assert_eq!(MaskHeader::parse(&data[..]).ok(), Some(h));
        let key = MasterKey::from_bytes([7; 32]);
        for mode in [Mode::Aes256Gcm, Mode::Aes256GcmSiv, Mode::Xor] {
            let _ = Opener::new(&key, mode, h.salt, h.track).open(data);
        }
    }
    if let Ok(s) = Signature::decode(data) {
        assert_eq!(&s.encode_chunk()[12..], data, "a SIGN payload re-encodes to its bytes");
        let _ = s.verifies();
    }
    if let Ok(p) = serde_json::from_slice::<Proof>(data) {
        let _ = check_proof(&p);
    }
    let _ = PublicKey::parse(data);
    let _ = SigningKey::parse(data);
    if let Ok(f) = TokenFrame::decode(data) {
        let mut again = Vec::new();
        f.encode(&mut again);
        assert_eq!(again, data, "a token frame re-encodes to its bytes");
    }
});
