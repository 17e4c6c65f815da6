//! One frame of samples in, its strongest spectral peaks out: window, FFT, power spectrum,
//! local maxima above a floor, the top K by magnitude (ties broken by the lower bin), and a
//! sub-bin frequency for each by parabolic interpolation on the log magnitude.
//!
//! The real input of N samples goes through a complex FFT of N/2 points (even samples as real
//! parts, odd as imaginary) and one split step, which gives the same N/2 + 1 bins as an N-point
//! FFT for half the work.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner, FftPlannerScalar};

use super::window::Window;
use super::{Error, Peak};

/// Which FFT code computes the spectrum. Both give the same tokens on every run; they differ in
/// where else the bits are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transform {
    /// The fastest code this CPU has (rustfft's AVX, SSE4.1 or NEON planner, else scalar):
    /// the same bits on every CPU with the same instruction set; across instruction sets the
    /// last bits of a frequency or level may differ.
    #[default]
    Native,
    /// Plain scalar code (rustfft's scalar planner): the same bits on every CPU, with an FFT
    /// about twice as slow.
    Portable,
}

impl Transform {
    /// Its name in the token caps.
    pub fn name(self) -> &'static str {
        match self {
            Transform::Native => "native",
            Transform::Portable => "portable",
        }
    }
}

/// Shortest and longest frames accepted.
pub const MIN_FRAME: usize = 16;
pub const MAX_FRAME: usize = 65536;

pub struct Analyzer {
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
    /// N/2 points: the packed frame, then its spectrum.
    buf: Vec<Complex32>,
    /// e^(-2πik/N) for k = 0 ..= N/2.
    twiddles: Vec<Complex32>,
    scratch: Vec<Complex32>,
    power: Vec<f32>,
    candidates: Vec<u32>,
    keys: Vec<u64>,
    /// Power of a bin to dB relative to a full-scale sine: 10*log10(power) + this.
    db_offset: f32,
    /// Width of a bin in Hz.
    bin_hz: f32,
}

impl Analyzer {
    /// An analyser of `frame_size` samples (a power of two in `MIN_FRAME..=MAX_FRAME`) of
    /// audio sampled at `rate` Hz.
    pub fn new(
        frame_size: usize,
        window: Window,
        rate: u32,
        transform: Transform,
    ) -> Result<Self, Error> {
        if !frame_size.is_power_of_two() || !(MIN_FRAME..=MAX_FRAME).contains(&frame_size) {
            return Err(Error::FrameSize(frame_size));
        }
        let half = frame_size / 2;
        let fft = match transform {
            Transform::Native => FftPlanner::new().plan_fft_forward(half),
            Transform::Portable => FftPlannerScalar::new().plan_fft_forward(half),
        };
        let twiddles = (0..=half)
            .map(|k| {
                let a = -2.0 * std::f64::consts::PI * k as f64 / frame_size as f64;
                Complex32::new(a.cos() as f32, a.sin() as f32)
            })
            .collect();
        let window = window.coefficients(frame_size);
        let sum: f64 = window.iter().map(|&w| f64::from(w)).sum();
        // A sine of amplitude A peaks at |X| = A * sum / 2.
        let db_offset = (20.0 * (2.0 / sum).log10()) as f32;
        Ok(Analyzer {
            fft: fft.clone(),
            buf: vec![Complex32::default(); half],
            twiddles,
            scratch: vec![Complex32::default(); fft.get_inplace_scratch_len()],
            power: vec![0.0; frame_size / 2 + 1],
            candidates: Vec::new(),
            keys: Vec::new(),
            window,
            db_offset,
            bin_hz: rate as f32 / frame_size as f32,
        })
    }

    pub fn frame_size(&self) -> usize {
        self.window.len()
    }

    /// Number of frequency bins: frame_size / 2 + 1.
    pub fn bins(&self) -> usize {
        self.power.len()
    }

    /// Analyses one frame: `frame_size` samples taken from `samples` at `offset`, `offset +
    /// stride`, … (an interleaved channel, or a plain slice with stride 1). Writes at most
    /// `top_k` peaks at or above `floor_db` to `out`, strongest first.
    pub fn analyze(
        &mut self,
        samples: &[f32],
        stride: usize,
        offset: usize,
        top_k: usize,
        floor_db: f32,
        out: &mut Vec<Peak>,
    ) {
        out.clear();
        let n = self.frame_size();
        let stride = stride.max(1);
        let x = &samples[offset..offset + (n - 1) * stride + 1];
        let w = &self.window;
        if stride == 1 {
            for ((b, s), w) in self
                .buf
                .iter_mut()
                .zip(x.chunks_exact(2))
                .zip(w.chunks_exact(2))
            {
                *b = Complex32::new(s[0] * w[0], s[1] * w[1]);
            }
        } else {
            for (i, b) in self.buf.iter_mut().enumerate() {
                let (e, o) = (2 * i, 2 * i + 1);
                *b = Complex32::new(x[e * stride] * w[e], x[o * stride] * w[o]);
            }
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        // Split: with Z the N/2-point spectrum, the even samples' spectrum is
        // E = (Z[k] + conj Z[M-k]) / 2, the odd samples' O = (Z[k] - conj Z[M-k]) / 2i, and
        // X[k] = E + e^(-2πik/N) O. Halves are folded into the power's scale (x4).
        let z = &self.buf;
        let half = z.len();
        let split = |zk: Complex32, zc: Complex32, t: Complex32| {
            let (e, d) = (zk + zc, zk - zc);
            (e + t * Complex32::new(d.im, -d.re)).norm_sqr() * 0.25
        };
        let (z0, t) = (z[0], &self.twiddles);
        self.power[0] = split(z0, z0.conj(), t[0]);
        self.power[half] = split(z0, z0.conj(), t[half]);
        // Bins 1 .. M-1 pair Z[k] with Z[M-k]: one forward and one backward walk, no indexing.
        let pairs = z[1..].iter().zip(z[1..].iter().rev()).zip(&t[1..half]);
        for (p, ((zk, zr), t)) in self.power[1..half].iter_mut().zip(pairs) {
            *p = split(*zk, zr.conj(), *t);
        }
        let floor = 10f32.powf((floor_db - self.db_offset) / 10.0);
        strongest_peaks(
            &self.power,
            floor,
            top_k,
            &mut self.keys,
            &mut self.candidates,
        );
        let p = &self.power;
        for &bin in &self.candidates {
            let (delta, peak_ln) = interpolate(p, bin as usize);
            out.push(Peak {
                bin,
                frequency: (bin as f32 + delta) * self.bin_hz,
                magnitude: peak_ln * (10.0 / std::f32::consts::LN_10) + self.db_offset,
            });
        }
    }
}

/// The bins of the `top_k` strongest local maxima of `p` at or above `floor`, strongest first,
/// ties broken by the lower bin. `keys` is scratch space.
fn strongest_peaks(p: &[f32], floor: f32, top_k: usize, keys: &mut Vec<u64>, out: &mut Vec<u32>) {
    let last = p.len() - 1;
    // One sort key per peak: the power's bits above (a power is never negative, so its bits
    // order as the value does; NaN is never a peak) and the complement of the bin below, so
    // that the largest key is the strongest peak and, among equals, the lowest bin.
    let key = |k: usize| (u64::from(p[k].to_bits()) << 32) | u64::from(!(k as u32));
    let peak = |k: usize| (p[k] > p[k - 1]) & (p[k] >= p[k + 1]) & (p[k] >= floor);
    keys.clear();
    if p[0] > p[1] && p[0] >= floor {
        keys.push(key(0));
    }
    // The inner bins 64 at a time: a mask of the peaks among them (comparisons the compiler
    // turns into vector code), then one key per set bit.
    let mut k = 1;
    while k < last {
        let width = (last - k).min(64);
        let mut mask = 0u64;
        for i in 0..width {
            mask |= u64::from(peak(k + i)) << i;
        }
        while mask != 0 {
            keys.push(key(k + mask.trailing_zeros() as usize));
            mask &= mask - 1;
        }
        k += width;
    }
    if p[last] > p[last - 1] && p[last] >= floor {
        keys.push(key(last));
    }
    let n = keys.len();
    let k = top_k.min(n);
    if k == 0 {
        keys.clear();
    } else if k < n {
        keys.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
        keys.truncate(k);
    }
    keys.sort_unstable_by(|a, b| b.cmp(a));
    out.clear();
    out.extend(keys.iter().map(|&key| !(key as u32)));
}

/// Offset of the true peak from bin `k` (in bins, within ±0.5) and the natural log of its
/// power, from the parabola through the log powers of `k` and its neighbours.
fn interpolate(p: &[f32], k: usize) -> (f32, f32) {
    const TINY: f32 = 1e-30;
    let ln = |x: f32| x.max(TINY).ln();
    let b = ln(p[k]);
    if k == 0 || k + 1 == p.len() {
        return (0.0, b);
    }
    let (a, c) = (ln(p[k - 1]), ln(p[k + 1]));
    let denom = a - 2.0 * b + c;
    if denom >= 0.0 {
        return (0.0, b);
    }
    let delta = (0.5 * (a - c) / denom).clamp(-0.5, 0.5);
    (delta, b - 0.25 * (a - c) * delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amp: f64, rate: u32, n: usize, phase: f64) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate) + phase)
                    .sin()) as f32
            })
            .collect()
    }

    fn top(a: &mut Analyzer, s: &[f32], k: usize) -> Vec<Peak> {
        let mut out = Vec::new();
        a.analyze(s, 1, 0, k, -120.0, &mut out);
        out
    }

    #[test]
    fn rejects_bad_sizes() {
        for n in [0, 8, 1000, 2047, 131072] {
            assert!(matches!(
                Analyzer::new(n, Window::Hann, 48000, Transform::Native),
                Err(Error::FrameSize(m)) if m == n
            ));
        }
        assert_eq!(
            Analyzer::new(2048, Window::Hann, 48000, Transform::Native)
                .unwrap()
                .bins(),
            1025
        );
    }

    #[test]
    fn sub_bin_frequency_for_every_window() {
        // Sweep a tone across one bin: the interpolated frequency stays within 2% of a bin
        // (the bin here is 23.4 Hz).
        let rate = 48000;
        for w in [Window::Hann, Window::Hamming, Window::BlackmanHarris] {
            let mut a = Analyzer::new(2048, w, 48000, Transform::Native).unwrap();
            let mut worst: f64 = 0.0;
            for step in 0..40 {
                let f = 1000.0 + f64::from(step) * 23.4375 / 40.0;
                let p = top(&mut a, &sine(f, 0.5, rate, 2048, 0.3), 1)[0];
                worst = worst.max((f64::from(p.frequency) - f).abs());
                assert!((p.magnitude - (-6.02)).abs() < 1.5, "{w:?} {f}: {p:?}");
            }
            // Measured: 0.38 Hz (Hann), 0.37 Hz (Hamming), 0.07 Hz (Blackman-Harris).
            assert!(worst < 0.5, "{w:?}: worst error {worst} Hz");
        }
    }

    #[test]
    fn split_spectrum_equals_a_full_length_fft() {
        for (n, t) in [16usize, 256, 2048]
            .into_iter()
            .flat_map(|n| [(n, Transform::Native), (n, Transform::Portable)])
        {
            let mut a = Analyzer::new(n, Window::Rectangular, 48000, t).unwrap();
            let mut x = 12345u32;
            let s: Vec<f32> = (0..n)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (x >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect();
            let mut out = Vec::new();
            a.analyze(&s, 1, 0, 1, -300.0, &mut out);
            let mut full: Vec<Complex32> = s.iter().map(|v| Complex32::new(*v, 0.0)).collect();
            FftPlannerScalar::new()
                .plan_fft_forward(n)
                .process(&mut full);
            for (k, p) in a.power.iter().enumerate() {
                let want = full[k].norm_sqr();
                assert!(
                    (p - want).abs() <= 1e-4 * want.max(1.0),
                    "{t:?} n {n} bin {k}: {p} vs {want}"
                );
            }
        }
    }

    #[test]
    fn full_scale_sine_is_near_0_db() {
        let mut a = Analyzer::new(4096, Window::BlackmanHarris, 48000, Transform::Native).unwrap();
        let p = top(&mut a, &sine(3000.0, 1.0, 48000, 4096, 0.0), 1)[0];
        assert!(p.magnitude.abs() < 0.1, "{p:?}");
    }

    #[test]
    fn peaks_are_ordered_and_ties_go_to_the_lower_bin() {
        let p = [9.0, 1.0, 5.0, 1.0, 7.0, 7.0, 1.0, 5.0, 2.0, 3.0];
        let (mut keys, mut out) = (Vec::new(), Vec::new());
        strongest_peaks(&p, 0.0, 10, &mut keys, &mut out);
        // A plateau counts once, at its first bin; the edges count with one neighbour.
        assert_eq!(out, vec![0, 4, 2, 7, 9]);
        strongest_peaks(&p, 0.0, 3, &mut keys, &mut out);
        assert_eq!(out, vec![0, 4, 2]);
        strongest_peaks(&p, 5.0, 10, &mut keys, &mut out);
        assert_eq!(out, vec![0, 4, 2, 7]);
        strongest_peaks(&p, 100.0, 10, &mut keys, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn peaks_match_the_obvious_loop_across_mask_words() {
        // Random spectra of several lengths (word boundaries at 1, 65, 129, …), with plateaus
        // and equal peaks: the same peaks, in the same order, as a plain loop and a full sort.
        let mut x = 7u32;
        let mut rnd = || {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) % 50
        };
        let (mut keys, mut out) = (Vec::new(), Vec::new());
        for len in [3usize, 64, 65, 66, 129, 200, 1025] {
            let p: Vec<f32> = (0..len).map(|_| rnd() as f32).collect();
            for (floor, top_k) in [(0.0, len), (10.0, 5), (25.0, 1), (49.0, 3)] {
                let last = len - 1;
                let mut want: Vec<u32> = (0..len)
                    .filter(|&k| {
                        let left = k == 0 || p[k] > p[k - 1];
                        let right = if k == 0 {
                            p[0] > p[1]
                        } else {
                            k == last || p[k] >= p[k + 1]
                        };
                        left && right && p[k] >= floor
                    })
                    .map(|k| k as u32)
                    .collect();
                want.sort_by(|a, b| p[*b as usize].total_cmp(&p[*a as usize]).then(a.cmp(b)));
                want.truncate(top_k);
                strongest_peaks(&p, floor, top_k, &mut keys, &mut out);
                assert_eq!(out, want, "len {len} floor {floor} top {top_k}");
            }
        }
    }

    #[test]
    fn two_tones_and_a_floor() {
        let rate = 48000;
        let mut s = sine(440.0, 0.5, rate, 4096, 0.0);
        for (v, w) in s.iter_mut().zip(sine(2500.0, 0.1, rate, 4096, 1.0)) {
            *v += w;
        }
        let mut a = Analyzer::new(4096, Window::BlackmanHarris, 48000, Transform::Native).unwrap();
        let peaks = top(&mut a, &s, 2);
        assert!((peaks[0].frequency - 440.0).abs() < 0.5, "{peaks:?}");
        assert!((peaks[1].frequency - 2500.0).abs() < 0.5, "{peaks:?}");
        assert!((peaks[0].magnitude + 6.02).abs() < 0.2 && (peaks[1].magnitude + 20.0).abs() < 0.2);
        let mut out = Vec::new();
        a.analyze(&s, 1, 0, 8, -12.0, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn silence_has_no_peaks_and_stride_reads_one_channel() {
        let mut a = Analyzer::new(256, Window::Hann, 8000, Transform::Native).unwrap();
        assert!(top(&mut a, &[0.0; 256], 4).is_empty());
        // Interleaved stereo: left silent, right a tone.
        let tone = sine(1000.0, 0.5, 8000, 256, 0.0);
        let mut stereo = vec![0f32; 512];
        for (i, v) in tone.iter().enumerate() {
            stereo[2 * i + 1] = *v;
        }
        let mut out = Vec::new();
        a.analyze(&stereo, 2, 0, 4, -60.0, &mut out);
        assert!(out.is_empty());
        a.analyze(&stereo, 2, 1, 4, -60.0, &mut out);
        assert_eq!(out[0].bin, 32);
    }

    #[test]
    fn same_input_same_bits() {
        let s = sine(441.3, 0.3, 44100, 2048, 1.0);
        for t in [Transform::Native, Transform::Portable] {
            let mut a = Analyzer::new(2048, Window::Hann, 48000, t).unwrap();
            let mut b = Analyzer::new(2048, Window::Hann, 48000, t).unwrap();
            let x = top(&mut a, &s, 32);
            assert_eq!(x, top(&mut a, &s, 32));
            assert_eq!(x, top(&mut b, &s, 32));
        }
    }

    /// Two tones in noise (the noise from an integer LCG).
    fn pinned_input() -> Vec<f32> {
        let mut x = 99u32;
        let mut s = sine(440.0, 0.5, 48000, 2048, 0.25);
        for (v, w) in s.iter_mut().zip(sine(3131.0, 0.05, 48000, 2048, 2.0)) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            *v += w + ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.01;
        }
        s
    }

    /// (bin, frequency bits, magnitude bits) of the four strongest peaks of `pinned_input`:
    /// 439.65 Hz at -5.95 dB, 3130.77 Hz at -25.80 dB, then two noise peaks near -67 dB.
    const PINNED: [(u32, u32, u32); 4] = [
        (19, 0x43db_d382, 0xc0be_4ac8),
        (134, 0x4543_ac44, 0xc1ce_6316),
        (764, 0x468b_ea3e, 0xc286_0a1b),
        (173, 0x457d_2a07, 0xc286_40df),
    ];

    #[test]
    fn portable_tokens_have_the_same_bits_on_every_cpu() {
        // Computed once and written down: any CPU, any build, must give exactly these bits.
        let mut a = Analyzer::new(2048, Window::Hann, 48000, Transform::Portable).unwrap();
        let got: Vec<(u32, u32, u32)> = top(&mut a, &pinned_input(), 4)
            .iter()
            .map(|p| (p.bin, p.frequency.to_bits(), p.magnitude.to_bits()))
            .collect();
        assert_eq!(got, PINNED, "{got:#x?}");
    }

    #[test]
    fn native_and_portable_agree_but_for_rounding() {
        let s = pinned_input();
        let mut n = Analyzer::new(2048, Window::Hann, 48000, Transform::Native).unwrap();
        let mut p = Analyzer::new(2048, Window::Hann, 48000, Transform::Portable).unwrap();
        let (a, b) = (top(&mut n, &s, 4), top(&mut p, &s, 4));
        assert_eq!(a.len(), 4);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.bin, y.bin);
            assert!((x.frequency - y.frequency).abs() < 1e-3, "{x:?} {y:?}");
            assert!((x.magnitude - y.magnitude).abs() < 1e-3, "{x:?} {y:?}");
        }
    }
}
