//! Every codec people put in Matroska goes through H4MK: the same encoder output, muxed by
//! h4mkmux and by matroskamux (and mp4mux for AAC), decodes to identical frames and samples.
//! Where Matroska loses samples (Speex), the truth is the encoder's output decoded directly.

mod gstcommon;

use gst::prelude::*;
use gstcommon::*;
use sha2::{Digest, Sha256};

/// What decodebin gives for a file: one digest per buffer, and how many bytes in all.
fn decoded(path: &str) -> (Vec<[u8; 8]>, usize) {
    let p = pipeline(&format!(
        "filesrc location={path} ! decodebin ! appsink name=out sync=false"
    ));
    let c = capture(&p, "out");
    run(&p, 120);
    let c = c.lock().unwrap();
    let bytes = c.buffers.iter().map(|b| b.data.len()).sum();
    let digests = c
        .buffers
        .iter()
        .map(|b| Sha256::digest(&b.data)[..8].try_into().unwrap())
        .collect();
    (digests, bytes)
}

/// The decoded bytes of a stream, all in one digest (audio decoders may cut buffers
/// differently after different demuxers).
fn decoded_stream(path: &str) -> ([u8; 32], usize) {
    let p = pipeline(&format!(
        "filesrc location={path} ! decodebin ! appsink name=out sync=false"
    ));
    let c = capture(&p, "out");
    run(&p, 120);
    let c = c.lock().unwrap();
    let mut h = Sha256::new();
    let mut n = 0;
    for b in &c.buffers {
        h.update(&b.data);
        n += b.data.len();
    }
    (h.finalize().into(), n)
}

/// Encodes once, muxes into H4MK and into each of `others` from the same encoder output.
fn mux(source: &str, encoder: &str, others: &[&str]) -> (tempfile::TempDir, String, Vec<String>) {
    let (d, h4mk) = tmp("c.h4mk");
    let mut desc = format!(
        "{source} ! {encoder} ! tee name=t  t. ! queue ! h4mkmux ! filesink location={h4mk}"
    );
    let mut outs = Vec::new();
    for (i, m) in others.iter().enumerate() {
        let out = d.path().join(format!("c{i}")).display().to_string();
        desc += &format!("  t. ! queue ! {m} ! filesink location={out}");
        outs.push(out);
    }
    run(&pipeline(&desc), 120);
    (d, h4mk, outs)
}

const VIDEO: &str = "videotestsrc num-buffers=24 pattern=ball \
    ! video/x-raw,format=I420,width=128,height=96,framerate=24/1";
const AUDIO: &str = "audiotestsrc num-buffers=40 samplesperbuffer=1024 wave=ticks \
    ! audio/x-raw,rate=48000,channels=2";

fn video_same_as_matroska(encoder: &str) {
    let (_d, h4mk, outs) = mux(VIDEO, encoder, &["matroskamux"]);
    let (ours, n) = decoded(&h4mk);
    let (theirs, _) = decoded(&outs[0]);
    assert_eq!(ours.len(), 24, "{encoder}: every frame ({n} bytes)");
    assert_eq!(
        ours, theirs,
        "{encoder}: the same frames as through Matroska"
    );
}

fn audio_same_as(encoder: &str, others: &[&str]) {
    let (_d, h4mk, outs) = mux(AUDIO, encoder, others);
    let (ours, n) = decoded_stream(&h4mk);
    assert!(n >= 40 * 1024 * 2 * 2, "{encoder}: {n} bytes decoded");
    for (m, out) in others.iter().zip(&outs) {
        let (theirs, m_n) = decoded_stream(out);
        assert_eq!(
            (ours, n),
            (theirs, m_n),
            "{encoder}: the same samples as through {m}"
        );
    }
}

#[test]
fn h264() {
    video_same_as_matroska("x264enc speed-preset=ultrafast bframes=2 key-int-max=8 ! h264parse");
}

#[test]
fn h265() {
    video_same_as_matroska("x265enc speed-preset=ultrafast key-int-max=8 ! h265parse");
}

#[test]
fn vp8_and_vp9() {
    video_same_as_matroska("vp8enc deadline=1 keyframe-max-dist=8");
    video_same_as_matroska("vp9enc deadline=1 cpu-used=8 keyframe-max-dist=8");
}

#[test]
fn av1() {
    video_same_as_matroska(
        "av1enc cpu-used=8 end-usage=q max-quantizer=60 min-quantizer=50 ! av1parse",
    );
}

#[test]
fn theora_with_in_band_headers() {
    video_same_as_matroska("theoraenc");
}

#[test]
fn mjpeg_and_raw_video() {
    video_same_as_matroska("jpegenc");
    video_same_as_matroska("identity");
}

#[test]
fn opus_is_gapless() {
    // opusenc marks encoder priming and end padding with GstAudioClippingMeta.
    audio_same_as("opusenc", &["matroskamux"]);
}

#[test]
fn vorbis_and_flac_with_in_band_headers() {
    audio_same_as("vorbisenc", &["matroskamux"]);
    audio_same_as("flacenc", &["matroskamux"]);
}

#[test]
fn mp3_aac_and_raw_audio() {
    audio_same_as("lamemp3enc ! mpegaudioparse", &["matroskamux"]);
    audio_same_as("avenc_aac ! aacparse", &["matroskamux", "mp4mux"]);
    audio_same_as("identity", &["matroskamux"]);
}

/// speexenc's first data buffer has no timestamp: h4mkmux places it where the stream starts.
/// matroskamux stamps it 7 ms late and speexdec then drops 640 samples; through H4MK the
/// samples are exactly those of decoding the encoder's output directly.
#[test]
fn speex_decodes_as_the_encoder_output_does() {
    let (d, h4mk, _) = mux(AUDIO, "speexenc", &[]);
    let direct = d.path().join("direct.raw").display().to_string();
    run(
        &pipeline(&format!(
            "{AUDIO} ! speexenc ! speexdec ! filesink location={direct}"
        )),
        60,
    );
    let want = std::fs::read(&direct).unwrap();
    let (ours, n) = decoded_stream(&h4mk);
    assert_eq!(n, want.len());
    assert_eq!(ours, <[u8; 32]>::from(Sha256::digest(&want)));
}

/// Linked without a pad name, a stream gets the pad of its kind.
#[test]
fn request_pads_are_named_after_what_is_linked() {
    let (_d, path) = tmp("n.h4mk");
    let p = pipeline(&format!(
        "{AUDIO} ! opusenc ! m.  {VIDEO} ! jpegenc ! m.  appsrc name=a caps=application/x-any ! capsfilter caps=application/x-any ! m. \
         h4mkmux name=m ! filesink location={path}"
    ));
    let m = p.by_name("m").unwrap();
    let mut names: Vec<String> = m.sink_pads().iter().map(|p| p.name().to_string()).collect();
    names.sort();
    assert_eq!(names, ["audio_0", "data_0", "video_0"]);
}
