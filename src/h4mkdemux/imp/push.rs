//! Push mode: the chain function and the sink events feed the incremental scanner; the index
//! is read from the end of a seekable stream, at the start or at the first seek, through BYTES
//! seeks upstream.

use super::*;
use crate::format::index_load::{Entries, IndexLoad, LoadedIndex, Next};

/// Push mode: reading the index from the end of a seekable stream right after the header,
/// before any block goes downstream, so that duration and seeking are known at preroll (as a
/// player over HTTP expects). Upstream's flushes for it are not passed downstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Startup {
    /// The header has not been read yet.
    Header,
    /// The header was just read: the streaming thread checks upstream and starts fetching.
    Wanted,
    /// Loading the index from the end, a range at a time (`state.pushing.fetch`); `resume` is where
    /// the stream continues.
    Index {
        resume: u64,
        load: IndexLoad,
    },
    /// Asked upstream to continue at `resume`; the segment starting there ends the startup.
    Resuming {
        resume: u64,
    },
    Done,
}

impl Startup {
    /// Reading the index at the start, or about to: a seek must not fetch meanwhile.
    pub(super) fn busy(self) -> bool {
        self == Startup::Wanted || self.quiet()
    }

    pub(super) fn quiet(self) -> bool {
        matches!(self, Startup::Index { .. } | Startup::Resuming { .. })
    }
}

/// A byte range a push-mode seek asked upstream for, and what has arrived of it.
pub(super) struct Fetch {
    /// Tells a waiting seek its own read from a later one.
    id: u64,
    offset: u64,
    len: usize,
    data: Vec<u8>,
    /// Where upstream's current BYTES segment says the next buffer starts.
    at: u64,
}

impl Fetch {
    pub(super) fn new(offset: u64, len: usize) -> Fetch {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Fetch {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            offset,
            len,
            // What arrives is appended; a damaged length must not reserve gigabytes.
            data: Vec::with_capacity(len.min(1 << 20)),
            at: offset,
        }
    }
}

impl H4mkDemux {
    /// Asks upstream for `len` bytes at `offset` and waits for them (on the seeking thread).
    fn fetch(&self, offset: u64, len: usize, seqnum: gst::Seqnum) -> Result<Vec<u8>, String> {
        let fetch = Fetch::new(offset, len);
        let id = fetch.id;
        {
            let mut state = self.lock();
            if state.pushing.fetch.is_some() || state.pushing.startup.busy() {
                return Err("the index is being read already".into());
            }
            state.pushing.fetch = Some(fetch);
        }
        let seek = bytes_seek(offset, seqnum);
        if !self.sinkpad.push_event(seek) {
            let mut state = self.lock();
            if state.pushing.fetch.as_ref().is_some_and(|f| f.id == id) {
                state.pushing.fetch = None;
            }
            return Err(format!("upstream refused a BYTES seek to {offset}"));
        }
        let state = self.lock();
        let (mut state, timeout) = self
            .fetched
            .wait_timeout_while(state, FETCH_TIMEOUT, |s| {
                s.pushing
                    .fetch
                    .as_ref()
                    .is_some_and(|f| f.id == id && f.data.len() < f.len)
            })
            .unwrap_or_else(|e| e.into_inner());
        // A flush or a state change in between ends this read (the state was reset).
        let Some(f) = state.pushing.fetch.take_if(|f| f.id == id) else {
            return Err(format!(
                "the read of {len} bytes at {offset} was interrupted"
            ));
        };
        if timeout.timed_out() {
            return Err(format!(
                "upstream did not deliver {len} bytes at {offset} in time"
            ));
        }
        Ok(f.data)
    }

    /// Reads TAIL and SEEK through BYTES seeks upstream.
    fn fetch_index(&self, seqnum: gst::Seqnum) -> Result<(), String> {
        let len = self
            .sinkpad
            .peer_query_duration::<gst::format::Bytes>()
            .ok_or("upstream does not report its size")?;
        let (mut load, mut next) = IndexLoad::start(*len, 0, Entries::InMemory);
        let loaded = loop {
            next = match next {
                Next::Need { offset, len } => load.feed(&self.fetch(offset, len, seqnum)?),
                Next::Loaded(l) => break l,
                Next::Absent => {
                    return Err("the file has no TAIL: it was cut short or not finished".into());
                }
                Next::Failed(e) => return Err(e.to_string()),
            }
        };
        Self::install_index(&mut self.lock(), loaded).map_err(String::from)
    }

    /// Makes an index read from the end the one seeks use, and takes the duration from it.
    fn install_index(state: &mut State, loaded: LoadedIndex) -> Result<(), &'static str> {
        let Some(entries) = loaded.payload else {
            return Err("SEEK's entries were not read");
        };
        if let Some(meta) = &state.meta {
            state.duration = Self::duration_of(meta, &loaded.table);
        }
        state.index = Some(Index::Memory {
            table: loaded.table,
            entries,
        });
        Ok(())
    }

    /// What a push-mode seek cannot do, in words.
    fn push_refusal(seek: &gst::event::Seek) -> Option<String> {
        let (rate, flags, ..) = seek.get();
        let pull_only = [
            (rate < 0.0, "reverse playback"),
            (
                flags.contains(gst::SeekFlags::TRICKMODE_KEY_UNITS),
                "key-unit trick mode",
            ),
            (flags.contains(gst::SeekFlags::SEGMENT), "a segment seek"),
            (
                !flags.contains(gst::SeekFlags::FLUSH),
                "a non-flushing seek",
            ),
        ];
        let (_, what) = pull_only.iter().find(|(asked, _)| *asked)?;
        Some(format!(
            "{what} needs pull mode (a source the demuxer can read at any offset, such as filesrc); upstream only pushes"
        ))
    }

    pub(super) fn push_seek(&self, seek: &gst::event::Seek) -> bool {
        let seqnum = seek.seqnum();
        if let Some(why) = Self::push_refusal(seek) {
            self.refuse_seek(&why);
            return false;
        }
        if self.lock().pushing.startup.busy() {
            gst::debug!(CAT, imp = self, "still reading the index");
            return false;
        }
        let mut q = gst::query::Seeking::new(gst::Format::Bytes);
        if !self.sinkpad.peer_query(&mut q) || !q.result().0 {
            gst::debug!(CAT, imp = self, "upstream cannot seek in bytes");
            return false;
        }
        if self.lock().meta.is_none() {
            gst::debug!(CAT, imp = self, "seek before the header was read");
            return false;
        }
        if self.lock().index.is_none()
            && let Err(e) = self.fetch_index(seqnum)
        {
            gst::warning!(CAT, imp = self, "cannot seek: {e}");
            return false;
        }
        let Some(target) = self.planned_seek(seek) else {
            return false;
        };
        let offset = target.offset;
        self.lock().pushing.pending_seek = Some((target, seqnum));
        let bytes_seek = bytes_seek(offset, seqnum);
        let sent = self.sinkpad.push_event(bytes_seek);
        if !sent {
            self.lock().pushing.pending_seek = None;
        }
        sent
    }

    pub(super) fn sink_chain(
        &self,
        buffer: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = self.lock();
        let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
        let Some(f) = state.pushing.fetch.as_mut() else {
            state.scanner.feed(&map);
            drop(map);
            drop(state);
            return self.drain_and_push();
        };
        // Keep only the bytes of the asked-for range.
        let start = f.offset + f.data.len() as u64;
        if f.at <= start && start < f.at + map.len() as u64 {
            let from = (start - f.at) as usize;
            let n = (f.len - f.data.len()).min(map.len() - from);
            f.data.extend_from_slice(&map[from..from + n]);
        }
        f.at += map.len() as u64;
        let complete = f.data.len() >= f.len;
        drop(map);
        if !state.pushing.startup.quiet() {
            self.fetched.notify_all();
        } else if complete {
            drop(state);
            self.startup_fetched();
        }
        Ok(gst::FlowSuccess::Ok)
    }

    /// Runs the scanner over what it holds and pushes the result; starts the index fetch of
    /// push mode when the header has just been read.
    fn drain_and_push(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        loop {
            let mut out = Vec::new();
            let res = self.drain(&mut self.lock(), &mut out);
            let pushed = self.perform(out);
            match res {
                Ok(()) => pushed?,
                Err(gst::FlowError::Eos) => {
                    pushed?;
                    self.push_eos();
                    return Err(gst::FlowError::Eos);
                }
                Err(e) => return Err(e),
            };
            if self.lock().pushing.startup != Startup::Wanted || self.start_index_fetch() {
                return Ok(gst::FlowSuccess::Ok);
            }
        }
    }

    /// On the streaming thread, right after the header: when upstream can seek in bytes and
    /// knows its size, asks for TAIL (the rest follows in `startup_fetched`). Returns whether
    /// the fetch started; if not, the stream simply goes on.
    fn start_index_fetch(&self) -> bool {
        let mut q = gst::query::Seeking::new(gst::Format::Bytes);
        let seekable = self.sinkpad.peer_query(&mut q) && q.result().0;
        let len = self
            .sinkpad
            .peer_query_duration::<gst::format::Bytes>()
            .map(|b| *b);
        let mut state = self.lock();
        state.pushing.startup = Startup::Done;
        if state.pushing.fetch.is_some() {
            gst::debug!(CAT, imp = self, "a seek is reading the index");
            return false;
        }
        let resume = state.scanner.position() + state.scanner.buffered() as u64;
        let Some(file_len) = len.filter(|_| seekable) else {
            gst::debug!(
                CAT,
                imp = self,
                "upstream cannot fetch the index at the start"
            );
            return false;
        };
        // No TAIL fits after what has been read: nothing to fetch.
        let (load, Next::Need { offset, len }) =
            IndexLoad::start(file_len, resume, Entries::InMemory)
        else {
            return false;
        };
        state.pushing.startup = Startup::Index { resume, load };
        state.pushing.fetch = Some(Fetch::new(offset, len));
        drop(state);
        gst::debug!(
            CAT,
            imp = self,
            "reading the index from the end, then continuing at {resume}"
        );
        if self
            .sinkpad
            .push_event(bytes_seek(offset, gst::Seqnum::next()))
        {
            return true;
        }
        let mut state = self.lock();
        state.pushing.fetch = None;
        state.pushing.startup = Startup::Done;
        false
    }

    /// A range asked for by `start_index_fetch` has arrived: the next one, or back to where
    /// the stream was.
    fn startup_fetched(&self) {
        let mut state = self.lock();
        let Some(f) = state.pushing.fetch.take() else {
            return;
        };
        let next = match state.pushing.startup {
            Startup::Index { resume, mut load } => {
                let next = load.feed(&f.data);
                state.pushing.startup = Startup::Resuming { resume };
                match next {
                    Next::Need { offset, len } => {
                        state.pushing.fetch = Some(Fetch::new(offset, len));
                        state.pushing.startup = Startup::Index { resume, load };
                        offset
                    }
                    Next::Loaded(l) => {
                        if let Err(e) = Self::install_index(&mut state, l) {
                            gst::warning!(CAT, imp = self, "index at the end unusable: {e}");
                        }
                        resume
                    }
                    Next::Absent => {
                        gst::debug!(CAT, imp = self, "no index at the end; going on");
                        resume
                    }
                    Next::Failed(e) => {
                        gst::warning!(CAT, imp = self, "index at the end unusable: {e}");
                        resume
                    }
                }
            }
            _ => return,
        };
        let known = state.duration.is_some() && state.pushing.fetch.is_none();
        drop(state);
        if known {
            let _ = self.obj().post_message(
                gst::message::DurationChanged::builder()
                    .src(&*self.obj())
                    .build(),
            );
        }
        if !self
            .sinkpad
            .push_event(bytes_seek(next, gst::Seqnum::next()))
        {
            gst::element_imp_error!(
                self,
                gst::StreamError::Demux,
                ["upstream refused a BYTES seek to {next} while reading the index"]
            );
        }
    }

    pub(super) fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Segment(e) => {
                let mut state = self.lock();
                if let Some(seg) = e.segment().downcast_ref::<gst::format::Bytes>() {
                    let start = seg.start().map_or(0, |b| *b);
                    let resumed = state.pushing.startup == Startup::Resuming { resume: start };
                    if matches!(state.pushing.startup, Startup::Resuming { .. }) {
                        state.pushing.startup = Startup::Done;
                    }
                    if let Some(f) = state.pushing.fetch.as_mut() {
                        f.at = start;
                    } else if !resumed
                        && (start != state.scanner.position() || state.scanner.buffered() > 0)
                    {
                        gst::debug!(CAT, imp = self, "upstream continues at byte {start}");
                        state.scanner = Scanner::at(start, 0);
                        state.ordinals_known = start == 0;
                    }
                }
                true
            }
            EventView::Caps(_) => true,
            EventView::FlushStop(_) => {
                let mut state = self.lock();
                if state.pushing.fetch.is_some() || state.pushing.startup.quiet() {
                    // An index fetch: downstream stays flushing until the seek lands, or at
                    // the start never sees the flush.
                    return true;
                }
                state.pushing.downstream_flushing = false;
                match state.pushing.pending_seek.take() {
                    Some((target, seqnum)) if seqnum == event.seqnum() => {
                        self.apply_seek(&mut state, target, seqnum);
                    }
                    _ => {
                        let offset = state.scanner.position();
                        state.scanner = Scanner::at(offset, 0);
                        state.need_segment = true;
                        state.eos_sent = false;
                        state.combiner.reset();
                    }
                }
                drop(state);
                self.flush_downstream(|| event.clone());
                true
            }
            EventView::FlushStart(_) => {
                if self.lock().pushing.startup.quiet() {
                    return true;
                }
                let already = std::mem::replace(&mut self.lock().pushing.downstream_flushing, true);
                if !already {
                    self.flush_downstream(|| event.clone());
                }
                true
            }
            EventView::Eos(_) => {
                let mut out = Vec::new();
                let res = {
                    let mut state = self.lock();
                    if state.pushing.fetch.is_some() || state.pushing.startup.quiet() {
                        return true;
                    }
                    state.scanner.finish();
                    self.drain(&mut state, &mut out)
                };
                let _ = self.perform(out);
                if !matches!(res, Err(gst::FlowError::Error)) {
                    self.push_eos();
                }
                true
            }
            EventView::StreamStart(s) => {
                if let Some(g) = s.group_id() {
                    self.lock().group_id = g;
                }
                true
            }
            _ => {
                // Upstream's own sticky events (souphttpsrc's HTTP headers, say) go on
                // downstream, but must not fail upstream's next push while our source pads
                // flush for a seek or stay unlinked.
                let sticky = event.is_sticky();
                gst::Pad::event_default(pad, Some(&*self.obj()), event) || sticky
            }
        }
    }
}
