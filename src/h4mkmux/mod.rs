//! `h4mkmux`: writes H4MK from any number of streams (one block per buffer).

use gst::glib;
use gst::prelude::*;

mod hashing;
mod imp;
mod live;

glib::wrapper! {
    pub struct H4mkMux(ObjectSubclass<imp::H4mkMux>)
        @extends gst_base::Aggregator, gst::Element, gst::Object,
        @implements gst::TagSetter;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "h4mkmux",
        gst::Rank::PRIMARY,
        H4mkMux::static_type(),
    )
}
