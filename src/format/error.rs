//! Typed errors with stable codes, the chunk ordinal and the byte offset they concern.

use std::fmt;

/// A stable, machine-readable error code. The string form (`as_str`) is part of the
/// public contract: scripts and tests match on it, so variants are never renamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// Reading or writing the underlying file or stream failed.
    Io,
    /// The file does not start with the `H4MK` magic.
    FileMagic,
    /// The file header names a major version this reader does not implement.
    FileVersion,
    /// The stored CRC32 of a chunk differs from the one computed over its bytes.
    ChunkCrcMismatch,
    /// A chunk declares a payload larger than the format allows.
    ChunkSizeLimit,
    /// A chunk declares more bytes than the file holds after it.
    ChunkTruncated,
    /// A chunk's payload does not decode as its type requires.
    ChunkMalformed,
    /// A chunk stands where the format does not allow it (e.g. a block before META).
    ChunkOrder,
    /// A chunk is not accounted for by the integrity chunk that should list it.
    ChunkUnlisted,
    /// A non-block chunk's SHA-256 differs from the digest its integrity chunk lists.
    ChunkDigestMismatch,
    /// META is not valid JSON of the documented shape.
    MetaInvalid,
    /// A block names a track META does not declare, or its per-track index goes backwards.
    BlockTrack,
    /// A block's leaf hash differs from the one stored in its HASH chunk.
    BlockHashMismatch,
    /// A HASH chunk's running Merkle root differs from the one computed.
    HashRootMismatch,
    /// The VERI Merkle root or leaf count differs from the one computed.
    VeriRootMismatch,
    /// The file has no VERI chunk (recording cut short or not finished).
    VeriAbsent,
    /// The file has no SEEK chunk.
    SeekAbsent,
    /// A SEEK entry does not match the block it names.
    SeekEntryMismatch,
    /// TAIL does not point at this file's SEEK and VERI, or the file length differs.
    TailMismatch,
    /// A caller handed the writer something the format cannot represent.
    InvalidInput,
    /// A block that repair kept although the original file's integrity contradicted it (META's
    /// `repaired.unverified`).
    BlockUnverified,
    /// A SIGN chunk whose signature fails, or that does not match the chunk it claims to sign.
    SignInvalid,
    /// Trust was asked for and the file (or its VERI) carries no signature.
    SignAbsent,
    /// The file is signed, but not by a key the reader trusts.
    SignUntrusted,
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::FileMagic => "file.magic",
            Code::FileVersion => "file.version",
            Code::ChunkCrcMismatch => "chunk.crc.mismatch",
            Code::ChunkSizeLimit => "chunk.size.limit",
            Code::ChunkTruncated => "chunk.truncated",
            Code::ChunkMalformed => "chunk.malformed",
            Code::ChunkOrder => "chunk.order",
            Code::ChunkUnlisted => "chunk.unlisted",
            Code::ChunkDigestMismatch => "chunk.digest.mismatch",
            Code::MetaInvalid => "meta.invalid",
            Code::BlockTrack => "block.track",
            Code::BlockHashMismatch => "block.hash.mismatch",
            Code::HashRootMismatch => "hash.root.mismatch",
            Code::VeriRootMismatch => "veri.root.mismatch",
            Code::VeriAbsent => "veri.absent",
            Code::SeekAbsent => "seek.absent",
            Code::SeekEntryMismatch => "seek.entry.mismatch",
            Code::TailMismatch => "tail.mismatch",
            Code::InvalidInput => "input.invalid",
            Code::BlockUnverified => "block.unverified",
            Code::SignInvalid => "sign.invalid",
            Code::SignAbsent => "sign.absent",
            Code::SignUntrusted => "sign.untrusted",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error (or a verification finding) located in the file where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    /// Ordinal of the chunk concerned (0 is the file header chunk).
    pub chunk: Option<u64>,
    /// Byte offset of the start of that chunk, or of the problem.
    pub offset: Option<u64>,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            chunk: None,
            offset: None,
            message: message.into(),
        }
    }

    pub fn at(code: Code, chunk: u64, offset: u64, message: impl Into<String>) -> Self {
        Error {
            code,
            chunk: Some(chunk),
            offset: Some(offset),
            message: message.into(),
        }
    }

    pub fn with_location(mut self, chunk: u64, offset: u64) -> Self {
        self.chunk.get_or_insert(chunk);
        self.offset.get_or_insert(offset);
        self
    }

    /// Adds the byte offset when the error does not have one yet.
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset.get_or_insert(offset);
        self
    }

    pub fn io(err: std::io::Error, what: &str) -> Self {
        Error::new(Code::Io, format!("{what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        match (self.chunk, self.offset) {
            (Some(c), Some(o)) => write!(f, " (chunk {c}, offset {o})")?,
            (None, Some(o)) => write!(f, " (offset {o})")?,
            (Some(c), None) => write!(f, " (chunk {c})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Error {}
