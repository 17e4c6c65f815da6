//! The mask parameters a masked track's caps carry (`h4mask-mode`, `h4mask-key-id`,
//! `h4mask-salt`, `h4mask-track`), read from the caps string stored in META, for readers
//! without GStreamer.

use super::schedule::{Mode, SALT_LEN};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskParams {
    pub mode: Mode,
    pub key_id: String,
    pub salt: [u8; SALT_LEN],
    pub track: u32,
}

/// The value of `name=(type)value` in a serialized caps string.
fn field<'a>(caps: &'a str, name: &str) -> Option<&'a str> {
    let start = caps.find(&format!(" {name}=("))? + name.len() + 2;
    let rest = &caps[start..];
    let value = &rest[rest.find(')')? + 1..];
    let end = value.find([',', ';']).unwrap_or(value.len());
    Some(value[..end].trim())
}

impl MaskParams {
    /// `None` when the caps are not masked caps with all four fields.
    pub fn from_caps_str(caps: &str) -> Option<MaskParams> {
        if !caps.starts_with("application/x-h4mk-masked") {
            return None;
        }
        let salt_hex = field(caps, "h4mask-salt")?;
        let mut salt = [0u8; SALT_LEN];
        if salt_hex.len() != 2 * SALT_LEN {
            return None;
        }
        for (i, b) in salt.iter_mut().enumerate() {
            *b = u8::from_str_radix(salt_hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(MaskParams {
            mode: Mode::from_label(field(caps, "h4mask-mode")?)?,
            key_id: field(caps, "h4mask-key-id")?.to_string(),
            salt,
            track: field(caps, "h4mask-track")?.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_of_masked_caps() {
        let caps = "application/x-h4mk-masked, stream-format=(string)avc, original-media-type=(string)video/x-h264, protection-system=(string)5f1d6a4e-8b7c-4c39-9e0a-48344d4b4d31, h4mask-mode=(string)aes-256-gcm, h4mask-authenticated=(boolean)true, h4mask-key-id=(string)a365c183f57dd5f50105fe8ac1fbad45, h4mask-salt=(string)000102030405060708090a0b0c0d0e0f, h4mask-track=(uint)7";
        let p = MaskParams::from_caps_str(caps).unwrap();
        assert_eq!(p.mode, Mode::Aes256Gcm);
        assert_eq!(p.key_id, "a365c183f57dd5f50105fe8ac1fbad45");
        assert_eq!(p.salt[15], 15);
        assert_eq!(p.track, 7);
        assert!(MaskParams::from_caps_str("video/x-h264, h4mask-track=(uint)7").is_none());
        assert!(MaskParams::from_caps_str(&caps.replace("h4mask-salt", "x")).is_none());
    }
}
