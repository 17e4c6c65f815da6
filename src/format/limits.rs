//! Every resource budget of the readers, in one place. docs/SECURITY.md states them as promises;
//! tests/hostile.rs holds the readers to them.
//!
//! - Memory: a reader holds at most one chunk (never more than [`MAX_CHUNK`]) plus one read of
//!   [`READ_PIECE`] bytes, plus the keyframe index. Buffers grow only with bytes actually read,
//!   never to a size a field claims; a claim is checked first against the bytes that can back it
//!   (the file's length when it is known).
//! - Resynchronisation after damage: each byte scanned is examined once as a possible chunk
//!   start, and each candidate costs at most two [`STRIDE`](super::range_crc::STRIDE)s of CRC
//!   and one CRC shift, whatever size it claims. The damaged bytes themselves are not kept.
//! - Index: the SEEK chunk is read only after its header has been checked against TAIL, and
//!   never beyond [`MAX_CHUNK`].

use crate::format::chunk::CHUNK_HEADER_LEN;

/// The largest payload a chunk may declare (256 MiB).
pub const MAX_PAYLOAD: u32 = 256 << 20;

/// The largest chunk, header included.
pub const MAX_CHUNK: u64 = CHUNK_HEADER_LEN as u64 + MAX_PAYLOAD as u64;

/// How much a reader asks for at a time when it scans (1 MiB).
pub const READ_PIECE: usize = 1 << 20;

/// The largest key file accepted (a key file holds 32 raw bytes or 64 hex digits).
pub const MAX_KEY_FILE: u64 = 1024;
