//! `waybill ingest`: read (reader thread), decode and encode for the journal (decoder
//! threads, in parallel, order kept), journal and apply (this thread, the single writer).
//!
//! Everything named on the command line is checked before the journal is opened or
//! created: the input must be a readable file (or standard input), the journal path a
//! directory or a path where one can be made. A live standard input is applied and
//! acknowledged as it arrives: a batch closes when it is full or when the input pauses.

use super::check_journal_dir;
use super::live_effects::LiveEffects;
use crate::args::IngestArgs;
use crate::error::{CliError, one_line};
use crate::output::{self, Out};
use serde_json::{Value, json};
use std::fs::{self, File};
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use waybill_core::engine::Core;
use waybill_core::journal::{
    Durability, JournalOptions, SEGMENT_BYTES_DEFAULT, existing_segment_bytes,
};
use waybill_core::limits::Limits;
use waybill_core::machine::Counters;
use waybill_core::outbox::parse_duration_us;
use waybill_core::pipeline::{StreamOptions, StreamProgress, ingest_reader};
use waybill_core::snapshot::policy::SnapshotPolicy;

/// Decoder threads. Decoding is most of the work of JSONL ingest; two use both cores of a
/// small machine while the writer's share stays small.
const DECODERS: usize = 2;

pub fn run(a: IngestArgs) -> Result<ExitCode, CliError> {
    // Everything the command line names is checked before the journal is touched.
    let durability: Durability = a
        .durability
        .parse()
        .map_err(|e| CliError::Usage(format!("{e}")))?;
    let limits = parse_limits(&a.limits)?;
    let config = a.config.as_deref().map(crate::config::read).transpose()?;
    let deliver_wait_us = parse_duration_us(&a.deliver_wait)
        .filter(|us| *us >= 0)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--deliver-wait {:?} is not a duration (like \"5s\", \"2m\")",
                a.deliver_wait
            ))
        })?;
    let input = open_input(a.input.as_deref())?;
    let dir = &a.journal.journal;
    check_journal_target(dir)?;
    let segment_bytes = match a.segment_bytes {
        Some(bytes) => bytes,
        // An existing journal keeps the size of its last segment.
        None if dir.is_dir() => existing_segment_bytes(dir)?.unwrap_or(SEGMENT_BYTES_DEFAULT),
        None => SEGMENT_BYTES_DEFAULT,
    };
    let opts = JournalOptions {
        durability,
        segment_bytes,
        ..Default::default()
    };
    let mut core = Core::open(dir, opts)?;
    core.set_limits(limits)?;
    if let Some(t) = &core.recovery().torn_tail {
        eprintln!("waybill: recovered: {t}");
    }
    super::warn_skipped(&core.snapshots().skipped);
    core.set_snapshot_policy(SnapshotPolicy {
        every_records: a.snapshot_every,
        on_close_min_records: a.snapshot_at_close_min,
        ..SnapshotPolicy::default()
    });
    let live = LiveEffects::start(&mut core, config.as_ref(), now_us())?;
    let mut out = Out::new();
    let (total, durable_lsn) = stream(input, &mut core, &mut out, a.progress_json)?;
    let effects = live.finish(&core, Duration::from_micros(deliver_wait_us as u64))?;
    print_result(&mut out, &a, &core, (&total, &effects), durable_lsn)?;
    out.flush()?;
    for taken in core.close()? {
        match taken {
            Ok((path, lsn)) => eprintln!("waybill: snapshot at lsn {lsn}: {}", path.display()),
            // The records are durable; only the next restart replays more.
            Err(e) => eprintln!("waybill: warning: a snapshot failed: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ingests the whole input, printing the progress lines if asked; returns this input's
/// counters and the durable LSN after the final flush.
fn stream(
    input: Box<dyn Read + Send>,
    core: &mut Core,
    out: &mut Out,
    progress_json: bool,
) -> Result<(Counters, u64), CliError> {
    let mut progress = Progress {
        out,
        enabled: progress_json,
        reported_durable_lsn: core.journal().durable_lsn(),
        error: None,
    };
    let stream_opts = StreamOptions {
        decoders: DECODERS,
        ..StreamOptions::default()
    };
    let lsn_at_open = core.machine().lsn();
    let streamed = match ingest_reader(input, core, &stream_opts, now_us, &mut |p| progress.step(p))
    {
        Ok(s) => s,
        Err(e) => {
            // The batches before the failure are journaled and applied: make them durable
            // (if the journal still can) and say how many there were.
            let durable = core.flush().unwrap_or(core.journal().durable_lsn());
            let lsn = core.machine().lsn();
            return Err(CliError::from(e).context(format!(
                "{} events of this input were journaled before it (lsn {lsn}, durable to {durable})",
                lsn - lsn_at_open
            )));
        }
    };
    let durable_lsn = streamed.durable_lsn.max(core.flush()?);
    let total = streamed.counters;
    if durable_lsn > progress.reported_durable_lsn {
        // The final flush is a durable step too.
        let _ = progress.step(&StreamProgress {
            lsn: core.machine().lsn(),
            durable_lsn,
            counters: total,
        });
    }
    if let Some(e) = progress.error.take() {
        return Err(e);
    }
    if let Some(e) = streamed.read_error {
        return Err(read_failed(total.received, &e));
    }
    Ok((total, durable_lsn))
}

/// The capacity limits of this run: the core's defaults, lowered by `--limit NAME=N`.
fn parse_limits(args: &[String]) -> Result<Limits, CliError> {
    let mut limits = Limits::default();
    for arg in args {
        let bad = || {
            let names: Vec<&str> = Limits::MAX.named().iter().map(|(n, _)| *n).collect();
            CliError::Usage(format!(
                "--limit {arg:?}: expected NAME=N with NAME one of {}",
                names.join(", ")
            ))
        };
        let (name, value) = arg.split_once('=').ok_or_else(bad)?;
        let value: u64 = value.trim().parse().map_err(|_| bad())?;
        if !set_limit(&mut limits, name.trim(), value) {
            return Err(bad());
        }
    }
    limits
        .check()
        .map_err(|e| CliError::Usage(format!("--limit: {e}")))?;
    Ok(limits)
}

/// Sets the limit named `name` (a name of [`Limits::named`]); false for an unknown name.
fn set_limit(limits: &mut Limits, name: &str, value: u64) -> bool {
    let field = match name {
        "sources" => &mut limits.sources,
        "shipments" => &mut limits.shipments,
        "vehicles" => &mut limits.vehicles,
        "charges" => &mut limits.charges,
        "invoices" => &mut limits.invoices,
        "listed_charges" => &mut limits.listed_charges,
        "customers" => &mut limits.customers,
        "routes" => &mut limits.routes,
        "contract_terms" => &mut limits.contract_terms,
        "text_bytes" => &mut limits.text_bytes,
        "failed_attempts" => &mut limits.failed_attempts,
        _ => return false,
    };
    *field = value;
    true
}

/// The input named on the command line, opened and checked: a file (not a directory), or
/// standard input for `-` or nothing.
fn open_input(path: Option<&Path>) -> Result<Box<dyn Read + Send>, CliError> {
    let Some(p) = path.filter(|p| p.as_os_str() != "-") else {
        return Ok(Box::new(io::stdin()));
    };
    let file = File::open(p).map_err(|e| CliError::from_user_path("cannot open input", p, &e))?;
    let meta = file
        .metadata()
        .map_err(|e| CliError::from_user_path("cannot read input", p, &e))?;
    if meta.is_dir() {
        return Err(CliError::Usage(format!(
            "cannot open input {}: it is a directory, not a file of events",
            p.display()
        )));
    }
    Ok(Box::new(file))
}

/// The journal path must be a directory, or a path where one can be created: the nearest
/// part of it that exists must be a directory too.
fn check_journal_target(dir: &Path) -> Result<(), CliError> {
    check_journal_dir(dir)?;
    for ancestor in dir.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() {
            break;
        }
        match fs::metadata(ancestor) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(CliError::Usage(format!(
                    "--journal {}: {} is not a directory",
                    dir.display(),
                    ancestor.display()
                )));
            }
            Err(_) => {}
        }
    }
    Ok(())
}

/// `--progress-json`: one line per step the core reports (a durable step; under `none` an
/// applied batch), written out at once.
struct Progress<'a> {
    out: &'a mut Out,
    enabled: bool,
    /// The durable LSN of the last line (at first, the journal's when it was opened).
    reported_durable_lsn: u64,
    /// Standard output failed: ingesting stops, the error is the command's.
    error: Option<CliError>,
}

impl Progress<'_> {
    fn step(&mut self, p: &StreamProgress) -> ControlFlow<()> {
        self.reported_durable_lsn = self.reported_durable_lsn.max(p.durable_lsn);
        if !self.enabled || self.error.is_some() {
            return ControlFlow::Continue(());
        }
        let line = json!({
            "lsn": p.lsn,
            "durable_lsn": p.durable_lsn,
            "received": p.counters.received,
            "applied": p.counters.applied,
            "duplicates": p.counters.duplicates,
            "dead_lettered": p.counters.dead_lettered,
        });
        match self.out.line(line).and_then(|()| self.out.flush()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.error = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

/// Reading the input failed part way: what was read is journaled. An input that is not
/// what it claims (a batch array over its limit) is bad input; anything else the environment.
fn read_failed(received: u64, e: &io::Error) -> CliError {
    let msg = format!(
        "reading input failed after {received} events (they are journaled): {}",
        one_line(e)
    );
    match e.kind() {
        io::ErrorKind::InvalidData => CliError::Usage(msg),
        _ => CliError::Env(msg),
    }
}

fn print_result(
    out: &mut Out,
    a: &IngestArgs,
    core: &Core,
    (total, effects): (&Counters, &Value),
    durable_lsn: u64,
) -> Result<(), CliError> {
    let summary = core.machine().summary();
    if a.json || a.progress_json {
        let v = json!({
            "received": total.received,
            "applied": total.applied,
            "duplicates": total.duplicates,
            "dead_lettered": total.dead_lettered,
            "dead_letter_reasons": output::reason_counts(total),
            "lsn": summary.lsn,
            "durable_lsn": durable_lsn,
            "digest": summary.digest,
            // Exact, as the summary writes it: past 64 bits, a string of digits.
            "missing": u64::try_from(summary.missing)
                .map_or_else(|_| json!(summary.missing.to_string()), serde_json::Value::from),
            "effects": effects,
        });
        return out.line(v);
    }
    out.line(format_args!(
        "ingested {} events into {}",
        total.received,
        a.journal.journal.display()
    ))?;
    output::print_counters(out, total)?;
    out.line(format_args!(
        "lsn {} (durable to {}), missing {}",
        summary.lsn, durable_lsn, summary.missing
    ))?;
    out.line(format_args!("digest {}", summary.digest))?;
    out.line(format_args!("effects {}", effects_line(effects)))
}

/// `N derived (last seq M)`, then what delivery did when it ran.
fn effects_line(e: &Value) -> String {
    let mut line = format!("{} derived (last seq {})", e["derived"], e["last_seq"]);
    if let Some(d) = e.get("delivered") {
        line += &format!(
            ", {d} delivered, {} pending, {} dead-lettered",
            e["pending"], e["dead"]
        );
    }
    line
}

/// Wall-clock ingest time; the journal keeps ingest times monotonic.
fn now_us() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    d.as_micros() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_can_be_lowered_by_name() {
        for (name, max) in Limits::MAX.named() {
            let limits = parse_limits(&[format!("{name}=7")]).expect(name);
            for (other, value) in limits.named() {
                let want = if other == name {
                    7
                } else {
                    Limits::MAX
                        .named()
                        .iter()
                        .find(|(n, _)| *n == other)
                        .unwrap()
                        .1
                };
                assert_eq!(value, want, "{name}: {other}");
            }
            let above = format!("{name}={}", max + 1);
            assert_eq!(parse_limits(&[above]).unwrap_err().code(), 2, "{name}");
        }
        for bad in ["sources", "sources=", "sources=x", "nothing=3", "=3"] {
            let e = parse_limits(&[bad.to_owned()]).unwrap_err();
            assert_eq!(e.code(), 2, "{bad}");
            assert!(e.to_string().contains("sources, shipments"), "{e}");
        }
    }
}
