//! Snapshots: the whole machine at an LSN, in a file beside the journal, so that opening
//! replays only the records after it.
//!
//! A snapshot lives in `<journal>/snapshots/<lsn, 20 digits>.snap` (the format is in
//! [`format`](mod@format)). It carries its LSN, the ingest time and the chain link of the record there: it
//! belongs to a journal only when that journal's record at the LSN has the same link, so a
//! snapshot of another history is never loaded.
//!
//! Invariant (snapshot + tail = replay): the machine is a pure function of the records
//! stepped (`Machine::step`), and a snapshot holds the machine after the record at its LSN
//! exactly as stepping made it, store for store (slots, symbols, text references included).
//! Loading it and stepping the records after its LSN is therefore stepping the whole journal:
//! the same views, digest, counters, gaps and dead letters, bit for bit.
//!
//! Written atomically: into `<name>.<pid>-<n>.tmp`, synced, renamed into place, and the
//! directory synced; a crash at any point leaves the previous snapshots and at most a
//! temporary file, which the next writer's open removes. A snapshot that cannot be read (damaged, cut off,
//! of another format or history) is skipped with a warning naming it, and the next older one
//! (or a full replay) is used instead.

pub mod format;
pub mod policy;

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use crate::journal::Resume;
use crate::journal::segment::FORMAT_VERSION;
use crate::machine::Machine;
use format::{Compare, SectionReader, SectionWriter, SnapshotDefect, SnapshotHeader};

/// The directory of a journal's snapshots, inside the journal directory.
pub const SNAPSHOT_DIR_NAME: &str = "snapshots";
/// Extension of a snapshot file.
pub const SNAPSHOT_EXTENSION: &str = "snap";
/// Snapshots kept by default (the newest ones; older ones are removed after a new one is
/// written).
pub const SNAPSHOTS_KEPT_DEFAULT: usize = 2;

/// The snapshot directory of the journal in `journal_dir`.
pub fn snapshot_dir(journal_dir: &Path) -> PathBuf {
    journal_dir.join(SNAPSHOT_DIR_NAME)
}

/// The file name of the snapshot at `lsn`.
pub fn snapshot_file_name(lsn: u64) -> String {
    format!("{lsn:020}.{SNAPSHOT_EXTENSION}")
}

/// A snapshot file found in a journal's snapshot directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFile {
    /// The LSN its name gives (its header must agree).
    pub lsn: u64,
    pub path: PathBuf,
}

/// The snapshots of the journal in `journal_dir`, oldest first (none when there is no
/// snapshot directory). Files whose names are not snapshot names are ignored.
pub fn list(journal_dir: &Path) -> io::Result<Vec<SnapshotFile>> {
    let dir = snapshot_dir(journal_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let lsn = name
            .strip_suffix(SNAPSHOT_EXTENSION)
            .and_then(|s| s.strip_suffix('.'))
            .filter(|d| d.len() == 20 && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok());
        if let Some(lsn) = lsn {
            out.push(SnapshotFile { lsn, path });
        }
    }
    out.sort_by_key(|s| s.lsn);
    Ok(out)
}

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot {path} is unusable at byte {offset}: {what}", offset = defect.offset, what = defect.what)]
    Defect {
        path: PathBuf,
        defect: SnapshotDefect,
    },
}

impl SnapshotError {
    fn io(path: &Path, source: io::Error) -> SnapshotError {
        SnapshotError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Makes the effect log (when the journal has one) durable as far as it was written, so that
/// after a power cut the log reaches at least the effects of any snapshot: re-deriving what it
/// lacks then starts from the newest snapshot, not from the journal's first record.
fn sync_effect_log(journal_dir: &Path) -> Result<(), SnapshotError> {
    crate::outbox::sync_log_files(journal_dir).map_err(|e| {
        let dir = crate::outbox::effects_dir(journal_dir);
        SnapshotError::io(&dir, std::io::Error::other(e.to_string()))
    })
}

/// Writes a snapshot of `machine`, which stands at `at` (its LSN must be `at.lsn`), into the
/// snapshot directory of `journal_dir`, atomically; then removes all but the newest `keep`
/// snapshots (at least this one). Returns the header written.
pub fn write(
    journal_dir: &Path,
    machine: &Machine,
    at: Resume,
    keep: usize,
) -> Result<(PathBuf, SnapshotHeader), SnapshotError> {
    assert_eq!(
        machine.lsn(),
        at.lsn,
        "a snapshot is taken where the machine stands"
    );
    let dir = snapshot_dir(journal_dir);
    if !dir.is_dir() {
        fs::create_dir_all(&dir).map_err(|e| SnapshotError::io(&dir, e))?;
        fsync_dir(journal_dir)?;
    }
    sync_effect_log(journal_dir)?;
    let path = dir.join(snapshot_file_name(at.lsn));
    // Unique per writing thread, so two writers (a background snapshot and `waybill
    // snapshot`) never write into each other's file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!(
        "{SNAPSHOT_EXTENSION}.{}-{n}.tmp",
        std::process::id()
    ));
    let file = File::create(&tmp).map_err(|e| SnapshotError::io(&tmp, e))?;
    let written = format::write_file(&file, FORMAT_VERSION, &at, machine.effect_seq(), |w| {
        machine.write_image(w)
    })
    .and_then(|header| file.sync_all().map(|()| header));
    let header = written.map_err(|e| SnapshotError::io(&tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| SnapshotError::io(&path, e))?;
    fsync_dir(&dir)?;
    retain(journal_dir, keep.max(1))?;
    Ok((path, header))
}

/// Removes every snapshot but the newest `keep`; returns the paths removed.
pub fn retain(journal_dir: &Path, keep: usize) -> Result<Vec<PathBuf>, SnapshotError> {
    let dir = snapshot_dir(journal_dir);
    let all = list(journal_dir).map_err(|e| SnapshotError::io(&dir, e))?;
    let old = all.len().saturating_sub(keep);
    let mut removed = Vec::with_capacity(old);
    for s in all.into_iter().take(old) {
        fs::remove_file(&s.path).map_err(|e| SnapshotError::io(&s.path, e))?;
        removed.push(s.path);
    }
    if !removed.is_empty() {
        fsync_dir(&dir)?;
    }
    Ok(removed)
}

/// Fsyncs a directory so that created, renamed and removed entries are durable.
fn fsync_dir(dir: &Path) -> Result<(), SnapshotError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SnapshotError::io(dir, e))
}

/// Removes what interrupted writes left (`*.tmp` in the snapshot directory). Called by a
/// writer at open, under the journal's lock (a snapshot being written by `waybill snapshot`
/// at that moment fails and can be taken again).
pub fn remove_temporaries(journal_dir: &Path) -> Result<(), SnapshotError> {
    let dir = snapshot_dir(journal_dir);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SnapshotError::io(&dir, e)),
    };
    for entry in entries {
        let path = entry.map_err(|e| SnapshotError::io(&dir, e))?.path();
        if path.extension().is_some_and(|e| e == "tmp") {
            fs::remove_file(&path).map_err(|e| SnapshotError::io(&path, e))?;
        }
    }
    Ok(())
}

/// A snapshot file, mapped and its header checked.
pub struct Opened {
    pub path: PathBuf,
    pub header: SnapshotHeader,
    map: memmap2::Mmap,
}

impl Opened {
    /// Maps the snapshot at `path` and checks its header (and that its name gives its LSN).
    pub fn open(file: &SnapshotFile) -> Result<Opened, SnapshotError> {
        let path = &file.path;
        let f = File::open(path).map_err(|e| SnapshotError::io(path, e))?;
        // SAFETY: snapshot files are never changed after the rename that publishes them (a
        // new snapshot is a new file); one removed while mapped stays readable.
        let map = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| SnapshotError::io(path, e))?;
        let defect = |defect| SnapshotError::Defect {
            path: path.clone(),
            defect,
        };
        let header = SnapshotHeader::decode(&map, FORMAT_VERSION).map_err(defect)?;
        if header.lsn != file.lsn {
            return Err(defect(format::defect(
                0,
                format!("the header says lsn {}, the name {}", header.lsn, file.lsn),
            )));
        }
        Ok(Opened {
            path: path.clone(),
            header,
            map,
        })
    }

    /// Loads the machine (every section checked against its checksum, every reference
    /// checked against its store).
    pub fn load(&self) -> Result<Machine, SnapshotError> {
        let mut r = SectionReader::new(&self.map, &self.header);
        let defective = |defect| SnapshotError::Defect {
            path: self.path.clone(),
            defect,
        };
        let m = Machine::read_image(&mut r, self.header.lsn).map_err(defective)?;
        if m.effect_seq() != self.header.effect_seq {
            return Err(defective(format::defect(
                0,
                format!(
                    "the header says {} effects, the machine {}",
                    self.header.effect_seq,
                    m.effect_seq()
                ),
            )));
        }
        Ok(m)
    }

    /// Checks that the snapshot holds exactly `machine` (rebuilt by a replay of the journal
    /// up to the snapshot's LSN): writes its image into a comparison with the file's bytes.
    /// `Err` names the first byte that differs.
    pub fn matches(&self, machine: &Machine) -> Result<(), String> {
        if machine.lsn() != self.header.lsn {
            return Err(format!(
                "the journal reaches lsn {}, the snapshot is at {}",
                machine.lsn(),
                self.header.lsn
            ));
        }
        let mut cmp = Compare {
            expected: &self.map[..],
            at: 0,
            first_diff: None,
        };
        (|| {
            let mut w = SectionWriter::new(Box::new(&mut cmp))?;
            machine.write_image(&mut w)?;
            w.finish(&self.position(), machine.effect_seq())
        })()
        .map_err(|e| format!("cannot compare: {e}"))?;
        let differs = match cmp.first_diff {
            Some(at) => Some(at),
            None if cmp.at != self.map.len() => Some(cmp.at.min(self.map.len())),
            None => None,
        };
        match differs {
            None => Ok(()),
            Some(at) => Err(format!(
                "its content differs from a replay of the journal to lsn {} (first at byte {at})",
                self.header.lsn
            )),
        }
    }

    /// Where the snapshot stands.
    pub fn position(&self) -> Resume {
        Resume {
            lsn: self.header.lsn,
            ingest_us: self.header.ingest_us,
            link: self.header.link,
            pos: self.header.pos,
        }
    }
}

/// A snapshot passed over when opening, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub why: String,
}
