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
}

/// Converts the complete sample frames of `bytes` (`channels` interleaved samples each) into
/// `out`: one value per frame (the channels' mean) when `mix`, else `channels` values. `out`
/// must hold exactly that many values.
pub fn to_f32(bytes: &[u8], format: SampleFormat, channels: usize, mix: bool, out: &mut [f32]) {
    match format {
        SampleFormat::S16le => convert::<2>(bytes, channels, mix, out, |b| {
            f32::from(i16::from_le_bytes(b)) * (1.0 / 32768.0)
        }),
        SampleFormat::S32le => convert::<4>(bytes, channels, mix, out, |b| {
            i32::from_le_bytes(b) as f32 * (1.0 / 2_147_483_648.0)
        }),
        SampleFormat::F32le => convert::<4>(bytes, channels, mix, out, f32::from_le_bytes),
        SampleFormat::F64le => {
            convert::<8>(bytes, channels, mix, out, |b| f64::from_le_bytes(b) as f32)
        }
    }
}

/// `to_f32` for samples of `W` bytes read by `read` (one monomorphic loop per format).
fn convert<const W: usize>(
    bytes: &[u8],
    channels: usize,
    mix: bool,
    out: &mut [f32],
    read: impl Fn([u8; W]) -> f32 + Copy,
) {
    if !mix || channels == 1 {
        debug_assert_eq!(out.len(), bytes.len() / W);
        for (o, c) in out.iter_mut().zip(bytes.chunks_exact(W)) {
            *o = read(c.try_into().expect("W bytes"));
        }
        return;
    }
    // Each arm inlines `mean` with a constant channel count (vector code for the usual
    // layouts); the sum is in channel order in every arm, so the bits do not depend on it.
    match channels {
        2 => mean(bytes, 2, out, read),
        4 => mean(bytes, 4, out, read),
        6 => mean(bytes, 6, out, read),
        8 => mean(bytes, 8, out, read),
        n => mean(bytes, n, out, read),
    }
}

/// The mean of each frame of `channels` interleaved samples, summed in channel order.
#[inline(always)]
fn mean<const W: usize>(
    bytes: &[u8],
    channels: usize,
    out: &mut [f32],
    read: impl Fn([u8; W]) -> f32,
) {
    debug_assert_eq!(out.len(), bytes.len() / (W * channels));
    let scale = 1.0 / channels as f32;
    for (o, frame) in out.iter_mut().zip(bytes.chunks_exact(W * channels)) {
        let mut sum = 0.0;
        for c in frame.chunks_exact(W) {
            sum += read(c.try_into().expect("W bytes"));
        }
        *o = sum * scale;
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

        // Every channel count mixes to the mean in channel order, in the loops specialised
        // for it and in the general one.
        for channels in 1..=8usize {
            let values: Vec<i16> = (0..channels * 5)
                .map(|i| ((i as i32 * 977) % 60_000 - 30_000) as i16)
                .collect();
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let mut mixed = vec![0f32; 5];
            to_f32(&bytes, SampleFormat::S16le, channels, true, &mut mixed);
            for (frame, got) in values.chunks(channels).zip(&mixed) {
                let mut sum = 0.0f32;
                for v in frame {
                    sum += f32::from(*v) * (1.0 / 32768.0);
                }
                assert_eq!(*got, sum * (1.0 / channels as f32), "{channels} channels");
            }
        }

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
