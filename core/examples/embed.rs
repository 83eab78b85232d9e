//! Embedding the core: ingest a file of CloudEvents, print a shipment, receive the effects the
//! core derives through a Rust sink.
//!
//! `cargo run -p waybill-core --example embed -- examples/day.jsonl [shipment id]`
//!
//! The journal goes to a temporary directory, removed at the end.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;
use waybill_core::{Downstream, EffectOut, Options, sink_fn};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .unwrap_or_else(|| "examples/day.jsonl".to_owned());
    let shipment: u64 = args.next().map_or(Ok(1), |s| s.parse())?;
    let journal = std::env::temp_dir().join(format!("waybill-embed-{}", std::process::id()));
    let result = run(
        Path::new(&input),
        shipment,
        &journal,
        &mut std::io::stdout(),
    );
    std::fs::remove_dir_all(&journal).ok();
    result.map(drop)
}

/// Ingests `input` into a new journal in `journal`, writes shipment `shipment` and every
/// effect the sinks received to `out`; returns the effects received.
fn run(
    input: &Path,
    shipment: u64,
    journal: &Path,
    out: &mut dyn std::io::Write,
) -> Result<Vec<EffectOut>, Box<dyn std::error::Error>> {
    // Every downstream system's effects go to one channel (each lane calls its own clone).
    let (tx, rx) = mpsc::channel::<EffectOut>();
    let mut options = Options::new();
    for system in [
        Downstream::Route,
        Downstream::Billing,
        Downstream::Erp,
        Downstream::Ops,
    ] {
        let tx = tx.clone();
        options = options.sink(
            system,
            sink_fn(move |batch| {
                batch.iter().for_each(|e| drop(tx.send(e.clone())));
                Ok(())
            }),
        );
    }
    drop(tx);

    let mut waybill = options.open(journal)?;
    let ingested = waybill.ingest_file(input)?;
    let c = &ingested.counters;
    writeln!(
        out,
        "{} events: {} applied, {} duplicates, {} dead-lettered",
        c.received, c.applied, c.duplicates, c.dead_lettered
    )?;
    match waybill.shipment(shipment) {
        Some(view) => writeln!(out, "shipment {shipment}: {view:#?}")?,
        None => writeln!(out, "no event named shipment {shipment}")?,
    }
    let caught_up = waybill.wait_delivered(Duration::from_secs(10))?;
    waybill.close()?;

    let mut received: Vec<EffectOut> = rx.try_iter().collect();
    received.sort_by_key(|e| e.seq);
    for e in &received {
        writeln!(
            out,
            "{:>5} {:<28} {}",
            e.seq,
            e.effect_type.as_str(),
            e.key.to_hex()
        )?;
    }
    writeln!(
        out,
        "{} effects received (all delivered: {caught_up})",
        received.len()
    )?;
    Ok(received)
}

#[cfg(test)]
mod tests {
    use super::run;
    use std::path::Path;

    /// The example as CI runs it: the bundled day, shipment 1, every effect received once.
    #[test]
    fn the_example_ingests_the_day_and_receives_every_effect() {
        let journal = tempfile::tempdir().expect("a temporary directory");
        let mut out = Vec::new();
        let received = run(
            Path::new("examples/day.jsonl"),
            1,
            &journal.path().join("journal"),
            &mut out,
        )
        .expect("the example runs");
        let text = String::from_utf8(out).expect("UTF-8 output");
        assert!(text.contains("shipment 1: ShipmentView"), "{text}");
        assert!(!received.is_empty(), "the day derives effects");
        let seqs: Vec<u64> = received.iter().map(|e| e.seq).collect();
        let want: Vec<u64> = (1..=received.len() as u64).collect();
        assert_eq!(seqs, want, "every effect exactly once, none missing");
        assert!(text.ends_with("(all delivered: true)\n"), "{text}");
    }
}
