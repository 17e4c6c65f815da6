//! A track written as players expect it, as mkvextract does: H.264 and H.265 as Annex B byte
//! streams with their parameter sets, Opus and Vorbis in Ogg, AAC as ADTS, MP3 and FLAC as their
//! own streams. The blocks go through GStreamer's parsers and muxers (appsrc, then the chain for
//! the track's media type, then a file or standard output).

use gst::prelude::*;
use gsth4::convert::apply_block;
use gsth4::format::block::BlockHeader;

/// The GStreamer chain that makes a playable stream of `caps`, and what it writes.
pub fn chain_for(caps: &gst::CapsRef) -> Option<(&'static str, &'static str)> {
    let s = caps.structure(0)?;
    Some(match s.name().as_str() {
        "video/x-h264" => (
            "h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au",
            "an H.264 Annex B byte stream",
        ),
        "video/x-h265" => (
            "h265parse config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au",
            "an H.265 Annex B byte stream",
        ),
        "audio/x-opus" => ("opusparse ! oggmux", "Ogg Opus"),
        "audio/x-vorbis" => ("vorbisparse ! oggmux", "Ogg Vorbis"),
        "audio/x-flac" => ("flacparse", "a FLAC stream"),
        "audio/mpeg" if s.get::<i32>("mpegversion") == Ok(4) => (
            "aacparse ! audio/mpeg,stream-format=adts",
            "AAC in ADTS frames",
        ),
        "audio/mpeg" if s.get::<i32>("mpegversion") == Ok(1) => {
            ("mpegaudioparse", "an MPEG audio stream")
        }
        _ => return None,
    })
}

/// A running pipeline `appsrc ! chain ! sink`.
pub struct Playable {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
}

fn quote(path: &std::path::Path) -> String {
    format!(
        "\"{}\"",
        path.display()
            .to_string()
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
    )
}

impl Playable {
    /// `out`: a file, or standard output when `None`.
    pub fn start(
        caps: &gst::Caps,
        chain: &str,
        out: Option<&std::path::Path>,
    ) -> Result<Playable, Box<dyn std::error::Error>> {
        gst::init()?;
        let sink = match out {
            Some(p) => format!("filesink location={}", quote(p)),
            None => "fdsink fd=1".to_string(),
        };
        let pipeline = gst::parse::launch(&format!(
            "appsrc name=src format=time block=true max-bytes=4194304 ! {chain} ! {sink}"
        ))
        .map_err(|e| format!("cannot build the pipeline ({chain}): {e}"))?
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let src = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .expect("appsrc");
        src.set_caps(Some(caps));
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| Playable::error_of(&pipeline, "cannot start"))?;
        Ok(Playable { pipeline, src })
    }

    fn error_of(pipeline: &gst::Pipeline, what: &str) -> String {
        let bus = pipeline.bus().expect("bus");
        while let Some(m) = bus.pop() {
            if let gst::MessageView::Error(e) = m.view() {
                return format!("{what}: {}", e.error());
            }
        }
        what.to_string()
    }

    pub fn push(&self, header: &BlockHeader, data: &[u8]) -> Result<(), String> {
        let mut b = gst::Buffer::from_slice(data.to_vec());
        apply_block(b.get_mut().expect("new buffer"), header);
        self.src
            .push_buffer(b)
            .map(|_| ())
            .map_err(|_| Self::error_of(&self.pipeline, "the stream was refused"))
    }

    /// Ends the stream and waits until everything is written.
    pub fn finish(self) -> Result<(), String> {
        let _ = self.src.end_of_stream();
        let bus = self.pipeline.bus().expect("bus");
        let result = match bus.timed_pop_filtered(
            gst::ClockTime::NONE,
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(m) => match m.view() {
                gst::MessageView::Error(e) => Err(format!("{}", e.error())),
                _ => Ok(()),
            },
            None => Err("the pipeline ended without EOS".into()),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }
}
