//! Convergence (docs/state.md): the same set of events in any order gives the same state, views and
//! digest; the digest composes over disjoint partitions and moves when the state does.

mod state_support;

use proptest::prelude::*;
use state_support::*;
use waybill_core::event::{Event, EventType};
use waybill_core::source::Sources;
use waybill_core::state::{Digest, State};

fn assert_same(a: &(State, Sources), b: &(State, Sources)) {
    assert_eq!(a.0.shipment_ids(), b.0.shipment_ids());
    assert_eq!(a.0.vehicle_ids(), b.0.vehicle_ids());
    for id in a.0.shipment_ids() {
        assert_eq!(
            a.0.shipment_view(id, &a.1),
            b.0.shipment_view(id, &b.1),
            "shipment {id}"
        );
        assert_eq!(
            a.0.shipment_digest(id, &a.1),
            b.0.shipment_digest(id, &b.1),
            "shipment {id}"
        );
    }
    for id in a.0.vehicle_ids() {
        assert_eq!(a.0.vehicle_view(id), b.0.vehicle_view(id), "vehicle {id}");
    }
    assert_eq!(a.0.digest(&a.1), b.0.digest(&b.1));
}

/// Every shipment and vehicle view as JSON, by id.
fn all_views(s: &(State, Sources)) -> Vec<String> {
    let shipments =
        s.0.shipment_ids()
            .into_iter()
            .map(|id| serde_json::to_string(&s.0.shipment_view(id, &s.1)).unwrap());
    let vehicles =
        s.0.vehicle_ids()
            .into_iter()
            .map(|id| serde_json::to_string(&s.0.vehicle_view(id)).unwrap());
    shipments.chain(vehicles).collect()
}

/// Types whose every event leaves its key or time in state: moving one to a new greatest time
/// must change the stored state.
fn records_its_time(ty: EventType) -> bool {
    !matches!(
        ty,
        EventType::OrderCancelled
            | EventType::DeliveryFailed
            | EventType::ChargeVoided
            | EventType::OrderAmended
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_two_orders_converge(
        (one, two) in event_set().prop_flat_map(|evs| (Just(evs.clone()).prop_shuffle(), Just(evs).prop_shuffle()))
    ) {
        let a = build(&[], &one);
        let b = build(&[], &two);
        assert_same(&a, &b);
    }

    #[test]
    fn digest_composes_over_entity_partitions(evs in event_set(), mask in any::<u8>()) {
        // Shipments whose id bit is set in `mask` (and odd vehicles) go to the left partition.
        let left_of = |e: &Event| {
            if e.event_type() == EventType::VehiclePosition {
                e.subject % 2 == 1
            } else {
                mask & (1 << e.subject) != 0
            }
        };
        let (left, right): (Vec<Event>, Vec<Event>) = evs.iter().cloned().partition(left_of);
        let whole = build(&[], &evs);
        let l = build(&[], &left);
        let r = build(&[], &right);
        prop_assert_eq!(
            Digest::combine(l.0.digest(&l.1), r.0.digest(&r.1)),
            whole.0.digest(&whole.1)
        );
        let per_entity: Digest = whole.0.shipment_ids().into_iter()
            .map(|id| whole.0.shipment_digest(id, &whole.1).unwrap())
            .chain(whole.0.vehicle_ids().into_iter().map(|id| whole.0.vehicle_digest(id, &whole.1).unwrap()))
            .sum();
        prop_assert_eq!(per_entity, whole.0.digest(&whole.1));
        prop_assert_eq!(l.0.shipment_count() + r.0.shipment_count(), whole.0.shipment_count());
    }

    #[test]
    fn moving_an_event_to_the_newest_time_changes_the_digest(evs in event_set(), pick in any::<prop::sample::Index>()) {
        let i = pick.index(evs.len());
        prop_assume!(records_its_time(evs[i].event_type()));
        let newest = evs.iter().map(|e| e.time_us).max().unwrap();
        let mut changed = evs.clone();
        changed[i].time_us = newest + 1;
        let a = build(&[], &evs);
        let b = build(&[], &changed);
        prop_assert_ne!(a.0.digest(&a.1), b.0.digest(&b.1));
    }

    #[test]
    fn dropping_an_event_that_changes_a_view_changes_the_digest(evs in event_set(), pick in any::<prop::sample::Index>()) {
        let i = pick.index(evs.len());
        let mut fewer = evs.clone();
        fewer.remove(i);
        let a = build(&[], &evs);
        let b = build(&[], &fewer);
        if all_views(&a) != all_views(&b) {
            prop_assert_ne!(a.0.digest(&a.1), b.0.digest(&b.1));
        }
    }

    #[test]
    fn a_changed_view_means_a_changed_digest(evs in event_set(), pick in any::<prop::sample::Index>(), knob in any::<u8>()) {
        let i = pick.index(evs.len());
        let mut changed = evs.clone();
        // Re-derive the payload of one event from different knobs (same type and key).
        let ty = EventType::ALL.iter().position(|t| *t == evs[i].event_type()).unwrap();
        let r = Raw { kind: ty, subject: evs[i].subject, source: 0, minute: 0, micro: 0, a: knob, b: knob.wrapping_mul(7), c: knob.wrapping_add(3) };
        changed[i].body = body(&r);
        let a = build(&[], &evs);
        let b = build(&[], &changed);
        if all_views(&a) != all_views(&b) {
            prop_assert_ne!(a.0.digest(&a.1), b.0.digest(&b.1));
        }
    }
}

#[test]
fn empty_state_has_the_zero_digest() {
    let state = State::new();
    assert_eq!(state.digest(&Sources::new()), Digest::ZERO);
    assert_eq!(state.shipment_count(), 0);
    assert!(state.shipment_ids().is_empty());
}

#[test]
fn a_renamed_source_changes_the_digest() {
    // Sources enter the digest by name: the same event from another source is another state.
    let ev = |src: &str| event(src, 1, m(0), 1, picked_up());
    let deliver = |src: &str| event(src, 1, m(0), 1, delivered(None));
    let (a, sa) = build(&[], &[ev("fleet/a"), deliver("fleet/a")]);
    let (b, sb) = build(&[], &[ev("fleet/a"), deliver("fleet/b")]);
    assert_eq!(a.shipment_view(1, &sa), b.shipment_view(1, &sb));
    assert_ne!(a.digest(&sa), b.digest(&sb));
}

#[test]
fn memory_estimate_grows_with_shipments() {
    let mut evs = Vec::new();
    for id in 1..=1000u64 {
        evs.push(event("erp/main", id, m(0), id, created(0, 600)));
        evs.push(event("route/opt", id, m(1), id, planned("r1", 1, 0, 100)));
        evs.push(event("fleet/v1", id, m(2), id, picked_up()));
    }
    let (state, _) = build(&[], &evs);
    let per_shipment = state.heap_bytes() / state.shipment_count();
    assert!(
        per_shipment >= waybill_core::state::SHIPMENT_INLINE_BYTES,
        "{per_shipment}"
    );
    assert!(per_shipment < 1024, "{per_shipment}");
}
