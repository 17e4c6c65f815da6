//! An FFT token track as a spectrogram: time across, frequency up on a log scale, every peak
//! a short bar as long as its frame's hop, coloured by its level in dB on a scale drawn beside
//! it. Tokens hold only the strongest peaks of each frame, so what is not a peak stays dark.

use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

use super::{Error, Picture, PlotArea, round_step, text_style, time_label};
use crate::fft::tokens::TokenFrame;

pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 600;
/// Frequencies below this are drawn on the bottom edge.
const LOW_HZ: f64 = 50.0;
/// The widest range of levels the colour scale shows; quieter peaks take its bottom colour.
const RANGE_DB: f64 = 80.0;
/// Where nothing was found.
const EMPTY: RGBColor = RGBColor(12, 8, 24);
/// Height of a peak's bar, in pixels.
const BAR: f64 = 3.0;

/// One frame of tokens at its presentation time (ns).
pub struct Frame {
    pub time: u64,
    pub tokens: TokenFrame,
}

/// Peaks in all the frames, of every section.
pub fn peak_count(frames: &[Frame]) -> usize {
    frames
        .iter()
        .flat_map(|f| f.tokens.sections.iter())
        .map(|s| s.peaks.len())
        .sum()
}

/// The colour scale's range in dB: from the loudest peak, rounded up to 10 dB, down to the
/// quietest, rounded down, at most `RANGE_DB` below.
fn level_range(frames: &[Frame]) -> (f64, f64) {
    let levels = frames
        .iter()
        .flat_map(|f| f.tokens.sections.iter().flat_map(|s| s.peaks.iter()))
        .map(|p| p.magnitude as f64)
        .filter(|m| m.is_finite());
    let (lo, hi) = levels.fold((f64::MAX, f64::MIN), |(lo, hi), m| (lo.min(m), hi.max(m)));
    if lo > hi {
        return (-RANGE_DB, 0.0);
    }
    let top = (hi / 10.0).ceil() * 10.0;
    let bottom = ((lo / 10.0).floor() * 10.0)
        .max(top - RANGE_DB)
        .min(top - 10.0);
    (bottom, top)
}

/// Draws `frames` (in time order) under the title `title`.
pub fn render(title: &str, frames: &[Frame]) -> Result<Picture, Error> {
    let first = frames.first().ok_or("no token frames to draw")?;
    let rate = first.tokens.rate.max(1) as f64;
    let hop = first.tokens.hop.max(1) as f64 / rate;
    let nyquist = rate / 2.0;
    let start = first.time as f64 / 1e9;
    let end = frames.last().map_or(start, |f| f.time as f64 / 1e9 + hop);
    let (lo, hi) = level_range(frames);
    let peaks = peak_count(frames);
    let subtitle = format!(
        "{} token frames, {} peaks; {} Hz, hop {:.1} ms",
        frames.len(),
        peaks,
        first.tokens.rate,
        hop * 1e3
    );

    Picture::draw(WIDTH, HEIGHT, |root| {
        let body = root.titled(title, text_style(24, BLACK))?;
        let (head, body) = body.split_vertically(26);
        head.draw(&Text::new(
            subtitle,
            (14, 2),
            text_style(15, RGBColor(90, 90, 90)),
        ))?;
        let (main, scale) = body.split_horizontally(WIDTH - 130);

        let steps = round_step(end - start, 12);
        let hz_ticks: Vec<f64> = [50.0, 100.0, 200.0, 500.0, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5]
            .into_iter()
            .filter(|&f| (LOW_HZ..=nyquist).contains(&f))
            .collect();
        let mut chart = ChartBuilder::on(&main)
            .margin_left(14)
            .margin_right(10)
            .margin_bottom(8)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(
                start..end,
                (LOW_HZ..nyquist).log_scale().with_key_points(hz_ticks),
            )?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(((end - start) / steps) as usize + 1)
            .x_label_formatter(&|t| time_label(*t, steps))
            .y_label_formatter(&|hz| {
                if *hz >= 1000.0 {
                    format!("{}k", hz / 1000.0)
                } else {
                    format!("{hz}")
                }
            })
            .x_desc("stream time")
            .y_desc("frequency (Hz)")
            .label_style(text_style(15, BLACK))
            .axis_desc_style(text_style(16, BLACK))
            .draw()?;
        chart.plotting_area().fill(&EMPTY)?;

        let (xs, ys) = chart.plotting_area().get_pixel_range();
        // A bar BAR pixels high whatever the frequency: a fixed ratio on the log axis.
        let half = (nyquist / LOW_HZ).powf(BAR / 2.0 / (ys.end - ys.start).max(1) as f64);
        let mut bars: Vec<(f64, f64, f64)> = frames
            .iter()
            .flat_map(|f| {
                let t = f.time as f64 / 1e9;
                f.tokens
                    .sections
                    .iter()
                    .flat_map(|s| s.peaks.iter())
                    .map(move |p| (t, p.frequency as f64, p.magnitude as f64))
            })
            .filter(|(_, hz, db)| hz.is_finite() && db.is_finite())
            .collect();
        // Loud peaks last, on top.
        bars.sort_by(|a, b| a.2.total_cmp(&b.2));
        chart.draw_series(bars.into_iter().map(|(t, hz, db)| {
            let hz = hz.clamp(LOW_HZ, nyquist);
            Rectangle::new(
                [(t, hz / half), (t + hop, hz * half)],
                ViridisRGB
                    .get_color_normalized(db.clamp(lo, hi), lo, hi)
                    .filled(),
            )
        }))?;

        // The colour scale.
        let mut bar = ChartBuilder::on(&scale)
            .margin_top(8)
            .margin_bottom(8 + 48)
            .margin_right(58)
            .y_label_area_size(0)
            .right_y_label_area_size(50)
            .build_cartesian_2d(0.0..1.0, lo..hi)?;
        bar.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(((hi - lo) / 10.0) as usize + 1)
            .y_label_formatter(&|db| format!("{db:.0}"))
            .y_desc("peak level (dBFS)")
            .label_style(text_style(15, BLACK))
            .axis_desc_style(text_style(16, BLACK))
            .draw()?;
        let rows = 200;
        bar.draw_series((0..rows).map(|i| {
            let a = lo + (hi - lo) * i as f64 / rows as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / rows as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                ViridisRGB.get_color_normalized(a, lo, hi).filled(),
            )
        }))?;
        Ok(PlotArea { x: xs, y: ys })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fft::tokens::MIX;
    use crate::fft::tokens::fixture;

    fn frame(i: u64, peaks: &[(f32, f32)]) -> Frame {
        Frame {
            time: i * 20_000_000,
            tokens: fixture::frame(960, &[(MIX, peaks)]),
        }
    }

    /// The row of `hz` on the picture's log axis.
    fn row(p: &Picture, hz: f64) -> u32 {
        let a = p.plot_area();
        let v = (hz / LOW_HZ).ln() / (24000.0 / LOW_HZ).ln();
        (a.y.end as f64 - 1.0 - v * (a.y.end - a.y.start - 1) as f64).round() as u32
    }

    #[test]
    fn peaks_land_at_their_time_and_frequency_coloured_by_level() {
        // 100 frames (2 s): a loud 1 kHz tone throughout, a quiet 300 Hz one in the second half.
        let frames: Vec<Frame> = (0..100)
            .map(|i| {
                if i < 50 {
                    frame(i, &[(1000.0, -6.0)])
                } else {
                    frame(i, &[(1000.0, -6.0), (300.0, -60.0)])
                }
            })
            .collect();
        assert_eq!(level_range(&frames), (-60.0, 0.0));
        let p = render("test", &frames).unwrap();
        assert_eq!((p.width(), p.height()), (WIDTH, HEIGHT));
        let a = p.plot_area().clone();
        let x_at = |t: f64| a.column(t, 0.0, 2.0) as u32;
        let loud = ViridisRGB.get_color_normalized(-6.0, -60.0, 0.0);
        let quiet = ViridisRGB.get_color_normalized(-60.0, -60.0, 0.0);
        let at = |x: u32, y: u32| {
            let [r, g, b] = p.pixel(x, y);
            RGBColor(r, g, b)
        };
        for t in [0.1, 0.5, 1.5, 1.9] {
            assert_eq!(at(x_at(t), row(&p, 1000.0)), loud, "1 kHz at {t} s");
        }
        assert_eq!(at(x_at(0.5), row(&p, 300.0)), EMPTY);
        assert_eq!(at(x_at(1.5), row(&p, 300.0)), quiet);
        // Between the two tones, nothing.
        assert_eq!(at(x_at(1.5), row(&p, 550.0)), EMPTY);
        // The colour scale beside the chart runs from the quiet colour up to the loud one.
        let scale_x = (WIDTH - 130..WIDTH)
            .find(|&x| at(x, HEIGHT / 2) != RGBColor(255, 255, 255))
            .expect("a colour scale");
        let column: Vec<(u32, RGBColor)> = (0..HEIGHT)
            .map(|y| (y, at(scale_x + 4, y)))
            // The scale's colours, not white paper or grey text.
            .filter(|(_, c)| (c.0 as i32 - c.1 as i32).abs() + (c.1 as i32 - c.2 as i32).abs() > 20)
            .collect();
        let (top_row, top) = column[0];
        let (bottom_row, bottom) = column[column.len() - 1];
        assert!(bottom_row > top_row + 400, "{top_row} {bottom_row}");
        let near = |a: RGBColor, b: RGBColor| {
            (a.0 as i32 - b.0 as i32).abs()
                + (a.1 as i32 - b.1 as i32).abs()
                + (a.2 as i32 - b.2 as i32).abs()
                < 12
        };
        assert!(near(top, ViridisRGB.get_color(1.0)), "{top:?}");
        assert!(near(bottom, quiet), "{bottom:?}");
    }

    #[test]
    fn the_level_range_is_round_and_bounded() {
        assert_eq!(level_range(&[frame(0, &[(440.0, -3.0)])]), (-10.0, 0.0));
        assert_eq!(
            level_range(&[frame(0, &[(440.0, -3.0), (880.0, -140.0)])]),
            (-80.0, 0.0)
        );
        assert_eq!(level_range(&[frame(0, &[])]), (-80.0, 0.0));
        assert!(render("none", &[]).is_err());
    }
}
