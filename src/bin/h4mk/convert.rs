//! `h4mk convert IN OUT`: between H4MK and Matroska, WebM and MP4, in either direction, through
//! GStreamer: the input's demuxer (found by typefinding its first bytes), every stream linked as
//! it comes to the output's muxer (chosen by OUT's extension). Packets, timestamps, keyframe
//! flags, tags and audio clipping go through unchanged: nothing is decoded or parsed again.

use std::path::{Path, PathBuf};

use gst::prelude::*;

use crate::{CliResult, Outcome, first_bytes, open};

#[derive(clap::Args)]
pub struct Args {
    /// The input: H4MK, Matroska, WebM, MP4 or anything else a GStreamer demuxer reads
    input: PathBuf,
    /// The output; its extension picks the container: .h4mk, .mkv, .mka, .webm, .mp4, .m4a, .mov
    output: PathBuf,
}

/// The muxer for an output file name.
fn muxer_for(path: &Path) -> Result<&'static str, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "h4mk" => "h4mkmux",
        "mkv" | "mka" | "mks" => "matroskamux",
        "webm" => "webmmux",
        "mp4" | "m4a" | "m4v" => "mp4mux",
        "mov" => "qtmux",
        other => {
            return Err(format!(
                "{}: no container for the extension \"{other}\"; use .h4mk, .mkv, .mka, .webm, .mp4, .m4a or .mov",
                path.display()
            ));
        }
    })
}

/// The demuxer of highest rank that takes `caps`.
fn demuxer_for(caps: &gst::Caps) -> Option<gst::ElementFactory> {
    let mut factories: Vec<gst::ElementFactory> = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DEMUXER,
        gst::Rank::MARGINAL,
    )
    .into_iter()
    .collect();
    factories.sort_by_key(|f| std::cmp::Reverse(f.rank()));
    factories.into_iter().find(|f| f.can_sink_any_caps(caps))
}

pub fn run(a: Args) -> CliResult {
    let mux_name = muxer_for(&a.output)?;
    if a.output == a.input {
        return Err("the output must differ from the input".into());
    }
    gst::init()?;
    gsth4::plugin_register_static()?;
    let first = first_bytes(&mut open(&a.input)?)?;
    if first.is_empty() {
        return Err(format!("{} is empty", a.input.display()).into());
    }
    let (caps, _) = gst_base::functions::type_find_helper_for_data(None::<&gst::Object>, &first)
        .map_err(|_| format!("{}: GStreamer cannot tell what this is", a.input.display()))?;
    let demux_factory = demuxer_for(&caps).ok_or_else(|| {
        format!(
            "{} is {}: no GStreamer demuxer reads it",
            a.input.display(),
            caps.structure(0)
                .map_or("unknown".into(), |s| s.name().to_string())
        )
    })?;
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", a.input.display().to_string())
        .build()?;
    let demux = demux_factory.create().build()?;
    let mux = gst::ElementFactory::make(mux_name).build()?;
    let sink = gst::ElementFactory::make("filesink")
        .property("location", a.output.display().to_string())
        .build()?;
    pipeline.add_many([&src, &demux, &mux, &sink])?;
    gst::Element::link_many([&src, &demux])?;
    gst::Element::link_many([&mux, &sink])?;
    let skipped = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let weak = pipeline.downgrade();
    let mux_weak = mux.downgrade();
    let skipped_in = skipped.clone();
    demux.connect_pad_added(move |_, pad| {
        let (Some(pipeline), Some(mux)) = (weak.upgrade(), mux_weak.upgrade()) else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let queue = gst::ElementFactory::make("queue")
            .property("max-size-buffers", 0u32)
            .property("max-size-bytes", 0u32)
            .property("max-size-time", 5_000_000_000u64)
            .build()
            .expect("queue");
        let _ = pipeline.add(&queue);
        let _ = queue.sync_state_with_parent();
        let _ = pad.link(&queue.static_pad("sink").expect("sink pad"));
        let queue_src = queue.static_pad("src").expect("src pad");
        let target = mux.compatible_pad(&queue_src, Some(&caps));
        if target.and_then(|p| queue_src.link(&p).ok()).is_none() {
            // The output cannot hold this stream: say so and let it run into a fakesink.
            skipped_in.lock().expect("lock").push(format!(
                "{} ({})",
                pad.name(),
                caps.structure(0)
                    .map_or("?".into(), |s| s.name().to_string())
            ));
            let fake = gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .build()
                .expect("fakesink");
            let _ = pipeline.add(&fake);
            let _ = fake.sync_state_with_parent();
            let _ = queue_src.link(&fake.static_pad("sink").expect("sink pad"));
        }
    });
    pipeline.set_state(gst::State::Playing).map_err(|_| {
        format!(
            "cannot start converting {} with {} and {mux_name}",
            a.input.display(),
            demux_factory.name()
        )
    })?;
    let bus = pipeline.bus().expect("bus");
    let result = match bus.timed_pop_filtered(
        gst::ClockTime::NONE,
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        Some(m) => match m.view() {
            gst::MessageView::Error(e) => Err(format!(
                "{}: {} ({})",
                a.input.display(),
                e.error(),
                e.src().map(|s| s.name().to_string()).unwrap_or_default()
            )),
            _ => Ok(()),
        },
        None => Err("the pipeline ended without EOS".into()),
    };
    let _ = pipeline.set_state(gst::State::Null);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&a.output);
        return Err(e.into());
    }
    for s in skipped.lock().expect("lock").iter() {
        eprintln!("h4mk: left out {s}: {mux_name} cannot hold it");
    }
    crate::say!(
        "{} -> {}: {} to {mux_name}",
        a.input.display(),
        a.output.display(),
        demux_factory.name()
    );
    Ok(Outcome::Ok)
}
