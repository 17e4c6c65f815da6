//! `h4tokentext`: token frames (application/x-h4-tokens, from h4fftfilter or a stored token
//! track) as text (text/x-raw, UTF-8), one line per interval (a second by default, or per
//! frame), so that players show token tracks like subtitles and pipelines can read them.

use gst::glib;
use gst::prelude::*;

mod imp;
pub mod lines;

glib::wrapper! {
    pub struct H4TokenText(ObjectSubclass<imp::H4TokenText>) @extends gst::Element, gst::Object;
}

/// Rank MARGINAL: decodebin and playbin plug it for a token track, so players show the tokens
/// as subtitles instead of reporting a missing decoder.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "h4tokentext",
        gst::Rank::MARGINAL,
        H4TokenText::static_type(),
    )
}
