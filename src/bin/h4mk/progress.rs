//! A progress bar on stderr for long runs over large files (indicatif): only when stderr is a
//! terminal, never with `-q`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Files smaller than this finish before a progress bar would help.
const SHOW_ABOVE: u64 = 256 << 20;

pub struct Progress(ProgressBar);

impl Progress {
    pub fn new(label: &'static str, total: u64) -> Self {
        let bar = if total > SHOW_ABOVE && !crate::quiet() {
            // Hidden by indicatif itself when stderr is not a terminal.
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix}: {bar:30} {percent:>3}% of {total_bytes}, {bytes_per_sec}, {eta} left",
            )
            .expect("a valid template"),
        );
        bar.set_prefix(label);
        Progress(bar)
    }

    pub fn update(&mut self, done: u64) {
        self.0.set_position(done);
    }

    pub fn done(&self) {
        self.0.finish_and_clear();
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
