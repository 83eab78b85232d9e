//! The deterministic state machine: one journal entry in, one outcome out.
//!
//! `Machine::step` is the pure heart of the core: no I/O, no clock, no randomness, no
//! thread. Live ingest and replay both feed it the archived entries *as they sit in the
//! journal*, so replaying the journal always rebuilds the live state bit for bit.
//!
//! An embedder gets a [`Machine`] from the core (or from a replay) and reads it: the
//! [`Summary`] of docs/state.md ([`Machine::summary`], or from running sums kept up to date
//! in budgeted steps: [`Machine::refresh_summary`], [`Machine::summary_cached`]), the
//! [`State`] with its views ([`Machine::state`]), the acceptance [`Counters`], the LSN and
//! the state [`Digest`].

use crate::dedupe::Dedupe;
use crate::effect::derive::{self as rules, Cause, CauseEvent, Emitter};
use crate::effect::{EffectBuf, MAX_EFFECTS_PER_RECORD, SlaTargets};
use crate::event::{ArchivedNotice, DeadLetterReason, EventType};
use crate::record::{EntryView, EventView};
use crate::snapshot::format::{SectionReader, SectionWriter, SnapshotDefect, defect};
use crate::source::{EventKey, Sources};
use crate::state::totals::exact_u128;
use crate::state::{CurrencyTotals, Digest, Running, State, Status, Totals};
use serde::Serialize;
use std::collections::BTreeMap;

/// What became of one received event (docs/events.md, acceptance), or of a settings record
/// (not an event: not received, not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The event was new: its (`source`, `sequence`) had not been applied. It changed the state.
    Applied,
    /// Its (`source`, `sequence`) was already applied: it changed nothing.
    Duplicate,
    /// The event failed acceptance, for this reason; it changed nothing but the counters.
    DeadLettered(DeadLetterReason),
    /// A settings record (SLA targets): not an event, not counted.
    Settings,
    /// A cluster's notice (a key group, a gap seen upstream): not an event, not counted.
    Notice,
}

impl Outcome {
    /// The outcome's name: `applied`, `duplicate`, `dead_lettered` or `settings`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::DeadLettered(_) => "dead_lettered",
            Outcome::Settings => "settings",
            Outcome::Notice => "notice",
        }
    }
}

/// The acceptance counters. Invariant: `received == applied + duplicates + dead_lettered`.
///
/// They count events (journal records other than settings records), and the dead letters per
/// reason add up to `dead_lettered` (docs/events.md, acceptance).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Events in the journal: every event record, whatever its outcome.
    pub received: u64,
    /// Events applied (new (`source`, `sequence`) pairs).
    pub applied: u64,
    /// Events whose (`source`, `sequence`) was already applied.
    pub duplicates: u64,
    /// Events that failed acceptance.
    pub dead_lettered: u64,
    /// Dead letters per reason, indexed by [`DeadLetterReason::index`].
    pub dead_letter_reasons: [u64; DeadLetterReason::ALL.len()],
}

impl Counters {
    /// Counts one outcome (a settings record counts for nothing).
    pub fn count(&mut self, outcome: Outcome) {
        if matches!(outcome, Outcome::Settings | Outcome::Notice) {
            return; // not an event
        }
        self.received += 1;
        match outcome {
            Outcome::Settings | Outcome::Notice => {}
            Outcome::Applied => self.applied += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::DeadLettered(reason) => {
                self.dead_lettered += 1;
                self.dead_letter_reasons[reason.index()] += 1;
            }
        }
        debug_assert!(self.conserved());
    }

    /// The conservation law (docs/events.md, acceptance).
    pub fn conserved(&self) -> bool {
        self.received == self.applied + self.duplicates + self.dead_lettered
            && self.dead_lettered == self.dead_letter_reasons.iter().sum::<u64>()
    }

    /// What was counted after `before` (a snapshot of these counters taken earlier).
    pub fn since(&self, before: &Counters) -> Counters {
        let mut c = *self;
        c.received -= before.received;
        c.applied -= before.applied;
        c.duplicates -= before.duplicates;
        c.dead_lettered -= before.dead_lettered;
        for (n, b) in c
            .dead_letter_reasons
            .iter_mut()
            .zip(before.dead_letter_reasons)
        {
            *n -= b;
        }
        c
    }

    /// The counters as a snapshot holds them: received, applied, duplicates, dead-lettered,
    /// then one per dead-letter reason.
    fn to_words(self) -> Vec<u64> {
        let mut w = vec![
            self.received,
            self.applied,
            self.duplicates,
            self.dead_lettered,
        ];
        w.extend_from_slice(&self.dead_letter_reasons);
        w
    }

    fn from_words(w: &[u64]) -> Option<Counters> {
        let (&[received, applied, duplicates, dead_lettered], reasons) = w.split_first_chunk()?;
        let c = Counters {
            received,
            applied,
            duplicates,
            dead_lettered,
            dead_letter_reasons: reasons.try_into().ok()?,
        };
        let sums_fit = applied
            .checked_add(duplicates)
            .and_then(|s| s.checked_add(dead_lettered))
            .is_some()
            && reasons
                .iter()
                .try_fold(0u64, |s, &r| s.checked_add(r))
                .is_some();
        (sums_fit && c.conserved()).then_some(c)
    }

    /// Adds `other`'s counts to these, counter by counter.
    pub fn add(&mut self, other: &Counters) {
        self.received += other.received;
        self.applied += other.applied;
        self.duplicates += other.duplicates;
        self.dead_lettered += other.dead_lettered;
        for (a, b) in self
            .dead_letter_reasons
            .iter_mut()
            .zip(other.dead_letter_reasons)
        {
            *a += b;
        }
    }
}

/// How many entries of a batch ahead of the one stepped [`Machine::prefetch`] pays off (at a
/// million shipments stepping ran 1.05-1.33x faster with 8, median 1.11 over 12 runs; 2, 4,
/// 16 and 32 did about as well or worse in fewer runs).
#[doc(hidden)]
pub const PREFETCH_AHEAD: usize = 8;

/// State, dedupe memory, sources and counters: everything the journal rebuilds. Changed only by
/// stepping journal records (the fields are private to the crate; read them through the
/// accessors), so that whatever holds a machine holds one that the journal can rebuild.
#[derive(Debug, Default)]
pub struct Machine {
    pub(crate) state: State,
    pub(crate) sources: Sources,
    pub(crate) dedupe: Dedupe,
    pub(crate) counters: Counters,
    /// LSN of the last entry stepped (0 before any).
    pub(crate) lsn: u64,
    /// Effects derived so far: the `effect_seq` of the last one (docs/effects.md).
    pub(crate) effect_seq: u64,
    /// The journal's settings (SLA targets), as its last settings record set them.
    pub(crate) settings: SlaTargets,
    /// Settings records stepped.
    pub(crate) settings_records: u64,
    /// Notice records stepped (with `counters.received` and `settings_records`, every record).
    pub(crate) notice_records: u64,
    /// The key group this journal holds, and of how many (its first record said so): dedupe
    /// and gaps are then the cluster sequencer's ([`crate::event::Notice`]).
    pub(crate) key_group: Option<(u32, u32)>,
    /// Effects derived while collecting ([`Machine::collect_effects`]); not machine state.
    effects: EffectBuf,
    collecting: bool,
    /// The running summary ([`Machine::refresh_summary`]); not machine state: not in
    /// snapshots, rebuilt after a load.
    running: Running,
}

impl Machine {
    /// The machine before the journal's first record: empty state, no source, counters at 0,
    /// LSN 0, no SLA targets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes everything the machine holds, in the snapshot's section order: sources (by
    /// name), dedupe memory, counters, then the state.
    pub(crate) fn write_image(&self, w: &mut SectionWriter) -> std::io::Result<()> {
        self.sources.write_image(w)?;
        self.dedupe.write_image(w)?;
        w.section("counters", &self.counters.to_words())?;
        let [otd, icm, pod] = self.settings.to_words();
        let (group, groups) = self
            .key_group
            .map_or((0, 0), |(g, n)| (u64::from(g), u64::from(n)));
        w.section(
            "machine",
            &[
                self.effect_seq,
                self.settings_records,
                otd,
                icm,
                pod,
                self.notice_records,
                group,
                groups,
            ],
        )?;
        self.state.write_image(w)
    }

    /// The machine [`Self::write_image`] wrote, after the record at `lsn`.
    pub(crate) fn read_image(
        r: &mut SectionReader<'_>,
        lsn: u64,
    ) -> Result<Machine, SnapshotDefect> {
        let sources = Sources::read_image(r)?;
        let dedupe = Dedupe::read_image(r)?;
        if dedupe.sources_tracked() > sources.len() {
            return Err(defect(0, "dedupe memory for sources that are not listed"));
        }
        let counters = Counters::from_words(r.section::<u64>("counters")?)
            .ok_or_else(|| defect(0, "the counters do not add up"))?;
        let &[
            effect_seq,
            settings_records,
            otd,
            icm,
            pod,
            notice_records,
            group,
            groups,
        ] = r.section::<u64>("machine")?
        else {
            return Err(defect(0, "the machine section is not eight words"));
        };
        let settings = SlaTargets::from_words([otd, icm, pod])
            .ok_or_else(|| defect(0, "an SLA target out of range"))?;
        let records = counters
            .received
            .checked_add(settings_records)
            .and_then(|n| n.checked_add(notice_records));
        if records != Some(lsn) {
            return Err(defect(
                0,
                format!(
                    "{} events, {settings_records} settings and {notice_records} notice records counted at lsn {lsn}",
                    counters.received
                ),
            ));
        }
        let key_group = key_group_of_words(group, groups)?;
        let state = State::read_image(r, sources.len())?;
        r.end()?;
        Ok(Machine {
            state,
            sources,
            dedupe,
            counters,
            lsn,
            effect_seq,
            settings,
            settings_records,
            notice_records,
            key_group,
            effects: EffectBuf::default(),
            collecting: false,
            running: Running::new(),
        })
    }

    /// Shipments and vehicles.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The interned source names (ids depend on arrival order: compare names, never ids). The
    /// state's views and digests take it ([`State::shipment_view`], [`State::shipment_digest`]).
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Which (source, sequence) pairs were applied, and the gaps. The summary lists the gaps
    /// ([`Summary::gaps`]).
    pub fn dedupe(&self) -> &Dedupe {
        &self.dedupe
    }

    /// Outcomes of every entry stepped (settings records are not counted).
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// LSN of the last entry stepped (0 before any).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Reserves room for `shipments` shipments and `vehicles` vehicles ahead (see
    /// [`State::reserve`]); changes no result.
    #[doc(hidden)]
    pub fn reserve(&mut self, shipments: usize, vehicles: usize) {
        self.state.reserve(shipments, vehicles);
    }

    /// Applies the journal record at `lsn`, ingested at `ingest_us` (an `&ArchivedEntry` or an
    /// [`EntryView`] of either record form), and derives its effects. LSNs must come in order,
    /// one after the other.
    #[doc(hidden)]
    #[inline]
    pub fn step<'a>(
        &mut self,
        lsn: u64,
        ingest_us: i64,
        entry: impl Into<EntryView<'a>>,
    ) -> Outcome {
        assert_eq!(lsn, self.lsn + 1, "entries must be stepped in LSN order");
        self.lsn = lsn;
        let outcome = match entry.into() {
            EntryView::DeadLetter(dl) => Outcome::DeadLettered(dl.reason.native()),
            EntryView::Event(ev) => self.step_event(ev, lsn, ingest_us),
            EntryView::Settings(st) => {
                self.settings = crate::record::settings(st);
                self.settings_records += 1;
                Outcome::Settings
            }
            EntryView::Notice(n) => {
                self.step_notice(n, lsn, ingest_us);
                Outcome::Notice
            }
        };
        self.counters.count(outcome);
        debug_assert_eq!(
            self.counters.received + self.settings_records + self.notice_records,
            self.lsn
        );
        outcome
    }

    /// Steps a cluster's notice: the journal's key group (its first record), or a gap the
    /// sequencer saw, which derives the `alert.gap` effect here.
    fn step_notice(&mut self, n: &ArchivedNotice, lsn: u64, ingest_us: i64) {
        self.notice_records += 1;
        match n {
            ArchivedNotice::KeyGroup(k) => {
                // Only a new journal's first record (the core refuses it anywhere else).
                if lsn == 1 {
                    self.key_group = Some((k.group.to_native(), k.groups.to_native()));
                }
            }
            ArchivedNotice::Gap(g) => {
                let (source, first, last) = (&g.source, g.first.to_native(), g.last.to_native());
                debug_assert!(first >= 1 && first <= last);
                let source = self.sources.intern(source.as_str());
                let cause = Cause {
                    lsn,
                    ingest_us,
                    event: None,
                };
                let mut em = Emitter {
                    seq: &mut self.effect_seq,
                    buf: self.collecting.then_some(&mut self.effects),
                    cause: &cause,
                };
                rules::gap(&mut em, source, &self.sources, first, last);
            }
        }
    }

    /// The key group this journal holds and the cluster's count of them (`None`: not a key
    /// group's journal; dedupe and gaps are its own).
    pub fn key_group(&self) -> Option<(u32, u32)> {
        self.key_group
    }

    /// Starts (or stops) keeping the effects [`Machine::step`] derives, for
    /// [`Machine::effects`]; effects are numbered either way. Whoever collects drains them
    /// ([`Machine::take_effects`]) at least every batch.
    #[doc(hidden)]
    pub fn collect_effects(&mut self, on: bool) {
        self.collecting = on;
        if !on {
            self.effects.clear();
        }
    }

    /// The effects derived since they were last taken (while collecting).
    #[doc(hidden)]
    pub fn effects(&self) -> &EffectBuf {
        &self.effects
    }

    /// Hands the effects derived since the last call over into `into` (cleared first), keeping
    /// the buffers' memory on both sides.
    #[doc(hidden)]
    pub fn take_effects(&mut self, into: &mut EffectBuf) {
        into.clear();
        std::mem::swap(&mut self.effects, into);
    }

    /// The `effect_seq` of the last effect derived (0 before any): the effects derived from the
    /// records stepped so far are those numbered 1 to this.
    pub fn effect_seq(&self) -> u64 {
        self.effect_seq
    }

    /// The journal's settings (SLA targets) as of the last record stepped.
    pub fn settings(&self) -> SlaTargets {
        self.settings
    }

    /// Starts loading what stepping `entry` will look up first: its source's slot in the
    /// source table ([`Sources::prefetch`]) and its subject's id-index entry
    /// ([`State::prefetch`]); for a batch, call it [`PREFETCH_AHEAD`] entries ahead of `step`.
    /// Changes nothing but what is in cache.
    #[doc(hidden)]
    #[inline]
    pub fn prefetch<'a>(&self, entry: impl Into<EntryView<'a>>) {
        if let EntryView::Event(ev) = entry.into() {
            self.sources.prefetch(ev.source());
            let vehicle = ev.event_type() == EventType::VehiclePosition;
            self.state.prefetch(ev.subject(), vehicle);
        }
    }

    /// Steps an event, branching on its record form once (the envelope and the payload are
    /// then read without further dispatch).
    #[inline]
    fn step_event(&mut self, ev: EventView<'_>, lsn: u64, ingest_us: i64) -> Outcome {
        let cause = Cause {
            lsn,
            ingest_us,
            event: Some(CauseEvent {
                event_type: ev.event_type(),
                time_us: ev.time_us(),
                view: ev,
            }),
        };
        match ev {
            EventView::Archived(a) => {
                let envelope = (
                    a.source.as_str(),
                    a.sequence.to_native(),
                    a.subject.to_native(),
                );
                self.step_parts(envelope, &cause, |state, key, sources| {
                    state.apply(a, key, sources)
                })
            }
            EventView::Compact(c) => {
                let envelope = (c.source(), c.sequence(), c.subject());
                self.step_parts(envelope, &cause, |state, key, sources| {
                    state.apply_body(c.subject(), &c.archived_body(), key, sources)
                })
            }
        }
    }

    /// Dedupe, then `apply` when the event is new, deriving the effects of what changed: an
    /// event given by its source, sequence and subject, the record that carries it, and how to
    /// apply it.
    #[inline(always)]
    fn step_parts(
        &mut self,
        (source, sequence, subject): (&str, u64, u64),
        cause: &Cause<'_>,
        apply: impl FnOnce(&mut State, EventKey, &Sources),
    ) -> Outcome {
        let source = self.sources.intern(source);
        let (fresh, gap) = if self.key_group.is_some() {
            // The sequencer found it new and reported its gaps (notices): the mark is kept
            // only so that a repeat can never apply twice.
            (self.dedupe.mark(source, sequence), None)
        } else {
            self.dedupe.mark_with_gap(source, sequence)
        };
        if !fresh {
            return Outcome::Duplicate;
        }
        let event = cause.event.expect("an event's cause carries it");
        let key = EventKey {
            time_us: event.time_us,
            source,
            sequence,
        };
        let seq_before = self.effect_seq;
        let mut em = Emitter {
            seq: &mut self.effect_seq,
            buf: self.collecting.then_some(&mut self.effects),
            cause,
        };
        if let Some((first, last)) = gap {
            rules::gap(&mut em, source, &self.sources, first, last);
        }
        if !rules::may_derive(event.event_type) {
            apply(&mut self.state, key, &self.sources);
            return Outcome::Applied;
        }
        let slot = self.state.shipment_slot_of(subject);
        let before = self.state.effect_facts(slot);
        apply(&mut self.state, key, &self.sources);
        let slot = slot.or_else(|| self.state.shipment_slot_of(subject));
        let after = self.state.effect_facts(slot);
        if before != after || event.event_type == EventType::ShipmentDelivered {
            let settings = self.settings;
            rules::shipment(&mut em, subject, &before, &after, &self.state, &settings);
        }
        debug_assert!(self.effect_seq - seq_before <= MAX_EFFECTS_PER_RECORD as u64);
        Outcome::Applied
    }

    /// The state digest (docs/state.md): equal states give equal digests. Computed on demand
    /// from every shipment and vehicle.
    pub fn digest(&self) -> Digest {
        self.state.digest(&self.sources)
    }

    /// The summary of docs/state.md (`lsn`, `digest`, counters, gaps). Computed on demand: it
    /// derives every shipment's fields and hashes the whole state (the reference;
    /// [`Machine::summary_cached`] answers the same from running sums).
    pub fn summary(&self) -> Summary {
        self.summary_of(self.digest(), self.state.totals())
    }

    /// Brings the running summary up to date by at most `budget` shipments and vehicles (see
    /// [`Running::refresh`]) and says whether it is caught up, so that
    /// [`Machine::summary_cached`] answers. Each entity visited costs what the full
    /// computation spends on it (a BLAKE3 hash and the derived fields: a microsecond or two,
    /// a few times the apply of one event), so the budget bounds the time a refresh takes
    /// whatever the state's size. The first refreshes after a machine is created or loaded
    /// count every entity, budget by budget.
    ///
    /// Changes no result of the machine (nothing the journal rebuilds): only the running sums
    /// and the marks of what changed since they were counted.
    pub fn refresh_summary(&mut self, budget: usize) -> bool {
        self.running.refresh(&mut self.state, &self.sources, budget)
    }

    /// The summary ([`Machine::summary`], equal field for field) from the running sums, when
    /// they are caught up with the state ([`Machine::refresh_summary`] returned true and
    /// nothing was applied since); `None` otherwise. Costs no pass over the shipments: the
    /// counters, the gaps (per source) and the currencies listed.
    pub fn summary_cached(&self) -> Option<Summary> {
        let digest = self.running.digest(&self.state)?;
        let totals = self.running.totals(&self.state)?;
        Some(self.summary_of(digest, totals))
    }

    /// How many shipments and vehicles [`Machine::refresh_summary`] still has to visit
    /// before [`Machine::summary_cached`] answers (changed ones and ones not counted yet).
    pub fn summary_backlog(&self) -> usize {
        self.running.backlog(&self.state)
    }

    /// The summary with the given state digest and totals (those of this machine's state).
    fn summary_of(&self, digest: Digest, totals: Totals) -> Summary {
        let c = &self.counters;
        // A key group's journal lists no gap: its sequencer detects them (notices).
        let gaps_here = self.key_group.is_none();
        let gaps = if gaps_here {
            gap_views(&self.dedupe, &self.sources)
        } else {
            Vec::new()
        };
        Summary {
            lsn: self.lsn,
            digest: digest.to_string(),
            received: c.received,
            applied: c.applied,
            duplicates: c.duplicates,
            dead_lettered: c.dead_lettered,
            dead_letter_reasons: DeadLetterReason::ALL
                .iter()
                .map(|r| (r.as_str(), c.dead_letter_reasons[r.index()]))
                .collect(),
            missing: if gaps_here {
                self.dedupe.missing_total()
            } else {
                0
            },
            totals: totals.money,
            shipments: self.state.shipment_count() as u64,
            vehicles: self.state.vehicle_count() as u64,
            sources: self.sources.len() as u64,
            shipments_by_status: Status::ALL
                .iter()
                .map(|s| (s.as_str(), totals.by_status[*s as usize]))
                .collect(),
            leaking_shipments: totals.leaking_shipments,
            invoice_ready: totals.invoice_ready,
            with_anomalies: totals.with_anomalies,
            gaps,
        }
    }
}

/// Gap ranges listed per source in a summary; the count is always complete.
pub const MAX_GAP_RANGES_SHOWN: usize = 100;

/// The summary of the core's state, with the JSON names of docs/state.md (the summary).
///
/// Serializes to that JSON, fields in this order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// The LSN of the last record applied (0 for an empty journal).
    pub lsn: u64,
    /// The state digest, 64 lowercase hex digits.
    pub digest: String,
    /// Events received: `applied + duplicates + dead_lettered`.
    pub received: u64,
    /// Events applied.
    pub applied: u64,
    /// Duplicate events.
    pub duplicates: u64,
    /// Dead-lettered events.
    pub dead_lettered: u64,
    /// Every reason, in the order of docs/events.md (dead-letter reasons), with its count.
    pub dead_letter_reasons: ReasonCounts,
    /// Total missing sequences (gaps) over every source. Exact: one source can miss up to
    /// 2^64 - 2 sequences, so the sum over sources needs more than 64 bits (JSON: a number
    /// up to 64 bits, a string of digits past that).
    #[serde(serialize_with = "exact_u128")]
    pub missing: u128,
    /// Money per currency (the contract's; orphans under `unknown`), sorted by currency. Never
    /// added across currencies.
    pub totals: BTreeMap<String, CurrencyTotals>,
    /// Shipments known.
    pub shipments: u64,
    /// Vehicles known.
    pub vehicles: u64,
    /// Distinct sources of applied events.
    pub sources: u64,
    /// Status -> shipments, every status in the order of docs/state.md (derived fields).
    pub shipments_by_status: ReasonCounts,
    /// Shipments with `leakage_cents > 0`.
    pub leaking_shipments: u64,
    /// Shipments with `invoice_ready`.
    pub invoice_ready: u64,
    /// Shipments with at least one anomaly flag.
    pub with_anomalies: u64,
    /// Sources with missing sequences, sorted by name.
    pub gaps: Vec<GapView>,
}

/// Name -> count, serialized as a JSON object in a fixed order.
///
/// Used for the summary's `dead_letter_reasons` and `shipments_by_status`: every name is
/// listed, with 0 when nothing counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCounts(pub Vec<(&'static str, u64)>);

impl FromIterator<(&'static str, u64)> for ReasonCounts {
    fn from_iter<I: IntoIterator<Item = (&'static str, u64)>>(iter: I) -> Self {
        ReasonCounts(iter.into_iter().collect())
    }
}

impl Serialize for ReasonCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Missing sequences of one source.
///
/// A sequence is missing when it is below the source's highest applied sequence and was not
/// applied (docs/events.md, duplicates and gaps).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct GapView {
    /// The source, `<system>/<name>`.
    pub source: String,
    /// How many sequences of the source are missing (complete, whatever `ranges` lists).
    pub missing: u64,
    /// Inclusive ranges, lowest first, at most [`MAX_GAP_RANGES_SHOWN`].
    pub ranges: Vec<[u64; 2]>,
}

/// The sources with missing sequences in `dedupe`, sorted by name, each with at most
/// [`MAX_GAP_RANGES_SHOWN`] ranges (a machine's summary, and a cluster's sequencer, list them
/// so).
pub fn gap_views(dedupe: &Dedupe, sources: &Sources) -> Vec<GapView> {
    let mut gaps: Vec<GapView> = dedupe
        .gaps()
        .into_iter()
        .map(|g| GapView {
            source: sources.name(g.source).to_string(),
            missing: g.missing,
            ranges: g
                .ranges
                .iter()
                .take(MAX_GAP_RANGES_SHOWN)
                .map(|&(a, b)| [a, b])
                .collect(),
        })
        .collect();
    gaps.sort_by(|a, b| a.source.cmp(&b.source));
    gaps
}

/// The key group a snapshot's machine section holds: `(0, 0)` for none.
fn key_group_of_words(group: u64, groups: u64) -> Result<Option<(u32, u32)>, SnapshotDefect> {
    if (group, groups) == (0, 0) {
        return Ok(None);
    }
    match (u32::try_from(group), u32::try_from(groups)) {
        (Ok(g), Ok(n)) if g < n && n <= crate::event::MAX_KEY_GROUPS => Ok(Some((g, n))),
        _ => Err(defect(0, format!("key group {group} of {groups}"))),
    }
}
