//! A container's output as berth passes it on: pieces of bytes, each from one stream. The
//! engine multiplexes stdout and stderr into one connection unless the process has a TTY,
//! where both arrive merged as the terminal's output.

use bytes::Bytes;

/// Which stream a piece of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
    /// A TTY's output: stdout and stderr merged by the terminal, as the process wrote them.
    Terminal,
}

/// One piece of a container's output, as the engine framed it (not necessarily a line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub stream: OutputStream,
    pub bytes: Bytes,
}

impl OutputChunk {
    /// A demultiplexed frame; `None` for the echo of stdin, which berth never shows.
    pub(super) fn from_bollard(o: bollard::container::LogOutput) -> Option<OutputChunk> {
        use bollard::container::LogOutput as L;
        let (stream, bytes) = match o {
            L::StdOut { message } => (OutputStream::Stdout, message),
            L::StdErr { message } => (OutputStream::Stderr, message),
            L::Console { message } => (OutputStream::Terminal, message),
            L::StdIn { .. } => return None,
        };
        Some(OutputChunk { stream, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::container::LogOutput;

    #[test]
    fn frames_keep_their_stream_and_stdin_is_dropped() {
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        let out = OutputChunk::from_bollard(LogOutput::StdErr { message: b("e\n") }).unwrap();
        assert_eq!(out.stream, OutputStream::Stderr);
        assert_eq!(out.bytes, b("e\n"));
        let tty = OutputChunk::from_bollard(LogOutput::Console { message: b("$ ") }).unwrap();
        assert_eq!(tty.stream, OutputStream::Terminal);
        assert!(OutputChunk::from_bollard(LogOutput::StdIn { message: b("x") }).is_none());
    }
}
