//! Plays a file with playbin (decoding to fake sinks), seeking by keyframe first and printing
//! where each seek lands, then plays to the end.
//!
//! cargo run --release --example play_seek -- FILE|URI [SECONDS ...]

use std::sync::{Arc, Mutex};

use gst::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(file) = args.next() else {
        eprintln!("usage: play_seek FILE|URI [SECONDS ...]");
        std::process::exit(2);
    };
    let targets: Vec<f64> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    gst::init()?;
    gsth4::plugin_register_static()?;
    let uri = if file.contains("://") {
        file.clone()
    } else {
        gst::glib::filename_to_uri(std::fs::canonicalize(&file)?, None)?.to_string()
    };
    let playbin = gst::ElementFactory::make("playbin")
        .property("uri", uri.as_str())
        .build()?;
    let vsink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()?;
    let asink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()?;
    playbin.set_property("video-sink", &vsink);
    playbin.set_property("audio-sink", &asink);

    // First decoded frame after each seek, and the number of frames decoded.
    let seen: Arc<Mutex<(Option<gst::ClockTime>, u64)>> = Arc::default();
    let s = seen.clone();
    vsink.static_pad("sink").ok_or("no sink pad")?.add_probe(
        gst::PadProbeType::BUFFER,
        move |pad, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                let mut s = s.lock().unwrap();
                if s.0.is_none() {
                    let seg = pad
                        .sticky_event::<gst::event::Segment>(0)
                        .map(|e| e.segment().clone());
                    let stream_time = seg
                        .and_then(|seg| seg.downcast::<gst::ClockTime>().ok())
                        .and_then(|seg| b.pts().and_then(|pts| seg.to_stream_time(pts)));
                    s.0 = stream_time.or(Some(gst::ClockTime::ZERO));
                }
                s.1 += 1;
            }
            gst::PadProbeReturn::Ok
        },
    );

    let bus = playbin.bus().ok_or("no bus")?;
    let wait = |what: &str| -> Result<(), Box<dyn std::error::Error>> {
        let types = [
            gst::MessageType::AsyncDone,
            gst::MessageType::Error,
            gst::MessageType::Eos,
        ];
        match bus
            .timed_pop_filtered(gst::ClockTime::from_seconds(30), &types)
            .map(|m| m.type_())
        {
            Some(gst::MessageType::Error) => Err(format!("error while {what}").into()),
            None => Err(format!("timed out while {what}").into()),
            _ => Ok(()),
        }
    };
    playbin.set_state(gst::State::Paused)?;
    wait("prerolling")?;
    let duration = playbin.query_duration::<gst::ClockTime>();
    println!("{}: duration {}", file, duration.display());
    for t in targets {
        seen.lock().unwrap().0 = None;
        let target = gst::ClockTime::from_nseconds((t * 1e9) as u64);
        playbin.seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT, target)?;
        wait("seeking")?;
        let landed = seen.lock().unwrap().0;
        println!(
            "seek to {target}: landed on the keyframe at {}",
            landed.display()
        );
    }
    seen.lock().unwrap().1 = 0;
    playbin.set_state(gst::State::Playing)?;
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(120),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    playbin.set_state(gst::State::Null)?;
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => {
            println!(
                "played to the end: {} video frames decoded after the last seek",
                seen.lock().unwrap().1
            );
            Ok(())
        }
        Some(gst::MessageView::Error(e)) => Err(format!("{}: {:?}", e.error(), e.debug()).into()),
        _ => Err("no EOS in time".into()),
    }
}
