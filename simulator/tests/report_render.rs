//! The run report renders as a terminal summary, JSON and a self-contained HTML page.

use waybill_sim::network::OutageWindow;
use waybill_sim::report::thousands_f;
use waybill_sim::report::{
    Acknowledgements, BreakerSpan, Bucket, Check, ClassLatency, Counters, CrashReport,
    CurrencyLeakage, Distribution, EffectBucket, EffectTimeline, EffectsReport, HistogramBin,
    InjectedReport, Leakage, Percentiles, PowerCutReport, Progress, ProgressBar, Report,
    SinkEffects, SinkOutage, SlaMeasureReport, SlaReport, Status, Throughput, Timeline,
};
use waybill_sim::world::Facts;

const REASONS: [&str; 8] = [
    "too_large",
    "malformed_json",
    "invalid_envelope",
    "unknown_type",
    "unsupported_schema_version",
    "ownership_violation",
    "subject_mismatch",
    "invalid_data",
];
const START_US: i64 = 1_795_737_600_000_000; // 2026-11-27T00:00:00Z
const HOUR_US: i64 = 3_600_000_000;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Passing,
    Failing,
    NoBuckets,
    OutagesCrashesLatency,
}

fn check(name: &str, passed: bool, expected: &str, actual: &str, detail: &str) -> Check {
    Check {
        name: name.to_string(),
        passed,
        expected: expected.to_string(),
        actual: actual.to_string(),
        detail: detail.to_string(),
    }
}

/// A deterministic day of traffic: a morning and an afternoon peak, fleet pings all day.
fn buckets(kind: Kind, n: usize, bucket_s: u64) -> Vec<Bucket> {
    (0..n)
        .map(|i| {
            let t_h = i as f64 * bucket_s as f64 / 3600.0;
            let bell =
                |mid: f64, width: f64| libm::exp(-((t_h - mid) / width) * ((t_h - mid) / width));
            let day = bell(9.0, 2.5) + 0.7 * bell(15.0, 3.0);
            let s = bucket_s as f64;
            let mut a = [
                (s * (3.0 + 40.0 * day)) as u64,
                (s * (2.0 + 25.0 * day)) as u64,
                (s * (60.0 + 30.0 * day)) as u64,
                (s * (1.0 + 12.0 * day)) as u64,
            ];
            let mut backlog = (s * 2.0) as u64;
            let mut p99 = None;
            if kind == Kind::OutagesCrashesLatency {
                // erp held 10:00-12:00, burst at 12:00; fleet held 15:00-15:30.
                if (10.0..12.0).contains(&t_h) {
                    backlog += ((t_h - 10.0) * 3600.0 * (3.0 + 40.0 * day)) as u64;
                    a[0] = 0;
                }
                if (12.0..12.0 + s / 3600.0).contains(&t_h) {
                    a[0] += (2.0 * 3600.0 * 25.0) as u64;
                }
                if (15.0..15.5).contains(&t_h) {
                    a[2] = 0;
                    backlog += ((t_h - 15.0) * 3600.0 * 80.0) as u64;
                }
                p99 = if (16.0..16.25).contains(&t_h) {
                    Some(2_400 + (i as u64 * 37) % 300)
                } else {
                    Some(180 + (i as u64 * 53) % 90 + (day * 120.0) as u64)
                };
            }
            Bucket {
                arrivals_by_system: a,
                backlog,
                latency_p99_us: p99,
                dead_lettered: (i % 7 == 0) as u64,
            }
        })
        .collect()
}

/// Effects of a day: billing down 17:00-18:30 (its breaker open, its confirmations pending),
/// the others flowing; none at all without buckets.
fn effects(kind: Kind) -> EffectsReport {
    if kind == Kind::NoBuckets {
        return EffectsReport::default();
    }
    let outage = (
        START_US + 17 * HOUR_US,
        START_US + 18 * HOUR_US + HOUR_US / 2,
    );
    let buckets: Vec<EffectBucket> = (0..150)
        .map(|i| {
            let t = START_US + i as i64 * 600_000_000;
            let down = (outage.0..outage.1).contains(&t);
            EffectBucket {
                delivered: [1 + i % 3, if down { 0 } else { 20 + i % 7 }, 9, 40 + i % 11],
                pending: [0, if down { 25 * (i - 102) } else { 0 }, 1, 2],
            }
        })
        .collect();
    let sink = |name: &str, derived: u64, refused_down: u64, trips: u64| SinkEffects {
        sink: name.to_string(),
        derived,
        delivered: derived,
        pending: 0,
        receipts: derived + 12,
        repeats: 12,
        calls: derived / 3,
        refused_down,
        failed_flaky: 4,
        lost_answers: 3,
        dead_lettered: 0,
        breaker_trips: trips,
    };
    let dist = |p50: i64| Distribution {
        count: 94_000,
        min: 0,
        p50,
        p90: p50 * 2,
        p99: p50 * 3,
        max: p50 * 5,
    };
    let hist = |counts: [u64; 3]| {
        ["< 0m", "0m–1m", ">= 1m"]
            .into_iter()
            .zip(counts)
            .map(|(label, count)| HistogramBin {
                label: label.to_string(),
                count,
                ..HistogramBin::default()
            })
            .collect()
    };
    EffectsReport {
        derived: 17_450,
        sinks: vec![
            sink("route", 150, 0, 0),
            sink("billing", 4_200, 183, 1),
            sink("erp", 2_700, 0, 0),
            sink("ops", 10_400, 0, 0),
        ],
        latency: vec![
            ClassLatency {
                class: "urgent".to_string(),
                count: 10_550,
                p50_us: 15_000_000,
                p99_us: 31_800_000,
                max_us: 60_200_000,
            },
            ClassLatency {
                class: "financial".to_string(),
                count: 6_900,
                p50_us: 16_000_000,
                p99_us: 5_412_000_000,
                max_us: 5_430_000_000,
            },
        ],
        timeline: EffectTimeline {
            start_us: START_US,
            bucket_seconds: 600,
            buckets,
        },
        breaker_spans: vec![BreakerSpan {
            sink: "billing".to_string(),
            class: "financial".to_string(),
            from_us: outage.0 + 30_000_000,
            to_us: Some(outage.1 + 3_000_000),
        }],
        breaker_changes_dropped: 0,
        sink_outages: vec![SinkOutage {
            sink: "billing".to_string(),
            from_us: outage.0,
            to_us: outage.1,
        }],
        drained_at_us: Some(START_US + 24 * HOUR_US + 90_000_000),
        drained: kind != Kind::Failing,
        sla: SlaReport {
            measures: vec![
                SlaMeasureReport {
                    measure: "order_to_dispatch".to_string(),
                    target_minutes: Some(360),
                    minutes: Some(dist(310)),
                    histogram: hist([0, 12, 93_988]),
                    breaches: 668,
                },
                SlaMeasureReport {
                    measure: "pod_propagation".to_string(),
                    target_minutes: None,
                    minutes: None,
                    histogram: hist([0, 0, 0]),
                    breaches: 0,
                },
            ],
        },
    }
}

fn sample(kind: Kind) -> Report {
    let mut checks = vec![
        check(
            "conservation",
            true,
            "received = applied + duplicates + dead_lettered",
            "1,270,410 = 1,203,977 + 63,321 + 3,112",
            "",
        ),
        check(
            "dead_letters_per_reason",
            true,
            "as injected",
            "as injected",
            "",
        ),
        check("duplicates_as_injected", true, "63,321", "63,321", ""),
        check("missing_equals_dropped", true, "12", "12", ""),
        check(
            "shipments_match_ground_truth",
            true,
            "100,000 equal",
            "100,000 equal",
            "",
        ),
        check("replay_digest", true, "3f9a…", "3f9a…", ""),
        check("shuffled_digest", true, "3f9a…", "3f9a…", ""),
    ];
    if kind == Kind::Failing {
        checks[3] = check(
            "missing_equals_dropped",
            false,
            "12",
            "11",
            "fleet: gap 4182 not reported\nfleet: dropped sequence 9001 is the last of its source",
        );
        checks[4] = check(
            "shipments_match_ground_truth",
            false,
            "100,000 equal",
            "99,998 equal, 2 differ",
            "shipment 17: status delivered, expected in_transit\nshipment 4242: leakage_cents 0, expected 12500",
        );
    }
    if kind == Kind::OutagesCrashesLatency {
        checks.push(check("p99_latency", true, "<= 500 µs", "412 µs", ""));
        checks.push(check(
            "throughput",
            true,
            ">= 200,000 events/s",
            "431,220 events/s",
            "",
        ));
    }
    let passed = checks.iter().all(|c| c.passed);
    let reasons: Vec<(String, u64)> = REASONS
        .iter()
        .enumerate()
        .map(|(i, r)| (r.to_string(), [0, 812, 455, 390, 0, 601, 288, 566][i]))
        .collect();
    let (n, bucket_s) = match kind {
        Kind::NoBuckets => (0, 300),
        _ => (288, 300),
    };
    let (outages, crashes) = if kind == Kind::OutagesCrashesLatency {
        (
            vec![
                OutageWindow {
                    source: "erp".to_string(),
                    from_us: START_US + 10 * HOUR_US,
                    to_us: START_US + 12 * HOUR_US,
                    held: 187_204,
                },
                OutageWindow {
                    source: "fleet".to_string(),
                    from_us: START_US + 15 * HOUR_US,
                    to_us: START_US + 15 * HOUR_US + HOUR_US / 2,
                    held: 144_000,
                },
            ],
            vec![
                CrashReport {
                    at: "2026-11-27T13:00:00Z".to_string(),
                    mode: "process".to_string(),
                    lsn_after_reopen: 700_112,
                    lost_acknowledged: 0,
                    lost_unacknowledged: 0,
                    redelivered: 96,
                    power_cut: None,
                    effects_cut: 0,
                    effects_rederived: 0,
                },
                CrashReport {
                    at: "2026-11-27T16:00:00Z".to_string(),
                    mode: "power".to_string(),
                    lsn_after_reopen: 912_377,
                    lost_acknowledged: 0,
                    lost_unacknowledged: 731,
                    redelivered: 928,
                    power_cut: Some(PowerCutReport {
                        seed: 77,
                        pages_unflushed: 41,
                        pages_kept: 17,
                        pages_lost: 24,
                        torn_at: Some("00000000000000000003.seg+1052672".to_string()),
                        effect_log_bytes_unsynced: 81_920,
                        effect_log_bytes_lost: 40_960,
                    }),
                    effects_cut: 3,
                    effects_rederived: 211,
                },
            ],
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Report {
        scenario: match kind {
            Kind::Passing => "quiet-tuesday".to_string(),
            Kind::Failing => "<black-friday> & co".to_string(),
            Kind::NoBuckets => "empty-day".to_string(),
            Kind::OutagesCrashesLatency => "black-friday".to_string(),
        },
        description: "A busy day: ERP goes dark mid-morning, the core crashes at 16:00."
            .to_string(),
        seed: 7,
        passed,
        checks,
        counters: Counters {
            received: 1_270_410,
            applied: 1_203_977,
            duplicates: 63_321,
            dead_lettered: 3_112,
            dead_letter_reasons: reasons.clone(),
            missing: 12,
            shipments: 100_000,
            vehicles: 1_000,
        },
        injected: InjectedReport {
            events_generated: 1_204_000,
            deliveries: 1_270_410,
            duplicates: 62_297,
            dropped: 23,
            dropped_detectable: 12,
            reordered: 84_112,
            held_by_outage: if outages.is_empty() { 0 } else { 331_204 },
            malformed: reasons.into_iter().filter(|(_, n)| *n > 0).collect(),
        },
        acknowledgements: Acknowledgements {
            sent: 1_270_410 + if crashes.is_empty() { 0 } else { 1_024 },
            acknowledged: 1_270_410 + if crashes.is_empty() { 0 } else { 731 },
            lost_acknowledged: 0,
            lost_unacknowledged: if crashes.is_empty() { 0 } else { 731 },
            redelivered: if crashes.is_empty() { 0 } else { 1_024 },
        },
        world: Facts {
            shipments: 100_000,
            vehicles: 1_000,
            pings: 864_000,
            amendments: 12_000,
            cancellations: 3_100,
            failed_deliveries: 2_400,
            deliveries: 94_500,
            detention_due: 18_000,
            detention_omitted: 360,
            detention_omitted_cents: 4_512_500,
            voided_charges: 800,
            invoices: 94_000,
            disputed_settlements: 120,
            ..Facts::default()
        },
        throughput: Throughput {
            events: 1_270_410,
            wall_seconds: 2.946,
            events_per_second: 431_220.4,
            generate_seconds: 0.81,
            check_seconds: 1.37,
            simulated_seconds: 86_400.0,
            pace: if kind == Kind::OutagesCrashesLatency {
                "3600".to_string()
            } else {
                "max".to_string()
            },
            durability: "group".to_string(),
        },
        latency_us: (kind == Kind::OutagesCrashesLatency).then_some(Percentiles {
            count: 1_270_410,
            p50: 96,
            p90: 210,
            p99: 412,
            p999: 2_350,
            max: 2_790,
        }),
        outages,
        crashes,
        timeline: Timeline {
            start: "2026-11-27T00:00:00Z".to_string(),
            bucket_seconds: bucket_s,
            buckets: buckets(kind, n, bucket_s),
        },
        leakage: Leakage {
            omitted_detention_charges: 372,
            expected_leaking_shipments: 372,
            leaking_shipments: if kind == Kind::Failing { 371 } else { 372 },
            currencies: vec![
                CurrencyLeakage {
                    currency: "EUR".to_string(),
                    omitted_detention_charges: 360,
                    omitted_detention_cents: 4_512_500,
                    expected_cents: 4_512_500,
                    expected_leaking_shipments: 360,
                    found_cents: if kind == Kind::Failing {
                        4_500_000
                    } else {
                        4_512_500
                    },
                    leaking_shipments: if kind == Kind::Failing { 359 } else { 360 },
                    top: (0..10)
                        .map(|i| (1000 + i * 7919, 50_000 - i as i128 * 3_250))
                        .collect(),
                },
                CurrencyLeakage {
                    currency: "USD".to_string(),
                    omitted_detention_charges: 12,
                    omitted_detention_cents: 98_100,
                    expected_cents: 98_100,
                    expected_leaking_shipments: 12,
                    found_cents: 98_100,
                    leaking_shipments: 12,
                    top: vec![(4242, 17_500), (77, 9_900)],
                },
            ],
        },
        effects: effects(kind),
        journal: "/tmp/waybill-run/journal".to_string(),
        lsn: 1_207_089,
        digest: "3f9a5c0e7b1d2a4486c2f0e9d8b7a6c5e4d3c2b1a09f8e7d6c5b4a3928170605".to_string(),
    }
}

fn all() -> Vec<(Kind, Report)> {
    [
        Kind::Passing,
        Kind::Failing,
        Kind::NoBuckets,
        Kind::OutagesCrashesLatency,
    ]
    .into_iter()
    .map(|k| (k, sample(k)))
    .collect()
}

#[test]
fn human_lists_every_check_and_the_verdict() {
    for (_, r) in all() {
        let text = r.human(false);
        for c in &r.checks {
            assert!(text.contains(&c.name), "missing check {}:\n{text}", c.name);
        }
        assert!(
            !text.contains('\x1b'),
            "ANSI escape without colour:\n{text}"
        );
        let last = text.trim_end().lines().last().unwrap().trim();
        if r.checks.iter().all(|c| c.passed) {
            assert_eq!(last, format!("PASSED: {n}/{n} checks", n = r.checks.len()));
        } else {
            assert!(last.starts_with("FAILED: "), "{last}");
        }
        assert!(text.contains("1,270,410"), "thousands separators:\n{text}");
        assert!(text.contains(&r.digest));
        assert!(text.contains(&r.journal));
    }
}

#[test]
fn human_shows_failures_with_details() {
    let r = sample(Kind::Failing);
    let text = r.human(false);
    assert!(
        text.contains(
            "FAILED: 2 of 7 checks failed: missing_equals_dropped, shipments_match_ground_truth"
        ),
        "{text}"
    );
    assert!(text.contains("✗ missing_equals_dropped"));
    assert!(text.contains("✓ conservation"));
    assert!(text.contains("        shipment 17: status delivered, expected in_transit"));
    assert!(text.contains("        fleet: gap 4182 not reported"));
    // Passing checks carry no detail; failing ones list it under the check line.
    let fail_line = text
        .lines()
        .position(|l| l.contains("✗ shipments_match_ground_truth"))
        .unwrap();
    assert!(
        text.lines()
            .nth(fail_line + 1)
            .unwrap()
            .contains("shipment 17")
    );
}

#[test]
fn human_colours_only_when_asked() {
    let r = sample(Kind::Failing);
    let text = r.human(true);
    assert!(text.contains("\x1b[32m✓\x1b[0m"));
    assert!(text.contains("\x1b[31m✗\x1b[0m"));
    assert!(text.contains("\x1b[1;31mFAILED"));
    let plain = strip_ansi(&text);
    assert_eq!(plain, r.human(false));
}

#[test]
fn human_sections_and_figures() {
    let r = sample(Kind::OutagesCrashesLatency);
    let text = r.human(false);
    for needle in [
        "received",
        "= applied + duplicates + dead_lettered",
        "malformed_json",
        "held by outage",
        "redelivered after crash",
        "lost after acknowledgement",
        "must be 0",
        "outage erp",
        "10:00:00 → 12:00:00",
        "crash",
        "16:00:00",
        "LSN after reopen 912,377",
        "crash  power",
        "lost 0 acknowledged + 731 unacknowledged, redelivered 928",
        "power cut kept 17 of 41 unflushed pages, tore 00000000000000000003.seg+1052672",
        "431,220",
        "p99.9",
        "2,350 µs",
        "omitted by billing",
        "45,125.00",
        "shipment 1000",
        "PASSED: 9/9 checks",
    ] {
        assert!(text.contains(needle), "missing {needle:?}:\n{text}");
    }
    let idle = sample(Kind::Passing).human(false);
    assert!(idle.contains("not measured (pace = max)"), "{idle}");
}

#[test]
fn human_aligns_the_figures() {
    let text = sample(Kind::Passing).human(false);
    // In the counters section the values end in the same column.
    let ends: Vec<usize> = text
        .lines()
        .filter(|l| l.contains(" received ") || l.contains(" applied ") || l.contains(" missing "))
        .filter(|l| l.contains(".."))
        .map(|l| {
            let value_end = l.find(|c: char| c.is_ascii_digit()).unwrap();
            value_end + l[value_end..].find(' ').unwrap_or(l.len() - value_end)
        })
        .collect();
    assert!(ends.len() >= 3, "{text}");
    assert!(ends.windows(2).all(|w| w[0] == w[1]), "{ends:?}\n{text}");
}

#[test]
fn html_is_one_self_contained_document() {
    for (kind, r) in all() {
        let html = r.html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert_eq!(html.matches("<html").count(), 1);
        assert!(html.trim_end().ends_with("</html>"));
        assert!(html.contains("<svg"));
        assert!(!html.contains("http://"), "{kind:?}");
        assert!(!html.contains("https://"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("url(http"));
        assert!(!html.contains("@import"));
        assert!(html.contains(&escape(&r.verdict())));
        for c in &r.checks {
            assert!(html.contains(&c.name));
        }
        assert_balanced(&html, "svg");
        assert_balanced(&html, "section");
        assert_balanced(&html, "table");
        assert_balanced(&html, "div");
    }
}

#[test]
fn html_escapes_text() {
    let r = sample(Kind::Failing);
    let html = r.html();
    assert!(!html.contains("<black-friday>"));
    assert!(html.contains("&lt;black-friday&gt; &amp; co"));
    assert!(html.contains("FAIL"));
    assert!(html.contains("shipment 17: status delivered, expected in_transit"));
}

#[test]
fn html_marks_outages_and_crashes() {
    let r = sample(Kind::OutagesCrashesLatency);
    let html = r.html();
    assert!(html.contains("erp outage 10:00–12:00"), "outage label");
    assert!(html.contains("fleet outage 15:00–15:30"));
    assert!(html.contains("crash 16:00"));
    assert!(html.contains("power crash"));
    assert!(html.contains("power cut kept 17 of 41 unflushed pages"));
    assert!(html.contains("lost 0 acknowledged, 731 unacknowledged"));
    assert!(html.contains(">acknowledged<"), "the acknowledgements tile");
    assert!(html.contains("class=\"band\""));
    assert!(html.contains("Latency p99"));
    assert!(html.contains("run p99 412 µs"));
    // Charts: traffic, backlog, latency, dead letters, leakage (two).
    assert!(html.matches("<svg class=\"chart\"").count() >= 6);
}

#[test]
fn html_copes_with_no_buckets_one_bucket_and_huge_values() {
    let r = sample(Kind::NoBuckets);
    let html = r.html();
    assert!(html.contains("No timeline"));

    let mut one = sample(Kind::OutagesCrashesLatency);
    one.timeline.buckets.truncate(1);
    let html = one.html();
    assert!(html.contains("<path class=\"area\""));
    assert!(!html.contains("NaN"));
    assert!(!html.contains("=\"inf") && !html.contains("=\"-inf"));

    let mut huge = sample(Kind::OutagesCrashesLatency);
    for b in &mut huge.timeline.buckets {
        b.arrivals_by_system = [u64::MAX / 8; 4];
        b.backlog = u64::MAX;
        b.latency_p99_us = Some(u64::MAX);
    }
    huge.counters.dead_letter_reasons[0].1 = u64::MAX;
    huge.leakage.currencies[0].found_cents = i128::MAX;
    huge.leakage.currencies[1].expected_cents = i128::MIN;
    let html = huge.html();
    assert!(!html.contains("NaN"));
    assert!(html.contains("EUR 1,701,411,834,604,692,317,316,873,037,158,841,057.27"));
    let text = huge.human(false);
    assert!(text.contains("18,446,744,073,709,551,615"));
    assert!(text.contains("-1,701,411,834,604,692,317,316,873,037,158,841,057.28"));

    let mut zero = sample(Kind::Passing);
    zero.timeline.bucket_seconds = 0;
    for b in &mut zero.timeline.buckets {
        *b = Default::default();
    }
    let html = zero.html();
    assert!(!html.contains("NaN"));
}

#[test]
fn html_merges_many_buckets() {
    let mut r = sample(Kind::OutagesCrashesLatency);
    r.timeline.bucket_seconds = 1;
    r.timeline.buckets = buckets(Kind::OutagesCrashesLatency, 86_400, 1);
    let html = r.html();
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
}

#[test]
fn json_keeps_the_spec_counter_names() {
    for (_, r) in all() {
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        let c = &v["counters"];
        for key in [
            "received",
            "applied",
            "duplicates",
            "dead_lettered",
            "dead_letter_reasons",
            "missing",
        ] {
            assert!(c.get(key).is_some(), "counters.{key}");
        }
        assert_eq!(c["received"], r.counters.received);
        assert_eq!(c["dead_letter_reasons"][1][0], "malformed_json");
        assert_eq!(c["dead_letter_reasons"][1][1], 812);
        for key in [
            "scenario",
            "seed",
            "passed",
            "checks",
            "injected",
            "world",
            "throughput",
            "latency_us",
            "outages",
            "crashes",
            "timeline",
            "leakage",
            "journal",
            "lsn",
            "digest",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        assert!(r.json().contains("\n  \""), "pretty");
        // The JSON is stable: rendering twice gives the same text.
        assert_eq!(r.json(), r.json());
    }
}

#[test]
fn progress_line_and_disabled_bar() {
    let status = Status {
        phase: "ingesting".to_string(),
        bar: Some(ProgressBar {
            done: 250,
            total: 1000,
            simulated_us: Some(START_US + 13 * HOUR_US + 5_000_000),
            elapsed_seconds: 0.5,
        }),
    };
    let line = Progress::line("[1/2] black-friday", &status, 100);
    assert!(
        line.starts_with("[1/2] black-friday · ingesting   25% "),
        "{line}"
    );
    assert!(line.contains("500 ev/s"), "{line}");
    assert!(line.contains("sim 13:00:05"), "{line}");
    let mut p = Progress::new(None);
    p.phase("generating");
    p.ingest(1000);
    for i in 0..1000 {
        p.update(i, START_US);
    }
    p.clear();
}

/// Writes the sample reports for looking at them: `WAYBILL_REPORT_SAMPLES=/dir cargo test`.
#[test]
fn write_samples_when_asked() {
    let Ok(dir) = std::env::var("WAYBILL_REPORT_SAMPLES") else {
        return;
    };
    let mut one = sample(Kind::OutagesCrashesLatency);
    one.timeline.buckets.truncate(1);
    one.scenario = "one-bucket".to_string();
    let mut huge = sample(Kind::Failing);
    for (i, b) in huge.timeline.buckets.iter_mut().enumerate() {
        b.arrivals_by_system[2] = u64::MAX / 1024 / (1 + i as u64 % 5);
        b.backlog = u64::MAX / 2;
    }
    huge.scenario = "huge".to_string();
    let extra = [("OneBucket", one), ("Huge", huge)];
    let named = all()
        .into_iter()
        .map(|(k, r)| (format!("{k:?}"), r))
        .chain(extra.into_iter().map(|(k, r)| (k.to_string(), r)));
    for (kind, r) in named {
        let name = kind.to_lowercase();
        std::fs::write(format!("{dir}/{name}.html"), r.html()).unwrap();
        std::fs::write(format!("{dir}/{name}.txt"), r.human(true)).unwrap();
        std::fs::write(format!("{dir}/{name}.json"), r.json()).unwrap();
    }
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Passing => "Passing",
            Kind::Failing => "Failing",
            Kind::NoBuckets => "NoBuckets",
            Kind::OutagesCrashesLatency => "Outages",
        })
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn assert_balanced(html: &str, tag: &str) {
    let open =
        html.matches(&format!("<{tag} ")).count() + html.matches(&format!("<{tag}>")).count();
    let close = html.matches(&format!("</{tag}>")).count();
    assert_eq!(open, close, "<{tag}> balance");
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Money is shown per currency and never added across currencies.
#[test]
fn leakage_is_shown_per_currency_and_never_added() {
    let r = sample(Kind::OutagesCrashesLatency);
    let (eur, usd) = (45_125.00, 981.00);
    let sum = thousands_f(eur + usd, 2);
    let text = r.human(false);
    let html = r.html();
    for out in [&text, &html] {
        assert!(!out.contains(&sum), "a sum across currencies: {sum}");
    }
    let section = &text[text.find("leakage (per currency)").unwrap()..];
    let section = &section[..section.find("journal").unwrap()];
    let usd_at = section.find("    USD").expect("a USD block");
    assert!(section.find("    EUR").unwrap() < usd_at, "{section}");
    assert!(section[usd_at..].contains("981.00"), "{section}");
    assert!(section[usd_at..].contains("shipment 4242"), "{section}");
    assert!(html.contains("<h3 class=\"currency\">USD"), "a USD chart");
    assert!(
        html.contains("USD 981.00"),
        "the tile names the other currency"
    );
    assert!(html.contains("EUR 45,125.00"));
}

/// The effects section: per sink what was received of what was derived, latency per class, the
/// breakers and the SLA measures, in the summary and as charts in the HTML page.
#[test]
fn effects_are_shown_per_sink_with_latency_breakers_and_sla() {
    let r = sample(Kind::OutagesCrashesLatency);
    let human = r.human(false);
    for needle in [
        "effects (delivered / derived, simulated time)",
        "billing ........",
        "4,200 / 4,200",
        "183 refused (down)",
        "latency urgent",
        "p99 31.8s",
        "p99 1h 30m 12s",
        "billing/financial",
        "open 17:00:30 → 18:30:03",
        "drained",
        "SLA (minutes)",
        "target 360",
        "668 breaches",
        "cut 40,960 of 81,920 unsynced effect log bytes",
        "effects cut 3, derived again 211",
    ] {
        assert!(human.contains(needle), "{needle:?} not in\n{human}");
    }
    let html = r.html();
    for needle in [
        "Effects delivered",
        "Effects pending",
        "Breakers",
        "billing down 17:00–18:30",
        "SLA measures",
        "effects received",
        "17,450",
    ] {
        assert!(html.contains(needle), "{needle:?} not in the HTML");
    }
    assert_balanced(&html, "svg");
    assert_balanced(&html, "section");
    let empty = sample(Kind::NoBuckets).html();
    assert!(empty.contains("The core derived no effects."));
    assert!(
        sample(Kind::NoBuckets)
            .human(false)
            .contains("breakers: none opened")
    );
    let json: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
    assert_eq!(json["effects"]["sinks"][1]["refused_down"], 183);
    assert_eq!(json["effects"]["breaker_spans"][0]["class"], "financial");
}
