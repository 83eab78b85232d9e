//! The outbox: the effect log (append, reopen, torn tails, damage, truncation), cursors, and the
//! lanes driven in simulated time (order, classes, retries, the breaker, dead letters, redrive,
//! the durable bound, bounded batches, retention). No test reads the wall clock.

mod outbox_support;

use outbox_support::*;
use std::fs;
use std::path::{Path, PathBuf};
use waybill_core::effect::{Class, Downstream, EffectType};
use waybill_core::outbox::inspect::{self, EffectState};
use waybill_core::outbox::{
    BreakerState, EffectLog, EffectLogOptions, FRAME_HEADER_BYTES, LaneConfig, LaneId, LogReader,
    NEVER, Outbox, OutboxError, RetryPolicy, SEGMENT_HEADER_BYTES, SinkError, effects_dir,
    read_position, segment_file_name,
};

const R: EffectType = EffectType::RouteReplanRequested;
const B: EffectType = EffectType::BillingDeliveryConfirmed;
const E: EffectType = EffectType::ErpInvoiceReady;
const A: EffectType = EffectType::AlertAnomaly;
const G: EffectType = EffectType::AlertGap;
const L: EffectType = EffectType::AlertLeakage;

const ROUTE: LaneId = LaneId {
    sink: Downstream::Route,
    class: Class::Urgent,
};
const OPS_URGENT: LaneId = LaneId {
    sink: Downstream::Ops,
    class: Class::Urgent,
};
const OPS_FINANCIAL: LaneId = LaneId {
    sink: Downstream::Ops,
    class: Class::Financial,
};
const BILLING: LaneId = LaneId {
    sink: Downstream::Billing,
    class: Class::Financial,
};

/// A lane configuration for tests: no jitter, backoff 1 ms doubling to 64 ms.
fn cfg(
    batch_max: usize,
    max_attempts: u32,
    failure_threshold: u32,
    cool_down_us: i64,
) -> LaneConfig {
    LaneConfig {
        batch_max,
        batch_max_bytes: 1 << 20,
        retry: RetryPolicy {
            max_attempts,
            backoff_initial_us: 1_000,
            backoff_max_us: 64_000,
            jitter_ppm: 0,
        },
        failure_threshold,
        cool_down_us,
        read_budget_frames: 4096,
        persist_interval_us: 1_000_000,
    }
}

fn open(j: &Path, c: LaneConfig) -> Outbox {
    Outbox::open_with(j, std::array::from_fn(|_| c.clone()), 7).unwrap()
}

fn transient(msg: &str) -> SinkError {
    SinkError::transient(msg)
}

fn segments(j: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(effects_dir(j))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "efx"))
        .collect();
    v.sort();
    v
}

/// The seqs the log still holds, from its first segment on.
fn all_seqs(j: &Path) -> Vec<u64> {
    let mut r = LogReader::open_first(&effects_dir(j)).unwrap();
    let mut out = Vec::new();
    while let Some(e) = r.next_effect(u64::MAX).unwrap() {
        out.push(e.seq);
    }
    out
}

fn frame_len(e: &waybill_core::effect::EffectOut) -> u64 {
    (FRAME_HEADER_BYTES + e.json.len()) as u64
}

// ---------------------------------------------------------------- the effect log

#[test]
fn the_log_appends_across_segments_and_reads_back_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let opts = EffectLogOptions {
        segment_bytes: 4096,
    };
    let mut log = EffectLog::open_with(j, opts).unwrap();
    let types: Vec<EffectType> = (0..120).map(|i| EffectType::ALL[i % 8]).collect();
    let written = append(&mut log, &types);
    assert_eq!(log.last_seq(), 120);
    drop(log);
    assert!(segments(j).len() > 5, "{:?}", segments(j));
    for s in segments(j) {
        assert!(fs::metadata(&s).unwrap().len() <= 4096, "{}", s.display());
    }
    let log = EffectLog::open_with(j, opts).unwrap();
    assert_eq!((log.last_seq(), log.last_cause_lsn()), (120, 120));
    assert!(log.torn_tail().is_none());
    let back: Vec<_> = log.iter_from(1).map(Result::unwrap).collect();
    assert_eq!(back, written);
    for seq in [1, 33, 120] {
        assert_eq!(
            log.read(seq).unwrap().as_ref(),
            Some(&written[seq as usize - 1])
        );
    }
    assert_eq!(log.read(121).unwrap(), None);
    assert_eq!(log.iter_from(118).count(), 3);
}

#[test]
#[should_panic(expected = "seq order")]
fn an_effect_out_of_seq_order_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = EffectLog::open(tmp.path()).unwrap();
    log.append(&effect(2, 1, R)).unwrap();
}

#[test]
fn a_torn_last_frame_is_cut_and_the_frames_before_it_stay() {
    let last_len = frame_len(&effect(5, 5, A));
    let cuts = [
        1,
        4,
        7,
        30,
        FRAME_HEADER_BYTES as u64,
        FRAME_HEADER_BYTES as u64 + 10,
        last_len - 1,
    ];
    for cut in cuts {
        let tmp = tempfile::tempdir().unwrap();
        let j = tmp.path();
        let written = write_log(j, &[R, B, E, L, A]);
        let seg = &segments(j)[0];
        let len = fs::metadata(seg).unwrap().len();
        let last_at = len - last_len;
        fs::OpenOptions::new()
            .write(true)
            .open(seg)
            .unwrap()
            .set_len(last_at + cut)
            .unwrap();
        let mut log = EffectLog::open(j).unwrap();
        assert_eq!(log.last_seq(), 4, "cut {cut}");
        let torn = log.torn_tail().expect("a torn tail").clone();
        assert_eq!((torn.offset, torn.bytes_cut), (last_at, cut), "cut {cut}");
        assert_eq!(fs::metadata(seg).unwrap().len(), last_at);
        let back: Vec<_> = log.iter_from(1).map(Result::unwrap).collect();
        assert_eq!(back, written[..4]);
        log.append(&written[4]).unwrap();
        drop(log);
        assert_eq!(EffectLog::open(j).unwrap().last_seq(), 5);
    }
}

#[test]
fn a_zeroed_or_garbled_last_frame_is_a_torn_tail() {
    type Tear = fn(&Path, u64, u64);
    let tears: [(&str, Tear); 2] = [
        ("zeros after the last frame", |seg, len, _| {
            let f = fs::OpenOptions::new().write(true).open(seg).unwrap();
            f.set_len(len + 8192).unwrap();
        }),
        ("the last frame's bytes garbled", |seg, len, last_len| {
            let mut b = fs::read(seg).unwrap();
            b[(len - last_len / 2) as usize] ^= 0x55;
            fs::write(seg, b).unwrap();
        }),
    ];
    for (what, tear) in tears {
        let tmp = tempfile::tempdir().unwrap();
        let j = tmp.path();
        let written = write_log(j, &[R, B, E]);
        let seg = &segments(j)[0];
        let len = fs::metadata(seg).unwrap().len();
        tear(seg, len, frame_len(&written[2]));
        let log = EffectLog::open(j).unwrap();
        let kept = if what.starts_with("zeros") { 3 } else { 2 };
        assert_eq!(log.last_seq(), kept, "{what}");
        assert!(log.torn_tail().is_some(), "{what}");
    }
}

#[test]
fn damage_before_the_last_frame_is_an_error_naming_file_and_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let written = write_log(j, &[R, B, E, L, A, G]);
    let seg = segments(j)[0].clone();
    let at =
        |k: usize| SEGMENT_HEADER_BYTES as u64 + written[..k].iter().map(frame_len).sum::<u64>();
    let clean = fs::read(&seg).unwrap();
    // (frame damaged, byte within it)
    for (k, byte) in [(0usize, 20u64), (2, 60), (4, 9), (3, 4)] {
        let mut b = clean.clone();
        b[(at(k) + byte) as usize] ^= 0x01;
        fs::write(&seg, &b).unwrap();
        match EffectLog::open(j) {
            Err(OutboxError::Corrupt { path, offset, what }) => {
                assert_eq!(path, seg, "{what}");
                assert_eq!(offset, at(k), "frame {k} byte {byte}: {what}");
            }
            Err(e) => panic!("frame {k}: {e}"),
            Ok(_) => panic!("frame {k} byte {byte}: damage not found"),
        }
        assert_eq!(fs::read(&seg).unwrap(), b, "nothing is changed");
    }
    fs::write(&seg, &clean).unwrap();
    assert_eq!(EffectLog::open(j).unwrap().last_seq(), 6);
}

#[test]
fn damage_in_a_sealed_segment_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let opts = EffectLogOptions {
        segment_bytes: 4096,
    };
    let mut log = EffectLog::open_with(j, opts).unwrap();
    append(&mut log, &[A; 80]);
    drop(log);
    let first = segments(j)[0].clone();
    let mut b = fs::read(&first).unwrap();
    let n = b.len();
    b[n - 3] ^= 0x10; // the last frame of a sealed segment
    fs::write(&first, b).unwrap();
    let e = EffectLog::open_with(j, opts).err().expect("damage");
    assert!(e.to_string().contains(&segment_file_name(1)), "{e}");
}

#[test]
fn truncate_after_lsn_drops_exactly_the_effects_of_later_records() {
    // Three effects per record: cause LSNs 1,1,1,2,2,2,...,20,20,20.
    for lsn in [0u64, 1, 7, 13, 19, 20, 99] {
        let tmp = tempfile::tempdir().unwrap();
        let j = tmp.path();
        let opts = EffectLogOptions {
            segment_bytes: 4096,
        };
        let mut log = EffectLog::open_with(j, opts).unwrap();
        for seq in 1..=60u64 {
            log.append(&effect(
                seq,
                seq.div_ceil(3),
                EffectType::ALL[seq as usize % 8],
            ))
            .unwrap();
        }
        let keep = 3 * lsn.min(20);
        let dropped = log.truncate_after_lsn(lsn).unwrap();
        assert_eq!(dropped, 60 - keep, "lsn {lsn}");
        assert_eq!(log.last_seq(), keep);
        assert_eq!(log.last_cause_lsn(), lsn.min(20));
        // Appending goes on right after the cut, and reopening agrees.
        log.append(&effect(keep + 1, lsn.min(20) + 1, R)).unwrap();
        drop(log);
        let log = EffectLog::open_with(j, opts).unwrap();
        assert_eq!(log.last_seq(), keep + 1, "lsn {lsn}");
        let seqs: Vec<u64> = log.iter_from(1).map(|e| e.unwrap().seq).collect();
        assert_eq!(seqs, (1..=keep + 1).collect::<Vec<_>>());
    }
}

// ---------------------------------------------------------------- lanes

#[test]
fn each_lane_gets_its_effects_in_seq_order_in_bounded_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let types: Vec<EffectType> = (0..200u64)
        .map(|i| EffectType::ALL[(i * 7 % 11 % 8) as usize])
        .collect();
    let written = write_log(j, &types);
    let mut c = cfg(7, 5, 5, 1_000);
    c.batch_max_bytes = 1500;
    let mut ob = open(j, c);
    for lane in LaneId::all() {
        let mut sink = Script::ok();
        run(&mut ob, lane, 0, 10_000_000, 1_000, &mut sink);
        let want: Vec<u64> = written
            .iter()
            .filter(|e| LaneId::of(e.effect_type) == lane)
            .map(|e| e.seq)
            .collect();
        assert_eq!(sink.delivered(), want, "{lane}");
        let seen = sink.seen.lock().unwrap();
        for (call, bytes) in seen.calls.iter().zip(&seen.call_bytes) {
            assert!(call.len() <= 7, "{lane}: {call:?}");
            assert!(*bytes <= 1500 || call.len() == 1, "{lane}: {bytes} bytes");
        }
        let s = ob.lane(lane).status(0);
        assert_eq!((s.pending, s.in_flight, s.dead), (0, 0, 0), "{lane}");
        assert!(s.idle && s.pending_exact, "{lane}");
        if LaneId::in_use().contains(&lane) {
            let why = "every lane's cursor passes the other lanes' effects";
            assert_eq!(s.cursor_seq, 200, "{lane}: {why}");
        } else {
            assert!(seen.calls.is_empty(), "no effect type travels in {lane}");
        }
    }
}

#[test]
fn urgent_effects_never_wait_behind_financial_ones_of_the_same_sink() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let written = write_log(j, &[L, A, L, G, L, A, A, L]);
    let mut ob = open(j, cfg(2, 5, 3, 1_000_000));
    let mut financial = Script::new(|_, _| Err(transient("ledger down")));
    let mut urgent = Script::ok();
    // Interleaved polls in simulated time, as one driver of both lanes would.
    let mut now = 0;
    for _ in 0..50 {
        let a = settle(&mut ob, OPS_FINANCIAL, now, 100, &mut financial);
        let b = settle(&mut ob, OPS_URGENT, now, 100, &mut urgent);
        now = a.min(b).min(now + 10_000_000);
    }
    let urgent_seqs: Vec<u64> = written
        .iter()
        .filter(|e| e.effect_type != L)
        .map(|e| e.seq)
        .collect();
    assert_eq!(urgent.delivered(), urgent_seqs);
    assert!(financial.delivered().is_empty());
    let f = ob.lane(OPS_FINANCIAL).status(now);
    assert_eq!(f.pending, 4);
    assert_eq!(f.dead, 0, "an outage dead-letters nothing");
    assert!(f.last_error.as_deref().unwrap().contains("ledger down"));
    assert_eq!(
        ob.lane(OPS_URGENT).status(now).breaker,
        BreakerState::Closed
    );
}

#[test]
fn the_breaker_opens_probes_after_the_cool_down_and_closes_on_success() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[R; 6]);
    let cool = 5_000_000;
    let mut ob = open(j, cfg(10, 10, 3, cool));
    let mut sink = Script::new(|_, _| Err(transient("503")));
    // Three failed calls (backoff 1 ms, 2 ms between them) open it.
    let t = run(&mut ob, ROUTE, 0, cool / 2, 10, &mut sink);
    let s = ob.lane(ROUTE).status(t);
    assert_eq!(s.breaker, BreakerState::Open);
    assert_eq!((sink.calls().len(), s.failures, s.trips), (3, 3, 1));
    assert_eq!(
        s.head_attempts, 0,
        "the run of failures that opened it is given back"
    );
    let open_until = s.open_until_us.unwrap();
    assert_eq!(open_until, 3_000 + cool);
    // Nothing goes out before the cool-down ends.
    assert_eq!(
        settle(&mut ob, ROUTE, open_until - 1, 10, &mut sink),
        open_until
    );
    assert_eq!(sink.calls().len(), 3);
    assert_eq!(
        ob.lane(ROUTE).breaker_state(open_until),
        BreakerState::HalfOpen
    );
    // A failed probe (one effect) opens it again and uses no attempt.
    let next = settle(&mut ob, ROUTE, open_until, 10, &mut sink);
    assert_eq!(next, open_until + cool);
    assert_eq!(sink.calls().last().unwrap(), &vec![1]);
    assert_eq!(ob.lane(ROUTE).status(next - 1).head_attempts, 0);
    // A successful probe closes it; the rest goes out as one batch.
    sink.set(|_, _| Ok(()));
    settle(&mut ob, ROUTE, next, 10, &mut sink);
    let calls = sink.calls();
    assert_eq!(&calls[calls.len() - 2..], [vec![1], vec![2, 3, 4, 5, 6]]);
    let s = ob.lane(ROUTE).status(next);
    assert_eq!(
        (s.breaker, s.delivered, s.pending),
        (BreakerState::Closed, 6, 0)
    );
}

#[test]
fn a_day_long_outage_dead_letters_nothing_and_every_effect_catches_up() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let written = write_log(j, &[B; 40]);
    let mut ob = open(j, cfg(8, 4, 3, 60_000_000));
    let day = 86_400_000_000;
    let mut sink = Script::new(move |_, _| Err(transient("connection refused")));
    let t = run(&mut ob, BILLING, 0, day, 100, &mut sink);
    let s = ob.lane(BILLING).status(t);
    assert_eq!((s.dead, s.delivered, s.pending), (0, 0, 40));
    assert!(
        s.calls < 1_500,
        "about one probe per cool-down: {}",
        s.calls
    );
    assert!(s.trips == 1 && s.breaker == BreakerState::Open);
    sink.set(|_, _| Ok(()));
    run(&mut ob, BILLING, t + 60_000_000, NEVER - 1, 100, &mut sink);
    assert_eq!(
        sink.delivered(),
        written.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
    assert_eq!(ob.lane(BILLING).status(0).dead, 0);
}

#[test]
fn an_effect_failing_its_last_attempt_is_dead_lettered_with_its_last_error() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[R, R, R, R]);
    // A threshold above max_attempts: the effect gives out before the breaker opens.
    let mut ob = open(j, cfg(1, 3, 100, 1_000));
    let mut sink = Script::new(|call, batch| match batch[0].seq {
        2 => Err(transient(&format!("HTTP 500 on call {call}"))),
        _ => Ok(()),
    });
    let t = run(&mut ob, ROUTE, 0, 10_000_000, 10, &mut sink);
    assert_eq!(sink.delivered(), [1, 3, 4]);
    assert_eq!(sink.calls().iter().filter(|c| c[0] == 2).count(), 3);
    let s = ob.lane(ROUTE).status(t);
    assert_eq!((s.dead, s.cursor_seq, s.pending), (1, 4, 0));
    let dead: Vec<_> = inspect::dead_letters(ob.dir(), ROUTE)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(dead.len(), 1);
    let (d, state) = &dead[0];
    assert_eq!((d.seq, d.attempts, *state), (2, 3, EffectState::Dead));
    assert_eq!(d.error, "HTTP 500 on call 3");
    assert_eq!(d.key, key(2));
}

#[test]
fn a_permanent_refusal_dead_letters_at_once_and_a_batch_is_searched_for_the_culprit() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[A, A, A, A, A, A]);
    let mut ob = open(j, cfg(10, 5, 3, 1_000));
    let mut sink = Script::new(
        |_, batch| match batch.iter().any(|e| e.seq == 3 || e.seq == 5) {
            true => Err(SinkError::permanent("HTTP 422: unknown shipment")),
            false => Ok(()),
        },
    );
    run(&mut ob, OPS_URGENT, 0, 1_000_000, 10, &mut sink);
    assert_eq!(
        sink.calls(),
        [
            vec![1, 2, 3, 4, 5, 6],
            vec![1],
            vec![2],
            vec![3],
            vec![4],
            vec![5],
            vec![6]
        ]
    );
    assert_eq!(sink.delivered(), [1, 2, 4, 6]);
    let dead: Vec<(u64, u32)> = inspect::dead_letters(ob.dir(), OPS_URGENT)
        .unwrap()
        .map(|r| r.map(|(d, _)| (d.seq, d.attempts)).unwrap())
        .collect();
    assert_eq!(dead, [(3, 1), (5, 1)]);
    let s = ob.lane(OPS_URGENT).status(0);
    assert_eq!(
        (s.dead, s.cursor_seq, s.breaker),
        (2, 6, BreakerState::Closed)
    );
}

#[test]
fn redrive_delivers_dead_letters_before_the_lane_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let mut log = EffectLog::open(j).unwrap();
    append(&mut log, &[R, R, R]);
    let mut ob = open(j, cfg(10, 1, 100, 1_000));
    let mut sink = Script::new(|_, b| match b.len() == 1 && b[0].seq != 2 {
        true => Ok(()),
        false => Err(SinkError::permanent("400")),
    });
    run(&mut ob, ROUTE, 0, 1_000_000, 100, &mut sink);
    assert_eq!(ob.lane(ROUTE).status(0).dead, 1);
    append(&mut log, &[R, R]);
    assert_eq!(ob.redrive(Downstream::Route).unwrap(), 1);
    let s = ob.lane(ROUTE).status(0);
    assert_eq!((s.dead, s.redriving), (0, 1));
    let states: Vec<_> = inspect::dead_letters(ob.dir(), ROUTE)
        .unwrap()
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(states, [EffectState::Redriving]);
    sink.set(|_, _| Ok(()));
    run(&mut ob, ROUTE, 2_000_000, 3_000_000, 100, &mut sink);
    assert_eq!(
        sink.delivered(),
        [1, 3, 2, 4, 5],
        "the redriven effect before the lane goes on"
    );
    let s = ob.lane(ROUTE).status(0);
    assert_eq!((s.dead, s.redriving, s.cursor_seq), (0, 0, 5));
    assert_eq!(inspect::dead_letters(ob.dir(), ROUTE).unwrap().count(), 0);
    let left: Vec<_> = fs::read_dir(ob.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !left
            .iter()
            .any(|n| n.to_string_lossy().starts_with("redrive-")),
        "{left:?}"
    );
}

#[test]
fn only_effects_of_durable_records_leave() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[R, A, R, A, R, A, R, A]);
    let mut ob = open(j, cfg(100, 5, 5, 1_000));
    let mut route = Script::ok();
    let mut ops = Script::ok();
    for (durable, want_route, want_ops) in [
        (0u64, vec![], vec![]),
        (4, vec![1, 3], vec![2, 4]),
        (5, vec![1, 3, 5], vec![2, 4]),
        (8, vec![1, 3, 5, 7], vec![2, 4, 6, 8]),
    ] {
        run(&mut ob, ROUTE, 0, 1_000, durable, &mut route);
        run(&mut ob, OPS_URGENT, 0, 1_000, durable, &mut ops);
        assert_eq!(route.delivered(), want_route, "durable {durable}");
        assert_eq!(ops.delivered(), want_ops, "durable {durable}");
        // No cursor passes an effect whose record is not durable, not even another lane's.
        for lane in LaneId::all() {
            assert!(
                ob.lane(lane).position().cursor_seq <= durable,
                "{lane} at {durable}"
            );
        }
    }
}

#[test]
fn cursors_survive_a_reopen_and_a_lost_cursor_write_means_redelivery_never_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[R; 10]);
    let mut c = cfg(3, 5, 5, 1_000);
    c.persist_interval_us = 10_000_000;
    let mut ob = open(j, c.clone());
    let mut sink = Script::new(|call, _| {
        if call < 2 {
            Ok(())
        } else {
            Err(transient("x"))
        }
    });
    run(&mut ob, ROUTE, 0, 1_000_000, 100, &mut sink);
    assert_eq!(sink.delivered(), [1, 2, 3, 4, 5, 6]);
    ob.persist(2_000_000).unwrap();
    drop(ob);
    assert_eq!(read_position(&effects_dir(j), ROUTE).unwrap().cursor_seq, 6);
    // Reopened, it goes on from 7; the first move of the cursor is written at once, the next
    // one waits for the persist interval, and a crash comes first.
    let mut ob = open(j, c.clone());
    let mut sink = Script::ok();
    for _ in 0..2 {
        ob.lane_mut(ROUTE).poll(0, 100, Some(&mut sink)).unwrap();
    }
    assert_eq!(sink.delivered(), [7, 8, 9, 10]);
    assert_eq!(ob.lane(ROUTE).persisted_position().cursor_seq, 9);
    drop(ob); // a crash: no stop, no final write
    let mut ob = open(j, c);
    let mut again = Script::ok();
    run(&mut ob, ROUTE, 0, 1_000_000, 100, &mut again);
    assert_eq!(
        again.delivered(),
        [10],
        "from the persisted cursor on: at least once"
    );
}

#[test]
fn a_dead_letter_written_before_a_crash_moves_the_cursor_on_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[E, E, E]);
    let erp = LaneId::new(Downstream::Erp, Class::Financial);
    let mut c = cfg(1, 5, 5, 1_000);
    c.persist_interval_us = i64::MAX / 4; // the cursor is written once, at the first change
    let mut ob = open(j, c.clone());
    let mut sink = Script::new(|_, _| Err(SinkError::permanent("410 gone")));
    run(&mut ob, erp, 0, 1_000_000, 10, &mut sink);
    assert_eq!(ob.lane(erp).status(0).dead, 3);
    assert!(ob.lane(erp).persisted_position().cursor_seq < 3);
    drop(ob); // crash before the cursor was written
    let mut ob = open(j, c);
    assert_eq!(
        ob.lane(erp).position().cursor_seq,
        3,
        "the dead letters prove the position"
    );
    let mut sink = Script::ok();
    run(&mut ob, erp, 0, 1_000_000, 10, &mut sink);
    assert!(
        sink.calls().is_empty(),
        "nothing dead-lettered is delivered again"
    );
    assert_eq!(inspect::dead_letters(ob.dir(), erp).unwrap().count(), 3);
}

#[test]
fn retention_deletes_only_segments_every_lane_has_passed() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let opts = EffectLogOptions {
        segment_bytes: 4096,
    };
    let mut log = EffectLog::open_with(j, opts).unwrap();
    let types: Vec<EffectType> = (0..150).map(|i| [R, A, B][i % 3]).collect();
    append(&mut log, &types);
    let before = segments(j);
    assert!(before.len() >= 4);
    let mut ob = open(j, cfg(50, 5, 5, 1_000));
    // Route and ops delivered, billing not: nothing may go.
    for lane in LaneId::all().into_iter().filter(|l| *l != BILLING) {
        run(&mut ob, lane, 0, 1_000_000, 1_000, &mut Script::ok());
    }
    ob.persist(1).unwrap();
    assert!(ob.retain().unwrap().segments.is_empty());
    assert_eq!(segments(j), before);
    // Billing delivers the first 20 of its 50: the segments wholly below its cursor go.
    let mut sink = Script::new(|call, _| {
        if call < 4 {
            Ok(())
        } else {
            Err(transient("x"))
        }
    });
    let mut c = cfg(5, 5, 5, 1_000);
    c.persist_interval_us = 0;
    drop(ob);
    let mut ob = open(j, c);
    run(&mut ob, BILLING, 0, 1, 1_000, &mut sink);
    ob.persist(2).unwrap();
    let billing_cursor = ob.lane(BILLING).persisted_position().cursor_seq;
    assert_eq!(
        billing_cursor, 62,
        "its 20th effect is seq 60, its 21st seq 63"
    );
    let gone = ob.retain().unwrap();
    assert!(!gone.segments.is_empty());
    let seqs = all_seqs(j);
    assert!(
        seqs[0] <= billing_cursor + 1,
        "nothing above the cursor is gone"
    );
    assert_eq!(*seqs.last().unwrap(), 150);
    // Every lane done: all but the writer's segment go, and the writer goes on.
    run(&mut ob, BILLING, 10, 10_000_000, 1_000, &mut Script::ok());
    ob.persist(20_000_000).unwrap();
    ob.retain().unwrap();
    assert_eq!(segments(j).len(), 1);
    append(&mut log, &[R]);
    assert_eq!(log.last_seq(), 151);
}

#[test]
fn a_redriven_letter_that_fails_again_is_dead_once_and_a_crash_mid_redrive_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[A; 6]);
    let mut c = cfg(2, 1, 100, 1_000);
    c.persist_interval_us = 10_000_000;
    let mut ob = open(j, c.clone());
    run(
        &mut ob,
        OPS_URGENT,
        0,
        1_000,
        10,
        &mut Script::new(|_, b| match b.len() {
            1 if b[0].seq % 2 == 1 => Ok(()),
            _ => Err(SinkError::permanent("no")),
        }),
    );
    assert_eq!(ob.lane(OPS_URGENT).status(0).dead, 3, "2, 4 and 6");
    assert_eq!(ob.redrive(Downstream::Ops).unwrap(), 3);
    // Redrive: 2 is delivered, 4 fails for good again, then a crash before 6 (and before the
    // cursor is written).
    let mut sink = Script::new(|_, b| match b.iter().any(|e| e.seq == 4) {
        true => Err(SinkError::permanent("still no")),
        false => Ok(()),
    });
    for _ in 0..3 {
        ob.lane_mut(OPS_URGENT)
            .poll(1, 10, Some(&mut sink))
            .unwrap();
    }
    assert_eq!(sink.delivered(), [2]);
    drop(ob);
    let mut ob = open(j, c);
    let s = ob.lane(OPS_URGENT).status(0);
    assert_eq!(
        (s.dead, s.redriving),
        (1, 1),
        "4 dead again, 6 still to redrive"
    );
    let mut sink = Script::ok();
    run(&mut ob, OPS_URGENT, 0, 1_000, 10, &mut sink);
    assert_eq!(sink.delivered(), [6]);
    let dead: Vec<_> = inspect::dead_letters(ob.dir(), OPS_URGENT)
        .unwrap()
        .map(|r| r.map(|(d, st)| (d.seq, d.error, st)).unwrap())
        .collect();
    assert_eq!(dead, [(4, "still no".to_owned(), EffectState::Dead)]);
}

#[test]
fn a_lane_without_a_sink_keeps_its_effects_pending_and_steps_over_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    write_log(j, &[R, R, B, R, B]);
    let mut ob = open(j, cfg(10, 5, 5, 1_000));
    assert_eq!(ob.lane_mut(BILLING).poll(0, 10, None).unwrap(), NEVER);
    let s = ob.lane(BILLING).status(0);
    assert!(s.parked && !s.idle);
    assert_eq!(
        (s.cursor_seq, s.pending),
        (2, 2),
        "up to its own first effect"
    );
    let erp = LaneId::new(Downstream::Erp, Class::Financial);
    ob.lane_mut(erp).poll(0, 10, None).unwrap();
    assert_eq!(
        ob.lane(erp).status(0).cursor_seq,
        5,
        "no effects of its own: it keeps up"
    );
    assert!(ob.lane(erp).status(0).idle);
}

#[test]
fn the_threaded_delivery_delivers_redrives_and_persists_on_stop() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;
    use std::time::{Duration, Instant};
    use waybill_core::outbox::{
        Delivery, DeliveryOptions, Sink, SinkConfig, SinkKind, SinksConfig,
    };
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let mut log = EffectLog::open(j).unwrap();
    append(&mut log, &[R, A, B, R, A, L, R]);
    let durable = Arc::new(AtomicU64::new(3));
    let mut config = SinksConfig::default();
    *config.slot_mut(Downstream::Route) = Some(SinkConfig {
        kind: SinkKind::Stdout,
        ..SinkConfig::default()
    });
    let fixed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let receiver_fixed = Arc::clone(&fixed);
    let route = Script::new(move |_, b| {
        match b[0].seq == 1 && !receiver_fixed.load(std::sync::atomic::Ordering::Acquire) {
            true => Err(SinkError::permanent("bad")),
            false => Ok(()),
        }
    });
    let ops = Script::ok();
    let (route_seen, ops_seen) = (Arc::clone(&route.seen), Arc::clone(&ops.seen));
    let mut sinks: Vec<Option<Box<dyn Sink>>> = (0..8).map(|_| None).collect();
    sinks[ROUTE.index()] = Some(Box::new(route));
    sinks[OPS_URGENT.index()] = Some(Box::new(ops));
    let opts = DeliveryOptions {
        idle_poll_us: 20_000,
        ..DeliveryOptions::default()
    };
    let d = Delivery::start_with(
        j,
        &config,
        sinks,
        waybill_core::outbox::durable_from_atomic(Arc::clone(&durable)),
        opts,
    )
    .unwrap();
    // A guard against a hang only: no result depends on it.
    let guard = || Instant::now() + Duration::from_secs(60);
    let settled = |s: &[waybill_core::outbox::LaneStatus]| s.iter().all(|l| l.idle || l.parked);
    assert!(d.wait_until(guard(), |s| settled(s) && s[ROUTE.index()].dead == 1));
    assert_eq!(ops_seen.lock().unwrap().delivered, [2]);
    assert!(
        route_seen.lock().unwrap().delivered.is_empty(),
        "4 is above the durable LSN, 3"
    );
    // The durable LSN rises: the rest goes out; then a redrive through the running delivery.
    durable.store(7, std::sync::atomic::Ordering::Release);
    d.wake();
    // Each lane sees the new durable LSN on its own wake-up: wait for both lanes' outcome, not
    // for a moment when both look idle (one may not have looked yet).
    assert!(d.wait_until(guard(), |s| settled(s)
        && s[ROUTE.index()].delivered == 2
        && s[OPS_URGENT.index()].delivered == 2));
    fixed.store(true, std::sync::atomic::Ordering::Release);
    assert_eq!(
        d.redrive(Downstream::Route, Duration::from_secs(60))
            .unwrap(),
        1
    );
    assert!(d.wait_until(guard(), |s| s[ROUTE.index()].delivered == 3
        && s[ROUTE.index()].dead == 0));
    let last = d.stop();
    assert_eq!(last[ROUTE.index()].cursor_seq, 7);
    assert_eq!(route_seen.lock().unwrap().delivered, [4, 7, 1]);
    assert_eq!(ops_seen.lock().unwrap().delivered, [2, 5]);
    for lane in [ROUTE, OPS_URGENT] {
        assert_eq!(
            read_position(&effects_dir(j), lane).unwrap().cursor_seq,
            7,
            "{lane}"
        );
    }
    let billing = read_position(&effects_dir(j), BILLING).unwrap();
    assert_eq!(billing.cursor_seq, 2, "parked at its own effect");
    let (s, _) = inspect::read_status(&effects_dir(j), ROUTE).expect("a status file");
    assert_eq!((s.delivered, s.breaker), (3, BreakerState::Closed));
}

// ---------------------------------------------------------------- configuration

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    sinks: waybill_core::outbox::SinksConfig,
}

fn parse(text: &str) -> Result<waybill_core::outbox::SinksConfig, String> {
    let f: ConfigFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    f.sinks.validate().map_err(|e| e.to_string())?;
    Ok(f.sinks)
}

#[test]
fn the_example_configuration_is_valid_and_every_key_has_its_documented_default() {
    use waybill_core::outbox::{DurationUs, SinkConfig, SinkKind};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/sinks.toml");
    let c = parse(&fs::read_to_string(path).unwrap()).unwrap();
    let route = c.get(Downstream::Route).unwrap();
    assert_eq!((route.kind, route.batch_max), (SinkKind::Http, 50));
    assert_eq!(route.retry.backoff_max, DurationUs::secs(120));
    assert_eq!(c.get(Downstream::Billing).unwrap().kind, SinkKind::File);
    assert!(
        c.get(Downstream::Erp).is_none(),
        "kind none is not delivered to"
    );
    let minimal = parse("[sinks.ops]\nkind = \"stdout\"\n").unwrap();
    let ops = minimal.get(Downstream::Ops).unwrap();
    let want = SinkConfig {
        kind: SinkKind::Stdout,
        ..SinkConfig::default()
    };
    assert_eq!(ops, &want);
    assert_eq!(
        (
            ops.timeout,
            ops.connect_timeout,
            ops.batch_max,
            ops.batch_max_bytes,
            ops.fsync
        ),
        (
            DurationUs::secs(10),
            DurationUs::secs(2),
            100,
            1 << 20,
            true
        )
    );
    assert_eq!(
        (
            ops.retry.max_attempts,
            ops.retry.backoff_initial,
            ops.retry.backoff_max,
            ops.retry.jitter
        ),
        (10, DurationUs::ms(250), DurationUs::secs(300), 0.2)
    );
    assert_eq!(
        (ops.breaker.failure_threshold, ops.breaker.cool_down),
        (5, DurationUs::secs(30))
    );
    assert!(parse("").unwrap().get(Downstream::Route).is_none());
}

#[test]
fn configuration_errors_name_the_key() {
    let cases = [
        (
            "[sinks.route]\nkind = \"file\"\npath = \"x\"\nbatchmax = 1\n",
            "batchmax",
        ),
        ("[sinks.warehouse]\nkind = \"stdout\"\n", "warehouse"),
        (
            "[sinks.route]\nkind = \"carrier-pigeon\"\n",
            "carrier-pigeon",
        ),
        (
            "[sinks.route]\nkind = \"stdout\"\n[sinks.route.retry]\nbackoff_max = \"soon\"\n",
            "not a duration",
        ),
        (
            "[sinks.route]\nkind = \"stdout\"\n[sinks.route.breaker]\nthreshold = 3\n",
            "threshold",
        ),
        (
            "[sinks.ops]\nkind = \"http\"\n",
            "sinks.ops.url is required",
        ),
        (
            "[sinks.ops]\nkind = \"stdout\"\nbatch_max = 0\n",
            "sinks.ops.batch_max = 0",
        ),
        (
            "[sinks.ops]\nkind = \"stdout\"\n[sinks.ops.retry]\nmax_attempts = 0\n",
            "sinks.ops.retry.max_attempts",
        ),
        (
            "[sinks.erp]\nkind = \"http\"\nurl = \"https://erp/x\"\n",
            "https is not supported",
        ),
        (
            "[sinks.erp]\nkind = \"stdout\"\ntimeout = \"0s\"\n",
            "sinks.erp.timeout",
        ),
    ];
    for (text, words) in cases {
        let e = parse(text).expect_err(text);
        assert!(e.contains(words), "{text:?}: {e}");
    }
}

#[test]
fn a_lane_reads_what_a_reopened_writer_wrote_after_cutting_effects_of_lost_records() {
    let tmp = tempfile::tempdir().unwrap();
    let j = tmp.path();
    let opts = EffectLogOptions {
        segment_bytes: 4096,
    };
    let mut log = EffectLog::open_with(j, opts).unwrap();
    while segments(j).len() < 3 {
        append(&mut log, &[R]);
    }
    append(&mut log, &[R, R]);
    let last = segments(j).pop().unwrap();
    let name = last.file_name().unwrap().to_str().unwrap();
    let f: u64 = name["log-".len()..name.len() - ".efx".len()]
        .parse()
        .unwrap();
    // Durable up to the record before the last segment's first effect: the lane waits there,
    // with that segment open.
    let mut ob = open(j, cfg(100, 5, 5, 1_000));
    let mut sink = Script::ok();
    run(&mut ob, ROUTE, 0, 1_000, f - 1, &mut sink);
    assert_eq!(sink.delivered().len() as u64, f - 1);
    // The journal lost the records from f on: the writer cuts their effects when it reopens
    // and derives others, with the same seqs.
    drop(log);
    let mut log = EffectLog::open_with(j, opts).unwrap();
    let before = log.last_seq();
    assert_eq!(log.truncate_after_lsn(f - 1).unwrap(), before - (f - 1));
    assert!(
        !last.exists(),
        "the last segment held only effects of lost records"
    );
    let fresh: Vec<_> = (f..f + 3).map(|seq| effect_padded(seq, f, A, 40)).collect();
    for e in &fresh {
        log.append(e).unwrap();
    }
    log.sync().unwrap();
    run(&mut ob, ROUTE, 2_000, 3_000, f + 10, &mut sink);
    assert_eq!(
        sink.delivered().len() as u64,
        f - 1,
        "the effects that were cut (route's) are not read from the deleted file"
    );
    let mut ops = Script::ok();
    run(&mut ob, OPS_URGENT, 0, 1_000, f + 10, &mut ops);
    assert_eq!(ops.delivered(), (f..f + 3).collect::<Vec<_>>());
    assert_eq!(ob.lane(ROUTE).position().cursor_seq, f + 2);
}
