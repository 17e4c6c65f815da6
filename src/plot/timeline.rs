//! The block timeline: one lane per track, a bar per block (height by size) at its stream
//! time, keyframes marked above, masked blocks in their own colour, damaged chunks as red
//! lines across every lane, a time axis and a legend.

use super::{BLACK, Canvas, Rgb, WHITE};

pub const KEYFRAME: Rgb = [230, 120, 20];
pub const DELTA: Rgb = [70, 130, 180];
pub const MASKED: Rgb = [128, 60, 170];
pub const DAMAGED: Rgb = [220, 30, 30];
const LANE_BG: Rgb = [238, 240, 244];
const GRID: Rgb = [200, 204, 212];
const GREY: Rgb = [90, 90, 90];

const WIDTH: u32 = 1280;
const LEFT: i64 = 150;
const RIGHT: i64 = 24;
const TOP: i64 = 64;
const LANE: i64 = 84;
const GAP: i64 = 12;

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

/// The x of stream time `t` when `end` ns fill `width` pixels from `LEFT`.
fn x_of(t: u64, end: u64, width: i64) -> i64 {
    LEFT + (t as f64 / end.max(1) as f64 * (width - 1) as f64) as i64
}

/// A step for axis labels: 1, 2 or 5 times a power of ten seconds, at least `min` ns.
fn tick_step(min: u64) -> u64 {
    let mut step = 1_000_000u64; // 1 ms
    loop {
        for m in [1, 2, 5] {
            if step * m >= min {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// `H:MM:SS`, `M:SS` or seconds with the precision `step` needs.
fn time_label(t: u64, step: u64) -> String {
    let s = t / 1_000_000_000;
    if step >= 1_000_000_000 {
        if s >= 3600 {
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        } else {
            format!("{}:{:02}", s / 60, s % 60)
        }
    } else {
        let ms = t / 1_000_000;
        if step >= 100_000_000 {
            format!("{}.{}s", ms / 1000, ms % 1000 / 100)
        } else {
            format!("{}.{:03}s", ms / 1000, ms % 1000)
        }
    }
}

pub fn render(t: &Timeline) -> Canvas {
    let lanes = t.lanes.len().max(1) as i64;
    let axis_y = TOP + lanes * (LANE + GAP);
    let height = (axis_y + 80) as u32;
    let mut c = Canvas::new(WIDTH, height, WHITE);
    let width = WIDTH as i64 - LEFT - RIGHT;
    let end = t
        .lanes
        .iter()
        .flat_map(|l| l.marks.iter().map(|m| m.time))
        .chain(t.damage.iter().filter_map(|d| d.time))
        .max()
        .unwrap_or(0)
        .max(1);

    c.text(12, 12, &t.title, BLACK, 2);
    c.text(12, 38, &t.subtitle, GREY, 1);

    // Grid and axis.
    let step = tick_step(end / 10);
    let mut tick = 0;
    while tick <= end {
        let x = x_of(tick, end, width);
        c.fill(x, TOP - 4, 1, axis_y - TOP + 8, GRID);
        let label = time_label(tick, step);
        c.text(
            x - Canvas::text_width(&label, 1) / 2,
            axis_y + 8,
            &label,
            GREY,
            1,
        );
        tick += step;
    }

    for (i, lane) in t.lanes.iter().enumerate() {
        let y = TOP + i as i64 * (LANE + GAP);
        c.fill(LEFT, y, width, LANE, LANE_BG);
        c.text(12, y + LANE / 2 - 7, &lane.label, BLACK, 2);
        let summary = format!("{} blocks", lane.marks.len());
        c.text(12, y + LANE / 2 + 12, &summary, GREY, 1);
        // One column per pixel: the biggest block there, its colour by priority.
        let max = lane.marks.iter().map(|m| m.size).max().unwrap_or(1).max(1);
        let mut columns: Vec<Option<(u64, Rgb)>> = vec![None; width as usize];
        let mut keys = vec![false; width as usize];
        for m in &lane.marks {
            let col = (x_of(m.time, end, width) - LEFT).clamp(0, width - 1) as usize;
            let colour = if m.masked {
                MASKED
            } else if m.keyframe {
                KEYFRAME
            } else {
                DELTA
            };
            let slot = &mut columns[col];
            let size = slot.map_or(0, |s| s.0).max(m.size);
            let colour = match *slot {
                Some((_, KEYFRAME)) => KEYFRAME,
                _ if m.keyframe && !m.masked => KEYFRAME,
                Some((_, c)) if c == MASKED || m.masked => MASKED,
                _ => colour,
            };
            *slot = Some((size, colour));
            keys[col] |= m.keyframe;
        }
        let bar_room = LANE - 14;
        for (col, slot) in columns.iter().enumerate() {
            let Some((size, colour)) = slot else { continue };
            let h = ((*size as f64 / max as f64).sqrt() * bar_room as f64).max(2.0) as i64;
            c.fill(LEFT + col as i64, y + LANE - h, 1, h, *colour);
            if keys[col] {
                c.fill(LEFT + col as i64 - 1, y + 2, 3, 8, KEYFRAME);
            }
        }
    }

    for d in &t.damage {
        let x = x_of(d.time.unwrap_or(end), end, width);
        c.fill(x - 1, TOP - 10, 3, axis_y - TOP + 10, DAMAGED);
    }

    // Legend.
    let mut x = LEFT;
    let y = axis_y + 34;
    for (colour, what) in [
        (KEYFRAME, "keyframe"),
        (DELTA, "delta block"),
        (MASKED, "masked block"),
        (DAMAGED, "damaged chunk"),
    ] {
        c.fill(x, y, 14, 14, colour);
        x += 20;
        x += c.text(x, y + 4, what, BLACK, 1) + 28;
    }
    c.text(x, y + 4, "bar height: block size (square root)", GREY, 1);
    c
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
            lanes: vec![Lane {
                label: "0 video".into(),
                marks: (0..=100)
                    .map(|i| mark(i * second / 10, 1000, i % 25 == 0))
                    .collect(),
            }],
            damage: vec![Damage {
                time: Some(5 * second),
                offset: 1234,
            }],
        };
        let c = render(&t);
        let width = WIDTH as i64 - LEFT - RIGHT;
        let bottom = (TOP + LANE - 1) as u32;
        // A keyframe at 2.5 s: tick at the top and an orange bar.
        let x = x_of(25 * second / 10, 10 * second, width) as u32;
        assert_eq!(c.pixel(x, (TOP + 4) as u32), KEYFRAME);
        assert_eq!(c.pixel(x, bottom), KEYFRAME);
        // A delta block at 0.3 s: blue at the bottom, no tick.
        let x = x_of(3 * second / 10, 10 * second, width) as u32;
        assert_eq!(c.pixel(x, bottom), DELTA);
        assert_eq!(c.pixel(x, (TOP + 4) as u32), LANE_BG);
        // The damaged chunk at 5 s: red across the lane.
        let x = x_of(5 * second, 10 * second, width) as u32;
        assert_eq!(c.pixel(x, (TOP + LANE / 2) as u32), DAMAGED);
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(tick_step(1_300_000_000), 2_000_000_000);
        assert_eq!(tick_step(360_000_000_000), 500_000_000_000);
        assert_eq!(time_label(90 * 1_000_000_000, 1_000_000_000), "1:30");
        assert_eq!(time_label(3_723_000_000_000, 1_000_000_000), "1:02:03");
        assert_eq!(time_label(1_500_000_000, 500_000_000), "1.5s");
    }
}
