//! The header that starts every CORE and SAFE payload, and the block flags.

use crate::format::chunk::PayloadReader;
use crate::format::error::{Code, Error, Result};

pub const BLOCK_HEADER_LEN: usize = 40;

/// Bytes of the clipping record that follows the header of a `CLIPPED` block.
pub const CLIPPING_LEN: usize = 20;

/// Stored value meaning "no time" for PTS, DTS and duration.
pub const TIME_NONE: u64 = u64::MAX;

/// Per-block flags. Bits not defined here are preserved by readers and written as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BlockFlags(pub u32);

impl BlockFlags {
    /// A random-access point: the upstream buffer had no `DELTA_UNIT` flag. Indexed in SEEK.
    pub const KEYFRAME: u32 = 1 << 0;
    /// Stream headers (GStreamer `HEADER`).
    pub const HEADER: u32 = 1 << 1;
    /// Decode but do not present (GStreamer `DECODE_ONLY`).
    pub const DECODE_ONLY: u32 = 1 << 2;
    /// The block stands for a gap in the stream (GStreamer `GAP`).
    pub const GAP: u32 = 1 << 3;
    /// May be dropped without harming decoding of others (GStreamer `DROPPABLE`).
    pub const DROPPABLE: u32 = 1 << 4;
    /// The producer knew the data to be corrupt (GStreamer `CORRUPTED`).
    pub const CORRUPTED: u32 = 1 << 5;
    /// Media-specific marker, e.g. end of frame in RTP (GStreamer `MARKER`).
    pub const MARKER: u32 = 1 << 6;
    /// Must not be dropped (GStreamer `NON_DROPPABLE`).
    pub const NON_DROPPABLE: u32 = 1 << 7;
    /// A clipping record follows the header (GStreamer `GstAudioClippingMeta`): set by the
    /// writer exactly when the block has one.
    pub const CLIPPED: u32 = 1 << 8;

    pub fn contains(self, bit: u32) -> bool {
        self.0 & bit == bit
    }
    pub fn is_keyframe(self) -> bool {
        self.contains(Self::KEYFRAME)
    }

    /// Names of the set flags, for human output.
    pub fn names(self) -> Vec<&'static str> {
        const NAMES: [(u32, &str); 9] = [
            (BlockFlags::KEYFRAME, "keyframe"),
            (BlockFlags::HEADER, "header"),
            (BlockFlags::DECODE_ONLY, "decode-only"),
            (BlockFlags::GAP, "gap"),
            (BlockFlags::DROPPABLE, "droppable"),
            (BlockFlags::CORRUPTED, "corrupted"),
            (BlockFlags::MARKER, "marker"),
            (BlockFlags::NON_DROPPABLE, "non-droppable"),
            (BlockFlags::CLIPPED, "clipped"),
        ];
        NAMES
            .iter()
            .filter(|(b, _)| self.contains(*b))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// The unit of a clipping record's amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClipUnit {
    /// Audio samples (per channel): GStreamer's `DEFAULT` format, stored as 2.
    Samples,
    /// Nanoseconds: GStreamer's `TIME` format, stored as 3.
    Nanoseconds,
}

impl ClipUnit {
    fn code(self) -> u32 {
        match self {
            ClipUnit::Samples => 2,
            ClipUnit::Nanoseconds => 3,
        }
    }
}

/// How much of a block's decoded audio is not to be played: encoder priming at the start of a
/// stream, padding at its end (GStreamer's `GstAudioClippingMeta`, Matroska's `CodecDelay` and
/// `DiscardPadding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clipping {
    pub unit: ClipUnit,
    /// Dropped from the start of the block's decoded output.
    pub start: u64,
    /// Dropped from its end.
    pub end: u64,
}

/// Timing and identity of one media block. Times are nanoseconds; `None` is stored as
/// [`TIME_NONE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockHeader {
    pub track: u32,
    /// As stored; `CLIPPED` is set exactly when `clipping` is some.
    pub flags: BlockFlags,
    /// Index of this block within its track (0 for the track's first block).
    pub index: u64,
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub duration: Option<u64>,
    pub clipping: Option<Clipping>,
}

/// A block header as stored: the fixed 40 bytes, then the clipping record when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; BLOCK_HEADER_LEN + CLIPPING_LEN],
    len: usize,
}

impl std::ops::Deref for EncodedHeader {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

fn time_in(v: u64) -> Option<u64> {
    (v != TIME_NONE).then_some(v)
}
fn time_out(v: Option<u64>) -> u64 {
    v.unwrap_or(TIME_NONE)
}

impl BlockHeader {
    /// The same block with its PTS and DTS `by` nanoseconds later (saturating).
    pub fn later_by(mut self, by: u64) -> Self {
        self.pts = self.pts.map(|t| t.saturating_add(by));
        self.dts = self.dts.map(|t| t.saturating_add(by));
        self
    }

    /// The header as stored; the `CLIPPED` flag follows `clipping`.
    pub fn encode(&self) -> EncodedHeader {
        let mut b = [0u8; BLOCK_HEADER_LEN + CLIPPING_LEN];
        let mut flags = self.flags.0 & !BlockFlags::CLIPPED;
        if self.clipping.is_some() {
            flags |= BlockFlags::CLIPPED;
        }
        b[0..4].copy_from_slice(&self.track.to_le_bytes());
        b[4..8].copy_from_slice(&flags.to_le_bytes());
        b[8..16].copy_from_slice(&self.index.to_le_bytes());
        b[16..24].copy_from_slice(&time_out(self.pts).to_le_bytes());
        b[24..32].copy_from_slice(&time_out(self.dts).to_le_bytes());
        b[32..40].copy_from_slice(&time_out(self.duration).to_le_bytes());
        let len = match self.clipping {
            None => BLOCK_HEADER_LEN,
            Some(c) => {
                b[40..44].copy_from_slice(&c.unit.code().to_le_bytes());
                b[44..52].copy_from_slice(&c.start.to_le_bytes());
                b[52..60].copy_from_slice(&c.end.to_le_bytes());
                BLOCK_HEADER_LEN + CLIPPING_LEN
            }
        };
        EncodedHeader { bytes: b, len }
    }

    /// Decodes the header at the start of a block payload (and its clipping record); returns
    /// it and the media data.
    pub fn decode(payload: &[u8]) -> Result<(BlockHeader, &[u8])> {
        let mut r = PayloadReader::new(payload, "block");
        let mut h = BlockHeader {
            track: r.u32()?,
            flags: BlockFlags(r.u32()?),
            index: r.u64()?,
            pts: time_in(r.u64()?),
            dts: time_in(r.u64()?),
            duration: time_in(r.u64()?),
            clipping: None,
        };
        if h.flags.contains(BlockFlags::CLIPPED) {
            let unit = match r.u32()? {
                2 => ClipUnit::Samples,
                3 => ClipUnit::Nanoseconds,
                other => {
                    return Err(Error::new(
                        Code::ChunkMalformed,
                        format!("block: clipping unit {other} is neither 2 (samples) nor 3 (ns)"),
                    ));
                }
            };
            h.clipping = Some(Clipping {
                unit,
                start: r.u64()?,
                end: r.u64()?,
            });
        }
        let data = r.take(r.remaining())?;
        Ok((h, data))
    }

    /// The time a block is indexed and interleaved by: PTS, else DTS.
    pub fn time(&self) -> Option<u64> {
        self.pts.or(self.dts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_little_endian_and_none_is_all_ones() {
        let h = BlockHeader {
            track: 0x0102_0304,
            flags: BlockFlags(BlockFlags::KEYFRAME | BlockFlags::HEADER),
            index: 7,
            pts: Some(1_000),
            dts: None,
            duration: Some(0),
            clipping: None,
        };
        let b = h.encode();
        assert_eq!(&b[0..4], &[4, 3, 2, 1]);
        assert_eq!(&b[4..8], &[3, 0, 0, 0]);
        assert_eq!(&b[24..32], &[0xff; 8]);
        let mut payload = b.to_vec();
        payload.extend_from_slice(b"xyz");
        let (back, data) = BlockHeader::decode(&payload).unwrap();
        assert_eq!(back, h);
        assert_eq!(data, b"xyz");
        assert!(BlockHeader::decode(&payload[..39]).is_err());
    }

    #[test]
    fn a_clipping_record_follows_the_header_and_sets_the_flag() {
        let h = BlockHeader {
            track: 1,
            flags: BlockFlags(BlockFlags::KEYFRAME),
            index: 0,
            pts: Some(0),
            dts: None,
            duration: Some(20_000_000),
            clipping: Some(Clipping {
                unit: ClipUnit::Samples,
                start: 312,
                end: 0x0102,
            }),
        };
        let b = h.encode();
        assert_eq!(b.len(), 60);
        assert_eq!(&b[4..8], &[1, 1, 0, 0], "KEYFRAME | CLIPPED");
        assert_eq!(&b[40..44], &[2, 0, 0, 0]);
        assert_eq!(&b[44..52], &312u64.to_le_bytes());
        assert_eq!(&b[52..60], &[2, 1, 0, 0, 0, 0, 0, 0]);
        let mut payload = b.to_vec();
        payload.extend_from_slice(b"opus");
        let (back, data) = BlockHeader::decode(&payload).unwrap();
        assert_eq!(back.clipping, h.clipping);
        assert!(back.flags.contains(BlockFlags::CLIPPED));
        assert_eq!(data, b"opus");
        // A record cut short, or a unit that is not 2 or 3, is an error.
        assert!(BlockHeader::decode(&payload[..59]).is_err());
        let mut bad = payload.clone();
        bad[40] = 7;
        let err = BlockHeader::decode(&bad).unwrap_err();
        assert!(err.message.contains("clipping unit 7"), "{}", err.message);
        // Without clipping, a stored CLIPPED flag is not written back.
        let plain = BlockHeader {
            flags: BlockFlags(BlockFlags::CLIPPED),
            ..BlockHeader::default()
        };
        assert_eq!(plain.encode().len(), 40);
        assert_eq!(&plain.encode()[4..8], &[0, 0, 0, 0]);
    }
}
