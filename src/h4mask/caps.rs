//! Masked caps, in the manner of Common Encryption: the media type becomes
//! `application/x-h4mk-masked`, every original field stays, and `original-media-type` plus the
//! mask parameters are appended. Unmasking removes exactly what masking added.

use crate::convert::MASKED_CAPS;
use crate::crypto::{KeyId, Mode};

/// A fixed identifier of this protection scheme, in the role of a CENC system id.
pub const PROTECTION_SYSTEM: &str = "5f1d6a4e-8b7c-4c39-9e0a-48344d4b4d31";

/// Fields masking adds, in order.
pub const MASK_FIELDS: [&str; 7] = [
    "original-media-type",
    "protection-system",
    "h4mask-mode",
    "h4mask-authenticated",
    "h4mask-key-id",
    "h4mask-salt",
    "h4mask-track",
];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The masked form of fixed `caps`.
pub fn mask_caps(
    caps: &gst::CapsRef,
    mode: Mode,
    key_id: KeyId,
    salt: &[u8],
    track: u32,
) -> gst::Caps {
    let mut out = caps.to_owned();
    {
        let out = out.make_mut();
        if let Some(s) = out.structure_mut(0) {
            let original = s.name().to_string();
            s.set_name(MASKED_CAPS);
            s.set("original-media-type", original);
            s.set("protection-system", PROTECTION_SYSTEM);
            s.set("h4mask-mode", mode.label());
            s.set("h4mask-authenticated", mode.authenticated());
            s.set("h4mask-key-id", key_id.to_string());
            s.set("h4mask-salt", hex(salt));
            s.set("h4mask-track", track);
        }
    }
    out
}

/// What masked caps say: the original caps and the mask parameters.
pub struct Unmasked {
    pub caps: gst::Caps,
    pub mode: Mode,
    pub key_id: String,
    pub salt: [u8; 16],
    pub track: u32,
}

/// Reads masked caps back; `Err` names what is missing or wrong.
pub fn unmask_caps(caps: &gst::CapsRef) -> Result<Unmasked, String> {
    let s = caps.structure(0).ok_or("empty caps")?;
    if s.name() != MASKED_CAPS {
        return Err(format!("{} is not {MASKED_CAPS}", s.name()));
    }
    let field = |name: &str| -> Result<String, String> {
        s.get::<String>(name)
            .map_err(|_| format!("no {name} field"))
    };
    let original = field("original-media-type")?;
    let mode_label = field("h4mask-mode")?;
    let mode = Mode::from_label(&mode_label).ok_or(format!("unknown h4mask-mode {mode_label}"))?;
    let salt_hex = field("h4mask-salt")?;
    let mut salt = [0u8; 16];
    if salt_hex.len() != 32 {
        return Err("h4mask-salt is not 32 hex digits".into());
    }
    for (i, b) in salt.iter_mut().enumerate() {
        *b = u8::from_str_radix(&salt_hex[2 * i..2 * i + 2], 16)
            .map_err(|_| "h4mask-salt is not hex".to_string())?;
    }
    let track = s
        .get::<u32>("h4mask-track")
        .map_err(|_| "no h4mask-track field")?;
    let key_id = field("h4mask-key-id")?;
    let mut out = caps.to_owned();
    {
        let out = out.make_mut();
        let st = out.structure_mut(0).expect("checked above");
        st.set_name(original);
        for f in MASK_FIELDS {
            st.remove_field(f);
        }
    }
    Ok(Unmasked {
        caps: out,
        mode,
        key_id,
        salt,
        track,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmask_restores_the_caps_string() {
        gst::init().unwrap();
        let original: gst::Caps =
            "video/x-h264, stream-format=(string)avc, alignment=(string)au, codec_data=(buffer)0142c01e, width=(int)640, framerate=(fraction)30/1"
                .parse()
                .unwrap();
        let masked = mask_caps(&original, Mode::Aes256Gcm, KeyId([0xab; 16]), &[1; 16], 3);
        let s = masked.to_string();
        assert!(
            s.starts_with("application/x-h4mk-masked, stream-format=(string)avc"),
            "{s}"
        );
        assert!(s.contains("original-media-type=(string)video/x-h264"));
        assert!(s.contains("h4mask-salt=(string)01010101010101010101010101010101"));
        let back = unmask_caps(&masked).unwrap();
        assert_eq!(back.caps.to_string(), original.to_string());
        assert_eq!(
            (back.mode, back.track, back.salt),
            (Mode::Aes256Gcm, 3, [1; 16])
        );
        assert!(unmask_caps(&original).is_err());
    }
}
