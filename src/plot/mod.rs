//! Pictures of what a file holds (no GStreamer), drawn with plotters and written as PNG: the
//! block timeline of `h4mk inspect --plot` and the spectrogram of an FFT token track.
//!
//! Text is set in DejaVu Sans, bundled (`assets/fonts`), so a picture looks the same on every
//! machine and drawing needs no system fonts. The same input gives the same PNG bytes.

pub mod spectrogram;
pub mod timeline;

use std::io::Write;
use std::ops::Range;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

/// The family name the pictures ask plotters for.
const SANS: &str = "sans-serif";
const SANS_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

pub type Error = Box<dyn std::error::Error>;

/// The plotting backend every picture draws on.
pub type Canvas<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        plotters::style::register_font(SANS, FontStyle::Normal, SANS_TTF)
            .unwrap_or_else(|_| panic!("the bundled DejaVu Sans does not parse"));
    });
}

/// `size` points of the bundled sans-serif in `colour`.
pub fn text_style(size: u32, colour: RGBColor) -> TextStyle<'static> {
    register_font();
    TextStyle {
        color: colour.to_backend_color(),
        ..TextStyle::from((SANS, size).into_font())
    }
}

/// The pixel ranges of a picture's data area (the chart inside its axes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotArea {
    pub x: Range<i32>,
    pub y: Range<i32>,
}

impl PlotArea {
    /// The column of `v` on an axis running linearly from `start` to `end`.
    pub fn column(&self, v: f64, start: f64, end: f64) -> i32 {
        let span = (self.x.end - self.x.start - 1) as f64;
        self.x.start + ((v - start) / (end - start) * span).round() as i32
    }
}

/// An 8-bit RGB picture and where its data lies. (plotters fills a rectangle from its first
/// corner up to, not including, its second.)
pub struct Picture {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    plot: PlotArea,
}

impl Picture {
    /// Draws a `width` x `height` picture on a white background; `draw` returns where it put
    /// the data.
    pub fn draw(
        width: u32,
        height: u32,
        draw: impl FnOnce(&Canvas) -> Result<PlotArea, Error>,
    ) -> Result<Picture, Error> {
        register_font();
        let mut pixels = vec![0u8; width as usize * height as usize * 3];
        let plot = {
            let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
            root.fill(&WHITE)?;
            let plot = draw(&root)?;
            root.present()?;
            plot
        };
        Ok(Picture {
            width,
            height,
            pixels,
            plot,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn plot_area(&self) -> &PlotArea {
        &self.plot
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
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

/// A step of 1, 2 or 5 times a power of ten that cuts `span` into at most `most` parts.
pub fn round_step(span: f64, most: usize) -> f64 {
    let mut step = 10f64.powi((span / most as f64).log10().floor() as i32);
    for m in [1.0, 2.0, 5.0, 10.0] {
        if span / (step * m) <= most as f64 {
            step *= m;
            break;
        }
    }
    step
}

/// A time in seconds as an axis label, with the precision `step` needs: `H:MM:SS`, `M:SS`,
/// or seconds (`1.5 s`).
pub fn time_label(seconds: f64, step: f64) -> String {
    if step >= 1.0 && seconds >= 60.0 {
        let s = seconds.round() as u64;
        if s >= 3600 {
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        } else {
            format!("{}:{:02}", s / 60, s % 60)
        }
    } else {
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        format!("{seconds:.decimals$} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_decodes_to_the_same_pixels_and_text_is_drawn() {
        let picture = Picture::draw(120, 40, |c| {
            c.draw(&Rectangle::new(
                [(2, 1), (5, 3)],
                RGBColor(200, 100, 50).filled(),
            ))?;
            c.draw(&Text::new("H4", (60, 10), text_style(20, BLACK)))?;
            Ok(PlotArea {
                x: 0..120,
                y: 0..40,
            })
        })
        .unwrap();
        assert_eq!(picture.pixel(3, 2), [200, 100, 50]);
        assert_eq!(picture.pixel(100, 35), [255, 255, 255]);
        // The glyphs darken pixels where they were set, and nowhere else.
        let dark = |x0: u32, x1: u32| {
            (x0..x1)
                .flat_map(|x| (0..40).map(move |y| (x, y)))
                .filter(|&(x, y)| picture.pixel(x, y)[0] < 128)
                .count()
        };
        assert!(dark(60, 100) > 40, "{}", dark(60, 100));
        assert_eq!(dark(10, 55), 0);

        let mut bytes = Vec::new();
        picture.write_png(&mut bytes).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (120, 40));
        assert_eq!(&buf[..info.buffer_size()], &picture.pixels[..]);
    }

    #[test]
    fn axis_steps_and_labels_are_round() {
        assert_eq!(round_step(10.0, 10), 1.0);
        assert_eq!(round_step(13.0, 10), 2.0);
        assert_eq!(round_step(3600.0, 12), 500.0);
        assert_eq!(round_step(0.9, 10), 0.1);
        assert_eq!(time_label(90.0, 10.0), "1:30");
        assert_eq!(time_label(3723.0, 60.0), "1:02:03");
        assert_eq!(time_label(1.5, 0.5), "1.5 s");
        assert_eq!(time_label(4.0, 1.0), "4 s");
        assert_eq!(time_label(0.25, 0.05), "0.25 s");
    }
}
