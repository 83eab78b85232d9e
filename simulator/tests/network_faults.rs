//! The delivery network: each fault kind on a hand-made world, their composition, determinism
//! and the independence of the fault sub-streams.

mod network_support;

use network_support::*;
use waybill_sim::network::{
    DUPLICATE_DELAY_MAX_US, Delivered, MALFORMED_DELAY_MAX_US, Stream, deliver, encode,
};
use waybill_sim::world::World;

/// The arrival of every delivered world event (None when dropped).
fn arrivals(world: &World, stream: &Stream) -> Vec<Option<i64>> {
    let mut out = vec![None; world.events.len()];
    for d in &stream.deliveries {
        if let Delivered::Event(i) = d.what {
            assert!(out[i as usize].is_none(), "event {i} delivered twice");
            out[i as usize] = Some(d.arrival_us);
        }
    }
    out
}

fn all_bytes(world: &World, stream: &Stream) -> Vec<u8> {
    let mut out = Vec::new();
    for d in &stream.deliveries {
        encode(world, &stream.wire, d, &mut out);
        out.push(b'\n');
    }
    out
}

/// Invariants every stream satisfies, whatever the faults.
fn check_invariants(world: &World, stream: &Stream) {
    let n = world.events.len();
    assert_eq!(stream.dropped.len(), n);
    // Sorted by (arrival, world index, event < duplicate < malformed by reason).
    let rank = |d: &Delivered| match d {
        Delivered::Event(_) => 0,
        Delivered::Duplicate(_) => 1,
        Delivered::Malformed { reason, .. } => 2 + reason.index(),
    };
    for w in stream.deliveries.windows(2) {
        let k = |d: &waybill_sim::network::Delivery| (d.arrival_us, d.what.index(), rank(&d.what));
        assert!(
            k(&w[0]) <= k(&w[1]),
            "out of order: {:?} then {:?}",
            w[0],
            w[1]
        );
    }
    let arr = arrivals(world, stream);
    let mut dups = 0;
    let mut malformed = [0u64; 8];
    for (i, a) in arr.iter().enumerate() {
        assert_eq!(
            a.is_none(),
            stream.dropped[i],
            "event {i}: delivered iff not dropped"
        );
        if let Some(a) = a {
            assert!(*a >= world.events[i].emit_us, "never before emission");
        }
    }
    for d in &stream.deliveries {
        match d.what {
            Delivered::Event(_) => {}
            Delivered::Duplicate(i) => {
                dups += 1;
                let a = arr[i as usize].expect("a dropped event is never duplicated");
                assert!((a..=a + DUPLICATE_DELAY_MAX_US).contains(&d.arrival_us));
            }
            Delivered::Malformed { of, reason } => {
                malformed[reason.index()] += 1;
                let a = arr[of as usize].expect("a dropped event is never malformed");
                assert!((a..=a + MALFORMED_DELAY_MAX_US).contains(&d.arrival_us));
            }
        }
    }
    assert_eq!(dups, stream.injected.duplicates);
    assert_eq!(malformed, stream.injected.malformed);
    assert_eq!(
        stream.dropped.iter().filter(|&&d| d).count() as u64,
        stream.injected.dropped
    );
    let expected_len = n as u64 - stream.injected.dropped
        + stream.injected.duplicates
        + malformed.iter().sum::<u64>();
    assert_eq!(stream.deliveries.len() as u64, expected_len);
}

#[test]
fn without_faults_the_stream_is_the_world_in_emit_order() {
    let world = world(500);
    let stream = deliver(&world, &scenario(""), 1);
    assert_eq!(stream.deliveries.len(), 500);
    for (i, d) in stream.deliveries.iter().enumerate() {
        assert_eq!(d.what, Delivered::Event(i as u32));
        assert_eq!(d.arrival_us, world.events[i].emit_us);
    }
    assert_eq!(stream.injected, Default::default());
    assert!(stream.outages.is_empty());
    check_invariants(&world, &stream);
    // A crash fault is the run driver's business: the stream is unchanged.
    let crash = deliver(
        &world,
        &scenario("[[fault]]\nkind = \"crash\"\nat = \"3h\"\n"),
        1,
    );
    assert_eq!(crash.deliveries, stream.deliveries);
}

#[test]
fn each_fault_kind_hits_its_share_of_events() {
    let world = world(100_000);
    let n = world.events.len() as f64;
    let stream = deliver(
        &world,
        &scenario(
            r#"
[[fault]]
kind = "drop"
source = "*"
probability = 0.05
[[fault]]
kind = "duplicate"
source = "*"
probability = 0.05
[[fault]]
kind = "malformed"
source = "*"
probability = 0.05
[[fault]]
kind = "reorder"
source = "*"
probability = 0.05
max_delay = "15m"
"#,
        ),
        42,
    );
    check_invariants(&world, &stream);
    let inj = &stream.injected;
    let kept = n - inj.dropped as f64;
    // 0.05 +- 0.003 is more than 4 standard deviations at n = 100k.
    let shares = [
        ("dropped", inj.dropped as f64 / n),
        ("duplicates", inj.duplicates as f64 / kept),
        ("malformed", inj.malformed.iter().sum::<u64>() as f64 / kept),
        ("reordered", inj.reordered as f64 / kept),
    ];
    for (what, share) in shares {
        assert!((share - 0.05).abs() < 0.003, "{what}: {share}");
    }
    // Reasons are uniform over all eight.
    let total = inj.malformed.iter().sum::<u64>() as f64;
    for (r, &c) in inj.malformed.iter().enumerate() {
        let share = c as f64 / total;
        assert!((share - 0.125).abs() < 0.02, "reason {r}: {share}");
    }
}

#[test]
fn faults_apply_only_to_their_source_system() {
    let world = world(20_000);
    for (sel, p) in [("fleet", 0.3), ("billing", 0.5), ("erp", 1.0)] {
        let stream = deliver(
            &world,
            &scenario(&format!(
                "[[fault]]\nkind = \"drop\"\nsource = \"{sel}\"\nprobability = {p}\n\
                 [[fault]]\nkind = \"duplicate\"\nsource = \"{sel}\"\nprobability = {p}\n"
            )),
            3,
        );
        check_invariants(&world, &stream);
        let in_sel = |i: usize| system(&world.events[i].event.source) == sel;
        assert!((0..world.events.len()).all(|i| !stream.dropped[i] || in_sel(i)));
        for d in &stream.deliveries {
            if let Delivered::Duplicate(i) = d.what {
                assert!(in_sel(i as usize));
            }
        }
        let hits = (0..world.events.len()).filter(|&i| in_sel(i)).count() as f64;
        let share = stream.injected.dropped as f64 / hits;
        assert!((share - p).abs() < 0.03, "{sel}: {share}");
    }
}

#[test]
fn an_outage_holds_exactly_its_window_and_releases_it_as_a_burst() {
    let world = world(5_000);
    let stream = deliver(
        &world,
        &scenario(
            "[[fault]]\nkind = \"outage\"\nsource = \"fleet\"\nfrom = \"2h\"\nto = \"5h30m\"\n",
        ),
        9,
    );
    check_invariants(&world, &stream);
    let (from, to) = (START_US + 2 * HOUR_US, START_US + 11 * HOUR_US / 2);
    let arr = arrivals(&world, &stream);
    let mut held = Vec::new();
    for (i, e) in world.events.iter().enumerate() {
        let in_window = system(&e.event.source) == "fleet" && (from..to).contains(&e.emit_us);
        if in_window {
            assert_eq!(arr[i], Some(to), "event {i} held until the end");
            held.push(i as u32);
        } else {
            assert_eq!(arr[i], Some(e.emit_us), "event {i} untouched");
        }
    }
    assert!(held.len() > 100);
    assert_eq!(stream.outages.len(), 1);
    let w = &stream.outages[0];
    assert_eq!((w.source.as_str(), w.from_us, w.to_us), ("fleet", from, to));
    assert_eq!(w.held, held.len() as u64);
    assert_eq!(stream.injected.held_by_outage, held.len() as u64);
    // The burst arrives in emit order, before anything emitted at `to` itself.
    let burst: Vec<u32> = stream
        .deliveries
        .iter()
        .filter(|d| d.arrival_us == to)
        .map(|d| d.what.index())
        .collect();
    assert_eq!(&burst[..held.len()], &held[..]);
}

#[test]
fn outages_compose_with_other_faults_and_with_each_other() {
    let world = world(5_000);
    let stream = deliver(
        &world,
        &scenario(
            r#"
[[fault]]
kind = "outage"
source = "*"
from = "1h"
to = "2h"
[[fault]]
kind = "outage"
source = "billing"
from = "90m"
to = "3h"
[[fault]]
kind = "duplicate"
source = "*"
probability = 0.5
[[fault]]
kind = "drop"
source = "*"
probability = 0.1
"#,
        ),
        5,
    );
    check_invariants(&world, &stream);
    let arr = arrivals(&world, &stream);
    let h = |x: i64| START_US + x * HOUR_US / 2;
    let mut held = [0u64; 2];
    for (i, e) in world.events.iter().enumerate() {
        let billing = system(&e.event.source) == "billing";
        let want = if (h(2)..h(4)).contains(&e.emit_us) {
            // Released at 2h, billing's still inside its own outage until 3h.
            held[0] += 1;
            if billing {
                held[1] += 1;
                h(6)
            } else {
                h(4)
            }
        } else if billing && (h(3)..h(6)).contains(&e.emit_us) {
            held[1] += 1;
            h(6)
        } else {
            e.emit_us
        };
        if let Some(a) = arr[i] {
            assert_eq!(a, want, "event {i}");
        } else {
            held[0] -= u64::from((h(2)..h(4)).contains(&e.emit_us));
            held[1] -= u64::from(billing && want == h(6));
        }
    }
    assert_eq!(
        stream.outages.iter().map(|w| w.held).collect::<Vec<_>>(),
        held.to_vec()
    );
    // Duplicates of held events come with the burst.
    assert!(
        stream
            .deliveries
            .iter()
            .any(|d| matches!(d.what, Delivered::Duplicate(_))
                && d.arrival_us >= h(4)
                && d.arrival_us <= h(4) + DUPLICATE_DELAY_MAX_US
                && (h(2)..h(4)).contains(&world.events[d.what.index() as usize].emit_us))
    );
}

#[test]
fn reorder_delays_are_within_max_delay() {
    let world = world(20_000);
    let max = 15 * 60 * 1_000_000;
    for p in [1.0, 0.2] {
        let stream = deliver(
            &world,
            &scenario(&format!(
                "[[fault]]\nkind = \"reorder\"\nsource = \"fleet\"\nprobability = {p}\nmax_delay = \"15m\"\n"
            )),
            11,
        );
        check_invariants(&world, &stream);
        let arr = arrivals(&world, &stream);
        let mut delayed = 0;
        let mut longest = 0;
        for (i, e) in world.events.iter().enumerate() {
            let d = arr[i].unwrap() - e.emit_us;
            assert!((0..=max).contains(&d), "delay {d}");
            if system(&e.event.source) != "fleet" {
                assert_eq!(d, 0);
            } else if p == 1.0 {
                assert!(d > 0, "every fleet event delayed");
            }
            delayed += u64::from(d > 0);
            longest = longest.max(d);
        }
        assert_eq!(delayed, stream.injected.reordered);
        assert!(longest > max * 9 / 10, "delays spread up to max_delay");
        // Reordered: some fleet event now arrives after a later-emitted fleet event.
        let order: Vec<u32> = stream.deliveries.iter().map(|d| d.what.index()).collect();
        assert!(order.windows(2).any(|w| w[0] > w[1]));
    }
}

#[test]
fn only_drops_below_a_later_delivered_sequence_are_detectable() {
    let world = world(20_000);
    for (sel, p) in [
        ("*", 0.01),
        ("fleet", 0.5),
        ("billing", 1.0),
        ("erp", 0.999),
    ] {
        let stream = deliver(
            &world,
            &scenario(&format!(
                "[[fault]]\nkind = \"drop\"\nsource = \"{sel}\"\nprobability = {p}\n"
            )),
            17,
        );
        check_invariants(&world, &stream);
        let evs = &world.events;
        let mut want = 0;
        for (i, e) in evs.iter().enumerate() {
            if stream.dropped[i] {
                let later_delivered = evs.iter().enumerate().any(|(j, f)| {
                    !stream.dropped[j]
                        && f.event.source == e.event.source
                        && f.event.sequence > e.event.sequence
                });
                want += u64::from(later_delivered);
            }
        }
        assert_eq!(stream.injected.dropped_detectable, want, "{sel} {p}");
        if p == 1.0 {
            // A source that loses everything shows no gap at all.
            assert_eq!(want, 0);
            assert!(stream.injected.dropped > 0);
        } else {
            assert!(want > 0);
        }
    }
}

#[test]
fn the_stream_is_deterministic_per_seed() {
    let world = world(20_000);
    let faults = r#"
[[fault]]
kind = "outage"
source = "route"
from = "3h"
to = "4h"
[[fault]]
kind = "reorder"
source = "fleet"
probability = 0.2
max_delay = "15m"
[[fault]]
kind = "duplicate"
source = "*"
probability = 0.05
[[fault]]
kind = "drop"
source = "fleet"
probability = 0.01
[[fault]]
kind = "malformed"
source = "*"
probability = 0.02
"#;
    let sc = scenario(faults);
    let a = deliver(&world, &sc, 7);
    let b = deliver(&world, &sc, 7);
    let c = deliver(&world, &sc, 8);
    assert_eq!(a.deliveries, b.deliveries);
    assert_eq!(a.injected, b.injected);
    assert_eq!(a.dropped, b.dropped);
    assert_eq!(all_bytes(&world, &a), all_bytes(&world, &b));
    assert_ne!(a.deliveries, c.deliveries);
    assert_ne!(a.dropped, c.dropped);
    assert_ne!(all_bytes(&world, &a), all_bytes(&world, &c));
    check_invariants(&world, &a);
    check_invariants(&world, &c);
}

#[test]
fn adding_a_fault_kind_does_not_change_the_others() {
    let world = world(20_000);
    let drop = "[[fault]]\nkind = \"drop\"\nsource = \"*\"\nprobability = 0.05\n";
    let dup = "[[fault]]\nkind = \"duplicate\"\nsource = \"*\"\nprobability = 0.1\n";
    let mal = "[[fault]]\nkind = \"malformed\"\nsource = \"fleet\"\nprobability = 0.1\n";
    let reo =
        "[[fault]]\nkind = \"reorder\"\nsource = \"*\"\nprobability = 0.1\nmax_delay = \"1m\"\n";
    let only_drop = deliver(&world, &scenario(drop), 21);
    let only_dup = deliver(&world, &scenario(dup), 21);
    let all = deliver(&world, &scenario(&format!("{reo}{mal}{dup}{drop}")), 21);
    assert_eq!(only_drop.dropped, all.dropped, "drops unchanged");
    assert_eq!(only_drop.injected.dropped, all.injected.dropped);
    // The duplicates of the combined stream are those of the duplicate-only stream, minus the
    // dropped events.
    let dups = |s: &Stream| -> Vec<u32> {
        let mut v: Vec<u32> = s
            .deliveries
            .iter()
            .filter_map(|d| match d.what {
                Delivered::Duplicate(i) => Some(i),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v
    };
    let want: Vec<u32> = dups(&only_dup)
        .into_iter()
        .filter(|&i| !all.dropped[i as usize])
        .collect();
    assert_eq!(dups(&all), want);
    // A second fault of the same kind draws from its own stream and leaves the first alone.
    let two_drops = deliver(
        &world,
        &scenario(&format!(
            "{drop}[[fault]]\nkind = \"drop\"\nsource = \"billing\"\nprobability = 0.5\n"
        )),
        21,
    );
    assert!(
        (0..world.events.len()).all(|i| !only_drop.dropped[i] || two_drops.dropped[i]),
        "the first drop fault's choices are kept"
    );
    assert!(two_drops.injected.dropped > only_drop.injected.dropped);
    check_invariants(&world, &all);
    check_invariants(&world, &two_drops);
}

#[test]
fn a_world_out_of_emit_order_still_gives_a_sorted_stream() {
    let mut world = world(3_000);
    // Swap emit times pairwise so the world is no longer sorted.
    for k in (0..world.events.len() - 1).step_by(2) {
        let (a, b) = (world.events[k].emit_us, world.events[k + 1].emit_us);
        world.events[k].emit_us = b;
        world.events[k + 1].emit_us = a;
    }
    let stream = deliver(
        &world,
        &scenario("[[fault]]\nkind = \"duplicate\"\nsource = \"*\"\nprobability = 0.3\n"),
        4,
    );
    check_invariants(&world, &stream);
}
