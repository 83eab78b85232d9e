//! `waybill bench`: runs the benchmark and prints its figures (against the targets, or as
//! JSON), writes the latency distributions and their chart, and compares saved reports.

use crate::args::{
    BENCH_EVENTS_DEFAULT, BENCH_RATE_DEFAULT, BENCH_SEED_DEFAULT, BENCH_SHIPMENTS_DEFAULT,
    BenchArgs,
};
use crate::bench::hgrm::{self, About, Distribution};
use crate::bench::plot::{self, Series};
use crate::bench::{self, Bench, BenchOptions, compare, human};
use crate::error::CliError;
use crate::output::Out;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use waybill_sim::report::thousands_f;

/// The largest saved report `--compare` reads.
const REPORT_BYTES_MAX: u64 = 16 << 20;
/// The chart's file name in the `--latency-plot` directory.
pub const CHART_FILE_NAME: &str = "latency.svg";

pub fn run(a: BenchArgs) -> Result<ExitCode, CliError> {
    if let [old, new] = a.compare.as_slice() {
        return compare_saved(&a, old, new);
    }
    let opts = options(&a)?;
    // Everything the user named is checked before the long work starts.
    let old = match a.compare.first() {
        Some(p) => Some((p.clone(), read_report(p)?)),
        None => None,
    };
    if let Some(dir) = &a.latency_plot {
        if opts.only.as_deref().is_some_and(|o| o != "latency") {
            return Err(CliError::Usage(format!(
                "--latency-plot needs the latency runs, which --only {} leaves out",
                opts.only.as_deref().unwrap_or_default()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::from_user_path("cannot create --latency-plot", dir, &e))?;
    }
    std::fs::create_dir_all(&opts.dir)
        .map_err(|e| CliError::Env(format!("cannot create {}: {e}", opts.dir.display())))?;
    let bench = bench::run(&opts, |line| eprintln!("bench: {line}"));
    if let Some(dir) = &a.latency_plot {
        write_plot(dir, &bench)?;
    }
    let report = serde_json::to_value(&bench.report).expect("report serializes");
    let mut out = Out::new();
    if a.json {
        let text = serde_json::to_string_pretty(&report).expect("report serializes");
        out.line(text)?;
    } else {
        out.line(human::render(&bench.report).trim_end())?;
    }
    if let Some((path, old)) = old {
        let text = compare::render(&path.display().to_string(), &old, "(this run)", &report);
        if a.json {
            // Standard output holds the JSON report alone.
            eprint!("{text}");
        } else {
            out.line("")?;
            out.line(text.trim_end())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn options(a: &BenchArgs) -> Result<BenchOptions, CliError> {
    let opts = BenchOptions {
        events: a.events.unwrap_or(BENCH_EVENTS_DEFAULT),
        shipments: a.shipments.unwrap_or(BENCH_SHIPMENTS_DEFAULT),
        offered_rate_eps: a.rate.unwrap_or(BENCH_RATE_DEFAULT),
        seed: a.seed.unwrap_or(BENCH_SEED_DEFAULT),
        repeat: a.repeat.unwrap_or(1),
        only: a.only.clone(),
        dir: scratch_dir(),
    };
    if opts.events == 0 || opts.shipments == 0 || opts.offered_rate_eps == 0 {
        return Err(CliError::Usage(
            "--events, --shipments and --rate must be at least 1".into(),
        ));
    }
    if opts.only.as_deref() == Some("sqlite") && !bench::SQLITE_BUILT {
        return Err(CliError::Usage(
            "--only sqlite: this waybill was built without the sqlite feature (build with \
             default features, or --features sqlite, to run the SQLite comparison)"
                .into(),
        ));
    }
    Ok(opts)
}

/// A fresh directory for the journals and the SQLite file (removed after the run).
fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("waybill-bench-{}-{nanos}", std::process::id()))
}

/// `--compare OLD.json NEW.json`: runs nothing, so the options of a run do not apply.
fn compare_saved(a: &BenchArgs, old: &Path, new: &Path) -> Result<ExitCode, CliError> {
    let given = [
        ("--events", a.events.is_some()),
        ("--shipments", a.shipments.is_some()),
        ("--rate", a.rate.is_some()),
        ("--seed", a.seed.is_some()),
        ("--repeat", a.repeat.is_some()),
        ("--json", a.json),
        ("--only", a.only.is_some()),
        ("--latency-plot", a.latency_plot.is_some()),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
        return Err(CliError::Usage(format!(
            "{flag} does not apply to --compare with two reports, which runs nothing"
        )));
    }
    let (old_v, new_v) = (read_report(old)?, read_report(new)?);
    let text = compare::render(
        &old.display().to_string(),
        &old_v,
        &new.display().to_string(),
        &new_v,
    );
    let mut out = Out::new();
    out.line(text.trim_end())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A report saved from `waybill bench --json`.
fn read_report(path: &Path) -> Result<Value, CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::from_user_path("cannot read report", path, &e))?;
    if meta.len() > REPORT_BYTES_MAX {
        return Err(CliError::Usage(format!(
            "{}: {} bytes is more than a report of waybill bench holds (at most {REPORT_BYTES_MAX})",
            path.display(),
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::from_user_path("cannot read report", path, &e))?;
    let not_report = |why: String| {
        CliError::Usage(format!(
            "{} is not a report of `waybill bench --json`: {why}",
            path.display()
        ))
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| not_report(e.to_string()))?;
    compare::check_report(&v).map_err(not_report)?;
    Ok(v)
}

/// Writes every latency run's distribution as `<figure>.hgrm`, then the chart drawn from
/// those files.
fn write_plot(dir: &Path, bench: &Bench) -> Result<(), CliError> {
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text)
            .map_err(|e| CliError::Env(format!("cannot write {}: {e}", path.display())))
    };
    let r = &bench.report;
    let mut files = Vec::new();
    for run in &bench.latency_runs {
        let about = About {
            figure: run.figure.to_owned(),
            measure: run.measure.to_owned(),
            durability: run.durability.to_string(),
            offered_eps: run.offered_eps,
            runs: r.repeat,
            events: r.events,
            shipments: r.shipments,
        };
        let path = dir.join(format!("{}.hgrm", run.figure));
        write(&path, &hgrm::write(&run.histogram, &about))?;
        files.push(path);
    }
    let mut distributions = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Env(format!("cannot read {}: {e}", path.display())))?;
        let d = hgrm::parse(&text)
            .map_err(|e| CliError::Env(format!("{} does not read back: {e}", path.display())))?;
        distributions.push(d);
    }
    let title = format!("Latency by percentile, waybill bench {}", r.version);
    let subtitle = format!(
        "{} events offered per run, from {} events over {} shipments; {} pooled",
        thousands_f(r.latency_events as f64, 0),
        thousands_f(r.events as f64, 0),
        thousands_f(r.shipments as f64, 0),
        if r.repeat == 1 {
            "1 run".to_owned()
        } else {
            format!("{} runs", r.repeat)
        }
    );
    let chart = chart(&title, &subtitle, &distributions);
    write(&dir.join(CHART_FILE_NAME), &chart)
}

/// The chart of the distributions read back: a colour per offered rate, durable dashed.
fn chart(title: &str, subtitle: &str, distributions: &[Distribution]) -> String {
    let series: Vec<Series> = distributions
        .iter()
        .filter_map(|d| {
            let a = d.about.as_ref()?;
            let (colour, share) = if a.figure.contains("25pct") {
                (1, " (25 %)")
            } else if a.figure.contains("50pct") {
                (2, " (50 %)")
            } else {
                (0, "")
            };
            Some(Series {
                label: format!(
                    "{} ({}), {}/s{share}",
                    a.measure,
                    a.durability,
                    thousands_f(a.offered_eps as f64, 0)
                ),
                dashed: a.measure == "durable",
                colour,
                distribution: d,
            })
        })
        .take(plot::SERIES_MAX)
        .collect();
    plot::svg(title, subtitle, &series)
}
