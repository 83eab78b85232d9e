//! `waybill ingest`: read, decode (on a reader thread), journal and apply (on this thread).

use crate::args::IngestArgs;
use crate::error::{CliError, one_line};
use crate::output;
use crossbeam_channel::bounded;
use std::fs::File;
use std::io::{self, Read};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use waybill_core::engine::Core;
use waybill_core::event::Entry;
use waybill_core::input::{InputReader, RawBatch};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::machine::Counters;

/// Events per batch handed from the reader to the core.
const BATCH_EVENTS: usize = 4096;
/// Batches in flight between the reader and the core (the queue's bound).
const QUEUE_BATCHES: usize = 4;

pub fn run(a: IngestArgs) -> Result<ExitCode, CliError> {
    let input: Box<dyn Read + Send> = match &a.input {
        None => Box::new(io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(io::stdin()),
        Some(p) => Box::new(
            File::open(p)
                .map_err(|e| CliError::Usage(format!("cannot open {}: {e}", p.display())))?,
        ),
    };
    let durability: Durability = a
        .durability
        .parse()
        .map_err(|e| CliError::Usage(format!("{e}")))?;
    let opts = JournalOptions {
        durability,
        segment_bytes: a.segment_bytes,
        ..Default::default()
    };
    let mut core = Core::open(&a.journal.journal, opts)?;
    if let Some(t) = &core.recovery().torn_tail {
        eprintln!("waybill: recovered: {t}");
    }

    let (batches_tx, batches_rx) = bounded::<Vec<Entry>>(QUEUE_BATCHES);
    let (recycle_tx, recycle_rx) = bounded::<Vec<Entry>>(QUEUE_BATCHES + 2);
    let reader = std::thread::spawn(move || -> io::Result<()> {
        let mut reader = InputReader::new(input);
        let mut raw = RawBatch::new();
        while reader.read_batch(&mut raw, BATCH_EVENTS)? > 0 {
            let mut entries = recycle_rx.try_recv().unwrap_or_default();
            entries.clear();
            entries.extend(raw.iter().map(|r| r.decode()));
            if batches_tx.send(entries).is_err() {
                break; // the core stopped; its error is reported there
            }
        }
        Ok(())
    });

    let mut total = Counters::default();
    let mut durable_lsn = core.journal().durable_lsn();
    let mut core_error = None;
    for entries in batches_rx.iter() {
        match core.ingest(&entries, now_us()) {
            Ok(report) => {
                total.add(&report.counters);
                durable_lsn = report.durable_lsn;
            }
            Err(e) => {
                core_error = Some(e);
                break;
            }
        }
        let _ = recycle_tx.try_send(entries);
    }
    drop(batches_rx);
    let read_result = reader.join().expect("reader thread panicked");
    if let Some(e) = core_error {
        return Err(e.into());
    }
    durable_lsn = durable_lsn.max(core.flush()?);
    if let Err(e) = read_result {
        return Err(CliError::Usage(format!(
            "reading input failed after {} events (they are journaled): {}",
            total.received,
            one_line(&e)
        )));
    }

    let summary = core.machine().summary();
    if a.json {
        let v = serde_json::json!({
            "received": total.received,
            "applied": total.applied,
            "duplicates": total.duplicates,
            "dead_lettered": total.dead_lettered,
            "dead_letter_reasons": output::reason_counts(&total),
            "lsn": summary.lsn,
            "durable_lsn": durable_lsn,
            "digest": summary.digest,
            "missing": summary.missing,
        });
        println!("{v}");
    } else {
        println!(
            "ingested {} events into {}",
            total.received,
            a.journal.journal.display()
        );
        output::print_counters(&total);
        println!(
            "lsn {} (durable to {}), missing {}",
            summary.lsn, durable_lsn, summary.missing
        );
        println!("digest {}", summary.digest);
    }
    Ok(ExitCode::SUCCESS)
}

/// Wall-clock ingest time; the journal keeps ingest times monotonic.
fn now_us() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    d.as_micros() as i64
}
