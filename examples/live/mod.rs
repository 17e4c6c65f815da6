//! Running a live recording for a given time, shared by the examples that record.

use std::time::{Duration, Instant};

use gst::prelude::*;

/// Plays `pipeline` for `seconds`, calling `tick` with the fraction of that time gone every
/// 20 ms, then asks for EOS and waits for it (30 s at most). An error message stops the
/// pipeline and is returned; after EOS the pipeline is left for the caller to stop.
pub fn record_for(
    pipeline: &gst::Pipeline,
    seconds: f64,
    mut tick: impl FnMut(f64),
) -> Result<(), Box<dyn std::error::Error>> {
    let bus = pipeline.bus().ok_or("no bus")?;
    let failed = |pipeline: &gst::Pipeline, e: &gst::message::Error| {
        let _ = pipeline.set_state(gst::State::Null);
        format!("{}: {:?}", e.error(), e.debug())
    };
    pipeline.set_state(gst::State::Playing)?;
    let start = Instant::now();
    let length = Duration::from_secs_f64(seconds);
    while start.elapsed() < length {
        tick(start.elapsed().as_secs_f64() / seconds);
        if let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(20),
            &[gst::MessageType::Error],
        ) && let gst::MessageView::Error(e) = msg.view()
        {
            return Err(failed(pipeline, e).into());
        }
    }
    pipeline.send_event(gst::event::Eos::new());
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(30),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(e)) => Err(failed(pipeline, e).into()),
        _ => {
            let _ = pipeline.set_state(gst::State::Null);
            Err("no EOS 30 s after asking for it".into())
        }
    }
}
