//! Cuts a stream of sample frames (each `width` values wide, e.g. one value per channel) into
//! analysis frames of `size` samples whose starts are `hop` samples apart, whatever the sizes of
//! the pieces it is fed.

#[derive(Debug)]
pub struct Framer {
    size: usize,
    hop: usize,
    width: usize,
    /// Buffered values; `buf[read..]` holds samples from `buf_start` on.
    buf: Vec<f32>,
    read: usize,
    buf_start: u64,
    /// Sample index (since the last reset) where the next frame starts.
    next_start: u64,
    /// Samples fed since the last reset.
    total: u64,
    /// End of the last frame handed out.
    covered_end: u64,
}

/// A frame handed out: its first sample's index since the last reset, its interleaved values
/// (`size * width`), and how many of its samples are real (the rest are zero padding).
pub struct Frame<'a> {
    pub start: u64,
    pub values: &'a [f32],
    pub real: usize,
}

impl Framer {
    pub fn new(size: usize, hop: usize, width: usize) -> Self {
        assert!(size > 0 && hop > 0 && width > 0);
        Framer {
            size,
            hop,
            width,
            buf: Vec::with_capacity(2 * size * width),
            read: 0,
            buf_start: 0,
            next_start: 0,
            total: 0,
            covered_end: 0,
        }
    }

    /// Drops buffered samples and starts counting from 0 again (a discontinuity).
    pub fn reset(&mut self) {
        *self = Framer::new(self.size, self.hop, self.width);
    }

    /// Index of the first sample of the next frame to be handed out.
    pub fn next_start(&self) -> u64 {
        self.next_start
    }

    /// Samples fed since the last reset.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Appends samples: `values.len()` must be a multiple of the width.
    pub fn push(&mut self, values: &[f32]) {
        debug_assert_eq!(values.len() % self.width, 0);
        self.total += (values.len() / self.width) as u64;
        self.buf.extend_from_slice(values);
        self.drop_before_next();
    }

    /// Values to append next: hands out a slot of `samples` samples to fill (avoids an
    /// intermediate copy when converting formats).
    pub fn push_with(&mut self, samples: usize, fill: impl FnOnce(&mut [f32])) {
        let old = self.buf.len();
        self.buf.resize(old + samples * self.width, 0.0);
        fill(&mut self.buf[old..]);
        self.total += samples as u64;
        self.drop_before_next();
    }

    /// Hands the next complete frame to `f`, if there is one. Returns whether it did.
    pub fn next_frame(&mut self, f: impl FnOnce(Frame<'_>)) -> bool {
        if self.total < self.next_start + self.size as u64 {
            return false;
        }
        let from = self.read + (self.next_start - self.buf_start) as usize * self.width;
        f(Frame {
            start: self.next_start,
            values: &self.buf[from..from + self.size * self.width],
            real: self.size,
        });
        self.covered_end = self.next_start + self.size as u64;
        self.next_start += self.hop as u64;
        self.drop_before_next();
        true
    }

    /// At the end of the stream: the last frame, zero-padded, if samples after the last
    /// complete frame would otherwise go unanalysed (never when the stream ended exactly on a
    /// frame boundary). Leaves the framer reset.
    pub fn finish(&mut self, f: impl FnOnce(Frame<'_>)) -> bool {
        let due = self.next_start < self.total && self.total > self.covered_end;
        if due {
            let from = self.read + (self.next_start - self.buf_start) as usize * self.width;
            let real = (self.total - self.next_start) as usize;
            let mut values = self.buf[from..].to_vec();
            values.resize(self.size * self.width, 0.0);
            f(Frame {
                start: self.next_start,
                values: &values,
                real,
            });
        }
        self.reset();
        due
    }

    /// Forgets samples no later frame needs, compacting the buffer now and then.
    fn drop_before_next(&mut self) {
        let buffered_end = self.total;
        let keep_from = self.next_start.min(buffered_end);
        if keep_from > self.buf_start {
            self.read += (keep_from - self.buf_start) as usize * self.width;
            self.buf_start = keep_from;
        }
        if self.read > 0 && self.read >= self.buf.len() / 2 {
            self.buf.drain(..self.read);
            self.read = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds 0, 1, 2, … in pieces of `piece` samples; returns (start, first value, real) of
    /// every frame, the padded one last.
    fn frames(size: usize, hop: usize, total: usize, piece: usize) -> Vec<(u64, f32, usize)> {
        let mut fr = Framer::new(size, hop, 1);
        let mut got = Vec::new();
        let data: Vec<f32> = (0..total).map(|i| i as f32).collect();
        for chunk in data.chunks(piece) {
            fr.push(chunk);
            while fr.next_frame(|f| {
                assert_eq!(f.values.len(), size);
                for (i, v) in f.values.iter().enumerate() {
                    assert_eq!(*v, (f.start as usize + i) as f32);
                }
                got.push((f.start, f.values[0], f.real));
            }) {}
        }
        fr.finish(|f| {
            for (i, v) in f.values.iter().enumerate() {
                let want = if i < f.real {
                    (f.start as usize + i) as f32
                } else {
                    0.0
                };
                assert_eq!(*v, want);
            }
            got.push((f.start, f.values[0], f.real));
        });
        got
    }

    #[test]
    fn pieces_do_not_matter() {
        let want = frames(8, 8, 50, 50);
        assert_eq!(
            want,
            vec![
                (0, 0.0, 8),
                (8, 8.0, 8),
                (16, 16.0, 8),
                (24, 24.0, 8),
                (32, 32.0, 8),
                (40, 40.0, 8),
                (48, 48.0, 2)
            ]
        );
        for piece in [1, 3, 7, 9, 13] {
            assert_eq!(frames(8, 8, 50, piece), want, "piece {piece}");
        }
    }

    #[test]
    fn overlap_and_skip() {
        // hop 4 of 8: starts 0, 4, …, 40 complete (40 + 8 = 48 <= 50); 44 is padded.
        let f = frames(8, 4, 50, 5);
        assert_eq!(f.len(), 12);
        assert_eq!(f[10], (40, 40.0, 8));
        assert_eq!(f[11], (44, 44.0, 6));
        // hop 12 of 8: starts 0, 12, 24, 36 complete; 48 padded with 2 real samples.
        let f = frames(8, 12, 50, 7);
        assert_eq!(
            f.iter().map(|x| x.0).collect::<Vec<_>>(),
            vec![0, 12, 24, 36, 48]
        );
        assert_eq!(f[4].2, 2);
        // hop 12 of 8 ending inside the skipped gap: no padded frame.
        assert_eq!(frames(8, 12, 46, 7).len(), 4);
    }

    #[test]
    fn exact_end_has_no_padded_frame() {
        assert_eq!(frames(8, 8, 48, 5).len(), 6);
        assert_eq!(frames(8, 4, 48, 5).len(), 11);
        assert!(frames(8, 8, 0, 5).is_empty());
        assert_eq!(frames(8, 8, 3, 5), vec![(0, 0.0, 3)]);
    }

    #[test]
    fn width_and_reset() {
        let mut fr = Framer::new(4, 4, 2);
        fr.push(&[1.0, -1.0, 2.0, -2.0, 3.0, -3.0]);
        fr.reset();
        fr.push(&[5.0, -5.0, 6.0, -6.0, 7.0, -7.0, 8.0, -8.0, 9.0, -9.0]);
        let mut seen = Vec::new();
        assert!(fr.next_frame(|f| seen.push((f.start, f.values.to_vec()))));
        assert!(!fr.next_frame(|_| unreachable!()));
        assert_eq!(
            seen,
            vec![(0, vec![5.0, -5.0, 6.0, -6.0, 7.0, -7.0, 8.0, -8.0])]
        );
        assert_eq!(fr.total(), 5);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut fr = Framer::new(1024, 256, 1);
        let piece = vec![0.5f32; 1000];
        for _ in 0..10_000 {
            fr.push(&piece);
            while fr.next_frame(|_| {}) {}
        }
        assert!(fr.buf.len() <= 4 * 1024 + 1000, "{}", fr.buf.len());
    }
}
