//! Opening the journal for writing: the directory and its lock, the durable marker, recovery
//! (the validating scan, then the cut of a torn tail), and the writer's starting state.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::chain::GENESIS_LINK;
use super::flusher::{Flusher, FlusherParts};
use super::frame::{FRAME_HEADER_LINKED_BYTES, MAX_PAYLOAD_BYTES};
use super::io::{After, IoThread};
use super::marker::{self, Durable, Marker};
use super::recovery::{self, Scan};
use super::resume::Resume;
use super::segment::{self, Opened, SEGMENT_HEADER_BYTES, SegmentHeader};
use super::spare::Spare;
use super::stage::Stage;
use super::storage::Storage;
use super::writer::{Journal, JournalEnv, Retired, Seg};
use super::{Durability, GROUP_COMMIT_INTERVAL_US_MAX, JournalError, JournalOptions, Recovery};

fn check_options(opts: &JournalOptions) -> Result<(), JournalError> {
    segment::check_segment_bytes(opts.segment_bytes).map_err(JournalError::InvalidOptions)?;
    if opts.group_commit_interval_us > GROUP_COMMIT_INTERVAL_US_MAX {
        return Err(JournalError::InvalidOptions(format!(
            "group_commit_interval_us {} exceeds {GROUP_COMMIT_INTERVAL_US_MAX}",
            opts.group_commit_interval_us
        )));
    }
    Ok(())
}

/// Takes the single writer's lock: an exclusive `flock` on the journal directory itself, so
/// that no file in it can be deleted or replaced to let a second writer in. Released when the
/// returned handle is closed.
pub(crate) fn lock_dir(dir: &Path) -> Result<File, JournalError> {
    let file = File::open(dir).map_err(|e| JournalError::io(dir, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(JournalError::Locked(dir.to_owned())),
        Err(TryLockError::Error(e)) => Err(JournalError::io(dir, e)),
    }
}

/// Creates `dir` if needed; an existing path that is not a directory is refused.
fn prepare_dir(dir: &Path) -> Result<(), JournalError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(JournalError::NotADirectory(dir.to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| JournalError::io(dir, e))
        }
        Err(e) => Err(JournalError::io(dir, e)),
    }
}

/// Opens every segment file of `dir` for writing and maps it read-only.
fn open_segments(listed: &[(u64, PathBuf)]) -> Result<Vec<(u64, Opened)>, JournalError> {
    let mut out = Vec::with_capacity(listed.len());
    for (index, path) in listed {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| JournalError::io(path, e))?;
        out.push((*index, segment::map_read(file, path)?));
    }
    Ok(out)
}

/// Cuts what the scan found torn (writes zeros over it and syncs them) and removes the segment
/// files after it; returns the kept segments, none of them flushed yet.
fn cut_tail(
    dir: &Path,
    storage: &dyn Storage,
    listed: &[(u64, PathBuf)],
    mut opened: Vec<(u64, Opened)>,
    scan: &Scan,
) -> Result<Vec<Seg>, JournalError> {
    if let Some(t) = &scan.torn {
        let (index, seg) = &opened[t.view];
        let zeros = vec![0u8; t.nonzero_end - t.offset];
        segment::write(dir, storage, *index, &seg.file, t.offset, &zeros)?;
        segment::sync(dir, storage, *index, &seg.file, t.nonzero_end)?;
        debug_assert!(seg.map[t.offset..t.nonzero_end].iter().all(|&b| b == 0));
    }
    let kept = scan.segments.len();
    debug_assert_eq!(kept + scan.dropped, opened.len());
    if scan.dropped > 0 {
        for (_, path) in &listed[kept..] {
            fs::remove_file(path).map_err(|e| JournalError::io(path, e))?;
        }
        segment::fsync_dir(dir)?;
        opened.truncate(kept);
    }
    Ok(opened
        .into_iter()
        .zip(&scan.segments)
        .map(|((index, o), s)| {
            debug_assert_eq!(index, s.index);
            // Synced from the start at open, header included: what recovery keeps is all
            // made durable before it is reported so.
            Seg {
                start: s.start,
                ..Seg::new(index, o, s.end, 0)
            }
        })
        .collect())
}

/// The marker of the journal in `dir`, created with the first segment when there is none.
fn marker_and_segments(
    dir: &Path,
    opts: &JournalOptions,
    env: &JournalEnv,
) -> Result<(Marker, Vec<(u64, PathBuf)>), JournalError> {
    let listed = segment::list(dir)?;
    if !listed.is_empty() {
        let durable = marker::read(dir)?.map_err(|d| d.to_error())?;
        return Ok((
            Marker::open(dir, Arc::clone(&env.storage), durable)?,
            listed,
        ));
    }
    let marker = Marker::create(dir, Arc::clone(&env.storage))?;
    let header = SegmentHeader {
        index: 0,
        first_lsn: 1,
        segment_bytes: opts.segment_bytes,
        prev_link: GENESIS_LINK,
    };
    drop(segment::create(dir, &*env.storage, &header)?);
    Ok((marker, segment::list(dir)?))
}

impl Journal {
    /// Opens the journal in `dir` (creating the directory, the durable marker and the first
    /// segment if absent) with an exclusive lock ([`JournalError::Locked`] if another writer
    /// holds it), on the real disk and clock.
    ///
    /// Recovery validates every frame (framing, both CRCs, LSN continuity, ingest-time order,
    /// the hash chain, segment headers) against the durable marker: damage at or below the
    /// durable LSN is [`JournalError::Corrupt`] and nothing is changed; past it, the records
    /// from the first bad position on are a torn tail, which is cut (zeroed and synced, with
    /// every later segment removed). Then everything kept is synced and the marker raised to
    /// it, so the durable LSN starts at the last recovered record.
    pub fn open(dir: &Path, opts: JournalOptions) -> Result<(Journal, Recovery), JournalError> {
        Journal::open_with(dir, opts, JournalEnv::default())
    }

    /// [`Self::open`] with the storage and clock of `env`.
    pub fn open_with(
        dir: &Path,
        opts: JournalOptions,
        env: JournalEnv,
    ) -> Result<(Journal, Recovery), JournalError> {
        Journal::open_after(dir, opts, env, None)
    }

    /// [`Self::open_with`] for a caller that holds the state after the record `resume` names
    /// (from a snapshot; the caller checked that the journal holds it, with
    /// [`super::check_resume`]): the scan starts just past that record, so no byte of the
    /// journal before it is opened, mapped or read, and opening costs what the records after
    /// it cost, not what the journal's length does. [`Self::records_after`] answers from there.
    /// `None`: every segment.
    pub fn open_after(
        dir: &Path,
        opts: JournalOptions,
        env: JournalEnv,
        resume: Option<&Resume>,
    ) -> Result<(Journal, Recovery), JournalError> {
        check_options(&opts)?;
        prepare_dir(dir)?;
        let lock_file = lock_dir(dir)?;
        segment::remove_temporaries(dir)?;
        let storage = &*env.storage;
        let (mut marker, listed) = marker_and_segments(dir, &opts, &env)?;
        let start = segment::start_for(&listed, resume)?;
        let listed = &listed[start.as_ref().map_or(0, |(k, _)| *k)..];
        let opened = open_segments(listed)?;
        let maps: Vec<(u64, &[u8])> = opened.iter().map(|(i, o)| (*i, &o.map[..])).collect();
        let views = recovery::views(&maps);
        let scan = recovery::scan(
            &views,
            marker.current(),
            start.as_ref().map(|(_, st)| st),
            None,
        );
        if let Some(d) = &scan.damage {
            return Err(d.to_error());
        }
        let torn_tail = scan.torn_tail(&views);
        drop(views);
        drop(maps);
        let mut segs = cut_tail(dir, storage, listed, opened, &scan)?;
        for seg in &mut segs {
            seg.flush(dir, storage)?;
        }
        // The last segments' directory entries may never have been synced (a rollover leaves
        // that to the next flush, and the writer may have died before it).
        segment::fsync_dir(dir)?;
        marker.raise(Durable {
            lsn: scan.last_lsn,
            link: scan.last_link,
        })?;
        let active = segs.pop().expect("a journal has at least one segment");
        let recovery = Recovery {
            records: scan.records,
            segments: (segs.len() + 1) as u32,
            torn_tail,
            removed_segments: scan.dropped as u32,
        };
        let journal = Journal::assemble(dir, opts, env, (segs, active), &scan, marker, lock_file);
        Ok((journal, recovery))
    }

    /// Puts a recovered journal together and starts its background threads.
    fn assemble(
        dir: &Path,
        opts: JournalOptions,
        env: JournalEnv,
        (sealed, active): (Vec<Seg>, Seg),
        scan: &Scan,
        marker: Marker,
        lock_file: File,
    ) -> Journal {
        let max_payload = MAX_PAYLOAD_BYTES
            .min(opts.segment_bytes as usize - SEGMENT_HEADER_BYTES - FRAME_HEADER_LINKED_BYTES);
        let durable_lsn = Arc::new(AtomicU64::new(scan.last_lsn));
        let marker = Arc::new(Mutex::new(marker));
        let flusher = match opts.durability {
            Durability::Group => Flusher::start(
                dir,
                opts.group_commit_interval_us,
                FlusherParts {
                    dir_synced_segment: active.index,
                    durable_lsn: Arc::clone(&durable_lsn),
                    marker: Arc::clone(&marker),
                    storage: Arc::clone(&env.storage),
                    clock: Arc::clone(&env.clock),
                },
            ),
            Durability::None | Durability::Sync => None,
        };
        let io = match (&opts.durability, &flusher) {
            (Durability::None, _) => {
                IoThread::start(dir, Arc::clone(&env.storage), After::Writeback)
            }
            (Durability::Group, Some(f)) => {
                IoThread::start(dir, Arc::clone(&env.storage), After::Publish(f.publisher()))
            }
            (Durability::Group, None) | (Durability::Sync, _) => None,
        };
        // Records written on this thread: their pages are brought in ahead (see
        // `Journal::populates`).
        let populate = io.is_none();
        if populate {
            segment::populate(&active.map, active.end);
        }
        let spare = Spare::start(dir, active.index + 1, opts.segment_bytes, populate);
        let last_flush_us = env.clock.now_us();
        let mut stage = Stage::new();
        stage.restart(active.end);
        Journal {
            dir: dir.to_owned(),
            _lock: lock_file,
            opts,
            env,
            max_payload,
            // Everything recovery kept was synced: durable.
            retired: sealed.into_iter().map(Retired::of).collect(),
            sealed: Vec::new(),
            sealed_unflushed_from: 0,
            spare: Some(spare),
            writeback_from: active.end,
            dir_synced_segment: active.index,
            active,
            stage,
            first_lsn: scan.first_lsn,
            last_anchor: (scan.last_segment, scan.last_anchor),
            last_lsn: scan.last_lsn,
            last_link: scan.last_link,
            last_ingest_us: scan.last_ingest_us,
            durable_lsn,
            marker,
            last_flush_us,
            flusher,
            published_lsn: scan.last_lsn,
            io,
            flush_on_drop: true,
        }
    }
}
