//! H4MK version 1 as bytes: framing, records, the writer, the readers and verification.
//! Nothing here knows about GStreamer; docs/H4MK.md is the specification this implements.

pub mod block;
pub mod capture;
pub mod chunk;
pub mod error;
#[cfg(test)]
pub mod fixture;
pub mod header;
pub mod index_load;
pub mod integrity;
pub mod item;
pub mod limits;
pub mod merkle;
pub mod meta;
pub mod multi_sha256;
pub mod proof;
pub mod range_crc;
pub mod reader;
pub mod repair;
pub mod scan;
pub mod seek;
pub mod seek_plan;
pub mod sign_file;
pub mod signature;
pub mod source;
pub mod tail;
pub mod verify;
pub mod writer;

pub use block::{BlockFlags, BlockHeader};
pub use error::{Code, Error, Result};
pub use meta::{Meta, Track, TrackKind, WriterIdentity};
pub use writer::{NewBlock, Writer};
