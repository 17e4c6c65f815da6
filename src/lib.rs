//! gst-h4: the HarmonyØ4 H4MK container for GStreamer.
//!
//! `format` is the GStreamer-free core (H4MK bytes, writer, readers, verification) shared by
//! the elements and the `h4mk` command-line tool. The plugin (`h4`) registers the elements
//! and the typefinder.

pub mod convert;
pub mod crypto;
pub mod fft;
pub mod format;
pub mod h4fftfilter;
pub mod h4mask;
pub mod h4mkdemux;
pub mod h4mkmux;
pub mod h4tokentext;
pub mod plot;
pub mod typefind;

use gst::glib;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    h4mkmux::register(plugin)?;
    h4mkdemux::register(plugin)?;
    h4fftfilter::register(plugin)?;
    h4mask::register(plugin)?;
    h4tokentext::register(plugin)?;
    typefind::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    h4,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    "unpublished",
    env!("BUILD_REL_DATE")
);
