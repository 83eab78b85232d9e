//! `waybill state`: the summary, one shipment, or every shipment; now or at a point in time.

use super::replay_with;
use crate::args::{PointInTime, StateArgs};
use crate::error::CliError;
use crate::output;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use waybill_core::engine::Until;
use waybill_core::time::{format_rfc3339_us, parse_rfc3339_us};

pub fn until(at: &PointInTime) -> Result<Until, CliError> {
    Ok(match (&at.at_lsn, &at.at_time) {
        (Some(n), _) => Until::Lsn(*n),
        (None, Some(t)) => {
            Until::IngestTime(parse_rfc3339_us(t).ok_or_else(|| {
                CliError::Usage(format!("--at-time {t:?} is not an RFC 3339 time"))
            })?)
        }
        (None, None) => Until::End,
    })
}

pub fn run(a: StateArgs) -> Result<ExitCode, CliError> {
    let dir = &a.journal.journal;
    let replayed = replay_with(dir, until(&a.at)?, |_| {})?;
    let m = &replayed.machine;
    if let Some(id) = a.shipment {
        let view = m.state.shipment_view(id, &m.sources).ok_or_else(|| {
            CliError::Usage(format!(
                "no shipment {id} in {} at lsn {}",
                dir.display(),
                m.lsn
            ))
        })?;
        let v = serde_json::to_value(&view).expect("views serialize");
        if a.json {
            println!("{v}");
        } else {
            output::print_object(&v);
        }
    } else if a.all {
        let stdout = std::io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        for id in m.state.shipment_ids() {
            let view = m
                .state
                .shipment_view(id, &m.sources)
                .expect("listed ids exist");
            serde_json::to_writer(&mut out, &view).expect("views serialize");
            if out.write_all(b"\n").is_err() {
                break; // closed pipe: the reader has what it wanted
            }
        }
        let _ = out.flush();
    } else {
        let s = m.summary();
        if a.json {
            println!("{}", serde_json::to_string(&s).expect("summary serializes"));
        } else {
            println!("journal    {}", dir.display());
            let at = replayed
                .last_ingest_us
                .map(|t| format!(" (ingested up to {})", format_rfc3339_us(t)))
                .unwrap_or_default();
            println!("lsn        {}{at}", s.lsn);
            println!("digest     {}", s.digest);
            println!(
                "received   {} = applied {} + duplicates {} + dead-lettered {}",
                s.received, s.applied, s.duplicates, s.dead_lettered
            );
            let reasons = output::reasons_line(&m.counters);
            if !reasons.is_empty() {
                println!("dead       {reasons}");
            }
            println!("missing    {}", s.missing);
            for g in &s.gaps {
                let ranges: Vec<String> = g
                    .ranges
                    .iter()
                    .map(|[a, b]| {
                        if a == b {
                            a.to_string()
                        } else {
                            format!("{a}-{b}")
                        }
                    })
                    .collect();
                println!(
                    "  {} missing {}: {}",
                    g.source,
                    g.missing,
                    ranges.join(", ")
                );
            }
            println!(
                "shipments  {}, vehicles {}, sources {}",
                s.shipments, s.vehicles, s.sources
            );
            let statuses: Vec<String> = s
                .shipments_by_status
                .0
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            if !statuses.is_empty() {
                println!("status     {}", statuses.join(", "));
            }
            println!(
                "billing    {} invoice-ready, {} leaking shipments, {} with anomalies",
                s.invoice_ready, s.leaking_shipments, s.with_anomalies
            );
            for (currency, t) in &s.totals {
                println!(
                    "  {currency}: billed {} cents, expected detention {} cents, leakage {} cents",
                    t.billed_cents, t.expected_detention_cents, t.leakage_cents
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
