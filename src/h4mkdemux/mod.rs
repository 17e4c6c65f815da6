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

glib::wrapper! {
    pub struct H4mkDemux(ObjectSubclass<imp::H4mkDemux>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    DamagePolicy::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "h4mkdemux",
        gst::Rank::PRIMARY,
        H4mkDemux::static_type(),
    )
}
