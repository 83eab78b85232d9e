//! `waybill ingest`: read (reader thread), decode and encode for the journal (decoder
//! threads, in parallel, order kept), journal and apply (this thread, the single writer).

use crate::args::IngestArgs;
use crate::error::{CliError, one_line};
use crate::output;
use std::fs::File;
use std::io::{self, Read};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};
use waybill_core::engine::Core;
use waybill_core::journal::{Durability, JournalOptions};
use waybill_core::pipeline::ingest_reader;

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

    let streamed = ingest_reader(input, &mut core, DECODERS, now_us)?;
    let total = streamed.counters;
    let durable_lsn = streamed.durable_lsn.max(core.flush()?);
    if let Some(e) = streamed.read_error {
        return Err(CliError::Usage(format!(
            "reading input failed after {} events (they are journaled): {}",
            total.received,
            one_line(&e)
        )));
    }

    let summary = core.machine().summary();
    if a.json {
        use serde_json::json;
        let v = json!({
            "received": total.received,
            "applied": total.applied,
            "duplicates": total.duplicates,
            "dead_lettered": total.dead_lettered,
            "dead_letter_reasons": output::reason_counts(&total),
            "lsn": summary.lsn,
            "durable_lsn": durable_lsn,
            "digest": summary.digest,
            // Exact, as the summary writes it: past 64 bits, a string of digits.
            "missing": u64::try_from(summary.missing)
                .map_or_else(|_| json!(summary.missing.to_string()), serde_json::Value::from),
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
