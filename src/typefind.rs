//! The H4MK typefinder: `decodebin`, `playbin` and the discoverer find the demuxer through it.

use gst::glib;

use crate::convert::CONTAINER_CAPS;
use crate::format::header::VERSION_MAJOR;

/// How sure we are that `data` (the first bytes of a stream) is H4MK.
pub fn probability(data: &[u8]) -> Option<gst::TypeFindProbability> {
    let head = data.get(..12)?;
    if &head[0..4] != b"H4MK" {
        return None;
    }
    let size_is_header = head[4..8] == 8u32.to_le_bytes();
    let major = data.get(12..14).map(|b| u16::from_le_bytes([b[0], b[1]]));
    Some(if size_is_header && major == Some(VERSION_MAJOR) {
        gst::TypeFindProbability::Maximum
    } else {
        gst::TypeFindProbability::Possible
    })
}

/// The typefind function: suggests the container caps when the stream starts like H4MK.
pub fn find(tf: &mut gst::TypeFind) {
    if let Some(p) = tf.peek(0, 16).and_then(probability) {
        tf.suggest(p, &gst::Caps::builder(CONTAINER_CAPS).build());
    }
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    let caps = gst::Caps::builder(CONTAINER_CAPS).build();
    gst::TypeFind::register(
        Some(plugin),
        "h4mk",
        gst::Rank::PRIMARY,
        Some("h4mk"),
        Some(&caps),
        find,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::header::FileHeader;

    #[test]
    fn magic_and_version_decide() {
        let h = FileHeader::CURRENT.encode_chunk();
        assert_eq!(probability(&h), Some(gst::TypeFindProbability::Maximum));
        let mut v2 = h.clone();
        v2[12] = 2;
        assert_eq!(probability(&v2), Some(gst::TypeFindProbability::Possible));
        assert_eq!(probability(b"RIFF0000WAVEfmt "), None);
        assert_eq!(probability(b"H4M"), None);
    }

    #[test]
    fn slice_typefind_suggests_container_caps() {
        gst::init().unwrap();
        let mut data = FileHeader::CURRENT.encode_chunk();
        data.extend_from_slice(&[0; 64]);
        crate::plugin_register_static().unwrap();
        // Every registered typefinder runs; ours must win with the container caps.
        let (prob, caps) = gst::SliceTypeFind::type_find(&data[..]);
        assert_eq!(prob, gst::TypeFindProbability::Maximum);
        assert_eq!(caps.unwrap().to_string(), CONTAINER_CAPS);
    }
}
