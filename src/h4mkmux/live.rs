//! Live output (`streamable`, or a downstream that cannot seek): every chunk leaves as a buffer
//! of its own, the file header and the current META ride in the caps as `streamheader` so that
//! multifdsink-based sinks (tcpserversink, srtsink, hlssink's helpers) give them to each client
//! that joins, and every buffer but a keyframe block that can start playback is a DELTA_UNIT,
//! so `sync-method=latest-keyframe` starts a client there. The bytes are the file's bytes,
//! only cut at chunk boundaries.

use gst::prelude::*;

use crate::format::chunk::{
    CHUNK_HEADER_LEN, ChunkHeader, TAG_CORE, TAG_HEADER, TAG_META, TAG_SAFE,
};

/// The largest streamheader buffer (SRT's live-mode message size).
const STREAMHEADER_PIECE: usize = 1316;

/// What the live output keeps between buffers.
#[derive(Default)]
pub struct Live {
    /// The file header chunk, once written.
    header: Option<gst::Buffer>,
    /// The META chunk that describes the tracks as they are now.
    meta: Option<gst::Buffer>,
    /// The streamheader changed since the caps last said it.
    changed: bool,
}

/// How the block written with these bytes, if any, may start a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockStart {
    /// A keyframe of the track clients start on (the first video track, else any).
    Yes,
    No,
}

impl Live {
    /// Cuts `bytes` (whole chunks, as the writer produced them in one step) at chunk
    /// boundaries, without copying, and flags each piece. A META chunk replaces the one in
    /// the streamheader when `tracks_changed` (its tracks or caps differ from the last one
    /// sent; a META that only updates tags goes out in-band).
    pub fn cut(
        &mut self,
        bytes: &gst::Buffer,
        block: BlockStart,
        tracks_changed: bool,
    ) -> Result<Vec<gst::Buffer>, String> {
        let mut out = Vec::new();
        let mut at = 0usize;
        while at < bytes.size() {
            let mut head = [0u8; CHUNK_HEADER_LEN];
            bytes
                .copy_to_slice(at, &mut head)
                .map_err(|_| format!("a chunk header cut short at output byte {at}"))?;
            let h = ChunkHeader::parse(&head);
            let len = h.chunk_len() as usize;
            if at + len > bytes.size() {
                return Err(format!(
                    "a {} chunk of {len} bytes runs past the output at byte {at}",
                    String::from_utf8_lossy(&h.tag)
                ));
            }
            let mut chunk = bytes
                .copy_region(gst::BufferCopyFlags::MEMORY, at..at + len)
                .map_err(|_| "cannot cut the output".to_string())?;
            // The header, and a META that describes the tracks anew, go to the streamheader.
            let streamheader = match h.tag {
                TAG_HEADER => Some(&mut self.header),
                TAG_META if self.meta.is_none() || tracks_changed => Some(&mut self.meta),
                _ => None,
            };
            chunk.make_mut().set_flags(match (&streamheader, h.tag) {
                (Some(_), _) => gst::BufferFlags::HEADER,
                (None, TAG_CORE | TAG_SAFE) if block == BlockStart::Yes => {
                    gst::BufferFlags::empty()
                }
                _ => gst::BufferFlags::DELTA_UNIT,
            });
            if let Some(slot) = streamheader {
                *slot = Some(chunk.clone());
                self.changed = true;
            }
            out.push(chunk);
            at += len;
        }
        Ok(out)
    }

    /// The streamheader, when it changed since the last call: the caps to set.
    pub fn caps_update(&mut self, base: gst::Caps) -> Option<gst::Caps> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        let header = self.header.as_ref()?;
        let mut bytes = header.map_readable().ok()?.to_vec();
        if let Some(meta) = &self.meta {
            bytes.extend_from_slice(&meta.map_readable().ok()?);
        }
        // In pieces of at most STREAMHEADER_PIECE bytes: srtsink sends each streamheader
        // buffer as one SRT message, and a live-mode SRT message holds at most 1316 bytes (a
        // longer one breaks the connection). A reader sees the same bytes.
        let mut caps = base;
        let array = gst::Array::new(bytes.chunks(STREAMHEADER_PIECE).map(|piece| {
            let mut b = gst::Buffer::from_slice(piece.to_vec());
            b.make_mut().set_flags(gst::BufferFlags::HEADER);
            b.to_send_value()
        }));
        caps.make_mut().set("streamheader", array);
        Some(caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::fixture::{block, one_track_meta};
    use crate::format::writer::Writer;

    #[test]
    fn chunks_are_cut_whole_and_flagged_and_the_header_goes_to_the_caps() {
        gst::init().unwrap();
        let mut w = Writer::new(Vec::new(), &one_track_meta(0)).unwrap();
        let start = std::mem::take(w.get_mut());
        let mut write = |i: u64, key: bool| {
            w.write_block(&block(0, i, key), &[i as u8; 300]).unwrap();
            std::mem::take(w.get_mut())
        };
        let key = write(0, true);
        let delta = write(1, false);
        let mut live = Live::default();
        let mut first = start.clone();
        first.extend_from_slice(&key);
        let cut = live
            .cut(
                &gst::Buffer::from_slice(first.clone()),
                BlockStart::Yes,
                false,
            )
            .unwrap();
        assert_eq!(cut.len(), 3);
        let joined: Vec<u8> = cut
            .iter()
            .flat_map(|b| b.map_readable().unwrap().to_vec())
            .collect();
        assert_eq!(joined, first, "the bytes, only cut");
        assert_eq!(&cut[0].map_readable().unwrap()[..4], b"H4MK");
        assert!(cut[0].flags().contains(gst::BufferFlags::HEADER));
        assert!(cut[1].flags().contains(gst::BufferFlags::HEADER));
        assert!(!cut[2].flags().contains(gst::BufferFlags::DELTA_UNIT));
        let caps = live
            .caps_update(gst::Caps::new_empty_simple("video/x-h4mk"))
            .expect("a streamheader");
        let s = caps.structure(0).unwrap();
        let headers = s.get::<gst::ArrayRef>("streamheader").unwrap();
        let header_bytes: Vec<u8> = headers
            .iter()
            .flat_map(|v| {
                v.get::<gst::Buffer>()
                    .unwrap()
                    .map_readable()
                    .unwrap()
                    .to_vec()
            })
            .collect();
        assert_eq!(header_bytes, start, "the file header and META");
        assert!(live.caps_update(caps.clone()).is_none(), "unchanged");

        let cut = live
            .cut(
                &gst::Buffer::from_slice(delta.clone()),
                BlockStart::No,
                false,
            )
            .unwrap();
        assert_eq!(cut.len(), 1);
        assert!(cut[0].flags().contains(gst::BufferFlags::DELTA_UNIT));
        // A chunk cut short is an error, not a wrong cut.
        assert!(
            live.cut(
                &gst::Buffer::from_slice(delta[..40].to_vec()),
                BlockStart::No,
                false
            )
            .is_err()
        );
    }
}
