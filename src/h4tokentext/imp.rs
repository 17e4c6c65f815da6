//! The element: the token frames of each interval become one line of text covering them.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::lines::Gathered;
use crate::fft::tokens::TokenFrame;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "h4tokentext",
        gst::DebugColorFlags::empty(),
        Some("HarmonyØ4 tokens as text"),
    )
});

/// One line per second by default: readable as a subtitle, and sparse enough for players.
const DEFAULT_INTERVAL: u64 = 1_000_000_000;

struct Settings {
    /// ns of token frames gathered into one line; 0: a line per frame.
    interval: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// The line being gathered: from the PTS of its first frame to the end of its last.
#[derive(Default)]
struct State {
    gathered: Gathered,
    start: Option<gst::ClockTime>,
    end: Option<gst::ClockTime>,
    discont: bool,
}

pub struct H4TokenText {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl H4TokenText {
    /// The gathered line as a buffer covering its frames, if there is one.
    fn take_line(state: &mut State) -> Option<gst::Buffer> {
        if state.gathered.is_empty() {
            return None;
        }
        let text = state.gathered.take_line();
        let mut out = gst::Buffer::from_mut_slice(text.into_bytes());
        {
            let out = out.get_mut().expect("new buffer");
            out.set_pts(state.start);
            if let (Some(start), Some(end)) = (state.start, state.end) {
                out.set_duration(end.saturating_sub(start));
            }
            if std::mem::take(&mut state.discont) {
                out.set_flags(gst::BufferFlags::DISCONT);
            }
        }
        state.start = None;
        state.end = None;
        Some(out)
    }

    fn sink_chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let frame = {
            let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
            match TokenFrame::decode(&map) {
                Ok(frame) => frame,
                Err(e) => {
                    gst::element_imp_warning!(
                        self,
                        gst::StreamError::Decode,
                        ("a token frame does not decode ({}); skipped", e)
                    );
                    return Ok(gst::FlowSuccess::Ok);
                }
            }
        };
        let interval = self.settings.lock().expect("settings lock").interval;
        let pts = buffer.pts();
        let mut state = self.state.lock().expect("state lock");
        let mut ready = Vec::new();
        // A line ends where a frame starts a new interval, after a discontinuity, or with
        // every frame when the interval is 0.
        let starts_anew = buffer.flags().contains(gst::BufferFlags::DISCONT)
            || match (state.start, pts) {
                (Some(start), Some(pts)) => pts.nseconds() >= start.nseconds() + interval,
                _ => interval == 0,
            };
        if starts_anew {
            ready.extend(Self::take_line(&mut state));
        }
        if buffer.flags().contains(gst::BufferFlags::DISCONT) {
            state.discont = true;
        }
        if state.gathered.is_empty() {
            state.start = pts;
        }
        state.gathered.add(&frame);
        state.end = match (pts, buffer.duration()) {
            (Some(pts), Some(d)) => Some(pts + d),
            (Some(pts), None) => Some(pts),
            _ => state.end,
        };
        if interval == 0 {
            ready.extend(Self::take_line(&mut state));
        }
        drop(state);
        for out in ready {
            self.srcpad.push(out)?;
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Caps(_) => {
                let caps = gst::Caps::builder("text/x-raw")
                    .field("format", "utf8")
                    .build();
                gst::debug!(CAT, imp = self, "token frames in, {caps} out");
                return self.srcpad.push_event(gst::event::Caps::new(&caps));
            }
            gst::EventView::FlushStop(_) => {
                *self.state.lock().expect("state lock") = State::default();
            }
            // What was gathered goes out before the stream ends or moves on.
            gst::EventView::Eos(_) | gst::EventView::Segment(_) | gst::EventView::Gap(_) => {
                let line = Self::take_line(&mut self.state.lock().expect("state lock"));
                if let Some(line) = line
                    && let Err(e) = self.srcpad.push(line)
                {
                    gst::debug!(CAT, imp = self, "last line not taken: {e:?}");
                }
            }
            _ => {}
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
        H4TokenText {
            sinkpad,
            srcpad,
            settings: Mutex::new(Settings::default()),
            state: Mutex::new(State::default()),
        }
    }
}

impl ObjectImpl for H4TokenText {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt64::builder("interval")
                    .nick("Interval")
                    .blurb(
                        "Nanoseconds of token frames gathered into one line (its strongest \
                         distinct peaks per channel); 0: one line per frame",
                    )
                    .default_value(DEFAULT_INTERVAL)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "interval" => {
                self.settings.lock().expect("settings lock").interval =
                    value.get().expect("type checked");
            }
            other => unreachable!("no property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "interval" => self
                .settings
                .lock()
                .expect("settings lock")
                .interval
                .to_value(),
            other => unreachable!("no property {other}"),
        }
    }

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
                "Turns FFT peak token frames (h4fftfilter's token track) into lines of text, \
                 one per interval, so players show token tracks like subtitles",
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
