//! Aggregator glue over `format::Writer`: every aggregate writes the queued buffer with the
//! lowest running time as one block and pushes the bytes that produced.

use std::io::Write;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use super::hashing::HashPool;
use super::live::{BlockStart, Live};
use crate::convert::{
    CONTAINER_CAPS, block_flags, clipping_of, is_masked, kind_of, tags_to_string,
};
use crate::crypto::signing::SigningKey;
use crate::format::merkle::leaf_hash;
use crate::format::meta::{CheckpointPolicy, Meta, Signer, Track, TrackKind, WriterIdentity};
use crate::format::writer::{NewBlock, Writer};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("h4mkmux", gst::DebugColorFlags::empty(), Some("H4MK muxer"))
});

const DEFAULT_CHECKPOINT_INTERVAL: u64 = 2_000_000_000;

#[derive(Debug, Clone)]
struct Settings {
    checkpoint_interval: u64,
    signing_key_file: Option<String>,
    streamable: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            signing_key_file: None,
            streamable: false,
        }
    }
}

/// Output buffers are at least this large, and a payload goes on zero-copy (as a second
/// memory) only from ZERO_COPY_MIN_BYTES. GStreamer 1.22's filesink writes 64 KiB of buffers
/// with one writev and loses data when that batch holds more than IOV_MAX (1024) memories;
/// these bounds keep a batch under 512.
const OUTPUT_MIN_BYTES: usize = 128;
const ZERO_COPY_MIN_BYTES: usize = 4096;
/// Output for a file gathers the bytes the muxer writes itself (headers, small payloads,
/// checkpoints) up to this much before it goes downstream in one buffer: a stream of small
/// blocks makes a push per this many bytes instead of one per block.
const GATHER_BYTES: usize = 32 * 1024;

/// The bytes the writer produced since they were last pushed.
#[derive(Default)]
struct Pending(Vec<u8>);

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Stream {
    pad: gst_base::AggregatorPad,
    track: u32,
    kind: TrackKind,
    caps: Option<gst::Caps>,
    tags: Option<gst::TagList>,
    /// `start − time + offset − base` of the pad's first TIME segment, plus the running time
    /// of the file's first buffer: see `Track::time_offset`.
    time_offset: i64,
    /// Where the pad's last stored buffer ended (its PTS plus duration), or its segment's
    /// start before the first: the time an untimed buffer continues the stream at.
    continues_at: Option<gst::ClockTime>,
}

#[derive(Default)]
struct State {
    writer: Option<Writer<Pending>>,
    /// Leaf hashes computed off the streaming thread.
    hashes: Option<HashPool>,
    streams: Vec<Stream>,
    /// Tags that arrived per pad (by name) before the file started.
    early_tags: Vec<(String, gst::TagList)>,
    /// Caps per pad (by name) as processed in queue order before the file started; a pad's
    /// `current_caps()` may already show caps queued behind its first buffer.
    early_caps: Vec<(String, gst::Caps)>,
    global_tags: Option<gst::TagList>,
    /// META must be written again before the next block (caps or tags changed).
    meta_dirty: bool,
    /// An error found outside `aggregate` (in an event), reported by the next `aggregate`.
    pending_error: Option<(gst::StreamError, String)>,
    bytes_out: u64,
    /// Output held back until it reaches OUTPUT_MIN_BYTES.
    held: Option<gst::Buffer>,
    /// The file was finished (EOS on every pad).
    finished: bool,
    /// The key from `signing-key-file`, loaded at start, handed to the writer with the file.
    signing_key: Option<SigningKey>,
    /// META's signer record for that key.
    signer: Option<Signer>,
    /// Live output (`streamable`, or downstream cannot seek): a buffer per chunk.
    live: Option<Live>,
    /// A track's caps changed since META was last written: live clients need the new META.
    tracks_changed: bool,
    /// Blocks and their bytes seen so far, until SIZE_SAMPLE blocks decide the queue depth.
    sampled: Option<(u64, u64)>,
    /// Upstream is live (asked when the file starts): output is not gathered nor queues
    /// deepened, which would hold data back.
    upstream_live: bool,
}

#[derive(Default)]
pub struct H4mkMux {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

fn tags_string(tags: &Option<gst::TagList>) -> Option<String> {
    tags.as_ref()
        .filter(|t| t.n_tags() > 0)
        .map(|t| tags_to_string(t))
}

fn merge(into: &mut Option<gst::TagList>, new: &gst::TagListRef, mode: gst::TagMergeMode) {
    *into = Some(match into.take() {
        Some(old) => old.merge(new, mode),
        None => new.to_owned(),
    });
}

impl H4mkMux {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    fn settings(&self) -> Settings {
        self.settings.lock().expect("settings lock").clone()
    }

    fn meta(&self, state: &State) -> Meta {
        let settings = self.settings();
        Meta {
            writer: WriterIdentity::this_build(),
            checkpoint: CheckpointPolicy {
                span_ns: settings.checkpoint_interval,
                ..CheckpointPolicy::default()
            },
            tracks: state
                .streams
                .iter()
                .map(|s| Track {
                    id: s.track,
                    kind: s.kind,
                    caps: s.caps.as_ref().map(|c| c.to_string()).unwrap_or_default(),
                    tags: tags_string(&s.tags),
                    time_offset: s.time_offset,
                })
                .collect(),
            tags: tags_string(&state.global_tags),
            repaired: None,
            signer: state.signer.clone(),
        }
    }

    /// Builds the track table from the pads as they are when data first flows, and writes
    /// the header and META.
    fn start_file(&self, state: &mut State) -> Result<(), gst::FlowError> {
        let obj = self.obj();
        let setter_tags = obj.upcast_ref::<gst::TagSetter>().tag_list();
        if let Some(t) = setter_tags {
            let mode = obj.upcast_ref::<gst::TagSetter>().tag_merge_mode();
            merge(&mut state.global_tags, &t, mode);
        }
        // The running time of the file's first buffer: the file's stream time starts there, so
        // that a file that begins later in a recording (splitmuxsink's second file, a live
        // capture) starts at 0 and its duration is its own, as Matroska and MP4 files do.
        let first_running = obj
            .sink_pads()
            .iter()
            .filter_map(|pad| {
                let pad = pad.downcast_ref::<gst_base::AggregatorPad>()?;
                let b = pad.peek_buffer()?;
                let seg = pad.segment().downcast::<gst::ClockTime>().ok()?;
                seg.to_running_time(b.pts().or(b.dts())?)
            })
            .min()
            .map_or(0, |t| t.nseconds() as i64);
        let mut streams = Vec::new();
        for (i, pad) in obj.sink_pads().into_iter().enumerate() {
            let pad = pad
                .downcast::<gst_base::AggregatorPad>()
                .expect("aggregator pads");
            let name = pad.name().to_string();
            let caps = state
                .early_caps
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.clone());
            let kind = caps.as_ref().map_or(TrackKind::Data, |c| kind_of(c));
            let tags = state
                .early_tags
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t.clone());
            if caps.is_none() && pad.is_eos() {
                gst::info!(
                    CAT,
                    obj = pad,
                    "pad ended before caps or data; it gets no track"
                );
                continue;
            }
            let segment = pad.segment().downcast::<gst::ClockTime>().ok();
            let time_offset = segment.as_ref().map_or(0, |seg| {
                // start − time, moved with the running time by the segment's base and pad
                // offsets, and by where the file starts in running time.
                let ns = |t: Option<gst::ClockTime>| t.map_or(0, |t| t.nseconds() as i64);
                ns(seg.start()) - ns(seg.time()) + ns(seg.offset()) - ns(seg.base()) + first_running
            });
            let continues_at = segment.as_ref().and_then(|seg| seg.start());
            streams.push(Stream {
                pad,
                track: i as u32,
                kind,
                caps,
                tags,
                time_offset,
                continues_at,
            });
        }
        state.streams = streams;
        let meta = self.meta(state);
        gst::debug!(
            CAT,
            imp = self,
            "starting file with {} tracks",
            meta.tracks.len()
        );
        let fail = |e: crate::format::Error| {
            gst::element_imp_error!(
                self,
                gst::StreamError::Mux,
                ("cannot start the file: {}", e)
            );
            gst::FlowError::Error
        };
        let mut writer = Writer::new(Pending::default(), &meta).map_err(fail)?;
        if let Some(key) = state.signing_key.take() {
            writer.sign_with(key).map_err(fail)?;
        }
        state.writer = Some(writer);
        // The aggregator thread hashes too whenever every worker is busy.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1));
        state.hashes = Some(HashPool::new(threads));
        state.meta_dirty = false;
        Ok(())
    }

    /// The bytes the writer produced since the last call, as a buffer.
    fn take_pending(&self, state: &mut State) -> gst::Buffer {
        let w = state.writer.as_mut().expect("started");
        gst::Buffer::from_mut_slice(std::mem::take(&mut w.get_mut().0))
    }

    /// Waits for every outstanding leaf hash and hands them to the writer.
    fn drain_hashes(&self, state: &mut State) -> Result<(), gst::FlowError> {
        let pool = state.hashes.as_mut().expect("started");
        let done = pool
            .wait_all()
            .ok_or_else(|| self.mux_error("a block could not be hashed".into()))?;
        self.supply_leaves(state, done)
    }

    fn supply_leaves(
        &self,
        state: &mut State,
        done: impl IntoIterator<Item = (u64, crate::format::merkle::Hash)>,
    ) -> Result<(), gst::FlowError> {
        let w = state.writer.as_mut().expect("started");
        for (leaf, hash) in done {
            w.set_leaf(leaf, hash)
                .map_err(|e| self.mux_error(format!("leaf hash: {e}")))?;
        }
        Ok(())
    }

    /// Joins the parts into one output buffer carrying its file offsets.
    /// An output smaller than OUTPUT_MIN_BYTES is held back and joined to the next, unless
    /// it is the `last`.
    fn output_buffer(
        &self,
        state: &mut State,
        parts: Vec<gst::Buffer>,
        last: bool,
    ) -> Option<gst::Buffer> {
        let held = state.held.take();
        let mut buffer = held
            .into_iter()
            .chain(parts)
            .filter(|b| b.size() > 0)
            .reduce(|mut a, b| {
                a.append(b);
                a
            })?;
        if buffer.size() < OUTPUT_MIN_BYTES && !last {
            state.held = Some(buffer);
            return None;
        }
        Self::place(state, buffer.make_mut());
        Some(buffer)
    }

    /// Stamps an output buffer with the file offsets it covers, the next after the last.
    fn place(state: &mut State, b: &mut gst::BufferRef) {
        b.set_offset(state.bytes_out);
        state.bytes_out += b.size() as u64;
        b.set_offset_end(state.bytes_out);
    }

    /// The parts as live output: one buffer per chunk, each carrying its file offsets.
    fn live_buffers(
        &self,
        state: &mut State,
        parts: Vec<gst::Buffer>,
        block_start: BlockStart,
        tracks_changed: bool,
    ) -> Result<Vec<gst::Buffer>, gst::FlowError> {
        let Some(joined) = parts
            .into_iter()
            .filter(|b| b.size() > 0)
            .reduce(|mut a, b| {
                a.append(b);
                a
            })
        else {
            return Ok(Vec::new());
        };
        let live = state.live.as_mut().expect("live output");
        let mut chunks = live
            .cut(&joined, block_start, tracks_changed)
            .map_err(|e| self.mux_error(format!("live output: {e}")))?;
        for c in &mut chunks {
            Self::place(state, c.make_mut());
        }
        Ok(chunks)
    }

    /// Lets the sink pads queue SMALL_BLOCKS_LATENCY of blocks, unless `latency` was set.
    /// Only for an upstream that is not live: the queue would add to a live pipeline's latency.
    fn deepen_queues(&self) {
        let obj = self.obj();
        if obj.property::<gst::ClockTime>("latency") == DEFAULT_LATENCY {
            gst::debug!(
                CAT,
                imp = self,
                "small blocks: sink pads queue {SMALL_BLOCKS_LATENCY}"
            );
            obj.set_property("latency", SMALL_BLOCKS_LATENCY);
        }
    }

    /// Whether any upstream is live.
    fn upstream_live(&self) -> bool {
        self.obj().sink_pads().iter().any(|p| {
            let mut q = gst::query::Latency::new();
            p.peer_query(&mut q) && q.result().0
        })
    }

    /// Whether downstream can seek in bytes (a file can; a socket or a pipe cannot).
    fn downstream_can_seek(&self) -> bool {
        let mut q = gst::query::Seeking::new(gst::Format::Bytes);
        if !self.obj().src_pad().peer_query(&mut q) {
            return false;
        }
        q.result().0
    }

    fn mux_error(&self, msg: String) -> gst::FlowError {
        gst::element_imp_error!(self, gst::StreamError::Mux, ("{}", msg));
        gst::FlowError::Error
    }

    /// The stream whose next buffer has the lowest running time (DTS, else PTS).
    fn next_stream(&self, state: &mut State) -> Result<Option<usize>, gst::FlowError> {
        let mut best: Option<(usize, Option<gst::Signed<gst::ClockTime>>)> = None;
        for (i, s) in state.streams.iter_mut().enumerate() {
            while let Some(b) = s.pad.peek_buffer() {
                let untimed = b.pts().is_none() && b.dts().is_none();
                if b.size() == 0 && b.flags().contains(gst::BufferFlags::GAP) {
                    // A GAP event reaches us as an empty GAP buffer: it moved time on for
                    // the aggregator and carries no media, so it is not stored.
                } else if untimed && s.pad.segment().format() != gst::Format::Time {
                    // An encoder rewriting its header at the end through a BYTES segment
                    // (flacenc's STREAMINFO): not media, and the file is append-only.
                    gst::info!(
                        CAT,
                        obj = s.pad,
                        "untimed buffer in a non-TIME segment dropped"
                    );
                } else if untimed && b.flags().contains(gst::BufferFlags::HEADER) {
                    // Stream headers sent in-band without time (Vorbis, Theora, FLAC,
                    // Speex): kept as the caps' streamheader, where decoders find them.
                    if let Some(caps) = with_streamheader(s.caps.as_ref(), &b) {
                        gst::debug!(CAT, obj = s.pad, "header buffer added to the caps");
                        s.caps = Some(caps);
                        state.meta_dirty = true;
                        state.tracks_changed = true;
                    }
                } else {
                    break;
                }
                s.pad.drop_buffer();
            }
            let Some(buffer) = s.pad.peek_buffer() else {
                continue;
            };
            // An untimed buffer (speexenc's first) continues where the last one ended.
            let Some(ts) = buffer.dts().or(buffer.pts()).or(s.continues_at) else {
                let which = match buffer.offset() {
                    u64::MAX => String::new(),
                    o => format!(" at offset {o}"),
                };
                return Err(self.mux_error(format!(
                    "pad {}: a buffer{which} has neither PTS nor DTS, and the one before it no duration to place it by; H4MK stores explicit time",
                    s.pad.name()
                )));
            };
            let segment = s.pad.segment();
            let rt = segment
                .downcast_ref::<gst::ClockTime>()
                .and_then(|seg| seg.to_running_time_full(ts));
            if best.as_ref().is_none_or(|(_, b)| rt < *b) {
                best = Some((i, rt));
            }
        }
        Ok(best.map(|(i, _)| i))
    }
}

/// Media types a `video_%u` pad takes (and masked streams of any kind).
const VIDEO_TYPES: &[&str] = &[
    "video/x-raw",
    "video/x-h264",
    "video/x-h265",
    "video/x-vp8",
    "video/x-vp9",
    "video/x-av1",
    "video/x-theora",
    "video/x-dirac",
    "video/x-prores",
    "video/x-ffv",
    "video/x-huffyuv",
    "video/x-dv",
    "video/x-h263",
    "video/mpeg",
    "video/x-divx",
    "video/x-xvid",
    "video/x-msmpeg",
    "video/x-wmv",
    "video/x-cineform",
    "image/jpeg",
    "image/png",
    "image/x-j2c",
    "image/x-jpc",
];

const AUDIO_TYPES: &[&str] = &[
    "audio/x-raw",
    "audio/x-opus",
    "audio/x-vorbis",
    "audio/x-flac",
    "audio/mpeg",
    "audio/x-ac3",
    "audio/x-eac3",
    "audio/x-dts",
    "audio/x-true-hd",
    "audio/x-speex",
    "audio/x-alac",
    "audio/x-wavpack",
    "audio/x-tta",
    "audio/x-alaw",
    "audio/x-mulaw",
    "audio/x-adpcm",
    "audio/x-gsm",
    "audio/x-amr-nb-sh",
    "audio/x-amr-wb-sh",
    "audio/x-wma",
    "audio/x-sbc",
    "audio/x-celt",
];

const SUBTITLE_TYPES: &[&str] = &[
    "text/x-raw",
    "application/x-ssa",
    "application/x-ass",
    "application/x-usf",
    "application/x-subtitle-vtt",
    "subpicture/x-dvd",
    "subpicture/x-pgs",
    "subpicture/x-dvb",
    "closedcaption/x-cea-608",
    "closedcaption/x-cea-708",
];

/// `caps` with `header` appended to their `streamheader`, or `None` when they hold it already.
fn with_streamheader(caps: Option<&gst::Caps>, header: &gst::BufferRef) -> Option<gst::Caps> {
    let mut caps = caps?.clone();
    let s = caps.make_mut().structure_mut(0)?;
    let mut headers: Vec<glib::SendValue> = s
        .get::<gst::ArrayRef>("streamheader")
        .map(|a| a.as_slice().to_vec())
        .unwrap_or_default();
    let bytes = header.map_readable().ok()?;
    let held = headers.iter().any(|v| {
        v.get::<gst::Buffer>().is_ok_and(|b| {
            b.map_readable()
                .is_ok_and(|m| m.as_slice() == bytes.as_slice())
        })
    });
    if held {
        return None;
    }
    let mut copy = gst::Buffer::from_slice(bytes.to_vec());
    copy.make_mut().set_flags(gst::BufferFlags::HEADER);
    headers.push(copy.to_send_value());
    s.set("streamheader", gst::Array::from_values(headers));
    Some(caps)
}

fn kind_caps(types: &[&str]) -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    let c = caps.get_mut().expect("new caps");
    for t in types.iter().chain(&[crate::convert::MASKED_CAPS]) {
        c.append_structure(gst::Structure::new_empty(*t));
    }
    caps
}

#[glib::object_subclass]
impl ObjectSubclass for H4mkMux {
    const NAME: &'static str = "GstH4mkMux";
    type Type = super::H4mkMux;
    type ParentType = gst_base::Aggregator;
    type Interfaces = (gst::TagSetter,);
}

/// Default for the aggregator's `latency`: lets each sink pad queue this much instead of
/// handing buffers over one at a time (10x faster on streams of small blocks).
const DEFAULT_LATENCY: gst::ClockTime = gst::ClockTime::from_mseconds(200);
/// The queue each sink pad may hold when upstream is not live and blocks are small (below
/// ZERO_COPY_MIN_BYTES on average over the first SIZE_SAMPLE): the threads hand blocks over
/// in long runs rather than a few at a time, and the memory it takes stays small.
const SMALL_BLOCKS_LATENCY: gst::ClockTime = gst::ClockTime::from_seconds(2);
const SIZE_SAMPLE: u64 = 64;

impl ObjectImpl for H4mkMux {
    fn constructed(&self) {
        self.parent_constructed();
        self.obj().set_property("latency", DEFAULT_LATENCY);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt64::builder("checkpoint-interval")
                    .nick("Checkpoint interval")
                    .blurb("Media time between HASH checkpoints, in nanoseconds: what a crash can leave unverifiable at most (also after every 1024 blocks or 64 MiB)")
                    .minimum(1_000_000)
                    .maximum(3_600_000_000_000)
                    .default_value(DEFAULT_CHECKPOINT_INTERVAL)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("streamable")
                    .nick("Streamable")
                    .blurb("Write for live output (tcpserversink, srtsink, a pipe): every chunk a buffer of its own, the file header and META as the caps' streamheader for clients that join late, DELTA_UNIT on all but the keyframe blocks a client can start at. Chosen by itself when downstream cannot seek. The bytes are the same either way")
                    .default_value(false)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("signing-key-file")
                    .nick("Signing key file")
                    .blurb("Ed25519 private key (PKCS#8, PEM or DER, as h4mk keygen or openssl genpkey -algorithm ed25519 write it): every HASH checkpoint and VERI is signed, so a recording cut short is signed up to its last checkpoint")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().expect("settings lock");
        match pspec.name() {
            "checkpoint-interval" => {
                s.checkpoint_interval = value.get().expect("type checked upstream")
            }
            "streamable" => s.streamable = value.get().expect("type checked upstream"),
            "signing-key-file" => {
                s.signing_key_file = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|p| !p.is_empty())
            }
            _ => unreachable!("only registered properties are set"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "checkpoint-interval" => self.settings().checkpoint_interval.to_value(),
            "streamable" => self.settings().streamable.to_value(),
            "signing-key-file" => self.settings().signing_key_file.to_value(),
            _ => unreachable!("only registered properties are asked for"),
        }
    }
}

impl GstObjectImpl for H4mkMux {}

impl ElementImpl for H4mkMux {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "H4MK muxer",
                "Codec/Muxer",
                "Stores any streams as HarmonyØ4 H4MK: one CRC-checked block per buffer, a keyframe index and a Merkle tree",
                "gst-h4 developers",
            )
        });
        Some(&*META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let any = gst::Caps::new_any();
            let mut t = vec![
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &gst::Caps::builder(CONTAINER_CAPS).build(),
                )
                .expect("src template"),
            ];
            // The kind-named templates list the media types of their kind, so that a stream
            // linked without a pad name gets a pad named after what it is; anything else
            // (or a kind's media type missing here) is taken by data_%u.
            for (name, caps) in [
                ("video_%u", kind_caps(VIDEO_TYPES)),
                ("audio_%u", kind_caps(AUDIO_TYPES)),
                ("subtitle_%u", kind_caps(SUBTITLE_TYPES)),
                ("data_%u", any.clone()),
            ] {
                t.push(
                    gst::PadTemplate::with_gtype(
                        name,
                        gst::PadDirection::Sink,
                        gst::PadPresence::Request,
                        &caps,
                        gst_base::AggregatorPad::static_type(),
                    )
                    .expect("sink template"),
                );
            }
            t
        });
        TEMPLATES.as_ref()
    }

    fn request_new_pad(
        &self,
        templ: &gst::PadTemplate,
        name: Option<&str>,
        caps: Option<&gst::Caps>,
    ) -> Option<gst::Pad> {
        if self.state().writer.is_some() {
            let what = name.map_or_else(|| templ.name_template().to_string(), str::to_string);
            gst::element_imp_error!(
                self,
                gst::StreamError::Mux,
                (
                    "pad {} requested after data started: H4MK declares every track before the first block",
                    what
                )
            );
            return None;
        }
        self.parent_request_new_pad(templ, name, caps)
    }
}

impl TagSetterImpl for H4mkMux {}

impl AggregatorImpl for H4mkMux {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let mut state = State {
            sampled: Some((0, 0)),
            ..State::default()
        };
        if let Some(path) = self.settings().signing_key_file {
            let key = SigningKey::read_file(std::path::Path::new(&path))
                .map_err(|e| gst::error_msg!(gst::ResourceError::OpenRead, ("signing {}", e)))?;
            gst::info!(CAT, imp = self, "signing with key {}", key.public().id());
            state.signer = Some(Signer::of(&key.public()));
            state.signing_key = Some(key);
        }
        *self.state() = state;
        self.obj()
            .update_segment(&gst::FormattedSegment::<gst::format::Bytes>::new());
        self.parent_start()
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state() = State::default();
        self.parent_stop()
    }

    fn negotiate(&self) -> bool {
        true
    }

    /// Names request pads after their template (`video_0`, `data_1`, …), keeping a requested
    /// name when it fits the template and is free; the base class would call them `sink_N`.
    fn create_new_pad(
        &self,
        templ: &gst::PadTemplate,
        req_name: Option<&str>,
        _caps: Option<&gst::Caps>,
    ) -> Option<gst_base::AggregatorPad> {
        let template = templ.name_template();
        let prefix = template.strip_suffix("%u")?;
        let taken: Vec<u32> = self
            .obj()
            .sink_pads()
            .iter()
            .filter_map(|p| p.name().strip_prefix(prefix).and_then(|n| n.parse().ok()))
            .collect();
        let requested = req_name
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| !taken.contains(n));
        let index = requested.unwrap_or_else(|| taken.iter().max().map_or(0, |m| m + 1));
        Some(
            gst::PadBuilder::<gst_base::AggregatorPad>::from_template(templ)
                .name(format!("{prefix}{index}"))
                .build(),
        )
    }

    /// Every pad takes any caps: the templates' media types only choose the name of a pad
    /// requested for a stream whose caps are known at linking time (an appsrc whose caps come
    /// later gets the first template's pad, and still negotiates).
    fn sink_query(&self, pad: &gst_base::AggregatorPad, query: &mut gst::QueryRef) -> bool {
        match query.view_mut() {
            gst::QueryViewMut::AcceptCaps(q) => {
                q.set_result(true);
                true
            }
            gst::QueryViewMut::Caps(q) => {
                let caps = q.filter_owned().unwrap_or_else(gst::Caps::new_any);
                q.set_result(&caps);
                true
            }
            _ => self.parent_sink_query(pad, query),
        }
    }

    fn sink_event(&self, pad: &gst_base::AggregatorPad, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                let mut state = self.state();
                gst::debug!(CAT, obj = pad, "caps {caps}");
                if state.writer.is_none() {
                    let name = pad.name().to_string();
                    state.early_caps.retain(|(n, _)| *n != name);
                    state.early_caps.push((name, caps));
                } else {
                    if let Some(s) = state.streams.iter_mut().find(|s| s.pad == *pad) {
                        let old_name = s
                            .caps
                            .as_ref()
                            .and_then(|c| c.structure(0).map(|s| s.name().to_string()));
                        let new_name = caps.structure(0).map(|s| s.name().to_string());
                        if s.caps.as_ref() != Some(&caps) {
                            if old_name.is_some() && old_name != new_name {
                                state.pending_error = Some((
                                    gst::StreamError::Mux,
                                    format!(
                                        "pad {}: caps changed from {} to {}: a track keeps its media type",
                                        pad.name(),
                                        old_name.unwrap_or_default(),
                                        new_name.unwrap_or_default()
                                    ),
                                ));
                            } else {
                                gst::info!(
                                    CAT,
                                    obj = pad,
                                    "caps changed to {caps}; META is updated"
                                );
                                s.caps = Some(caps);
                                state.meta_dirty = true;
                                state.tracks_changed = true;
                            }
                        }
                    }
                }
                drop(state);
                self.parent_sink_event(pad, event)
            }
            EventView::Tag(t) => {
                let tags = t.tag();
                gst::debug!(CAT, obj = pad, "{:?} tags {tags}", tags.scope());
                let mut state = self.state();
                if tags.scope() == gst::TagScope::Global {
                    // Which container the streams were read from says nothing about them (and
                    // a remuxed H4MK file stays byte-identical).
                    let mut own = tags.to_owned();
                    own.make_mut().remove::<gst::tags::ContainerFormat>();
                    merge(&mut state.global_tags, &own, gst::TagMergeMode::Replace);
                } else if let Some(s) = state.streams.iter_mut().find(|s| s.pad == *pad) {
                    merge(&mut s.tags, tags, gst::TagMergeMode::Replace);
                } else {
                    let name = pad.name().to_string();
                    match state.early_tags.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, t)) => *t = t.merge(tags, gst::TagMergeMode::Replace),
                        None => state.early_tags.push((name, tags.to_owned())),
                    }
                }
                if state.writer.is_some() {
                    state.meta_dirty = true;
                }
                drop(state);
                self.parent_sink_event(pad, event)
            }
            _ => self.parent_sink_event(pad, event),
        }
    }

    fn src_query(&self, query: &mut gst::QueryRef) -> bool {
        if let gst::QueryViewMut::Seeking(q) = query.view_mut() {
            q.set(false, gst::format::Bytes::ZERO, gst::format::Bytes::NONE);
            return true;
        }
        self.parent_src_query(query)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Seek(_) = event.view() {
            gst::debug!(CAT, imp = self, "a muxer cannot seek");
            return false;
        }
        self.parent_src_event(event)
    }

    fn aggregate(&self, _timeout: bool) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = self.state();
        if let Some((kind, msg)) = state.pending_error.take() {
            drop(state);
            gst::element_imp_error!(self, kind, ("{}", msg));
            return Err(gst::FlowError::Error);
        }
        if state.finished {
            return Err(gst::FlowError::Eos);
        }
        let first = state.writer.is_none();
        if first {
            if self.settings().streamable || !self.downstream_can_seek() {
                gst::info!(
                    CAT,
                    imp = self,
                    "live output: a buffer per chunk, streamheader in the caps"
                );
                state.live = Some(Live::default());
            }
            state.upstream_live = self.upstream_live();
            self.start_file(&mut state)?;
        }
        let next = self.next_stream(&mut state)?;
        let mut result = Ok(gst::FlowSuccess::Ok);
        let mut parts: Vec<gst::Buffer> = Vec::new();
        let mut block_start = BlockStart::No;
        let mut tracks_changed = false;
        match next {
            Some(i) => {
                if state.meta_dirty {
                    tracks_changed = std::mem::take(&mut state.tracks_changed);
                    let meta = self.meta(&state);
                    let w = state.writer.as_mut().expect("started");
                    w.write_meta_update(&meta)
                        .map_err(|e| self.mux_error(format!("META update: {e}")))?;
                    state.meta_dirty = false;
                }
                let buffer = state.streams[i].pad.pop_buffer().expect("peeked before");
                if let Some((blocks, bytes)) = &mut state.sampled {
                    *blocks += 1;
                    *bytes += buffer.size() as u64;
                }
                let s = &mut state.streams[i];
                let (pad, track) = (s.pad.clone(), s.track);
                let masked = s.caps.as_ref().is_some_and(|c| is_masked(c));
                let untimed = buffer.pts().is_none() && buffer.dts().is_none();
                let pts = if untimed {
                    s.continues_at
                } else {
                    buffer.pts()
                };
                s.continues_at = pts.zip(buffer.duration()).map(|(p, d)| p + d);
                let flags = block_flags(buffer.flags());
                // Clients start at a keyframe of the first video track (any track without one).
                let start_track = state
                    .streams
                    .iter()
                    .find(|s| s.kind == TrackKind::Video)
                    .map(|s| s.track);
                if flags.is_keyframe() && start_track.is_none_or(|t| t == track) {
                    block_start = BlockStart::Yes;
                }
                let block = NewBlock {
                    track,
                    masked,
                    flags,
                    pts: pts.map(|t| t.nseconds()),
                    dts: buffer.dts().map(|t| t.nseconds()),
                    duration: buffer.duration().map(|t| t.nseconds()),
                    clipping: clipping_of(&buffer),
                };
                let (placement, head) = {
                    let map = buffer.map_readable().map_err(|_| {
                        self.mux_error(format!("pad {}: unreadable buffer", pad.name()))
                    })?;
                    let w = state.writer.as_mut().expect("started");
                    w.write_block_head(&block, &map)
                        .map_err(|e| self.mux_error(format!("pad {}: {e}", pad.name())))?
                };
                gst::trace!(
                    CAT,
                    obj = pad,
                    "block {} {:?} of {} bytes",
                    placement.leaf,
                    buffer.pts(),
                    buffer.size()
                );
                // Large payloads go on as the input's own memory; small ones are copied so that
                // output buffers stay few-memory (see OUTPUT_MIN_BYTES), and hashed here: a
                // hand-off to the hashing threads costs more than hashing them.
                let payload = (buffer.size() > 0).then_some(buffer);
                let mut small_leaf = None;
                match &payload {
                    Some(p) if p.size() >= ZERO_COPY_MIN_BYTES => {
                        parts.push(self.take_pending(&mut state));
                        parts.push(
                            p.copy_region(gst::BufferCopyFlags::MEMORY, ..)
                                .map_err(|_| gst::FlowError::Error)?,
                        );
                    }
                    Some(p) => {
                        let map = p.map_readable().map_err(|_| gst::FlowError::Error)?;
                        small_leaf = Some(leaf_hash(&[&head, &map]));
                        let w = state.writer.as_mut().expect("started");
                        w.get_mut().0.extend_from_slice(&map);
                    }
                    None => small_leaf = Some(leaf_hash(&[&head])),
                }
                if let Some(hash) = small_leaf {
                    self.supply_leaves(&mut state, [(placement.leaf, hash)])?;
                } else {
                    let pool = state.hashes.as_mut().expect("started");
                    pool.submit(placement.leaf, head, payload);
                }
                let pool = state.hashes.as_mut().expect("started");
                let done = pool
                    .ready()
                    .ok_or_else(|| self.mux_error("a block could not be hashed".into()))?;
                self.supply_leaves(&mut state, done)?;
                if state.writer.as_ref().expect("started").checkpoint_due() {
                    self.drain_hashes(&mut state)?;
                    let w = state.writer.as_mut().expect("started");
                    w.checkpoint()
                        .map_err(|e| self.mux_error(format!("checkpoint: {e}")))?;
                }
                let gathered = state.writer.as_ref().expect("started").get_ref().0.len();
                if state.live.is_some() || state.upstream_live || gathered >= GATHER_BYTES {
                    parts.push(self.take_pending(&mut state));
                }
            }
            None if !state
                .streams
                .iter()
                .all(|s| s.pad.is_eos() || s.pad.parent().is_none()) =>
            {
                // Only headers or gaps were queued, and dropped: wait for more.
                return Ok(gst::FlowSuccess::Ok);
            }
            None => {
                // Every pad is at EOS and drained: finish the file.
                self.drain_hashes(&mut state)?;
                let w = state.writer.take().expect("started");
                let (pending, summary) = w
                    .finish()
                    .map_err(|e| self.mux_error(format!("finishing: {e}")))?;
                gst::info!(
                    CAT,
                    imp = self,
                    "finished: {} blocks, {} keyframes, {} bytes",
                    summary.blocks,
                    summary.keyframes,
                    summary.bytes
                );
                state.finished = true;
                state.hashes = None;
                result = Err(gst::FlowError::Eos);
                parts.push(gst::Buffer::from_mut_slice(pending.0));
            }
        }
        let small_blocks = match state.sampled {
            Some((blocks, bytes)) if blocks >= SIZE_SAMPLE => {
                state.sampled = None;
                !state.upstream_live && bytes / blocks < ZERO_COPY_MIN_BYTES as u64
            }
            _ => false,
        };
        if state.live.is_some() {
            let chunks = self.live_buffers(&mut state, parts, block_start, tracks_changed)?;
            let caps = state
                .live
                .as_mut()
                .and_then(|l| l.caps_update(gst::Caps::builder(CONTAINER_CAPS).build()));
            drop(state);
            if small_blocks {
                self.deepen_queues();
            }
            if let Some(caps) = caps {
                gst::debug!(CAT, imp = self, "streamheader: {caps}");
                self.obj().set_src_caps(&caps);
            }
            for chunk in chunks {
                self.obj().finish_buffer(chunk)?;
            }
            return result;
        }
        let out = self.output_buffer(&mut state, parts, result.is_err());
        drop(state);
        if small_blocks {
            self.deepen_queues();
        }
        if first {
            self.obj()
                .set_src_caps(&gst::Caps::builder(CONTAINER_CAPS).build());
        }
        if let Some(buffer) = out {
            self.obj().finish_buffer(buffer)?;
        }
        result
    }
}
