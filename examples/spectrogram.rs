//! A token consumer: plays an H4MK file through h4mkdemux, takes the FFT token track
//! (application/x-h4-tokens, as h4fftfilter makes it) and draws it as a spectrogram PNG
//! (`gsth4::plot::spectrogram`): time across, frequency up on a log scale, every peak coloured
//! by its level on a dB scale.
//!
//! cargo run --release --example spectrogram -- IN.h4mk OUT.png

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gsth4::fft::tokens::TokenFrame;
use gsth4::plot::spectrogram::{Frame, peak_count, render};

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
    let picture = render(&format!("{name}: FFT peak tokens"), &frames)?;
    picture.write_png(std::io::BufWriter::new(std::fs::File::create(output)?))?;
    let peaks = peak_count(&frames);
    println!(
        "{output}: {} x {} spectrogram of {} token frames, {peaks} peaks",
        picture.width(),
        picture.height(),
        frames.len()
    );
    Ok(())
}

/// Every token frame of the file's first token track, at its stream time.
fn read_tokens(path: &str) -> Result<Vec<Frame>, Box<dyn std::error::Error>> {
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", path)
        .build()?;
    let demux = gst::ElementFactory::make("h4mkdemux").build()?;
    pipeline.add_many([&src, &demux])?;
    src.link(&demux)?;
    let frames: Arc<Mutex<Vec<Frame>>> = Arc::default();
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
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data {
                // Stream time: where the frame sits in the recording, as a player shows it.
                let time = pad
                    .sticky_event::<gst::event::Segment>(0)
                    .and_then(|e| {
                        let segment = e.segment().downcast_ref::<gst::ClockTime>()?.clone();
                        segment.to_stream_time(buffer.pts()?)
                    })
                    .map_or(0, |t| t.nseconds());
                let map = buffer.map_readable().expect("readable");
                match TokenFrame::decode(&map) {
                    Ok(tokens) => f.lock().unwrap().push(Frame { time, tokens }),
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
