//! CRC-32 of any byte range of a stream in constant time, from checkpoints taken every
//! [`STRIDE`] bytes: what makes resynchronisation linear in the bytes scanned however many
//! plausible chunk headers a damaged stretch holds.
//!
//! CRC-32 is linear: `crc(A ‖ B) = shift(crc(A), |B|) ⊕ crc(B)`, where `shift(c, n)` multiplies
//! `c` by x^(8n) modulo the CRC polynomial (what crc32fast's `combine` does). With `cum(x)`, the CRC of the stream from the origin to
//! `x`, the CRC of `[a, b)` is `cum(b) ⊕ shift(cum(a), b − a)`. Each `cum(x)` costs at most one
//! stride of CRC from the checkpoint below `x`; each range costs one shift.

use std::collections::VecDeque;

/// Bytes between checkpoints: a range query hashes at most two strides.
pub const STRIDE: u64 = 256;

/// Checkpoints over a window of a stream. The caller keeps the stream's bytes from
/// [`RangeCrc::keep_from`] on and passes them to each call as `(bytes, offset of bytes[0])`.
#[derive(Debug)]
pub struct RangeCrc {
    origin: u64,
    /// Index (counted from `origin` in strides) of `marks[0]`.
    first: u64,
    /// `marks[i]` is the CRC of `origin .. origin + (first + i) * STRIDE`.
    marks: VecDeque<u32>,
    /// Work done so far: bytes hashed, and [`SHIFT_COST`] for each shift.
    work: u64,
}

/// What one shift counts for in [`RangeCrc::work`], in bytes hashed (about what it costs).
pub const SHIFT_COST: u64 = 64;

/// `crc` multiplied by x^(8·len) modulo the polynomial: `crc(A ‖ B) = shift(crc(A), |B|) ⊕ crc(B)`.
pub fn shift(crc: u32, len: u64) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial_len(crc, 0);
    h.combine(&crc32fast::Hasher::new_with_initial_len(0, len));
    h.finalize()
}

impl RangeCrc {
    pub fn new(origin: u64) -> Self {
        RangeCrc {
            origin,
            first: 0,
            marks: VecDeque::from([0]),
            work: 0,
        }
    }

    pub fn origin(&self) -> u64 {
        self.origin
    }

    /// The first stream offset later calls may need.
    pub fn keep_from(&self) -> u64 {
        self.origin + self.first * STRIDE
    }

    /// Work done so far, in bytes hashed (a shift counts [`SHIFT_COST`]).
    pub fn work(&self) -> u64 {
        self.work
    }

    /// Checkpoints held (each 4 bytes).
    pub fn marks(&self) -> usize {
        self.marks.len()
    }

    /// Forgets what is only needed for offsets below `offset`; past the last checkpoint it
    /// starts afresh at `offset` (any origin serves, so long as all checkpoints share it).
    /// [`RangeCrc::keep_from`] never moves back.
    pub fn forget_below(&mut self, offset: u64) {
        let last = self.first + self.marks.len() as u64 - 1;
        if offset >= self.origin + (last + 1) * STRIDE {
            return self.restart(offset);
        }
        let want = offset.saturating_sub(self.origin) / STRIDE;
        let drop = want.min(last).saturating_sub(self.first);
        self.marks.drain(..drop as usize);
        self.first += drop;
    }

    /// Forgets every checkpoint and starts afresh at `offset`: for a caller that no longer
    /// has the bytes before it.
    pub fn restart(&mut self, offset: u64) {
        self.origin = offset;
        self.first = 0;
        self.marks.clear();
        self.marks.push_back(0);
    }

    /// CRC of `origin .. x`; `bytes` starts at stream offset `at` and must reach `x`.
    fn cum(&mut self, bytes: &[u8], at: u64, x: u64) -> u32 {
        debug_assert!(x >= self.keep_from() && at <= self.keep_from());
        let want = (x - self.origin) / STRIDE;
        let slice = |from: u64, to: u64| &bytes[(from - at) as usize..(to - at) as usize];
        while self.first + (self.marks.len() as u64) <= want {
            let i = self.first + self.marks.len() as u64 - 1;
            let from = self.origin + i * STRIDE;
            let mut h = crc32fast::Hasher::new_with_initial(*self.marks.back().expect("one mark"));
            h.update(slice(from, from + STRIDE));
            self.marks.push_back(h.finalize());
            self.work += STRIDE;
        }
        let base = self.origin + want * STRIDE;
        self.work += x - base;
        let mut h = crc32fast::Hasher::new_with_initial(self.marks[(want - self.first) as usize]);
        h.update(slice(base, x));
        h.finalize()
    }

    /// CRC of the stream range `a .. b` (`keep_from() <= a <= b`), `bytes` as for `cum`.
    pub fn range(&mut self, bytes: &[u8], at: u64, a: u64, b: u64) -> u32 {
        let ca = self.cum(bytes, at, a);
        let cb = self.cum(bytes, at, b);
        self.work += SHIFT_COST;
        cb ^ shift(ca, b - a)
    }

    /// CRC of `prefix` followed by the stream range `a .. b`: a chunk's CRC when `prefix` is its
    /// tag and size field and `a .. b` its payload.
    pub fn with_prefix(&mut self, prefix: &[u8], bytes: &[u8], at: u64, a: u64, b: u64) -> u32 {
        let ca = self.cum(bytes, at, a);
        let cb = self.cum(bytes, at, b);
        self.work += SHIFT_COST + prefix.len() as u64;
        shift(crc32fast::hash(prefix) ^ ca, b - a) ^ cb
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        let mut x = 0x9e37_79b9u32;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn every_range_matches_a_direct_crc() {
        let data = bytes(1500);
        let origin = 7u64;
        let mut r = RangeCrc::new(origin);
        let at = 3u64; // data[0] is stream offset 3
        for a in (origin..1400).step_by(37) {
            for b in (a..1500 + at).step_by(53) {
                let direct = crc32fast::hash(&data[(a - at) as usize..(b - at) as usize]);
                assert_eq!(r.range(&data, at, a, b), direct, "{a}..{b}");
            }
        }
    }

    #[test]
    fn a_prefix_and_range_give_the_chunk_crc() {
        let data = bytes(3000);
        let mut r = RangeCrc::new(0);
        let prefix = b"CORE\x10\0\0\0";
        for (a, b) in [(0, 0), (12, 28), (255, 257), (256, 2900), (1000, 1000)] {
            let mut h = crc32fast::Hasher::new();
            h.update(prefix);
            h.update(&data[a as usize..b as usize]);
            assert_eq!(r.with_prefix(prefix, &data, 0, a, b), h.finalize());
        }
    }

    #[test]
    fn forgetting_keeps_later_ranges_right_and_memory_small() {
        let data = bytes(100_000);
        let mut r = RangeCrc::new(0);
        let mut kept_from = 0u64;
        for a in (0..99_000u64).step_by(101) {
            r.forget_below(a);
            assert!(r.keep_from() <= a && r.keep_from() >= kept_from);
            kept_from = r.keep_from();
            let direct = crc32fast::hash(&data[a as usize..a as usize + 700]);
            // Only bytes from keep_from on are handed over.
            let k = r.keep_from();
            assert_eq!(r.range(&data[k as usize..], k, a, a + 700), direct);
            assert!(r.marks() <= 2 + 700 / STRIDE as usize + 1, "{}", r.marks());
        }
    }

    #[test]
    fn shift_combines_crcs() {
        let c = crc32fast::hash(b"abc");
        let tail = bytes(1000);
        let mut h = crc32fast::Hasher::new();
        h.update(b"abc");
        h.update(&tail);
        assert_eq!(shift(c, 1000) ^ crc32fast::hash(&tail), h.finalize());
        assert_eq!(shift(c, 0), c);
    }
}
