//! `h4fftfilter`: audio passes through untouched; every frame's strongest spectral peaks leave
//! as `h4fft` bus messages and as token buffers on the `tokens` pad.

use gst::glib;
use gst::prelude::*;

use crate::fft::Window;

mod imp;

/// The `window` property.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstH4FftWindow")]
pub enum FftWindow {
    #[default]
    #[enum_value(name = "Hann: general purpose, peaks within 0.02 bin", nick = "hann")]
    Hann,
    #[enum_value(name = "Hamming: lower first sidelobe than Hann", nick = "hamming")]
    Hamming,
    #[enum_value(
        name = "Blackman-Harris (4 term): sidelobes below -92 dB, the most exact peaks",
        nick = "blackman-harris"
    )]
    BlackmanHarris,
    #[enum_value(
        name = "Rectangular: no window (spectral leakage)",
        nick = "rectangular"
    )]
    Rectangular,
}

impl From<FftWindow> for Window {
    fn from(w: FftWindow) -> Window {
        match w {
            FftWindow::Hann => Window::Hann,
            FftWindow::Hamming => Window::Hamming,
            FftWindow::BlackmanHarris => Window::BlackmanHarris,
            FftWindow::Rectangular => Window::Rectangular,
        }
    }
}

glib::wrapper! {
    pub struct H4FftFilter(ObjectSubclass<imp::H4FftFilter>)
        @extends gst_audio::AudioFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    FftWindow::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "h4fftfilter",
        gst::Rank::NONE,
        H4FftFilter::static_type(),
    )
}
