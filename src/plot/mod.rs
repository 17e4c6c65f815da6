//! Pictures of what a file holds (no GStreamer): an RGB canvas with rectangles and bitmap
//! text, written as PNG; the block timeline of `h4mk inspect --plot`; a colour scale for
//! spectrograms.

mod font;
pub mod timeline;

use std::io::Write;

pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];

/// An RGB picture. Drawing outside it is clipped.
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32, background: Rgb) -> Canvas {
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
        for _ in 0..width as usize * height as usize {
            pixels.extend_from_slice(&background);
        }
        Canvas {
            width,
            height,
            pixels,
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn pixel(&self, x: u32, y: u32) -> Rgb {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Fills the rectangle at (`x`, `y`) of `w` by `h` pixels.
    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, colour: Rgb) {
        let x0 = x.clamp(0, self.width as i64) as usize;
        let x1 = (x + w).clamp(0, self.width as i64) as usize;
        let y0 = y.clamp(0, self.height as i64) as usize;
        let y1 = (y + h).clamp(0, self.height as i64) as usize;
        for row in y0..y1 {
            let start = (row * self.width as usize + x0) * 3;
            let end = (row * self.width as usize + x1) * 3;
            for px in self.pixels[start..end].chunks_exact_mut(3) {
                px.copy_from_slice(&colour);
            }
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    pub fn text_width(text: &str, scale: u32) -> i64 {
        let n = text.chars().count() as i64;
        (n * (font::WIDTH as i64 + 1) - 1).max(0) * scale as i64
    }

    /// Height in pixels of a line of text at `scale`.
    pub fn text_height(scale: u32) -> i64 {
        (font::HEIGHT * scale) as i64
    }

    /// Draws `text` with its top left corner at (`x`, `y`); returns the width drawn.
    pub fn text(&mut self, x: i64, y: i64, text: &str, colour: Rgb, scale: u32) -> i64 {
        let s = scale as i64;
        let mut cx = x;
        for c in text.chars() {
            for (row, bits) in font::glyph(c).iter().enumerate() {
                for col in 0..font::WIDTH {
                    if bits & (0x10 >> col) != 0 {
                        self.fill(cx + col as i64 * s, y + row as i64 * s, s, s, colour);
                    }
                }
            }
            cx += (font::WIDTH as i64 + 1) * s;
        }
        Self::text_width(text, scale)
    }

    /// Writes the picture as an 8-bit RGB PNG.
    pub fn write_png(&self, out: impl Write) -> std::io::Result<()> {
        let mut encoder = png::Encoder::new(out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer
            .write_image_data(&self.pixels)
            .map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    }
}

/// A perceptually ordered colour for `v` in 0..=1: black through purple, red and orange to
/// pale yellow (after the "inferno" scale), for intensities such as magnitudes in a
/// spectrogram.
pub fn heat(v: f32) -> Rgb {
    const STOPS: [Rgb; 6] = [
        [0, 0, 4],
        [66, 10, 104],
        [147, 38, 103],
        [221, 81, 58],
        [252, 165, 10],
        [252, 255, 164],
    ];
    let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    let pos = v * (STOPS.len() - 1) as f32;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let t = pos - i as f32;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    std::array::from_fn(|k| (a[k] as f32 + (b[k] as f32 - a[k] as f32) * t).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lights_the_glyph_pixels_and_nothing_outside() {
        let mut c = Canvas::new(40, 20, WHITE);
        let w = c.text(1, 1, "1", BLACK, 2);
        assert_eq!(w, 10);
        // The "1" has its foot (0x0E: three pixels) on the last row, at columns 1..4.
        assert_eq!(c.pixel(1 + 2 * 2, 1 + 6 * 2), BLACK);
        assert_eq!(c.pixel(1, 1 + 6 * 2), WHITE);
        assert_eq!(c.pixel(30, 10), WHITE);
    }

    #[test]
    fn fill_is_clipped_to_the_canvas() {
        let mut c = Canvas::new(4, 4, WHITE);
        c.fill(-2, 2, 10, 10, BLACK);
        assert_eq!(c.pixel(0, 2), BLACK);
        assert_eq!(c.pixel(3, 3), BLACK);
        assert_eq!(c.pixel(3, 1), WHITE);
    }

    #[test]
    fn png_decodes_to_the_same_pixels() {
        let mut c = Canvas::new(7, 5, [10, 20, 30]);
        c.fill(2, 1, 3, 2, [200, 100, 50]);
        let mut bytes = Vec::new();
        c.write_png(&mut bytes).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (7, 5));
        assert_eq!(&buf[..info.buffer_size()], &c.pixels[..]);
    }

    #[test]
    fn heat_runs_from_dark_to_light() {
        let luma = |c: Rgb| c[0] as u32 * 3 + c[1] as u32 * 6 + c[2] as u32;
        let steps: Vec<u32> = (0..=10).map(|i| luma(heat(i as f32 / 10.0))).collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
        assert_eq!(heat(f32::NAN), heat(0.0));
        assert_eq!(heat(2.0), heat(1.0));
    }
}
