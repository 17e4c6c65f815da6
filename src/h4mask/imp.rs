//! The element: a sink and a src pad, one masking or unmasking session per stream.

use std::sync::{LazyLock, Mutex, MutexGuard};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use sha2::{Digest, Sha256};

use super::caps::{mask_caps, unmask_caps};
use super::{Direction, FailurePolicy, MaskMode};
use crate::convert::{copy_clipping, is_masked};
use crate::crypto::header::{FLAG_FINAL, FLAG_KEYFRAME};
use crate::crypto::schedule::{SessionId, first_block_digest, random_salt, siv_session_salt};
use crate::crypto::{BlockFields, Error as MaskError, MaskHeader, MasterKey, Mode, Opener, Sealer};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "h4mask",
        gst::DebugColorFlags::empty(),
        Some("HarmonyØ4 block masking"),
    )
});

/// The key as configured. The bytes are never logged, shown or readable back.
#[derive(Default, Clone)]
enum KeySource {
    #[default]
    None,
    Inline(Result<MasterKey, String>),
    File(String),
}

#[derive(Default, Clone)]
struct Settings {
    mode: MaskMode,
    direction: Direction,
    key: KeySource,
    track: u32,
    session_id: Option<String>,
    policy: FailurePolicy,
}

struct Masking {
    sealer: Sealer,
    next_index: u64,
    /// End (or start) of the last buffer: where the final seal is stamped.
    last_time: Option<gst::ClockTime>,
}

struct Unmasking {
    opener: Opener,
    caps_digest: [u8; 32],
    /// The index the next block must have; `None` after a start, seek or discontinuity.
    expected: Option<u64>,
    /// Masked time minus clear time (ns) since the last discontinuity: a demuxer may move a
    /// whole track in time (h4mkdemux timestamps=aligned), never one block.
    shift: Option<i128>,
    blocks: u64,
    sealed: bool,
}

/// `aes-256-gcm-siv` without a `session-id`: the session comes from the first block, so the
/// caps (which carry the salt) and the serialized events after them wait for it.
struct Waiting {
    key: MasterKey,
    caps: gst::Caps,
    track: u32,
    held: Vec<gst::Event>,
}

enum Session {
    Mask(Masking),
    Waiting(Waiting),
    Unmask(Unmasking),
}

#[derive(Default)]
struct State {
    key: Option<MasterKey>,
    session: Option<Session>,
    segment_stop: Option<gst::ClockTime>,
    warned_xor: bool,
}

pub struct H4Mask {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

fn digest(caps: &gst::CapsRef) -> [u8; 32] {
    Sha256::digest(caps.to_string().as_bytes()).into()
}

fn ns(t: Option<gst::ClockTime>) -> Option<u64> {
    t.map(|t| t.nseconds())
}

/// What the masked header of `buffer` says, as block `index`.
fn block_fields(buffer: &gst::BufferRef, index: u64) -> BlockFields {
    BlockFields {
        index,
        flags: if buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
            0
        } else {
            FLAG_KEYFRAME
        },
        pts: ns(buffer.pts()),
        dts: ns(buffer.dts()),
        duration: ns(buffer.duration()),
    }
}

impl H4Mask {
    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the configured key; `Err` is the message of a DECRYPT_NOKEY error.
    fn load_key(&self) -> Result<MasterKey, String> {
        match self.settings().key.clone() {
            KeySource::None => Err("no key: set the key-file or key property".into()),
            KeySource::Inline(k) => k.map_err(|e| format!("key property: {e}")),
            KeySource::File(path) => {
                MasterKey::read_file(std::path::Path::new(&path)).map_err(|e| e.to_string())
            }
        }
    }

    fn decrypt_error(&self, msg: String) -> gst::FlowError {
        gst::element_imp_error!(self, gst::StreamError::Decrypt, ("{}", msg));
        gst::FlowError::Error
    }

    fn nokey_error(&self, msg: String) -> gst::FlowError {
        gst::element_imp_error!(self, gst::StreamError::DecryptNokey, ("{}", msg));
        gst::FlowError::Error
    }

    /// Starts a session for `caps`; returns the caps for the src pad, or `None` when they wait
    /// for the first block.
    fn setup(&self, caps: &gst::CapsRef) -> Result<Option<gst::Caps>, gst::FlowError> {
        let settings = self.settings().clone();
        let mut state = self.state();
        let key = state
            .key
            .clone()
            .ok_or_else(|| self.nokey_error("no key loaded".into()))?;
        let unmask = match settings.direction {
            Direction::Mask => false,
            Direction::Unmask => true,
            Direction::Auto => is_masked(caps),
        };
        if unmask {
            let u = unmask_caps(caps).map_err(|e| {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Format,
                    ("cannot unmask caps {}: {}", caps, e)
                );
                gst::FlowError::NotNegotiated
            })?;
            let p = &u.params;
            if p.key_id != key.id().to_string() {
                return Err(self.nokey_error(format!(
                    "the stream was masked with key id {}, but the configured key has id {}",
                    p.key_id,
                    key.id()
                )));
            }
            gst::info!(
                CAT,
                imp = self,
                "unmasking {} track {} with key id {}",
                p.mode.label(),
                p.track,
                key.id()
            );
            state.session = Some(Session::Unmask(Unmasking {
                opener: Opener::new(&key, p.mode, p.salt, p.track),
                caps_digest: digest(&u.caps),
                expected: None,
                shift: None,
                blocks: 0,
                sealed: false,
            }));
            Ok(Some(u.caps))
        } else {
            if is_masked(caps) {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Format,
                    ("the input is already masked; use direction=unmask or auto")
                );
                return Err(gst::FlowError::NotNegotiated);
            }
            let mode: Mode = settings.mode.into();
            if mode == Mode::Xor && !state.warned_xor {
                state.warned_xor = true;
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Decrypt,
                    ("mode xor is unauthenticated and malleable: altered blocks go unnoticed; use aes-256-gcm unless a reader needs xor")
                );
            }
            let salt = match (mode, settings.session_id.as_deref()) {
                (Mode::Aes256GcmSiv, Some(id)) => siv_session_salt(&key, SessionId::Named(id)),
                (Mode::Aes256GcmSiv, None) => {
                    gst::debug!(
                        CAT,
                        imp = self,
                        "session from the first block: caps wait for it"
                    );
                    state.session = Some(Session::Waiting(Waiting {
                        key,
                        caps: caps.to_owned(),
                        track: settings.track,
                        held: Vec::new(),
                    }));
                    return Ok(None);
                }
                (_, named) => {
                    if named.is_some() {
                        gst::element_imp_warning!(
                            self,
                            gst::LibraryError::Settings,
                            (
                                "session-id is for aes-256-gcm-siv; mode {} draws a fresh random session salt",
                                mode.label()
                            )
                        );
                    }
                    random_salt().map_err(|e| self.decrypt_error(e))?
                }
            };
            let (masking, out) = self.start_masking(&key, caps, mode, salt, settings.track);
            state.session = Some(Session::Mask(masking));
            Ok(Some(out))
        }
    }

    /// A masking session under `salt`, and the masked caps that announce it.
    fn start_masking(
        &self,
        key: &MasterKey,
        caps: &gst::CapsRef,
        mode: Mode,
        salt: [u8; 16],
        track: u32,
    ) -> (Masking, gst::Caps) {
        let sealer = Sealer::new(key, mode, salt, track, digest(caps));
        let out = mask_caps(caps, mode, sealer.key_id(), &salt, track);
        gst::info!(
            CAT,
            imp = self,
            "masking {} as track {} with key id {}",
            mode.label(),
            track,
            sealer.key_id()
        );
        let masking = Masking {
            sealer,
            next_index: 0,
            last_time: None,
        };
        (masking, out)
    }

    /// Ends the wait for the first block (`None`: the stream ended without one): the session,
    /// then the caps and held events downstream.
    fn settle(&self, first: Option<&gst::Buffer>) -> Result<(), gst::FlowError> {
        let mut state = self.state();
        if !matches!(state.session, Some(Session::Waiting(_))) {
            return Ok(());
        }
        let Some(Session::Waiting(w)) = state.session.take() else {
            unreachable!("checked above");
        };
        let map = first
            .map(|b| b.map_readable())
            .transpose()
            .map_err(|_| self.decrypt_error("unreadable buffer".into()))?;
        let fields = first.map(|b| block_fields(b, 0));
        let content = first_block_digest(
            &digest(&w.caps),
            w.track,
            fields.as_ref().zip(map.as_deref()),
        );
        let salt = siv_session_salt(&w.key, SessionId::FirstBlock(&content));
        let (masking, out) = self.start_masking(&w.key, &w.caps, Mode::Aes256GcmSiv, salt, w.track);
        state.session = Some(Session::Mask(masking));
        drop(state);
        self.srcpad.push_event(gst::event::Caps::new(&out));
        for e in w.held {
            self.srcpad.push_event(e);
        }
        Ok(())
    }

    fn mask(&self, m: &mut Masking, buffer: &gst::Buffer) -> Result<gst::Buffer, gst::FlowError> {
        let map = buffer
            .map_readable()
            .map_err(|_| self.decrypt_error("unreadable buffer".into()))?;
        if map.len() > u32::MAX as usize {
            return Err(self.decrypt_error(format!(
                "a {}-byte buffer is over the 4 GiB a block can hold",
                map.len()
            )));
        }
        let fields = block_fields(buffer, m.next_index);
        let mut out = gst::Buffer::with_size(m.sealer.sealed_len(map.len()))
            .map_err(|_| self.decrypt_error("cannot allocate the masked buffer".into()))?;
        {
            let out = out.get_mut().expect("new buffer");
            let mut dst = out.map_writable().map_err(|_| gst::FlowError::Error)?;
            m.sealer.seal_into(fields, &map, &mut dst);
        }
        drop(map);
        buffer
            .copy_into(
                out.get_mut().expect("new buffer"),
                gst::BufferCopyFlags::FLAGS | gst::BufferCopyFlags::TIMESTAMPS,
                ..,
            )
            .map_err(|_| gst::FlowError::Error)?;
        copy_clipping(buffer, out.get_mut().expect("new buffer"));
        m.next_index += 1;
        m.last_time = buffer
            .pts()
            .map(|p| p + buffer.duration().unwrap_or_default())
            .or(m.last_time);
        Ok(out)
    }

    /// The final seal: a header and a tag after the last block, so that a stream cut at a block
    /// boundary is told from a complete one.
    fn seal_buffer(&self, m: &Masking) -> gst::Buffer {
        let fields = BlockFields {
            index: m.next_index,
            flags: FLAG_FINAL,
            pts: ns(m.last_time),
            dts: None,
            duration: None,
        };
        let mut b = gst::Buffer::from_mut_slice(m.sealer.seal(fields, &[]));
        let r = b.get_mut().expect("new buffer");
        r.set_pts(m.last_time);
        r.set_flags(gst::BufferFlags::DELTA_UNIT);
        b
    }

    /// `Ok(None)` for the final seal, which is checked and consumed here.
    fn unmask(
        &self,
        u: &mut Unmasking,
        buffer: &gst::Buffer,
    ) -> Result<Option<gst::Buffer>, (MaskError, Option<String>)> {
        let map = buffer
            .map_readable()
            .map_err(|_| (MaskError::Malformed("unreadable buffer".into()), None))?;
        let header = MaskHeader::parse(&map).map_err(|e| (e, None))?;
        let f = header.fields;
        let tampered = |why: String| {
            (
                MaskError::Tampered {
                    track: header.track,
                    index: f.index,
                    pts: f.pts,
                },
                Some(why),
            )
        };
        if buffer.flags().contains(gst::BufferFlags::DISCONT) {
            u.expected = None;
            u.shift = None;
        }
        if let Some(e) = u.expected
            && f.index != e
        {
            return Err(tampered(format!(
                "block index {} where {e} was expected: blocks reordered, duplicated or dropped",
                f.index
            )));
        }
        // The clear timing and keyframe flag must be what was masked, the timestamps up to
        // the track's one shift.
        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        if !header.is_final() {
            let shift = u.shift.or_else(|| {
                let (masked, clear) = (f.pts.or(f.dts)?, buffer.pts().or(buffer.dts())?);
                Some(i128::from(masked) - i128::from(clear.nseconds()))
            });
            let same = |masked: Option<u64>, clear: Option<gst::ClockTime>| match (masked, clear) {
                (Some(m), Some(c)) => Some(i128::from(m) - i128::from(c.nseconds())) == shift,
                (m, c) => m.is_none() && c.is_none(),
            };
            if !same(f.pts, buffer.pts())
                || !same(f.dts, buffer.dts())
                || f.duration != ns(buffer.duration())
                || (f.flags & FLAG_KEYFRAME != 0) != keyframe
            {
                return Err(tampered(
                    "the buffer's timestamps or keyframe flag differ from the masked ones".into(),
                ));
            }
            u.shift = shift;
        }
        if header.caps_digest != u.caps_digest && !header.is_final() {
            return Err(tampered("masked under other caps".into()));
        }
        let mut out = gst::Buffer::with_size(header.payload_len as usize)
            .map_err(|_| (MaskError::Malformed("cannot allocate".into()), None))?;
        {
            let out = out.get_mut().expect("new buffer");
            let mut dst = out
                .map_writable()
                .map_err(|_| (MaskError::Malformed("cannot map".into()), None))?;
            u.opener
                .open_into(&map, &header, &mut dst)
                .map_err(|e| (e, None))?;
        }
        u.expected = Some(f.index + 1);
        if header.is_final() {
            u.sealed = true;
            return Ok(None);
        }
        u.blocks += 1;
        u.sealed = false;
        buffer
            .copy_into(
                out.get_mut().expect("new buffer"),
                gst::BufferCopyFlags::FLAGS | gst::BufferCopyFlags::TIMESTAMPS,
                ..,
            )
            .map_err(|_| (MaskError::Malformed("cannot copy metadata".into()), None))?;
        copy_clipping(buffer, out.get_mut().expect("new buffer"));
        Ok(Some(out))
    }

    fn sink_chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let policy = self.settings().policy;
        self.settle(Some(&buffer))?;
        let out = {
            let mut state = self.state();
            match state.session.as_mut() {
                None => {
                    drop(state);
                    gst::element_imp_error!(
                        self,
                        gst::CoreError::Negotiation,
                        ("a buffer arrived before caps: every masked block binds its stream's caps, so h4mask needs them (add a capsfilter)")
                    );
                    return Err(gst::FlowError::NotNegotiated);
                }
                Some(Session::Mask(m)) => Some(self.mask(m, &buffer)?),
                Some(Session::Waiting(_)) => unreachable!("settled above"),
                Some(Session::Unmask(u)) => match self.unmask(u, &buffer) {
                    Ok(b) => b,
                    Err((e, why)) => {
                        let detail = why.map(|w| format!(": {w}")).unwrap_or_default();
                        drop(state);
                        return self.unmask_failed(e, detail, &buffer, policy);
                    }
                },
            }
        };
        match out {
            Some(b) => self.srcpad.push(b),
            None => Ok(gst::FlowSuccess::Ok),
        }
    }

    fn unmask_failed(
        &self,
        e: MaskError,
        detail: String,
        buffer: &gst::Buffer,
        policy: FailurePolicy,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        match e {
            MaskError::WrongKey { .. } => Err(self.nokey_error(e.to_string())),
            MaskError::Malformed(_) => {
                gst::element_imp_error!(self, gst::StreamError::Format, ("{}", e));
                Err(gst::FlowError::Error)
            }
            _ if policy == FailurePolicy::Skip => {
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Decrypt,
                    ("{}{}; skipped", e, detail)
                );
                if let Some(pts) = buffer.pts() {
                    let mut gap = gst::event::Gap::builder(pts);
                    if let Some(d) = buffer.duration() {
                        gap = gap.duration(d);
                    }
                    self.srcpad.push_event(gap.build());
                }
                // Resynchronise on the next block.
                if let Some(Session::Unmask(u)) = self.state().session.as_mut() {
                    u.expected = None;
                }
                Ok(gst::FlowSuccess::Ok)
            }
            _ => Err(self.decrypt_error(format!("{e}{detail}"))),
        }
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        if let EventView::Caps(c) = event.view() {
            return match self.setup(c.caps()) {
                Ok(Some(caps)) => self.srcpad.push_event(gst::event::Caps::new(&caps)),
                Ok(None) => true,
                Err(_) => false,
            };
        }
        // Segment, tags and the like keep their place after the caps that wait.
        if event.is_serialized()
            && event.type_() != gst::EventType::Eos
            && let Some(Session::Waiting(w)) = self.state().session.as_mut()
        {
            w.held.push(event);
            return true;
        }
        match event.view() {
            EventView::Segment(s) => {
                self.state().segment_stop = s
                    .segment()
                    .downcast_ref::<gst::ClockTime>()
                    .and_then(|s| s.stop());
            }
            EventView::FlushStop(_) => {
                if let Some(Session::Unmask(u)) = self.state().session.as_mut() {
                    u.expected = None;
                    u.shift = None;
                    u.sealed = false;
                }
            }
            EventView::Eos(_) => {
                if self.settle(None).is_err() {
                    return false;
                }
                let mut state = self.state();
                let stop = state.segment_stop;
                match state.session.as_mut() {
                    Some(Session::Mask(m)) => {
                        let seal = self.seal_buffer(m);
                        drop(state);
                        if let Err(e) = self.srcpad.push(seal) {
                            gst::debug!(CAT, imp = self, "final seal not taken: {e:?}");
                        }
                    }
                    Some(Session::Unmask(u)) if !u.sealed && u.blocks > 0 && stop.is_none() => {
                        let (blocks, next) = (u.blocks, u.expected);
                        drop(state);
                        let _ = self.decrypt_error(format!(
                            "the stream ends without its final seal after {blocks} block(s){}: it was truncated",
                            next.map(|n| format!(" (next index {n})")).unwrap_or_default()
                        ));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        gst::Pad::event_default(pad, Some(&*self.obj()), event)
    }
}

#[glib::object_subclass]
impl ObjectSubclass for H4Mask {
    const NAME: &'static str = "GstH4Mask";
    type Type = super::H4Mask;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sinkpad = gst::Pad::builder_from_template(&klass.pad_template("sink").expect("sink"))
            .chain_function(|pad, parent, buffer| {
                H4Mask::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |m| m.sink_chain(buffer),
                )
                .inspect_err(|e| gst::log!(CAT, obj = pad, "chain: {e:?}"))
            })
            .event_function(|pad, parent, event| {
                H4Mask::catch_panic_pad_function(parent, || false, |m| m.sink_event(pad, event))
            })
            .flags(gst::PadFlags::PROXY_ALLOCATION)
            .build();
        let srcpad = gst::Pad::builder_from_template(&klass.pad_template("src").expect("src"))
            .flags(gst::PadFlags::PROXY_ALLOCATION)
            .build();
        H4Mask {
            sinkpad,
            srcpad,
            settings: Mutex::new(Settings::default()),
            state: Mutex::new(State::default()),
        }
    }
}

impl ObjectImpl for H4Mask {
    fn constructed(&self) {
        self.parent_constructed();
        self.srcpad.use_fixed_caps();
        let obj = self.obj();
        obj.add_pad(&self.sinkpad).expect("sink pad");
        obj.add_pad(&self.srcpad).expect("src pad");
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("mode", MaskMode::default())
                    .nick("Mode")
                    .blurb("How blocks are masked (unmasking takes the mode from the caps)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("direction", Direction::default())
                    .nick("Direction")
                    .blurb("Mask, unmask, or decide from the input caps (application/x-h4mk-masked is unmasked)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("key-file")
                    .nick("Key file")
                    .blurb("File holding the 256-bit master key: 32 raw bytes or 64 hex digits")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("key")
                    .nick("Key")
                    .blurb("The 256-bit master key as 64 hex digits (write-only; prefer key-file, since command lines are visible to other users)")
                    .write_only()
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("track")
                    .nick("Track")
                    .blurb("Track number bound into every masked block and its key (a block moved to another track fails to open)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("session-id")
                    .nick("Session id")
                    .blurb("aes-256-gcm-siv: a name unique to this recording, bound into every block's key; unset, the session comes from the stream's first block (other modes draw a random session salt)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("on-failure", FailurePolicy::default())
                    .nick("On failure")
                    .blurb("What unmasking does with a block that fails authentication; its plaintext is never pushed")
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings();
        match pspec.name() {
            "mode" => s.mode = value.get().expect("type checked upstream"),
            "direction" => s.direction = value.get().expect("type checked upstream"),
            "key-file" => {
                s.key = match value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                {
                    Some(p) if !p.is_empty() => KeySource::File(p),
                    _ => KeySource::None,
                }
            }
            "key" => {
                s.key = match value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                {
                    Some(hex) if !hex.is_empty() => {
                        KeySource::Inline(MasterKey::from_hex(&hex).map_err(|e| e.to_string()))
                    }
                    _ => KeySource::None,
                };
                gst::debug!(CAT, imp = self, "key set (not shown)");
            }
            "track" => s.track = value.get().expect("type checked upstream"),
            "session-id" => {
                s.session_id = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|id| !id.is_empty())
            }
            "on-failure" => s.policy = value.get().expect("type checked upstream"),
            other => gst::warning!(CAT, imp = self, "no property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings();
        match pspec.name() {
            "mode" => s.mode.to_value(),
            "direction" => s.direction.to_value(),
            "key-file" => match &s.key {
                KeySource::File(p) => Some(p.clone()).to_value(),
                _ => None::<String>.to_value(),
            },
            "track" => s.track.to_value(),
            "session-id" => s.session_id.to_value(),
            "on-failure" => s.policy.to_value(),
            _ => pspec.default_value().clone(),
        }
    }
}

impl GstObjectImpl for H4Mask {}

impl ElementImpl for H4Mask {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "HarmonyØ4 block masking",
                "Filter/Encryptor/Decryptor",
                "Masks each buffer on its own with AES-256-GCM (keys from HKDF-SHA256, nonce from \
                 the block index; timestamps and keyframe flags stay in clear so a masked stream \
                 can be muxed, indexed and sought without the key) and unmasks it again",
                "gst-h4 developers",
            )
        });
        Some(&META)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let any = gst::Caps::new_any();
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &any,
                )
                .expect("sink template"),
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &any,
                )
                .expect("src template"),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            match self.load_key() {
                Ok(key) => {
                    gst::debug!(CAT, imp = self, "key id {}", key.id());
                    let mut state = self.state();
                    *state = State {
                        key: Some(key),
                        ..State::default()
                    };
                }
                Err(msg) => {
                    let _ = self.nokey_error(msg);
                    return Err(gst::StateChangeError);
                }
            }
        }
        let res = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            *self.state() = State::default();
        }
        Ok(res)
    }
}
