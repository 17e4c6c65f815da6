//! Masked caps, in the manner of Common Encryption: the media type becomes
//! `application/x-h4mk-masked`, every original field stays, and `original-media-type` plus the
//! mask parameters are appended. Unmasking removes exactly what masking added.

use crate::convert::MASKED_CAPS;
use crate::crypto::params::MaskParams;
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
    pub params: MaskParams,
}

/// Reads masked caps back; `Err` says what is wrong.
pub fn unmask_caps(caps: &gst::CapsRef) -> Result<Unmasked, String> {
    let s = caps.structure(0).ok_or("empty caps")?;
    if s.name() != MASKED_CAPS {
        return Err(format!("{} is not {MASKED_CAPS}", s.name()));
    }
    let original = s
        .get::<String>("original-media-type")
        .map_err(|_| "no original-media-type field")?;
    let params = MaskParams::from_caps_str(&caps.to_string()).ok_or(
        "the h4mask-mode, h4mask-key-id, h4mask-salt and h4mask-track fields are missing or malformed",
    )?;
    let mut out = caps.to_owned();
    {
        let out = out.make_mut();
        let st = out.structure_mut(0).expect("checked above");
        st.set_name(original);
        for f in MASK_FIELDS {
            st.remove_field(f);
        }
    }
    Ok(Unmasked { caps: out, params })
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
            (back.params.mode, back.params.track, back.params.salt),
            (Mode::Aes256Gcm, 3, [1; 16])
        );
        assert!(unmask_caps(&original).is_err());
    }
}
