//! Conversions between GStreamer buffers and caps and H4MK blocks and tracks, shared by the
//! muxer and the demuxer so that what one stores the other restores.

use gst::glib;

use crate::format::block::{BlockFlags, BlockHeader, ClipUnit, Clipping};
use crate::format::meta::TrackKind;

/// The caps H4MK files have.
pub const CONTAINER_CAPS: &str = "video/x-h4mk";
/// Media type of a stream masked by h4mask (stored as SAFE chunks by h4mkmux).
pub const MASKED_CAPS: &str = "application/x-h4mk-masked";
/// The media type of FFT token frames (h4fftfilter's tokens pad, h4tokentext's input).
pub const TOKEN_CAPS: &str = "application/x-h4-tokens";

/// Whether `caps` describe a masked stream.
pub fn is_masked(caps: &gst::CapsRef) -> bool {
    caps.structure(0).is_some_and(|s| s.name() == MASKED_CAPS)
}

/// A track's kind from its caps: the container never looks further than the media type.
pub fn kind_of(caps: &gst::CapsRef) -> TrackKind {
    let Some(s) = caps.structure(0) else {
        return TrackKind::Data;
    };
    // A masked stream is still the kind of media it masks.
    let name = if s.name() == MASKED_CAPS {
        s.get::<&str>("original-media-type").unwrap_or(MASKED_CAPS)
    } else {
        s.name().as_str()
    };
    if name.starts_with("video/") || name.starts_with("image/") {
        TrackKind::Video
    } else if name.starts_with("audio/") {
        TrackKind::Audio
    } else if name.starts_with("text/")
        || name.starts_with("subtitle/")
        || name.starts_with("closedcaption/")
        || name.starts_with("application/x-subtitle")
        || name == "application/x-ssa"
        || name == "application/x-ass"
    {
        TrackKind::Text
    } else {
        TrackKind::Data
    }
}

const FLAG_MAP: [(u32, gst::BufferFlags); 7] = [
    (BlockFlags::HEADER, gst::BufferFlags::HEADER),
    (BlockFlags::DECODE_ONLY, gst::BufferFlags::DECODE_ONLY),
    (BlockFlags::GAP, gst::BufferFlags::GAP),
    (BlockFlags::DROPPABLE, gst::BufferFlags::DROPPABLE),
    (BlockFlags::CORRUPTED, gst::BufferFlags::CORRUPTED),
    (BlockFlags::MARKER, gst::BufferFlags::MARKER),
    (BlockFlags::NON_DROPPABLE, gst::BufferFlags::NON_DROPPABLE),
];

/// The block flags a buffer's flags map to; a buffer without `DELTA_UNIT` is a keyframe.
pub fn block_flags(flags: gst::BufferFlags) -> BlockFlags {
    let mut bits = if flags.contains(gst::BufferFlags::DELTA_UNIT) {
        0
    } else {
        BlockFlags::KEYFRAME
    };
    for (bit, f) in FLAG_MAP {
        if flags.contains(f) {
            bits |= bit;
        }
    }
    BlockFlags(bits)
}

/// The buffer flags a block restores (DISCONT is the demuxer's to set).
pub fn buffer_flags(flags: BlockFlags) -> gst::BufferFlags {
    let mut out = if flags.is_keyframe() {
        gst::BufferFlags::empty()
    } else {
        gst::BufferFlags::DELTA_UNIT
    };
    for (bit, f) in FLAG_MAP {
        if flags.contains(bit) {
            out |= f;
        }
    }
    out
}

/// Applies a block's timing and flags to a buffer.
pub fn apply_block(buffer: &mut gst::BufferRef, h: &BlockHeader) {
    buffer.set_pts(h.pts.map(gst::ClockTime::from_nseconds));
    buffer.set_dts(h.dts.map(gst::ClockTime::from_nseconds));
    buffer.set_duration(h.duration.map(gst::ClockTime::from_nseconds));
    buffer.set_flags(buffer_flags(h.flags));
    if let Some(clipping) = h.clipping {
        add_clipping(buffer, clipping);
    }
}

fn add_clipping(buffer: &mut gst::BufferRef, clipping: Clipping) {
    match clipping {
        Clipping {
            unit: ClipUnit::Samples,
            start,
            end,
        } => {
            gst_audio::AudioClippingMeta::add(
                buffer,
                gst::format::Default::from_u64(start),
                gst::format::Default::from_u64(end),
            );
        }
        Clipping {
            unit: ClipUnit::Nanoseconds,
            start,
            end,
        } => {
            gst_audio::AudioClippingMeta::add(
                buffer,
                gst::ClockTime::from_nseconds(start),
                gst::ClockTime::from_nseconds(end),
            );
        }
    }
}

/// Copies `from`'s `GstAudioClippingMeta`, if any, to `to` (h4mask keeps it in clear, as the
/// block's clipping record is).
pub fn copy_clipping(from: &gst::BufferRef, to: &mut gst::BufferRef) {
    if let Some(clipping) = clipping_of(from) {
        add_clipping(to, clipping);
    }
}

/// The clipping a buffer's `GstAudioClippingMeta` asks for, in samples or nanoseconds (the
/// formats the meta is defined for); `None` without one.
pub fn clipping_of(buffer: &gst::BufferRef) -> Option<Clipping> {
    let meta = buffer.meta::<gst_audio::AudioClippingMeta>()?;
    let (start, end) = (meta.start(), meta.end());
    let unit = match start.format() {
        gst::Format::Default => ClipUnit::Samples,
        gst::Format::Time => ClipUnit::Nanoseconds,
        _ => return None,
    };
    Some(Clipping {
        unit,
        start: start.value().max(0) as u64,
        end: end.value().max(0) as u64,
    })
}

/// Tags as META stores them: GStreamer's serialized tag list (`taglist, title=(string)…;`).
pub fn tags_to_string(tags: &gst::TagListRef) -> String {
    tags.to_string()
}

/// Tags back from META; `None` when the text is not a serialized tag list.
pub fn tags_from_string(s: &str) -> Option<gst::TagList> {
    use gst::prelude::*;
    // GStreamer asserts (a GLib critical) on anything else, so check first.
    if !s.starts_with("taglist") {
        return None;
    }
    glib::Value::deserialize(s, gst::TagList::static_type())
        .ok()?
        .get::<gst::TagList>()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_through_text() {
        gst::init().unwrap();
        let mut tags = gst::TagList::new();
        {
            let t = tags.get_mut().unwrap();
            t.add::<gst::tags::Title>(&"Ø \"quoted\", two", gst::TagMergeMode::Append);
            t.add::<gst::tags::Bitrate>(&64000, gst::TagMergeMode::Append);
        }
        let text = tags_to_string(&tags);
        let back = tags_from_string(&text).expect("parses");
        assert_eq!(
            back.get::<gst::tags::Title>().unwrap().get(),
            "Ø \"quoted\", two"
        );
        assert_eq!(back.get::<gst::tags::Bitrate>().unwrap().get(), 64000);
        assert!(tags_from_string("not a taglist").is_none());
    }

    #[test]
    fn flags_round_trip() {
        gst::init().unwrap();
        for bits in 0..(1u32 << 8) {
            let f = BlockFlags(bits);
            assert_eq!(block_flags(buffer_flags(f)), f, "{bits:#x}");
        }
        assert!(block_flags(gst::BufferFlags::empty()).is_keyframe());
        assert!(!block_flags(gst::BufferFlags::DELTA_UNIT).is_keyframe());
        // DISCONT and others are not stored.
        assert_eq!(
            block_flags(gst::BufferFlags::DISCONT | gst::BufferFlags::DELTA_UNIT),
            BlockFlags(0)
        );
    }

    #[test]
    fn kinds_come_from_the_media_type() {
        gst::init().unwrap();
        let k = |s: &str| kind_of(&gst::Caps::builder(s).build());
        assert_eq!(k("video/x-h264"), TrackKind::Video);
        assert_eq!(k("image/jpeg"), TrackKind::Video);
        assert_eq!(k("audio/x-opus"), TrackKind::Audio);
        assert_eq!(k("text/x-raw"), TrackKind::Text);
        assert_eq!(k("application/x-h4-tokens"), TrackKind::Data);
        assert_eq!(kind_of(&gst::Caps::new_empty()), TrackKind::Data);
    }
}
