//! The imperative shell around the [`Machine`]: every received event is encoded, appended to
//! the journal, and only then applied, from the bytes as they sit in the journal.
//!
//! [`Core`] is the single writer (it owns the journal and the state). [`replay`] rebuilds a
//! machine read-only, up to an LSN or an ingest time, for queries and audits.

use crate::event::{ArchivedEntry, Entry};
use crate::input::RawBatch;
use crate::journal::{
    Journal, JournalError, JournalOptions, JournalReader, RecordKind, Recovery, TornTail,
};
use crate::machine::{Counters, Machine, Outcome};
use crate::pipeline::EncodedBatch;
use rkyv::rancor;
use rkyv::util::AlignedVec;
use std::path::Path;

/// The record kind of a journaled [`Entry`].
pub const ENTRY_KIND: RecordKind = RecordKind::ENTRY;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A record whose frame is intact but whose payload is not a valid entry.
    #[error("journal corrupt: record at lsn {lsn} does not hold a valid entry: {what}")]
    BadRecord { lsn: u64, what: String },
    #[error("cannot encode entry: {0}")]
    Encode(String),
}

impl CoreError {
    /// True when the journal is damaged (as opposed to I/O trouble or bad usage).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            CoreError::BadRecord { .. } | CoreError::Journal(JournalError::Corrupt { .. })
        )
    }
}

/// Reads a journaled payload as an entry, validating it (never trusts bytes from disk).
pub fn access_entry(lsn: u64, payload: &[u8]) -> Result<&ArchivedEntry, CoreError> {
    rkyv::access::<ArchivedEntry, rancor::Error>(payload).map_err(|e| CoreError::BadRecord {
        lsn,
        what: e.to_string(),
    })
}

/// What one ingested batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub counters: Counters,
    pub first_lsn: u64,
    pub last_lsn: u64,
    /// Every record up to this LSN is durable under the journal's durability mode.
    pub durable_lsn: u64,
}

/// The single writer: journal + machine.
pub struct Core {
    journal: Journal,
    machine: Machine,
    scratch: AlignedVec<16>,
    recovery: Recovery,
}

impl Core {
    /// Opens (or creates) the journal in `dir` and rebuilds state by replaying it.
    pub fn open(dir: &Path, opts: JournalOptions) -> Result<Core, CoreError> {
        let (journal, recovery) = Journal::open(dir, opts)?;
        let mut machine = Machine::new();
        for rec in journal.records() {
            let entry = access_entry(rec.lsn, rec.payload)?;
            machine.step(rec.lsn, entry);
        }
        debug_assert_eq!(machine.lsn, journal.last_lsn());
        Ok(Core {
            journal,
            machine,
            scratch: AlignedVec::new(),
            recovery,
        })
    }

    /// What recovery found when the journal was opened.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Journals then applies one entry. Call [`Core::commit`] at the end of a batch.
    pub fn submit(&mut self, entry: &Entry, ingest_us: i64) -> Result<(u64, Outcome), CoreError> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        let buf = rkyv::api::high::to_bytes_in::<_, rancor::Error>(entry, buf)
            .map_err(|e| CoreError::Encode(e.to_string()))?;
        self.scratch = buf;
        let appended = self.journal.append(ingest_us, ENTRY_KIND, &self.scratch)?;
        // SAFETY: these are the bytes rkyv just wrote for a valid `Entry`, copied verbatim into
        // the mapping at a 16-byte aligned offset; nothing else writes there.
        let archived = unsafe { rkyv::access_unchecked::<ArchivedEntry>(appended.payload) };
        let lsn = appended.lsn;
        Ok((lsn, self.machine.step(lsn, archived)))
    }

    /// Journals and applies a batch of entries, then commits it.
    pub fn ingest<'a>(
        &mut self,
        entries: impl IntoIterator<Item = &'a Entry>,
        ingest_us: i64,
    ) -> Result<BatchReport, CoreError> {
        let before = self.machine.counters;
        let first_lsn = self.machine.lsn + 1;
        for entry in entries {
            self.submit(entry, ingest_us)?;
        }
        self.finish_batch(before, first_lsn)
    }

    /// Decodes, journals and applies a batch of raw events, then commits it.
    pub fn ingest_raw(
        &mut self,
        batch: &RawBatch,
        ingest_us: i64,
    ) -> Result<BatchReport, CoreError> {
        let before = self.machine.counters;
        let first_lsn = self.machine.lsn + 1;
        for raw in batch.iter() {
            self.submit(&raw.decode(), ingest_us)?;
        }
        self.finish_batch(before, first_lsn)
    }

    /// Journals and applies a batch encoded ahead (on another thread, see
    /// [`crate::pipeline`]), each entry with its own ingest time, then commits it. The journal
    /// and state are exactly those [`Core::submit`] gives for the same entries and times.
    pub fn ingest_encoded(&mut self, batch: &EncodedBatch) -> Result<BatchReport, CoreError> {
        let before = self.machine.counters;
        let first_lsn = self.machine.lsn + 1;
        for i in 0..batch.len() {
            let (payload, ingest_us, digest) = batch.record(i);
            let appended = self
                .journal
                .append_prehashed(ingest_us, ENTRY_KIND, payload, digest)?;
            // SAFETY: `EncodedBatch` payloads are only ever written by `EncodedBatch::push`,
            // which serializes a valid `Entry` with rkyv; they were copied verbatim into the
            // mapping at a 16-byte aligned offset, and nothing else writes there.
            let archived = unsafe { rkyv::access_unchecked::<ArchivedEntry>(appended.payload) };
            let lsn = appended.lsn;
            self.machine.step(lsn, archived);
        }
        self.finish_batch(before, first_lsn)
    }

    fn finish_batch(&mut self, before: Counters, first_lsn: u64) -> Result<BatchReport, CoreError> {
        let durable_lsn = self.journal.commit()?;
        let mut counters = self.machine.counters;
        counters.received -= before.received;
        counters.applied -= before.applied;
        counters.duplicates -= before.duplicates;
        counters.dead_lettered -= before.dead_lettered;
        for (c, b) in counters
            .dead_letter_reasons
            .iter_mut()
            .zip(before.dead_letter_reasons)
        {
            *c -= b;
        }
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
        Ok(self.journal.commit()?)
    }

    /// Makes everything appended so far durable, whatever the mode; returns the durable LSN.
    pub fn flush(&mut self) -> Result<u64, CoreError> {
        Ok(self.journal.flush()?)
    }
}

/// How far a read-only replay goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    End,
    /// The records up to this LSN (inclusive).
    Lsn(u64),
    /// Every record ingested at or before this time (what the core knew then).
    IngestTime(i64),
}

/// A machine rebuilt read-only from a journal.
pub struct Replayed {
    pub machine: Machine,
    /// Ingest time of the last record replayed (None when none was).
    pub last_ingest_us: Option<i64>,
    /// A torn last record that a writer will cut on its next open.
    pub torn_tail: Option<TornTail>,
}

/// One replayed record, as seen by a [`replay_with`] visitor.
pub struct Visit<'a> {
    pub lsn: u64,
    pub ingest_us: i64,
    pub segment: u32,
    pub offset: u64,
    pub entry: &'a ArchivedEntry,
    pub outcome: Outcome,
}

/// Rebuilds the machine from the journal in `dir`, read-only, up to `until`.
pub fn replay(dir: &Path, until: Until) -> Result<Replayed, CoreError> {
    replay_with(dir, until, |_| {})
}

/// Like [`replay`], calling `visit` for every record after it is applied.
pub fn replay_with(
    dir: &Path,
    until: Until,
    mut visit: impl FnMut(&Visit<'_>),
) -> Result<Replayed, CoreError> {
    let reader = JournalReader::open(dir)?;
    let mut machine = Machine::new();
    let mut last_ingest_us = None;
    for rec in reader.records() {
        let rec = rec?;
        let stop = match until {
            Until::End => false,
            Until::Lsn(n) => rec.lsn > n,
            Until::IngestTime(t) => rec.ingest_us > t,
        };
        if stop {
            break;
        }
        let entry = access_entry(rec.lsn, rec.payload)?;
        let outcome = machine.step(rec.lsn, entry);
        last_ingest_us = Some(rec.ingest_us);
        visit(&Visit {
            lsn: rec.lsn,
            ingest_us: rec.ingest_us,
            segment: rec.segment,
            offset: rec.offset,
            entry,
            outcome,
        });
    }
    Ok(Replayed {
        machine,
        last_ingest_us,
        torn_tail: reader.torn_tail().cloned(),
    })
}
