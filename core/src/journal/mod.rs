//! The append-only, memory-mapped, checksummed, hash-chained journal (design choices:
//! docs/decisions.md, Journal).
//!
//! The journal is a directory of fixed-size segment files, `NNNNNNNNNNNNNNNNNNNN.seg` (the
//! segment index, 20 digits, from 0), plus the durable marker `DURABLE` ([`marker`]: how far
//! the journal is durable). The single writer holds an exclusive `flock` on the directory
//! itself, so no file can be deleted to let a second writer in; readers take no lock. It knows
//! nothing about the event model: a record is a kind byte and opaque payload bytes, and callers
//! that care about the payload (replay, `verify`) pass callbacks.
//!
//! # On-disk format (version [`FORMAT_VERSION`], all integers little endian)
//!
//! Segment header, [`SEGMENT_HEADER_BYTES`] = 64 bytes at offset 0:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `b"WAYBILL\0"` |
//! | 8 | 4 | format version (u32) |
//! | 12 | 4 | reserved, zero |
//! | 16 | 8 | segment index (u64), equal to the file name |
//! | 24 | 8 | first LSN of the segment (u64) |
//! | 32 | 8 | segment size in bytes (u64), equal to the file length |
//! | 40 | 16 | chain link of the record before the segment's first record |
//! | 56 | 4 | reserved, zero |
//! | 60 | 4 | CRC32C of bytes 0..60 |
//!
//! There is no wall-clock time anywhere: the same records give byte-identical files.
//!
//! Record frame, starting at a 16-byte aligned offset (the first at offset 64). The header is
//! [`FRAME_HEADER_BYTES`] = 32 bytes, or [`FRAME_HEADER_LINKED_BYTES`] = 48 for the records
//! that store their chain link: those whose LSN is a multiple of [`LINK_EVERY`] (16), a rule
//! of the LSN alone, so the bytes never depend on batching:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 4 | payload_len (u32), never 0: a zero length means "no record here" |
//! | 4 | 4 | CRC32C of the payload |
//! | 8 | 8 | LSN (u64) |
//! | 16 | 8 | ingest time, microseconds (i64) |
//! | 24 | 1 | kind ([`RecordKind`], never 0) |
//! | 25 | 3 | reserved, zero |
//! | 28 | 16 | chain link of this record (linked header only) |
//! | 28 or 44 | 4 | header CRC: CRC32C of every header byte before it (the payload CRC and the link included) |
//! | 32 or 48 | payload_len | payload (16-byte aligned) |
//! | .. | 0..15 | zero padding to the next 16-byte boundary |
//!
//! The payload of a [`RecordKind::ENTRY`] record is an rkyv-archived `event::Entry` (its root,
//! 88 bytes, at the end, the strings and out-of-line fields before it). The journal reads it as
//! opaque bytes, but its layout is part of the format.
//!
//! A frame is valid when both CRCs match: the header CRC guards every header field (the
//! length, the LSN that decides the header's size, and the payload CRC among them), the payload
//! CRC guards the payload, so every byte of the frame is covered. The payload CRC is a
//! [`PayloadSums`] field, computed once per payload, by the pipeline's producer threads when the
//! payload was encoded ahead; the writer only computes the header CRC. A record never spans
//! segments; the space a record did not fit into stays zero. LSNs are contiguous from 1 across
//! segments.
//!
//! # Hash chain
//!
//! `link(n) = XXH3-128(link(n-1) || lsn || ingest_us || kind || payload_len || payload_xxh3)`,
//! where `payload_xxh3` is the XXH3-128 of the payload (the other half of [`PayloadSums`]);
//! both hashes are stored as the little-endian bytes of their u128, integers little endian,
//! `payload_len` as u32, and `link(0)` = 16 zero bytes ([`chain::next_link`]). The input is 53
//! bytes whatever the payload size, so the writer's share of the chain is one short hash per
//! record; the payload's digest is computed where the payload is produced. The link does not
//! depend on how records were batched and is computed incrementally (only the previous link is
//! kept). Each link covers the previous one: an edit of any record changes its payload digest
//! and so its link and every later one, and removal and reordering change the previous-link and
//! LSN inputs, so `journal verify` detects all three (and the CRCs still guard each record on
//! its own).
//!
//! Every scan recomputes every link, and compares it where one is stored: with the record's own
//! when it stores one (every 16th), with the next segment header's link after a segment's last
//! record, and with the durable marker's at the durable LSN. A mismatch condemns the records
//! since the last confirmed one (at most 16): the damage is named at the first of them, and a
//! reader is given only the records before it. Storing one link in 16 records saves 15 bytes per
//! record against one per record, and detects the same edits; what it gives up is naming the
//! exact record of an edit whose CRCs were recomputed (it names a range of at most 16), and
//! records past the last stored link and past the durable LSN (the not-yet-durable tail) are
//! checked only by their CRCs, as the last record always was.
//!
//! The link is deliberately not cryptographic. A chain without a secret or an anchor kept
//! elsewhere can be recomputed by whoever edits the files, whatever the hash, so a per-record
//! cryptographic link buys nothing on its own, and it was the largest single cost of ingest
//! (small-input BLAKE3 is sequential compressions, about 2,200 instructions per ~175-byte
//! payload; the XXH3-128 link over the same record costs about 360).
//!
//! # Content digest: the anchor for auditors
//!
//! `verify` also computes `BLAKE3(frame(1) || frame(2) || ... || frame(n))`, where
//! `frame(i)` is the exact bytes of record `i` as stored: the header (both CRCs, and the link
//! where stored) and the payload, without the padding after it. It depends on the records
//! alone, not on segment size or batching, and is computed in large slices so BLAKE3 runs at
//! SIMD speed. An auditor who records the digest (and `last_lsn`) somewhere the writer cannot
//! reach can later prove the first `n` records unchanged with [`verify_at`] at LSN `n`
//! (`waybill journal verify --at-lsn N`): a forger who edits a record and recomputes its CRCs
//! and every later link passes the chain check, but not this digest. (Format version 1 hashed
//! the payload inside a BLAKE3 link, version 2 a BLAKE3 digest of the payload, version 3 had
//! one CRC over header and payload and an XXH3 link over the whole payload, version 4 had
//! 48-byte frames with a link in every record around the larger entry layout, version 5 those
//! frames without the durable marker, version 6 those frames with it; journals of any other
//! version are refused with "unsupported format version".)
//!
//! # Ingest time
//!
//! The caller gives each record an ingest time; the journal stores
//! `max(given, previous record's ingest time)`, so ingest times never go backwards along the
//! LSN order and a point-in-time query ("everything ingested at or before T") is a prefix of
//! the journal. Recovery treats a record whose ingest time goes backwards as damage.
//!
//! # Durable marker
//!
//! `DURABLE` holds, checksummed (two alternating slots, so a torn write of it leaves the
//! previous value), the LSN up to which every record is durable and the chain link of that
//! record. It is raised after every flush, once the flushed bytes are on disk (by
//! [`Journal::flush`], by `sync` commits and by the group flusher), before the durable LSN that
//! acknowledgements read, so an acknowledgement never outruns the marker. It is not in the
//! segments because how often it rises depends on flush timing, and segments must not. A
//! journal with segments and no valid marker is refused. Under `none` the marker only rises on
//! an explicit flush: nothing else is promised durable.
//!
//! # Recovery: torn tail versus damage
//!
//! Every scan (the writer's open, [`JournalReader`], `verify`) checks each frame's CRCs, LSN
//! continuity, ingest-time order and the hash chain (each link recomputed from the previous
//! one), and the durable marker: every record up to the durable LSN must be there, and the
//! link at that LSN must be the marker's. Scanning stops at the first position that does not
//! hold the valid next record:
//! - at or below the durable LSN it is damage, reported as [`JournalError::Corrupt`] with the
//!   segment, offset and LSN, and nothing is changed: those records were acknowledged. A range
//!   of durable records that was zeroed looks like an early end, and is damage too;
//! - past it, when the position holds no intact frame (a CRC fails, garbage, zeros), it is a
//!   torn tail, whatever follows: after a power cut the kernel may have written a later page and
//!   lost an earlier one. [`Journal::open`] zeroes it (synced) and removes every later segment,
//!   readers stop there;
//! - an intact frame in the wrong place (wrong LSN, ingest time going back, broken chain) is
//!   damage wherever it is: no crash writes that.
//!
//! A non-last segment may end early with zeros (the writer rolled over); the next segment's
//! header must then continue the LSNs and the chain.
//!
//! # Storage seam
//!
//! Every write of record bytes to a segment file and every request to make bytes durable goes
//! through a [`storage::Storage`] (`pwrite` of staged frames, `fdatasync` of a segment and of
//! the marker), given at open in a [`JournalEnv`] with the [`clock::Clock`] that paces group
//! commits. [`storage::SimulatedDisk`] records what the syncs made durable, and after
//! [`Journal::crash`] (the writer dies without flushing) its `cut_power` rewrites the segments
//! to what a power cut leaves, so tests and the simulator can lose exactly what was not durable.
//!
//! # Writing
//!
//! [`Journal`] is the single writer. Segment files are allocated for real (`posix_fallocate`)
//! before any record goes in; the next segment is prepared on a background thread while the
//! current one fills (under `sync`, which writes on the applying thread, its pages are also
//! brought into the page cache there, `madvise(MADV_POPULATE_READ)` over a read-only mapping,
//! so the kernel clears fresh pages there and not on the writer; under `none` and `group` the
//! write thread allocates them as it writes), and a rollover costs a header write and a rename (the next flush syncs the header, the rest of
//! the old segment and the directory, before the durable marker passes into the new segment). An append checks limits,
//! computes the link from the payload sums (given by the caller, [`PayloadSums`], or computed
//! by [`Journal::append`]), builds the frame in the writer's staging buffer (16-byte aligned,
//! at most 4 MiB) and returns the payload's place there, so the caller applies it from the
//! very bytes that will be on disk: no allocation, no system call. [`Journal::commit`] ends a
//! batch: the staged frames go to the segment file with one `pwrite` (under `none` only once
//! [`NONE_WRITE_OUT_BYTES`] are staged: nothing is promised, and a write per small
//! batch set the applied latency at low rates); under `none` and
//! `group` that write is done by the journal's write thread (`io.rs`: the staging buffer is
//! handed over, and an empty one of at most three comes back), so the thread that applies
//! events never waits in the kernel (a buffered write can wait, tens of milliseconds at worst,
//! for the page lock that write-back of the very page being appended to holds). Then, by
//! [`Durability`], `sync` writes inline and makes the records durable inline (`fdatasync`),
//! `group` has the write thread hand each written range to the flusher, and `none` has it start
//! the kernel's write-back every 8 MiB (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does
//! not wait), so dirty pages never pile up to the kernel's throttling threshold.
//!
//! Bytes reach the disk through the file descriptor, never through a writable mapping: making
//! mapped dirty pages durable (`msync`) write-protects each page again, and on a multi-core
//! machine every such change interrupts the other cores to flush their TLBs, which was most of
//! the flusher's time. The mapping is read-only (readers and replay); the page cache keeps it
//! coherent with the writes. Readers see committed records once they are written
//! ([`Journal::wait_written`] waits for that; the writer's own [`Journal::records`] does):
//! frames still in the staging buffer are in no file, and a crash loses them like any record
//! that was not durable. Frames handed to the write thread are written even when the writer
//! crashes, so what a crash leaves does not depend on thread timing.
//!
//! Opening also checks the whole chain, so its cost grows with the journal (measured in
//! BENCHMARKS.md); snapshots will bound it.

pub mod chain;
pub mod clock;
mod error;
mod flusher;
pub mod frame;
mod io;
pub mod marker;
mod open;
mod reader;
mod recovery;
mod resume;
pub mod segment;
mod spare;
mod stage;
pub mod storage;
mod sums;
mod verify;
mod writer;

use std::fmt;
use std::str::FromStr;

pub use error::JournalError;
pub use frame::{
    FRAME_ALIGN_BYTES, FRAME_HEADER_BYTES, FRAME_HEADER_LINKED_BYTES, LINK_EVERY,
    MAX_PAYLOAD_BYTES, carries_link, frame_bytes, header_bytes,
};
pub use marker::{Durable, MARKER_FILE_NAME};
pub use reader::{JournalReader, Records};
pub(crate) use resume::walk;
pub use resume::{RecordPos, Resume, check_resume};
pub use segment::{
    FORMAT_VERSION, SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN,
    SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, existing_segment_bytes, segment_file_name,
};
pub use sums::PayloadSums;
pub use verify::{PayloadCheck, verify, verify_at};
pub use writer::{Journal, JournalEnv, NONE_WRITE_OUT_BYTES};

/// The kind byte of a record. 0 is never a valid kind; the core writes [`RecordKind::ENTRY`] (1)
/// and [`RecordKind::COMPACT`] (2) (their payloads are defined by `crate::record`); every other
/// value is reserved for the journal format (e.g. markers that refer to snapshots, which will
/// live in their own files).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKind(pub u8);

impl RecordKind {
    /// A journaled entry (an event or a dead letter, as the event model defines it).
    pub const ENTRY: RecordKind = RecordKind(1);
    /// A compact event: an event without strings in a hand-laid layout.
    pub const COMPACT: RecordKind = RecordKind(2);

    /// Whether a record may carry this kind (every kind but 0).
    pub const fn is_valid(self) -> bool {
        self.0 != 0
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RecordKind::ENTRY => f.write_str("entry"),
            RecordKind::COMPACT => f.write_str("compact"),
            RecordKind(k) => write!(f, "kind-{k}"),
        }
    }
}

/// When appended records reach the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Page cache only: [`Journal::commit`] never flushes (call [`Journal::flush`] yourself).
    None,
    /// Group commit: [`Journal::commit`] flushes when
    /// [`JournalOptions::group_commit_interval_us`] has passed since the last flush.
    #[default]
    Group,
    /// Every [`Journal::commit`] flushes everything appended so far.
    Sync,
}

impl Durability {
    /// The name used on the command line and in scenario files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Durability::None => "none",
            Durability::Group => "group",
            Durability::Sync => "sync",
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error of [`Durability::from_str`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown durability {0:?}: expected none, group or sync")]
pub struct ParseDurabilityError(pub String);

impl FromStr for Durability {
    type Err = ParseDurabilityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Durability::None),
            "group" => Ok(Durability::Group),
            "sync" => Ok(Durability::Sync),
            other => Err(ParseDurabilityError(other.to_owned())),
        }
    }
}

/// Default of [`JournalOptions::group_commit_interval_us`].
pub const GROUP_COMMIT_INTERVAL_US_DEFAULT: u64 = 2_000;
/// Upper limit of [`JournalOptions::group_commit_interval_us`] (one second).
pub const GROUP_COMMIT_INTERVAL_US_MAX: u64 = 1_000_000;

/// Options of the writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalOptions {
    /// Size of each new segment file: at least [`SEGMENT_BYTES_MIN`], at most
    /// [`SEGMENT_BYTES_MAX`], a multiple of 4096. Existing segments keep their size.
    pub segment_bytes: u64,
    pub durability: Durability,
    /// In [`Durability::Group`], the least time between two flushes.
    pub group_commit_interval_us: u64,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            durability: Durability::default(),
            group_commit_interval_us: GROUP_COMMIT_INTERVAL_US_DEFAULT,
        }
    }
}

/// The tail that recovery found torn (cut by [`Journal::open`], skipped by readers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// File name of the segment holding the torn bytes.
    pub segment: String,
    /// Offset of the first byte that is not part of a valid record.
    pub offset: u64,
    /// Number of bytes from `offset` to the end of the non-zero region (0 when records were
    /// lost but only zeros remain, e.g. a later empty segment did not match).
    pub bytes_cut: u64,
    /// The LSN the first torn record would have had.
    pub lsn: u64,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "torn tail at segment {} offset {} lsn {}: {} bytes",
            self.segment, self.offset, self.lsn, self.bytes_cut
        )
    }
}

/// What [`Journal::open`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// Valid records kept.
    pub records: u64,
    /// Segment files in the journal after recovery.
    pub segments: u32,
    /// The torn tail that was cut, if any.
    pub torn_tail: Option<TornTail>,
    /// Segment files after the torn tail that held no records and were removed.
    pub removed_segments: u32,
}

/// A record read from the journal. `payload` is the exact payload, 16-byte aligned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Segment index (the number in the file name).
    pub segment: u32,
    /// Offset of the frame in the segment file.
    pub offset: u64,
    pub lsn: u64,
    pub ingest_us: i64,
    pub kind: RecordKind,
    /// The chain link stored with the record: only every [`LINK_EVERY`]-th record (LSN a
    /// multiple of it) stores one; scans recompute every link.
    pub link: Option<[u8; 16]>,
    pub payload: &'a [u8],
}

/// What [`Journal::append`] wrote: the LSN, the stored ingest time (after clamping) and the
/// payload as it now sits in the mapping (16-byte aligned, zero-copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended<'a> {
    pub lsn: u64,
    pub ingest_us: i64,
    pub payload: &'a [u8],
}

/// Result of a successful `verify`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// The first record the journal holds: 1, or after an archive the first of the segments
    /// kept (the chain is checked from that segment's header link on).
    pub first_lsn: u64,
    pub records: u64,
    pub segments: u32,
    pub last_lsn: u64,
    /// The recomputed chain link of the last record (16 zero bytes for an empty journal).
    pub head_link: [u8; 16],
    /// What the durable marker says: every record up to its LSN is durable, and the chain
    /// link there (checked against the records).
    pub durable: Durable,
    /// The anchor: BLAKE3 of the exact frame bytes (header and payload, no padding) of the
    /// records `first_lsn..=content_lsn`, concatenated in LSN order.
    pub content_digest: [u8; 32],
    /// The last LSN the content digest covers (`last_lsn` unless an anchor LSN was given).
    pub content_lsn: u64,
    pub torn_tail: Option<TornTail>,
}
