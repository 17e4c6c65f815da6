//! `h4tokentext`: token frames (application/x-h4-tokens, from h4fftfilter or a stored token
//! track) as text (text/x-raw, UTF-8), one line per frame, to show them like subtitles
//! (`h4mkdemux ! h4tokentext ! textoverlay`) or read them as text.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct H4TokenText(ObjectSubclass<imp::H4TokenText>) @extends gst::Element, gst::Object;
}

/// Rank NONE for now: with it autoplugged, gst-play-1.0 (GStreamer 1.22) shows the tokens over
/// the video through textoverlay, and when the token track outlasts the video, playback hangs
/// at the end in about one run of four; linked by hand it is safe.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "h4tokentext",
        gst::Rank::NONE,
        H4TokenText::static_type(),
    )
}
