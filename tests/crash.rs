//! Killing `waybill ingest` with SIGKILL in the middle of a large file and running it again
//! on the same journal ends with a journal that verifies and the state of one clean ingest.

mod common;

use common::*;
use std::io::{BufWriter, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};
use waybill_core::encode::encode_event;
use waybill_core::event::{Body, ChargeKind, Contract, Event, GeoPoint};

/// Writes `n` events: pings from 500 vehicles, with orders and charges for 2000 shipments.
fn write_large_file(path: &std::path::Path, n: u64) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut line = Vec::new();
    let base_us = 1_795_766_400_000_000i64;
    let mut ping_seq = vec![0u64; 500];
    let (mut erp_seq, mut billing_seq) = (0u64, 0u64);
    for i in 0..n {
        let ev = if i % 10 == 0 {
            let shipment = 1 + (i / 10) % 2000;
            if (i / 10) < 2000 {
                erp_seq += 1;
                Event {
                    id: format!("o{i}"),
                    source: "erp/main".into(),
                    sequence: erp_seq,
                    time_us: base_us + i as i64,
                    subject: shipment,
                    correlation_id: None,
                    traceparent: None,
                    body: Body::OrderCreated {
                        customer_id: format!("c{}", shipment % 17),
                        origin: GeoPoint {
                            lat_ud: 1,
                            lon_ud: 2,
                        },
                        destination: GeoPoint {
                            lat_ud: 3,
                            lon_ud: 4,
                        },
                        window_start_us: base_us,
                        window_end_us: base_us + 3_600_000_000,
                        weight_kg: 100,
                        contract: Contract {
                            currency: *b"EUR",
                            base_cents: 1000,
                            detention_free_min: 30,
                            detention_cents_per_hour: 600,
                        },
                    },
                }
            } else {
                billing_seq += 1;
                Event {
                    id: format!("b{i}"),
                    source: "billing/engine".into(),
                    sequence: billing_seq,
                    time_us: base_us + i as i64,
                    subject: shipment,
                    correlation_id: None,
                    traceparent: None,
                    body: Body::ChargeAdded {
                        charge_id: format!("ch{i}"),
                        kind: ChargeKind::Fuel,
                        amount_cents: 1 + (i as i64 % 900),
                        currency: *b"EUR",
                    },
                }
            }
        } else {
            let v = (i % 500) as usize;
            ping_seq[v] += 1;
            Event {
                id: format!("p{i}"),
                source: format!("fleet/v{v}"),
                sequence: ping_seq[v],
                time_us: base_us + i as i64 * 1000,
                subject: v as u64,
                correlation_id: None,
                traceparent: None,
                body: Body::VehiclePosition {
                    position: GeoPoint {
                        lat_ud: (i % 1000) as i32,
                        lon_ud: (i % 777) as i32,
                    },
                    speed_kph_milli: (i % 100_000) as u32,
                },
            }
        };
        line.clear();
        encode_event(&ev, &mut line);
        line.push(b'\n');
        out.write_all(&line).unwrap();
    }
}

#[test]
fn sigkill_mid_ingest_then_rerun_gives_one_clean_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.jsonl");
    let n = 600_000;
    write_large_file(&file, n);
    let j = dir.path().join("j");

    let mut child = bin()
        .args([
            "ingest",
            p(&file),
            "--journal",
            p(&j),
            "--durability",
            "none",
            "--segment-bytes",
            "8388608",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once the journal holds a few records, well before the end of the file.
    let started = Instant::now();
    loop {
        let seg = j.join("00000000000000000000.seg");
        if seg.exists() && started.elapsed() > Duration::from_millis(300) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ingest never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let killed_mid_way = !status.success();
    let after_kill = summary(&j);
    let lsn_at_kill = after_kill["lsn"].as_u64().unwrap();
    assert!(
        killed_mid_way && lsn_at_kill < n,
        "killed after {lsn_at_kill} of {n} records"
    );

    // Run it again on the same journal: the journal recovers and the rest goes in.
    let again = ingest(&file, &j);
    assert_eq!(again["received"].as_u64().unwrap(), n);
    assert_eq!(
        again["duplicates"].as_u64().unwrap(),
        lsn_at_kill,
        "everything journaled before the kill is a duplicate now"
    );
    ok(&["journal", "verify", "--journal", p(&j)]);

    let clean = dir.path().join("clean");
    let once = ingest(&file, &clean);
    assert_eq!(summary(&j)["digest"], once["digest"]);
    assert_eq!(all(&j, &[]), all(&clean, &[]));
}
