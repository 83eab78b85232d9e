//! The `file` sink: appends each effect as one line of JSON (a CloudEvent per line) to a file,
//! one `write` per batch, synced per batch unless `fsync = false`. A failed write is cut back,
//! so the file never keeps half a batch; a retried batch may appear twice (at least once).

use super::{Sink, SinkError, json_lines};
use crate::effect::EffectOut;
use crate::outbox::OutboxError;
use crate::outbox::config::SinkConfig;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A `file` sink; clones share the open file (both lanes of one sink write one file).
///
/// Appends each effect as one line of JSON (its CloudEvent), one write per batch, synced per
/// batch unless `fsync` is off. A failed write is cut back, so the file never keeps part of a
/// batch, and is transient; a retried batch may appear twice.
#[derive(Clone)]
pub struct FileSink {
    file: Arc<Mutex<File>>,
    path: PathBuf,
    fsync: bool,
    lines: Vec<u8>,
}

impl FileSink {
    /// Opens (creating) the file of `c` for appending.
    ///
    /// # Panics
    ///
    /// When `c.path` is `None` (a validated `file` configuration has a path).
    pub fn open(c: &SinkConfig) -> Result<FileSink, OutboxError> {
        let path = c.path.clone().expect("validated: a file sink has a path");
        FileSink::open_path(&path, c.fsync)
    }

    /// Opens (creating) `path` for appending; `fsync`: sync the file after every batch.
    pub fn open_path(path: &Path, fsync: bool) -> Result<FileSink, OutboxError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| OutboxError::io(path, e))?;
        Ok(FileSink {
            file: Arc::new(Mutex::new(file)),
            path: path.to_owned(),
            fsync,
            lines: Vec::new(),
        })
    }
}

impl Sink for FileSink {
    fn deliver(&mut self, batch: &[EffectOut]) -> Result<(), SinkError> {
        json_lines(batch, &mut self.lines);
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let fail = |what: &str, e: std::io::Error| {
            SinkError::transient(format!("{what} {}: {e}", self.path.display()))
        };
        let before = file.metadata().map_err(|e| fail("cannot stat", e))?.len();
        if let Err(e) = file.write_all(&self.lines) {
            let _ = file.set_len(before);
            return Err(fail("cannot append to", e));
        }
        if self.fsync {
            file.sync_data().map_err(|e| fail("cannot sync", e))?;
        }
        // Bounded: a batch's lines are at most batch_max_bytes plus one effect.
        if self.lines.capacity() > 4 << 20 {
            self.lines = Vec::new();
        }
        Ok(())
    }
}
