//! `waybill ingest`: read (reader thread), decode and encode for the journal (decoder
//! threads, in parallel, order kept), journal and apply (this thread, the single writer).

use crate::args::IngestArgs;
use crate::error::{CliError, one_line};
use crate::output;
use crossbeam_channel::bounded;
use std::fs::File;
use std::io::{self, Read};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use waybill_core::engine::{Core, CoreError};
use waybill_core::input::{InputReader, RawBatch};
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::machine::Counters;
use waybill_core::pipeline::EncodedBatch;

/// Events per batch handed from the reader to the core.
const BATCH_EVENTS: usize = 4096;
/// Batches in flight per queue (reader -> decoder, decoder -> core): the queues' bound.
const QUEUE_BATCHES: usize = 4;
/// Decoder threads. Decoding is most of the work of JSONL ingest; two use both cores of a
/// small machine while the writer's share stays small.
const DECODERS: usize = 2;

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

    // reader thread -> DECODERS decode/encode threads (batch i to decoder i % DECODERS) ->
    // this thread, which takes batch i from decoder i % DECODERS again: input order is kept
    // whatever the thread timing, and the journal is what `Core::ingest_raw` would write.
    let mut to_decoders = Vec::with_capacity(DECODERS);
    let mut from_decoders = Vec::with_capacity(DECODERS);
    let mut recycle_encoded = Vec::with_capacity(DECODERS);
    let (recycle_raw_tx, recycle_raw_rx) = bounded::<RawBatch>(DECODERS * (QUEUE_BATCHES + 1));
    let mut decoders = Vec::with_capacity(DECODERS);
    for _ in 0..DECODERS {
        let (raw_tx, raw_rx) = bounded::<RawBatch>(QUEUE_BATCHES);
        let (enc_tx, enc_rx) = bounded::<Result<EncodedBatch, CoreError>>(QUEUE_BATCHES);
        let (back_tx, back_rx) = bounded::<EncodedBatch>(QUEUE_BATCHES + 2);
        let recycle_raw = recycle_raw_tx.clone();
        decoders.push(std::thread::spawn(move || {
            for raw in raw_rx.iter() {
                let mut enc = back_rx.try_recv().unwrap_or_default();
                enc.clear();
                let ingest_us = now_us();
                let mut result = Ok(());
                for r in raw.iter() {
                    result = enc.push(&r.decode(), ingest_us);
                    if result.is_err() {
                        break;
                    }
                }
                let _ = recycle_raw.try_send(raw);
                if enc_tx.send(result.map(|()| enc)).is_err() {
                    break; // the core stopped; its error is reported there
                }
            }
        }));
        to_decoders.push(raw_tx);
        from_decoders.push(enc_rx);
        recycle_encoded.push(back_tx);
    }
    drop(recycle_raw_tx);
    let reader = std::thread::spawn(move || -> io::Result<()> {
        let mut reader = InputReader::new(input);
        let mut i = 0;
        loop {
            let mut raw = recycle_raw_rx.try_recv().unwrap_or_default();
            if reader.read_batch(&mut raw, BATCH_EVENTS)? == 0 {
                break;
            }
            if to_decoders[i % DECODERS].send(raw).is_err() {
                break; // the core stopped; its error is reported there
            }
            i += 1;
        }
        Ok(())
    });

    let mut total = Counters::default();
    let mut durable_lsn = core.journal().durable_lsn();
    let mut core_error = None;
    let mut i = 0;
    while let Ok(encoded) = from_decoders[i % DECODERS].recv() {
        let result = encoded.and_then(|batch| {
            let report = core.ingest_encoded(&batch);
            let _ = recycle_encoded[i % DECODERS].try_send(batch);
            report
        });
        match result {
            Ok(report) => {
                total.add(&report.counters);
                durable_lsn = report.durable_lsn;
            }
            Err(e) => {
                core_error = Some(e);
                break;
            }
        }
        i += 1;
    }
    drop(from_decoders);
    let read_result = reader.join().expect("reader thread panicked");
    for d in decoders {
        d.join().expect("decoder thread panicked");
    }
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
