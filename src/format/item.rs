//! Typed view of one valid chunk.

use crate::format::block::BlockHeader;
use crate::format::chunk::{
    TAG_CORE, TAG_HASH, TAG_HEADER, TAG_META, TAG_SAFE, TAG_SEEK, TAG_SIGN, TAG_TAIL, TAG_VERI,
};
use crate::format::error::Result;
use crate::format::header::FileHeader;
use crate::format::integrity::{Checkpoint, Veri};
use crate::format::meta::Meta;
use crate::format::scan::RawChunk;
use crate::format::seek::SeekTable;
use crate::format::signature::Signature;
use crate::format::tail::Tail;

#[derive(Debug)]
pub enum Item<'a> {
    Header(FileHeader),
    Meta {
        meta: Meta,
        json: &'a [u8],
    },
    /// A CORE block, or a SAFE (masked) one when `masked`.
    Block {
        masked: bool,
        header: BlockHeader,
        data: &'a [u8],
    },
    Checkpoint(Checkpoint),
    Seek {
        table: SeekTable,
        payload: &'a [u8],
    },
    Veri(Veri),
    Tail(Tail),
    Signature(Signature),
    /// A chunk type this version does not know; readers skip it.
    Unknown,
}

/// Decodes a chunk; errors carry the chunk's ordinal and offset.
pub fn decode<'a>(c: &RawChunk<'a>) -> Result<Item<'a>> {
    let p = c.payload;
    let item = match c.header.tag {
        TAG_HEADER => FileHeader::decode(p).map(Item::Header),
        TAG_META => Meta::from_json(p).map(|meta| Item::Meta { meta, json: p }),
        TAG_CORE | TAG_SAFE => BlockHeader::decode(p).map(|(header, data)| Item::Block {
            masked: c.header.tag == TAG_SAFE,
            header,
            data,
        }),
        TAG_HASH => Checkpoint::decode(p).map(Item::Checkpoint),
        TAG_SEEK => SeekTable::from_payload(p).map(|table| Item::Seek { table, payload: p }),
        TAG_VERI => Veri::decode(p).map(Item::Veri),
        TAG_TAIL => Tail::decode(p).map(Item::Tail),
        TAG_SIGN => Signature::decode(p).map(Item::Signature),
        _ => Ok(Item::Unknown),
    };
    item.map_err(|e| e.with_location(c.ordinal, c.offset))
}
