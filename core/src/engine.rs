//! The imperative shell around the [`Machine`]: every received event is encoded, appended to
//! the journal, and only then applied, from the bytes as they sit in the journal.
//!
//! [`Core`] is the single writer (it owns the journal and the state). [`replay`] rebuilds a
//! machine read-only, up to an LSN or an ingest time, for queries and audits.
//!
//! Replay (and the replay inside [`Core::open`]) is pipelined over two threads: a verifying
//! thread walks the records (frames and CRCs were checked by the journal's scan) and checks
//! each payload as an entry (`rkyv::access`), then hands batches of verified references to
//! the applying thread over a bounded queue. The applying thread steps the machine in LSN
//! order, exactly as a sequential loop would: only the checking moves, never the order.

use crate::admit::admit;
use crate::batch::EncodedBatch;
use crate::effect::{EffectBuf, rederive_effects, render};
use crate::event::{ArchivedEntry, DeadLetterReason, Entry, Notice, Settings};
use crate::input::RawBatch;
use crate::journal::storage::Storage;
use crate::journal::{Durability, Resume, check_resume};
use crate::journal::{
    Journal, JournalEnv, JournalError, JournalOptions, JournalReader, RecordKind, RecordRef,
    Recovery, TornTail,
};
use crate::limits::Limits;
use crate::machine::{Counters, Machine, Outcome, PREFETCH_AHEAD};
use crate::outbox::EffectLog;
use crate::record::{self, EntryView, encode_entry, read_own};
use crate::snapshot::policy::{SnapshotPolicy, Snapshotter, Taken};
use crate::snapshot::{self, Skipped};
use crate::validate::Invalid;
use rkyv::rancor;
use rkyv::util::AlignedVec;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::error::{CoreError, ErrorKind};
pub use crate::record::{COMPACT_KIND, ENTRY_KIND};

/// Reads a journaled record of `kind` as an entry, validating it (never trusts bytes from
/// disk): its structure is checked ([`record::read`]: the archive, or the compact form), and so
/// are the rules every entry passed before it was journaled
/// ([`crate::validate::entry_view`]), so apply never meets an entry it cannot apply, even from
/// a journal written by an older version or edited with checksums recomputed.
#[doc(hidden)]
pub fn access_record(
    lsn: u64,
    kind: RecordKind,
    payload: &[u8],
) -> Result<EntryView<'_>, CoreError> {
    let entry = record::read(kind, payload).map_err(|e| CoreError::BadRecord {
        lsn,
        what: e.to_string(),
    })?;
    crate::validate::entry_view(&entry).map_err(|invalid| CoreError::BadRecord {
        lsn,
        what: format!("the entry breaks a rule of the event format: {invalid}"),
    })?;
    Ok(entry)
}

/// [`access_record`] for a payload of kind [`ENTRY_KIND`] (an archived entry).
#[doc(hidden)]
pub fn access_entry(lsn: u64, payload: &[u8]) -> Result<&ArchivedEntry, CoreError> {
    let entry = rkyv::access::<ArchivedEntry, rancor::Error>(payload).map_err(|e| {
        CoreError::BadRecord {
            lsn,
            what: e.to_string(),
        }
    })?;
    crate::validate::archived_entry(entry).map_err(|invalid| CoreError::BadRecord {
        lsn,
        what: format!("the entry breaks a rule of the event format: {invalid}"),
    })?;
    Ok(entry)
}

/// What one ingested batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// The batch's events: received, applied, duplicates, dead-lettered.
    pub counters: Counters,
    /// LSN of the batch's first record.
    pub first_lsn: u64,
    /// LSN of the batch's last record.
    pub last_lsn: u64,
    /// Every record up to this LSN is durable under the journal's durability mode.
    pub durable_lsn: u64,
}

/// What opening found of the snapshots: the one loaded (if any) and those passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotUse {
    /// The snapshot the machine was loaded from, and its LSN; `None`: a full replay.
    pub loaded: Option<(PathBuf, u64)>,
    /// Newer snapshots that could not be used, each with the reason (damaged, cut off, of
    /// another format, or not of this journal's history).
    pub skipped: Vec<Skipped>,
    /// Records replayed after the snapshot (all of them without one).
    pub replayed: u64,
}

/// The single writer: journal + machine.
pub struct Core {
    journal: Journal,
    machine: Machine,
    snapshots: SnapshotUse,
    policy: SnapshotPolicy,
    snapshotter: Option<Snapshotter>,
    /// The newest snapshot known to be written (loaded at open, or taken since).
    snapshot_lsn: u64,
    /// The LSN of the last background snapshot asked for.
    snapshot_asked_lsn: u64,
    scratch: AlignedVec<16>,
    /// Reused by [`Core::ingest`] and [`Core::ingest_raw`].
    batch: EncodedBatch,
    recovery: Recovery,
    limits: Limits,
    /// Where each batch's effects go, once [`Core::start_effects`] was called.
    effects: Option<EffectsOut>,
}

/// The effect log a core appends to, and the buffer it takes the machine's effects into.
struct EffectsOut {
    log: EffectLog,
    buf: EffectBuf,
}

/// What [`Core::start_effects`] found of the effect log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EffectsStarted {
    /// Effects the log held past the journal's last record (cut: a crash took their records).
    pub cut: u64,
    /// Effects the log lacked and that were derived again from the journal.
    pub rederived: u64,
    /// The `effect_seq` of the last effect in the log (the machine's).
    pub effect_seq: u64,
}

/// [`Core::ingest`] keeps its batch buffer for the next call up to this size.
const KEEP_BATCH_BYTES: usize = 64 << 20;

impl Core {
    /// Opens (or creates) the journal in `dir` and rebuilds state by replaying it (the
    /// embedding API opens one with [`crate::Options::open_core`]).
    ///
    /// ```
    /// use waybill_core::engine::Core;
    /// use waybill_core::input::{InputReader, RawBatch};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let mut core = Core::open(dir.path(), Default::default())?;
    /// let day = std::fs::read("examples/day.jsonl")?;
    /// let (mut input, mut raw) = (InputReader::new(&day[..]), RawBatch::new());
    /// while input.read_batch(&mut raw, 4096)? > 0 {
    ///     let report = core.ingest_raw(&raw, waybill_core::system_clock_us())?; // one unit
    ///     assert!(report.counters.conserved());
    ///     raw.clear();
    /// }
    /// core.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(dir: &Path, opts: JournalOptions) -> Result<Core, CoreError> {
        Core::open_with(dir, opts, JournalEnv::default())
    }

    /// [`Core::open`] with the journal on `storage` (e.g. a
    /// [`crate::journal::storage::SimulatedDisk`], to cut the power after [`Core::crash`]).
    #[doc(hidden)]
    pub fn open_with_storage(
        dir: &Path,
        opts: JournalOptions,
        storage: Arc<dyn Storage>,
    ) -> Result<Core, CoreError> {
        Core::open_with(dir, opts, JournalEnv::with_storage(storage))
    }

    /// [`Core::open`] with the journal's storage and clock given by `env`.
    ///
    /// The machine starts from the newest snapshot that belongs to this journal and loads
    /// (see [`crate::snapshot`]), then steps the records after it; [`Core::snapshots`] says
    /// which one and which were skipped.
    #[doc(hidden)]
    pub fn open_with(dir: &Path, opts: JournalOptions, env: JournalEnv) -> Result<Core, CoreError> {
        let ((journal, recovery), loaded, skipped) = with_newest_snapshot(
            dir,
            |_| true,
            |resume| Ok(Journal::open_after(dir, opts.clone(), env.clone(), resume)?),
        )?;
        snapshot::remove_temporaries(dir)?;
        let last_lsn = journal.last_lsn();
        let (mut machine, loaded) = match loaded {
            Some((m, at, path)) => (m, Some((path, at.lsn))),
            None if journal.first_lsn() > 1 => {
                return Err(archived(dir, journal.first_lsn(), Until::End));
            }
            None => (Machine::new(), None),
        };
        let from = machine.lsn;
        let records = match from {
            0 => journal.records(),
            _ => journal
                .records_after(from)
                .expect("a snapshot is only loaded at a record the journal holds"),
        };
        replay_records(
            records.map(Ok),
            last_lsn - from,
            Until::End,
            &mut machine,
            |_| {},
        )?;
        debug_assert_eq!(machine.lsn, last_lsn);
        Ok(Core {
            journal,
            machine,
            snapshots: SnapshotUse {
                loaded,
                skipped,
                replayed: last_lsn - from,
            },
            policy: SnapshotPolicy::OFF,
            snapshotter: None,
            snapshot_lsn: from,
            snapshot_asked_lsn: from,
            scratch: AlignedVec::new(),
            batch: EncodedBatch::new(),
            recovery,
            limits: Limits::default(),
            effects: None,
        })
    }

    /// The capacity limits batches are admitted under ([`Limits::default`] after open).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the capacity limits later batches are admitted under. Limits only refuse new
    /// batches: what the journal holds is never checked against them (a core whose state is
    /// already past a lowered limit refuses every batch that would add to that store).
    pub fn set_limits(&mut self, limits: Limits) -> Result<(), CoreError> {
        limits.check().map_err(CoreError::InvalidLimits)?;
        self.limits = limits;
        Ok(())
    }

    /// Starts keeping the effects the machine derives: from now on each batch's effects are
    /// appended to the effect log in `<journal>/effects/` (see [`crate::outbox`]) before the
    /// batch's report returns. First brings the log in line with the journal: effects whose
    /// record the journal no longer holds (a crash cut it) are cut, and effects the log lacks
    /// (a crash took them, or effects were not kept for a while) are derived again from the
    /// journal, read-only, exactly as they were first derived.
    pub fn start_effects(&mut self) -> Result<EffectsStarted, CoreError> {
        if let Some(out) = &self.effects {
            return Ok(EffectsStarted {
                effect_seq: out.log.last_seq(),
                ..EffectsStarted::default()
            });
        }
        self.flush()?;
        let dir = self.journal.dir().to_owned();
        let mut log = EffectLog::open(&dir)?;
        let lsn = self.machine.lsn;
        let cut = log.truncate_after_lsn(lsn)?;
        let (have, want) = (log.last_seq(), self.machine.effect_seq);
        if have > want {
            return Err(CoreError::Refused(format!(
                "the effect log in {} holds {have} effects up to lsn {lsn}, the journal derives {want}: it belongs to another journal",
                log.dir().display()
            )));
        }
        if have < want {
            let derived = rederive_effects(&dir, have, lsn, |buf, sources| {
                for e in buf.effects() {
                    if e.seq > log.last_seq() {
                        log.append(&render(buf, e, sources))?;
                    }
                }
                Ok(())
            })?;
            assert_eq!(
                derived, want,
                "a replay derives the effects the live core derived"
            );
        }
        assert_eq!(log.last_seq(), want);
        self.machine.collect_effects(true);
        self.effects = Some(EffectsOut {
            log,
            buf: EffectBuf::new(),
        });
        Ok(EffectsStarted {
            cut,
            rederived: want - have,
            effect_seq: want,
        })
    }

    /// The effect log, once [`Core::start_effects`] was called.
    pub fn effect_log(&self) -> Option<&EffectLog> {
        self.effects.as_ref().map(|o| &o.log)
    }

    /// Appends the effects the machine derived since the last call to the effect log.
    fn write_effects(&mut self) -> Result<(), CoreError> {
        let Some(out) = &mut self.effects else {
            return Ok(());
        };
        self.machine.take_effects(&mut out.buf);
        for e in out.buf.effects() {
            out.log
                .append(&render(&out.buf, e, self.machine.sources()))?;
        }
        debug_assert_eq!(out.log.last_seq(), self.machine.effect_seq);
        Ok(())
    }

    /// Makes `settings` (the SLA targets) the journal's from the next record on: journals a
    /// settings record and commits it, unless they already are the journal's (then nothing is
    /// written). Returns whether a record was written. A settings record is not an event: it
    /// is not received, not counted, and changes only the effects derived after it.
    pub fn set_settings(&mut self, settings: Settings, ingest_us: i64) -> Result<bool, CoreError> {
        if self.machine.settings() == settings {
            return Ok(false);
        }
        let before = self.machine.counters;
        let (_, outcome) = self.submit(&Entry::Settings(settings), ingest_us)?;
        debug_assert_eq!(outcome, Outcome::Settings);
        debug_assert_eq!(self.machine.counters, before);
        self.commit()?;
        assert_eq!(self.machine.settings(), settings);
        Ok(true)
    }

    /// Dies without shutdown, as a killed process does: nothing more is flushed or
    /// acknowledged; what was written but not made durable stays in the page cache, where a
    /// power cut can still take it. The state dies with the core.
    #[doc(hidden)]
    pub fn crash(self) {
        self.journal.crash();
    }

    /// The snapshot the machine was loaded from at open, and those skipped.
    pub fn snapshots(&self) -> &SnapshotUse {
        &self.snapshots
    }

    /// Takes snapshots by `policy` from now on: every `every_records` records, off the
    /// writer (see [`crate::snapshot::policy`]), and at [`Core::close`].
    pub fn set_snapshot_policy(&mut self, policy: SnapshotPolicy) {
        self.snapshotter = (policy.every_records > 0)
            .then(|| Snapshotter::start(self.journal.dir(), policy.keep.max(1)));
        self.policy = policy;
    }

    /// Reports of the background snapshots finished since the last call (where each was
    /// written, or why it failed: a failed snapshot costs a longer restart, never a record).
    pub fn snapshot_reports(&mut self) -> Vec<Taken> {
        let reports = self
            .snapshotter
            .as_ref()
            .map_or_else(Vec::new, Snapshotter::finished);
        self.note_snapshots(&reports);
        reports
    }

    fn note_snapshots(&mut self, reports: &[Taken]) {
        for (_, lsn) in reports.iter().flatten() {
            self.snapshot_lsn = self.snapshot_lsn.max(*lsn);
        }
    }

    /// Asks the snapshot thread for a snapshot once the policy's interval has passed, at the
    /// last record on disk (durable under `group` and `sync`; written, under `none`).
    fn maybe_snapshot(&mut self) {
        let Some(s) = &self.snapshotter else {
            return;
        };
        let target = match self.journal.options().durability {
            Durability::None => self.machine.lsn,
            Durability::Group | Durability::Sync => self.journal.durable_lsn(),
        };
        if target
            >= self
                .snapshot_asked_lsn
                .saturating_add(self.policy.every_records)
            && s.ask(target)
        {
            self.snapshot_asked_lsn = target;
        }
    }

    /// Closes the core cleanly: makes everything durable, waits for a background snapshot
    /// being taken, and writes one at the end when the policy asks for it. Returns the
    /// reports of the snapshots taken since the last [`Core::snapshot_reports`].
    pub fn close(mut self) -> Result<Vec<Taken>, CoreError> {
        self.flush()?;
        if let Some(out) = &mut self.effects {
            out.log.sync()?;
        }
        let mut reports = self
            .snapshotter
            .take()
            .map_or_else(Vec::new, Snapshotter::finish);
        self.note_snapshots(&reports);
        let since = self.machine.lsn - self.snapshot_lsn;
        if since > 0 && since >= self.policy.on_close_min_records {
            reports.push(Ok(self.snapshot(self.policy.keep)?));
        }
        Ok(reports)
    }

    /// Writes a snapshot of the machine as it stands (after making the journal durable up
    /// to there, so that a snapshot is never ahead of what recovery keeps), keeping the newest
    /// `keep`. The writer waits for as long as the write takes (for a large state, take them
    /// off the writer: see [`crate::snapshot`]).
    pub fn snapshot(&mut self, keep: usize) -> Result<(PathBuf, u64), CoreError> {
        self.flush()?;
        debug_assert_eq!(self.journal.durable_lsn(), self.machine.lsn);
        let at = self.journal.last_resume();
        debug_assert_eq!(at.lsn, self.machine.lsn);
        let (path, header) = snapshot::write(self.journal.dir(), &self.machine, at, keep)?;
        self.snapshot_lsn = header.lsn;
        Ok((path, header.lsn))
    }

    /// What opening found of the journal's tail (a torn record cut, and where).
    #[doc(hidden)]
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The state machine: shipments, vehicles, dedupe, counters (read-only).
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// The journal (its LSNs, durable LSN, directory).
    #[doc(hidden)]
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Checks, admits, journals then applies one entry. Call [`Core::commit`] at the end of a
    /// batch. An invalid entry ([`CoreError::Invalid`]) or one the limits refuse
    /// ([`CoreError::Capacity`]) is not journaled, and the core stays usable.
    pub fn submit(&mut self, entry: &Entry, ingest_us: i64) -> Result<(u64, Outcome), CoreError> {
        crate::validate::entry(entry)
            .and_then(|()| notice_fits(&self.machine, entry, 0))
            .map_err(|invalid| CoreError::Invalid { index: 0, invalid })?;
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let (buf, kind) = encode_entry(entry, buf).map_err(|e| CoreError::Encode(e.to_string()))?;
        self.scratch = buf;
        // SAFETY: these are the bytes `encode_entry` just wrote for a valid `Entry`, with its
        // kind, at the start of a 16-byte aligned buffer that nothing else writes.
        let view = unsafe { read_own(kind, &self.scratch) };
        self.check_payload_len(self.scratch.len())?;
        let admitted = admit(&self.machine, &self.limits, 1, self.scratch.len(), || {
            std::iter::once(view)
        })?;
        let appended = self.journal.append(ingest_us, kind, &self.scratch)?;
        // SAFETY: these are the bytes `encode_entry` just wrote for a valid `Entry`, with its
        // kind, copied verbatim into the journal's staging buffer at a 16-byte aligned offset;
        // nothing else writes there while `appended` borrows the journal.
        let view = unsafe { read_own(kind, appended.payload) };
        let lsn = appended.lsn;
        // The ingest time as journaled (kept monotonic): what a replay steps with.
        let outcome = self.machine.step(lsn, appended.ingest_us, view);
        admitted.debug_check(&self.machine);
        Ok((lsn, outcome))
    }

    /// Checks, admits, journals and applies a batch of entries, then commits it. The batch is
    /// one unit: an invalid entry ([`CoreError::Invalid`], with its index) or a batch the
    /// limits refuse ([`CoreError::Capacity`]) journals nothing of it.
    pub fn ingest<'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a Entry>,
        ingest_us: i64,
    ) -> Result<BatchReport, CoreError> {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        let mut pushed = Ok(());
        for (index, entry) in entries.into_iter().enumerate() {
            pushed = notice_fits(&self.machine, entry, index)
                .map_err(|invalid| CoreError::Invalid { index, invalid })
                .and_then(|()| batch.push(entry, ingest_us).map_err(|e| e.at_index(index)));
            if pushed.is_err() {
                break;
            }
        }
        let report = pushed.and_then(|()| self.ingest_encoded(&batch));
        self.keep_batch(batch);
        report
    }

    /// Decodes, journals and applies a batch of raw events, then commits it (one unit, as
    /// [`Core::ingest`]).
    pub fn ingest_raw(
        &mut self,
        batch: &RawBatch,
        ingest_us: i64,
    ) -> Result<BatchReport, CoreError> {
        let mut encoded = std::mem::take(&mut self.batch);
        encoded.clear();
        let mut pushed = Ok(());
        for raw in batch.iter() {
            pushed = encoded.push_decoded(&raw.decode(), ingest_us);
            if pushed.is_err() {
                break;
            }
        }
        let report = pushed.and_then(|()| self.ingest_encoded(&encoded));
        self.keep_batch(encoded);
        report
    }

    /// Refuses (before anything is appended) a payload the journal could not take: every
    /// valid entry fits the format's record limit, but small segments take less.
    fn check_payload_len(&self, len: usize) -> Result<(), CoreError> {
        let max = self.journal.max_payload_bytes();
        if len > max {
            return Err(JournalError::PayloadTooLarge { len, max }.into());
        }
        Ok(())
    }

    /// Keeps a batch buffer for the next call, unless it grew large.
    fn keep_batch(&mut self, batch: EncodedBatch) {
        if batch.bytes_len() <= KEEP_BATCH_BYTES {
            self.batch = batch;
        }
    }

    /// Journals and applies a batch encoded ahead (on another thread, see
    /// [`crate::pipeline`]), each entry with its own ingest time, then commits it. The journal
    /// and state are exactly those [`Core::submit`] gives for the same entries and times. The
    /// batch is admitted first: one that could take a store past its limit is refused whole
    /// ([`CoreError::Capacity`]) before any of it is journaled.
    pub fn ingest_encoded(&mut self, batch: &EncodedBatch) -> Result<BatchReport, CoreError> {
        self.ingest_encoded_with(batch, |_, _| {})
    }

    /// [`Core::ingest_encoded`], telling `on_step` each entry's LSN and outcome in batch
    /// order (a service answers every event of a request with them).
    pub fn ingest_encoded_outcomes(
        &mut self,
        batch: &EncodedBatch,
        outcomes: &mut Vec<(u64, Outcome)>,
    ) -> Result<BatchReport, CoreError> {
        outcomes.clear();
        let report =
            self.ingest_encoded_with(batch, |lsn, outcome| outcomes.push((lsn, outcome)))?;
        debug_assert_eq!(outcomes.len(), batch.len());
        Ok(report)
    }

    fn ingest_encoded_with(
        &mut self,
        batch: &EncodedBatch,
        mut on_step: impl FnMut(u64, Outcome),
    ) -> Result<BatchReport, CoreError> {
        self.check_payload_len(batch.max_payload_bytes())?;
        let admitted = admit(
            &self.machine,
            &self.limits,
            batch.len(),
            batch.bytes_len(),
            || (0..batch.len()).map(|i| batch.entry(i)),
        )?;
        let before = self.machine.counters;
        let first_lsn = self.machine.lsn + 1;
        for i in 0..batch.len() {
            // The id-index entry a later step reads first, loaded while this one runs.
            if i + PREFETCH_AHEAD < batch.len() {
                self.machine.prefetch(batch.entry(i + PREFETCH_AHEAD));
            }
            let (payload, kind, ingest_us) = batch.record(i);
            let appended = self
                .journal
                .append_summed(ingest_us, kind, payload, batch.sums(i))?;
            // SAFETY: `EncodedBatch` payloads are only ever written by `EncodedBatch::push` and
            // `push_decoded`, which encode a valid `Entry` with `encode_entry` and keep its
            // kind; they were copied verbatim into the journal's staging buffer at a 16-byte
            // aligned offset, and nothing else writes there while `appended` borrows the journal.
            let view = unsafe { read_own(kind, appended.payload) };
            let (lsn, journaled_us) = (appended.lsn, appended.ingest_us);
            on_step(lsn, self.machine.step(lsn, journaled_us, view));
        }
        admitted.debug_check(&self.machine);
        self.finish_batch(before, first_lsn)
    }

    fn finish_batch(&mut self, before: Counters, first_lsn: u64) -> Result<BatchReport, CoreError> {
        let durable_lsn = self.journal.commit()?;
        self.write_effects()?;
        self.maybe_snapshot();
        let counters = self.machine.counters.since(&before);
        Ok(BatchReport {
            counters,
            first_lsn,
            last_lsn: self.machine.lsn,
            durable_lsn,
        })
    }

    /// Ends a batch of [`Core::submit`] calls: flushes as the durability mode says and returns
    /// the durable LSN (what an acknowledgement may promise).
    pub fn commit(&mut self) -> Result<u64, CoreError> {
        let durable_lsn = self.journal.commit()?;
        self.write_effects()?;
        self.maybe_snapshot();
        Ok(durable_lsn)
    }

    /// Makes everything appended so far durable, whatever the mode; returns the durable LSN.
    pub fn flush(&mut self) -> Result<u64, CoreError> {
        Ok(self.journal.flush()?)
    }

    /// Brings the running summary up to date by at most `budget` shipments and vehicles
    /// ([`Machine::refresh_summary`]) and says whether it is caught up. Call it on the writer
    /// between batches: an entity visited costs a few times what applying one event costs,
    /// so a budget of a fraction of a batch's events keeps each call within about a batch's
    /// time, whatever the state's size. After open the running summary counts every shipment
    /// and vehicle again, budget by budget (it is not in snapshots).
    pub fn refresh_summary(&mut self, budget: usize) -> bool {
        self.machine.refresh_summary(budget)
    }

    /// The summary from the running sums ([`Machine::summary_cached`]): equal to
    /// `self.machine().summary()`, without its pass over every shipment; `None` while the
    /// running summary is behind the state (refresh it first).
    pub fn summary_cached(&self) -> Option<crate::machine::Summary> {
        self.machine.summary_cached()
    }
}

/// How far a read-only replay goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every record.
    End,
    /// The records up to this LSN (inclusive).
    Lsn(u64),
    /// Every record ingested at or before this time (what the core knew then).
    IngestTime(i64),
}

/// Refuses a cluster's notice where it does not belong: a key group anywhere but a new
/// journal's first record, a gap in a journal that holds no key group (the machine would
/// ignore the one and derive an effect nobody detected from the other).
fn notice_fits(machine: &Machine, entry: &Entry, index: usize) -> Result<(), Invalid> {
    let at_start = machine.lsn() == 0 && index == 0;
    let refused = match entry {
        Entry::Notice(Notice::KeyGroup(_)) if !at_start => {
            "a key-group notice is only a new journal's first record"
        }
        Entry::Notice(Notice::Gap(_)) if machine.key_group().is_none() => {
            "a gap notice belongs in a key group's journal only (its gaps are found upstream)"
        }
        _ => return Ok(()),
    };
    Err(Invalid {
        reason: DeadLetterReason::InvalidEnvelope,
        field: "notice",
        detail: refused.to_owned(),
    })
}

/// A machine rebuilt read-only from a journal.
pub struct Replayed {
    /// The rebuilt machine.
    pub machine: Machine,
    /// The snapshot it started from (by [`replay`]; [`replay_with`] visits every record and
    /// uses none), and those skipped.
    pub snapshots: SnapshotUse,
    /// Ingest time of the last record replayed (None when none was).
    pub last_ingest_us: Option<i64>,
    /// A torn last record that a writer will cut on its next open.
    pub torn_tail: Option<TornTail>,
}

/// One replayed record, as seen by a [`replay_with`] visitor.
pub struct Visit<'a> {
    /// The record's LSN.
    pub lsn: u64,
    /// When it was journaled (microseconds since the Unix epoch).
    pub ingest_us: i64,
    /// Number of the segment file that holds it.
    pub segment: u32,
    /// Byte offset of its frame in that segment.
    pub offset: u64,
    /// The entry as the record holds it (an archived entry or a compact event).
    pub entry: EntryView<'a>,
    /// What applying it did.
    pub outcome: Outcome,
}

/// Rebuilds the machine from the journal in `dir`, read-only, up to `until`: from the newest
/// snapshot at or before `until` that belongs to the journal, then the records after it.
///
/// ```
/// use waybill_core::Waybill;
/// use waybill_core::engine::{Until, replay};
///
/// # let dir = tempfile::tempdir()?;
/// let mut waybill = Waybill::open(dir.path())?;
/// waybill.ingest_file("examples/day.jsonl")?;
/// waybill.close()?;
/// // What the core knew after record 100 (an auditor's point in time).
/// let then = replay(dir.path(), Until::Lsn(100))?;
/// assert_eq!(then.machine.summary().lsn, 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn replay(dir: &Path, until: Until) -> Result<Replayed, CoreError> {
    replay_from_snapshot(dir, until, false, |_| {}).map(|(r, _)| r)
}

/// Writes a snapshot of the journal in `dir` at its last record (or at `until`), built
/// read-only (from the newest snapshot and the records after it), so it runs beside a
/// writer without stopping it; keeps the newest `keep` snapshots. Returns where the snapshot
/// was written and what it holds.
pub fn snapshot_journal(
    dir: &Path,
    until: Until,
    keep: usize,
) -> Result<(PathBuf, snapshot::format::SnapshotHeader, Replayed), CoreError> {
    let (replayed, at) = replay_at(dir, until)?;
    debug_assert_eq!(at.lsn, replayed.machine.lsn);
    let (path, header) = snapshot::write(dir, &replayed.machine, at, keep)?;
    Ok((path, header, replayed))
}

/// The verdict on one snapshot of `verify_snapshots`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotCheck {
    /// The snapshot file.
    pub path: PathBuf,
    /// The LSN its name gives.
    pub lsn: u64,
    /// What is wrong with it; `None`: it holds exactly the machine a replay of the journal to
    /// its LSN builds.
    pub problem: Option<String>,
    /// The base of an archived journal: the records before it are archived, so it was checked
    /// by its checksums and its chain link only, and the later snapshots against a replay
    /// from it.
    pub base: bool,
}

/// Checks every snapshot of the journal in `dir` against a replay of the journal (one replay,
/// from LSN 1, that passes each snapshot's LSN in turn and uses none of them): its header and
/// checksums, its place in the chain, and its content, byte for byte against the image of the
/// replayed machine.
pub fn verify_snapshots(dir: &Path) -> Result<Vec<SnapshotCheck>, CoreError> {
    let reader = JournalReader::open(dir)?;
    let files = snapshot::list(dir).map_err(|e| JournalError::io(dir, e))?;
    // An archived journal replays from its oldest usable snapshot (the base).
    let mut machine = None;
    if reader.first_lsn() == 1 {
        machine = Some(Machine::new());
    }
    let mut checks = Vec::with_capacity(files.len());
    for file in files {
        let mut base = false;
        let problem = (|| -> Result<(), String> {
            let opened = snapshot::Opened::open(&file).map_err(|e| e.to_string())?;
            let h = opened.header;
            if h.lsn > reader.last_lsn() {
                return Err(format!(
                    "it is at lsn {}, past the journal's end at lsn {}",
                    h.lsn,
                    reader.last_lsn()
                ));
            }
            if let Some(r) = opened.position().past_start() {
                check_resume(dir, &r)?;
            }
            let loaded = opened.load().map_err(|e| e.to_string())?;
            let Some(machine) = machine.as_mut() else {
                machine = Some(loaded);
                base = true;
                return Ok(());
            };
            if h.lsn > machine.lsn {
                let records = reader
                    .records_after(machine.lsn)
                    .expect("the reader holds every record up to its last");
                replay_records(
                    records,
                    h.lsn - machine.lsn,
                    Until::Lsn(h.lsn),
                    machine,
                    |_| {},
                )
                .map_err(|e| e.to_string())?;
            }
            opened.matches(machine)
        })()
        .err();
        checks.push(SnapshotCheck {
            path: file.path,
            lsn: file.lsn,
            problem,
            base,
        });
    }
    Ok(checks)
}

/// The newest snapshot of the journal in `dir` that is `wanted` (within a replay's bound),
/// that the journal holds the record of where the snapshot says (its link, ingest time and
/// place: [`crate::journal::check_resume`]; at or below the durable marker, so no power cut can
/// take a record it holds), and that loads; with the journal or reader `open` gives resumed
/// right after that record (nothing before it is read). Snapshots that do not qualify are
/// skipped with the reason. Without one, `open(None)`: the whole journal.
#[allow(clippy::type_complexity)]
pub(crate) fn with_newest_snapshot<J>(
    dir: &Path,
    wanted: impl Fn(&snapshot::format::SnapshotHeader) -> bool,
    mut open: impl FnMut(Option<&Resume>) -> Result<J, CoreError>,
) -> Result<(J, Option<(Machine, Resume, PathBuf)>, Vec<Skipped>), CoreError> {
    let mut skipped = Vec::new();
    let files = snapshot::list(dir).unwrap_or_else(|e| {
        skipped.push(Skipped {
            path: snapshot::snapshot_dir(dir),
            why: format!("cannot list the snapshots in {}: {e}", dir.display()),
        });
        Vec::new()
    });
    // What no power cut can take (0 when the marker cannot be read: opening reports why).
    let durable_lsn = match crate::journal::marker::read(dir) {
        Ok(Ok(d)) => d.lsn,
        _ => 0,
    };
    let skip = |path: &Path, e: snapshot::SnapshotError| Skipped {
        path: path.to_owned(),
        why: e.to_string(),
    };
    let misfit = |path: &Path, why: String| {
        skip(
            path,
            snapshot::SnapshotError::Defect {
                path: path.to_owned(),
                defect: snapshot::format::defect(0, why),
            },
        )
    };
    for file in files.iter().rev() {
        let opened = match snapshot::Opened::open(file) {
            Ok(o) if wanted(&o.header) => o,
            Ok(_) => continue,
            Err(e) => {
                skipped.push(skip(&file.path, e));
                continue;
            }
        };
        let resume = opened.position().past_start();
        if let Some(r) = &resume {
            let fits = match r.lsn <= durable_lsn {
                true => check_resume(dir, r),
                false => Err(format!(
                    "it is at lsn {}, past the journal's durable point (lsn {durable_lsn})",
                    r.lsn
                )),
            };
            if let Err(why) = fits {
                skipped.push(misfit(&file.path, why));
                continue;
            }
        }
        match opened.load() {
            Ok(m) => {
                let journal = open(resume.as_ref())?;
                return Ok((
                    journal,
                    Some((m, opened.position(), file.path.clone())),
                    skipped,
                ));
            }
            Err(e) => skipped.push(skip(&file.path, e)),
        }
    }
    Ok((open(None)?, None, skipped))
}

/// [`replay`], and where the machine stands in the journal: the chain link, ingest time and
/// place of the record at its LSN (what a snapshot of it records).
fn replay_at(dir: &Path, until: Until) -> Result<(Replayed, Resume), CoreError> {
    let (r, at) = replay_from_snapshot(dir, until, true, |_| {})?;
    Ok((r, at.expect("asked for")))
}

/// The error for a journal whose first records were archived when what was asked needs
/// records before it (no usable snapshot at or after them, within the bound asked for).
pub(crate) fn archived(dir: &Path, first_lsn: u64, until: Until) -> CoreError {
    let what = match until {
        Until::Lsn(n) if n + 1 < first_lsn => format!("the state at lsn {n} needs records before it"),
        Until::IngestTime(_) => "the state at that time needs records before it".to_owned(),
        _ => "no usable snapshot covers the records before it (see the warnings): restore a snapshot or the archived segments".to_owned(),
    };
    JournalError::Archived {
        dir: dir.to_owned(),
        first_lsn,
        what,
    }
    .into()
}

/// Rebuilds the machine read-only, from the newest snapshot at or before `until` and a reader
/// resumed right after it, calling `visit` for every record replayed after it; with `locate`,
/// also where the record at the LSN reached stands.
fn replay_from_snapshot(
    dir: &Path,
    until: Until,
    locate: bool,
    visit: impl FnMut(&Visit<'_>),
) -> Result<(Replayed, Option<Resume>), CoreError> {
    let (reader, loaded, skipped) = with_newest_snapshot(
        dir,
        |h| match until {
            Until::End => true,
            Until::Lsn(n) => h.lsn <= n,
            Until::IngestTime(t) => h.lsn == 0 || h.ingest_us <= t,
        },
        |resume| Ok(JournalReader::open_after(dir, resume)?),
    )?;
    replay_reader(&reader, until, loaded, skipped, locate, visit)
}

/// Steps the loaded snapshot's machine (or a new one) through the reader's records after it.
fn replay_reader(
    reader: &JournalReader,
    until: Until,
    loaded: Option<(Machine, Resume, PathBuf)>,
    skipped: Vec<Skipped>,
    locate: bool,
    visit: impl FnMut(&Visit<'_>),
) -> Result<(Replayed, Option<Resume>), CoreError> {
    let base = loaded.as_ref().map(|(_, at, _)| *at);
    let (mut machine, last_ingest_us, loaded) = match loaded {
        Some((m, at, path)) => (
            m,
            (at.lsn > 0).then_some(at.ingest_us),
            Some((path, at.lsn)),
        ),
        None if reader.first_lsn() > 1 => {
            return Err(archived(reader.dir(), reader.first_lsn(), until));
        }
        None => (Machine::new(), None, None),
    };
    let from = machine.lsn;
    type Recs<'r> = Box<dyn Iterator<Item = Result<RecordRef<'r>, JournalError>> + Send + 'r>;
    let records: Recs<'_> = match from {
        // From the first record: damage in the first segment is yielded as an error.
        0 => Box::new(reader.records()),
        _ => Box::new(
            reader
                .records_after(from)
                .expect("a snapshot is only loaded at a record the journal holds"),
        ),
    };
    let expected = reader.last_lsn().saturating_sub(from);
    let tail_ingest_us = replay_records(records, expected, until, &mut machine, visit)?;
    let at = match locate {
        true => Some(position_in(reader, base, machine.lsn)),
        false => None,
    };
    let replayed = Replayed {
        snapshots: SnapshotUse {
            loaded,
            skipped,
            replayed: machine.lsn - from,
        },
        machine,
        last_ingest_us: tail_ingest_us.or(last_ingest_us),
        torn_tail: reader.torn_tail().cloned(),
    };
    Ok((replayed, at))
}

/// Where the record at `lsn` stands in the reader's journal: the reader's last record, the
/// snapshot it resumed after (`base`), or found by walking the records after that.
fn position_in(reader: &JournalReader, base: Option<Resume>, lsn: u64) -> Resume {
    let last = reader.last();
    let found = match base {
        _ if lsn == last.lsn => Some(last),
        Some(b) if b.lsn == lsn => Some(b),
        _ => {
            let from = base.unwrap_or(Resume::START);
            let records = reader
                .records_after(from.lsn)
                .expect("the reader holds the records it replayed");
            crate::journal::walk(records, from, lsn)
        }
    };
    found.expect("the reader holds every record it replayed")
}

/// Like [`replay`], calling `visit` for every record after it is applied, in LSN order: every
/// record from LSN 1 (no snapshot is used, so every record is visited). On a journal whose
/// first segments were archived, the records after the newest usable snapshot (within
/// `until`) are visited, and [`Replayed::snapshots`] says from where.
pub fn replay_with(
    dir: &Path,
    until: Until,
    visit: impl FnMut(&Visit<'_>),
) -> Result<Replayed, CoreError> {
    let reader = JournalReader::open(dir)?;
    if reader.first_lsn() > 1 {
        drop(reader);
        return replay_from_snapshot(dir, until, false, visit).map(|(r, _)| r);
    }
    replay_reader(&reader, until, None, Vec::new(), false, visit).map(|(r, _)| r)
}

/// Records handed from the verifying thread to the applying thread at a time.
const REPLAY_BATCH_RECORDS: usize = 1024;
/// Batches in flight between the two threads (the bound of the queue).
const REPLAY_QUEUE_BATCHES: usize = 4;
/// Below this many records replay stays on the calling thread (a thread costs more).
const REPLAY_PIPELINE_MIN_RECORDS: u64 = 4096;

/// A record whose payload was checked as an entry.
struct Verified<'a> {
    lsn: u64,
    ingest_us: i64,
    segment: u32,
    offset: u64,
    entry: EntryView<'a>,
}

/// Walks `records` up to `until`, checking each payload as an entry, and passes every
/// verified record to `emit` in order. Stops at the first record past `until`; a damaged
/// journal or an invalid payload ends it with the error, after every record before it.
fn verify_records<'a>(
    records: impl Iterator<Item = Result<RecordRef<'a>, JournalError>>,
    until: Until,
    mut emit: impl FnMut(Verified<'a>),
) -> Result<(), CoreError> {
    for rec in records {
        let rec = rec?;
        let stop = match until {
            Until::End => false,
            Until::Lsn(n) => rec.lsn > n,
            Until::IngestTime(t) => rec.ingest_us > t,
        };
        if stop {
            break;
        }
        let entry = access_record(rec.lsn, rec.kind, rec.payload)?;
        emit(Verified {
            lsn: rec.lsn,
            ingest_us: rec.ingest_us,
            segment: rec.segment,
            offset: rec.offset,
            entry,
        });
    }
    Ok(())
}

/// Steps `machine` through `records` up to `until`, calling `visit` after each record, and
/// returns the ingest time of the last record stepped. `expected` (the number of records, or
/// an estimate) decides whether a verifying thread pays for itself. Machine, visits and result
/// are those of a sequential loop of check-then-step over the same records.
fn replay_records<'a, I>(
    records: I,
    expected: u64,
    until: Until,
    machine: &mut Machine,
    mut visit: impl FnMut(&Visit<'_>),
) -> Result<Option<i64>, CoreError>
where
    I: Iterator<Item = Result<RecordRef<'a>, JournalError>> + Send,
{
    let mut last_ingest_us = None;
    let mut apply = |machine: &mut Machine, v: &Verified<'_>| {
        let outcome = machine.step(v.lsn, v.ingest_us, v.entry);
        last_ingest_us = Some(v.ingest_us);
        visit(&Visit {
            lsn: v.lsn,
            ingest_us: v.ingest_us,
            segment: v.segment,
            offset: v.offset,
            entry: v.entry,
            outcome,
        });
    };
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get()) > 1;
    if !parallel || expected < REPLAY_PIPELINE_MIN_RECORDS {
        verify_records(records, until, |v| apply(machine, &v))?;
        return Ok(last_ingest_us);
    }
    let (full_tx, full_rx) = crossbeam_channel::bounded::<Vec<Verified<'a>>>(REPLAY_QUEUE_BATCHES);
    let (empty_tx, empty_rx) =
        crossbeam_channel::bounded::<Vec<Verified<'a>>>(REPLAY_QUEUE_BATCHES + 2);
    let verified = std::thread::scope(|scope| {
        let verifier = std::thread::Builder::new()
            .name("waybill-replay-verify".into())
            .spawn_scoped(scope, move || {
                let fresh = || Vec::with_capacity(REPLAY_BATCH_RECORDS);
                let mut batch = fresh();
                let mut applier_gone = false;
                let result = verify_records(records, until, |v| {
                    if applier_gone {
                        return;
                    }
                    batch.push(v);
                    if batch.len() == REPLAY_BATCH_RECORDS {
                        let next = empty_rx.try_recv().unwrap_or_else(|_| fresh());
                        applier_gone = full_tx.send(std::mem::replace(&mut batch, next)).is_err();
                    }
                });
                if !batch.is_empty() && !applier_gone {
                    // The applier only leaves early by panicking, which the scope re-raises.
                    let _ = full_tx.send(batch);
                }
                result
            })
            .expect("spawn the replay verifier thread");
        // `full_rx` is moved in here so that a panic in `visit` drops it while unwinding, which
        // ends a verifier blocked on a full queue instead of leaving the scope waiting on it.
        for mut batch in full_rx {
            for i in 0..batch.len() {
                // What a later step looks up first, loaded while this one runs.
                if let Some(ahead) = batch.get(i + PREFETCH_AHEAD) {
                    machine.prefetch(ahead.entry);
                }
                apply(machine, &batch[i]);
            }
            batch.clear();
            // Recycled when the verifier still wants batches; dropped otherwise.
            let _ = empty_tx.try_send(batch);
        }
        verifier
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    verified?;
    Ok(last_ingest_us)
}
