//! The journal's one seam to the disk: every byte the writer puts into a segment file and
//! every request to make bytes durable goes through a [`Storage`], so a test or the simulator
//! can see exactly what was made durable and then cut the power on everything else.
//!
//! The writer frames records in a buffer of its own and writes them into the segment files with
//! `pwrite` ([`Storage::write_segment`]); what was written is in the page cache, which survives
//! the death of the process but not a power cut, and the read-only mappings that replay and
//! queries read see it at once. Durability comes only from the explicit syncs: `fdatasync` of a
//! segment ([`Storage::sync_segment`]) and of the durable marker ([`Storage::sync_marker`]).
//! Writing through the file descriptor rather than through a writable mapping means no mapped
//! page is ever dirty, so making pages durable never has to write-protect them again (which
//! costs a TLB shootdown per page). [`OsStorage`] does just that. [`SimulatedDisk`] does the
//! same and also records, per segment, how far the syncs reached; after the writer died without
//! shutdown ([`super::Journal::crash`]) its [`SimulatedDisk::cut_power`] rewrites the segment
//! files to what a power cut could leave: every byte that was made durable, and of the bytes
//! that were not, none, a prefix, or an arbitrary subset of pages, one of them torn at a sector
//! boundary.
//!
//! The model is exact for this journal because segments are append-only over pre-allocated
//! zeros: a page that was never synced, or was written again after its last sync, holds on
//! disk what it held at its last sync, which is the current bytes before the synced end and
//! zeros after it. A sync is modelled as reaching exactly the end it was asked for (the real
//! `fdatasync` may reach further: both outcomes are possible after a crash). Segment headers
//! are written and synced through the seam like records (a rollover writes the header, the
//! next flush syncs it); directory entries (renames, removals) are made durable with a
//! directory fsync and are not modelled (the writer fsyncs the directory before the durable
//! marker relies on them).

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::JournalError;
use super::segment::{self, PAGE_BYTES, segment_file_name};

/// A sector: the unit a torn write keeps whole.
pub const SECTOR_BYTES: usize = 512;

/// Where the journal's bytes go and become durable. Implementations must make the bytes durable
/// (or model that they are) before a sync returns `Ok`; the journal raises its durable LSN and
/// the durable marker only after that.
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Writes `bytes` at `offset` of segment `segment` (the number in its file name), whose
    /// open file is `file`. Not durable until [`Self::sync_segment`].
    fn write_segment(
        &self,
        _segment: u64,
        file: &File,
        offset: u64,
        bytes: &[u8],
    ) -> io::Result<()> {
        file.write_all_at(bytes, offset)
    }

    /// Makes everything written to segment `segment` up to offset `to` durable.
    fn sync_segment(&self, segment: u64, file: &File, to: usize) -> io::Result<()>;

    /// Makes the durable marker file's written content durable.
    fn sync_marker(&self, file: &File) -> io::Result<()>;
}

/// The real disk: `pwrite` and `fdatasync`.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsStorage;

impl Storage for OsStorage {
    fn sync_segment(&self, _segment: u64, file: &File, _to: usize) -> io::Result<()> {
        file.sync_data()
    }

    fn sync_marker(&self, file: &File) -> io::Result<()> {
        file.sync_data()
    }
}

/// What a power cut does to the bytes that were not made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerLoss {
    /// Every byte that was not made durable is lost.
    DropUnflushed,
    /// The first `bytes` of what was not made durable (in segment order) reach the disk, the
    /// rest is lost: the last write torn part way.
    KeepFirst { bytes: usize },
    /// Each page that was not made durable is kept or lost at random (the kernel writes dirty
    /// pages back in any order), and one page is torn at a random sector boundary; the choices
    /// follow `seed` and nothing else.
    Arbitrary { seed: u64 },
}

/// Decides, page by page, how much of the bytes that were not made durable survive.
struct Fate {
    loss: PowerLoss,
    rng: SplitMix,
    /// `KeepFirst`: bytes still to keep.
    keep_left: usize,
    /// `Arbitrary`: whether the one torn page is still to come.
    tear_pending: bool,
}

impl Fate {
    fn new(loss: PowerLoss) -> Fate {
        let (seed, keep_left) = match loss {
            PowerLoss::Arbitrary { seed } => (seed, 0),
            PowerLoss::KeepFirst { bytes } => (0, bytes),
            PowerLoss::DropUnflushed => (0, 0),
        };
        Fate {
            loss,
            rng: SplitMix(seed),
            keep_left,
            tear_pending: matches!(loss, PowerLoss::Arbitrary { .. }),
        }
    }

    /// The page starting at `page` holds unflushed bytes from `from` to `end`; returns the
    /// offset from which they are lost (`end`: the page reached the disk whole).
    fn keep_until(&mut self, page: usize, from: usize, end: usize) -> usize {
        debug_assert!(page <= from && from < end && end - page <= PAGE_BYTES);
        match self.loss {
            PowerLoss::DropUnflushed => from,
            PowerLoss::KeepFirst { .. } => {
                let kept = self.keep_left.min(end - from);
                self.keep_left -= kept;
                from + kept
            }
            PowerLoss::Arbitrary { .. } => {
                let roll = self.rng.next();
                if roll.is_multiple_of(2) {
                    from
                } else if self.tear_pending && roll % 8 == 1 {
                    self.tear_pending = false;
                    let sector = (self.rng.next() % (PAGE_BYTES / SECTOR_BYTES) as u64) as usize;
                    (page + sector * SECTOR_BYTES).clamp(from, end)
                } else {
                    end
                }
            }
        }
    }
}

/// What [`SimulatedDisk::cut_power`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PowerCut {
    /// Pages that held bytes not made durable.
    pub pages_unflushed: u64,
    /// Of those, pages that reached the disk whole.
    pub pages_kept: u64,
    /// Of those, pages lost (their unflushed bytes read as zeros).
    pub pages_lost: u64,
    /// The page torn part way, if any: segment file name and the offset of the first lost byte.
    pub torn_at: Option<(String, u64)>,
}

/// A [`Storage`] over the real files that remembers what each sync made durable, so that a
/// power cut can be applied afterwards ([`SimulatedDisk::cut_power`]). Writes and syncs still
/// reach the real files and disk (their cost stays real).
#[derive(Debug, Default)]
pub struct SimulatedDisk {
    /// Per segment, the offset up to which its bytes are durable.
    durable_end: Mutex<BTreeMap<u64, usize>>,
}

fn lock(m: &Mutex<BTreeMap<u64, usize>>) -> MutexGuard<'_, BTreeMap<u64, usize>> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Storage for SimulatedDisk {
    fn sync_segment(&self, segment: u64, file: &File, to: usize) -> io::Result<()> {
        file.sync_data()?;
        let mut ends = lock(&self.durable_end);
        let end = ends.entry(segment).or_insert(0);
        // A sync covers everything written before it, so the durable part stays one prefix.
        *end = (*end).max(to);
        Ok(())
    }

    fn sync_marker(&self, file: &File) -> io::Result<()> {
        file.sync_data()
    }
}

impl SimulatedDisk {
    pub fn new() -> SimulatedDisk {
        SimulatedDisk::default()
    }

    /// Offset up to which segment `segment` was made durable (0 when never synced).
    pub fn durable_end(&self, segment: u64) -> usize {
        lock(&self.durable_end).get(&segment).copied().unwrap_or(0)
    }

    /// Cuts the power: rewrites every segment file of `dir` to what survives `loss`. Call it
    /// after the writer died ([`super::Journal::crash`]) and before the journal is opened
    /// again; refused while a writer holds the journal. Afterwards what the files hold is what
    /// the disk holds, all of it durable: a later cut cannot take it, whether or not a writer
    /// syncs it again (one that resumes after a snapshot opens no segment before it).
    pub fn cut_power(&self, dir: &Path, loss: PowerLoss) -> Result<PowerCut, JournalError> {
        let _writer_gone = super::open::lock_dir(dir)?;
        let mut ends = lock(&self.durable_end);
        let mut cut = PowerCut::default();
        let mut fate = Fate::new(loss);
        let mut on_disk = BTreeMap::new();
        for (index, path) in segment::list(dir)? {
            let durable = ends.get(&index).copied().unwrap_or(0);
            cut_segment(&path, index, durable, &mut fate, &mut cut)
                .map_err(|e| JournalError::io(&path, e))?;
            // What the file holds now is what the disk holds: a later cut cannot take it
            // (a writer that reopens the journal need not sync it again).
            let len = std::fs::metadata(&path)
                .map_err(|e| JournalError::io(&path, e))?
                .len();
            on_disk.insert(index, usize::try_from(len).unwrap_or(usize::MAX));
        }
        debug_assert_eq!(cut.pages_unflushed, cut.pages_kept + cut.pages_lost);
        *ends = on_disk;
        Ok(cut)
    }
}

/// Applies the power cut to one segment file whose bytes are durable up to `durable`.
fn cut_segment(
    path: &Path,
    index: u64,
    durable: usize,
    fate: &mut Fate,
    cut: &mut PowerCut,
) -> io::Result<()> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
    let first_page = durable.min(len) - durable.min(len) % PAGE_BYTES;
    let mut tail = vec![0u8; len - first_page];
    file.read_exact_at(&mut tail, first_page as u64)?;
    let written = first_page + tail.iter().rposition(|&b| b != 0).map_or(0, |at| at + 1);
    let mut page = first_page;
    while page < written {
        let lost_from = durable.max(page);
        let page_end = (page + PAGE_BYTES).min(written);
        page += PAGE_BYTES;
        if lost_from >= page_end {
            continue;
        }
        cut.pages_unflushed += 1;
        let keep_from = fate.keep_until(page - PAGE_BYTES, lost_from, page_end);
        if keep_from == page_end {
            cut.pages_kept += 1;
            continue;
        }
        if keep_from > lost_from && cut.torn_at.is_none() {
            cut.torn_at = Some((segment_file_name(index), keep_from as u64));
        }
        cut.pages_lost += 1;
        let zeros = vec![0u8; page_end - keep_from];
        file.write_all_at(&zeros, keep_from as u64)?;
    }
    file.sync_all()
}

/// SplitMix64: the power cut's choices, reproducible from the seed and nothing else.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
