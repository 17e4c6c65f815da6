//! The binary layout of one token frame (docs/TOKENS.md): what `h4fftfilter` puts in each
//! buffer of its `tokens` pad, and what a consumer of a stored token track reads back.

use super::{Error, Peak};

pub const MAGIC: &[u8; 4] = b"H4TK";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 32;
pub const SECTION_HEADER_LEN: usize = 4;
pub const PEAK_LEN: usize = 12;
/// `Section::channel` of the mix of all channels.
pub const MIX: u16 = 0xFFFF;
/// Header flag: the frame ran past the end of the stream and was zero-padded.
pub const FLAG_PADDED: u8 = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct TokenFrame {
    pub flags: u8,
    pub frame_size: u32,
    pub hop: u32,
    pub rate: u32,
    /// Real samples in the frame: `frame_size` unless padded.
    pub valid: u32,
    /// Index of the frame's first sample since the last discontinuity.
    pub first_sample: u64,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Channel index, or `MIX`.
    pub channel: u16,
    /// Strongest first.
    pub peaks: Vec<Peak>,
}

impl TokenFrame {
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self
                .sections
                .iter()
                .map(|s| SECTION_HEADER_LEN + s.peaks.len() * PEAK_LEN)
                .sum::<usize>()
    }

    /// Appends the encoded frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(self.flags);
        out.extend_from_slice(&(self.sections.len() as u16).to_le_bytes());
        for v in [self.frame_size, self.rate, self.valid, self.hop] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.first_sample.to_le_bytes());
        for s in &self.sections {
            out.extend_from_slice(&s.channel.to_le_bytes());
            out.extend_from_slice(&(s.peaks.len() as u16).to_le_bytes());
            for p in &s.peaks {
                out.extend_from_slice(&p.bin.to_le_bytes());
                out.extend_from_slice(&p.frequency.to_le_bytes());
                out.extend_from_slice(&p.magnitude.to_le_bytes());
            }
        }
    }

    /// Decodes one frame; the bytes must hold exactly one.
    pub fn decode(b: &[u8]) -> Result<TokenFrame, Error> {
        let bad = |why: String| Error::Malformed(why);
        if b.len() < HEADER_LEN {
            return Err(bad(format!("{} bytes, shorter than the header", b.len())));
        }
        if &b[..4] != MAGIC {
            return Err(bad("no H4TK magic".into()));
        }
        if b[4] != VERSION {
            return Err(bad(format!(
                "version {} (this reader knows {VERSION})",
                b[4]
            )));
        }
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let f32_at = |o: usize| f32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let sections = u16_at(6) as usize;
        let mut frame = TokenFrame {
            flags: b[5],
            frame_size: u32_at(8),
            rate: u32_at(12),
            valid: u32_at(16),
            hop: u32_at(20),
            first_sample: u64::from_le_bytes(b[24..32].try_into().expect("8 bytes")),
            sections: Vec::with_capacity(sections.min(256)),
        };
        let bins = frame.frame_size / 2 + 1;
        let mut at = HEADER_LEN;
        for i in 0..sections {
            if b.len() < at + SECTION_HEADER_LEN {
                return Err(bad(format!("section {i} cut short at byte {at}")));
            }
            let channel = u16_at(at);
            let count = u16_at(at + 2) as usize;
            at += SECTION_HEADER_LEN;
            if b.len() < at + count * PEAK_LEN {
                return Err(bad(format!("section {i}: {count} peaks do not fit")));
            }
            let mut peaks = Vec::with_capacity(count);
            for _ in 0..count {
                let p = Peak {
                    bin: u32_at(at),
                    frequency: f32_at(at + 4),
                    magnitude: f32_at(at + 8),
                };
                if p.bin >= bins {
                    return Err(bad(format!(
                        "section {i}: bin {} beyond {bins} bins",
                        p.bin
                    )));
                }
                peaks.push(p);
                at += PEAK_LEN;
            }
            frame.sections.push(Section { channel, peaks });
        }
        if at != b.len() {
            return Err(bad(format!(
                "{} bytes after the last section",
                b.len() - at
            )));
        }
        Ok(frame)
    }
}

/// Token frames for the unit tests of the crate.
#[cfg(test)]
pub mod fixture {
    use super::{Section, TokenFrame};
    use crate::fft::Peak;

    /// A frame of 2048 samples at 48 kHz, hop `hop`, with these sections: (channel, peaks as
    /// (frequency, level in dB), strongest first).
    pub fn frame(hop: u32, sections: &[(u16, &[(f32, f32)])]) -> TokenFrame {
        TokenFrame {
            flags: 0,
            frame_size: 2048,
            hop,
            rate: 48000,
            valid: 2048,
            first_sample: 0,
            sections: sections
                .iter()
                .map(|(channel, peaks)| Section {
                    channel: *channel,
                    peaks: peaks
                        .iter()
                        .map(|&(frequency, magnitude)| Peak {
                            bin: (frequency / 48000.0 * 2048.0) as u32,
                            frequency,
                            magnitude,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenFrame {
        TokenFrame {
            flags: FLAG_PADDED,
            frame_size: 2048,
            hop: 1024,
            rate: 48000,
            valid: 700,
            first_sample: 5 * 1024,
            sections: vec![
                Section {
                    channel: 0,
                    peaks: vec![
                        Peak {
                            bin: 19,
                            frequency: 440.1,
                            magnitude: -6.5,
                        },
                        Peak {
                            bin: 43,
                            frequency: 1000.0,
                            magnitude: -20.25,
                        },
                    ],
                },
                Section {
                    channel: 1,
                    peaks: vec![],
                },
            ],
        }
    }

    #[test]
    fn layout_is_fixed() {
        let mut b = Vec::new();
        sample().encode(&mut b);
        assert_eq!(b.len(), 32 + 4 + 24 + 4);
        assert_eq!(b.len(), sample().encoded_len());
        assert_eq!(&b[..8], b"H4TK\x01\x01\x02\x00");
        assert_eq!(&b[8..12], &2048u32.to_le_bytes());
        assert_eq!(&b[16..20], &700u32.to_le_bytes());
        assert_eq!(&b[24..32], &5120u64.to_le_bytes());
        assert_eq!(&b[32..36], &[0, 0, 2, 0]);
        assert_eq!(&b[36..40], &19u32.to_le_bytes());
        assert_eq!(&b[40..44], &440.1f32.to_le_bytes());
        assert_eq!(TokenFrame::decode(&b).unwrap(), sample());
    }

    #[test]
    fn malformed_frames_are_named() {
        let mut b = Vec::new();
        sample().encode(&mut b);
        for cut in 0..b.len() {
            assert!(TokenFrame::decode(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert_eq!(
            TokenFrame::decode(&extra).unwrap_err().to_string(),
            "malformed token frame: 1 bytes after the last section"
        );
        let mut v = b.clone();
        v[4] = 2;
        assert!(
            TokenFrame::decode(&v)
                .unwrap_err()
                .to_string()
                .contains("version 2")
        );
        let mut bin = b.clone();
        bin[36..40].copy_from_slice(&5000u32.to_le_bytes());
        assert!(
            TokenFrame::decode(&bin)
                .unwrap_err()
                .to_string()
                .contains("bin 5000")
        );
    }
}
