//! The throughput paths of `waybill bench` (docs/cli.md): apply alone, the pipelined core,
//! replay, JSONL ingest and SQLite, each timed on the same events.

use super::{BATCH_EVENTS, eps};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use waybill_core::engine::{self, Core, Until};
use waybill_core::event::{ArchivedEntry, Entry};
use waybill_core::journal::{JournalOptions, RecordRef, SEGMENT_HEADER_BYTES, frame_bytes};
use waybill_core::machine::Machine;
use waybill_core::pipeline::{Pipeline, PipelineOptions, StreamOptions, ingest_reader};
use waybill_core::snapshot;

/// Events as rkyv payloads in one buffer, each 16-byte aligned (what the journal holds).
pub struct Archived {
    bytes: rkyv::util::AlignedVec<16>,
    spans: Vec<(usize, usize)>,
}

impl Archived {
    pub fn of(entries: &[Entry]) -> Archived {
        let mut bytes = rkyv::util::AlignedVec::<16>::new();
        let mut spans = Vec::with_capacity(entries.len());
        let mut one = rkyv::util::AlignedVec::<16>::new();
        for e in entries {
            one.clear();
            one = rkyv::api::high::to_bytes_in::<_, rkyv::rancor::Error>(e, one)
                .expect("entries serialize");
            let start = bytes.len();
            bytes.extend_from_slice(&one);
            while bytes.len() % 16 != 0 {
                bytes.push(0);
            }
            spans.push((start, one.len()));
        }
        Archived { bytes, spans }
    }

    pub fn get(&self, i: usize) -> &[u8] {
        let (start, len) = self.spans[i];
        &self.bytes[start..start + len]
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }
}

pub fn apply_only(archived: &Archived) -> f64 {
    let mut m = Machine::new();
    let t0 = Instant::now();
    for i in 0..archived.len() {
        // SAFETY: rkyv serialized these bytes from valid entries just above.
        let entry = unsafe { rkyv::access_unchecked::<ArchivedEntry>(archived.get(i)) };
        m.step(i as u64 + 1, 0, entry);
    }
    eps(archived.len(), t0.elapsed().as_secs_f64())
}

/// What the pipeline path measured, besides its rate.
pub struct PipelineRun {
    pub eps: f64,
    pub state_bytes_per_shipment: f64,
    pub journal_bytes_per_record: f64,
}

/// Typed entries through the whole core, pipelined: this thread encodes batches (rkyv and
/// the payload hashes of the chain), the core thread journals and applies them.
pub fn pipeline(entries: &[Entry], dir: &Path, opts: JournalOptions) -> PipelineRun {
    let core = Core::open(dir, opts).expect("open journal");
    let t0 = Instant::now();
    let mut core = feed(core, entries, 0);
    core.flush().expect("flush");
    let eps = eps(entries.len(), t0.elapsed().as_secs_f64());
    let m = core.machine();
    let (records, bytes) = journal_record_bytes(&core);
    assert_eq!(records, entries.len() as u64, "a record per event");
    PipelineRun {
        eps,
        state_bytes_per_shipment: m.state().heap_bytes() as f64
            / (m.state().shipment_count().max(1)) as f64,
        journal_bytes_per_record: bytes as f64 / records.max(1) as f64,
    }
}

/// Hands `core` to a pipeline, feeds it `entries` in batches of [`BATCH_EVENTS`] (the
/// `k`th batch ingested at `first_ingest_us + k`) and takes it back, every batch applied
/// (not flushed).
pub fn feed(core: Core, entries: &[Entry], first_ingest_us: i64) -> Core {
    let p = Pipeline::start(core, PipelineOptions::default());
    for (i, chunk) in entries.chunks(BATCH_EVENTS).enumerate() {
        let mut batch = p.batch();
        for e in chunk {
            batch
                .push(e, first_ingest_us + i as i64)
                .expect("entries encode");
        }
        p.send(batch).expect("the core thread runs");
        while p.acks().try_recv().is_ok() {}
    }
    p.finish().expect("pipeline")
}

/// What the snapshot path measured on the pipeline's journal.
pub struct SnapshotRun {
    /// `Core::open` with no snapshot: a replay of every record.
    pub restart_full_ms: f64,
    /// `Core::snapshot` of the whole state: serialize, fsync, rename.
    pub snapshot_ms: f64,
    pub snapshot_bytes_per_shipment: f64,
    /// `Core::open` from that snapshot, at the journal's end (nothing replayed).
    pub restart_ms: f64,
}

/// Restart without and with a snapshot, and the snapshot between, on the journal of `n`
/// records in `dir` (which has no snapshot yet).
pub fn snapshot(dir: &Path, n: usize, opts: JournalOptions) -> SnapshotRun {
    assert!(snapshot::list(dir).expect("list snapshots").is_empty());
    let t0 = Instant::now();
    let mut core = Core::open(dir, opts.clone()).expect("open journal");
    let restart_full_ms = ms(t0);
    assert_eq!(core.snapshots().loaded, None, "a full replay");
    assert_eq!(core.snapshots().replayed, n as u64);
    let t0 = Instant::now();
    let (path, lsn) = core.snapshot(SNAPSHOTS_KEPT).expect("snapshot");
    let snapshot_ms = ms(t0);
    assert_eq!(lsn, n as u64, "at the journal's end");
    let file_bytes = std::fs::metadata(&path).expect("snapshot file").len();
    let shipments = core.machine().state().shipment_count();
    drop(core);
    let t0 = Instant::now();
    let core = Core::open(dir, opts).expect("reopen journal");
    let restart_ms = ms(t0);
    let used = core.snapshots();
    assert_eq!(used.loaded.as_ref().map(|l| l.1), Some(lsn), "{used:?}");
    assert_eq!(used.replayed, 0, "nothing after the snapshot");
    assert_eq!(core.machine().lsn(), n as u64);
    SnapshotRun {
        restart_full_ms,
        snapshot_ms,
        snapshot_bytes_per_shipment: file_bytes as f64 / shipments.max(1) as f64,
        restart_ms,
    }
}

/// Snapshots kept by the benchmark's `Core::snapshot` calls.
pub const SNAPSHOTS_KEPT: usize = 2;

/// Milliseconds since `t0`.
pub fn ms(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1e3
}

/// The records of the core's journal and the bytes they occupy in its segments: from the end
/// of each segment's header to the end of its last record's frame (padding included, the
/// segment headers and the unused rest of the last segment not).
fn journal_record_bytes(core: &Core) -> (u64, u64) {
    record_bytes(core.journal().records())
}

/// [`journal_record_bytes`] of the records a reader (or a writer) yields.
pub fn record_bytes<'a>(all: impl Iterator<Item = RecordRef<'a>>) -> (u64, u64) {
    let mut records = 0u64;
    let mut bytes = 0u64;
    // (segment, end of its last frame so far)
    let mut segment: Option<(u32, u64)> = None;
    for r in all {
        records += 1;
        let end = r.offset + frame_bytes(r.lsn, r.payload.len()) as u64;
        match segment {
            Some((s, last_end)) if s == r.segment => {
                debug_assert!(end > last_end, "frames in order");
                segment = Some((s, end));
            }
            other => {
                if let Some((_, last_end)) = other {
                    bytes += last_end - SEGMENT_HEADER_BYTES as u64;
                }
                segment = Some((r.segment, end));
            }
        }
    }
    if let Some((_, last_end)) = segment {
        bytes += last_end - SEGMENT_HEADER_BYTES as u64;
    }
    (records, bytes)
}

pub fn replay(dir: &Path, n: usize) -> f64 {
    let t0 = Instant::now();
    let r = engine::replay(dir, Until::End).expect("replay");
    let s = t0.elapsed().as_secs_f64();
    assert_eq!(r.machine.lsn() as usize, n);
    eps(n, s)
}

/// The replay split by key group, one group per core; its digest is checked against a
/// replay's (outside the timing).
pub fn replay_parallel(dir: &Path, n: usize) -> f64 {
    let groups = std::thread::available_parallelism().map_or(1, |c| c.get());
    let t0 = Instant::now();
    let p = waybill_core::partition::replay_partitioned(dir, groups).expect("replay by key group");
    let s = t0.elapsed().as_secs_f64();
    assert_eq!(p.lsn as usize, n);
    let one = engine::replay(dir, Until::End).expect("replay");
    assert_eq!(p.digest(), one.machine.digest(), "the same digest");
    eps(n, s)
}

/// CloudEvents JSONL through the whole core, as `waybill ingest` does it: a reader thread,
/// decoder threads, and the journal and apply on this thread.
pub fn jsonl(jsonl: Arc<[u8]>, n: usize, dir: &Path, opts: JournalOptions) -> f64 {
    let mut core = Core::open(dir, opts).expect("open journal");
    let t0 = Instant::now();
    let input = std::io::Cursor::new(jsonl);
    let opts = StreamOptions::default(); // as `waybill ingest` reads, pause detection included
    let r = ingest_reader(input, &mut core, &opts, || 0, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect("ingest");
    core.flush().expect("flush");
    let s = t0.elapsed().as_secs_f64();
    assert!(r.read_error.is_none());
    assert_eq!(core.machine().lsn() as usize, n);
    eps(n, s)
}

/// The SQLite store on a fresh file at `path`.
#[cfg(feature = "sqlite")]
pub fn sqlite(events: &[waybill_core::event::Event], path: &Path) -> f64 {
    let mut store = super::sqlite::SqliteStore::create(path).expect("create sqlite");
    let t0 = Instant::now();
    for (i, chunk) in events.chunks(BATCH_EVENTS).enumerate() {
        store.ingest(chunk, i as i64).expect("sqlite ingest");
    }
    eps(events.len(), t0.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use waybill_core::journal::{Durability, FRAME_HEADER_BYTES, SEGMENT_BYTES_MIN};

    fn entries(n: u64) -> Vec<Entry> {
        waybill_sim::workload::workload(n, n / 10, 3)
            .events
            .into_iter()
            .map(Entry::Event)
            .collect()
    }

    /// The bytes of the segment files from their headers to their last non-zero byte,
    /// rounded up to the frame alignment: the extent the records occupy, seen from outside.
    fn written_extent(dir: &Path) -> u64 {
        let mut total = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_none_or(|e| e != "seg") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            // A spare segment prepared ahead holds no record (nor maybe a header).
            let end = bytes
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |at| at as u64 + 1);
            total += end
                .next_multiple_of(16)
                .saturating_sub(SEGMENT_HEADER_BYTES as u64);
        }
        total
    }

    fn record_bytes(entries: &[Entry], segment_bytes: u64) -> (u64, u64, u64, usize) {
        let dir = tempfile::tempdir().unwrap();
        let opts = JournalOptions {
            segment_bytes,
            durability: Durability::None,
            ..JournalOptions::default()
        };
        let mut core = Core::open(dir.path(), opts).unwrap();
        for (i, chunk) in entries.chunks(500).enumerate() {
            core.ingest(chunk, i as i64).unwrap();
        }
        core.flush().unwrap();
        let (records, bytes) = journal_record_bytes(&core);
        let segments = core.journal().records().map(|r| r.segment).max().unwrap() as usize + 1;
        drop(core);
        (records, bytes, written_extent(dir.path()), segments)
    }

    #[test]
    fn journal_bytes_count_the_records_whatever_the_segments() {
        let entries = entries(3_000);
        let (records, one, extent, segments) = record_bytes(&entries, 8 << 20);
        assert_eq!((records, segments), (entries.len() as u64, 1));
        let (records, many, many_extent, segments) = record_bytes(&entries, SEGMENT_BYTES_MIN);
        assert_eq!(records, entries.len() as u64);
        assert!(segments > 3, "{segments} segments");
        // Neither the segment headers nor the unused ends of full segments count.
        assert_eq!(one, many);
        assert!(one >= records * FRAME_HEADER_BYTES as u64);
        // From outside: the files hold exactly that much, less any zeros ending a payload.
        for (extent, segments) in [(extent, 1), (many_extent, segments as u64)] {
            assert!(
                extent <= one && one - extent < 64 * segments,
                "{extent} {one}"
            );
        }
    }
}
