//! The sink pad's upstream, read at offsets with `pull_range`, as a `ReadAt` for the reader.

use std::io;

use gst::prelude::*;

use crate::format::source::ReadAt;

pub struct PadSource {
    pub pad: gst::Pad,
    pub len: u64,
}

impl PadSource {
    /// The upstream length in bytes, from a DURATION query.
    pub fn new(pad: &gst::Pad) -> Option<Self> {
        let len = pad.peer_query_duration::<gst::format::Bytes>()?;
        Some(PadSource {
            pad: pad.clone(),
            len: *len,
        })
    }
}

pub fn flow_to_io(flow: gst::FlowError) -> io::Error {
    let kind = match flow {
        gst::FlowError::Eos => io::ErrorKind::UnexpectedEof,
        gst::FlowError::Flushing => io::ErrorKind::Interrupted,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("pull_range: {flow:?}"))
}

impl ReadAt for PadSource {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let b = self
            .pad
            .pull_range(offset, buf.len() as u32)
            .map_err(flow_to_io)?;

        b.copy_to_slice(0, buf).map_err(|n| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("short read: {n} bytes"),
            )
        })
    }

    fn size(&mut self) -> io::Result<u64> {
        Ok(self.len)
    }
}
