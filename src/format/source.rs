//! Positional reads, so the random-access reader touches only the bytes it needs.

use std::io::{self, Read, Seek, SeekFrom};

/// A byte source read at explicit offsets.
pub trait ReadAt {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    fn size(&mut self) -> io::Result<u64>;
}

/// Any `Read + Seek` (a `File`, a `Cursor`) as a positional source.
#[derive(Debug)]
pub struct IoSource<R> {
    inner: R,
    len: Option<u64>,
}

impl<R: Read + Seek> IoSource<R> {
    pub fn new(inner: R) -> Self {
        IoSource { inner, len: None }
    }
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read + Seek> ReadAt for IoSource<R> {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(offset))?;
        self.inner.read_exact(buf)
    }
    fn size(&mut self) -> io::Result<u64> {
        if let Some(len) = self.len {
            return Ok(len);
        }
        let len = self.inner.seek(SeekFrom::End(0))?;
        self.len = Some(len);
        Ok(len)
    }
}

impl ReadAt for &[u8] {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let start = usize::try_from(offset).ok().filter(|s| *s <= self.len());
        let src = start.and_then(|s| self.get(s..s.checked_add(buf.len())?));
        match src {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the data",
            )),
        }
    }
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &mut T {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        (**self).read_exact_at(offset, buf)
    }
    fn size(&mut self) -> io::Result<u64> {
        (**self).size()
    }
}
