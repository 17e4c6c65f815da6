//! Measures flushing KEY_UNIT seek latency of a demuxer: the time from sending a seek to
//! the pipeline being prerolled again, over random targets.
//!
//! cargo run --release --example seek_latency -- FILE DEMUXER [SEEKS] [queue]
//! e.g. DEMUXER = h4mkdemux or matroskademux. Prints median, range and count in ms.

use std::time::Instant;

use gst::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(demuxer)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: seek_latency FILE DEMUXER [SEEKS]");
        std::process::exit(2);
    };
    let seeks: usize = args.get(3).map_or(Ok(200), |s| s.parse())?;
    // With a queue the demuxer reads ahead between seeks, as in a player.
    let queued = args.get(4).is_some_and(|s| s == "queue");
    let sink = if queued {
        "queue ! fakesink sync=false"
    } else {
        "fakesink sync=false"
    };
    gst::init()?;
    gsth4::plugin_register_static()?;
    let p: gst::Pipeline = gst::parse::launch(&format!(
        "filesrc location={file} ! {demuxer} name=d d. ! {sink}"
    ))?
    .downcast()
    .map_err(|_| "not a pipeline")?;
    p.set_state(gst::State::Paused)?;
    p.state(gst::ClockTime::from_seconds(30)).0?;
    let duration = p.query_duration::<gst::ClockTime>().ok_or("no duration")?;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut times = Vec::with_capacity(seeks);
    for _ in 0..seeks {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = gst::ClockTime::from_nseconds(x % duration.nseconds().max(1));
        let t0 = Instant::now();
        p.seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT, target)?;
        p.state(gst::ClockTime::from_seconds(30)).0?;
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    p.set_state(gst::State::Null)?;
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{demuxer}: median {:.3} ms, range {:.3}..{:.3} ms, {} seeks, duration {}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len(),
        duration
    );
    Ok(())
}
