//! A token consumer: plays an H4MK file through h4mkdemux, takes the FFT token track
//! (application/x-h4-tokens, as h4fftfilter makes it) and draws it as a spectrogram PNG:
//! time across, frequency up on a log scale, every peak a dot coloured by its magnitude.
//!
//! cargo run --release --example spectrogram -- IN.h4mk OUT.png

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gsth4::fft::tokens::TokenFrame;
use gsth4::plot::{Canvas, WHITE, heat};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 480;
const LEFT: i64 = 70;
const TOP: i64 = 40;
const BOTTOM: i64 = 50;
const LOW_HZ: f32 = 50.0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: spectrogram IN.h4mk OUT.png");
        std::process::exit(2);
    };
    gst::init()?;
    gsth4::plugin_register_static()?;
    let frames = read_tokens(input)?;
    if frames.is_empty() {
        return Err(format!("{input} has no token track (application/x-h4-tokens)").into());
    }
    let name = std::path::Path::new(input)
        .file_name()
        .map_or_else(|| input.clone(), |n| n.to_string_lossy().into_owned());
    let picture = draw(&name, &frames);
    picture.write_png(std::io::BufWriter::new(std::fs::File::create(output)?))?;
    let peaks: usize = frames
        .iter()
        .map(|(_, f)| f.sections.iter().map(|s| s.peaks.len()).sum::<usize>())
        .sum();
    println!(
        "{output}: {} x {} spectrogram of {} token frames, {peaks} peaks",
        picture.width(),
        picture.height(),
        frames.len()
    );
    Ok(())
}

/// Every token frame of the file's first token track, with its PTS in ns.
fn read_tokens(path: &str) -> Result<Vec<(u64, TokenFrame)>, Box<dyn std::error::Error>> {
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", path)
        .build()?;
    let demux = gst::ElementFactory::make("h4mkdemux").build()?;
    pipeline.add_many([&src, &demux])?;
    src.link(&demux)?;
    let frames: Arc<Mutex<Vec<(u64, TokenFrame)>>> = Arc::default();
    let bad: Arc<Mutex<Option<String>>> = Arc::default();
    let pipeline_weak = pipeline.downgrade();
    let (f, b) = (frames.clone(), bad.clone());
    demux.connect_pad_added(move |_, pad| {
        let Some(pipeline) = pipeline_weak.upgrade() else {
            return;
        };
        let tokens = pad
            .sticky_event::<gst::event::Caps>(0)
            .map(|e| e.caps_owned())
            .and_then(|c| {
                c.structure(0)
                    .map(|s| s.name() == "application/x-h4-tokens")
            })
            .unwrap_or(false);
        let take = tokens && f.lock().unwrap().is_empty();
        let sink = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            // Added while the pipeline runs: it must not hold it back waiting to preroll.
            .property("async", false)
            .build()
            .expect("fakesink");
        pipeline.add(&sink).expect("add a sink");
        sink.sync_state_with_parent().ok();
        pad.link(&sink.static_pad("sink").expect("sink pad"))
            .expect("link");
        if !take {
            return;
        }
        let (f, b) = (f.clone(), b.clone());
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data {
                let map = buffer.map_readable().expect("readable");
                match TokenFrame::decode(&map) {
                    Ok(frame) => f
                        .lock()
                        .unwrap()
                        .push((buffer.pts().map_or(0, |t| t.nseconds()), frame)),
                    Err(e) => *b.lock().unwrap() = Some(e.to_string()),
                }
            }
            gst::PadProbeReturn::Ok
        });
    });
    pipeline.set_state(gst::State::Playing)?;
    let msg = pipeline.bus().ok_or("no bus")?.timed_pop_filtered(
        gst::ClockTime::from_seconds(120),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    pipeline.set_state(gst::State::Null)?;
    if let Some(gst::MessageView::Error(e)) = msg.as_ref().map(|m| m.view()) {
        return Err(format!("{}: {:?}", e.error(), e.debug()).into());
    }
    if let Some(e) = bad.lock().unwrap().take() {
        return Err(format!("a token frame does not decode: {e}").into());
    }
    let frames = std::mem::take(&mut *frames.lock().unwrap());
    Ok(frames)
}

fn draw(name: &str, frames: &[(u64, TokenFrame)]) -> Canvas {
    let mut c = Canvas::new(WIDTH, HEIGHT, WHITE);
    let (w, h) = (WIDTH as i64 - LEFT - 20, HEIGHT as i64 - TOP - BOTTOM);
    c.fill(LEFT, TOP, w, h, heat(0.0));
    let rate = frames[0].1.rate.max(1) as f32;
    let high = rate / 2.0;
    let start = frames.first().map_or(0, |f| f.0);
    let end = frames.last().map_or(1, |f| f.0).max(start + 1);
    let y_of = |hz: f32| {
        let v = (hz.max(LOW_HZ) / LOW_HZ).ln() / (high / LOW_HZ).ln();
        TOP + h - 1 - (v.clamp(0.0, 1.0) * (h - 1) as f32) as i64
    };
    let x_of = |t: u64| LEFT + ((t - start) as f64 / (end - start) as f64 * (w - 1) as f64) as i64;
    // Magnitudes from the quietest to the loudest peak of the whole file.
    let mags = frames
        .iter()
        .flat_map(|(_, f)| f.sections.iter().flat_map(|s| s.peaks.iter()))
        .map(|p| p.magnitude);
    let (lo, hi) = mags.fold((f32::MAX, f32::MIN), |(lo, hi), m| (lo.min(m), hi.max(m)));
    let column = (w / frames.len() as i64).clamp(2, 8);
    let mut peaks: Vec<(i64, f32, f32)> = frames
        .iter()
        .flat_map(|(t, f)| {
            f.sections
                .iter()
                .flat_map(|s| s.peaks.iter())
                .map(move |p| (x_of(*t), p.frequency, p.magnitude))
        })
        .collect();
    // Loud peaks last, so that they are drawn on top.
    peaks.sort_by(|a, b| a.2.total_cmp(&b.2));
    for (x, hz, mag) in peaks {
        let v = (mag - lo) / (hi - lo).max(1e-3);
        c.fill(x, y_of(hz) - 1, column, 3, heat(0.15 + 0.85 * v));
    }

    let grey = [90, 90, 90];
    c.text(12, 12, &format!("{name}: FFT peak tokens"), [0, 0, 0], 2);
    for hz in [
        100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0,
    ] {
        if hz > high {
            break;
        }
        let y = y_of(hz);
        c.fill(LEFT - 6, y, 6, 1, grey);
        let label = if hz >= 1000.0 {
            format!("{}k", hz / 1000.0)
        } else {
            format!("{hz}")
        };
        c.text(
            LEFT - 10 - Canvas::text_width(&label, 1),
            y - 3,
            &label,
            grey,
            1,
        );
    }
    c.text(8, TOP + h / 2, "Hz", grey, 1);
    let seconds = (end - start) as f64 / 1e9;
    let step = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0]
        .into_iter()
        .find(|s| seconds / s <= 12.0)
        .unwrap_or(3600.0);
    for i in 0.. {
        let t = i as f64 * step;
        if t > seconds {
            break;
        }
        let x = x_of(start + (t * 1e9) as u64);
        c.fill(x, TOP + h, 1, 6, grey);
        let label = format!("{}s", (t * 10.0).round() / 10.0);
        c.text(
            x - Canvas::text_width(&label, 1) / 2,
            TOP + h + 10,
            &label,
            grey,
            1,
        );
    }
    c.text(
        LEFT,
        HEIGHT as i64 - 16,
        "colour: peak magnitude (dB), quietest to loudest in the file",
        grey,
        1,
    );
    c
}
