//! Retention of the effect log: a segment every effect of which is at or below every lane's
//! persisted cursor is no longer needed (dead letters keep their own copy of the JSON) and is
//! deleted, oldest first. The last segment (the writer's) is never deleted, and neither is any
//! segment after one that must stay, so the log stays contiguous.

use super::OutboxError;
use super::lock;
use super::segment;
use std::path::{Path, PathBuf};

/// What retention deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Retained {
    /// The segment files deleted, oldest first.
    pub segments: Vec<PathBuf>,
    /// Their sizes, in bytes, summed.
    pub bytes: u64,
}

/// Deletes the segments of `effects_dir` whose every effect has a seq at or below
/// `through_seq` (the least persisted cursor of all lanes).
pub fn delete_acknowledged(effects_dir: &Path, through_seq: u64) -> Result<Retained, OutboxError> {
    let listed = segment::list(effects_dir)?;
    let mut done = Retained::default();
    for pair in listed.windows(2) {
        let (_, path) = &pair[0];
        let (next_first, _) = pair[1];
        // The segment's last effect is the one before the next segment's first.
        if next_first - 1 > through_seq {
            break;
        }
        let bytes = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(OutboxError::io(path, e)),
        };
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(OutboxError::io(path, e)),
        }
        done.bytes += bytes;
        done.segments.push(path.clone());
    }
    if !done.segments.is_empty() {
        lock::fsync_dir(effects_dir)?;
    }
    Ok(done)
}
