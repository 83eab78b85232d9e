//! Every rule of docs/state.md, one small case each: a list of events for shipment 1 and the view
//! fields they must produce. Each case also runs in reverse order (with sources interned in
//! the opposite order) and must give the same view and digest.

mod state_support;

use serde_json::{Value, json};
use state_support::*;
use waybill_core::event::{ChargeKind, Event, Stop};
use waybill_core::state::{Digest, State};

const ERP: &str = "erp/main";
const ROUTE: &str = "route/opt";
const FLEET: &str = "fleet/unit-1";
const BILL: &str = "billing/main";

/// An event on shipment 1 at `T0 + minute`.
fn e(source: &str, sequence: u64, minute: i64, body: waybill_core::event::Body) -> Event {
    event(source, sequence, m(minute), 1, body)
}

/// The order most cases start from: window [T0, T0+600 min], USD contract.
fn order() -> Event {
    e(ERP, 1, -100, created(0, 600))
}

fn distinct_sources(events: &[Event]) -> Vec<&str> {
    let mut s: Vec<&str> = events.iter().map(|e| e.source.as_str()).collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// Applies `events` in order, with sources interned in descending byte order (so interned
/// numbers disagree with byte order), and in reverse order with ascending interning; both must
/// agree. Returns the forward state's view of shipment 1 as JSON.
fn run(name: &str, events: &[Event]) -> (Value, State, waybill_core::source::Sources) {
    let mut asc = distinct_sources(events);
    let (fwd, fwd_sources) = {
        let mut desc = asc.clone();
        desc.reverse();
        build(&desc, events)
    };
    let reversed: Vec<Event> = events.iter().rev().cloned().collect();
    asc.sort_unstable();
    let (rev, rev_sources) = build(&asc, &reversed);
    assert_eq!(
        fwd.shipment_view(1, &fwd_sources),
        rev.shipment_view(1, &rev_sources),
        "case {name}: order matters for the view"
    );
    assert_eq!(
        fwd.digest(&fwd_sources),
        rev.digest(&rev_sources),
        "case {name}: order matters for the digest"
    );
    let view = fwd
        .shipment_view(1, &fwd_sources)
        .map(|v| serde_json::to_value(v).unwrap())
        .unwrap_or(Value::Null);
    (view, fwd, fwd_sources)
}

/// The data-driven check: for each case, every field in `expect` must equal the view's.
fn check(cases: Vec<(&str, Vec<Event>, Value)>) {
    for (name, events, expect) in cases {
        let (view, _, _) = run(name, &events);
        let want = expect.as_object().expect("expect is an object");
        for (field, value) in want {
            assert_eq!(
                view.get(field),
                Some(value),
                "case {name}: field {field}\nview: {view:#}"
            );
        }
    }
}

#[test]
fn status_by_precedence() {
    check(vec![
        (
            "order only",
            vec![order()],
            json!({"status": "created", "anomalies": [], "order_version": 1, "cancelled": false}),
        ),
        (
            "routed",
            vec![order(), e(ROUTE, 1, 10, planned("r-1", 7, 3, 300))],
            json!({"status": "planned", "route": {"route_id": "r-1", "vehicle_id": 7, "stop_index": 3}, "eta": mt(300)}),
        ),
        (
            "picked up",
            vec![
                order(),
                e(ROUTE, 1, 10, planned("r-1", 7, 3, 300)),
                e(FLEET, 1, 60, picked_up()),
            ],
            json!({"status": "in_transit", "picked_up": mt(60)}),
        ),
        (
            "picked up without a route",
            vec![order(), e(FLEET, 1, 60, picked_up())],
            json!({"status": "in_transit"}),
        ),
        (
            "delivered",
            vec![
                order(),
                e(FLEET, 1, 60, picked_up()),
                e(FLEET, 2, 300, delivered(Some("ann"))),
            ],
            json!({"status": "delivered", "delivered": mt(300), "pod": {"signed_by": "ann", "photo_ref": "photo-ann"}}),
        ),
        (
            "cancelled",
            vec![
                order(),
                e(FLEET, 1, 60, picked_up()),
                e(ERP, 2, 100, cancelled()),
            ],
            json!({"status": "cancelled", "cancelled": true, "anomalies": []}),
        ),
        (
            "cancelled twice",
            vec![
                order(),
                e(ERP, 2, 100, cancelled()),
                e(ERP, 3, 101, cancelled()),
            ],
            json!({"status": "cancelled", "cancelled": true}),
        ),
        (
            "cancelled and delivered",
            vec![
                order(),
                e(ERP, 2, 100, cancelled()),
                e(FLEET, 1, 300, delivered(None)),
            ],
            json!({"status": "delivered", "cancelled": true, "anomalies": ["delivered_and_cancelled"]}),
        ),
        (
            "delivered then cancelled",
            vec![
                order(),
                e(FLEET, 1, 300, delivered(None)),
                e(ERP, 2, 400, cancelled()),
            ],
            json!({"status": "delivered", "anomalies": ["delivered_and_cancelled"]}),
        ),
    ]);
}

#[test]
fn orphans() {
    let orphan_fields = json!({
        "order_version": 0, "window_start": null, "window_end": null, "customer_id": null,
        "contract": null, "origin": null, "destination": null, "weight_kg": null,
        "on_time": null, "leakage_cents": 0, "expected_detention_cents": 0,
    });
    let mut cases = vec![
        (
            "void only",
            vec![e(BILL, 1, 0, void("c1"))],
            json!({"status": "orphan", "anomalies": ["orphan"], "charges": []}),
        ),
        (
            "routed orphan",
            vec![e(ROUTE, 1, 0, planned("r", 1, 0, 100))],
            json!({"status": "planned", "anomalies": ["orphan"]}),
        ),
        (
            "picked-up orphan",
            vec![e(FLEET, 1, 0, picked_up())],
            json!({"status": "in_transit", "anomalies": ["orphan"]}),
        ),
        (
            "cancelled orphan",
            vec![e(ERP, 1, 0, cancelled())],
            json!({"status": "cancelled", "anomalies": ["orphan"]}),
        ),
        (
            "delivered orphan: contract figures are 0",
            vec![
                e(FLEET, 1, 0, arrived(Stop::Delivery)),
                e(FLEET, 2, 90, departed(Stop::Delivery)),
                e(FLEET, 3, 91, delivered(Some("bo"))),
            ],
            // No free minutes while orphan, but no rate either: nothing expected, nothing leaks.
            json!({"status": "delivered", "detention_minutes": 90, "anomalies": ["orphan"]}),
        ),
        (
            "orphan charge in any currency is no mismatch",
            vec![e(BILL, 1, 0, charge("c1", ChargeKind::Fuel, 500, EUR))],
            json!({"status": "orphan", "billed_cents": 500, "anomalies": ["orphan"], "unbilled_charge_ids": ["c1"]}),
        ),
        (
            "amendment while orphan counts its version, window stays unknown",
            vec![e(ERP, 2, 0, amended(2, Some(10), Some(20), None))],
            json!({"status": "orphan", "anomalies": ["orphan"]}),
        ),
    ];
    for (_, _, expect) in cases.iter_mut() {
        let map = expect.as_object_mut().unwrap();
        for (k, v) in orphan_fields.as_object().unwrap() {
            map.entry(k.clone()).or_insert(v.clone());
        }
    }
    // The amendment case's version is 2, not 0.
    cases[6].2["order_version"] = json!(2);
    check(cases);

    check(vec![
        (
            "order arrives after an amendment: the amendment wins (higher version)",
            vec![
                e(ERP, 2, 5, amended(2, Some(30), None, None)),
                e(FLEET, 1, 6, picked_up()),
                e(ERP, 1, -100, created(0, 600)),
            ],
            json!({"status": "in_transit", "anomalies": [], "order_version": 2,
                   "window_start": mt(30), "window_end": mt(600), "customer_id": "cust-1",
                   "contract": {"currency": "USD", "base_cents": 10000, "detention_free_min": 60, "detention_cents_per_hour": 6000},
                   "weight_kg": 1200}),
        ),
        (
            "order arrives: contract figures apply",
            vec![
                e(FLEET, 1, 0, arrived(Stop::Delivery)),
                e(FLEET, 2, 90, departed(Stop::Delivery)),
                e(FLEET, 3, 91, delivered(None)),
                order(),
            ],
            json!({"status": "delivered", "detention_minutes": 30, "expected_detention_cents": 3000,
                   "leakage_cents": 13000, "on_time": true, "anomalies": []}),
        ),
    ]);
}

#[test]
fn order_fields_by_version_then_key() {
    let dest_a = geo(1_000_000, 2_000_000);
    let dest_b = geo(-3_500_000, 4_250_000);
    check(vec![
        (
            "amendment version beats a later time",
            vec![
                order(),
                e(ERP, 2, 5, amended(3, Some(100), None, None)),
                e(ERP, 3, 20, amended(2, Some(200), None, None)),
            ],
            json!({"order_version": 3, "window_start": mt(100), "window_end": mt(600)}),
        ),
        (
            "amendment beats order.created whatever the time",
            vec![
                e(ERP, 2, -500, amended(2, None, Some(700), None)),
                e(ERP, 1, 0, created(0, 600)),
            ],
            json!({"order_version": 2, "window_start": mt(0), "window_end": mt(700)}),
        ),
        (
            "same version: later time wins",
            vec![
                order(),
                e(ERP, 2, 5, amended(2, Some(100), None, None)),
                e(ERP, 3, 6, amended(2, Some(110), None, None)),
            ],
            json!({"order_version": 2, "window_start": mt(110)}),
        ),
        (
            "same version and time: source bytes decide",
            vec![
                order(),
                e("erp/b", 1, 5, amended(2, Some(120), None, None)),
                e("erp/a", 1, 5, amended(2, Some(130), None, None)),
            ],
            json!({"window_start": mt(120)}),
        ),
        (
            "same version, time and source: sequence decides",
            vec![
                order(),
                e(ERP, 3, 5, amended(2, Some(140), None, None)),
                e(ERP, 2, 5, amended(2, Some(150), None, None)),
            ],
            json!({"window_start": mt(140)}),
        ),
        (
            "each field has its own winner",
            vec![
                order(),
                e(ERP, 2, 5, amended(3, Some(100), None, Some(dest_a))),
                e(ERP, 3, 6, amended(4, None, Some(500), None)),
                e(ERP, 4, 7, amended(2, Some(50), Some(400), Some(dest_b))),
            ],
            json!({"order_version": 4, "window_start": mt(100), "window_end": mt(500),
                   "destination": {"lat": 1.0, "lon": 2.0}}),
        ),
        (
            "an amendment that sets nothing still counts its version",
            vec![order(), e(ERP, 2, 5, amended(5, None, None, None))],
            json!({"order_version": 5, "window_start": mt(0), "window_end": mt(600)}),
        ),
        (
            "two order.created: the later wins",
            vec![
                e(ERP, 2, -50, created_with("late", 10, 20, contract())),
                e(ERP, 1, -100, created_with("early", 30, 40, contract())),
            ],
            json!({"order_version": 1, "customer_id": "late", "window_start": mt(10)}),
        ),
        (
            "two order.created at the same time: source bytes decide",
            vec![
                e("erp/a", 1, -50, created_with("from-a", 10, 20, contract())),
                e("erp/b", 1, -50, created_with("from-b", 30, 40, contract())),
            ],
            json!({"customer_id": "from-b", "window_start": mt(30)}),
        ),
        (
            "destination amended",
            vec![order(), e(ERP, 2, 5, amended(2, None, None, Some(dest_b)))],
            json!({"destination": {"lat": -3.5, "lon": 4.25}, "origin": {"lat": 52.520008, "lon": 13.404954}}),
        ),
    ]);
}

#[test]
fn route_and_eta() {
    check(vec![
        (
            "later route.planned wins",
            vec![
                order(),
                e(ROUTE, 1, 10, planned("r-1", 7, 3, 300)),
                e(ROUTE, 2, 20, planned("r-2", 8, 1, 310)),
            ],
            json!({"route": {"route_id": "r-2", "vehicle_id": 8, "stop_index": 1}, "eta": mt(310)}),
        ),
        (
            "eta.revised after the plan moves only the eta",
            vec![
                order(),
                e(ROUTE, 1, 10, planned("r-1", 7, 3, 300)),
                e(ROUTE, 2, 30, eta(333)),
            ],
            json!({"route": {"route_id": "r-1", "vehicle_id": 7, "stop_index": 3}, "eta": mt(333), "status": "planned"}),
        ),
        (
            "a plan after the revision brings its own eta",
            vec![
                order(),
                e(ROUTE, 2, 5, eta(333)),
                e(ROUTE, 1, 10, planned("r-1", 7, 3, 300)),
            ],
            json!({"eta": mt(300)}),
        ),
        (
            "eta.revised alone does not route",
            vec![order(), e(ROUTE, 1, 5, eta(333))],
            json!({"status": "created", "route": null, "eta": mt(333)}),
        ),
        (
            "same time: source bytes decide the route",
            vec![
                order(),
                e("route/b", 1, 10, planned("from-b", 1, 0, 100)),
                e("route/a", 1, 10, planned("from-a", 2, 0, 200)),
            ],
            json!({"route": {"route_id": "from-b", "vehicle_id": 1, "stop_index": 0}, "eta": mt(100)}),
        ),
        (
            "same time and source: sequence decides",
            vec![
                order(),
                e(ROUTE, 2, 10, planned("seq-2", 1, 0, 100)),
                e(ROUTE, 1, 10, planned("seq-1", 2, 0, 200)),
            ],
            json!({"route": {"route_id": "seq-2", "vehicle_id": 1, "stop_index": 0}}),
        ),
    ]);
}

#[test]
fn milestones() {
    check(vec![
        (
            "each milestone keeps its latest event time",
            vec![
                order(),
                e(FLEET, 1, 10, arrived(Stop::Pickup)),
                e(FLEET, 2, 12, arrived(Stop::Pickup)),
                e(FLEET, 3, 20, departed(Stop::Pickup)),
                e(FLEET, 4, 21, picked_up()),
                e(FLEET, 5, 200, arrived(Stop::Delivery)),
                e(FLEET, 6, 190, arrived(Stop::Delivery)),
                e(FLEET, 7, 230, departed(Stop::Delivery)),
            ],
            json!({"pickup_arrived": mt(12), "pickup_departed": mt(20), "picked_up": mt(21),
                   "delivery_arrived": mt(200), "delivery_departed": mt(230), "delivered": null}),
        ),
        (
            "pod comes from the winning delivery, even when it has none",
            vec![
                order(),
                e(FLEET, 1, 300, delivered(Some("ann"))),
                e(FLEET, 2, 310, delivered(None)),
            ],
            json!({"delivered": mt(310), "pod": null}),
        ),
        (
            "pod of the later delivery",
            vec![
                order(),
                e(FLEET, 2, 310, delivered(Some("bob"))),
                e(FLEET, 1, 300, delivered(Some("ann"))),
            ],
            json!({"delivered": mt(310), "pod": {"signed_by": "bob", "photo_ref": "photo-bob"}}),
        ),
        (
            "same delivery time: source bytes pick the pod",
            vec![
                order(),
                e("fleet/b", 1, 300, delivered(Some("from-b"))),
                e("fleet/a", 1, 300, delivered(Some("from-a"))),
            ],
            json!({"pod": {"signed_by": "from-b", "photo_ref": "photo-from-b"}}),
        ),
        (
            "same delivery time and source: sequence picks the pod",
            vec![
                order(),
                e(FLEET, 1, 300, delivered(Some("seq-1"))),
                e(FLEET, 2, 300, delivered(Some("seq-2"))),
            ],
            json!({"pod": {"signed_by": "seq-2", "photo_ref": "photo-seq-2"}}),
        ),
        (
            "failed attempts are counted",
            vec![
                order(),
                e(FLEET, 1, 100, failed()),
                e(FLEET, 2, 200, failed()),
            ],
            json!({"failed_attempts": 2, "status": "created"}),
        ),
        ("no failures", vec![order()], json!({"failed_attempts": 0})),
    ]);
}

#[test]
fn charges_and_tombstones() {
    use ChargeKind::*;
    check(vec![
        (
            "billed sums non-voided charges",
            vec![
                order(),
                e(BILL, 1, 10, charge("c1", Base, 10_000, USD)),
                e(BILL, 2, 11, charge("c2", Fuel, 1_500, USD)),
                e(BILL, 3, 12, charge("c3", Waiting, 700, USD)),
                e(BILL, 4, 13, void("c3")),
            ],
            json!({"billed_cents": 11_500, "unbilled_charge_ids": ["c1", "c2"],
                   "charges": [
                       {"id": "c1", "kind": "base", "amount_cents": 10000, "currency": "USD", "voided": false},
                       {"id": "c2", "kind": "fuel", "amount_cents": 1500, "currency": "USD", "voided": false},
                       {"id": "c3", "kind": "waiting", "amount_cents": 700, "currency": "USD", "voided": true}]}),
        ),
        (
            "void before add: the add arrives voided",
            vec![
                order(),
                e(BILL, 2, 20, void("c1")),
                e(BILL, 1, 10, charge("c1", Fuel, 100, USD)),
            ],
            json!({"billed_cents": 0, "unbilled_charge_ids": [],
                   "charges": [{"id": "c1", "kind": "fuel", "amount_cents": 100, "currency": "USD", "voided": true}]}),
        ),
        (
            "add after void (later time) stays voided",
            vec![
                order(),
                e(BILL, 1, 10, void("c1")),
                e(BILL, 2, 20, charge("c1", Fuel, 100, USD)),
            ],
            json!({"billed_cents": 0, "unbilled_charge_ids": []}),
        ),
        (
            "a voided-only id is not a charge",
            vec![order(), e(BILL, 1, 10, void("ghost"))],
            json!({"charges": [], "billed_cents": 0, "unbilled_charge_ids": []}),
        ),
        (
            "later charge.added wins",
            vec![
                order(),
                e(BILL, 2, 20, charge("c1", Detention, 900, USD)),
                e(BILL, 1, 10, charge("c1", Fuel, 100, USD)),
            ],
            json!({"billed_cents": 900, "charges": [{"id": "c1", "kind": "detention", "amount_cents": 900, "currency": "USD", "voided": false}]}),
        ),
        (
            "same time: source bytes decide the charge",
            vec![
                order(),
                e("billing/b", 1, 10, charge("c1", Fuel, 222, USD)),
                e("billing/a", 1, 10, charge("c1", Fuel, 111, USD)),
            ],
            json!({"billed_cents": 222}),
        ),
        (
            "same time and source: sequence decides the charge",
            vec![
                order(),
                e(BILL, 9, 10, charge("c1", Fuel, 999, USD)),
                e(BILL, 8, 10, charge("c1", Fuel, 888, USD)),
            ],
            json!({"billed_cents": 999}),
        ),
        (
            "unbilled ids sort by bytes",
            vec![
                order(),
                e(BILL, 1, 10, charge("b", Fuel, 1, USD)),
                e(BILL, 2, 11, charge("a", Fuel, 1, USD)),
                e(BILL, 3, 12, charge("B", Fuel, 1, USD)),
                e(BILL, 4, 13, charge("c", Fuel, 1, USD)),
                e(BILL, 5, 14, invoice("i1", 1, &["c"])),
            ],
            json!({"unbilled_charge_ids": ["B", "a", "b"]}),
        ),
    ]);
}

#[test]
fn detention() {
    use ChargeKind::*;
    // Contract: 60 free minutes, 6000 cents per hour. Arrival at minute 0.
    let at = |departed_us: i64, extra: Vec<Event>| {
        let mut v = vec![
            order(),
            e(FLEET, 1, 0, arrived(Stop::Delivery)),
            event(FLEET, 2, departed_us, 1, departed(Stop::Delivery)),
        ];
        v.extend(extra);
        v
    };
    let sec = 1_000_000;
    check(vec![
        (
            "exactly the free minutes",
            at(m(60), vec![]),
            json!({"detention_minutes": 0, "expected_detention_cents": 0}),
        ),
        (
            "one minute past the free minutes",
            at(m(61), vec![]),
            json!({"detention_minutes": 1, "expected_detention_cents": 100}),
        ),
        (
            "seconds floor to minutes",
            at(m(61) + 59 * sec, vec![]),
            json!({"detention_minutes": 1}),
        ),
        (
            "one microsecond short of a minute",
            at(m(61) - 1, vec![]),
            json!({"detention_minutes": 0}),
        ),
        (
            "departure before arrival",
            at(m(-30), vec![]),
            json!({"detention_minutes": 0, "expected_detention_cents": 0}),
        ),
        (
            "departure 30 s before arrival floors to -1 minute",
            at(m(0) - 30 * sec, vec![]),
            json!({"detention_minutes": 0}),
        ),
        (
            "arrival only",
            vec![order(), e(FLEET, 1, 0, arrived(Stop::Delivery))],
            json!({"detention_minutes": 0}),
        ),
        (
            "departure only",
            vec![order(), e(FLEET, 1, 100, departed(Stop::Delivery))],
            json!({"detention_minutes": 0}),
        ),
        (
            "pickup stops do not count",
            vec![
                order(),
                e(FLEET, 1, 0, arrived(Stop::Pickup)),
                e(FLEET, 2, 500, departed(Stop::Pickup)),
            ],
            json!({"detention_minutes": 0}),
        ),
        (
            "expected cents floor",
            vec![
                e(
                    ERP,
                    1,
                    -100,
                    created_with(
                        "c",
                        0,
                        600,
                        waybill_core::event::Contract {
                            currency: USD,
                            base_cents: 0,
                            detention_free_min: 0,
                            detention_cents_per_hour: 6001,
                        },
                    ),
                ),
                e(FLEET, 1, 0, arrived(Stop::Delivery)),
                e(FLEET, 2, 1, departed(Stop::Delivery)),
            ],
            // 1 * 6001 / 60 = 100.01 -> 100
            json!({"detention_minutes": 1, "expected_detention_cents": 100}),
        ),
        (
            "leakage: nothing billed on a delivered shipment",
            at(m(90), vec![e(FLEET, 3, 100, delivered(None))]),
            json!({"detention_minutes": 30, "expected_detention_cents": 3000, "leakage_cents": 13_000}),
        ),
        (
            "leakage: base billed, detention partly billed",
            at(
                m(90),
                vec![
                    e(FLEET, 3, 100, delivered(None)),
                    e(BILL, 1, 110, charge("base", Base, 10_000, USD)),
                    e(BILL, 2, 111, charge("det", Detention, 1_000, USD)),
                ],
            ),
            json!({"leakage_cents": 2_000}),
        ),
        (
            "leakage: detention over-billed counts 0, not negative",
            at(
                m(90),
                vec![
                    e(FLEET, 3, 100, delivered(None)),
                    e(BILL, 1, 110, charge("base", Base, 1, USD)),
                    e(BILL, 2, 111, charge("det", Detention, 99_999, USD)),
                ],
            ),
            json!({"leakage_cents": 0}),
        ),
        (
            "leakage: a voided base charge does not count",
            at(
                m(60),
                vec![
                    e(FLEET, 3, 100, delivered(None)),
                    e(BILL, 1, 110, charge("base", Base, 10_000, USD)),
                    e(BILL, 2, 111, void("base")),
                ],
            ),
            json!({"leakage_cents": 10_000}),
        ),
        (
            "leakage: a voided detention charge does not count",
            at(
                m(90),
                vec![
                    e(FLEET, 3, 100, delivered(None)),
                    e(BILL, 1, 110, charge("base", Base, 10_000, USD)),
                    e(BILL, 2, 111, charge("det", Detention, 3_000, USD)),
                    e(BILL, 3, 112, void("det")),
                ],
            ),
            json!({"leakage_cents": 3_000}),
        ),
        (
            "leakage: 0 until delivered",
            at(m(90), vec![]),
            json!({"leakage_cents": 0, "expected_detention_cents": 3000}),
        ),
    ]);
}

#[test]
fn on_time() {
    let delivered_at = |minute: i64| vec![order(), e(FLEET, 1, minute, delivered(None))];
    check(vec![
        ("at window start", delivered_at(0), json!({"on_time": true})),
        ("at window end", delivered_at(600), json!({"on_time": true})),
        ("inside", delivered_at(300), json!({"on_time": true})),
        (
            "before the window",
            delivered_at(-1),
            json!({"on_time": false}),
        ),
        (
            "after the window",
            delivered_at(601),
            json!({"on_time": false}),
        ),
        (
            "one microsecond late",
            vec![order(), event(FLEET, 1, m(600) + 1, 1, delivered(None))],
            json!({"on_time": false}),
        ),
        ("not delivered", vec![order()], json!({"on_time": null})),
        (
            "orphan: window unknown",
            vec![e(FLEET, 1, 300, delivered(None))],
            json!({"on_time": null}),
        ),
        (
            "amended window counts",
            vec![
                order(),
                e(ERP, 2, 1, amended(2, None, Some(200), None)),
                e(FLEET, 1, 300, delivered(None)),
            ],
            json!({"on_time": false, "window_end": mt(200)}),
        ),
    ]);
}

#[test]
fn invoices() {
    use ChargeKind::*;
    let base = || {
        vec![
            order(),
            e(BILL, 1, 10, charge("c1", Base, 10_000, USD)),
            e(BILL, 2, 11, charge("c2", Fuel, 500, USD)),
        ]
    };
    let with = |extra: Vec<Event>| {
        let mut v = base();
        v.extend(extra);
        v
    };
    check(vec![
        (
            "no invoices",
            base(),
            json!({"invoice_status": "none", "invoices": []}),
        ),
        (
            "issued",
            with(vec![e(BILL, 3, 20, invoice("i1", 10_500, &["c1", "c2"]))]),
            json!({"invoice_status": "issued", "unbilled_charge_ids": [], "anomalies": [],
                   "invoices": [{"id": "i1", "total_cents": 10500, "charge_ids": ["c1", "c2"], "settled_cents": null}]}),
        ),
        (
            "settled at its total",
            with(vec![
                e(BILL, 3, 20, invoice("i1", 10_500, &["c1", "c2"])),
                e(ERP, 2, 30, settled("i1", 10_500)),
            ]),
            json!({"invoice_status": "settled",
                   "invoices": [{"id": "i1", "total_cents": 10500, "charge_ids": ["c1", "c2"], "settled_cents": 10500}]}),
        ),
        (
            "settlement before the invoice",
            with(vec![
                e(ERP, 2, 5, settled("i1", 10_500)),
                e(BILL, 3, 20, invoice("i1", 10_500, &["c1", "c2"])),
            ]),
            json!({"invoice_status": "settled"}),
        ),
        (
            "settled at another amount: disputed",
            with(vec![
                e(BILL, 3, 20, invoice("i1", 10_500, &["c1", "c2"])),
                e(ERP, 2, 30, settled("i1", 10_000)),
            ]),
            json!({"invoice_status": "disputed"}),
        ),
        (
            "later settlement wins",
            with(vec![
                e(BILL, 3, 20, invoice("i1", 10_500, &["c1", "c2"])),
                e(ERP, 3, 40, settled("i1", 10_500)),
                e(ERP, 2, 30, settled("i1", 10_000)),
            ]),
            json!({"invoice_status": "settled"}),
        ),
        (
            "one of two settled: issued",
            with(vec![
                e(BILL, 3, 20, invoice("i1", 10_000, &["c1"])),
                e(BILL, 4, 21, invoice("i2", 500, &["c2"])),
                e(ERP, 2, 30, settled("i1", 10_000)),
            ]),
            json!({"invoice_status": "issued"}),
        ),
        (
            "both settled",
            with(vec![
                e(BILL, 3, 20, invoice("i1", 10_000, &["c1"])),
                e(BILL, 4, 21, invoice("i2", 500, &["c2"])),
                e(ERP, 2, 30, settled("i1", 10_000)),
                e(ERP, 3, 31, settled("i2", 500)),
            ]),
            json!({"invoice_status": "settled"}),
        ),
        (
            "one disputed, one unsettled: disputed",
            with(vec![
                e(BILL, 3, 20, invoice("i1", 10_000, &["c1"])),
                e(BILL, 4, 21, invoice("i2", 500, &["c2"])),
                e(ERP, 2, 30, settled("i1", 1)),
            ]),
            json!({"invoice_status": "disputed"}),
        ),
        (
            "settlement for an unknown invoice is ignored",
            with(vec![
                e(BILL, 3, 20, invoice("i1", 10_500, &["c1", "c2"])),
                e(ERP, 2, 30, settled("nope", 5)),
            ]),
            json!({"invoice_status": "issued",
                   "invoices": [{"id": "i1", "total_cents": 10500, "charge_ids": ["c1", "c2"], "settled_cents": null}]}),
        ),
        (
            "settlement alone: none",
            with(vec![e(ERP, 2, 30, settled("nope", 5))]),
            json!({"invoice_status": "none", "invoices": []}),
        ),
        (
            "later invoice.issued wins",
            with(vec![
                e(BILL, 4, 21, invoice("i1", 10_000, &["c1"])),
                e(BILL, 3, 20, invoice("i1", 10_500, &["c1", "c2"])),
            ]),
            json!({"unbilled_charge_ids": ["c2"],
                   "invoices": [{"id": "i1", "total_cents": 10000, "charge_ids": ["c1"], "settled_cents": null}]}),
        ),
        (
            "invoices sort by id",
            with(vec![
                e(BILL, 3, 20, invoice("i2", 500, &["c2"])),
                e(BILL, 4, 21, invoice("i10", 10_000, &["c1"])),
            ]),
            json!({"invoices": [
                {"id": "i10", "total_cents": 10000, "charge_ids": ["c1"], "settled_cents": null},
                {"id": "i2", "total_cents": 500, "charge_ids": ["c2"], "settled_cents": null}]}),
        ),
    ]);
}

#[test]
fn invoice_ready() {
    use ChargeKind::*;
    let ready = || {
        vec![
            order(),
            e(FLEET, 1, 300, delivered(Some("ann"))),
            e(BILL, 1, 310, charge("c1", Base, 10_000, USD)),
            e(BILL, 2, 320, invoice("i1", 10_000, &["c1"])),
        ]
    };
    let without = |drop: usize| {
        let mut v = ready();
        v.remove(drop);
        v
    };
    check(vec![
        (
            "every condition holds",
            ready(),
            json!({"invoice_ready": true}),
        ),
        ("not delivered", without(1), json!({"invoice_ready": false})),
        (
            "delivered without pod",
            {
                let mut v = ready();
                v[1] = e(FLEET, 1, 300, delivered(None));
                v
            },
            json!({"invoice_ready": false, "pod": null}),
        ),
        (
            "no invoice",
            without(3),
            json!({"invoice_ready": false, "unbilled_charge_ids": ["c1"]}),
        ),
        (
            "an unbilled charge",
            {
                let mut v = ready();
                v.push(e(BILL, 3, 330, charge("c2", Fuel, 100, USD)));
                v
            },
            json!({"invoice_ready": false, "unbilled_charge_ids": ["c2"]}),
        ),
        (
            "a voided unbilled charge does not block",
            {
                let mut v = ready();
                v.push(e(BILL, 3, 330, charge("c2", Fuel, 100, USD)));
                v.push(e(BILL, 4, 331, void("c2")));
                v
            },
            json!({"invoice_ready": true}),
        ),
        (
            "an invoice without charges is enough",
            vec![
                order(),
                e(FLEET, 1, 300, delivered(Some("ann"))),
                e(BILL, 2, 320, invoice("i1", 1, &[])),
            ],
            json!({"invoice_ready": true, "anomalies": ["invoice_total_mismatch"]}),
        ),
    ]);
}

#[test]
fn order_to_dispatch_minutes() {
    let sec = 1_000_000;
    // The order's time is minute -100.
    let picked_at = |us: i64| vec![order(), event(FLEET, 1, us, 1, picked_up())];
    check(vec![
        (
            "no order: null",
            vec![e(FLEET, 1, 60, picked_up())],
            json!({"order_to_dispatch_minutes": null, "status": "in_transit"}),
        ),
        (
            "not picked up: null",
            vec![order(), e(FLEET, 1, 10, departed(Stop::Pickup))],
            json!({"order_to_dispatch_minutes": null}),
        ),
        (
            "whole minutes from the order to the pickup",
            picked_at(m(60)),
            json!({"order_to_dispatch_minutes": 160}),
        ),
        (
            "seconds floor to minutes",
            picked_at(m(60) + 59 * sec),
            json!({"order_to_dispatch_minutes": 160}),
        ),
        (
            "picked up at the order's time",
            picked_at(m(-100)),
            json!({"order_to_dispatch_minutes": 0}),
        ),
        (
            "picked up 30 s before the order's time floors to -1",
            picked_at(m(-100) - 30 * sec),
            json!({"order_to_dispatch_minutes": -1}),
        ),
        (
            "picked up an hour before the order's time",
            picked_at(m(-160)),
            json!({"order_to_dispatch_minutes": -60}),
        ),
        (
            "two order.created: the greatest key counts",
            vec![
                e(ERP, 2, -50, created_with("late", 0, 600, contract())),
                e(ERP, 9, -100, created_with("early", 0, 600, contract())),
                e(FLEET, 1, 60, picked_up()),
            ],
            json!({"customer_id": "late", "order_to_dispatch_minutes": 110}),
        ),
        (
            "two pickups: the latest counts",
            vec![
                order(),
                e(FLEET, 1, 60, picked_up()),
                e(FLEET, 2, 30, picked_up()),
            ],
            json!({"picked_up": mt(60), "order_to_dispatch_minutes": 160}),
        ),
        (
            "the order arrives after the pickup",
            vec![e(FLEET, 1, 60, picked_up()), order()],
            json!({"status": "in_transit", "order_to_dispatch_minutes": 160}),
        ),
    ]);
}

#[test]
fn invoice_cycle_minutes() {
    let sec = 1_000_000;
    // Delivered at minute 300.
    let with = |extra: Vec<Event>| {
        let mut v = vec![order(), e(FLEET, 1, 300, delivered(Some("ann")))];
        v.extend(extra);
        v
    };
    check(vec![
        (
            "not invoiced: null",
            with(vec![]),
            json!({"invoice_cycle_minutes": null}),
        ),
        (
            "not delivered: null",
            vec![order(), e(BILL, 1, 320, invoice("i1", 1, &[]))],
            json!({"invoice_cycle_minutes": null, "invoice_status": "issued"}),
        ),
        (
            "one invoice",
            with(vec![e(BILL, 1, 320, invoice("i1", 1, &[]))]),
            json!({"invoice_cycle_minutes": 20}),
        ),
        (
            "seconds floor to minutes",
            with(vec![event(
                BILL,
                1,
                m(320) + 59 * sec,
                1,
                invoice("i1", 1, &[]),
            )]),
            json!({"invoice_cycle_minutes": 20}),
        ),
        (
            "two invoices: the earliest counts",
            with(vec![
                e(BILL, 1, 340, invoice("i1", 1, &[])),
                e(BILL, 2, 325, invoice("i2", 1, &[])),
            ]),
            json!({"invoice_cycle_minutes": 25}),
        ),
        (
            "an invoice re-issued later counts from its winning issue",
            with(vec![
                e(BILL, 1, 305, invoice("i1", 1, &[])),
                e(BILL, 2, 350, invoice("i1", 1, &[])),
                e(BILL, 3, 360, invoice("i2", 1, &[])),
            ]),
            json!({"invoice_cycle_minutes": 50}),
        ),
        (
            "a re-issue with an earlier time does not win",
            with(vec![
                e(BILL, 2, 330, invoice("i1", 1, &[])),
                e(BILL, 3, 310, invoice("i1", 1, &[])),
            ]),
            json!({"invoice_cycle_minutes": 30}),
        ),
        (
            "invoiced before the delivery: 0",
            with(vec![e(BILL, 1, 200, invoice("i1", 1, &[]))]),
            json!({"invoice_cycle_minutes": 0}),
        ),
        (
            "invoiced 1 us before the delivery: 0",
            with(vec![event(BILL, 1, m(300) - 1, 1, invoice("i1", 1, &[]))]),
            json!({"invoice_cycle_minutes": 0}),
        ),
        (
            "a settlement alone is no invoice",
            with(vec![e(ERP, 2, 320, settled("i1", 1))]),
            json!({"invoice_cycle_minutes": null, "invoice_status": "none"}),
        ),
        (
            "a settled invoice counts from its issue",
            with(vec![
                e(ERP, 2, 330, settled("i1", 1)),
                e(BILL, 1, 310, invoice("i1", 1, &[])),
            ]),
            json!({"invoice_cycle_minutes": 10, "invoice_status": "settled"}),
        ),
        (
            "orphan: delivered and invoiced is enough",
            vec![
                e(FLEET, 1, 300, delivered(None)),
                e(BILL, 1, 301, invoice("i1", 1, &[])),
            ],
            json!({"invoice_cycle_minutes": 1, "status": "delivered", "customer_id": null}),
        ),
    ]);
}

#[test]
fn anomalies() {
    use ChargeKind::*;
    check(vec![
        (
            "currency mismatch",
            vec![order(), e(BILL, 1, 10, charge("c1", Fuel, 100, EUR))],
            json!({"anomalies": ["currency_mismatch"]}),
        ),
        (
            "a voided charge in another currency is fine",
            vec![
                order(),
                e(BILL, 1, 10, charge("c1", Fuel, 100, EUR)),
                e(BILL, 2, 11, void("c1")),
            ],
            json!({"anomalies": []}),
        ),
        (
            "the winning add decides the currency",
            vec![
                order(),
                e(BILL, 1, 10, charge("c1", Fuel, 100, EUR)),
                e(BILL, 2, 11, charge("c1", Fuel, 100, USD)),
            ],
            json!({"anomalies": []}),
        ),
        (
            "invoice total differs from its charges",
            vec![
                order(),
                e(BILL, 1, 10, charge("c1", Fuel, 100, USD)),
                e(BILL, 2, 11, invoice("i", 101, &["c1"])),
            ],
            json!({"anomalies": ["invoice_total_mismatch"]}),
        ),
        (
            "unknown and voided listed ids count 0",
            vec![
                order(),
                e(BILL, 1, 10, charge("c1", Fuel, 100, USD)),
                e(BILL, 2, 11, charge("c2", Fuel, 50, USD)),
                e(BILL, 3, 12, void("c2")),
                e(BILL, 4, 13, invoice("i", 100, &["c1", "c2", "unknown"])),
            ],
            json!({"anomalies": [], "unbilled_charge_ids": []}),
        ),
        (
            "a listed id added later counts",
            vec![
                order(),
                e(BILL, 4, 13, invoice("i", 100, &["c1", "c2"])),
                e(BILL, 1, 20, charge("c1", Fuel, 60, USD)),
                e(BILL, 2, 21, charge("c2", Fuel, 40, USD)),
            ],
            json!({"anomalies": [], "billed_cents": 100}),
        ),
        (
            "all four, sorted",
            vec![
                e(ERP, 1, 0, cancelled()),
                e(FLEET, 1, 10, delivered(None)),
                e(BILL, 1, 10, charge("c1", Fuel, 100, EUR)),
                e(BILL, 2, 11, invoice("i", 5, &["c1"])),
            ],
            // Orphan: no contract, so no currency mismatch yet.
            json!({"anomalies": ["delivered_and_cancelled", "invoice_total_mismatch", "orphan"]}),
        ),
        (
            "all four with an order",
            vec![
                order(),
                e(ERP, 2, 0, cancelled()),
                e(FLEET, 1, 10, delivered(None)),
                e(BILL, 1, 10, charge("c1", Fuel, 100, EUR)),
                e(BILL, 2, 11, invoice("i", 5, &["c1"])),
            ],
            json!({"anomalies": ["currency_mismatch", "delivered_and_cancelled", "invoice_total_mismatch"]}),
        ),
    ]);
}

#[test]
fn vehicle_position_is_last_writer_wins() {
    let pos = |src: &str, seq: u64, minute: i64, lat: i32| {
        event(src, seq, m(minute), 42, position(lat, -500_000, 88_500))
    };
    let cases: Vec<(&str, Vec<Event>, i32)> = vec![
        (
            "later time wins",
            vec![pos("fleet/v", 2, 10, 1), pos("fleet/v", 1, 5, 2)],
            1,
        ),
        (
            "same time: source bytes",
            vec![pos("fleet/b", 1, 10, 3), pos("fleet/a", 9, 10, 4)],
            3,
        ),
        (
            "same time and source: sequence",
            vec![pos("fleet/v", 2, 10, 5), pos("fleet/v", 1, 10, 6)],
            5,
        ),
    ];
    for (name, events, lat) in cases {
        for events in [events.clone(), events.iter().rev().cloned().collect()] {
            let mut srcs = distinct_sources(&events);
            srcs.reverse();
            let (state, sources) = build(&srcs, &events);
            assert_eq!(state.vehicle_count(), 1, "{name}");
            assert_eq!(state.shipment_count(), 0, "{name}");
            let v = state.vehicle_view(42).expect("vehicle");
            assert_eq!(v.lat.value, i64::from(lat), "{name}");
            assert_eq!(state.vehicle_ids(), vec![42]);
            assert_ne!(state.digest(&sources), Digest::ZERO);
        }
    }
    let (state, _) = build(
        &[],
        &[event(
            "fleet/v",
            1,
            m(1),
            42,
            position(-33_868_820, 151_209_296, 88_500),
        )],
    );
    let json = serde_json::to_string(&state.vehicle_view(42).unwrap()).unwrap();
    assert_eq!(
        json,
        format!(
            r#"{{"id":42,"lat":-33.86882,"lon":151.209296,"speed_kph":88.5,"time":"{}"}}"#,
            mt(1)
        )
    );
    assert!(state.vehicle_view(7).is_none());
}

#[test]
fn view_json_shape() {
    let (state, sources) = build(&[], &[order(), event(FLEET, 1, m(1), 9, picked_up())]);
    assert_eq!(state.shipment_ids(), vec![1, 9]);
    assert_eq!(state.shipment_count(), 2);
    assert!(state.shipment_view(2, &sources).is_none());
    let json = serde_json::to_string(&state.shipment_view(1, &sources).unwrap()).unwrap();
    let names: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&json)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    // serde_json's Map sorts keys; the fields of docs/state.md (the shipment view) must all be
    // present.
    for field in [
        "id",
        "status",
        "order_version",
        "cancelled",
        "window_start",
        "window_end",
        "delivered",
        "on_time",
        "billed_cents",
        "detention_minutes",
        "expected_detention_cents",
        "leakage_cents",
        "unbilled_charge_ids",
        "invoice_status",
        "invoice_ready",
        "order_to_dispatch_minutes",
        "invoice_cycle_minutes",
        "failed_attempts",
        "anomalies",
    ] {
        assert!(names.iter().any(|n| n == field), "missing {field}");
    }
    assert!(json.starts_with(r#"{"id":1,"status":"created","order_version":1,"cancelled":false,"window_start":"2026-11-27T08:00:00Z""#), "{json}");
}

#[test]
fn reapplying_events_leaves_the_digest_unchanged() {
    use ChargeKind::*;
    // Everything but delivery.failed is idempotent (duplicates never reach apply anyway).
    let events = vec![
        order(),
        e(ERP, 2, 5, amended(2, Some(10), None, None)),
        e(ROUTE, 1, 10, planned("r", 1, 2, 300)),
        e(FLEET, 1, 300, delivered(Some("ann"))),
        e(BILL, 1, 310, charge("c1", Base, 10_000, USD)),
        e(BILL, 2, 311, void("c1")),
        e(BILL, 3, 320, invoice("i1", 10_000, &["c1"])),
        e(ERP, 3, 330, settled("i1", 10_000)),
    ];
    let (mut state, mut sources) = build(&[], &events);
    let before = state.digest(&sources);
    for ev in &events {
        apply(&mut state, &mut sources, ev);
    }
    assert_eq!(state.digest(&sources), before);
}
