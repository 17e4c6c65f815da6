//! The audio tokenizer behind `h4fftfilter`, free of GStreamer types: windows, a reusable FFT
//! analyser that finds the strongest spectral peaks of a frame, the framer that cuts a sample
//! stream into (possibly overlapping) frames, and the binary layout of a token frame.

pub mod analyzer;
pub mod framer;
pub mod samples;
pub mod tokens;
pub mod window;

pub use analyzer::{Analyzer, Transform};
pub use framer::Framer;
pub use window::Window;

/// One spectral peak of a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// FFT bin of the local maximum (0 ..= frame_size / 2).
    pub bin: u32,
    /// Interpolated frequency, in Hz.
    pub frequency: f32,
    /// Interpolated peak level in dB relative to a full-scale sine (a sine of amplitude 1.0
    /// gives about 0 dB).
    pub magnitude: f32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The frame size is not a power of two in the accepted range.
    FrameSize(usize),
    /// More peaks asked for than a frame has bins.
    TopK { top_k: usize, bins: usize },
    /// A token frame that does not follow the layout.
    Malformed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::FrameSize(n) => write!(
                f,
                "frame-size {n} is not a power of two between {} and {}",
                analyzer::MIN_FRAME,
                analyzer::MAX_FRAME
            ),
            Error::TopK { top_k, bins } => {
                write!(f, "top-k {top_k} is larger than the {bins} bins of a frame")
            }
            Error::Malformed(why) => write!(f, "malformed token frame: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// Checks a tokenizer configuration before any audio flows.
pub fn check_config(frame_size: usize, top_k: usize) -> Result<(), Error> {
    if !frame_size.is_power_of_two()
        || !(analyzer::MIN_FRAME..=analyzer::MAX_FRAME).contains(&frame_size)
    {
        return Err(Error::FrameSize(frame_size));
    }
    let bins = frame_size / 2 + 1;
    if top_k == 0 || top_k > bins {
        return Err(Error::TopK { top_k, bins });
    }
    Ok(())
}
