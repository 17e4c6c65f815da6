//! A progress line on stderr for long runs over large files, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Files smaller than this finish before a progress line would help.
const SHOW_ABOVE: u64 = 256 << 20;

pub struct Progress {
    label: &'static str,
    total: u64,
    start: Instant,
    last: Instant,
    enabled: bool,
}

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Self {
        let enabled = total > SHOW_ABOVE && std::io::stderr().is_terminal();
        Progress {
            label,
            total,
            start: Instant::now(),
            last: Instant::now(),
            enabled,
        }
    }

    pub fn update(&mut self, done: u64) {
        if !self.enabled || self.last.elapsed().as_millis() < 200 {
            return;
        }
        self.last = Instant::now();
        let secs = self.start.elapsed().as_secs_f64().max(1e-6);
        let pct = done as f64 * 100.0 / self.total.max(1) as f64;
        eprint!(
            "\r{}: {pct:5.1}% of {} MB, {:.0} MB/s ",
            self.label,
            self.total >> 20,
            done as f64 / secs / 1e6
        );
        let _ = std::io::stderr().flush();
    }

    pub fn done(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}

/// A reader that reports how far it has read.
pub struct ProgressReader<R> {
    inner: R,
    done: u64,
    progress: Progress,
}

impl<R> ProgressReader<R> {
    pub fn new(inner: R, progress: Progress) -> Self {
        ProgressReader {
            inner,
            done: 0,
            progress,
        }
    }
    pub fn finish(&self) {
        self.progress.done();
    }
}

/// Seeking keeps the count of bytes read (a reader that reads its input twice shows the two
/// passes as one progress).
impl<R: std::io::Seek> std::io::Seek for ProgressReader<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

impl<R: std::io::Read> std::io::Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.progress.update(self.done);
        Ok(n)
    }
}
