//! Sums never wrap and money is never added across currencies: the summary's `missing` and
//! `totals`, and a shipment's money fields, are exact.

mod state_support;

use serde_json::{Value, json};
use state_support::*;
use waybill_core::decode::decode;
use waybill_core::engine::Core;
use waybill_core::event::{ChargeKind, Contract, Entry, Event, Stop};
use waybill_core::journal::JournalOptions;
use waybill_core::machine::Summary;

fn core() -> (tempfile::TempDir, Core) {
    let dir = tempfile::tempdir().unwrap();
    let core = Core::open(dir.path(), JournalOptions::default()).unwrap();
    (dir, core)
}

fn ingest(core: &mut Core, events: &[Event]) {
    let entries: Vec<Entry> = events.iter().cloned().map(Entry::Event).collect();
    core.ingest(&entries, T0_US).unwrap();
}

fn summary_json(s: &Summary) -> Value {
    serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap()
}

/// Issue reproduction: two sources each sending sequence 18446744073709551615 made `missing`
/// wrap to 18446744073709551612. Both the wire and the typed path.
#[test]
fn missing_is_exact_past_64_bits() {
    let line = |source: &str| {
        format!(
            r#"{{"specversion":"1.0","id":"x","source":"{source}","sequence":"18446744073709551615","type":"vehicle.position","time":"2026-11-27T08:00:00Z","subject":"vehicle/1","data":{{"lat":1,"lon":2,"speed_kph":3}}}}"#
        )
    };
    let (_dir, mut core) = core();
    let entries = [
        decode(line("fleet/a").as_bytes()),
        decode(line("fleet/b").as_bytes()),
    ];
    let report = core.ingest(&entries, T0_US).unwrap();
    assert_eq!(report.counters.applied, 2);
    let s = core.machine().summary();
    let want: u128 = 2 * (u128::from(u64::MAX) - 1);
    assert_eq!(s.missing, want);
    assert_eq!(want.to_string(), "36893488147419103228");
    let text = serde_json::to_string(&s).unwrap();
    assert!(
        text.contains(r#""missing":"36893488147419103228","#),
        "{text}"
    );
    let value = serde_json::to_value(&s).unwrap();
    assert_eq!(value["missing"], "36893488147419103228");
    assert!(s.gaps.iter().all(|g| g.missing == u64::MAX - 1));
}

fn contract_in(currency: [u8; 3], base_cents: i64, per_hour: i64) -> Contract {
    Contract {
        currency,
        base_cents,
        detention_free_min: 0,
        detention_cents_per_hour: per_hour,
    }
}

/// A delivered shipment `id` in `currency` with `minutes` of detention and these charges.
fn delivered_shipment(
    id: u64,
    contract: Contract,
    minutes: i64,
    charges: &[(&str, ChargeKind, i64, [u8; 3])],
) -> Vec<Event> {
    let mut seq = id * 100;
    let mut next = |source: &str, body| {
        seq += 1;
        event(source, seq, m(seq as i64 % 100), id, body)
    };
    let mut out = vec![
        next("erp/main", created_with("c", 0, 600, contract)),
        next("fleet/t", arrived(Stop::Delivery)),
    ];
    out.push(event(
        "fleet/t",
        id * 100 + 50,
        m(minutes),
        id,
        departed(Stop::Delivery),
    ));
    out[1].time_us = m(0);
    out.push(event(
        "fleet/t",
        id * 100 + 51,
        m(minutes),
        id,
        delivered(Some("x")),
    ));
    for &(cid, kind, cents, cur) in charges {
        out.push(next("billing/b", charge(cid, kind, cents, cur)));
    }
    out
}

/// Money per currency, orphans under `unknown`, sorted; never added across currencies.
#[test]
fn totals_are_per_currency() {
    let (_dir, mut core) = core();
    let mut events = Vec::new();
    // EUR: base 1000 unpaid, 60 min detention at 600/h = 600 expected, 100 billed detention.
    events.extend(delivered_shipment(
        1,
        contract_in(EUR, 1_000, 600),
        60,
        &[("d", ChargeKind::Detention, 100, EUR)],
    ));
    // USD: base billed, no detention.
    events.extend(delivered_shipment(
        2,
        contract_in(USD, 5_000, 0),
        0,
        &[("b", ChargeKind::Base, 5_000, USD)],
    ));
    // A second EUR shipment, not delivered: billed only.
    events.push(event(
        "erp/main",
        301,
        m(1),
        3,
        created_with("c", 0, 9, contract_in(EUR, 7, 7)),
    ));
    events.push(event(
        "billing/b",
        302,
        m(1),
        3,
        charge("f", ChargeKind::Fuel, 40, EUR),
    ));
    // An orphan with a charge: no contract, so no currency.
    events.push(event(
        "billing/b",
        401,
        m(1),
        4,
        charge("o", ChargeKind::Other, 9, USD),
    ));
    ingest(&mut core, &events);
    let s = core.machine().summary();
    assert_eq!(
        summary_json(&s)["totals"],
        json!({
            "EUR": {"billed_cents": 140, "expected_detention_cents": 600, "leakage_cents": 1_500},
            "USD": {"billed_cents": 5_000, "expected_detention_cents": 0, "leakage_cents": 0},
            "unknown": {"billed_cents": 9, "expected_detention_cents": 0, "leakage_cents": 0},
        })
    );
    assert_eq!(
        s.totals.keys().collect::<Vec<_>>(),
        ["EUR", "USD", "unknown"]
    );
    assert_eq!(s.leaking_shipments, 1);
    // The same numbers after a replay.
    let dir = core.journal().dir().to_path_buf();
    drop(core);
    let replayed = waybill_core::engine::replay(&dir, waybill_core::engine::Until::End).unwrap();
    assert_eq!(replayed.machine.summary(), s);
}

/// Values that decode accepts near i64::MAX: a shipment's sums and the totals are exact.
#[test]
fn money_near_i64_max_is_exact() {
    let big = i64::MAX;
    let (_dir, mut core) = core();
    let mut events = delivered_shipment(
        1,
        contract_in(USD, big, big),
        // 3 hours of detention at i64::MAX cents per hour.
        180,
        &[
            ("a", ChargeKind::Fuel, big, USD),
            ("b", ChargeKind::Fuel, big, USD),
            ("c", ChargeKind::Detention, 1, USD),
        ],
    );
    events.extend(delivered_shipment(
        2,
        contract_in(USD, big, 0),
        0,
        &[("a", ChargeKind::Fuel, big, USD)],
    ));
    ingest(&mut core, &events);
    let m = core.machine();
    let v1 = m.state().shipment_view(1, m.sources()).unwrap();
    let big = i128::from(big);
    assert_eq!(v1.billed_cents, 2 * big + 1);
    assert_eq!(v1.expected_detention_cents, 3 * big);
    assert_eq!(v1.leakage_cents, 3 * big - 1 + big);
    let text = serde_json::to_string(&v1).unwrap();
    assert!(
        text.contains(&format!(r#""billed_cents":{},"#, 2 * big + 1)),
        "{text}"
    );
    let s = m.summary();
    let usd = &s.totals["USD"];
    assert_eq!(usd.billed_cents, 3 * big + 1);
    assert_eq!(usd.expected_detention_cents, 3 * big);
    assert_eq!(usd.leakage_cents, 4 * big - 1 + big);
    let json = summary_json(&s);
    assert_eq!(
        json["totals"]["USD"]["leakage_cents"],
        (5 * big - 1).to_string()
    );
}
