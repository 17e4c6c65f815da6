//! Helpers for pipeline tests: static registration, running to EOS, capturing samples.
#![allow(dead_code)]

pub mod nginx;

use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use gst::prelude::*;

pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gsth4::plugin_register_static().expect("plugin registers");
    });
}

/// One buffer as a sink saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub data: Vec<u8>,
    pub pts: Option<gst::ClockTime>,
    pub dts: Option<gst::ClockTime>,
    pub duration: Option<gst::ClockTime>,
    pub delta: bool,
    pub header: bool,
}

impl Captured {
    pub fn of(buffer: &gst::BufferRef) -> Self {
        Captured {
            data: buffer.map_readable().unwrap().to_vec(),
            pts: buffer.pts(),
            dts: buffer.dts(),
            duration: buffer.duration(),
            delta: buffer.flags().contains(gst::BufferFlags::DELTA_UNIT),
            header: buffer.flags().contains(gst::BufferFlags::HEADER),
        }
    }
}

/// What a sink pad received: buffers, the caps it last had, and the events seen.
#[derive(Default, Debug)]
pub struct Capture {
    pub buffers: Vec<Captured>,
    pub caps: Option<String>,
    pub discont: Vec<bool>,
    pub tags: Vec<gst::TagList>,
    /// Serialized and flush events in arrival order, for seek checks.
    pub events: Vec<gst::Event>,
}

impl Capture {
    /// The TIME segments seen, in order.
    pub fn segments(&self) -> Vec<gst::FormattedSegment<gst::ClockTime>> {
        self.events
            .iter()
            .filter_map(|e| match e.view() {
                gst::EventView::Segment(s) => s.segment().downcast_ref::<gst::ClockTime>().cloned(),
                _ => None,
            })
            .collect()
    }
}

pub type Shared = Arc<Mutex<Capture>>;

/// Records everything reaching the sink pad of `name` (any sink element in `pipeline`),
/// including the preroll buffer, through a pad probe.
pub fn capture(pipeline: &gst::Pipeline, name: &str) -> Shared {
    let sink = pipeline
        .by_name(name)
        .unwrap_or_else(|| panic!("no element {name}"));
    if sink.has_property("sync") {
        sink.set_property("sync", false);
    }
    if let Some(app) = sink.downcast_ref::<gst_app::AppSink>() {
        // The probe records; samples are pulled and dropped so that EOS is not held back.
        app.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(|sink| {
                    sink.pull_sample()
                        .map(|_| gst::FlowSuccess::Ok)
                        .map_err(|_| gst::FlowError::Eos)
                })
                .build(),
        );
    }
    let shared: Shared = Arc::default();
    let s = shared.clone();
    let probe = gst::PadProbeType::BUFFER
        | gst::PadProbeType::EVENT_DOWNSTREAM
        | gst::PadProbeType::EVENT_FLUSH;
    sink.static_pad("sink")
        .unwrap()
        .add_probe(probe, move |_, info| {
            let mut c = s.lock().unwrap();
            match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => {
                    c.discont
                        .push(b.flags().contains(gst::BufferFlags::DISCONT));
                    c.buffers.push(Captured::of(b));
                }
                Some(gst::PadProbeData::Event(ev)) => {
                    match ev.view() {
                        gst::EventView::Tag(t) => c.tags.push(t.tag_owned()),
                        gst::EventView::Caps(caps) => c.caps = Some(caps.caps().to_string()),
                        _ => {}
                    }
                    c.events.push(ev.clone());
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        });
    shared
}

/// Runs to EOS; panics with the error on an error message or after `secs`.
pub fn run(pipeline: &gst::Pipeline, secs: u64) -> Vec<gst::Message> {
    pipeline
        .set_state(gst::State::Playing)
        .expect("pipeline plays");
    let bus = pipeline.bus().unwrap();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64)) else {
            pipeline.set_state(gst::State::Null).unwrap();
            panic!("pipeline did not finish in {secs} s");
        };
        match msg.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                pipeline.set_state(gst::State::Null).unwrap();
                panic!(
                    "error from {:?}: {} ({:?})",
                    e.src().map(|s| s.path_string()),
                    e.error(),
                    e.debug()
                );
            }
            _ => seen.push(msg),
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    seen
}

/// Runs until an error message and returns it (panics on EOS or timeout).
pub fn run_to_error(pipeline: &gst::Pipeline, secs: u64) -> (String, Option<String>) {
    pipeline.set_state(gst::State::Playing).ok();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(secs),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        )
        .expect("an error or EOS in time");
    pipeline.set_state(gst::State::Null).unwrap();
    match msg.view() {
        gst::MessageView::Error(e) => (e.error().to_string(), e.debug().map(|d| d.to_string())),
        _ => panic!("expected an error, got EOS"),
    }
}

/// The appsrc named `name` in `p`.
pub fn app_src(p: &gst::Pipeline, name: &str) -> gst_app::AppSrc {
    p.by_name(name)
        .unwrap_or_else(|| panic!("no element {name}"))
        .downcast::<gst_app::AppSrc>()
        .unwrap_or_else(|_| panic!("{name} is not an appsrc"))
}

pub fn pipeline(desc: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(desc)
        .unwrap_or_else(|e| panic!("{desc}: {e}"))
        .downcast()
        .expect("a pipeline")
}

/// target/<profile>, where cargo put the plugin next to the tests' deps/ folder: for
/// GST_PLUGIN_PATH of the command-line tools a test runs.
pub fn plugin_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf()
}

/// One of the crate's examples, as built by `cargo build --examples` for this profile.
pub fn example(name: &str) -> std::process::Command {
    let path = plugin_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is built (cargo build --examples)",
        path.display()
    );
    std::process::Command::new(path)
}

/// A command-line tool that finds this build's plugin (and keeps its own registry).
pub fn gst_tool(name: &str) -> std::process::Command {
    let mut c = std::process::Command::new(name);
    c.env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", plugin_dir().join("test-registry.bin"));
    c
}

pub fn tmp(name: &str) -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name).display().to_string();
    (d, p)
}

/// (pad, PTS, bytes) of one buffer the demuxer delivered.
pub type Delivered = (String, Option<u64>, Vec<u8>);

/// What the demuxer delivers: every buffer, sorted; warnings; the error.
pub struct Played {
    pub buffers: Vec<Delivered>,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

/// filesrc ! [queue !] h4mkdemux with each new pad linked to a fakesink of its own and each
/// removed pad's sink taken away, as an application handling pad-added does (the demuxer makes
/// new pads each time it goes from READY to PAUSED). Every delivered buffer is recorded.
pub fn demux_to_fakesinks(path: &str, push: bool) -> (gst::Pipeline, Arc<Mutex<Vec<Delivered>>>) {
    init();
    let p = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", path)
        .build()
        .unwrap();
    // The stored times, to compare with what the file holds.
    let demux = gst::ElementFactory::make("h4mkdemux")
        .property_from_str("timestamps", "as-stored")
        .build()
        .unwrap();
    p.add_many([&src, &demux]).unwrap();
    if push {
        let q = gst::ElementFactory::make("queue").build().unwrap();
        p.add(&q).unwrap();
        gst::Element::link_many([&src, &q, &demux]).unwrap();
    } else {
        src.link(&demux).unwrap();
    }
    let seen: Arc<Mutex<Vec<Delivered>>> = Arc::default();
    let pw = p.downgrade();
    let s = seen.clone();
    demux.connect_pad_added(move |_, pad| {
        let Some(p) = pw.upgrade() else { return };
        let sink = gst::ElementFactory::make("fakesink")
            .name(format!("sink-{}", pad.name()))
            .property("sync", false)
            .property("async", false)
            .build()
            .unwrap();
        p.add(&sink).unwrap();
        sink.sync_state_with_parent().unwrap();
        pad.link(&sink.static_pad("sink").unwrap()).unwrap();
        let name = pad.name().to_string();
        let s = s.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(gst::PadProbeData::Buffer(b)) = &info.data {
                s.lock().unwrap().push((
                    name.clone(),
                    b.pts().map(|t| t.nseconds()),
                    b.map_readable().unwrap().to_vec(),
                ));
            }
            gst::PadProbeReturn::Ok
        });
    });
    let pw = p.downgrade();
    demux.connect_pad_removed(move |_, pad| {
        let Some(p) = pw.upgrade() else { return };
        if let Some(sink) = p.by_name(&format!("sink-{}", pad.name())) {
            let _ = sink.set_state(gst::State::Null);
            let _ = p.remove(&sink);
        }
    });
    (p, seen)
}

/// Plays `path` through h4mkdemux (pull mode) into a fakesink per pad, to EOS or an error.
pub fn play(path: &str) -> Played {
    let (p, seen) = demux_to_fakesinks(path, false);
    p.set_state(gst::State::Playing).unwrap();
    let bus = p.bus().unwrap();
    let mut warnings = Vec::new();
    let mut error = None;
    loop {
        let m = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(20),
                &[
                    gst::MessageType::Eos,
                    gst::MessageType::Error,
                    gst::MessageType::Warning,
                ],
            )
            .unwrap_or_else(|| panic!("{path}: no EOS or error in 20 s"));
        match m.view() {
            gst::MessageView::Warning(w) => warnings.push(w.error().to_string()),
            gst::MessageView::Error(e) => {
                error = Some(e.error().to_string());
                break;
            }
            _ => break,
        }
    }
    p.set_state(gst::State::Null).unwrap();
    let mut buffers = seen.lock().unwrap().clone();
    buffers.sort();
    Played {
        buffers,
        warnings,
        error,
    }
}

/// Runs the command and returns its standard output (carriage returns as newlines), failing
/// on a non-zero exit; killed after `secs`, so a player that never ends fails the test instead
/// of hanging it.
pub fn stdout_within(c: std::process::Command, secs: u64) -> String {
    output_within(c, secs).0
}

/// `stdout_within`, with standard error as well.
pub fn output_within(mut c: std::process::Command, secs: u64) -> (String, String) {
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{c:?} does not start: {e}"));
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let waited = rx.recv_timeout(std::time::Duration::from_secs(secs));
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = waited {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    drop(tx);
    watchdog.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    let errors = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{c:?}: {}\n{text}{errors}",
        out.status,
    );
    (text, errors)
}
