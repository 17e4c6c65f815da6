//! The clear header in front of every masked block. It is the associated data of the AEAD, so
//! every field is authenticated in the GCM modes: moving, reordering or re-timing a block, or
//! swapping its caps, makes it fail to open.

use super::Error;
use super::key::{KEY_ID_LEN, KeyId};
use super::schedule::{Mode, SALT_LEN};

pub const MAGIC: &[u8; 4] = b"H4MS";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 112;
/// Stored for an absent timestamp.
pub const TIME_NONE: u64 = u64::MAX;

/// Flag: the original buffer was a keyframe (no DELTA_UNIT).
pub const FLAG_KEYFRAME: u16 = 1;
/// Flag: the final seal, sealed after the last block of a stream; carries no payload.
pub const FLAG_FINAL: u16 = 2;

/// What a masked block says about the buffer it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockFields {
    pub index: u64,
    pub flags: u16,
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub duration: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskHeader {
    pub mode: Mode,
    pub key_id: KeyId,
    pub salt: [u8; SALT_LEN],
    pub track: u32,
    /// SHA-256 of the original caps, as a string.
    pub caps_digest: [u8; 32],
    pub fields: BlockFields,
    /// Length of the ciphertext (= the original payload), without the tag.
    pub payload_len: u32,
}

fn time(t: Option<u64>) -> u64 {
    t.unwrap_or(TIME_NONE)
}

fn opt(t: u64) -> Option<u64> {
    (t != TIME_NONE).then_some(t)
}

impl MaskHeader {
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(MAGIC);
        b[4] = VERSION;
        b[5] = self.mode as u8;
        b[6..8].copy_from_slice(&self.fields.flags.to_le_bytes());
        b[8..24].copy_from_slice(&self.key_id.0);
        b[24..40].copy_from_slice(&self.salt);
        b[40..44].copy_from_slice(&self.track.to_le_bytes());
        b[44..52].copy_from_slice(&self.fields.index.to_le_bytes());
        b[52..60].copy_from_slice(&time(self.fields.pts).to_le_bytes());
        b[60..68].copy_from_slice(&time(self.fields.dts).to_le_bytes());
        b[68..76].copy_from_slice(&time(self.fields.duration).to_le_bytes());
        b[76..108].copy_from_slice(&self.caps_digest);
        b[108..112].copy_from_slice(&self.payload_len.to_le_bytes());
        b
    }

    /// Parses the header of a masked block and checks that the block's length matches it.
    pub fn parse(block: &[u8]) -> Result<MaskHeader, Error> {
        let bad = |why: String| Error::Malformed(why);
        if block.len() < HEADER_LEN {
            return Err(bad(format!(
                "{} bytes, shorter than the {HEADER_LEN}-byte header",
                block.len()
            )));
        }
        if &block[0..4] != MAGIC {
            return Err(bad("no H4MS magic".into()));
        }
        if block[4] != VERSION {
            return Err(bad(format!(
                "version {} (this reader knows {VERSION})",
                block[4]
            )));
        }
        let mode =
            Mode::from_byte(block[5]).ok_or_else(|| bad(format!("unknown mode {}", block[5])))?;
        let u64_at = |o: usize| u64::from_le_bytes(block[o..o + 8].try_into().expect("8 bytes"));
        let mut key_id = [0u8; KEY_ID_LEN];
        key_id.copy_from_slice(&block[8..24]);
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&block[24..40]);
        let mut caps_digest = [0u8; 32];
        caps_digest.copy_from_slice(&block[76..108]);
        let flags = u16::from_le_bytes([block[6], block[7]]);
        if flags & !(FLAG_KEYFRAME | FLAG_FINAL) != 0 {
            return Err(bad(format!("unknown flags {flags:#06x}")));
        }
        let h = MaskHeader {
            mode,
            key_id: KeyId(key_id),
            salt,
            track: u32::from_le_bytes(block[40..44].try_into().expect("4 bytes")),
            caps_digest,
            fields: BlockFields {
                index: u64_at(44),
                flags,
                pts: opt(u64_at(52)),
                dts: opt(u64_at(60)),
                duration: opt(u64_at(68)),
            },
            payload_len: u32::from_le_bytes(block[108..112].try_into().expect("4 bytes")),
        };
        let want = HEADER_LEN as u64 + u64::from(h.payload_len) + mode.tag_len() as u64;
        if block.len() as u64 != want {
            return Err(bad(format!(
                "{} bytes where the header announces {want}",
                block.len()
            )));
        }
        if h.fields.flags & FLAG_FINAL != 0 && h.payload_len != 0 {
            return Err(bad("a final seal with a payload".into()));
        }
        Ok(h)
    }

    pub fn is_final(&self) -> bool {
        self.fields.flags & FLAG_FINAL != 0
    }
}
