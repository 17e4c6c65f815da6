//! The block timeline: one lane per track, a bar per block (height by size) at its stream
//! time, keyframes marked above, masked blocks in their own colour, damaged chunks as red
//! lines across every lane, a time axis and a legend.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Error, Picture, PlotArea, round_step, text_style, time_label};

pub const KEYFRAME: RGBColor = RGBColor(230, 120, 20);
pub const DELTA: RGBColor = RGBColor(70, 130, 180);
pub const MASKED: RGBColor = RGBColor(128, 60, 170);
pub const DAMAGED: RGBColor = RGBColor(220, 30, 30);
const LANE_BG: RGBColor = RGBColor(238, 240, 244);
const GRID: RGBColor = RGBColor(200, 204, 212);
const GREY: RGBColor = RGBColor(90, 90, 90);

pub const WIDTH: u32 = 1280;
/// Pixels per lane.
const LANE: u32 = 90;
/// Title, subtitle, time axis and legend.
const FRAME: u32 = 40 + 26 + 58 + 40;

/// One block as the timeline shows it.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    /// Stream time, ns.
    pub time: u64,
    pub size: u64,
    pub keyframe: bool,
    pub masked: bool,
}

pub struct Lane {
    pub label: String,
    pub marks: Vec<Mark>,
}

/// A damaged chunk; `time` is where it sits among the blocks (the stream time of the block
/// before it in the file), when known.
pub struct Damage {
    pub time: Option<u64>,
    pub offset: u64,
}

pub struct Timeline {
    pub title: String,
    pub subtitle: String,
    pub lanes: Vec<Lane>,
    pub damage: Vec<Damage>,
}

impl Timeline {
    fn end(&self) -> u64 {
        self.lanes
            .iter()
            .flat_map(|l| l.marks.iter().map(|m| m.time))
            .chain(self.damage.iter().filter_map(|d| d.time))
            .max()
            .unwrap_or(0)
            .max(1)
    }
}

/// What one pixel column of a lane shows: the biggest block there, and whether any block
/// there is a keyframe or masked.
#[derive(Clone, Copy, Default)]
struct Column {
    size: u64,
    blocks: bool,
    keyframe: bool,
    masked: bool,
}

impl Column {
    fn colour(&self) -> RGBColor {
        if self.keyframe && !self.masked {
            KEYFRAME
        } else if self.masked {
            MASKED
        } else {
            DELTA
        }
    }
}

pub fn render(t: &Timeline) -> Result<Picture, Error> {
    let n = t.lanes.len().max(1);
    let height = FRAME + LANE * n as u32;
    let end_ns = t.end();
    let end = end_ns as f64 / 1e9;
    let step = round_step(end, 12);
    let labels: Vec<String> = t
        .lanes
        .iter()
        .map(|l| format!("{} · {} blocks", l.label, l.marks.len()))
        .collect();
    Picture::draw(WIDTH, height, |root| {
        let body = root.titled(&t.title, text_style(24, BLACK))?;
        let (head, body) = body.split_vertically(26);
        head.draw(&Text::new(
            t.subtitle.as_str(),
            (14, 2),
            text_style(15, GREY),
        ))?;
        let (main, legend) = body.split_vertically(body.dim_in_pixel().1 as i32 - 40);
        let mut chart = ChartBuilder::on(&main)
            .margin_left(14)
            .margin_right(24)
            .x_label_area_size(50)
            .y_label_area_size(210)
            .build_cartesian_2d(0.0..end, 0.0..n as f64)?;
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        // Lane i (track order, from the top) spans these rows.
        let rows: Vec<(i32, i32)> = (0..n)
            .map(|i| {
                let top = chart.backend_coord(&(0.0, (n - i) as f64)).1;
                let bottom = chart.backend_coord(&(0.0, (n - i - 1) as f64)).1;
                (top + 5, bottom - 5)
            })
            .collect();
        let lane_rows = |i: usize| rows[i];
        for (i, label) in labels.iter().enumerate() {
            let (top, bottom) = lane_rows(i);
            root.draw(&Rectangle::new(
                [(xs.start, top), (xs.end, bottom)],
                LANE_BG.filled(),
            ))?;
            let style = text_style(15, BLACK).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(
                label.as_str(),
                (xs.start - 10, (top + bottom) / 2),
                style,
            ))?;
        }
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_labels((end / step) as usize + 1)
            .x_label_formatter(&|s| time_label(*s, step))
            .y_labels(0)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .x_desc("stream time")
            .label_style(text_style(15, BLACK))
            .axis_desc_style(text_style(16, BLACK))
            .draw()?;

        let plot = PlotArea { x: xs, y: ys };
        let width = (plot.x.end - plot.x.start) as usize;
        for (i, lane) in t.lanes.iter().enumerate() {
            let mut columns = vec![Column::default(); width];
            for m in &lane.marks {
                let x = plot.column(m.time as f64 / 1e9, 0.0, end) - plot.x.start;
                let c = &mut columns[x.clamp(0, width as i32 - 1) as usize];
                c.size = c.size.max(m.size);
                c.blocks = true;
                c.keyframe |= m.keyframe;
                c.masked |= m.masked;
            }
            let max = lane.marks.iter().map(|m| m.size).max().unwrap_or(1).max(1);
            let (top, bottom) = lane_rows(i);
            let room = (bottom - top - 16) as f64;
            for (x, c) in columns.iter().enumerate().filter(|(_, c)| c.blocks) {
                let x = plot.x.start + x as i32;
                let h = ((c.size as f64 / max as f64).sqrt() * room).max(2.0) as i32;
                root.draw(&Rectangle::new(
                    [(x, bottom - h), (x + 1, bottom)],
                    c.colour().filled(),
                ))?;
                if c.keyframe {
                    root.draw(&Rectangle::new(
                        [(x - 1, top + 2), (x + 2, top + 10)],
                        KEYFRAME.filled(),
                    ))?;
                }
            }
        }
        for d in &t.damage {
            let x = plot.column(d.time.unwrap_or(end_ns) as f64 / 1e9, 0.0, end);
            root.draw(&Rectangle::new(
                [(x - 1, plot.y.start - 8), (x + 2, plot.y.end)],
                DAMAGED.filled(),
            ))?;
        }

        let mut x = plot.x.start;
        for (colour, what) in [
            (KEYFRAME, "keyframe"),
            (DELTA, "delta block"),
            (MASKED, "masked block"),
            (DAMAGED, "damaged chunk"),
        ]
        .into_iter()
        .map(|(c, w)| (c, w.to_string()))
        .chain([(WHITE, "bar height: block size (square root)".to_string())])
        {
            if colour != WHITE {
                legend.draw(&Rectangle::new([(x, 12), (x + 14, 26)], colour.filled()))?;
                x += 20;
            }
            let style = text_style(15, if colour == WHITE { GREY } else { BLACK });
            let (w, _) = legend.estimate_text_size(&what, &style)?;
            legend.draw(&Text::new(what, (x, 11), style))?;
            x += w as i32 + 28;
        }
        Ok(plot)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(time: u64, size: u64, keyframe: bool) -> Mark {
        Mark {
            time,
            size,
            keyframe,
            masked: false,
        }
    }

    #[test]
    fn blocks_keyframes_and_damage_land_where_their_times_say() {
        let second = 1_000_000_000;
        let t = Timeline {
            title: "x.h4mk".into(),
            subtitle: String::new(),
            lanes: vec![
                Lane {
                    label: "0 video".into(),
                    marks: (0..=100)
                        .map(|i| mark(i * second / 10, 1000, i % 25 == 0))
                        .collect(),
                },
                Lane {
                    label: "1 audio".into(),
                    marks: (0..=50)
                        .map(|i| Mark {
                            masked: true,
                            ..mark(i * second / 5, 500, true)
                        })
                        .collect(),
                },
            ],
            damage: vec![Damage {
                time: Some(5 * second),
                offset: 1234,
            }],
        };
        let p = render(&t).unwrap();
        assert_eq!(p.width(), WIDTH);
        assert_eq!(p.height(), FRAME + 2 * LANE);
        let a = p.plot_area().clone();
        let x_at = |s: f64| a.column(s, 0.0, 10.0) as u32;
        let colour = |x: u32, y: u32| {
            let [r, g, b] = p.pixel(x, y);
            RGBColor(r, g, b)
        };
        // The first lane's rows: where the column of a keyframe is orange.
        let lane = a.y.start as u32..(a.y.start + (a.y.end - a.y.start) / 2) as u32;
        let rows_of = |x: u32, c: RGBColor| lane.clone().filter(move |&y| colour(x, y) == c);
        // A keyframe at 2.5 s: a tick at the top and an orange bar below it.
        let key: Vec<u32> = rows_of(x_at(2.5), KEYFRAME).collect();
        assert!(key.len() > 40, "{key:?}");
        // A delta block at 0.3 s: a blue bar, no tick.
        assert!(rows_of(x_at(0.3), DELTA).count() > 40);
        assert_eq!(rows_of(x_at(0.3), KEYFRAME).count(), 0);
        // Nothing between blocks.
        assert_eq!(rows_of(x_at(0.35), DELTA).count(), 0);
        // The masked audio lane: purple bars, every one a keyframe tick.
        let low = (a.y.start + (a.y.end - a.y.start) / 2) as u32..a.y.end as u32;
        assert!(low.clone().any(|y| colour(x_at(0.4), y) == MASKED));
        assert!(!low.clone().any(|y| colour(x_at(0.3), y) == MASKED));
        // The damaged chunk at 5 s: red across both lanes.
        let x = x_at(5.0);
        assert_eq!(colour(x, lane.start + 30), DAMAGED);
        assert_eq!(colour(x, low.start + 30), DAMAGED);
        // Red only there and in the legend's swatch.
        let red = (0..p.width())
            .filter(|&x| (0..p.height()).any(|y| colour(x, y) == DAMAGED))
            .count();
        assert_eq!(red, 3 + 14);
    }

    #[test]
    fn a_picture_is_the_same_bytes_every_time() {
        let t = |n| Timeline {
            title: "same".into(),
            subtitle: "s".into(),
            lanes: vec![Lane {
                label: "0 data".into(),
                marks: (0..n)
                    .map(|i| mark(i * 1_000_000, i * 7 % 100, i % 9 == 0))
                    .collect(),
            }],
            damage: vec![],
        };
        let png = |t: &Timeline| {
            let mut out = Vec::new();
            render(t).unwrap().write_png(&mut out).unwrap();
            out
        };
        assert_eq!(png(&t(1000)), png(&t(1000)));
        assert_ne!(png(&t(1000)), png(&t(999)));
    }
}
