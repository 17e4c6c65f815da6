//! `h4mkdemux`: reads H4MK back, losslessly, in pull and push mode, seeking by the index.

use gst::glib;
use gst::prelude::*;

mod imp;
mod pull;

/// What the demuxer does with a damaged chunk.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstH4mkDamagePolicy")]
pub enum DamagePolicy {
    /// Post a warning naming the chunk and keep playing the intact blocks.
    #[default]
    #[enum_value(name = "Skip: warn and keep playing the intact blocks", nick = "skip")]
    Skip,
    /// Post an error and stop.
    #[enum_value(name = "Error: stop at the first damaged chunk", nick = "error")]
    Error,
}

/// Which timestamps the demuxer's buffers carry.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstH4mkTimestamps")]
pub enum Timestamps {
    /// Tracks whose first times differ (x264enc starts at 1000 h, audio at 0) are moved later
    /// onto the latest one, so that every pad has the same segment, as players expect; a file
    /// whose tracks start alike comes out exactly as stored.
    #[default]
    #[enum_value(
        name = "Aligned: tracks share one segment (moved onto the latest track's start)",
        nick = "aligned"
    )]
    Aligned,
    /// PTS and DTS exactly as stored; each pad's segment maps its track's own start to stream
    /// time 0.
    #[enum_value(
        name = "As stored: the exact PTS and DTS, a segment per track",
        nick = "as-stored"
    )]
    AsStored,
}

glib::wrapper! {
    pub struct H4mkDemux(ObjectSubclass<imp::H4mkDemux>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    DamagePolicy::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Timestamps::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "h4mkdemux",
        gst::Rank::PRIMARY,
        H4mkDemux::static_type(),
    )
}
