//! Records camera-like test video (H.264), a gliding tone (Opus) and the tone's FFT tokens
//! (h4fftfilter) into one H4MK file, from live sources, with the plugin registered statically:
//! no GST_PLUGIN_PATH needed. Stops after SECONDS with EOS, then prints what the file holds and
//! whether it verifies.
//!
//! cargo run --release --example record -- OUT.h4mk [SECONDS]

mod live;

use gst::prelude::*;
use gsth4::format::reader::Reader;
use gsth4::format::source::IoSource;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: record OUT.h4mk [SECONDS]");
        std::process::exit(2);
    };
    let seconds: f64 = args.next().map_or(Ok(10.0), |s| s.parse())?;
    gst::init()?;
    gsth4::plugin_register_static()?;

    let pipeline = gst::parse::launch(&format!(
        "videotestsrc is-live=true pattern=ball motion=sweep \
           ! video/x-raw,width=640,height=360,framerate=30/1 \
           ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! h264parse \
           ! queue ! mux.video_0 \
         audiotestsrc is-live=true name=tone freq=220 volume=0.5 \
           ! audio/x-raw,rate=48000,channels=1 \
           ! h4fftfilter name=fft top-k=8 post-messages=false ! queue ! opusenc ! queue ! mux.audio_0 \
         fft.tokens ! queue ! mux.data_0 \
         h4mkmux name=mux ! filesink location=\"{out}\""
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| "not a pipeline")?;
    let tone = pipeline.by_name("tone").ok_or("no audio source")?;
    // The tone glides from 220 Hz up three octaves and back over the recording.
    let result = live::record_for(&pipeline, seconds, |phase| {
        let up = 1.0 - (2.0 * phase - 1.0).abs();
        tone.set_property("freq", 220.0 * 8f64.powf(up));
    });
    pipeline.set_state(gst::State::Null)?;
    result?;

    let mut reader = Reader::open(IoSource::new(std::fs::File::open(&out)?))?;
    let meta = reader.meta().clone();
    let table = reader.seek_table()?.clone();
    println!("{out}: {} bytes", reader.len());
    for t in &meta.tracks {
        let s = table.summary(t.id);
        println!(
            "  track {} {:<5} {:>5} blocks {:>4} keyframes  {}",
            t.id,
            t.kind.as_str(),
            s.map_or(0, |s| s.block_count),
            s.map_or(0, |s| s.entry_count),
            t.caps.split(',').next().unwrap_or("")
        );
    }
    let report = gsth4::format::verify::verify(std::fs::File::open(&out)?, |_| {})?;
    if !report.is_ok() {
        return Err(format!("{out} does not verify: {:?}", report.findings).into());
    }
    println!(
        "  verifies: {} blocks, every CRC, leaf and root",
        report.blocks
    );
    Ok(())
}
