//! The running summary (`state::Running`, `Machine::refresh_summary`): refreshed by any budgets
//! between any batches, once caught up its digest and totals equal the full computation
//! exactly, and the cached summary equals `Machine::summary`.

mod state_support;

use proptest::prelude::*;
use state_support::*;
use waybill_core::engine::Core;
use waybill_core::event::{Body, ChargeKind, Contract, Entry, Event, EventType};
use waybill_core::source::Sources;
use waybill_core::state::{Digest, Running, State, Status, UNKNOWN_CURRENCY};

/// Random events over more shipments and vehicles than `event_set` names (ids spread so that
/// slots cross the 64-slot words of the marks), still with many events per entity.
fn wide_event_set() -> impl Strategy<Value = Vec<Event>> {
    let spread = prop_oneof![Just(0u64), 0..40u64];
    prop::collection::vec((raw(), spread), 1..160).prop_map(|v| {
        let (raws, spread): (Vec<Raw>, Vec<u64>) = v.into_iter().unzip();
        let mut evs = events(&raws);
        for (e, k) in evs.iter_mut().zip(spread) {
            let n = if e.event_type() == EventType::VehiclePosition {
                VEHICLES
            } else {
                SHIPMENTS
            };
            e.subject += n * k;
        }
        evs
    })
}

/// Checks the running sums against the full computation when caught up, and the backlog.
fn check(running: &Running, state: &State, sources: &Sources) -> bool {
    let caught_up = running.is_caught_up(state);
    assert_eq!(caught_up, running.backlog(state) == 0);
    if caught_up {
        assert_eq!(running.digest(state), Some(state.digest(sources)));
        assert_eq!(running.totals(state), Some(state.totals()));
    } else {
        assert_eq!(running.digest(state), None);
        assert_eq!(running.totals(state), None);
    }
    caught_up
}

/// Applies `evs` in batches of the given sizes, refreshing by the given budgets after each.
fn run(evs: &[Event], batches: &[usize], budgets: &[usize]) {
    let (mut state, mut sources) = (State::new(), Sources::new());
    let mut running = Running::new();
    let mut rest = evs;
    let mut i = 0;
    while !rest.is_empty() {
        let (batch, tail) = rest.split_at(batches[i % batches.len()].min(rest.len()));
        rest = tail;
        for e in batch {
            apply(&mut state, &mut sources, e);
        }
        // A refresh reports exactly what the accessors say.
        let backlog = running.backlog(&state);
        let budget = budgets[i % budgets.len()];
        let caught_up = running.refresh(&mut state, &sources, budget);
        assert_eq!(caught_up, check(&running, &state, &sources));
        assert_eq!(caught_up, budget >= backlog || backlog == 0);
        assert_eq!(running.backlog(&state), backlog.saturating_sub(budget));
        i += 1;
    }
    let backlog = running.backlog(&state);
    assert!(running.refresh(&mut state, &sources, backlog));
    assert!(check(&running, &state, &sources));
    assert_eq!(running.backlog(&state), 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any events, in any batches, refreshed by any budgets (0 included): once caught up the
    /// running digest and totals are the full computation's.
    #[test]
    fn running_sums_equal_the_full_computation(
        evs in wide_event_set(),
        batches in prop::collection::vec(1..24usize, 1..6),
        budgets in prop::collection::vec(prop_oneof![0..6usize, 0..64usize, Just(usize::MAX)], 1..6),
    ) {
        run(&evs, &batches, &budgets);
    }

    /// The same over the dense sets of the convergence laws (four shipments, three vehicles:
    /// most events change an entity counted before).
    #[test]
    fn dense_histories_too(
        evs in event_set(),
        batches in prop::collection::vec(1..8usize, 1..4),
        budgets in prop::collection::vec(0..4usize, 1..4),
    ) {
        run(&evs, &batches, &budgets);
    }

    /// `Digest::subtract` inverts `Digest::combine` modulo 2^256.
    #[test]
    fn subtract_inverts_combine(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let (a, b) = (Digest(a), Digest(b));
        prop_assert_eq!(Digest::subtract(Digest::combine(a, b), b), a);
        prop_assert_eq!(Digest::combine(Digest::subtract(a, b), b), a);
    }
}

/// Refreshes `core` by `budget` and checks the cached summary against the full one.
fn refresh_and_check(core: &mut Core, budget: usize) -> bool {
    let backlog = core.machine().summary_backlog();
    let caught_up = core.refresh_summary(budget);
    assert_eq!(caught_up, budget >= backlog);
    match core.summary_cached() {
        Some(cached) => {
            assert!(caught_up);
            let full = core.machine().summary();
            assert_eq!(cached, full);
            assert_eq!(
                serde_json::to_string(&cached).unwrap(),
                serde_json::to_string(&full).unwrap()
            );
        }
        None => assert!(!caught_up),
    }
    caught_up
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Through the core: batches with redeliveries and dead letters, refreshed by random
    /// budgets; then a snapshot, a reopen (the running sums are rebuilt, not loaded), more
    /// batches. The cached summary always equals `Machine::summary` when it answers.
    #[test]
    fn cached_summary_equals_the_summary(
        evs in wide_event_set(),
        dups in prop::collection::vec(any::<bool>(), 1..8),
        batch in 1..20usize,
        budgets in prop::collection::vec(prop_oneof![0..8usize, 0..64usize, Just(usize::MAX)], 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut entries: Vec<Entry> = evs.iter().cloned().map(Entry::Event).collect();
        let redelivered: Vec<Entry> = evs
            .iter()
            .zip(dups.iter().cycle())
            .filter(|(_, d)| **d)
            .map(|(e, _)| Entry::Event(e.clone()))
            .collect();
        entries.extend(redelivered);
        entries.extend((0..3).map(dead_letter));
        let cut = cut.index(entries.len() + 1);

        let dir = tempfile::tempdir().unwrap();
        let mut core = Core::open(dir.path(), opts()).unwrap();
        let mut b = 0;
        for (i, chunk) in entries[..cut].chunks(batch).enumerate() {
            core.ingest(chunk, 1_000 + i as i64).unwrap();
            refresh_and_check(&mut core, budgets[b % budgets.len()]);
            b += 1;
        }
        core.snapshot(2).unwrap();
        drop(core);

        let mut core = Core::open(dir.path(), opts()).unwrap();
        prop_assert_eq!(
            core.machine().summary_backlog(),
            core.machine().state().shipment_count() + core.machine().state().vehicle_count()
        );
        for (i, chunk) in entries[cut..].chunks(batch).enumerate() {
            core.ingest(chunk, 5_000 + i as i64).unwrap();
            refresh_and_check(&mut core, budgets[b % budgets.len()]);
            b += 1;
        }
        prop_assert!(refresh_and_check(&mut core, usize::MAX));
        // Redelivering everything applies nothing, so nothing is marked: still caught up.
        core.ingest(&entries, 9_000).unwrap();
        prop_assert!(core.summary_cached().is_some());
        prop_assert!(refresh_and_check(&mut core, 0));
    }
}

/// Applies one event from its owner's source `<owner>/a`, sequence `seq` (unique per test).
fn put(state: &mut State, sources: &mut Sources, seq: u64, minute: i64, subject: u64, body: Body) {
    let mut e = event("x/a", seq, m(minute), subject, body);
    e.source = format!("{}/a", e.event_type().owner().as_str());
    apply(state, sources, &e);
}

fn caught_up(running: &mut Running, state: &mut State, sources: &Sources) {
    assert!(running.refresh(state, sources, usize::MAX));
    assert!(check(running, state, sources));
}

/// Money past 64 bits goes into the running sums exactly, and comes back out exactly when the
/// charges that made it are voided.
#[test]
fn money_past_64_bits_is_exact_both_ways() {
    let (mut state, mut sources) = (State::new(), Sources::new());
    let mut running = Running::new();
    put(&mut state, &mut sources, 1, 0, 1, created(0, 60));
    for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
        let body = charge(id, ChargeKind::Fuel, i64::MAX, USD);
        put(&mut state, &mut sources, 10 + i as u64, 1, 1, body);
    }
    caught_up(&mut running, &mut state, &sources);
    let usd = running.totals(&state).unwrap().money["USD"];
    assert_eq!(usd.billed_cents, 4 * i128::from(i64::MAX));
    for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
        put(&mut state, &mut sources, 20 + i as u64, 2, 1, void(id));
        caught_up(&mut running, &mut state, &sources);
    }
    let usd = running.totals(&state).unwrap().money["USD"];
    assert_eq!(usd.billed_cents, 0);
    // A second shipment with a negative sum past 64 bits: the sums go down exactly.
    put(&mut state, &mut sources, 30, 0, 2, created(0, 60));
    for (i, id) in ["a", "b"].iter().enumerate() {
        let body = charge(id, ChargeKind::Fuel, i64::MIN, USD);
        put(&mut state, &mut sources, 31 + i as u64, 1, 2, body);
    }
    caught_up(&mut running, &mut state, &sources);
    let usd = running.totals(&state).unwrap().money["USD"];
    assert_eq!(usd.billed_cents, 2 * i128::from(i64::MIN));
}

/// A currency that no shipment counts under any more is not listed, as the full computation
/// does not list it: an orphan's `unknown` goes when its order arrives, a contract currency
/// when a winning order moves the shipment to another.
#[test]
fn currencies_come_and_go_as_in_the_full_computation() {
    let (mut state, mut sources) = (State::new(), Sources::new());
    let mut running = Running::new();
    put(
        &mut state,
        &mut sources,
        1,
        1,
        7,
        charge("c", ChargeKind::Fuel, 0, USD),
    );
    caught_up(&mut running, &mut state, &sources);
    let t = running.totals(&state).unwrap();
    assert_eq!(t.money.keys().collect::<Vec<_>>(), [UNKNOWN_CURRENCY]);
    assert_eq!(t.by_status[Status::Orphan as usize], 1);

    put(&mut state, &mut sources, 2, 0, 7, created(0, 60));
    caught_up(&mut running, &mut state, &sources);
    let t = running.totals(&state).unwrap();
    assert_eq!(t.money.keys().collect::<Vec<_>>(), ["USD"]);
    assert_eq!(t.by_status[Status::Created as usize], 1);

    // A later order.created in EUR wins: USD is no longer listed.
    let eur = Contract {
        currency: EUR,
        ..contract()
    };
    put(
        &mut state,
        &mut sources,
        3,
        5,
        7,
        created_with("cust-1", 0, 60, eur),
    );
    caught_up(&mut running, &mut state, &sources);
    let t = running.totals(&state).unwrap();
    assert_eq!(t.money.keys().collect::<Vec<_>>(), ["EUR"]);
    assert_eq!(t, state.totals());
}

/// A running summary follows one state: given a clone, or another state, it starts over, and
/// the state it followed before is not mistaken for the one it follows now.
#[test]
fn a_running_summary_follows_one_state() {
    let (mut a, mut sources) = (State::new(), Sources::new());
    for s in 1..=100 {
        put(&mut a, &mut sources, s, 0, s, created(0, 60));
    }
    let mut running = Running::new();
    caught_up(&mut running, &mut a, &sources);

    let mut b = a.clone();
    assert!(!running.is_caught_up(&b), "a clone is another state");
    assert_eq!(running.backlog(&b), 100);
    put(&mut b, &mut sources, 101, 0, 101, created(0, 60));
    assert!(!running.refresh(&mut b, &sources, 50));
    assert!(
        !running.is_caught_up(&a),
        "no longer follows the first state"
    );
    caught_up(&mut running, &mut b, &sources);
    assert_eq!(running.digest(&b), Some(b.digest(&sources)));
    assert_ne!(running.digest(&b), Some(a.digest(&sources)));

    // Back to the first state: counted again from nothing.
    assert_eq!(running.backlog(&a), 100);
    caught_up(&mut running, &mut a, &sources);
}

/// Changes to shipments and vehicles counted before are found without visiting the others:
/// the backlog is the number of distinct entities changed.
#[test]
fn the_backlog_counts_distinct_changed_entities() {
    let (mut state, mut sources) = (State::new(), Sources::new());
    for s in 1..=1000 {
        put(&mut state, &mut sources, s, 0, s, created(0, 60));
    }
    for v in 1..=10 {
        put(&mut state, &mut sources, 2000 + v, 1, v, position(1, 2, 3));
    }
    let mut running = Running::new();
    assert!(!running.refresh(&mut state, &sources, 999));
    assert_eq!(running.backlog(&state), 11);
    caught_up(&mut running, &mut state, &sources);
    // Three shipments changed (one of them twice) and one vehicle moved; an older position
    // loses and changes nothing.
    let mut seq = 3000;
    for s in [5, 700, 5, 999] {
        seq += 1;
        put(&mut state, &mut sources, seq, 1, s, picked_up());
    }
    put(&mut state, &mut sources, 4000, 2, 4, position(5, 6, 7));
    put(&mut state, &mut sources, 4001, 0, 6, position(5, 6, 7));
    assert_eq!(running.backlog(&state), 4);
    assert!(!running.refresh(&mut state, &sources, 3));
    assert_eq!(running.backlog(&state), 1);
    caught_up(&mut running, &mut state, &sources);
    let t = running.totals(&state).unwrap();
    assert_eq!(t.by_status[Status::InTransit as usize], 3);
}

/// Timings at scale, for a release build (`cargo test --release --test running_summary --
/// --ignored --nocapture`; `WAYBILL_RUNNING_SHIPMENTS` sets the size, 1 000 000 by default):
/// the full computation against a full and a budgeted refresh, and what the marks cost apply.
#[test]
#[ignore = "timing at a million shipments: run in release"]
fn timings_at_scale() {
    use std::time::{Duration, Instant};
    use waybill_core::event::{ArchivedEvent, Stop};
    use waybill_core::source::EventKey;

    let n: u64 = std::env::var("WAYBILL_RUNNING_SHIPMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let (mut state, mut sources) = (State::new(), Sources::new());
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    let t = Instant::now();
    for s in 1..=n {
        put(&mut state, &mut sources, next(), 0, s, created(0, 600));
        put(&mut state, &mut sources, next(), 1, s, picked_up());
        put(
            &mut state,
            &mut sources,
            next(),
            2,
            s,
            arrived(Stop::Delivery),
        );
        put(
            &mut state,
            &mut sources,
            next(),
            90,
            s,
            departed(Stop::Delivery),
        );
        put(
            &mut state,
            &mut sources,
            next(),
            3,
            s,
            delivered(Some("ann")),
        );
        let body = charge("base", ChargeKind::Base, 10_000, USD);
        put(&mut state, &mut sources, next(), 4, s, body);
        if s % 4 == 0 {
            put(
                &mut state,
                &mut sources,
                next(),
                5,
                s,
                invoice("inv", 10_000, &["base"]),
            );
        }
    }
    for v in 1..=n / 10 {
        put(&mut state, &mut sources, next(), 1, v, position(1, 2, 3));
    }
    println!(
        "built {n} shipments, {} vehicles in {:.1} s",
        n / 10,
        t.elapsed().as_secs_f64()
    );

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let threads = rayon::current_num_threads();
    // Three of each, best and median (the machine may be shared).
    let mut fulls = Vec::new();
    let (mut digest, mut totals) = (Digest::ZERO, Default::default());
    for _ in 0..3 {
        let t = Instant::now();
        (digest, totals) = (state.digest(&sources), state.totals());
        fulls.push(t.elapsed());
    }
    fulls.sort();
    println!(
        "full computation (State::digest + State::totals, {threads} threads): best {:.1} ms, \
         median {:.1} ms",
        ms(fulls[0]),
        ms(fulls[1])
    );
    let mut wholes = Vec::new();
    for _ in 0..3 {
        let mut running = Running::new();
        let t = Instant::now();
        assert!(running.refresh(&mut state, &sources, usize::MAX));
        wholes.push(t.elapsed());
        assert_eq!(running.digest(&state), Some(digest));
        assert_eq!(running.totals(&state), Some(totals.clone()));
    }
    wholes.sort();
    println!(
        "Running: counting everything in one refresh ({threads} threads): best {:.1} ms, \
         median {:.1} ms",
        ms(wholes[0]),
        ms(wholes[1])
    );

    const BUDGET: usize = 4096;
    let mut steps: Vec<Duration> = Vec::new();
    let mut fresh = Running::new();
    loop {
        let t = Instant::now();
        let done = fresh.refresh(&mut state, &sources, BUDGET);
        steps.push(t.elapsed());
        if done {
            break;
        }
    }
    steps.sort();
    println!(
        "Running: counting from scratch in steps of {BUDGET}: {} steps, best {:.2} ms, median \
         {:.2} ms, max {:.2} ms",
        steps.len(),
        ms(steps[0]),
        ms(steps[steps.len() / 2]),
        ms(steps[steps.len() - 1])
    );
    assert_eq!(fresh.digest(&state), Some(digest));

    // What the marks cost apply: the same `delivery.failed` events (to shipments spread over
    // the state, archived ahead so that only apply is timed) applied to two clones of the
    // state, one followed by a running summary (refreshed after each round, not timed) and
    // one not.
    let fleet = sources.intern("fleet/a");
    let mut sequence = 1_000_000_000u64;
    let mut failures = |round: u64, count: u64| -> Vec<_> {
        (0..count)
            .map(|i| {
                sequence += 1;
                let subject = 1 + (i * 7919 + round) % n;
                let e = event("fleet/a", sequence, m(100), subject, failed());
                let key = EventKey {
                    time_us: e.time_us,
                    source: fleet,
                    sequence,
                };
                (key, rkyv::to_bytes::<rkyv::rancor::Error>(&e).unwrap())
            })
            .collect()
    };
    let apply_all = |st: &mut State, evs: &[(EventKey, rkyv::util::AlignedVec)]| {
        let t = Instant::now();
        for (key, bytes) in evs {
            let a = rkyv::access::<ArchivedEvent, rkyv::rancor::Error>(bytes).unwrap();
            st.apply(a, *key, &sources);
        }
        t.elapsed()
    };
    let (mut plain, mut marked) = (state.clone(), state.clone());
    let mut follower = Running::new();
    assert!(follower.refresh(&mut marked, &sources, usize::MAX));
    let (mut unmarked_t, mut marked_t) = (Vec::new(), Vec::new());
    for round in 0..6 {
        let evs = failures(round, n / 2);
        if round % 2 == 0 {
            unmarked_t.push(apply_all(&mut plain, &evs));
            marked_t.push(apply_all(&mut marked, &evs));
        } else {
            marked_t.push(apply_all(&mut marked, &evs));
            unmarked_t.push(apply_all(&mut plain, &evs));
        }
        assert!(follower.refresh(&mut marked, &sources, usize::MAX));
    }
    unmarked_t.sort();
    marked_t.sort();
    let eps = |d: Duration| (n / 2) as f64 / d.as_secs_f64();
    for (what, i) in [("best", 0), ("median", 3)] {
        println!(
            "apply delivery.failed, {what} of 6 rounds: unmarked {:.0} events/s, marked {:.0} \
             events/s ({:+.1} % time)",
            eps(unmarked_t[i]),
            eps(marked_t[i]),
            (marked_t[i].as_secs_f64() / unmarked_t[i].as_secs_f64() - 1.0) * 100.0
        );
    }
    drop((plain, marked, follower));

    // A writer refreshing between batches: batches of BUDGET events, each to a different
    // shipment, then a refresh by BUDGET (which catches up).
    let (mut applies, mut refreshes) = (Vec::new(), Vec::new());
    for round in 0..64 {
        let evs = failures(round * 4099, BUDGET as u64);
        applies.push(apply_all(&mut state, &evs));
        let t = Instant::now();
        assert!(fresh.refresh(&mut state, &sources, BUDGET));
        refreshes.push(t.elapsed());
    }
    applies.sort();
    refreshes.sort();
    println!(
        "steady: a batch of {BUDGET} events to distinct shipments applies in {:.2} ms (best), \
         {:.2} ms (median); the refresh of those {BUDGET} shipments takes {:.2} ms (best), \
         {:.2} ms (median), {:.2} ms (max)",
        ms(applies[0]),
        ms(applies[32]),
        ms(refreshes[0]),
        ms(refreshes[32]),
        ms(refreshes[63])
    );
    assert_eq!(fresh.digest(&state), Some(state.digest(&sources)));
}
