//! Exclusive advisory locks (`flock`) that keep a second writer of the effect log, or a second
//! deliverer of the same effects, out. Released when the handle is dropped or the process dies.

use super::OutboxError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// Name of the file the delivery side locks (the log's writer locks the directory itself).
pub(crate) const DELIVERY_LOCK_FILE: &str = "DELIVERY.lock";

#[derive(Debug)]
pub(crate) struct Lock {
    _file: File,
}

/// Locks `path` (a directory, or a lock file created if missing).
pub(crate) fn lock(path: &Path, is_dir: bool) -> Result<Lock, OutboxError> {
    let file = if is_dir {
        File::open(path)
    } else {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    }
    .map_err(|e| OutboxError::io(path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(TryLockError::WouldBlock) => Err(OutboxError::Locked(path.to_owned())),
        Err(TryLockError::Error(e)) => Err(OutboxError::io(path, e)),
    }
}

/// Takes the delivery lock of `effects_dir` (created if needed).
pub(crate) fn delivery_lock(effects_dir: &Path) -> Result<Lock, OutboxError> {
    create_dir(effects_dir)?;
    lock(&effects_dir.join(DELIVERY_LOCK_FILE), false)
}

/// Creates `dir` (and its parent's entry durably) when missing.
pub(crate) fn create_dir(dir: &Path) -> Result<(), OutboxError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(OutboxError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
            ));
        }
        Err(_) => {}
    }
    std::fs::create_dir_all(dir).map_err(|e| OutboxError::io(dir, e))?;
    if let Some(parent) = dir.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}

/// Makes the entries of `dir` (creations, renames, removals) durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), OutboxError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| OutboxError::io(dir, e))
}
