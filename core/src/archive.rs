//! Retention: moving (or deleting) the segments a snapshot makes unnecessary.
//!
//! A segment is wholly covered by a snapshot when every record in it is at or before the
//! snapshot's LSN: opening never reads it (it starts at the segment holding the record after
//! the snapshot). `archive` moves those segments out of the journal, with the snapshots that
//! stand before them (which could no longer be used), under the writer's lock, so no writer
//! runs meanwhile. The journal still opens, verifies (from its first kept segment's header
//! link, which the snapshot's chain link confirms) and answers for the records it holds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::engine::{Core, CoreError};
use crate::journal::{
    Durability, JournalError, JournalOptions, SEGMENT_BYTES_DEFAULT, existing_segment_bytes,
    segment,
};
use crate::snapshot;

/// Where archived files go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchiveTo<'a> {
    /// Moved into this directory (created if needed; an existing file of the same name is
    /// never replaced).
    Dir(&'a Path),
    /// Deleted.
    Delete,
}

/// What [`archive`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Archived {
    /// The snapshot that covers what was archived.
    pub snapshot_lsn: u64,
    /// Segment files archived, in order, and their bytes in all.
    pub segments: Vec<PathBuf>,
    pub segment_bytes: u64,
    /// Snapshots archived with them (older than the segments kept).
    pub snapshots: Vec<PathBuf>,
    /// The first record the journal holds now.
    pub first_lsn: u64,
}

/// Archives the segments of the journal in `dir` wholly covered by its newest usable snapshot
/// (and the snapshots before them). Refused, with nothing changed, when there is no usable
/// snapshot (an error saying so) or when a writer holds the journal
/// ([`JournalError::Locked`]).
pub fn archive(dir: &Path, to: ArchiveTo<'_>) -> Result<Archived, CoreError> {
    if !dir.is_dir() || segment::list(dir)?.is_empty() {
        return Err(JournalError::NoJournal(dir.to_owned()).into());
    }
    // The writer's lock for the whole move; the open reads nothing before the snapshot.
    let opts = JournalOptions {
        segment_bytes: existing_segment_bytes(dir)?.unwrap_or(SEGMENT_BYTES_DEFAULT),
        durability: Durability::None,
        ..JournalOptions::default()
    };
    let mut core = Core::open(dir, opts)?;
    if crate::outbox::effects_dir(dir).is_dir() {
        // Effects the log lacks can only be derived again from records still here.
        core.start_effects()?;
    }
    let Some((snapshot_path, snapshot_lsn)) = core.snapshots().loaded.clone() else {
        return Err(CoreError::Refused(format!(
            "nothing to archive in {}: it has no usable snapshot (take one with `waybill snapshot`)",
            dir.display()
        )));
    };
    if snapshot_lsn == 0 {
        return Err(CoreError::Refused(format!(
            "nothing to archive in {}: its newest usable snapshot is at lsn 0",
            dir.display()
        )));
    }
    let file = snapshot::SnapshotFile {
        lsn: snapshot_lsn,
        path: snapshot_path,
    };
    let resume_in = snapshot::Opened::open(&file)?.header.pos.segment;
    let listed = segment::list(dir)?;
    // The segments before the one opening resumes in: what it never reads.
    let kept_from = listed
        .iter()
        .position(|(index, _)| *index == resume_in)
        .expect("the journal opened in it");
    let kept_header = segment::read_header(&listed[kept_from].1)?;
    let mut out = Archived {
        snapshot_lsn,
        first_lsn: kept_header.first_lsn,
        ..Archived::default()
    };
    debug_assert!(out.first_lsn <= snapshot_lsn && core.journal().first_lsn() == snapshot_lsn + 1);
    let old_snapshots: Vec<PathBuf> = snapshot::list(dir)
        .map_err(|e| JournalError::io(snapshot::snapshot_dir(dir), e))?
        .into_iter()
        .filter(|s| s.lsn + 1 < out.first_lsn)
        .map(|s| s.path)
        .collect();
    for (_, path) in &listed[..kept_from] {
        out.segment_bytes += fs::metadata(path)
            .map_err(|e| JournalError::io(path, e))?
            .len();
        out.segments.push(path.clone());
    }
    move_all(&out.segments, to, None)?;
    move_all(&old_snapshots, to, Some(snapshot::SNAPSHOT_DIR_NAME))?;
    out.snapshots = old_snapshots;
    segment::fsync_dir(dir)?;
    if !out.snapshots.is_empty() {
        segment::fsync_dir(&snapshot::snapshot_dir(dir))?;
    }
    drop(core);
    Ok(out)
}

/// Moves (or deletes) `files`, into `to/<sub>/` when given.
fn move_all(files: &[PathBuf], to: ArchiveTo<'_>, sub: Option<&str>) -> Result<(), CoreError> {
    let ArchiveTo::Dir(to) = to else {
        for f in files {
            fs::remove_file(f).map_err(|e| JournalError::io(f, e))?;
        }
        return Ok(());
    };
    if files.is_empty() {
        return Ok(());
    }
    let target = sub.map_or_else(|| to.to_owned(), |s| to.join(s));
    fs::create_dir_all(&target).map_err(|e| JournalError::io(&target, e))?;
    for f in files {
        let name = f.file_name().expect("listed files have names");
        let dest = target.join(name);
        if dest.exists() {
            return Err(JournalError::io(
                &dest,
                io::Error::new(io::ErrorKind::AlreadyExists, "already archived there"),
            )
            .into());
        }
        move_file(f, &dest)?;
    }
    Ok(segment::fsync_dir(&target)?)
}

/// Renames `from` to `to`, or (across file systems) copies it, syncs the copy and removes it.
fn move_file(from: &Path, to: &Path) -> Result<(), CoreError> {
    match fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            fs::copy(from, to).map_err(|e| JournalError::io(to, e))?;
            fs::File::open(to)
                .and_then(|f| f.sync_all())
                .map_err(|e| JournalError::io(to, e))?;
            fs::remove_file(from).map_err(|e| JournalError::io(from, e))?;
            Ok(())
        }
        Err(e) => Err(JournalError::io(from, e).into()),
    }
}
