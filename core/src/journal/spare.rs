//! The next segment file, allocated and brought into the page cache on a background thread
//! while the current one fills, so that a rollover costs a header write and a rename, and the
//! writer's writes find their pages already there.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::{self, JoinHandle};

use super::JournalError;
use super::segment::{self, Opened};

/// Name of the preparing thread.
const THREAD_NAME: &str = "journal-spare";

/// A segment file being prepared (or ready) under its temporary name.
pub(crate) struct Spare {
    index: u64,
    segment_bytes: u64,
    populate: bool,
    path: PathBuf,
    /// `None` when no thread could be started: [`Spare::take`] then prepares it inline.
    handle: Option<JoinHandle<Result<Opened, JournalError>>>,
}

impl Spare {
    /// Starts preparing segment `index` of `segment_bytes` bytes in `dir` (its pages brought
    /// into the page cache when `populate`, see [`segment::allocate`]).
    pub fn start(dir: &Path, index: u64, segment_bytes: u64, populate: bool) -> Spare {
        let thread_dir = dir.to_owned();
        let handle = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || segment::allocate(&thread_dir, index, segment_bytes, populate))
            .ok();
        Spare {
            index,
            segment_bytes,
            populate,
            path: segment::temporary_path(dir, index),
            handle,
        }
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    /// Waits for the prepared mapping (normally ready long before it is needed).
    pub fn take(mut self, dir: &Path) -> Result<Opened, JournalError> {
        match self.handle.take() {
            Some(handle) => handle.join().unwrap_or_else(|_| {
                Err(JournalError::io(
                    &self.path,
                    std::io::Error::other("segment preparation thread panicked"),
                ))
            }),
            None => segment::allocate(dir, self.index, self.segment_bytes, self.populate),
        }
    }
}

impl Drop for Spare {
    /// An unused spare is waited for and removed (the next writer would remove it anyway).
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
            let _ = fs::remove_file(&self.path);
        }
    }
}
