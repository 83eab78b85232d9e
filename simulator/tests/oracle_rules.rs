//! The oracle on tiny hand-checked worlds, one rule of docs/state.md at a time. Every case is also
//! run through the real core, which must agree.

mod oracle_support;

use oracle_support::*;
use waybill_core::event::{Body, ChargeKind::*, Event, Stop::*};
use waybill_sim::network::Stream;
use waybill_sim::oracle::{ExpectedShipment, expected};

const ERP: &str = "erp/main";
const ROUTE: &str = "route/opt";
const FLEET: &str = "fleet/truck-7";
const BILL: &str = "billing/engine";

/// A shipment with an order and nothing else: window 60..120 min, EUR, base 5000,
/// 30 free minutes, 6000 cents/hour.
fn order(seq: u64) -> Vec<Event> {
    vec![ev(
        ERP,
        seq,
        m(0),
        1,
        created(m(60), m(120), contract(b"EUR", 5000, 30, 6000)),
    )]
}

/// The fields of a shipment that has an order and nothing else.
fn created_only() -> ExpectedShipment {
    ExpectedShipment {
        id: 1,
        status: "created",
        order_version: 1,
        cancelled: false,
        window_start_us: Some(m(60)),
        window_end_us: Some(m(120)),
        delivered_us: None,
        on_time: None,
        billed_cents: 0,
        detention_minutes: 0,
        expected_detention_cents: 0,
        leakage_cents: 0,
        unbilled_charge_ids: vec![],
        invoice_status: "none",
        invoice_ready: false,
        order_to_dispatch_minutes: None,
        invoice_cycle_minutes: None,
        failed_attempts: 0,
        anomalies: vec![],
    }
}

fn check(events: &[Event], want: ExpectedShipment) {
    assert_eq!(one(events), want);
    assert_core_agrees(events);
    // Any order of the same set gives the same answer (the oracle never sees order; the core
    // must not either).
    let mut reversed = events.to_vec();
    reversed.reverse();
    assert_core_agrees(&reversed);
}

#[test]
fn an_order_alone_is_created() {
    check(&order(1), created_only());
}

#[test]
fn detention_counts_whole_minutes_past_the_free_ones() {
    // (departed - arrived, free 30 min, 6000/h) -> (minutes, cents); not delivered, so no leakage.
    let us = |min: i64, extra_us: i64| min * 60_000_000 + extra_us;
    let cases = [
        (us(30, 0), 0, 0),
        (us(31, -1), 0, 0),
        (us(31, 0), 1, 100),
        (us(45, 30_000_000), 15, 1500),
        (us(-5, 0), 0, 0), // departed before arrived
        (us(0, -1), 0, 0),
    ];
    for (stay, minutes, cents) in cases {
        let mut evs = order(1);
        evs.push(ev(FLEET, 1, m(200), 1, arrived(Delivery)));
        evs.push(ev(FLEET, 2, m(200) + stay, 1, departed(Delivery)));
        // Pickup stops never count.
        evs.push(ev(FLEET, 3, m(10), 1, arrived(Pickup)));
        evs.push(ev(FLEET, 4, m(90), 1, departed(Pickup)));
        check(
            &evs,
            ExpectedShipment {
                detention_minutes: minutes,
                expected_detention_cents: cents,
                ..created_only()
            },
        );
    }
    // Only an arrival: nothing.
    let mut evs = order(1);
    evs.push(ev(FLEET, 1, m(200), 1, arrived(Delivery)));
    check(&evs, created_only());
    // Cents are floored: 7 minutes at 6001/h = 700.11... -> 700; the latest arrival wins.
    let mut evs = vec![ev(
        ERP,
        1,
        m(0),
        1,
        created(m(60), m(120), contract(b"EUR", 0, 0, 6001)),
    )];
    evs.push(ev(FLEET, 1, m(190), 1, arrived(Delivery)));
    evs.push(ev(FLEET, 2, m(200), 1, arrived(Delivery)));
    evs.push(ev(FLEET, 3, m(207), 1, departed(Delivery)));
    check(
        &evs,
        ExpectedShipment {
            detention_minutes: 7,
            expected_detention_cents: 700,
            ..created_only()
        },
    );
}

/// Order, pickup and a delivery at minute 100 (on time) after 50 minutes at the stop
/// (20 minutes past the free 30: 2000 cents of detention due).
fn delivered_shipment() -> Vec<Event> {
    let mut evs = order(1);
    evs.push(ev(
        ROUTE,
        1,
        m(1),
        1,
        Body::RoutePlanned {
            route_id: "r1".into(),
            vehicle_id: 7,
            stop_index: 2,
            eta_us: m(90),
        },
    ));
    evs.push(ev(FLEET, 1, m(20), 1, Body::ShipmentPickedUp));
    evs.push(ev(FLEET, 2, m(50), 1, arrived(Delivery)));
    evs.push(ev(FLEET, 3, m(100), 1, delivered(Some("Ann"))));
    evs.push(ev(FLEET, 4, m(100), 1, departed(Delivery)));
    evs
}

fn delivered_fields() -> ExpectedShipment {
    ExpectedShipment {
        status: "delivered",
        delivered_us: Some(m(100)),
        on_time: Some(true),
        detention_minutes: 20,
        expected_detention_cents: 2000,
        leakage_cents: 7000,
        order_to_dispatch_minutes: Some(20),
        ..created_only()
    }
}

#[test]
fn leakage_is_unbilled_detention_plus_a_missing_base_charge() {
    // Nothing billed: 2000 detention + 5000 base.
    check(&delivered_shipment(), delivered_fields());

    // Base billed, detention partly billed: only the detention gap.
    let mut evs = delivered_shipment();
    evs.push(ev(BILL, 1, m(101), 1, charge("base", Base, 5000, b"EUR")));
    evs.push(ev(
        BILL,
        2,
        m(102),
        1,
        charge("det", Detention, 1500, b"EUR"),
    ));
    check(
        &evs,
        ExpectedShipment {
            billed_cents: 6500,
            leakage_cents: 500,
            unbilled_charge_ids: vec!["base".into(), "det".into()],
            ..delivered_fields()
        },
    );

    // Over-billed detention never gives negative leakage; a voided base charge is missing.
    let mut evs = delivered_shipment();
    evs.push(ev(BILL, 1, m(101), 1, charge("base", Base, 5000, b"EUR")));
    evs.push(ev(
        BILL,
        2,
        m(102),
        1,
        charge("det", Detention, 9000, b"EUR"),
    ));
    evs.push(ev(BILL, 3, m(103), 1, void("base")));
    check(
        &evs,
        ExpectedShipment {
            billed_cents: 9000,
            leakage_cents: 5000,
            unbilled_charge_ids: vec!["det".into()],
            ..delivered_fields()
        },
    );

    // Not delivered: no leakage whatever is missing.
    let mut evs = delivered_shipment();
    evs.retain(|e| !matches!(e.body, Body::ShipmentDelivered { .. }));
    check(
        &evs,
        ExpectedShipment {
            status: "in_transit",
            ..ExpectedShipment {
                delivered_us: None,
                on_time: None,
                leakage_cents: 0,
                ..delivered_fields()
            }
        },
    );
}

#[test]
fn a_void_wins_whichever_arrives_first_and_a_voided_only_id_is_no_charge() {
    let mut evs = order(1);
    // The void is older than the add (event time and sequence): still voided.
    evs.push(ev(BILL, 1, m(5), 1, void("fuel")));
    evs.push(ev(BILL, 2, m(6), 1, charge("fuel", Fuel, 700, b"EUR")));
    evs.push(ev(BILL, 3, m(7), 1, charge("fuel", Fuel, 900, b"USD")));
    // Voided without ever being added.
    evs.push(ev(BILL, 4, m(8), 1, void("ghost")));
    evs.push(ev(BILL, 5, m(9), 1, charge("wait", Waiting, 300, b"EUR")));
    check(
        &evs,
        ExpectedShipment {
            billed_cents: 300,
            unbilled_charge_ids: vec!["wait".into()],
            ..created_only()
        },
    );
}

#[test]
fn charges_are_last_writer_wins_by_time_then_source_bytes_then_sequence_as_integer() {
    let mut evs = order(1);
    // Same time: "billing/b" > "billing/a" as bytes.
    evs.push(ev("billing/b", 1, m(5), 1, charge("x", Fuel, 200, b"EUR")));
    evs.push(ev("billing/a", 7, m(5), 1, charge("x", Fuel, 100, b"EUR")));
    // Same time and source: sequence 10 > 9 as integers (not as text).
    evs.push(ev(BILL, 10, m(5), 1, charge("y", Fuel, 1000, b"EUR")));
    evs.push(ev(BILL, 9, m(5), 1, charge("y", Fuel, 900, b"USD")));
    // A later time beats everything.
    evs.push(ev(BILL, 1, m(6), 1, charge("z", Other, 5, b"EUR")));
    evs.push(ev(
        "billing/zzz",
        99,
        m(5),
        1,
        charge("z", Other, 50, b"EUR"),
    ));
    check(
        &evs,
        ExpectedShipment {
            billed_cents: 1205,
            unbilled_charge_ids: vec!["x".into(), "y".into(), "z".into()],
            ..created_only()
        },
    );
}

#[test]
fn invoices_and_settlements() {
    let base = || {
        let mut evs = order(1);
        evs.push(ev(BILL, 1, m(1), 1, charge("a", Base, 1000, b"EUR")));
        evs.push(ev(BILL, 2, m(2), 1, charge("b", Fuel, 200, b"EUR")));
        evs
    };
    // Issued, not settled.
    let mut evs = base();
    evs.push(ev(BILL, 3, m(3), 1, invoice("i1", 1200, &["a", "b"])));
    let issued = ExpectedShipment {
        billed_cents: 1200,
        invoice_status: "issued",
        ..created_only()
    };
    check(&evs, issued.clone());
    // Settled at its total.
    evs.push(ev(ERP, 2, m(4), 1, settled("i1", 1200)));
    check(
        &evs,
        ExpectedShipment {
            invoice_status: "settled",
            ..issued.clone()
        },
    );
    // A later settlement at another amount wins: disputed.
    evs.push(ev(ERP, 3, m(5), 1, settled("i1", 1100)));
    check(
        &evs,
        ExpectedShipment {
            invoice_status: "disputed",
            ..issued.clone()
        },
    );
    // A settlement naming no invoice of the shipment is ignored.
    let mut evs = base();
    evs.push(ev(BILL, 3, m(3), 1, invoice("i1", 1200, &["a", "b"])));
    evs.push(ev(ERP, 2, m(4), 1, settled("nope", 5)));
    check(&evs, issued.clone());
    let mut evs = base();
    evs.push(ev(ERP, 2, m(4), 1, settled("nope", 5)));
    check(
        &evs,
        ExpectedShipment {
            billed_cents: 1200,
            unbilled_charge_ids: vec!["a".into(), "b".into()],
            ..created_only()
        },
    );
    // Two invoices, one settled: issued; one disputed: disputed.
    let mut evs = base();
    evs.push(ev(BILL, 3, m(3), 1, invoice("i1", 1000, &["a"])));
    evs.push(ev(BILL, 4, m(3), 1, invoice("i2", 200, &["b"])));
    evs.push(ev(ERP, 2, m(4), 1, settled("i1", 1000)));
    check(&evs, issued.clone());
    evs.push(ev(ERP, 3, m(4), 1, settled("i2", 201)));
    check(
        &evs,
        ExpectedShipment {
            invoice_status: "disputed",
            ..issued.clone()
        },
    );
    // The latest invoice.issued of an id wins: it now lists only "a", so "b" is unbilled
    // and its total matches again.
    let mut evs = base();
    evs.push(ev(BILL, 3, m(3), 1, invoice("i1", 999, &["a", "b"])));
    evs.push(ev(BILL, 4, m(4), 1, invoice("i1", 1000, &["a"])));
    check(
        &evs,
        ExpectedShipment {
            unbilled_charge_ids: vec!["b".into()],
            ..issued.clone()
        },
    );
}

#[test]
fn invoice_totals_count_listed_live_charges_only() {
    let mut evs = order(1);
    evs.push(ev(BILL, 1, m(1), 1, charge("a", Base, 1000, b"EUR")));
    evs.push(ev(BILL, 2, m(1), 1, charge("v", Fuel, 50, b"EUR")));
    evs.push(ev(BILL, 3, m(2), 1, void("v")));
    // "a" twice = 2000; "v" voided and "zz" unknown count 0.
    evs.push(ev(
        BILL,
        4,
        m(3),
        1,
        invoice("i1", 2000, &["a", "v", "a", "zz"]),
    ));
    let want = ExpectedShipment {
        billed_cents: 1000,
        invoice_status: "issued",
        ..created_only()
    };
    check(&evs, want.clone());
    let mut wrong = evs.clone();
    wrong[4] = ev(
        BILL,
        4,
        m(3),
        1,
        invoice("i1", 1000, &["a", "v", "a", "zz"]),
    );
    check(
        &wrong,
        ExpectedShipment {
            anomalies: vec!["invoice_total_mismatch"],
            ..want.clone()
        },
    );
    // A charge in another currency than the contract's.
    evs.push(ev(BILL, 5, m(4), 1, charge("usd", Other, 10, b"USD")));
    check(
        &evs,
        ExpectedShipment {
            billed_cents: 1010,
            unbilled_charge_ids: vec!["usd".into()],
            anomalies: vec!["currency_mismatch"],
            ..want
        },
    );
}

#[test]
fn on_time_includes_both_window_bounds() {
    for (at, want) in [
        (m(60) - 1, Some(false)),
        (m(60), Some(true)),
        (m(90), Some(true)),
        (m(120), Some(true)),
        (m(120) + 1, Some(false)),
    ] {
        let mut evs = order(1);
        evs.push(ev(FLEET, 1, at, 1, delivered(None)));
        check(
            &evs,
            ExpectedShipment {
                status: "delivered",
                delivered_us: Some(at),
                on_time: want,
                leakage_cents: 5000,
                ..created_only()
            },
        );
    }
}

#[test]
fn an_orphan_has_no_window_and_zero_contract_until_its_order_arrives() {
    let orphan_events = vec![
        ev(ERP, 2, m(5), 1, amended(3, Some(m(70)), Some(m(80)))),
        ev(FLEET, 1, m(50), 1, arrived(Delivery)),
        ev(FLEET, 2, m(75), 1, delivered(Some("Bo"))),
        ev(FLEET, 3, m(200), 1, departed(Delivery)),
        ev(BILL, 1, m(76), 1, charge("c", Fuel, 400, b"USD")),
        ev(
            FLEET,
            4,
            m(60),
            1,
            Body::DeliveryFailed {
                reason: "closed".into(),
            },
        ),
    ];
    let orphan = ExpectedShipment {
        id: 1,
        status: "delivered",
        order_version: 3,
        cancelled: false,
        window_start_us: None,
        window_end_us: None,
        delivered_us: Some(m(75)),
        on_time: None,
        billed_cents: 400,
        // 150 minutes, none free; 0 cents an hour.
        detention_minutes: 150,
        expected_detention_cents: 0,
        leakage_cents: 0,
        unbilled_charge_ids: vec!["c".into()],
        invoice_status: "none",
        invoice_ready: false,
        order_to_dispatch_minutes: None,
        invoice_cycle_minutes: None,
        failed_attempts: 1,
        // No contract, so no currency to mismatch.
        anomalies: vec!["orphan"],
    };
    check(&orphan_events, orphan.clone());
    // The order arrives (version 1, older): the amendment's window still wins.
    let mut evs = orphan_events.clone();
    evs.extend(order(1));
    check(
        &evs,
        ExpectedShipment {
            window_start_us: Some(m(70)),
            window_end_us: Some(m(80)),
            on_time: Some(true),
            detention_minutes: 120,
            expected_detention_cents: 12_000,
            leakage_cents: 17_000,
            anomalies: vec!["currency_mismatch"],
            ..orphan
        },
    );
    // Only a cancellation: an orphan that is cancelled.
    check(
        &[ev(
            ERP,
            1,
            m(1),
            9,
            Body::OrderCancelled { reason: "x".into() },
        )],
        ExpectedShipment {
            id: 9,
            status: "cancelled",
            order_version: 0,
            cancelled: true,
            window_start_us: None,
            window_end_us: None,
            anomalies: vec!["orphan"],
            ..created_only()
        },
    );
}

#[test]
fn the_greatest_order_version_wins_each_field_before_time() {
    // The order is created late (t = 30); an amendment made earlier (t = 10) still wins.
    let mut evs = vec![ev(
        ERP,
        5,
        m(30),
        1,
        created(m(60), m(120), contract(b"EUR", 5000, 30, 6000)),
    )];
    evs.push(ev(ERP, 1, m(10), 1, amended(2, Some(m(61)), None)));
    check(
        &evs,
        ExpectedShipment {
            order_version: 2,
            window_start_us: Some(m(61)),
            ..created_only()
        },
    );
    // v3 beats a later v2; between two v2 the later key wins; fields are independent.
    evs.push(ev(ERP, 2, m(11), 1, amended(3, Some(m(63)), None)));
    evs.push(ev(ERP, 3, m(40), 1, amended(2, Some(m(62)), Some(m(140)))));
    evs.push(ev(ERP, 4, m(41), 1, amended(2, None, Some(m(150)))));
    check(
        &evs,
        ExpectedShipment {
            order_version: 3,
            window_start_us: Some(m(63)),
            window_end_us: Some(m(150)),
            ..created_only()
        },
    );
}

#[test]
fn delivered_and_cancelled() {
    let mut evs = delivered_shipment();
    evs.push(ev(
        ERP,
        2,
        m(200),
        1,
        Body::OrderCancelled {
            reason: "late".into(),
        },
    ));
    check(
        &evs,
        ExpectedShipment {
            cancelled: true,
            anomalies: vec!["delivered_and_cancelled"],
            ..delivered_fields()
        },
    );
    // Cancelled before delivery happened: still cancelled only if never delivered.
    let mut evs = order(1);
    evs.push(ev(ROUTE, 1, m(1), 1, Body::EtaRevised { eta_us: m(5) }));
    evs.push(ev(
        ERP,
        2,
        m(2),
        1,
        Body::OrderCancelled { reason: "x".into() },
    ));
    check(
        &evs,
        ExpectedShipment {
            status: "cancelled",
            cancelled: true,
            ..created_only()
        },
    );
}

#[test]
fn invoice_ready_needs_delivery_pod_invoices_and_nothing_unbilled() {
    let mut evs = delivered_shipment();
    evs.push(ev(BILL, 1, m(101), 1, charge("base", Base, 5000, b"EUR")));
    evs.push(ev(
        BILL,
        2,
        m(101),
        1,
        charge("det", Detention, 2000, b"EUR"),
    ));
    evs.push(ev(
        BILL,
        3,
        m(102),
        1,
        invoice("i1", 7000, &["base", "det"]),
    ));
    let ready = ExpectedShipment {
        billed_cents: 7000,
        leakage_cents: 0,
        invoice_status: "issued",
        invoice_ready: true,
        invoice_cycle_minutes: Some(2),
        ..delivered_fields()
    };
    check(&evs, ready.clone());
    // A later shipment.delivered without a pod wins: no pod, not ready; its time counts (the
    // invoice now precedes the delivery: a cycle of 0).
    let mut no_pod = evs.clone();
    no_pod.push(ev(FLEET, 9, m(110), 1, delivered(None)));
    check(
        &no_pod,
        ExpectedShipment {
            delivered_us: Some(m(110)),
            invoice_ready: false,
            invoice_cycle_minutes: Some(0),
            ..ready.clone()
        },
    );
    // An unbilled charge: not ready.
    let mut unbilled = evs.clone();
    unbilled.push(ev(BILL, 4, m(103), 1, charge("w", Waiting, 10, b"EUR")));
    check(
        &unbilled,
        ExpectedShipment {
            billed_cents: 7010,
            unbilled_charge_ids: vec!["w".into()],
            invoice_ready: false,
            ..ready
        },
    );
}

#[test]
fn order_to_dispatch_counts_from_the_winning_order_to_the_latest_pickup() {
    let sec = 1_000_000;
    let picked = |at: i64| {
        let mut evs = order(1);
        evs.push(ev(FLEET, 1, at, 1, Body::ShipmentPickedUp));
        evs
    };
    let in_transit = |minutes: i64| ExpectedShipment {
        status: "in_transit",
        order_to_dispatch_minutes: Some(minutes),
        ..created_only()
    };
    // Not picked up: null.
    check(&order(1), created_only());
    // Seconds floor to minutes; a pickup before the order's time floors below zero.
    for (at, minutes) in [
        (m(20), 20),
        (m(20) + 59 * sec, 20),
        (m(0), 0),
        (m(0) - 1, -1),
        (m(0) - 30 * sec, -1),
        (m(-90), -90),
    ] {
        check(&picked(at), in_transit(minutes));
    }
    // No order: null, whatever the pickup.
    check(
        &[ev(FLEET, 1, m(20), 1, Body::ShipmentPickedUp)],
        ExpectedShipment {
            status: "in_transit",
            order_version: 0,
            window_start_us: None,
            window_end_us: None,
            anomalies: vec!["orphan"],
            ..created_only()
        },
    );
    // Two order.created: the greatest key (time first, not sequence) is the one that counts;
    // of two pickups, the latest.
    let mut evs = vec![
        ev(
            ERP,
            5,
            m(0),
            1,
            created(m(60), m(120), contract(b"EUR", 5000, 30, 6000)),
        ),
        ev(
            ERP,
            1,
            m(10),
            1,
            created(m(60), m(120), contract(b"EUR", 5000, 30, 6000)),
        ),
    ];
    evs.push(ev(FLEET, 1, m(25), 1, Body::ShipmentPickedUp));
    evs.push(ev(FLEET, 2, m(22), 1, Body::ShipmentPickedUp));
    check(&evs, in_transit(15));
}

#[test]
fn invoice_cycle_counts_from_delivery_to_the_earliest_winning_issue() {
    let sec = 1_000_000;
    // Delivered at minute 100 with a pod, its base charged; every invoice lists that charge.
    let with = |extra: &[Event]| {
        let mut evs = delivered_shipment();
        evs.push(ev(BILL, 1, m(101), 1, charge("c1", Base, 5000, b"EUR")));
        evs.extend_from_slice(extra);
        evs
    };
    let issue = |seq: u64, at: i64, id: &str| ev(BILL, seq, at, 1, invoice(id, 5000, &["c1"]));
    let charged = ExpectedShipment {
        billed_cents: 5000,
        leakage_cents: 2000,
        unbilled_charge_ids: vec!["c1".into()],
        ..delivered_fields()
    };
    let invoiced = |minutes: i64| ExpectedShipment {
        unbilled_charge_ids: vec![],
        invoice_status: "issued",
        invoice_ready: true,
        invoice_cycle_minutes: Some(minutes),
        ..charged.clone()
    };
    // Not invoiced: null.
    check(&with(&[]), charged.clone());
    // One invoice; seconds floor to minutes.
    check(&with(&[issue(2, m(115) + 59 * sec, "i1")]), invoiced(15));
    // Two invoices: the earliest counts.
    check(
        &with(&[issue(2, m(130), "i1"), issue(3, m(115), "i2")]),
        invoiced(15),
    );
    // Re-issued later: the winning issue's time counts, not the first one's.
    check(
        &with(&[
            issue(2, m(105), "i1"),
            issue(3, m(140), "i1"),
            issue(4, m(150), "i2"),
        ]),
        invoiced(40),
    );
    // Invoiced before the delivery: 0.
    check(&with(&[issue(2, m(40), "i1")]), invoiced(0));
    check(&with(&[issue(2, m(100) - 1, "i1")]), invoiced(0));
    // A settlement alone is no invoice.
    check(
        &with(&[ev(ERP, 2, m(120), 1, settled("i1", 5000))]),
        charged.clone(),
    );
    // Not delivered: null.
    let mut evs = with(&[issue(2, m(115), "i1")]);
    evs.retain(|e| !matches!(e.body, Body::ShipmentDelivered { .. }));
    check(
        &evs,
        ExpectedShipment {
            status: "in_transit",
            delivered_us: None,
            on_time: None,
            leakage_cents: 0,
            unbilled_charge_ids: vec![],
            invoice_status: "issued",
            ..charged
        },
    );
}

#[test]
fn status_precedence() {
    let mut evs = order(1);
    evs.push(ev(
        ROUTE,
        1,
        m(1),
        1,
        Body::RoutePlanned {
            route_id: "r".into(),
            vehicle_id: 1,
            stop_index: 0,
            eta_us: m(2),
        },
    ));
    check(
        &evs,
        ExpectedShipment {
            status: "planned",
            ..created_only()
        },
    );
    // Leaving the pickup stop is not a pickup.
    evs.push(ev(FLEET, 1, m(3), 1, departed(Pickup)));
    check(
        &evs,
        ExpectedShipment {
            status: "planned",
            ..created_only()
        },
    );
    evs.push(ev(FLEET, 2, m(4), 1, Body::ShipmentPickedUp));
    check(
        &evs,
        ExpectedShipment {
            status: "in_transit",
            order_to_dispatch_minutes: Some(4),
            ..created_only()
        },
    );
    for k in 3..6 {
        evs.push(ev(
            FLEET,
            k,
            m(k as i64),
            1,
            Body::DeliveryFailed {
                reason: "no".into(),
            },
        ));
    }
    check(
        &evs,
        ExpectedShipment {
            status: "in_transit",
            failed_attempts: 3,
            order_to_dispatch_minutes: Some(4),
            ..created_only()
        },
    );
}

#[test]
fn dropped_events_do_not_count_and_totals_add_up_per_currency() {
    let mut evs = delivered_shipment();
    // The same shipment again, billed in USD.
    let mut second = delivered_shipment();
    for e in &mut second {
        e.subject = 2;
        e.sequence += 100;
        match &mut e.body {
            Body::OrderCreated { contract, .. } => contract.currency = *b"USD",
            Body::ChargeAdded { currency, .. } => *currency = *b"USD",
            _ => {}
        }
    }
    evs.extend(second);
    let world = world_of(&evs);
    let all = expected(&world, &Stream::default());
    assert_eq!(all.shipments.len(), 2);
    assert_eq!(all.shipments[&1].leakage_cents, 7000);
    assert_eq!(
        all.shipments[&2],
        ExpectedShipment {
            id: 2,
            ..all.shipments[&1].clone()
        }
    );
    let currencies: Vec<&str> = all.by_currency.keys().map(String::as_str).collect();
    assert_eq!(currencies, ["EUR", "USD"]);
    for c in all.by_currency.values() {
        assert_eq!(c.leakage_cents, 7000);
        assert_eq!(c.leaking_shipments, 1);
        assert_eq!(c.billed_cents, i128::from(all.shipments[&1].billed_cents));
    }
    assert_eq!(all.leaking_shipments, 2);
    // Lose shipment 2's delivery.
    let dropped: Vec<bool> = world
        .events
        .iter()
        .map(|w| w.event.subject == 2 && matches!(w.event.body, Body::ShipmentDelivered { .. }))
        .collect();
    let stream = Stream {
        dropped,
        ..Default::default()
    };
    let lossy = expected(&world, &stream);
    assert_eq!(lossy.shipments[&1], all.shipments[&1]);
    assert_eq!(lossy.shipments[&2].status, "in_transit");
    assert_eq!(lossy.shipments[&2].leakage_cents, 0);
    assert_eq!(lossy.by_currency["EUR"].leakage_cents, 7000);
    assert_eq!(lossy.by_currency["USD"].leakage_cents, 0);
    assert_eq!(lossy.leaking_shipments, 1);
}

#[test]
fn diff_names_each_differing_field_with_both_values() {
    let evs = delivered_shipment();
    let want = one(&evs);
    let entries: Vec<_> = evs
        .iter()
        .filter(|e| !matches!(e.body, Body::ShipmentDelivered { .. }))
        .cloned()
        .map(waybill_core::event::Entry::Event)
        .collect();
    let (views, _) = core_views(&entries);
    let diff = want.diff(&views[&1]);
    assert_eq!(
        diff,
        vec![
            "status: expected \"delivered\", core \"in_transit\"".to_string(),
            "delivered: expected \"2026-11-27T09:40:00Z\", core null".to_string(),
            "on_time: expected true, core null".to_string(),
            "leakage_cents: expected 7000, core 0".to_string(),
        ]
    );
}
