//! Pull mode's walks other than straight ahead: reverse playback (a keyframe's group of blocks
//! at a time, from the segment's stop back to its start, each group sent forward for decoders
//! to reverse) and key-unit trick modes (only the reference track's keyframes, one chunk each,
//! forwards or backwards). The index says where each keyframe is, so nothing else is read.

use super::*;
use crate::format::seek_plan::SeekPlan;

/// The part of the file read before the walk moves to the next keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    /// The reference track (see `seek_plan::reference_track`).
    pub track: u32,
    /// Stream time of the reference track's keyframe the span starts at.
    pub keyframe: u64,
    pub keyframe_offset: u64,
    /// Where reading starts: no later than that keyframe nor the keyframe at or before it of
    /// every other audio and video track.
    pub from: u64,
    /// Reading stops at the first chunk at or past this offset (`u64::MAX`: at the segment's
    /// stop or the end of the file).
    pub end: u64,
    /// Blocks of the other tracks at or past this offset went out with the span after it.
    pub others_end: u64,
}

/// How the pull task walks the file for the current segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Walk {
    /// Straight ahead from the seek's keyframe (push mode always walks so).
    #[default]
    Forward,
    /// Rate < 0: spans from the stop back to the start. `None`: nothing left.
    Reverse { span: Option<Span> },
    /// `TRICKMODE_KEY_UNITS`: one keyframe chunk per span, in the direction of the rate.
    KeyUnits { forward: bool, span: Option<Span> },
}

impl Walk {
    /// The offset at which the current span ends (0 when there is none).
    pub(super) fn end(&self) -> u64 {
        match self {
            Walk::Forward => u64::MAX,
            Walk::Reverse { span } | Walk::KeyUnits { span, .. } => span.map_or(0, |s| s.end),
        }
    }

    /// Whether a block of `track` at `offset` is sent: in reverse, the other tracks' blocks
    /// from `others_end` on went out with the span after this one.
    pub(super) fn sends(&self, track: u32, offset: u64) -> bool {
        match self {
            Walk::Reverse { span: Some(s) } => track == s.track || offset < s.others_end,
            Walk::KeyUnits { span: Some(s), .. } => track == s.track,
            _ => true,
        }
    }

    /// Where reading starts (anywhere when there is nothing to read).
    pub(super) fn start(&self) -> u64 {
        match self {
            Walk::Forward => 0,
            Walk::Reverse { span } | Walk::KeyUnits { span, .. } => span.map_or(0, |s| s.from),
        }
    }

    pub(super) fn is_forward(&self) -> bool {
        *self == Walk::Forward
    }

    pub(super) fn key_units(&self) -> bool {
        matches!(self, Walk::KeyUnits { .. })
    }
}

impl State {
    /// A seek plan for stream time `target`, by the loaded index.
    pub(super) fn plan_at(&mut self, target: u64, landing: Landing) -> Result<SeekPlan, String> {
        let meta = self
            .meta
            .as_ref()
            .ok_or("the file header has not been read yet")?;
        let index = self.index.as_mut().ok_or("no index")?;
        let table = index.table().map_err(|e| e.to_string())?.clone();
        seek_plan::plan(meta, &table, target, landing, |t, time, snap| {
            index.find(t, time, snap)
        })
        .map_err(|e| e.to_string())
    }

    /// A segment's start and its stop (else the file's duration) in stream time.
    fn bounds(&self, segment: &gst::FormattedSegment<gst::ClockTime>) -> (u64, u64) {
        let start = segment.start().map_or(0, |t| t.nseconds());
        let stop = segment.stop().or(self.duration);
        (start, stop.map_or(u64::MAX, |t| t.nseconds()))
    }

    /// The walk a seek to `segment` with `flags` asks for; `None` for straight ahead.
    pub(super) fn first_walk(
        &mut self,
        segment: &gst::FormattedSegment<gst::ClockTime>,
        flags: gst::SeekFlags,
    ) -> Result<Option<Walk>, String> {
        let reverse = segment.rate() < 0.0;
        let key_units = flags.contains(gst::SeekFlags::TRICKMODE_KEY_UNITS);
        if !reverse && !key_units {
            return Ok(None);
        }
        let (start, stop) = self.bounds(segment);
        let span = |p: SeekPlan, key: bool| Span {
            track: p.track,
            keyframe: p.keyframe,
            keyframe_offset: p.keyframe_offset,
            from: if key { p.keyframe_offset } else { p.offset },
            end: if key { p.keyframe_offset + 1 } else { u64::MAX },
            others_end: u64::MAX,
        };
        let walk = if key_units && !reverse {
            let p = self.plan_at(start, Landing::After)?;
            let inside = p.keyframe >= start && p.keyframe < stop;
            Walk::KeyUnits {
                forward: true,
                span: inside.then(|| span(p, true)),
            }
        } else {
            let p = self.plan_at(stop.saturating_sub(1), Landing::Before)?;
            let inside = p.keyframe < stop && (!key_units || p.keyframe >= start);
            let span = inside.then(|| span(p, key_units));
            if key_units {
                Walk::KeyUnits {
                    forward: false,
                    span,
                }
            } else {
                Walk::Reverse { span }
            }
        };
        Ok(Some(walk))
    }

    /// The span after the current one, or `None` when the walk is over.
    fn next_span(&mut self) -> Option<Span> {
        let (start, stop) = self.bounds(&self.segment.clone());
        let walk = self.walk;
        let next = match walk {
            Walk::Forward => return None,
            Walk::Reverse { span } => {
                let cur = span?;
                if cur.keyframe <= start || cur.keyframe == 0 {
                    return None;
                }
                let p = self.plan_at(cur.keyframe - 1, Landing::Before).ok()?;
                (p.keyframe < cur.keyframe).then_some(Span {
                    track: p.track,
                    keyframe: p.keyframe,
                    keyframe_offset: p.keyframe_offset,
                    from: p.offset,
                    end: cur.keyframe_offset,
                    others_end: cur.from,
                })?
            }
            Walk::KeyUnits { forward, span } => {
                let cur = span?;
                let p = if forward {
                    let p = self.plan_at(cur.keyframe + 1, Landing::After).ok()?;
                    (p.keyframe > cur.keyframe && p.keyframe < stop).then_some(p)?
                } else {
                    let p = self
                        .plan_at(cur.keyframe.checked_sub(1)?, Landing::Before)
                        .ok()?;
                    (p.keyframe < cur.keyframe && p.keyframe >= start).then_some(p)?
                };
                Span {
                    track: p.track,
                    keyframe: p.keyframe,
                    keyframe_offset: p.keyframe_offset,
                    from: p.keyframe_offset,
                    end: p.keyframe_offset + 1,
                    others_end: u64::MAX,
                }
            }
        };
        Some(next)
    }

    /// Moves the walk to its next span and the task to where it starts; `false` when the
    /// walk is over.
    pub(super) fn advance_walk(&mut self) -> bool {
        let Some(span) = self.next_span() else {
            return false;
        };
        match &mut self.walk {
            Walk::Reverse { span: s } | Walk::KeyUnits { span: s, .. } => *s = Some(span),
            Walk::Forward => return false,
        }
        self.scanner = self.scanner_at(span.from, 0);
        self.pulling.offset = span.from;
        self.pulling.head_ahead = None;
        for s in &mut self.streams {
            s.discont = true;
            s.need_keyframe = true;
            s.past_stop = false;
        }
        true
    }
}
