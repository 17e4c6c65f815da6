//! Pads, scheduling, segments and seeking over the H4MK core. Both modes feed the same
//! `Scanner`: pull mode with `pull_range` from a task, push mode from the chain function
//! (imp/push.rs).

use std::str::FromStr;
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::pull::PadSource;
use super::{DamagePolicy, Timestamps};
use crate::convert::{CONTAINER_CAPS, apply_block, tags_from_string};
use crate::format::block::BlockHeader;
use crate::format::chunk::{CHUNK_HEADER_LEN, is_block_tag, tag_name};
use crate::format::index_load::Entries;
use crate::format::item::{Item, decode};
use crate::format::meta::{Meta, Track, TrackKind};
use crate::format::reader::Reader;
use crate::format::scan::{Damage, Scanner, Step};
use crate::format::seek::{SeekHit, SeekTable, Snap};
use crate::format::seek_plan::{self, Landing};
use push::{Fetch, Startup};
use walk::Walk;

mod push;
mod walk;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "h4mkdemux",
        gst::DebugColorFlags::empty(),
        Some("H4MK demuxer"),
    )
});

/// Bytes pulled per task iteration (more when one chunk needs more).
const PULL_SIZE: u32 = 1 << 20;
/// How far a sparse stream may fall behind the others before it gets a GAP event (ns).
const SPARSE_LAG: u64 = 1_000_000_000;
/// How long a push-mode seek waits for upstream to deliver the index.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, Default)]
struct Settings {
    damage_policy: DamagePolicy,
    timestamps: Timestamps,
}

struct Stream {
    pad: gst::Pad,
    track: Track,
    discont: bool,
    /// Every block this stream sends before the segment's stop has gone out.
    past_stop: bool,
    /// EOS was pushed on the pad (its track ended or passed the stop, or the file ended).
    eos: bool,
    /// After a seek, delta blocks are dropped until the stream's first keyframe.
    need_keyframe: bool,
    /// Stream time this pad has been served up to (by a block or a GAP event).
    served_until: Option<u64>,
    /// Added to the stored times (timestamps=aligned); `track.time_offset` is then the shared
    /// one.
    shift: u64,
}

/// The keyframe index: held in memory (read through TAIL in pull mode, fetched or met in the
/// stream in push mode), or, for a file without one, rebuilt by the reader's scan on demand.
enum Index {
    File(Box<Reader<PadSource>>),
    Memory { table: SeekTable, entries: Vec<u8> },
}

impl Index {
    fn find(
        &mut self,
        track: u32,
        time: u64,
        snap: Snap,
    ) -> crate::format::Result<Option<SeekHit>> {
        match self {
            Index::File(reader) => reader.keyframe_by_block_time(Some(track), time, snap),
            Index::Memory { table, entries } => {
                table.find_in_track(&mut entries.as_slice(), track, time, snap)
            }
        }
    }

    fn table(&mut self) -> crate::format::Result<&SeekTable> {
        match self {
            Index::File(reader) => reader.seek_table(),
            Index::Memory { table, .. } => Ok(table),
        }
    }
}

/// Where a seek lands: the segment, where reading starts, and how the file is walked.
#[derive(Debug, Clone)]
struct SeekTarget {
    segment: gst::FormattedSegment<gst::ClockTime>,
    offset: u64,
    walk: Walk,
}

enum Out {
    Event(gst::Pad, gst::Event),
    Buffer(gst::Pad, gst::Buffer),
    AddPad(gst::Pad),
    NoMorePads,
    Message(gst::Message),
}

struct State {
    /// Whether the sink pad works in pull mode (`pulling` is then in use, else `pushing`).
    pull: bool,
    scanner: Scanner,
    /// Whether the scanner's chunk ordinals are real (not after a seek).
    ordinals_known: bool,
    meta: Option<Meta>,
    streams: Vec<Stream>,
    index: Option<Index>,
    /// Stream-time segment; each pad gets it shifted by its track's time offset.
    segment: gst::FormattedSegment<gst::ClockTime>,
    segment_seqnum: gst::Seqnum,
    need_segment: bool,
    duration: Option<gst::ClockTime>,
    position: Option<gst::ClockTime>,
    combiner: gst_base::UniqueFlowCombiner,
    /// The last seek handled, and whether it was taken (`None` while it is being handled): the
    /// same seek arriving on another pad, or again from an element that retried it, gets the
    /// same answer.
    last_seek: Option<(gst::Seqnum, Option<bool>)>,
    group_id: gst::GroupId,
    eos_sent: bool,
    /// How the pull task walks the file for this segment.
    walk: Walk,
    /// What only pull mode keeps (`pull` true).
    pulling: PullState,
    /// What only push mode keeps (`pull` false).
    pushing: PushState,
}

/// Pull mode's own state: where the streaming task reads.
#[derive(Default)]
struct PullState {
    /// The next offset to read.
    offset: u64,
    /// The file's length.
    file_len: u64,
    /// The header of the chunk at `.0`, read with the chunk before it.
    head_ahead: Option<(u64, [u8; CHUNK_HEADER_LEN])>,
}

/// Push mode's own state: ranges fetched through upstream BYTES seeks, and seeks in flight.
struct PushState {
    fetch: Option<Fetch>,
    /// Downstream was sent FLUSH_START and not yet FLUSH_STOP: a push-mode seek that needs
    /// several upstream seeks shows downstream one flush.
    downstream_flushing: bool,
    /// A push-mode seek sent upstream: applied when its FLUSH_STOP comes back, so that no
    /// buffer from the old position is taken for the new one.
    pending_seek: Option<(SeekTarget, gst::Seqnum)>,
    startup: Startup,
}

impl Default for PushState {
    fn default() -> Self {
        PushState {
            fetch: None,
            downstream_flushing: false,
            pending_seek: None,
            startup: Startup::Header,
        }
    }
}

impl State {
    /// A scanner starting at `offset` with chunk `ordinal`; in pull mode it knows where the
    /// file ends.
    fn scanner_at(&self, offset: u64, ordinal: u64) -> Scanner {
        let scanner = Scanner::at(offset, ordinal);
        match self.pulling.file_len {
            0 => scanner,
            len => scanner.with_file_len(len),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State {
            pull: false,
            scanner: Scanner::new(),
            ordinals_known: true,
            meta: None,
            streams: Vec::new(),
            index: None,
            segment: gst::FormattedSegment::new(),
            segment_seqnum: gst::Seqnum::next(),
            need_segment: true,
            duration: None,
            position: None,
            combiner: gst_base::UniqueFlowCombiner::new(),
            last_seek: None,
            group_id: gst::GroupId::next(),
            eos_sent: false,
            walk: Walk::Forward,
            pulling: PullState::default(),
            pushing: PushState::default(),
        }
    }
}

pub struct H4mkDemux {
    sinkpad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
    fetched: Condvar,
}

/// `seg` as seen by a track whose block times are stream time + `offset`.
fn pad_segment(
    seg: &gst::FormattedSegment<gst::ClockTime>,
    offset: i64,
) -> gst::FormattedSegment<gst::ClockTime> {
    let shift = |t: gst::ClockTime| i128::from(t.nseconds()) + i128::from(offset);
    let clamp =
        |v: i128| gst::ClockTime::from_nseconds(v.clamp(0, i128::from(u64::MAX - 1)) as u64);
    let mut s = seg.clone();
    let start = seg.start().unwrap_or(gst::ClockTime::ZERO);
    let shifted = shift(start);
    s.set_start(clamp(shifted));
    // A start that would be negative on this track's base moves its time forward instead.
    let time = seg.time().unwrap_or(start).nseconds() as i128 + (-shifted).max(0);
    s.set_time(clamp(time));
    s.set_stop(seg.stop().map(|t| clamp(shift(t))));
    s.set_position(clamp(shifted));
    s
}

/// A flushing BYTES seek upstream to `offset`, carrying the seqnum of the seek it serves.
fn bytes_seek(offset: u64, seqnum: gst::Seqnum) -> gst::Event {
    gst::event::Seek::builder(
        1.0,
        gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
        gst::SeekType::Set,
        gst::format::Bytes::from_u64(offset),
        gst::SeekType::None,
        gst::format::Bytes::NONE,
    )
    .seqnum(seqnum)
    .build()
}

/// The file's global tags as stored, plus `container-format`, as players and
/// gst-discoverer-1.0 expect from a demuxer.
fn global_tags(meta: &Meta) -> gst::TagList {
    let mut tags = meta
        .tags
        .as_deref()
        .and_then(tags_from_string)
        .unwrap_or_default();
    let t = tags.make_mut();
    t.add::<gst::tags::ContainerFormat>(&"H4MK", gst::TagMergeMode::Keep);
    t.set_scope(gst::TagScope::Global);
    tags
}

fn pad_template_for(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Video => "video_%u",
        TrackKind::Audio => "audio_%u",
        TrackKind::Text => "subtitle_%u",
        TrackKind::Data => "data_%u",
    }
}

impl H4mkDemux {
    fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A stream that begins in the middle of a recording (a viewer joining a live stream, a
    /// capture of one) starts its segment at its first block, keeping that block's stream
    /// time: the first frame plays at once and positions still say where in the recording it
    /// is; each track starts at its first keyframe. A stream from its beginning, or after a
    /// seek, keeps its segment.
    fn start_at_join(&self, state: &mut State, first: &BlockHeader) {
        if state.pull
            || first.index == 0
            || state
                .segment
                .start()
                .is_some_and(|s| s > gst::ClockTime::ZERO)
        {
            return;
        }
        let Some(s) = state.streams.iter().find(|s| s.track.id == first.track) else {
            return;
        };
        let header = first.later_by(s.shift);
        let Some(at) = [header.pts, header.dts]
            .into_iter()
            .flatten()
            .min()
            .map(|t| gst::ClockTime::from_nseconds(s.track.stream_time(t)))
        else {
            return;
        };
        gst::info!(
            CAT,
            imp = self,
            "the stream begins in the middle of the recording (track {} block {}): segment from {at}",
            first.track,
            first.index
        );
        state.segment.set_start(at);
        state.segment.set_time(at);
        state.segment.set_position(at);
        // A sender that does not start clients at a keyframe (srtsink): each track waits for
        // its first keyframe, so decoders never get frames whose references were sent before.
        for s in &mut state.streams {
            s.need_keyframe = true;
        }
    }

    fn segment_event(&self, state: &State, s: &Stream) -> gst::Event {
        gst::event::Segment::builder(&pad_segment(&state.segment, s.track.time_offset))
            .seqnum(state.segment_seqnum)
            .build()
    }

    /// Creates one src pad per track of the first META, with its sticky events.
    fn add_streams(&self, state: &mut State, meta: &Meta, out: &mut Vec<Out>) {
        let mut counters = [0u32; 4];
        let aligned = self.settings().timestamps == Timestamps::Aligned;
        // Aligned onto the latest start, so that times only ever move later: a DTS before its
        // track's start (x264enc's first frames) stays representable.
        let base = meta.tracks.iter().map(|t| t.time_offset).max().unwrap_or(0);
        for t in &meta.tracks {
            let n = &mut counters[t.kind as usize];
            let templ = self
                .obj()
                .pad_template(pad_template_for(t.kind))
                .expect("templates exist");
            let name = pad_template_for(t.kind).replace("%u", &n.to_string());
            *n += 1;
            let pad = gst::Pad::builder_from_template(&templ)
                .name(name.as_str())
                .event_function(|pad, parent, event| {
                    H4mkDemux::catch_panic_pad_function(
                        parent,
                        || false,
                        |this| this.src_event(pad, event),
                    )
                })
                .query_function(|pad, parent, query| {
                    H4mkDemux::catch_panic_pad_function(
                        parent,
                        || false,
                        |this| this.src_query(pad, query),
                    )
                })
                .build();
            pad.set_active(true).ok();
            let caps = gst::Caps::from_str(&t.caps).unwrap_or_else(|_| {
                gst::warning!(
                    CAT,
                    imp = self,
                    "track {}: caps {:?} do not parse; sending ANY-compatible empty caps",
                    t.id,
                    t.caps
                );
                gst::Caps::builder("application/x-h4mk-unknown").build()
            });
            let stream_id = pad.create_stream_id(&*self.obj(), Some(&t.id.to_string()));
            out.push(Out::Event(
                pad.clone(),
                gst::event::StreamStart::builder(&stream_id)
                    .group_id(state.group_id)
                    // Text and data come now and then: sinks and playsink must not wait for them.
                    .flags(match t.kind {
                        TrackKind::Text | TrackKind::Data => gst::StreamFlags::SPARSE,
                        _ => gst::StreamFlags::empty(),
                    })
                    .build(),
            ));
            out.push(Out::Event(pad.clone(), gst::event::Caps::new(&caps)));
            if let Some(tags) = t.tags.as_deref().and_then(tags_from_string) {
                out.push(Out::Event(pad.clone(), gst::event::Tag::new(tags)));
            }
            out.push(Out::Event(
                pad.clone(),
                gst::event::Tag::new(global_tags(meta)),
            ));
            state.combiner.add_pad(&pad);
            out.push(Out::AddPad(pad.clone()));
            let mut track = t.clone();
            let mut shift = 0;
            if aligned {
                shift = u64::try_from(i128::from(base) - i128::from(t.time_offset)).unwrap_or(0);
                track.time_offset = base;
            }
            state.streams.push(Stream {
                pad,
                track,
                discont: true,
                past_stop: false,
                eos: false,
                need_keyframe: false,
                served_until: None,
                shift,
            });
        }
        out.push(Out::NoMorePads);
    }

    fn duration_of(meta: &Meta, table: &SeekTable) -> Option<gst::ClockTime> {
        table
            .tracks
            .iter()
            .filter_map(|s| Some(meta.track(s.track)?.stream_time(s.end_time?)))
            .max()
            .map(gst::ClockTime::from_nseconds)
    }

    fn damage_message(&self, state: &State, d: &Damage) -> String {
        let mut what = format!("{} at offset {}", d.error.code, d.error.offset.unwrap_or(0));
        if state.ordinals_known {
            what += &format!(", chunk {}", d.error.chunk.unwrap_or(0));
        }
        if d.head.len() >= CHUNK_HEADER_LEN + 40 && is_block_tag(&d.tag) {
            if let Ok((h, _)) = BlockHeader::decode(&d.head[CHUNK_HEADER_LEN..]) {
                let pts = h.pts.map(gst::ClockTime::from_nseconds);
                what += &format!(
                    " (by its unverified header: track {}, block {}, PTS {})",
                    h.track,
                    h.index,
                    pts.display()
                );
            }
        } else {
            what += &format!(" ({} chunk)", tag_name(&d.tag));
        }
        format!("damaged data skipped: {what}: {}", d.error.message)
    }

    /// Turns one scanner step into output. `Err` stops streaming.
    /// `source`, when given, is a buffer starting with this chunk's payload: block data is then
    /// pushed as a sub-buffer of it, without copying.
    fn handle_step(
        &self,
        state: &mut State,
        step: Step<'_>,
        out: &mut Vec<Out>,
        source: Option<&gst::Buffer>,
    ) -> Result<(), gst::FlowError> {
        let chunk = match step {
            Step::Chunk(c) => c,
            Step::Damage(d) => return self.handle_damage(state, &d, out),
            Step::NeedMore | Step::End => return Ok(()),
        };
        if chunk.offset >= state.walk.end() {
            // The span of a reverse or key-unit walk is done.
            return Err(gst::FlowError::Eos);
        }
        let item = match decode(&chunk) {
            Ok(item) => item,
            Err(e) => {
                let d = Damage {
                    error: e,
                    len: chunk.header.chunk_len(),
                    tag: chunk.header.tag,
                    head: Vec::new(),
                };
                return self.handle_damage(state, &d, out);
            }
        };
        match item {
            Item::Meta { meta, .. } => {
                if state.meta.is_none() {
                    self.add_streams(state, &meta, out);
                    state.meta = Some(meta);
                    if !state.pull && state.pushing.startup == Startup::Header {
                        state.pushing.startup = Startup::Wanted;
                    }
                } else {
                    for t in &meta.tracks {
                        let Some(s) = state.streams.iter_mut().find(|s| s.track.id == t.id) else {
                            continue;
                        };
                        if s.track.caps != t.caps
                            && let Ok(caps) = gst::Caps::from_str(&t.caps)
                        {
                            out.push(Out::Event(s.pad.clone(), gst::event::Caps::new(&caps)));
                        }
                        if s.track.tags != t.tags
                            && let Some(tags) = t.tags.as_deref().and_then(tags_from_string)
                        {
                            out.push(Out::Event(s.pad.clone(), gst::event::Tag::new(tags)));
                        }
                        let time_offset = s.track.time_offset;
                        s.track = t.clone();
                        s.track.time_offset = time_offset;
                    }
                }
            }
            Item::Block {
                header,
                data,
                masked: _,
            } => {
                // Blocks before any META (a stream joined without its header) have no pad yet:
                // the segment goes out with the first block that has one.
                if state.need_segment && !state.streams.is_empty() {
                    state.need_segment = false;
                    self.start_at_join(state, &header);
                    for s in &state.streams {
                        out.push(Out::Event(s.pad.clone(), self.segment_event(state, s)));
                    }
                }
                let stop = state.segment.stop();
                let seqnum = state.segment_seqnum;
                let forward = state.walk.is_forward();
                // Each pad ends with its track, unless the application continues the segment.
                let ends_tracks =
                    forward && !state.segment.flags().contains(gst::SegmentFlags::SEGMENT);
                let block_count = match &state.index {
                    Some(Index::Memory { table, .. }) => {
                        table.summary(header.track).map(|t| t.block_count)
                    }
                    _ => None,
                };
                let sends = state.walk.sends(header.track, chunk.offset);
                let Some(s) = state
                    .streams
                    .iter_mut()
                    .find(|s| s.track.id == header.track)
                else {
                    gst::warning!(
                        CAT,
                        imp = self,
                        "block of undeclared track {} at offset {}",
                        header.track,
                        chunk.offset
                    );
                    return Ok(());
                };
                if s.eos || s.past_stop || !sends {
                    return Ok(());
                }
                let header = header.later_by(s.shift);
                let stream_time = header.time().map(|t| s.track.stream_time(t));
                // Decode order passes the stop with the first block whose DTS (its PTS when it
                // has none) does: every block after it presents at or after the stop, and every
                // block before it is sent, so each frame before the stop arrives with the
                // frames it references. Decoders and sinks clip what presents past the stop.
                let decode_time = header.dts.or(header.pts).map(|t| s.track.stream_time(t));
                if let (Some(dt), Some(stop)) = (decode_time, stop)
                    && dt >= stop.nseconds()
                {
                    s.past_stop = true;
                    if ends_tracks {
                        s.eos = true;
                        let eos = gst::event::Eos::builder().seqnum(seqnum).build();
                        out.push(Out::Event(s.pad.clone(), eos));
                    }
                    if state.streams.iter().all(|s| s.past_stop || s.eos) {
                        return Err(gst::FlowError::Eos);
                    }
                    return Ok(());
                }
                if s.need_keyframe {
                    if !header.flags.is_keyframe() {
                        return Ok(());
                    }
                    s.need_keyframe = false;
                }
                // The data ends the payload, after the block header and any clipping record.
                let at = chunk.header.size as usize - data.len();
                let mut buffer = match source {
                    _ if data.is_empty() => gst::Buffer::new(),
                    Some(src) => src
                        .copy_region(gst::BufferCopyFlags::MEMORY, at..at + data.len())
                        .map_err(|_| gst::FlowError::Error)?,
                    None => gst::Buffer::from_slice(data.to_vec()),
                };
                {
                    let b = buffer.get_mut().expect("new buffer");
                    apply_block(b, &header);
                    b.set_offset(chunk.offset);
                    if s.discont {
                        b.set_flags(gst::BufferFlags::DISCONT);
                        s.discont = false;
                    }
                }
                if let Some(st) = stream_time {
                    let end = st.saturating_add(header.duration.unwrap_or(0));
                    s.served_until = Some(s.served_until.map_or(end, |u| u.max(end)));
                    state.position = Some(gst::ClockTime::from_nseconds(st));
                }
                out.push(Out::Buffer(s.pad.clone(), buffer));
                // The index knows each track's block count: the pad ends with its last block.
                let pad = s.pad.clone();
                if ends_tracks && block_count == Some(header.index + 1) {
                    s.eos = true;
                    let eos = gst::event::Eos::builder().seqnum(seqnum).build();
                    out.push(Out::Event(pad.clone(), eos));
                }
                if let Some(st) = stream_time {
                    if forward {
                        let st = gst::ClockTime::from_nseconds(st);
                        if state.segment.position().is_none_or(|p| st > p) {
                            state.segment.set_position(st);
                        }
                    }
                    if state.walk.key_units() {
                        Self::gap_others(state, &pad, st, out);
                    } else {
                        Self::fill_sparse_gaps(state, st, out);
                    }
                }
                if state.streams.iter().all(|s| s.past_stop || s.eos) {
                    return Err(gst::FlowError::Eos);
                }
            }
            Item::Seek { table, payload } if !state.pull && state.index.is_none() => {
                // A push-mode stream that reached its index keeps it for later seeks.
                if let Some(meta) = &state.meta {
                    state.duration = Self::duration_of(meta, &table);
                }
                state.index = Some(Index::Memory {
                    table,
                    entries: payload.to_vec(),
                });
            }
            Item::Tail(_) => return Err(gst::FlowError::Eos),
            _ => {}
        }
        Ok(())
    }

    /// Key-unit trick mode sends the reference track's keyframes only: the other pads get a
    /// GAP at each, so that sinks waiting on them keep going.
    fn gap_others(state: &State, sent: &gst::Pad, now: u64, out: &mut Vec<Out>) {
        for s in state.streams.iter().filter(|s| s.pad != *sent && !s.eos) {
            let at = gst::ClockTime::from_nseconds(s.track.block_time(now));
            let gap = gst::event::Gap::builder(at)
                .seqnum(state.segment_seqnum)
                .build();
            out.push(Out::Event(s.pad.clone(), gap));
        }
    }

    /// Sparse streams (text, data) that fell more than SPARSE_LAG behind `now` (stream time)
    /// get a GAP event up to it, so elements waiting on every pad keep going.
    fn fill_sparse_gaps(state: &mut State, now: u64, out: &mut Vec<Out>) {
        for s in state
            .streams
            .iter_mut()
            .filter(|s| matches!(s.track.kind, TrackKind::Text | TrackKind::Data))
        {
            let from = s
                .served_until
                .unwrap_or_else(|| state.segment.start().map_or(0, |t| t.nseconds()));
            if now > from + SPARSE_LAG {
                let raw = s.track.block_time(from);
                let gap = gst::event::Gap::builder(gst::ClockTime::from_nseconds(raw))
                    .duration(gst::ClockTime::from_nseconds(now - from))
                    .seqnum(state.segment_seqnum)
                    .build();
                out.push(Out::Event(s.pad.clone(), gap));
                s.served_until = Some(now);
            }
        }
    }

    fn handle_damage(
        &self,
        state: &mut State,
        d: &Damage,
        out: &mut Vec<Out>,
    ) -> Result<(), gst::FlowError> {
        let msg = self.damage_message(state, d);
        // Whatever the damaged bytes held is lost: the next buffer of every stream says so.
        for s in &mut state.streams {
            s.discont = true;
        }
        let policy = self.settings().damage_policy;
        let details = gst::Structure::builder("h4mk-damage")
            .field("code", d.error.code.as_str())
            .field("offset", d.error.offset.unwrap_or(0))
            .field("length", d.len)
            .build();
        if policy == DamagePolicy::Error {
            out.push(Out::Message(
                gst::message::Error::builder(gst::StreamError::Demux, &msg)
                    .src(&*self.obj())
                    .details(details)
                    .build(),
            ));
            return Err(gst::FlowError::Error);
        }
        gst::warning!(CAT, imp = self, "{msg}");
        out.push(Out::Message(
            gst::message::Warning::builder(gst::StreamError::Demux, &msg)
                .src(&*self.obj())
                .details(details)
                .build(),
        ));
        Ok(())
    }

    /// Runs the scanner over what it has; stops at the first error or EOS.
    fn drain(&self, state: &mut State, out: &mut Vec<Out>) -> Result<(), gst::FlowError> {
        loop {
            if state.pushing.startup == Startup::Wanted {
                return Ok(());
            }
            // Take the scanner out so a step can borrow it while the state is changed.
            let mut scanner = std::mem::take(&mut state.scanner);
            let step = scanner.step();
            let done = matches!(step, Step::NeedMore | Step::End);
            let end = matches!(step, Step::End);
            let res = self.handle_step(state, step, out, None);
            state.scanner = scanner;
            res?;
            if end {
                return Err(gst::FlowError::Eos);
            }
            if done {
                return Ok(());
            }
        }
    }

    /// Pushes what a step produced, without holding the state lock; combines flows.
    fn perform(&self, out: Vec<Out>) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut flow = Ok(gst::FlowSuccess::Ok);
        for o in out {
            match o {
                Out::Event(pad, ev) => {
                    pad.push_event(ev);
                }
                Out::AddPad(pad) => {
                    self.obj().add_pad(&pad).ok();
                }
                Out::NoMorePads => self.obj().no_more_pads(),
                Out::Message(m) => {
                    let _ = self.obj().post_message(m);
                }
                Out::Buffer(pad, buffer) => {
                    let res = pad.push(buffer);
                    flow = self.lock().combiner.update_pad_flow(&pad, res);
                    flow?;
                }
            }
        }
        flow
    }

    /// The end of the segment: SEGMENT_DONE (message and event) for a segment seek, else EOS.
    fn end_segment(&self) {
        let done = {
            let mut state = self.lock();
            if !state.segment.flags().contains(gst::SegmentFlags::SEGMENT) {
                None
            } else if std::mem::replace(&mut state.eos_sent, true) {
                return;
            } else {
                let position = if state.segment.rate() > 0.0 {
                    state.segment.stop().or(state.duration)
                } else {
                    state.segment.start()
                };
                if let Some(p) = position {
                    state.segment.set_position(p);
                }
                let pads: Vec<gst::Pad> = state.streams.iter().map(|s| s.pad.clone()).collect();
                Some((pads, position, state.segment_seqnum))
            }
        };
        let Some((pads, position, seqnum)) = done else {
            self.push_eos();
            return;
        };
        gst::debug!(CAT, imp = self, "segment done at {}", position.display());
        let _ = self.obj().post_message(
            gst::message::SegmentDone::builder(position)
                .src(&*self.obj())
                .seqnum(seqnum)
                .build(),
        );
        for pad in pads {
            pad.push_event(
                gst::event::SegmentDone::builder(position)
                    .seqnum(seqnum)
                    .build(),
            );
        }
    }

    /// EOS on every pad that has not had it yet.
    fn push_eos(&self) {
        let (pads, seqnum, declared) = {
            let mut state = self.lock();
            if state.eos_sent {
                return;
            }
            state.eos_sent = true;
            let declared = !state.streams.is_empty();
            let pads: Vec<gst::Pad> = state
                .streams
                .iter_mut()
                .filter_map(|s| (!std::mem::replace(&mut s.eos, true)).then(|| s.pad.clone()))
                .collect();
            (pads, state.segment_seqnum, declared)
        };
        if !declared {
            gst::element_imp_error!(
                self,
                gst::StreamError::Demux,
                ("the file ended before any track was declared")
            );
            return;
        }
        for pad in pads {
            pad.push_event(gst::event::Eos::builder().seqnum(seqnum).build());
        }
    }

    // ---- pull mode ----

    fn open_pull(&self, state: &mut State, out: &mut Vec<Out>) -> Result<(), gst::FlowError> {
        let Some(src) = PadSource::new(&self.sinkpad) else {
            gst::element_imp_error!(
                self,
                gst::StreamError::Demux,
                ("upstream does not report its size in bytes")
            );
            return Err(gst::FlowError::Error);
        };
        let reader = match Reader::open_with(src, Entries::InMemory) {
            Ok(r) => r,
            Err(e) if e.code == crate::format::Code::Io && e.message.contains("Flushing") => {
                return Err(gst::FlowError::Flushing);
            }
            Err(e) => {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Demux,
                    ("not a readable H4MK file: {}", e)
                );
                return Err(gst::FlowError::Error);
            }
        };
        let meta = reader.meta().clone();
        if let Some(problem) = reader.index_problem() {
            gst::info!(
                CAT,
                imp = self,
                "no usable index ({problem}); seeking will scan the file first"
            );
        }
        let body = reader.body_offset();
        state.pulling.file_len = reader.len();
        let index = match reader.into_file_index() {
            Ok((table, entries)) => {
                state.duration = Self::duration_of(&meta, &table);
                Index::Memory { table, entries }
            }
            Err(reader) => Index::File(reader),
        };
        self.add_streams(state, &meta, out);
        state.meta = Some(meta);
        state.index = Some(index);
        state.scanner = state.scanner_at(body, 2);
        state.pulling.offset = body;
        Ok(())
    }

    /// One task iteration: the next chunk by the fast path, or a piece for the scanner.
    fn loop_iteration(&self, out: &mut Vec<Out>) -> Result<(), gst::FlowError> {
        let (offset, len, ahead) = {
            let mut state = self.lock();
            if state.meta.is_none() {
                self.open_pull(&mut state, out)?;
            }
            let offset = state.pulling.offset;
            if offset >= state.walk.end() {
                return Err(gst::FlowError::Eos);
            }
            let ahead = state
                .pulling
                .head_ahead
                .take()
                .filter(|(at, _)| *at == offset);
            (offset, state.pulling.file_len, ahead.map(|(_, head)| head))
        };
        if offset < len && self.whole_chunk(offset, len, ahead, out)? {
            return Ok(());
        }
        self.pull_into_scanner(&mut self.lock(), len, out)
    }

    /// The fast path: one read per chunk, continuing where the last one ended (the chunk's
    /// header came with the chunk before, as `ahead`, and the next chunk's header comes with
    /// its payload); the scanner judges the header and takes the chunk without copying it.
    /// The reads run without the state lock (the task holds the stream lock, so the offset
    /// cannot move meanwhile). `Ok(false)` when the chunk is not whole and intact: the
    /// scanner then reports it and resynchronises.
    fn whole_chunk(
        &self,
        offset: u64,
        len: u64,
        ahead: Option<[u8; CHUNK_HEADER_LEN]>,
        out: &mut Vec<Out>,
    ) -> Result<bool, gst::FlowError> {
        let head = match ahead {
            Some(head) => head,
            None if len - offset < CHUNK_HEADER_LEN as u64 => return Ok(false),
            None => {
                let b = self.sinkpad.pull_range(offset, CHUNK_HEADER_LEN as u32)?;
                let mut head = [0u8; CHUNK_HEADER_LEN];
                if b.copy_to_slice(0, &mut head).is_err() {
                    return Ok(false);
                }
                head
            }
        };
        let Ok(chunk_len) = self.lock().scanner.whole_chunk_len(&head) else {
            return Ok(false);
        };
        let end = offset + chunk_len;
        let size = chunk_len as usize - CHUNK_HEADER_LEN;
        let want = size + (len - end).min(CHUNK_HEADER_LEN as u64) as usize;
        let body = match want {
            0 => gst::Buffer::new(),
            _ => self
                .sinkpad
                .pull_range(offset + CHUNK_HEADER_LEN as u64, want as u32)?,
        };
        let map = body.map_readable().map_err(|_| gst::FlowError::Error)?;
        let Some(payload) = map.get(..size) else {
            return Ok(false);
        };
        let mut state = self.lock();
        let Ok(raw) = state.scanner.take_whole(&head, payload) else {
            return Ok(false);
        };
        state.pulling.offset = end;
        state.pulling.head_ahead = map[size..].try_into().ok().map(|next| (end, next));
        self.handle_step(&mut state, Step::Chunk(raw), out, Some(&body))?;
        Ok(true)
    }

    /// The slow path: feeds the scanner, which reports damage and resynchronises.
    fn pull_into_scanner(
        &self,
        state: &mut State,
        len: u64,
        out: &mut Vec<Out>,
    ) -> Result<(), gst::FlowError> {
        if state.pulling.offset >= len {
            state.scanner.finish();
        } else {
            let want = (len - state.pulling.offset).min(u64::from(PULL_SIZE)) as u32;
            let buffer = self.sinkpad.pull_range(state.pulling.offset, want)?;
            let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
            state.scanner.feed(&map);
            state.pulling.offset += map.len() as u64;
        }
        self.drain(state, out)
    }

    fn loop_fn(&self) {
        let mut out = Vec::new();
        let res = self.loop_iteration(&mut out);
        let pushed = self.perform(out);
        // The reading ended (not downstream): a reverse or key-unit walk goes on elsewhere.
        let read_all = res == Err(gst::FlowError::Eos) && pushed.is_ok();
        let res = res.and(pushed.map(|_| ()));
        match res {
            Ok(()) => {}
            Err(gst::FlowError::Eos) if read_all && self.lock().advance_walk() => {}
            Err(gst::FlowError::Eos) => {
                self.end_segment();
                let _ = self.sinkpad.pause_task();
            }
            Err(gst::FlowError::Flushing) => {
                let _ = self.sinkpad.pause_task();
            }
            Err(e) => {
                if e != gst::FlowError::Flushing {
                    gst::element_imp_error!(
                        self,
                        gst::StreamError::Failed,
                        ("streaming stopped: {:?}", e)
                    );
                    self.push_eos();
                }
                let _ = self.sinkpad.pause_task();
            }
        }
    }

    fn start_task(&self) -> Result<(), gst::LoggableError> {
        let this = self.ref_counted();
        self.sinkpad
            .start_task(move || this.loop_fn())
            .map_err(|_| gst::loggable_error!(CAT, "cannot start the pull task"))
    }

    // ---- seeking ----

    /// Where to read from and the new segment, for a seek to `start` with `flags`.
    fn plan_seek(&self, state: &mut State, seek: &gst::event::Seek) -> Result<SeekTarget, String> {
        let (rate, flags, start_type, start, stop_type, stop) = seek.get();
        if rate == 0.0 {
            return Err("a rate of 0 plays nothing".into());
        }
        let start: Option<gst::ClockTime> = start.try_into().map_err(|_| "seek is not in TIME")?;
        let stop: Option<gst::ClockTime> = stop.try_into().map_err(|_| "seek is not in TIME")?;
        let mut segment = state.segment.clone();
        segment.set_duration(state.duration);
        segment.do_seek(rate, flags, start_type, start, stop_type, stop);
        if let Some(walk) = state.first_walk(&segment, flags)? {
            gst::debug!(CAT, imp = self, "seek: {walk:?}");
            let offset = walk.start();
            return Ok(SeekTarget {
                segment,
                offset,
                walk,
            });
        }
        let target = segment.start().unwrap_or(gst::ClockTime::ZERO).nseconds();
        let key_unit = flags.contains(gst::SeekFlags::KEY_UNIT);
        let landing = if key_unit && flags.contains(gst::SeekFlags::SNAP_NEAREST) {
            Landing::Nearest
        } else if key_unit && flags.contains(gst::SeekFlags::SNAP_AFTER) {
            Landing::After
        } else {
            Landing::Before
        };
        let p = state.plan_at(target, landing)?;
        let (keyframe, offset) = (p.keyframe, p.offset);
        if key_unit {
            let k = gst::ClockTime::from_nseconds(keyframe);
            segment.set_start(k);
            segment.set_time(k);
            segment.set_position(k);
        }
        gst::debug!(
            CAT,
            imp = self,
            "seek to {target} ns: keyframe of track {} at {keyframe} ns, reading from offset {offset}",
            p.track
        );
        Ok(SeekTarget {
            segment,
            offset,
            walk: Walk::Forward,
        })
    }

    /// `plan_seek` under the state lock; a refusal is logged and posted as a warning.
    fn planned_seek(&self, seek: &gst::event::Seek) -> Option<SeekTarget> {
        let plan = self.plan_seek(&mut self.lock(), seek);
        plan.map_err(|e| self.refuse_seek(&e)).ok()
    }

    /// Logs a refused seek and posts it as a warning, so that applications see why.
    fn refuse_seek(&self, why: &str) {
        gst::warning!(CAT, imp = self, "seek refused: {why}");
        let _ = self.obj().post_message(
            gst::message::Warning::builder(gst::CoreError::Seek, &format!("seek refused: {why}"))
                .src(&*self.obj())
                .build(),
        );
    }

    fn apply_seek(&self, state: &mut State, target: SeekTarget, seqnum: gst::Seqnum) {
        let SeekTarget {
            segment,
            offset,
            walk,
        } = target;
        state.segment = segment;
        state.segment_seqnum = seqnum;
        state.need_segment = true;
        state.walk = walk;
        state.scanner = state.scanner_at(offset, 0);
        state.ordinals_known = false;
        if state.pull {
            state.pulling.offset = offset;
            state.pulling.head_ahead = None;
        }
        state.eos_sent = false;
        state.combiner.reset();
        for s in &mut state.streams {
            s.discont = true;
            s.past_stop = false;
            s.eos = false;
            s.need_keyframe = true;
            s.served_until = None;
        }
    }

    fn flush_downstream(&self, event: impl Fn() -> gst::Event) {
        let pads: Vec<gst::Pad> = self.lock().streams.iter().map(|s| s.pad.clone()).collect();
        for pad in pads {
            pad.push_event(event());
        }
    }

    /// A seek in pull mode. A flushing one flushes upstream and downstream; a non-flushing one
    /// (a segment seek from the SEGMENT_DONE handler, say) waits for the task to finish its
    /// step and goes on from where the running time is, with no gap.
    fn pull_seek(&self, seek: &gst::event::Seek) -> bool {
        let seqnum = seek.seqnum();
        if !seek.get().1.contains(gst::SeekFlags::FLUSH) {
            let _ = self.sinkpad.pause_task();
            let stream_lock = self.sinkpad.stream_lock();
            let target = self.planned_seek(seek);
            if let Some(target) = target.as_ref() {
                self.apply_seek(&mut self.lock(), target.clone(), seqnum);
            }
            drop(stream_lock);
            return self.start_task().is_ok() && target.is_some();
        }
        let Some(target) = self.planned_seek(seek) else {
            return false;
        };
        self.sinkpad
            .push_event(gst::event::FlushStart::builder().seqnum(seqnum).build());
        self.flush_downstream(|| gst::event::FlushStart::builder().seqnum(seqnum).build());
        let _ = self.sinkpad.pause_task();
        let stream_lock = self.sinkpad.stream_lock();
        self.sinkpad
            .push_event(gst::event::FlushStop::builder(true).seqnum(seqnum).build());
        self.flush_downstream(|| gst::event::FlushStop::builder(true).seqnum(seqnum).build());
        self.apply_seek(&mut self.lock(), target, seqnum);
        drop(stream_lock);
        self.start_task().is_ok()
    }

    // ---- src pads ----

    fn src_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Seek(seek) => {
                let seqnum = seek.seqnum();
                {
                    let mut state = self.lock();
                    if let Some((last, taken)) = state.last_seek
                        && last == seqnum
                    {
                        gst::debug!(CAT, obj = pad, "the same seek again: {taken:?}");
                        return taken.unwrap_or(true);
                    }
                    state.last_seek = Some((seqnum, None));
                }
                let pull = self.lock().pull;
                let taken = if pull {
                    self.pull_seek(seek)
                } else {
                    self.push_seek(seek)
                };
                let mut state = self.lock();
                if let Some((last, answer)) = state.last_seek.as_mut()
                    && *last == seqnum
                {
                    *answer = Some(taken);
                }
                taken
            }
            _ => gst::Pad::event_default(pad, Some(&*self.obj()), event),
        }
    }

    fn src_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        use gst::QueryViewMut;
        match query.view_mut() {
            QueryViewMut::Duration(q) if q.format() == gst::Format::Time => {
                let d = self.lock().duration;
                if let Some(d) = d {
                    q.set(d);
                    return true;
                }
                false
            }
            QueryViewMut::Position(q) if q.format() == gst::Format::Time => {
                let p = self.lock().position;
                q.set(p);
                p.is_some()
            }
            QueryViewMut::Seeking(q) if q.format() == gst::Format::Time => {
                let (pull, duration) = {
                    let s = self.lock();
                    (s.pull, s.duration)
                };
                let seekable = pull || {
                    let mut up = gst::query::Seeking::new(gst::Format::Bytes);
                    self.sinkpad.peer_query(&mut up) && up.result().0
                };
                q.set(seekable, gst::ClockTime::ZERO, duration);
                true
            }
            _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
        }
    }

    fn sink_activate(&self, pad: &gst::Pad) -> Result<(), gst::LoggableError> {
        let mut query = gst::query::Scheduling::new();
        let pull = pad.peer_query(&mut query)
            && query
                .has_scheduling_mode_with_flags(gst::PadMode::Pull, gst::SchedulingFlags::SEEKABLE);
        *self.lock() = State {
            pull,
            ..State::default()
        };
        gst::debug!(
            CAT,
            obj = pad,
            "activating in {} mode",
            if pull { "pull" } else { "push" }
        );
        pad.activate_mode(
            if pull {
                gst::PadMode::Pull
            } else {
                gst::PadMode::Push
            },
            true,
        )?;
        Ok(())
    }

    fn sink_activatemode(
        &self,
        mode: gst::PadMode,
        active: bool,
    ) -> Result<(), gst::LoggableError> {
        if mode == gst::PadMode::Pull {
            if active {
                self.start_task()?;
            } else {
                let _ = self.sinkpad.stop_task();
            }
        }
        Ok(())
    }
}

#[glib::object_subclass]
impl ObjectSubclass for H4mkDemux {
    const NAME: &'static str = "GstH4mkDemux";
    type Type = super::H4mkDemux;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let templ = klass.pad_template("sink").expect("sink template");
        let sinkpad = gst::Pad::builder_from_template(&templ)
            .activate_function(|pad, parent| {
                H4mkDemux::catch_panic_pad_function(
                    parent,
                    || Err(gst::loggable_error!(CAT, "panic activating the sink pad")),
                    |this| this.sink_activate(pad),
                )
            })
            .activatemode_function(|_pad, parent, mode, active| {
                H4mkDemux::catch_panic_pad_function(
                    parent,
                    || Err(gst::loggable_error!(CAT, "panic activating the sink pad")),
                    |this| this.sink_activatemode(mode, active),
                )
            })
            .chain_function(|_pad, parent, buffer| {
                H4mkDemux::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |this| this.sink_chain(buffer),
                )
            })
            .event_function(|pad, parent, event| {
                H4mkDemux::catch_panic_pad_function(
                    parent,
                    || false,
                    |this| this.sink_event(pad, event),
                )
            })
            .build();
        H4mkDemux {
            sinkpad,
            settings: Mutex::default(),
            state: Mutex::default(),
            fetched: Condvar::new(),
        }
    }
}

impl ObjectImpl for H4mkDemux {
    fn constructed(&self) {
        self.parent_constructed();
        self.obj().add_pad(&self.sinkpad).expect("sink pad");
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("damage-policy", DamagePolicy::Skip)
                    .nick("Damage policy")
                    .blurb("What to do with a chunk whose CRC or framing fails: skip it with a warning naming its offset, chunk and block, or stop with an error")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("timestamps", Timestamps::Aligned)
                    .nick("Timestamps")
                    .blurb("aligned: tracks that start at different times (x264enc's 1000 h beside audio at 0) are moved later onto the latest start, so that every pad shares one segment, as playbin needs; as-stored: the exact stored PTS and DTS with a segment per track (for lossless remuxing). Read when the pads are made")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings();
        match pspec.name() {
            "damage-policy" => settings.damage_policy = value.get().expect("type checked upstream"),
            "timestamps" => settings.timestamps = value.get().expect("type checked upstream"),
            _ => unreachable!("only registered properties are set"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "damage-policy" => self.settings().damage_policy.to_value(),
            "timestamps" => self.settings().timestamps.to_value(),
            _ => unreachable!("only registered properties are asked for"),
        }
    }
}

impl GstObjectImpl for H4mkDemux {}

impl ElementImpl for H4mkDemux {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "H4MK demuxer",
                "Codec/Demuxer",
                "Reads HarmonyØ4 H4MK files: every block back byte-exact with its timing and flags, keyframe seeking by the index, damage reported by chunk",
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
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &gst::Caps::builder(CONTAINER_CAPS).build(),
                )
                .expect("sink template"),
            ];
            for name in ["video_%u", "audio_%u", "subtitle_%u", "data_%u"] {
                t.push(
                    gst::PadTemplate::new(
                        name,
                        gst::PadDirection::Src,
                        gst::PadPresence::Sometimes,
                        &any,
                    )
                    .expect("src template"),
                );
            }
            t
        });
        TEMPLATES.as_ref()
    }

    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        let res = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            let pads: Vec<gst::Pad> = std::mem::take(&mut self.lock().streams)
                .into_iter()
                .map(|s| s.pad)
                .collect();
            for pad in pads {
                let _ = self.obj().remove_pad(&pad);
            }
            *self.lock() = State::default();
        }
        Ok(res)
    }
}
