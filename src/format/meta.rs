//! META: the self-describing JSON track table, writer identity and checkpoint policy.
//!
//! Serialization is deterministic: fields are written in declaration order, without
//! whitespace, so the same `Meta` always gives the same bytes.

use serde::{Deserialize, Serialize};

use crate::format::error::{Code, Error, Result};

pub const MAX_TRACKS: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackKind {
    Video,
    Audio,
    Text,
    Data,
}

impl TrackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
            TrackKind::Text => "text",
            TrackKind::Data => "data",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub id: u32,
    pub kind: TrackKind,
    /// The GStreamer caps string, byte-exact (including `codec_data`).
    pub caps: String,
    /// Per-stream tags as a serialized GStreamer tag list, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Nanoseconds to subtract from this track's block times to get stream time (the
    /// upstream segment's `start - time`): tracks stamped on different bases share one
    /// timeline through it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub time_offset: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl Track {
    /// Stream time of a block time of this track (saturating at 0).
    pub fn stream_time(&self, block_time: u64) -> u64 {
        (i128::from(block_time) - i128::from(self.time_offset)).clamp(0, i128::from(u64::MAX - 1))
            as u64
    }

    /// Block time of this track at a stream time (saturating).
    pub fn block_time(&self, stream_time: u64) -> u64 {
        (i128::from(stream_time) + i128::from(self.time_offset)).clamp(0, i128::from(u64::MAX - 1))
            as u64
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterIdentity {
    pub name: String,
    pub version: String,
    pub commit: String,
}

impl WriterIdentity {
    /// This build of gst-h4.
    pub fn this_build() -> Self {
        WriterIdentity {
            name: "gst-h4".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            commit: option_env!("COMMIT_ID").unwrap_or("unknown").into(),
        }
    }
}

/// When the writer emits a HASH checkpoint: after the block that makes any limit reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointPolicy {
    /// Media time spanned by the blocks of one checkpoint, in nanoseconds.
    pub span_ns: u64,
    /// Blocks in one checkpoint.
    pub blocks: u32,
    /// Block chunk bytes in one checkpoint.
    pub bytes: u64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        CheckpointPolicy {
            span_ns: 2_000_000_000,
            blocks: 1024,
            bytes: 64 << 20,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub writer: WriterIdentity,
    pub checkpoint: CheckpointPolicy,
    pub tracks: Vec<Track>,
    /// Global tags as a serialized GStreamer tag list, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Set by repair: the file was rewritten from a damaged or edited one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repaired: Option<Repaired>,
    /// Who signs the file: each HASH checkpoint and VERI is followed by a SIGN chunk made with
    /// this key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<Signer>,
}

/// The key that signs a file, by its public identifier (the SIGN chunks carry the public key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// `ed25519`.
    pub algorithm: String,
    /// Hex of the first 16 bytes of SHA-256 of the public key.
    pub key_id: String,
}

impl Signer {
    pub fn of(key: &crate::crypto::signing::PublicKey) -> Signer {
        Signer {
            algorithm: "ed25519".into(),
            key_id: key.id().to_string(),
        }
    }
}

/// What repair records in the file it writes (bound by the new file's integrity like all of
/// META): where the blocks came from, and which of them the original integrity contradicted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repaired {
    /// The original file's Merkle root (hex), when its VERI checked out.
    pub from_root: Option<String>,
    /// The software that repaired it.
    pub writer: WriterIdentity,
    /// Blocks kept (`--keep-unverified`) although their leaf hash disagreed with the
    /// original file's HASH or VERI, by track and block index; verify names each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<BlockId>,
}

/// A block by its track and per-track index (both kept by repair).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlockId {
    pub track: u32,
    pub index: u64,
}

impl Meta {
    pub fn new(tracks: Vec<Track>) -> Self {
        Meta {
            writer: WriterIdentity::this_build(),
            checkpoint: CheckpointPolicy::default(),
            tracks,
            tags: None,
            repaired: None,
            signer: None,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("META serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let meta: Meta = serde_json::from_slice(bytes)
            .map_err(|e| Error::new(Code::MetaInvalid, format!("META is not valid: {e}")))?;
        meta.validate()?;
        Ok(meta)
    }

    pub fn validate(&self) -> Result<()> {
        if self.tracks.len() > MAX_TRACKS {
            return Err(Error::new(
                Code::MetaInvalid,
                format!(
                    "{} tracks exceed the limit of {MAX_TRACKS}",
                    self.tracks.len()
                ),
            ));
        }
        let mut ids: Vec<u32> = self.tracks.iter().map(|t| t.id).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::new(
                Code::MetaInvalid,
                format!("track id {} is declared twice", w[0]),
            ));
        }
        let p = &self.checkpoint;
        if p.span_ns == 0 || p.blocks == 0 || p.bytes == 0 {
            return Err(Error::new(
                Code::MetaInvalid,
                "checkpoint limits must be non-zero",
            ));
        }
        Ok(())
    }

    pub fn track(&self, id: u32) -> Option<&Track> {
        self.tracks.iter().find(|t| t.id == id)
    }

    /// META bytes `json` with member `name` set to `value`. When `json` lacks the member, it is
    /// appended before the closing brace, so every byte written before stays (members this
    /// version does not know included); otherwise META is re-serialized with the new value.
    pub fn json_with<T: Serialize>(json: &[u8], name: &str, value: &T) -> Result<(Vec<u8>, Meta)> {
        let invalid =
            |e: serde_json::Error| Error::new(Code::MetaInvalid, format!("META is not valid: {e}"));
        Meta::from_json(json)?;
        let mut members: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(json).map_err(invalid)?;
        let out = match json.strip_suffix(b"}") {
            Some(open) if !members.contains_key(name) => {
                let mut out = open.to_vec();
                out.push(b',');
                out.extend_from_slice(&serde_json::to_vec(name).map_err(invalid)?);
                out.push(b':');
                out.extend_from_slice(&serde_json::to_vec(value).map_err(invalid)?);
                out.push(b'}');
                out
            }
            _ => {
                members.insert(name.into(), serde_json::to_value(value).map_err(invalid)?);
                let meta: Meta =
                    serde_json::from_value(serde_json::Value::Object(members)).map_err(invalid)?;
                meta.to_json()
            }
        };
        let meta = Meta::from_json(&out)?;
        Ok((out, meta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_compact_ordered_and_round_trips() {
        let mut m = Meta::new(vec![Track {
            id: 3,
            kind: TrackKind::Audio,
            caps: "audio/x-opus".into(),
            tags: None,
            time_offset: 0,
        }]);
        m.writer = WriterIdentity {
            name: "w".into(),
            version: "1".into(),
            commit: "c".into(),
        };
        let json = String::from_utf8(m.to_json()).unwrap();
        assert_eq!(
            json,
            r#"{"writer":{"name":"w","version":"1","commit":"c"},"checkpoint":{"span_ns":2000000000,"blocks":1024,"bytes":67108864},"tracks":[{"id":3,"kind":"audio","caps":"audio/x-opus"}]}"#
        );
        assert_eq!(Meta::from_json(json.as_bytes()).unwrap(), m);
    }

    #[test]
    fn duplicate_tracks_and_garbage_are_rejected() {
        let t = Track {
            id: 1,
            kind: TrackKind::Data,
            caps: "x".into(),
            tags: None,
            time_offset: 0,
        };
        let m = Meta::new(vec![t.clone(), t]);
        assert_eq!(
            Meta::from_json(&m.to_json()).unwrap_err().code,
            Code::MetaInvalid
        );
        assert_eq!(
            Meta::from_json(b"{\"tracks\":").unwrap_err().code,
            Code::MetaInvalid
        );
    }
}
