//! The oracle and the real core agree: random small worlds with colliding keys (same times,
//! same ids, competing versions), delivered in random orders with redeliveries, must give
//! no difference on any shipment.

mod oracle_support;

use oracle_support::*;
use proptest::prelude::*;
use waybill_core::event::{Body, ChargeKind, Entry, Event, GeoPoint, Stop, System};

fn time() -> impl Strategy<Value = i64> {
    // Few distinct instants, some within the same minute: keys collide on time.
    (0i64..6, 0i64..3).prop_map(|(k, j)| m(k) + j * 20_000_000)
}

fn currency() -> impl Strategy<Value = [u8; 3]> {
    prop_oneof![Just(*b"EUR"), Just(*b"USD")]
}

fn id(prefix: &'static str, n: u32) -> impl Strategy<Value = String> {
    (1..=n).prop_map(move |i| format!("{prefix}{i}"))
}

fn stop() -> impl Strategy<Value = Stop> {
    prop_oneof![Just(Stop::Pickup), Just(Stop::Delivery)]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        (
            time(),
            0i64..3,
            currency(),
            0i64..3,
            0u32..3,
            prop_oneof![Just(0i64), Just(60), Just(6001)]
        )
            .prop_map(|(start, len, cur, base, free, per_hour)| created(
                start,
                start + len * 60_000_000,
                contract(&cur, base * 1000, free, per_hour)
            )),
        (
            2u32..5,
            proptest::option::of(time()),
            proptest::option::of(0i64..3)
        )
            .prop_map(|(v, start, len)| {
                let end = len.map(|l| start.unwrap_or(m(0)) + l * 60_000_000);
                amended(v, start, end)
            }),
        Just(Body::OrderCancelled { reason: "r".into() }),
        (id("i", 3), 1i64..4).prop_map(|(i, a)| settled(&i, a * 100)),
        (0u64..3, time()).prop_map(|(v, eta)| Body::RoutePlanned {
            route_id: format!("r{v}"),
            vehicle_id: v,
            stop_index: 1,
            eta_us: eta,
        }),
        time().prop_map(|eta| Body::EtaRevised { eta_us: eta }),
        (0i32..5).prop_map(|x| Body::VehiclePosition {
            position: GeoPoint {
                lat_ud: x,
                lon_ud: -x
            },
            speed_kph_milli: x as u32,
            heading_deg: None,
            accuracy_mm: None,
        }),
        stop().prop_map(arrived),
        stop().prop_map(departed),
        Just(Body::ShipmentPickedUp),
        proptest::option::of(prop_oneof![Just("Ann"), Just("Bo")]).prop_map(delivered),
        Just(Body::DeliveryFailed { reason: "f".into() }),
        (id("c", 3), 0usize..6, 1i64..4, currency()).prop_map(|(c, k, a, cur)| charge(
            &c,
            ChargeKind::ALL[k],
            a * 100,
            &cur
        )),
        id("c", 4).prop_map(|c| void(&c)),
        (
            id("i", 3),
            1i64..7,
            proptest::collection::vec(id("c", 4), 0..4)
        )
            .prop_map(|(i, total, ids)| {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                invoice(&i, total * 100, &ids)
            }),
    ]
}

/// Random events over a few shipments and two sources per system; sequences are unique per
/// source (with gaps, and crossing digit counts so that 9 < 10 matters).
fn events() -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec((body(), time(), 1u64..4, 0usize..2), 1..60).prop_map(|specs| {
        let mut next = std::collections::HashMap::<String, u64>::new();
        specs
            .into_iter()
            .map(|(body, t, subject, which)| {
                let system = body.event_type().owner();
                let name = ["a", "b"][if system == System::Route { 0 } else { which }];
                let source = format!("{}/{name}", system.as_str());
                let seq = next.entry(source.clone()).or_insert(0);
                *seq += 1;
                ev(&source, *seq * 3 + 1, t, subject, body)
            })
            .collect()
    })
}

/// The events in a random order, some of them twice.
fn deliveries() -> impl Strategy<Value = (Vec<Event>, Vec<Entry>)> {
    events().prop_flat_map(|evs| {
        let n = evs.len();
        (
            Just(evs),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            proptest::collection::vec(0..n, 0..n.max(1)),
        )
            .prop_map(|(evs, order, again)| {
                let entries = order
                    .iter()
                    .chain(&again)
                    .map(|&i| Entry::Event(evs[i].clone()))
                    .collect();
                (evs, entries)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn oracle_and_core_agree_on_every_shipment((evs, entries) in deliveries()) {
        let want = oracle(&evs);
        let (views, counters) = core_views(&entries);
        prop_assert_eq!(counters.applied as usize, evs.len());
        prop_assert_eq!(
            views.keys().collect::<Vec<_>>(),
            want.shipments.keys().collect::<Vec<_>>()
        );
        for (id, view) in &views {
            let diff = want.shipments[id].diff(view);
            prop_assert!(diff.is_empty(), "shipment {}: {:#?}", id, diff);
        }
        // Leakage per currency: the contract's, `unknown` without one.
        let mut leak: std::collections::BTreeMap<String, i128> = Default::default();
        for v in views.values() {
            let currency = v.contract.as_ref().map_or("unknown", |c| c.currency.as_str());
            *leak.entry(currency.to_string()).or_default() += v.leakage_cents;
        }
        let want_leak: std::collections::BTreeMap<String, i128> = want
            .by_currency
            .iter()
            .map(|(k, c)| (k.clone(), c.leakage_cents))
            .collect();
        prop_assert_eq!(want_leak, leak);
        prop_assert_eq!(
            want.leaking_shipments,
            views.values().filter(|v| v.leakage_cents > 0).count() as u64
        );
    }
}
