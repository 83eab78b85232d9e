//! Driving a scenario through the core: generate the world, deliver it through the faulty
//! network, submit every delivery to a real [`Core`] (as wire bytes, decoded like any input),
//! crash and reopen where the scenario says, measure, then check everything.
//!
//! The journal sees only deterministic inputs: each record's ingest time is the simulated
//! arrival time of its delivery, so the same scenario and seed give byte-identical journal
//! files whatever the batching or the machine's speed (unless a crash fault repeats records).

use crate::checks::{self, MAX_DETAIL_LINES};
use crate::network::{self, Delivered, Stream};
use crate::oracle;
use crate::report::{
    self, Bucket, CrashReport, InjectedReport, Leakage, Percentiles, Report, Throughput, Timeline,
};
use crate::rng::Rng;
use crate::scenario::{Fault, Pace, Scenario};
use crate::world::{self, World};
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use waybill_core::engine::{self, Core, CoreError, Until};
use waybill_core::event::{ArchivedEntry, DeadLetterReason, Entry, EventType};
use waybill_core::journal::{Durability, JournalOptions, JournalReader};
use waybill_core::machine::Machine;
use waybill_core::state::ShipmentView;
use waybill_core::time::format_rfc3339_us;

/// Deliveries decoded ahead of the core, per batch handed over.
const QUEUE_BATCHES: usize = 8;
/// Most buckets in the timeline.
const MAX_BUCKETS: i64 = 144;
/// Largest latency recorded (a minute); larger values are clamped.
const LATENCY_US_MAX: u64 = 60_000_000;

/// Ways to make the core misbehave on purpose, so tests can prove each check can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sabotage {
    #[default]
    None,
    /// Every n-th delivery never reaches the core (silent loss).
    DropEvery(u64),
    /// The live digest is reported with one bit flipped.
    LieAboutDigest,
    /// The duplicate counter is reported `k` too high.
    MiscountDuplicates(u64),
    /// One shipment's `billed_cents` is reported one cent too high.
    CorruptShipment,
    /// One dead letter is reported under the wrong reason.
    MislabelDeadLetter,
}

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Journal directory; a fresh temporary one when None (removed after a passing run).
    pub journal: Option<PathBuf>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    pub sabotage: Sabotage,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Bad usage (exit 2).
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Io(String),
}

/// The world and its delivered stream.
pub struct Prepared {
    pub seed: u64,
    pub world: World,
    pub stream: Stream,
    pub generate_seconds: f64,
}

pub fn prepare(scenario: &Scenario, seed: u64) -> Prepared {
    let t0 = Instant::now();
    let world = world::generate(scenario, seed);
    let stream = network::deliver(&world, scenario, seed);
    Prepared {
        seed,
        world,
        stream,
        generate_seconds: t0.elapsed().as_secs_f64(),
    }
}

/// Writes the stream as delivered to the core (faults included, crashes aside), in arrival
/// order, one JSON line per delivery. Returns the number of lines.
pub fn export(scenario: &Scenario, seed: u64, out: &mut dyn Write) -> std::io::Result<u64> {
    let p = prepare(scenario, seed);
    let mut line = Vec::with_capacity(1024);
    for d in &p.stream.deliveries {
        line.clear();
        network::encode(&p.world, d, &mut line);
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()?;
    Ok(p.stream.deliveries.len() as u64)
}

/// One delivery decoded, ready for the core.
struct Ready {
    index: u32,
    arrival_us: i64,
    entry: Entry,
}

/// What ingest measured.
struct Ingested {
    wall_seconds: f64,
    latency: Histogram<u64>,
    bucket_latency: Vec<Histogram<u64>>,
    crashes: Vec<CrashReport>,
    /// Delivery indexes sent again after crashes.
    redelivered: Vec<u32>,
    /// Deliveries that reached the core (sabotage may skip some).
    submitted: u64,
}

struct Buckets {
    start_us: i64,
    width_us: i64,
    count: usize,
}

impl Buckets {
    fn of(&self, t_us: i64) -> usize {
        (((t_us - self.start_us).max(0) / self.width_us) as usize).min(self.count - 1)
    }
}

fn buckets_for(stream: &Stream, scenario: &Scenario) -> Buckets {
    let start_us = scenario.world.start_us;
    let last = stream.deliveries.last().map_or(start_us, |d| d.arrival_us);
    let span_us = (last - start_us).max(scenario.world.horizon_us).max(1);
    let widths_s = [
        60i64, 300, 600, 900, 1800, 3600, 7200, 21_600, 86_400, 604_800,
    ];
    let width_s = widths_s
        .into_iter()
        .find(|w| span_us / (w * 1_000_000) < MAX_BUCKETS)
        .unwrap_or(604_800);
    let width_us = width_s * 1_000_000;
    Buckets {
        start_us,
        width_us,
        count: (span_us / width_us + 1) as usize,
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("valid histogram bounds")
}

fn percentiles(h: &Histogram<u64>) -> Option<Percentiles> {
    (!h.is_empty()).then(|| Percentiles {
        count: h.len(),
        p50: h.value_at_quantile(0.50),
        p90: h.value_at_quantile(0.90),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    })
}

/// Runs `scenario` through a real core and checks it.
pub fn run(scenario: &Scenario, opts: &RunOptions) -> Result<Report, SimError> {
    let seed = opts.seed.unwrap_or(scenario.seed);
    let (journal_dir, temporary) = match &opts.journal {
        Some(d) => (d.clone(), false),
        None => (temp_journal_dir(), true),
    };
    if holds_journal(&journal_dir) {
        return Err(SimError::Usage(format!(
            "{} already holds a journal; a simulation needs a fresh one",
            journal_dir.display()
        )));
    }
    let prepared = prepare(scenario, seed);
    let buckets = buckets_for(&prepared.stream, scenario);
    let ingested = ingest(scenario, &prepared, &journal_dir, &buckets, opts)?;

    let t_check = Instant::now();
    let mut report = check_run(scenario, &prepared, &journal_dir, &ingested, &buckets, opts)?;
    report.throughput.check_seconds = t_check.elapsed().as_secs_f64();
    report.journal = journal_dir.display().to_string();
    if temporary && report.passed {
        let _ = std::fs::remove_dir_all(&journal_dir);
        report.journal = format!(
            "{} (temporary, removed after the run passed)",
            journal_dir.display()
        );
    }
    Ok(report)
}

fn temp_journal_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("waybill-sim-{}-{nanos}", std::process::id()))
}

fn holds_journal(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut it| {
        it.any(|e| e.is_ok_and(|e| e.path().extension().is_some_and(|x| x == "seg")))
    })
}

fn journal_options(scenario: &Scenario) -> JournalOptions {
    JournalOptions {
        segment_bytes: scenario.run.segment_bytes,
        durability: scenario.run.durability,
        ..JournalOptions::default()
    }
}

/// Feeds the stream to the core: a decoder thread turns deliveries into entries (as wire
/// bytes, then decoded like any input); this thread journals and applies them.
fn ingest(
    scenario: &Scenario,
    p: &Prepared,
    dir: &Path,
    buckets: &Buckets,
    opts: &RunOptions,
) -> Result<Ingested, SimError> {
    let batch_events = scenario.run.batch_events;
    let deliveries = &p.stream.deliveries;
    let mut crash_at: VecDeque<i64> = {
        let mut v: Vec<i64> = scenario
            .faults
            .iter()
            .filter_map(|f| match f {
                Fault::Crash { at_us } => Some(scenario.world.start_us + at_us),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.into()
    };
    let mut progress = report::Progress::new(deliveries.len() as u64, opts.progress);
    let first_arrival_us = deliveries.first().map_or(0, |d| d.arrival_us);
    let mut out = Ingested {
        wall_seconds: 0.0,
        latency: histogram(),
        bucket_latency: (0..buckets.count).map(|_| histogram()).collect(),
        crashes: Vec::new(),
        redelivered: Vec::new(),
        submitted: 0,
    };

    std::thread::scope(|scope| -> Result<(), SimError> {
        let (tx, rx) = crossbeam_channel::bounded::<Vec<Ready>>(QUEUE_BATCHES);
        scope.spawn(move || {
            let mut line = Vec::with_capacity(1024);
            for (chunk_no, chunk) in deliveries.chunks(batch_events).enumerate() {
                let batch: Vec<Ready> = chunk
                    .iter()
                    .enumerate()
                    .map(|(k, d)| {
                        line.clear();
                        network::encode(&p.world, d, &mut line);
                        Ready {
                            index: (chunk_no * batch_events + k) as u32,
                            arrival_us: d.arrival_us,
                            entry: waybill_core::decode::decode(&line),
                        }
                    })
                    .collect();
                if tx.send(batch).is_err() {
                    return;
                }
            }
        });

        let mut core = Core::open(dir, journal_options(scenario))?;
        // Submitted but not acknowledged: (lsn, delivery).
        let mut unacked: VecDeque<(u64, Ready)> = VecDeque::new();
        let started = Instant::now();
        let speedup = match scenario.run.pace {
            Pace::Max => None,
            Pace::Speedup(x) => Some(x),
        };
        let intended = |arrival_us: i64| -> Duration {
            let s = speedup.expect("paced");
            Duration::from_secs_f64(((arrival_us - first_arrival_us) as f64 / 1e6 / s).max(0.0))
        };
        let mut pending: VecDeque<Ready> = VecDeque::new();
        let mut done = 0u64;
        let mut last_arrival_us = first_arrival_us;
        loop {
            if pending.is_empty() {
                match rx.recv() {
                    Ok(b) => pending.extend(b),
                    Err(_) => break,
                }
            }
            // The batch to submit now: everything due (paced) or a full batch (max).
            let mut batch: Vec<Ready> = Vec::with_capacity(batch_events);
            if speedup.is_some() {
                let next_due = started + intended(pending[0].arrival_us);
                let now = Instant::now();
                if next_due > now {
                    let wait = next_due - now;
                    if wait > Duration::from_micros(300) {
                        std::thread::sleep(wait - Duration::from_micros(200));
                    }
                    while Instant::now() < next_due {
                        std::hint::spin_loop();
                    }
                }
                let now = Instant::now();
                while batch.len() < batch_events {
                    if pending.is_empty() {
                        match rx.try_recv() {
                            Ok(b) => pending.extend(b),
                            Err(_) => break,
                        }
                    }
                    match pending.front() {
                        Some(r) if started + intended(r.arrival_us) <= now => {
                            batch.push(pending.pop_front().expect("front exists"))
                        }
                        _ => break,
                    }
                }
            } else {
                batch.extend(pending.drain(..));
            }
            let batch_started = Instant::now();
            let mut submitted_in_batch: Vec<(i64, Duration)> = Vec::with_capacity(batch.len());
            for r in batch {
                if crash_at.front().is_some_and(|&t| r.arrival_us >= t) {
                    let at_us = crash_at.pop_front().expect("front exists");
                    // The core dies here without shutdown: no commit, no flush.
                    drop(core);
                    core = Core::open(dir, journal_options(scenario))?;
                    let lsn_after_reopen = core.machine().lsn;
                    let again: Vec<Ready> = unacked.drain(..).map(|(_, r)| r).collect();
                    out.crashes.push(CrashReport {
                        at: format_rfc3339_us(at_us),
                        lsn_after_reopen,
                        redelivered: again.len() as u64,
                    });
                    for r in again {
                        out.redelivered.push(r.index);
                        let (lsn, _) = core.submit(&r.entry, at_us)?;
                        out.submitted += 1;
                        unacked.push_back((lsn, r));
                    }
                }
                done += 1;
                if let Sabotage::DropEvery(n) = opts.sabotage
                    && (r.index as u64 + 1).is_multiple_of(n)
                {
                    continue;
                }
                let (lsn, _) = core.submit(&r.entry, r.arrival_us)?;
                out.submitted += 1;
                last_arrival_us = r.arrival_us;
                if speedup.is_some() {
                    submitted_in_batch.push((r.arrival_us, intended(r.arrival_us)));
                } else {
                    submitted_in_batch.push((r.arrival_us, Duration::ZERO));
                }
                unacked.push_back((lsn, r));
            }
            let durable = core.commit()?;
            let acked = if scenario.run.durability == Durability::None {
                core.machine().lsn
            } else {
                durable
            };
            while unacked.front().is_some_and(|(lsn, _)| *lsn <= acked) {
                unacked.pop_front();
            }
            // Latency: to applied, from the intended submission time (paced) or from the
            // moment the batch was handed over (max pace).
            let applied_at = Instant::now();
            for (arrival_us, intended_at) in submitted_in_batch {
                let from = if speedup.is_some() {
                    started + intended_at
                } else {
                    batch_started
                };
                let us = (applied_at.saturating_duration_since(from).as_micros() as u64)
                    .clamp(1, LATENCY_US_MAX);
                out.latency.record(us).expect("clamped into range");
                out.bucket_latency[buckets.of(arrival_us)]
                    .record(us)
                    .expect("clamped into range");
            }
            progress.update(done, last_arrival_us);
        }
        core.flush()?;
        out.wall_seconds = started.elapsed().as_secs_f64();
        progress.finish();
        Ok(())
    })?;
    Ok(out)
}

/// Everything the checks compare, read from the core after the run.
struct Observed {
    summary: waybill_core::machine::Summary,
    digest: String,
    views: Vec<ShipmentView>,
}

fn observe(dir: &Path, opts: &RunOptions) -> Result<(Observed, Machine), SimError> {
    // The live state: the writer reopened (replaying is how a core comes back), then read.
    let core = Core::open(
        dir,
        JournalOptions {
            durability: Durability::None,
            ..JournalOptions::default()
        },
    )?;
    let m = core.machine();
    let mut summary = m.summary();
    let mut views: Vec<ShipmentView> = m
        .state
        .shipment_ids()
        .into_iter()
        .map(|id| {
            m.state
                .shipment_view(id, &m.sources)
                .expect("listed ids exist")
        })
        .collect();
    let mut digest = summary.digest.clone();
    match opts.sabotage {
        Sabotage::LieAboutDigest => {
            let flipped = if digest.starts_with('0') { "1" } else { "0" };
            digest.replace_range(0..1, flipped);
            summary.digest = digest.clone();
        }
        Sabotage::MiscountDuplicates(k) => summary.duplicates += k,
        Sabotage::CorruptShipment => {
            if let Some(v) = views.first_mut() {
                v.billed_cents += 1;
            }
        }
        Sabotage::MislabelDeadLetter => {
            let reasons = &mut summary.dead_letter_reasons.0;
            if let Some(i) = reasons.iter().position(|(_, n)| *n > 0) {
                reasons[i].1 -= 1;
                let j = (i + 1) % reasons.len();
                reasons[j].1 += 1;
            }
        }
        Sabotage::None | Sabotage::DropEvery(_) => {}
    }
    drop(core);
    let replayed = engine::replay(dir, Until::End)?;
    Ok((
        Observed {
            summary,
            digest,
            views,
        },
        replayed.machine,
    ))
}

/// The applied events of the journal, applied again in a shuffled order to a fresh machine.
fn shuffled_digest(dir: &Path, seed: u64) -> Result<String, SimError> {
    let mut applied_lsns = Vec::new();
    engine::replay_with(dir, Until::End, |v| {
        if v.outcome == waybill_core::machine::Outcome::Applied {
            applied_lsns.push(v.lsn);
        }
    })?;
    let reader = JournalReader::open(dir).map_err(CoreError::from)?;
    let mut payloads: Vec<&[u8]> = Vec::with_capacity(applied_lsns.len());
    let mut want = applied_lsns.iter().peekable();
    for rec in reader.records() {
        let rec = rec.map_err(CoreError::from)?;
        if want.peek() == Some(&&rec.lsn) {
            payloads.push(rec.payload);
            want.next();
        }
    }
    let mut rng = Rng::stream(seed, "check/shuffle");
    for i in (1..payloads.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        payloads.swap(i, j);
    }
    let mut m = Machine::new();
    for (k, payload) in payloads.iter().enumerate() {
        let entry = engine::access_entry(k as u64 + 1, payload)?;
        debug_assert!(matches!(entry, ArchivedEntry::Event(_)));
        m.step(k as u64 + 1, entry);
    }
    Ok(m.digest().to_string())
}

fn reason_list(counts: &[u64; 8]) -> Vec<(String, u64)> {
    DeadLetterReason::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), counts[r.index()]))
        .collect()
}

fn check_run(
    scenario: &Scenario,
    p: &Prepared,
    dir: &Path,
    ing: &Ingested,
    buckets: &Buckets,
    opts: &RunOptions,
) -> Result<Report, SimError> {
    let (obs, replayed) = observe(dir, opts)?;
    let s = &obs.summary;
    let inj = &p.stream.injected;
    let deliveries = &p.stream.deliveries;

    // What the crashes sent again, by kind.
    let mut redelivered_valid = 0u64;
    let mut redelivered_malformed = [0u64; 8];
    for &i in &ing.redelivered {
        match deliveries[i as usize].what {
            Delivered::Malformed { reason, .. } => redelivered_malformed[reason.index()] += 1,
            Delivered::Event(_) | Delivered::Duplicate(_) => redelivered_valid += 1,
        }
    }
    let mut expected_dead = inj.malformed;
    for (e, r) in expected_dead.iter_mut().zip(redelivered_malformed) {
        *e += r;
    }
    let sent = deliveries.len() as u64 + ing.redelivered.len() as u64;

    let mut checks = vec![
        checks::check(
            "conservation",
            s.received == s.applied + s.duplicates + s.dead_lettered,
            "received = applied + duplicates + dead_lettered",
            format!(
                "{} = {} + {} + {}",
                s.received, s.applied, s.duplicates, s.dead_lettered
            ),
            format!(
                "{} received but {} accounted for",
                s.received,
                s.applied + s.duplicates + s.dead_lettered
            ),
        ),
        checks::equal("every_delivery_received", sent, s.received),
        checks::equal_counts(
            "dead_letters_match_injected",
            &reason_list(&expected_dead),
            &s.dead_letter_reasons
                .0
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect::<Vec<_>>(),
        ),
        checks::equal(
            "duplicates_match_injected",
            inj.duplicates + redelivered_valid,
            s.duplicates,
        ),
        checks::equal(
            "missing_matches_dropped",
            u128::from(inj.dropped_detectable),
            s.missing,
        ),
    ];

    // Every shipment against the simulator's own ground truth.
    let expected = oracle::expected(&p.world, &p.stream);
    let mut diffs: Vec<String> = Vec::new();
    let mut mismatched = 0u64;
    let mut seen = 0usize;
    for v in &obs.views {
        match expected.shipments.get(&v.id) {
            Some(e) => {
                seen += 1;
                let d = e.diff(v);
                if !d.is_empty() {
                    mismatched += 1;
                    if diffs.len() < MAX_DETAIL_LINES {
                        diffs.push(format!("shipment {}: {}", v.id, d.join("; ")));
                    }
                }
            }
            None => {
                mismatched += 1;
                if diffs.len() < MAX_DETAIL_LINES {
                    diffs.push(format!(
                        "shipment {} is in the core but not in the ground truth",
                        v.id
                    ));
                }
            }
        }
    }
    let missing_in_core = expected.shipments.len() - seen;
    if missing_in_core > 0 {
        mismatched += missing_in_core as u64;
        diffs.push(format!(
            "{missing_in_core} shipments of the ground truth are not in the core"
        ));
    }
    checks.push(checks::check(
        "shipments_match_ground_truth",
        mismatched == 0,
        format!("{} shipments equal", expected.shipments.len()),
        format!("{} differ", mismatched),
        diffs.join("\n"),
    ));
    checks.push(checks::equal(
        "replay_digest_matches_live",
        replayed.digest().to_string(),
        obs.digest.clone(),
    ));
    checks.push(checks::equal(
        "shuffled_digest_matches_live",
        shuffled_digest(dir, p.seed)?,
        obs.digest.clone(),
    ));

    // The scenario's own expectations.
    let e = &scenario.expect;
    let latency = percentiles(&ing.latency);
    let eps = if ing.wall_seconds > 0.0 {
        ing.submitted as f64 / ing.wall_seconds
    } else {
        0.0
    };
    if let Some(limit) = e.max_p99_latency_us {
        checks.push(checks::at_most(
            "expect.max_p99_latency_us",
            limit,
            latency.as_ref().map(|l| l.p99),
            "us",
        ));
    }
    if let Some(limit) = e.max_p999_latency_us {
        checks.push(checks::at_most(
            "expect.max_p999_latency_us",
            limit,
            latency.as_ref().map(|l| l.p999),
            "us",
        ));
    }
    if let Some(floor) = e.min_throughput_eps {
        checks.push(checks::at_least(
            "expect.min_throughput_eps",
            floor,
            eps,
            "events/s",
        ));
    }
    if let Some(floor) = e.min_events {
        checks.push(checks::at_least(
            "expect.min_events",
            floor as f64,
            s.received as f64,
            "events",
        ));
    }
    if let Some(floor) = e.min_leaking_shipments {
        checks.push(checks::at_least(
            "expect.min_leaking_shipments",
            floor as f64,
            s.leaking_shipments as f64,
            "shipments",
        ));
    }

    // Leakage: what billing forgot versus what the core found.
    let mut top: Vec<(u64, i64)> = obs
        .views
        .iter()
        .filter(|v| v.leakage_cents > 0)
        .map(|v| (v.id, i64::try_from(v.leakage_cents).unwrap_or(i64::MAX)))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    let leakage = Leakage {
        omitted_detention_charges: p.world.facts.detention_omitted,
        omitted_detention_cents: p.world.facts.detention_omitted_cents,
        expected_cents: expected.leakage_cents,
        expected_leaking_shipments: expected.leaking_shipments,
        found_cents: i64::try_from(s.totals.values().map(|t| t.leakage_cents).sum::<i128>())
            .unwrap_or(i64::MAX),
        leaking_shipments: s.leaking_shipments,
        top,
    };

    let timeline = timeline(p, buckets, ing);
    let passed = checks.iter().all(|c| c.passed);
    Ok(Report {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: p.seed,
        passed,
        checks,
        counters: report::Counters {
            received: s.received,
            applied: s.applied,
            duplicates: s.duplicates,
            dead_lettered: s.dead_lettered,
            dead_letter_reasons: s
                .dead_letter_reasons
                .0
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect(),
            missing: u64::try_from(s.missing).unwrap_or(u64::MAX),
            shipments: s.shipments,
            vehicles: s.vehicles,
        },
        injected: InjectedReport {
            events_generated: p.world.events.len() as u64,
            deliveries: deliveries.len() as u64,
            duplicates: inj.duplicates,
            dropped: inj.dropped,
            dropped_detectable: inj.dropped_detectable,
            reordered: inj.reordered,
            held_by_outage: inj.held_by_outage,
            malformed: reason_list(&inj.malformed),
            redelivered_after_crash: ing.redelivered.len() as u64,
        },
        world: p.world.facts.clone(),
        throughput: Throughput {
            events: ing.submitted,
            wall_seconds: ing.wall_seconds,
            events_per_second: eps,
            generate_seconds: p.generate_seconds,
            check_seconds: 0.0,
            simulated_seconds: deliveries.last().map_or(0.0, |d| {
                (d.arrival_us - scenario.world.start_us) as f64 / 1e6
            }),
            pace: match scenario.run.pace {
                Pace::Max => "max".to_string(),
                Pace::Speedup(x) => format!("{x}"),
            },
            durability: scenario.run.durability.to_string(),
        },
        latency_us: latency,
        outages: p.stream.outages.clone(),
        crashes: ing.crashes.clone(),
        timeline,
        leakage,
        journal: String::new(),
        lsn: s.lsn,
        digest: obs.digest,
    })
}

fn system_index(t: EventType) -> usize {
    t.owner() as usize
}

fn timeline(p: &Prepared, b: &Buckets, ing: &Ingested) -> Timeline {
    let mut buckets: Vec<Bucket> = (0..b.count).map(|_| Bucket::default()).collect();
    for d in &p.stream.deliveries {
        let k = b.of(d.arrival_us);
        let (i, malformed) = match d.what {
            Delivered::Event(i) | Delivered::Duplicate(i) => (i, false),
            Delivered::Malformed { of, .. } => (of, true),
        };
        let sys = system_index(p.world.events[i as usize].event.event_type());
        buckets[k].arrivals_by_system[sys] += 1;
        if malformed {
            buckets[k].dead_lettered += 1;
        }
    }
    // Backlog at each bucket's end: emitted (and not lost) minus delivered originals.
    let mut emitted = 0u64;
    let mut delivered = 0u64;
    let (mut ei, mut di) = (0usize, 0usize);
    let events = &p.world.events;
    let dels = &p.stream.deliveries;
    for (k, bucket) in buckets.iter_mut().enumerate() {
        let end = b.start_us + (k as i64 + 1) * b.width_us;
        while ei < events.len() && events[ei].emit_us < end {
            if !p.stream.dropped.get(ei).copied().unwrap_or(false) {
                emitted += 1;
            }
            ei += 1;
        }
        while di < dels.len() && dels[di].arrival_us < end {
            if matches!(dels[di].what, Delivered::Event(_)) {
                delivered += 1;
            }
            di += 1;
        }
        bucket.backlog = emitted.saturating_sub(delivered);
        let h = &ing.bucket_latency[k];
        bucket.latency_p99_us = (!h.is_empty()).then(|| h.value_at_quantile(0.99));
    }
    Timeline {
        start: format_rfc3339_us(b.start_us),
        bucket_seconds: (b.width_us / 1_000_000) as u64,
        buckets,
    }
}
