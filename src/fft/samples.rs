//! Interleaved PCM in the formats `h4fftfilter` accepts, converted to f32 for analysis: either
//! the mean of all channels or every channel kept.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    S16le,
    S32le,
    F32le,
    F64le,
}

impl SampleFormat {
    pub fn bytes(self) -> usize {
        match self {
            SampleFormat::S16le => 2,
            SampleFormat::S32le | SampleFormat::F32le => 4,
            SampleFormat::F64le => 8,
        }
    }

    fn read(self, b: &[u8]) -> f32 {
        match self {
            SampleFormat::S16le => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
            SampleFormat::S32le => {
                (f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])) / 2_147_483_648.0) as f32
            }
            SampleFormat::F32le => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            SampleFormat::F64le => f64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as f32,
        }
    }
}

/// Converts the complete sample frames of `bytes` (`channels` interleaved samples each) into
/// `out`: one value per frame (the channels' mean) when `mix`, else `channels` values. `out`
/// must hold exactly that many values.
pub fn to_f32(bytes: &[u8], format: SampleFormat, channels: usize, mix: bool, out: &mut [f32]) {
    let step = format.bytes();
    let frame_bytes = step * channels;
    let frames = bytes.chunks_exact(frame_bytes);
    if mix {
        debug_assert_eq!(out.len(), bytes.len() / frame_bytes);
        let scale = 1.0 / channels as f32;
        for (o, frame) in out.iter_mut().zip(frames) {
            let sum: f32 = frame.chunks_exact(step).map(|s| format.read(s)).sum();
            *o = if channels == 1 { sum } else { sum * scale };
        }
    } else {
        debug_assert_eq!(out.len(), bytes.len() / frame_bytes * channels);
        for (o, s) in out.iter_mut().zip(bytes.chunks_exact(step)) {
            *o = format.read(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_mixing() {
        let s16: Vec<u8> = [16384i16, -32768, 0, 32767]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut out = [0f32; 4];
        to_f32(&s16, SampleFormat::S16le, 2, false, &mut out);
        assert_eq!(out, [0.5, -1.0, 0.0, 32767.0 / 32768.0]);
        let mut mixed = [0f32; 2];
        to_f32(&s16, SampleFormat::S16le, 2, true, &mut mixed);
        assert_eq!(mixed[0], -0.25);

        let s32: Vec<u8> = [i32::MIN, 1 << 30]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut out = [0f32; 2];
        to_f32(&s32, SampleFormat::S32le, 1, true, &mut out);
        assert_eq!(out, [-1.0, 0.5]);

        let f32b: Vec<u8> = [0.25f32, 0.75]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut out = [0f32; 1];
        to_f32(&f32b, SampleFormat::F32le, 2, true, &mut out);
        assert_eq!(out, [0.5]);

        let f64b: Vec<u8> = [0.125f64].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut out = [0f32; 1];
        to_f32(&f64b, SampleFormat::F64le, 1, false, &mut out);
        assert_eq!(out, [0.125]);
    }
}
