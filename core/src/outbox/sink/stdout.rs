//! The `stdout` sink: each effect as one line of JSON on standard output, a batch written and
//! flushed under one lock so lanes never interleave within a line.

use super::{Sink, SinkError, json_lines};
use crate::effect::EffectOut;
use std::io::Write;

/// The `stdout` sink: each effect as one line of JSON (its CloudEvent) on standard output, a
/// batch at a time. A failed write is transient.
#[derive(Default)]
pub struct StdoutSink {
    lines: Vec<u8>,
}

impl StdoutSink {
    /// A sink that writes to this process's standard output.
    pub fn new() -> StdoutSink {
        StdoutSink::default()
    }
}

impl Sink for StdoutSink {
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        json_lines(batch, &mut self.lines);
        let mut out = std::io::stdout().lock();
        out.write_all(&self.lines)
            .and_then(|()| out.flush())
            .map_err(|e| SinkError::transient(format!("cannot write to standard output: {e}")))
    }
}
