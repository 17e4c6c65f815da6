//! What a line of text says about the token frames of one interval (no GStreamer): per
//! section (channel), the strongest distinct peaks heard in any of its frames.

use crate::fft::Peak;
use crate::fft::tokens::{MIX, TokenFrame};

/// Peaks per section shown on a line.
pub const SHOWN_PEAKS: usize = 3;

/// Peaks closer than this ratio of frequencies count as one tone (a tone held across frames,
/// or moving by less than a quarter tone).
const SAME_TONE: f32 = 1.03;

/// The token frames of one interval, gathered into one line.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Per section, in the order the frames give them: its channel and its strongest peaks.
    sections: Vec<(u16, Vec<Peak>)>,
    frames: usize,
}

impl Gathered {
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    pub fn add(&mut self, frame: &TokenFrame) {
        self.frames += 1;
        for s in &frame.sections {
            let at = match self.sections.iter().position(|(c, _)| *c == s.channel) {
                Some(at) => at,
                None => {
                    self.sections.push((s.channel, Vec::new()));
                    self.sections.len() - 1
                }
            };
            let kept = &mut self.sections[at].1;
            for p in &s.peaks {
                let same = kept.iter_mut().find(|k| {
                    let (lo, hi) = if k.frequency < p.frequency {
                        (k.frequency, p.frequency)
                    } else {
                        (p.frequency, k.frequency)
                    };
                    hi <= lo * SAME_TONE
                });
                match same {
                    Some(k) if p.magnitude > k.magnitude => *k = *p,
                    Some(_) => {}
                    None => kept.push(*p),
                }
            }
            // Strongest first; equal levels by the lower frequency, so the line is the same on
            // every run.
            kept.sort_by(|a, b| {
                b.magnitude
                    .total_cmp(&a.magnitude)
                    .then(a.frequency.total_cmp(&b.frequency))
            });
            kept.truncate(SHOWN_PEAKS);
        }
    }

    /// The line (`mix: 440 Hz -2 dB, 880 Hz -20 dB | ch1: quiet`), and the gathering emptied.
    pub fn take_line(&mut self) -> String {
        let line = self
            .sections
            .iter()
            .map(|(channel, peaks)| {
                let who = match *channel {
                    MIX => "mix".to_string(),
                    c => format!("ch{c}"),
                };
                if peaks.is_empty() {
                    format!("{who}: quiet")
                } else {
                    let peaks: Vec<String> = peaks
                        .iter()
                        .map(|p| format!("{:.0} Hz {:.0} dB", p.frequency, p.magnitude))
                        .collect();
                    format!("{who}: {}", peaks.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(" | ");
        *self = Gathered::default();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(sections: &[(u16, &[(f32, f32)])]) -> TokenFrame {
        crate::fft::tokens::fixture::frame(1024, sections)
    }

    #[test]
    fn one_frame_gives_its_strongest_peaks() {
        let mut g = Gathered::default();
        assert!(g.is_empty());
        g.add(&frame(&[(
            MIX,
            &[
                (440.0, -2.0),
                (880.0, -20.0),
                (1320.0, -30.0),
                (1760.0, -40.0),
            ],
        )]));
        assert!(!g.is_empty());
        assert_eq!(
            g.take_line(),
            "mix: 440 Hz -2 dB, 880 Hz -20 dB, 1320 Hz -30 dB"
        );
        assert!(g.is_empty());
        assert_eq!(g.take_line(), "");
    }

    #[test]
    fn a_held_tone_counts_once_at_its_loudest_and_channels_stay_apart() {
        let mut g = Gathered::default();
        g.add(&frame(&[(0, &[(440.0, -10.0)]), (1, &[])]));
        g.add(&frame(&[(0, &[(441.5, -3.0), (300.0, -12.0)]), (1, &[])]));
        g.add(&frame(&[(0, &[(439.0, -6.0), (2000.0, -50.0)]), (1, &[])]));
        assert_eq!(
            g.take_line(),
            "ch0: 442 Hz -3 dB, 300 Hz -12 dB, 2000 Hz -50 dB | ch1: quiet"
        );
    }

    #[test]
    fn the_line_does_not_depend_on_the_order_of_equal_levels() {
        let mut a = Gathered::default();
        a.add(&frame(&[(MIX, &[(300.0, -6.0), (200.0, -6.0)])]));
        let mut b = Gathered::default();
        b.add(&frame(&[(MIX, &[(200.0, -6.0), (300.0, -6.0)])]));
        assert_eq!(a.take_line(), b.take_line());
    }
}
