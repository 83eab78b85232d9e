//! Reading a file front to back through one bounded buffer, with `pread`: every reader of the
//! outbox's files (log segments, dead letters) keeps at most [`CHUNK_BYTES`] or one frame in
//! memory, whatever the file's size.
//!
//! A writer may be appending to the file meanwhile: a read short of what was asked for means
//! "not there yet", and [`Chunked::forget`] drops what was buffered so that the next attempt
//! reads the file again (a restarted writer may have cut and rewritten an unfinished tail).

use super::OutboxError;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes read ahead at a time.
pub(crate) const CHUNK_BYTES: usize = 256 << 10;

pub(crate) struct Chunked {
    path: PathBuf,
    file: File,
    /// Bytes of the file from `buf_off` on, as last read: `buf[..valid]`. The buffer keeps its
    /// length (zeroed once, when it grows), so a refill at the file's end costs a `pread`, not
    /// the zeroing of a whole chunk.
    buf: Vec<u8>,
    valid: usize,
    buf_off: u64,
    /// The most one call may ask for (the largest frame).
    max_bytes: usize,
}

impl Chunked {
    pub fn open(path: &Path, max_bytes: usize) -> Result<Chunked, OutboxError> {
        let file = File::open(path).map_err(|e| OutboxError::io(path, e))?;
        Ok(Chunked::new(path, file, max_bytes))
    }

    pub fn new(path: &Path, file: File, max_bytes: usize) -> Chunked {
        assert!(max_bytes > 0);
        Chunked {
            path: path.to_owned(),
            file,
            buf: Vec::new(),
            valid: 0,
            buf_off: 0,
            max_bytes,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Up to `n` bytes of the file at `offset` (fewer at its current end).
    pub fn get(&mut self, offset: u64, n: usize) -> Result<&[u8], OutboxError> {
        assert!(
            n <= self.max_bytes,
            "{n} bytes asked, limit {}",
            self.max_bytes
        );
        let covered =
            offset >= self.buf_off && offset + n as u64 <= self.buf_off + self.valid as u64;
        if !covered {
            self.refill(offset, n)?;
        }
        let from = (offset - self.buf_off) as usize;
        let to = (from + n).min(self.valid);
        Ok(&self.buf[from.min(to)..to])
    }

    fn refill(&mut self, offset: u64, n: usize) -> Result<(), OutboxError> {
        let want = n.max(CHUNK_BYTES);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        self.valid = 0;
        let mut got = 0;
        while got < want {
            match self
                .file
                .read_at(&mut self.buf[got..want], offset + got as u64)
            {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.forget();
                    return Err(OutboxError::io(&self.path, e));
                }
            }
        }
        self.valid = got;
        self.buf_off = offset;
        debug_assert!(self.valid <= self.buf.len());
        debug_assert!(self.buf.capacity() <= self.max_bytes.max(CHUNK_BYTES) * 2);
        Ok(())
    }

    /// Drops what was buffered: the next [`Self::get`] reads the file again.
    pub fn forget(&mut self) {
        self.valid = 0;
        self.buf_off = 0;
    }

    /// Whether every byte of the file from `offset` to its end is zero (what a power cut
    /// leaves of pages written but never flushed, on file systems that extend the file first).
    pub fn zero_from(&mut self, offset: u64) -> Result<bool, OutboxError> {
        let mut at = offset;
        loop {
            let bytes = self.get(at, CHUNK_BYTES.min(self.max_bytes))?;
            if bytes.is_empty() {
                return Ok(true);
            }
            if bytes.iter().any(|&b| b != 0) {
                return Ok(false);
            }
            at += bytes.len() as u64;
        }
    }
}
