//! The element: each token frame becomes one line of text with the frame's time.

use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::fft::tokens::{MIX, TokenFrame};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "h4tokentext",
        gst::DebugColorFlags::empty(),
        Some("HarmonyØ4 tokens as text"),
    )
});

/// Peaks per channel shown on a line.
const SHOWN_PEAKS: usize = 3;

pub struct H4TokenText {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
}

/// One line for a frame: the strongest peaks of each section.
pub fn line(frame: &TokenFrame) -> String {
    let sections: Vec<String> = frame
        .sections
        .iter()
        .map(|s| {
            let who = match s.channel {
                MIX => "mix".to_string(),
                c => format!("ch{c}"),
            };
            let peaks: Vec<String> = s
                .peaks
                .iter()
                .take(SHOWN_PEAKS)
                .map(|p| format!("{:.0} Hz {:.0} dB", p.frequency, p.magnitude))
                .collect();
            if peaks.is_empty() {
                format!("{who}: quiet")
            } else {
                format!("{who}: {}", peaks.join(", "))
            }
        })
        .collect();
    sections.join(" | ")
}

impl H4TokenText {
    fn sink_chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
        let text = match TokenFrame::decode(&map) {
            Ok(frame) => line(&frame),
            Err(e) => {
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Decode,
                    ("a token frame does not decode ({}); skipped", e)
                );
                return Ok(gst::FlowSuccess::Ok);
            }
        };
        drop(map);
        let mut out = gst::Buffer::from_mut_slice(text.into_bytes());
        buffer
            .copy_into(
                out.get_mut().expect("new buffer"),
                gst::BufferCopyFlags::TIMESTAMPS | gst::BufferCopyFlags::FLAGS,
                ..,
            )
            .map_err(|_| gst::FlowError::Error)?;
        self.srcpad.push(out)
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        if let gst::EventView::Caps(_) = event.view() {
            let caps = gst::Caps::builder("text/x-raw")
                .field("format", "utf8")
                .build();
            gst::debug!(CAT, imp = self, "token frames in, {caps} out");
            return self.srcpad.push_event(gst::event::Caps::new(&caps));
        }
        gst::Pad::event_default(pad, Some(&*self.obj()), event)
    }
}

#[glib::object_subclass]
impl ObjectSubclass for H4TokenText {
    const NAME: &'static str = "GstH4TokenText";
    type Type = super::H4TokenText;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sinkpad = gst::Pad::builder_from_template(&klass.pad_template("sink").expect("sink"))
            .chain_function(|pad, parent, buffer| {
                H4TokenText::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |t| t.sink_chain(buffer),
                )
                .inspect_err(|e| gst::log!(CAT, obj = pad, "chain: {e:?}"))
            })
            .event_function(|pad, parent, event| {
                H4TokenText::catch_panic_pad_function(
                    parent,
                    || false,
                    |t| t.sink_event(pad, event),
                )
            })
            .build();
        let srcpad =
            gst::Pad::builder_from_template(&klass.pad_template("src").expect("src")).build();
        H4TokenText { sinkpad, srcpad }
    }
}

impl ObjectImpl for H4TokenText {
    fn constructed(&self) {
        self.parent_constructed();
        self.srcpad.use_fixed_caps();
        let obj = self.obj();
        obj.add_pad(&self.sinkpad).expect("sink pad");
        obj.add_pad(&self.srcpad).expect("src pad");
    }
}

impl GstObjectImpl for H4TokenText {}

impl ElementImpl for H4TokenText {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "HarmonyØ4 tokens as text",
                "Decoder/Subtitle",
                "Turns FFT peak token frames (h4fftfilter's token track) into one line of text \
                 per frame, so players show token tracks like subtitles",
                "gst-h4 developers",
            )
        });
        Some(&META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &gst::Caps::builder(crate::convert::TOKEN_CAPS).build(),
                )
                .expect("sink template"),
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &gst::Caps::builder("text/x-raw")
                        .field("format", "utf8")
                        .build(),
                )
                .expect("src template"),
            ]
        });
        TEMPLATES.as_ref()
    }
}
