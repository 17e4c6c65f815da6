//! The element over `crate::fft`: converts each buffer's samples, cuts them into frames, and
//! hands each frame's peaks to the bus and the `tokens` pad. The audio itself is never touched
//! (BaseTransform passthrough, in place).

use std::sync::{LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_audio::subclass::prelude::*;
use gst_base::prelude::*;

use super::FftWindow;
use crate::fft::samples::{SampleFormat, to_f32};
use crate::fft::tokens::{FLAG_PADDED, MIX, Section, TokenFrame};
use crate::fft::{Analyzer, Framer, Peak, Transform, Window, check_config, framer::Frame};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "h4fftfilter",
        gst::DebugColorFlags::empty(),
        Some("HarmonyØ4 FFT tokenizer"),
    )
});

/// Media type of the `tokens` pad.
use crate::convert::TOKEN_CAPS;
/// Name of the element messages.
pub const MESSAGE_NAME: &str = "h4fft";

const DEFAULT_FRAME_SIZE: u32 = 2048;
const DEFAULT_HOP: u32 = 0;
const DEFAULT_TOP_K: u32 = 32;
const DEFAULT_THRESHOLD: f64 = -80.0;
const DEFAULT_POST_MESSAGES: bool = true;
const DEFAULT_PER_CHANNEL: bool = false;
const DEFAULT_PORTABLE: bool = false;
const MAX_CHANNELS: i32 = 8;

#[derive(Debug, Clone, Copy)]
struct Settings {
    frame_size: u32,
    hop: u32,
    window: FftWindow,
    top_k: u32,
    threshold: f64,
    post_messages: bool,
    per_channel: bool,
    portable: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            frame_size: DEFAULT_FRAME_SIZE,
            hop: DEFAULT_HOP,
            window: FftWindow::default(),
            top_k: DEFAULT_TOP_K,
            threshold: DEFAULT_THRESHOLD,
            post_messages: DEFAULT_POST_MESSAGES,
            per_channel: DEFAULT_PER_CHANNEL,
            portable: DEFAULT_PORTABLE,
        }
    }
}

/// What one frame becomes, handed out after the state lock is released.
enum Out {
    Message(gst::Structure),
    Tokens(gst::Buffer),
    /// No token starts in this span: lets a sink on the token branch preroll and a muxer
    /// move on while frames are still filling.
    Gap(gst::ClockTime, gst::ClockTime),
}

/// Analysis of whole frames and their timing, fixed at negotiation.
struct Tokenizer {
    analyzer: Analyzer,
    peaks: Vec<Peak>,
    rate: u32,
    hop: usize,
    top_k: usize,
    /// One section per channel, or one for the mix.
    sections: usize,
    per_channel: bool,
    /// Timestamp of sample 0 since the last reset; set by the first buffer after it.
    base: Option<gst::ClockTime>,
    /// The next token buffer is the first after a reset.
    discont: bool,
    /// Time before which downstream of the tokens pad has everything (tokens or a GAP).
    announced: Option<gst::ClockTime>,
}

/// Per-frame choices that may change while playing.
struct Emit<'a> {
    floor_db: f32,
    post_messages: bool,
    tokens: bool,
    segment: Option<&'a gst::FormattedSegment<gst::ClockTime>>,
}

impl Tokenizer {
    /// Forgets the time base: the next buffer sets it, and the next token is a DISCONT.
    fn restart(&mut self) {
        self.base = None;
        self.discont = true;
        self.announced = None;
    }

    /// Time of sample `n` since the last reset.
    fn time_of(&self, n: u64) -> Option<gst::ClockTime> {
        let offset = n.mul_div_floor(gst::ClockTime::SECOND.nseconds(), u64::from(self.rate))?;
        self.base.map(|b| b + gst::ClockTime::from_nseconds(offset))
    }

    fn frame(&mut self, f: Frame<'_>, emit: &Emit, out: &mut Vec<Out>) {
        let size = self.analyzer.frame_size();
        let pts = self.time_of(f.start);
        let end = self.time_of(f.start + f.real as u64);
        let duration = pts.zip(end).map(|(p, e)| e - p);
        let padded = f.real < size;
        let mut sections = Vec::with_capacity(self.sections);
        for s in 0..self.sections {
            self.analyzer.analyze(
                f.values,
                self.sections,
                s,
                self.top_k,
                emit.floor_db,
                &mut self.peaks,
            );
            let channel = if self.per_channel { s as u16 } else { MIX };
            if emit.post_messages {
                out.push(Out::Message(self.message(
                    channel,
                    pts,
                    duration,
                    padded,
                    emit.segment,
                )));
            }
            if emit.tokens {
                sections.push(Section {
                    channel,
                    peaks: self.peaks.clone(),
                });
            }
        }
        if emit.tokens {
            let frame = TokenFrame {
                flags: if padded { FLAG_PADDED } else { 0 },
                frame_size: size as u32,
                hop: self.hop as u32,
                rate: self.rate,
                valid: f.real as u32,
                first_sample: f.start,
                sections,
            };
            let mut bytes = Vec::with_capacity(frame.encoded_len());
            frame.encode(&mut bytes);
            let mut buffer = gst::Buffer::from_mut_slice(bytes);
            {
                let b = buffer.get_mut().expect("new buffer");
                b.set_pts(pts);
                b.set_duration(duration);
                if std::mem::take(&mut self.discont) {
                    b.set_flags(gst::BufferFlags::DISCONT);
                }
            }
            out.push(Out::Tokens(buffer));
        }
    }

    /// After a buffer: tells the token branch that no token starts before the next frame.
    fn announce(&mut self, next_start: u64, tokens: bool, out: &mut Vec<Out>) {
        let Some(until) = self.time_of(next_start) else {
            return;
        };
        let from = self.announced.or(self.base).unwrap_or(until);
        let sent_token = out.iter().any(|o| matches!(o, Out::Tokens(_)));
        // The first announcement may be empty: a token is stamped with its frame's start
        // but exists only once the frame is full, and a sink on the token branch must be
        // able to preroll meanwhile.
        let first = self.announced.is_none();
        if tokens && !sent_token && (until > from || first) {
            out.push(Out::Gap(from, until - from));
        }
        self.announced = Some(until.max(from));
    }

    fn message(
        &self,
        channel: u16,
        pts: Option<gst::ClockTime>,
        duration: Option<gst::ClockTime>,
        padded: bool,
        segment: Option<&gst::FormattedSegment<gst::ClockTime>>,
    ) -> gst::Structure {
        let ns = |t: Option<gst::ClockTime>| t.map_or(u64::MAX, |t| t.nseconds());
        let running = pts.and_then(|t| segment.and_then(|s| s.to_running_time(t)));
        let stream = pts.and_then(|t| segment.and_then(|s| s.to_stream_time(t)));
        let end = pts.zip(duration).map(|(p, d)| p + d);
        gst::Structure::builder(MESSAGE_NAME)
            .field("timestamp", ns(pts))
            .field("stream-time", ns(stream))
            .field("running-time", ns(running))
            .field("duration", ns(duration))
            .field("endtime", ns(end))
            .field(
                "channel",
                if channel == MIX {
                    -1
                } else {
                    i32::from(channel)
                },
            )
            .field("padded", padded)
            .field("bins", gst::List::new(self.peaks.iter().map(|p| p.bin)))
            .field(
                "frequencies",
                gst::List::new(self.peaks.iter().map(|p| f64::from(p.frequency))),
            )
            .field(
                "magnitudes",
                gst::List::new(self.peaks.iter().map(|p| f64::from(p.magnitude))),
            )
            .build()
    }
}

struct State {
    format: SampleFormat,
    channels: usize,
    bytes_per_frame: usize,
    framer: Framer,
    tokenizer: Tokenizer,
}

impl State {
    /// Forgets the partial frame and the time base (a discontinuity or a flush).
    fn reset(&mut self) {
        self.framer.reset();
        self.tokenizer.restart();
    }
}

pub struct H4FftFilter {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    tokens: gst::Pad,
}

impl H4FftFilter {
    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state(&self) -> MutexGuard<'_, Option<State>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn segment(&self) -> Option<gst::FormattedSegment<gst::ClockTime>> {
        self.obj().segment().downcast::<gst::ClockTime>().ok()
    }

    /// Runs `frames` over the state with the current per-frame settings and hands out what
    /// it produced, outside the lock.
    fn with_frames(
        &self,
        frames: impl FnOnce(&mut State, &Emit, &mut Vec<Out>) -> Result<(), gst::FlowError>,
    ) -> Result<(), gst::FlowError> {
        let settings = *self.settings();
        let segment = self.segment();
        let emit = Emit {
            floor_db: settings.threshold as f32,
            post_messages: settings.post_messages,
            tokens: self.tokens.is_linked(),
            segment: segment.as_ref(),
        };
        let mut out = Vec::new();
        {
            let mut guard = self.state();
            let state = guard.as_mut().ok_or_else(|| {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Negotiation,
                    ("no audio format was negotiated before data")
                );
                gst::FlowError::NotNegotiated
            })?;
            frames(state, &emit, &mut out)?;
        }
        for o in out {
            match o {
                Out::Message(s) => {
                    let msg = gst::message::Element::builder(s).src(&*self.obj()).build();
                    let _ = self.obj().post_message(msg);
                }
                Out::Tokens(b) => {
                    // The audio path never depends on the token branch.
                    if let Err(e) = self.tokens.push(b) {
                        gst::debug!(CAT, imp = self, "tokens pad: {e:?}");
                    }
                }
                Out::Gap(ts, duration) => {
                    self.tokens
                        .push_event(gst::event::Gap::builder(ts).duration(duration).build());
                }
            }
        }
        Ok(())
    }

    fn reset(&self) {
        if let Some(state) = self.state().as_mut() {
            state.reset();
        }
    }

    /// Analyses the padded last frame, if any, at the end of the stream.
    fn finish(&self) {
        let res = self.with_frames(|state, emit, out| {
            let State {
                framer, tokenizer, ..
            } = state;
            framer.finish(|f| tokenizer.frame(f, emit, out));
            tokenizer.restart();
            Ok(())
        });
        if res.is_err() {
            gst::debug!(CAT, imp = self, "end of stream before negotiation");
        }
    }

    fn check_settings(&self, s: &Settings) -> Result<(), String> {
        check_config(s.frame_size as usize, s.top_k as usize).map_err(|e| e.to_string())
    }
}

#[glib::object_subclass]
impl ObjectSubclass for H4FftFilter {
    const NAME: &'static str = "GstH4FftFilter";
    type Type = super::H4FftFilter;
    type ParentType = gst_audio::AudioFilter;

    fn with_class(klass: &Self::Class) -> Self {
        let templ = klass.pad_template("tokens").expect("tokens template");
        H4FftFilter {
            settings: Mutex::new(Settings::default()),
            state: Mutex::new(None),
            tokens: gst::Pad::builder_from_template(&templ).build(),
        }
    }
}

impl ObjectImpl for H4FftFilter {
    fn constructed(&self) {
        self.parent_constructed();
        self.tokens.use_fixed_caps();
        self.obj()
            .add_pad(&self.tokens)
            .expect("adding the tokens pad");
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("frame-size")
                    .nick("Frame size")
                    .blurb("FFT length in samples: a power of two from 16 to 65536 (frequency resolution = rate / frame-size Hz)")
                    .minimum(16)
                    .maximum(65536)
                    .default_value(DEFAULT_FRAME_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("hop")
                    .nick("Hop")
                    .blurb("Samples from the start of one frame to the start of the next (0: frame-size, frames do not overlap; less: they overlap; more: samples in between are skipped)")
                    .maximum(1 << 20)
                    .default_value(DEFAULT_HOP)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("window", FftWindow::default())
                    .nick("Window")
                    .blurb("Analysis window applied to each frame")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("top-k")
                    .nick("Top K")
                    .blurb("Most spectral peaks (local maxima) reported per frame and channel, strongest first; at most frame-size / 2 + 1")
                    .minimum(1)
                    .maximum(32769)
                    .default_value(DEFAULT_TOP_K)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Threshold")
                    .blurb("Floor in dB relative to a full-scale sine: weaker peaks are not reported")
                    .minimum(-200.0)
                    .maximum(0.0)
                    .default_value(DEFAULT_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("post-messages")
                    .nick("Post messages")
                    .blurb("Post an element message named h4fft on the bus for every frame (and channel)")
                    .default_value(DEFAULT_POST_MESSAGES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("per-channel")
                    .nick("Per channel")
                    .blurb("Analyse every channel on its own instead of their mean (one message per channel, one section per channel in each token buffer)")
                    .default_value(DEFAULT_PER_CHANNEL)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("portable")
                    .nick("Portable")
                    .blurb("Compute the FFT with plain scalar code, so that every CPU gives the same tokens bit for bit (the FFT takes about twice as long); off, the fastest code this CPU has, whose tokens are the same on every run and every CPU with the same instruction set, and may differ in the last bits elsewhere")
                    .default_value(DEFAULT_PORTABLE)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings();
        match pspec.name() {
            "frame-size" => s.frame_size = value.get().expect("type checked upstream"),
            "hop" => s.hop = value.get().expect("type checked upstream"),
            "window" => s.window = value.get().expect("type checked upstream"),
            "top-k" => s.top_k = value.get().expect("type checked upstream"),
            "threshold" => s.threshold = value.get().expect("type checked upstream"),
            "post-messages" => s.post_messages = value.get().expect("type checked upstream"),
            "per-channel" => s.per_channel = value.get().expect("type checked upstream"),
            "portable" => s.portable = value.get().expect("type checked upstream"),
            other => gst::warning!(CAT, imp = self, "no property {other}"),
        }
        if let Err(e) = self.check_settings(&s) {
            gst::warning!(CAT, imp = self, "{e}: negotiation will fail");
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings();
        match pspec.name() {
            "frame-size" => s.frame_size.to_value(),
            "hop" => s.hop.to_value(),
            "window" => s.window.to_value(),
            "top-k" => s.top_k.to_value(),
            "threshold" => s.threshold.to_value(),
            "post-messages" => s.post_messages.to_value(),
            "per-channel" => s.per_channel.to_value(),
            "portable" => s.portable.to_value(),
            _ => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for H4FftFilter {}

fn audio_caps() -> gst::Caps {
    gst_audio::AudioCapsBuilder::new_interleaved()
        .format_list([
            gst_audio::AudioFormat::S16le,
            gst_audio::AudioFormat::S32le,
            gst_audio::AudioFormat::F32le,
            gst_audio::AudioFormat::F64le,
        ])
        .channels_range(1..=MAX_CHANNELS)
        .build()
}

impl ElementImpl for H4FftFilter {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "HarmonyØ4 FFT tokenizer",
                "Filter/Analyzer/Audio",
                "Passes audio through untouched; turns each frame's strongest spectral peaks \
                 (interpolated frequency and level) into time-stamped tokens, as h4fft bus \
                 messages and as application/x-h4-tokens buffers on the tokens pad",
                "gst-h4 developers",
            )
        });
        Some(&META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let audio = audio_caps();
            let tokens = gst::Caps::builder(TOKEN_CAPS)
                .field("version", 1i32)
                .build();
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &audio,
                )
                .expect("sink template"),
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &audio,
                )
                .expect("src template"),
                gst::PadTemplate::new(
                    "tokens",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &tokens,
                )
                .expect("tokens template"),
            ]
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for H4FftFilter {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state() = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        use gst::EventView;
        let seqnum = event.seqnum();
        match event.view() {
            EventView::StreamStart(s) => {
                let id = format!("{}/tokens", s.stream_id());
                let mut b = gst::event::StreamStart::builder(&id)
                    .flags(s.stream_flags() | gst::StreamFlags::SPARSE)
                    .seqnum(seqnum);
                if let Some(g) = s.group_id() {
                    b = b.group_id(g);
                }
                self.tokens.push_event(b.build());
            }
            EventView::Segment(s) => {
                self.tokens.push_event(
                    gst::event::Segment::builder(s.segment())
                        .seqnum(seqnum)
                        .build(),
                );
            }
            EventView::FlushStart(_) => {
                self.tokens
                    .push_event(gst::event::FlushStart::builder().seqnum(seqnum).build());
            }
            EventView::FlushStop(f) => {
                self.reset();
                self.tokens.push_event(
                    gst::event::FlushStop::builder(f.resets_time())
                        .seqnum(seqnum)
                        .build(),
                );
            }
            EventView::Gap(g) => {
                // Missing audio: frames never straddle it.
                self.finish();
                let (ts, duration) = g.get();
                self.tokens.push_event(
                    gst::event::Gap::builder(ts)
                        .duration(duration)
                        .seqnum(seqnum)
                        .build(),
                );
            }
            EventView::Eos(_) => {
                self.finish();
                self.tokens
                    .push_event(gst::event::Eos::builder().seqnum(seqnum).build());
            }
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn transform_ip_passthrough(
        &self,
        buffer: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let map = buffer.map_readable().map_err(|_| {
            gst::element_imp_error!(self, gst::StreamError::Failed, ("unreadable audio buffer"));
            gst::FlowError::Error
        })?;
        let segment_start = self.segment().and_then(|s| s.start());
        self.with_frames(|state, emit, out| {
            if buffer.flags().contains(gst::BufferFlags::DISCONT) && state.framer.total() > 0 {
                gst::debug!(CAT, imp = self, "discontinuity: partial frame dropped");
                state.reset();
            }
            if state.tokenizer.base.is_none() {
                state.tokenizer.base = buffer.pts().or_else(|| {
                    gst::warning!(CAT, imp = self, "audio without timestamps: tokens timed from the segment start");
                    segment_start.or(Some(gst::ClockTime::ZERO))
                });
            }
            let frames = map.len() / state.bytes_per_frame;
            if map.len() % state.bytes_per_frame != 0 {
                gst::warning!(
                    CAT,
                    imp = self,
                    "buffer of {} bytes is not a whole number of {}-byte sample frames; the rest is not analysed",
                    map.len(),
                    state.bytes_per_frame
                );
            }
            let (format, channels) = (state.format, state.channels);
            let mix = !state.tokenizer.per_channel;
            let bytes = &map[..frames * state.bytes_per_frame];
            state
                .framer
                .push_with(frames, |slot| to_f32(bytes, format, channels, mix, slot));
            let State {
                framer, tokenizer, ..
            } = state;
            while framer.next_frame(|f| tokenizer.frame(f, emit, out)) {}
            tokenizer.announce(framer.next_start(), emit.tokens, out);
            Ok(())
        })?;
        Ok(gst::FlowSuccess::Ok)
    }
}

impl AudioFilterImpl for H4FftFilter {
    fn allowed_caps() -> &'static gst::Caps {
        static CAPS: LazyLock<gst::Caps> = LazyLock::new(audio_caps);
        &CAPS
    }

    fn setup(&self, info: &gst_audio::AudioInfo) -> Result<(), gst::LoggableError> {
        let s = *self.settings();
        let fail = |msg: String| {
            gst::element_imp_error!(self, gst::LibraryError::Settings, ("{}", msg));
            gst::loggable_error!(CAT, "{}", msg)
        };
        self.check_settings(&s).map_err(fail)?;
        let format = match info.format() {
            gst_audio::AudioFormat::S16le => SampleFormat::S16le,
            gst_audio::AudioFormat::S32le => SampleFormat::S32le,
            gst_audio::AudioFormat::F32le => SampleFormat::F32le,
            gst_audio::AudioFormat::F64le => SampleFormat::F64le,
            other => return Err(fail(format!("unsupported sample format {other:?}"))),
        };
        let channels = info.channels() as usize;
        if channels == 0 || info.rate() == 0 || info.layout() != gst_audio::AudioLayout::Interleaved
        {
            return Err(fail(format!("unusable audio caps: {info:?}")));
        }
        let frame_size = s.frame_size as usize;
        let hop = if s.hop == 0 {
            frame_size
        } else {
            s.hop as usize
        };
        let window: Window = s.window.into();
        let transform = if s.portable {
            Transform::Portable
        } else {
            Transform::Native
        };
        let analyzer = Analyzer::new(frame_size, window, info.rate(), transform)
            .map_err(|e| fail(e.to_string()))?;
        let sections = if s.per_channel { channels } else { 1 };
        let caps = gst::Caps::builder(TOKEN_CAPS)
            .field("version", 1i32)
            .field("parsed", true)
            .field("rate", info.rate() as i32)
            .field("nfft", frame_size as i32)
            .field("hop", hop as i32)
            .field("k", s.top_k as i32)
            .field("sections", sections as i32)
            .field("window", window.name())
            .field("transform", transform.name())
            .build();
        gst::debug!(CAT, imp = self, "{info:?}: tokens {caps}");
        *self.state() = Some(State {
            format,
            channels,
            bytes_per_frame: info.bpf() as usize,
            framer: Framer::new(frame_size, hop, sections),
            tokenizer: Tokenizer {
                analyzer,
                peaks: Vec::with_capacity(s.top_k as usize),
                rate: info.rate(),
                hop,
                top_k: s.top_k as usize,
                sections,
                per_channel: s.per_channel,
                base: None,
                discont: true,
                announced: None,
            },
        });
        self.tokens.push_event(gst::event::Caps::new(&caps));
        Ok(())
    }
}
