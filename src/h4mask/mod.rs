//! `h4mask`: masks each buffer on its own (AES-256-GCM by default) and unmasks it again; any
//! block opens after a seek, and a wrong key or an altered block is a named error.

use gst::glib;
use gst::prelude::*;

use crate::crypto::Mode;

pub mod caps;
mod imp;

pub use caps::{MASK_FIELDS, PROTECTION_SYSTEM, mask_caps, unmask_caps};

#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstH4MaskMode")]
pub enum MaskMode {
    #[default]
    #[enum_value(
        name = "AES-256-GCM: authenticated, a fresh random salt per session",
        nick = "aes-256-gcm"
    )]
    Aes256Gcm,
    #[enum_value(
        name = "AES-256-GCM-SIV: authenticated and deterministic (the same input gives the same bytes)",
        nick = "aes-256-gcm-siv"
    )]
    Aes256GcmSiv,
    #[enum_value(
        name = "xor: AES-256-CTR keystream, unauthenticated and malleable (compatibility only)",
        nick = "xor"
    )]
    Xor,
}

impl From<MaskMode> for Mode {
    fn from(m: MaskMode) -> Mode {
        match m {
            MaskMode::Aes256Gcm => Mode::Aes256Gcm,
            MaskMode::Aes256GcmSiv => Mode::Aes256GcmSiv,
            MaskMode::Xor => Mode::Xor,
        }
    }
}

#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstH4MaskDirection")]
pub enum Direction {
    #[default]
    #[enum_value(name = "Auto: unmask masked caps, mask anything else", nick = "auto")]
    Auto,
    #[enum_value(name = "Mask", nick = "mask")]
    Mask,
    #[enum_value(name = "Unmask", nick = "unmask")]
    Unmask,
}

#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstH4MaskFailurePolicy")]
pub enum FailurePolicy {
    #[default]
    #[enum_value(
        name = "Error: stop at the first block that fails to open",
        nick = "error"
    )]
    Error,
    #[enum_value(
        name = "Skip: warn, send a GAP in its place and go on with the next block",
        nick = "skip"
    )]
    Skip,
}

glib::wrapper! {
    pub struct H4Mask(ObjectSubclass<imp::H4Mask>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    MaskMode::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    Direction::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    FailurePolicy::static_type().mark_as_plugin_api(gst::PluginAPIFlags::empty());
    gst::Element::register(
        Some(plugin),
        "h4mask",
        gst::Rank::NONE,
        H4Mask::static_type(),
    )
}
