//! Caps and tags as typed JSON, and what a person wants to know of a track (codec, picture,
//! sound, rate), for `inspect`.

use gst::prelude::*;
use serde_json::{Value, json};

/// A GStreamer value as JSON: numbers and booleans as such, fractions as `{"num", "den"}`,
/// buffers as hex, lists and arrays as arrays, anything else as its serialized text.
fn value(v: &gst::glib::SendValue) -> Value {
    if let Ok(x) = v.get::<i32>() {
        return json!(x);
    }
    if let Ok(x) = v.get::<u32>() {
        return json!(x);
    }
    if let Ok(x) = v.get::<i64>() {
        return json!(x);
    }
    if let Ok(x) = v.get::<u64>() {
        return json!(x);
    }
    if let Ok(x) = v.get::<f64>() {
        return json!(x);
    }
    if let Ok(x) = v.get::<bool>() {
        return json!(x);
    }
    if let Ok(x) = v.get::<String>() {
        return json!(x);
    }
    if let Ok(f) = v.get::<gst::Fraction>() {
        return json!({"num": f.numer(), "den": f.denom()});
    }
    if let Ok(b) = v.get::<gst::Buffer>() {
        return b
            .map_readable()
            .map_or(Value::Null, |m| json!(gsth4::format::merkle::hex(&m)));
    }
    if let Ok(a) = v.get::<gst::Array>() {
        return Value::Array(a.iter().map(value).collect());
    }
    if let Ok(l) = v.get::<gst::List>() {
        return Value::Array(l.iter().map(value).collect());
    }
    v.serialize().map_or(Value::Null, |s| json!(s.as_str()))
}

/// `{"media_type": …, "fields": {…}}` of the first structure of `caps`.
pub fn caps_json(caps: &gst::Caps) -> Value {
    let Some(s) = caps.structure(0) else {
        return Value::Null;
    };
    let fields: serde_json::Map<String, Value> = s
        .iter()
        .map(|(name, v)| (name.to_string(), value(v)))
        .collect();
    json!({"media_type": s.name().as_str(), "fields": fields})
}

/// A tag list as `{tag: value}` (`[values]` when a tag has several).
pub fn tags_json(tags: &str) -> Value {
    let Some(list) = gsth4::convert::tags_from_string(tags) else {
        return json!(tags);
    };
    let mut out = serde_json::Map::new();
    for (name, values) in list.iter_generic() {
        let mut all: Vec<Value> = values.map(value).collect();
        out.insert(
            name.to_string(),
            if all.len() == 1 {
                all.remove(0)
            } else {
                Value::Array(all)
            },
        );
    }
    Value::Object(out)
}

/// What the caps say of the picture or sound: width, height, frame rate, sample rate,
/// channels, and the codec as GStreamer describes it.
pub struct Media {
    pub codec: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub framerate: Option<gst::Fraction>,
    pub rate: Option<i32>,
    pub channels: Option<i32>,
}

/// The caps of the media inside: masked caps are described by their original media type.
pub fn media(caps: &gst::Caps) -> Media {
    let mut clear = caps.clone();
    if let Ok(u) = gsth4::h4mask::caps::unmask_caps(caps) {
        clear = u.caps;
    }
    let s = clear.structure(0);
    let int = |f: &str| s.and_then(|s| s.get::<i32>(f).ok());
    Media {
        codec: gst_pbutils::pb_utils_get_codec_description(&clear).to_string(),
        width: int("width"),
        height: int("height"),
        framerate: s
            .and_then(|s| s.get::<gst::Fraction>("framerate").ok())
            .filter(|f| f.numer() > 0),
        rate: int("rate"),
        channels: int("channels"),
    }
}
