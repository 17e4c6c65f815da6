//! Analysis windows, periodic (DFT-even) form.

use std::f64::consts::PI;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    #[default]
    Hann,
    Hamming,
    /// 4-term Blackman-Harris (sidelobes below -92 dB).
    BlackmanHarris,
    Rectangular,
}

impl Window {
    /// The window's `n` coefficients.
    pub fn coefficients(self, n: usize) -> Vec<f32> {
        let cosines = |a: &[f64]| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let x = 2.0 * PI * i as f64 / n as f64;
                    let v: f64 = a
                        .iter()
                        .enumerate()
                        .map(|(k, c)| {
                            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
                            sign * c * (k as f64 * x).cos()
                        })
                        .sum();
                    v as f32
                })
                .collect()
        };
        match self {
            Window::Hann => cosines(&[0.5, 0.5]),
            Window::Hamming => cosines(&[0.54, 0.46]),
            Window::BlackmanHarris => cosines(&[0.35875, 0.48829, 0.14128, 0.01168]),
            Window::Rectangular => vec![1.0; n],
        }
    }

    /// The stable name used in properties, caps and docs.
    pub fn name(self) -> &'static str {
        match self {
            Window::Hann => "hann",
            Window::Hamming => "hamming",
            Window::BlackmanHarris => "blackman-harris",
            Window::Rectangular => "rectangular",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let h = Window::Hann.coefficients(8);
        assert_eq!(h[0], 0.0);
        assert!((h[4] - 1.0).abs() < 1e-7);
        // Periodic: symmetric around n/2, not around (n-1)/2.
        assert!((h[1] - h[7]).abs() < 1e-7);
        let m = Window::Hamming.coefficients(8);
        assert!((m[0] - 0.08).abs() < 1e-7);
        let b = Window::BlackmanHarris.coefficients(8);
        assert!((b[0] - 0.00006).abs() < 1e-6);
        assert!((b[4] - 1.0).abs() < 1e-6);
        assert_eq!(Window::Rectangular.coefficients(3), vec![1.0; 3]);
    }
}
