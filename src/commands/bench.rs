//! `waybill bench`: prints the benchmark's figures, as a table against the targets or as JSON.

use crate::args::BenchArgs;
use crate::bench::{self, BenchOptions};
use crate::error::CliError;
use crate::output::Out;
use std::process::ExitCode;
use waybill_sim::report::thousands_f;

pub fn run(a: BenchArgs) -> Result<ExitCode, CliError> {
    if a.events == 0 || a.shipments == 0 || a.rate == 0 {
        return Err(CliError::Usage(
            "--events, --shipments and --rate must be at least 1".into(),
        ));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let opts = BenchOptions {
        events: a.events,
        shipments: a.shipments,
        offered_rate_eps: a.rate,
        seed: a.seed,
        only: a.only.clone(),
        dir: std::env::temp_dir().join(format!("waybill-bench-{}-{nanos}", std::process::id())),
    };
    // The scratch directory the journals go to, checked before the long work starts.
    std::fs::create_dir_all(&opts.dir)
        .map_err(|e| CliError::Env(format!("cannot create {}: {e}", opts.dir.display())))?;
    let r = bench::run(&opts, |line| eprintln!("bench: {line}"));
    let mut out = Out::new();
    if a.json {
        out.line(format_args!(
            "{}",
            serde_json::to_string_pretty(&r).expect("report serializes")
        ))?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    out.line(format_args!(
        "waybill bench: {} events over {} shipments ({} touched), {} cores",
        r.events, r.shipments, r.shipments_touched, r.cores
    ))?;
    out.line("")?;
    out.line(format_args!(
        "{:<28} {:>14}  {:>12}",
        "path", "events/s", "target"
    ))?;
    let rows = [
        ("limit", r.limit_eps, ""),
        ("apply only", r.apply_only_eps, ""),
        ("pipeline (none)", r.pipeline_eps, ">= 5,000,000"),
        ("pipeline (group)", r.pipeline_group_eps, ">= 3,000,000"),
        ("replay", r.replay_eps, ">= 10,000,000"),
        ("jsonl ingest", r.jsonl_ingest_eps, ">= 1,000,000"),
        ("sqlite", r.sqlite_eps, ""),
    ];
    for (name, v, target) in rows {
        out.line(format_args!(
            "{name:<28} {:>14}  {target:>12}",
            thousands_f(v, 0)
        ))?;
    }
    out.line("")?;
    out.line(format_args!(
        "{:<28} {:>14.2}  {:>12}",
        "pipeline / limit", r.ratios.pipeline_vs_limit, ">= 0.5"
    ))?;
    out.line(format_args!(
        "{:<28} {:>14.1}  {:>12}",
        "pipeline / sqlite", r.ratios.pipeline_vs_sqlite, ">= 50"
    ))?;
    out.line(format_args!(
        "{:<28} {:>14}  {:>12}",
        format!(
            "latency p99 at {} /s",
            thousands_f(r.offered_rate_eps as f64, 0)
        ),
        format!("{} us", r.latency_us.p99),
        "<= 50 us"
    ))?;
    out.line(format_args!(
        "{:<28} {:>14}  {:>12}",
        "durable latency p99 (group)",
        format!("{} us", r.durable_latency_us.p99),
        "<= 3000 us"
    ))?;
    out.line(format_args!(
        "{:<28} {:>14.0}  {:>12}",
        "state bytes per shipment", r.state_bytes_per_shipment, "<= 256"
    ))?;
    out.line("")?;
    out.line(format_args!(
        "latency us: p50 {} p99 {} p99.9 {} max {}; durable: p50 {} p99 {} p99.9 {} max {} ({} events offered)",
        r.latency_us.p50,
        r.latency_us.p99,
        r.latency_us.p999,
        r.latency_us.max,
        r.durable_latency_us.p50,
        r.durable_latency_us.p99,
        r.durable_latency_us.p999,
        r.durable_latency_us.max,
        r.latency_events
    ))?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
