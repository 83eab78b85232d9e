//! `waybill sim run` and `waybill sim export`.
//!
//! `sim run` takes one or more scenario files. Everything that can be checked before the runs
//! is: every scenario file parses (exit 2 naming it), every output file can be written, every
//! journal directory is fresh. Then the scenarios run one after the other, each report is
//! printed as it ends, several end with a summary table, and the output files are written
//! last: a file that cannot be written then is reported on stderr and in the exit code, and
//! the results already printed stand.

use crate::args::{SimExportArgs, SimRunArgs};
use crate::error::{CliError, one_line};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use waybill_sim::report::{self, ProgressOptions, Report, SuiteRun};
use waybill_sim::run::{self, RunOptions, SimError};
use waybill_sim::scenario::Scenario;

/// `-` names standard output.
fn is_stdout(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn path_error(what: &str, path: &Path, e: &std::io::Error) -> CliError {
    CliError::from_user_path(what, path, e)
}

fn scenario(path: &Path) -> Result<Scenario, CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| path_error("cannot read scenario", path, &e))?;
    Scenario::from_toml(&text)
        .map_err(|e| CliError::Usage(format!("bad scenario {}: {}", path.display(), e.0)))
}

/// Fails now, naming the path, if `path` could not be written after the runs: a directory,
/// a missing parent, no permission. Leaves no file behind that was not there.
fn check_writable(what: &str, path: &Path) -> Result<(), CliError> {
    if path.is_dir() {
        return Err(CliError::Usage(format!(
            "{what} {}: is a directory",
            path.display()
        )));
    }
    let probe = if path.exists() {
        OpenOptions::new().append(true).open(path).map(drop)
    } else {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|f| {
                drop(f);
                std::fs::remove_file(path)
            })
    };
    probe.map_err(|e| path_error(what, path, &e))
}

/// The file-name part that tells scenario files apart (`scenarios/chaos.toml` -> `chaos`).
fn stem(path: &Path) -> String {
    path.file_stem().map_or_else(
        || "scenario".to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// `out/r.html` and `chaos` -> `out/r-chaos.html`.
fn per_scenario(path: &Path, stem: &str) -> PathBuf {
    let base = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{base}-{stem}.{}", ext.to_string_lossy()),
        None => format!("{base}-{stem}"),
    };
    path.with_file_name(name)
}

/// One scenario to run: its file, what it says, and where its journal and HTML go.
struct Planned {
    file: PathBuf,
    scenario: Scenario,
    journal: Option<PathBuf>,
    html: Option<PathBuf>,
}

/// Parses every scenario and checks every output before anything runs.
fn plan(a: &SimRunArgs) -> Result<Vec<Planned>, CliError> {
    let several = a.scenarios.len() > 1;
    let mut planned = Vec::with_capacity(a.scenarios.len());
    for file in &a.scenarios {
        planned.push(Planned {
            file: file.clone(),
            scenario: scenario(file)?,
            journal: None,
            html: None,
        });
    }
    let stdout_outputs = [&a.report, &a.junit]
        .iter()
        .filter(|o| o.as_deref().is_some_and(is_stdout))
        .count();
    if stdout_outputs > 1 {
        return Err(CliError::Usage(
            "--report - and --junit - cannot both write to standard output".into(),
        ));
    }
    if a.html.as_deref().is_some_and(is_stdout) {
        return Err(CliError::Usage("--html needs a file name, not -".into()));
    }
    if several && (a.journal.is_some() || a.html.is_some()) {
        let mut stems: Vec<String> = a.scenarios.iter().map(|f| stem(f)).collect();
        stems.sort();
        if let Some(w) = stems.windows(2).find(|w| w[0] == w[1]) {
            return Err(CliError::Usage(format!(
                "two scenario files are named {}: --journal and --html need distinct file names",
                w[0]
            )));
        }
    }
    for p in &mut planned {
        p.journal = a.journal.as_ref().map(|j| match several {
            true => j.join(stem(&p.file)),
            false => j.clone(),
        });
        p.html = a.html.as_ref().map(|h| match several {
            true => per_scenario(h, &stem(&p.file)),
            false => h.clone(),
        });
        if let Some(j) = &p.journal {
            check_journal(j)?;
        }
        if let Some(h) = &p.html {
            check_writable("cannot write HTML report", h)?;
        }
    }
    for (what, out) in [("JSON report", &a.report), ("JUnit report", &a.junit)] {
        if let Some(p) = out.as_deref().filter(|p| !is_stdout(p)) {
            check_writable(&format!("cannot write {what}"), p)?;
        }
    }
    Ok(planned)
}

/// A journal directory for a run must be a directory (or not exist yet) and hold no journal.
fn check_journal(dir: &Path) -> Result<(), CliError> {
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::Usage(format!(
            "journal {}: is not a directory",
            dir.display()
        )));
    }
    if run::holds_journal(dir) {
        return Err(CliError::Usage(format!(
            "{} already holds a journal; a simulation needs a fresh one",
            dir.display()
        )));
    }
    Ok(())
}

/// Columns of the terminal on stderr (80 when it cannot tell).
fn terminal_columns() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which points to a live,
    // properly aligned `winsize` for the duration of the call.
    let rc = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if rc == 0 && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}

fn sim_error(e: SimError) -> CliError {
    match e {
        SimError::Usage(m) => CliError::Usage(m),
        SimError::Io(m) => CliError::Env(m),
        SimError::Core(c) => c.into(),
        SimError::Outbox(o) => o.into(),
    }
}

/// Writes `text` to `path` (standard output for `-`); a failure is reported on stderr and
/// returned as the exit code it calls for.
fn write_output(what: &str, path: &Path, text: &str) -> Option<u8> {
    let written = if is_stdout(path) {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes()).and_then(|()| out.flush())
    } else {
        std::fs::write(path, text)
    };
    match written {
        Ok(()) => None,
        Err(e) => {
            let err = path_error(&format!("cannot write {what}"), path, &e);
            eprintln!("waybill: {err}");
            Some(err.code())
        }
    }
}

pub fn run(a: SimRunArgs) -> Result<ExitCode, CliError> {
    let planned = plan(&a)?;
    let n = planned.len();
    // With `--report -` or `--junit -` standard output is that document's alone; the
    // summaries go to stderr.
    let human_to_stderr = [&a.report, &a.junit]
        .iter()
        .any(|o| o.as_deref().is_some_and(is_stdout));
    let color = if human_to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let mut worst = 0u8;
    // A summary that cannot be written (a closed or full standard output) is the
    // environment's failure; the runs and the output files go on.
    let show = |text: &str| {
        let written = if human_to_stderr {
            let mut err = std::io::stderr().lock();
            err.write_all(text.as_bytes()).and_then(|()| err.flush())
        } else {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        };
        written
            .map_err(|e| {
                let err = CliError::stdout(&e);
                eprintln!("waybill: {err}");
                err.code()
            })
            .err()
    };
    let mut runs: Vec<SuiteRun> = Vec::with_capacity(n);
    for (k, p) in planned.iter().enumerate() {
        let opts = RunOptions {
            seed: a.seed,
            journal: p.journal.clone(),
            progress: std::io::stderr().is_terminal().then(|| ProgressOptions {
                label: match n {
                    1 => p.scenario.name.clone(),
                    _ => format!("[{}/{n}] {}", k + 1, p.scenario.name),
                },
                width: terminal_columns,
            }),
            ..RunOptions::default()
        };
        let outcome = run::run(&p.scenario, &opts).map_err(|e| {
            let err = sim_error(e);
            worst = worst.max(err.code());
            eprintln!("waybill: {}: {err}", p.file.display());
            one_line(&err)
        });
        if let Ok(r) = &outcome {
            worst = worst.max(show(&r.human(color)).unwrap_or(0));
            if !r.ok() {
                worst = worst.max(1);
            }
        }
        runs.push(SuiteRun {
            file: p.file.display().to_string(),
            outcome,
        });
    }
    if n > 1 {
        worst = worst.max(show(&report::summary(&runs, color)).unwrap_or(0));
    }
    for code in write_outputs(&a, &planned, &runs) {
        worst = worst.max(code);
    }
    Ok(ExitCode::from(worst))
}

/// Writes the JSON, HTML and JUnit outputs; returns the exit codes of those that failed.
fn write_outputs(a: &SimRunArgs, planned: &[Planned], runs: &[SuiteRun]) -> Vec<u8> {
    let mut failed = Vec::new();
    let reports: Vec<&Report> = runs
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .collect();
    if let Some(path) = &a.report {
        let json = match (planned.len(), reports.first()) {
            (1, Some(r)) => Some(r.json()),
            (1, None) => None,
            _ => Some(serde_json::to_string_pretty(&reports).expect("reports serialize")),
        };
        if let Some(json) = json {
            failed.extend(write_output("JSON report", path, &format!("{json}\n")));
        }
    }
    for (p, run) in planned.iter().zip(runs) {
        if let (Some(path), Ok(r)) = (&p.html, &run.outcome) {
            failed.extend(write_output("HTML report", path, &r.html()));
        }
    }
    if let Some(path) = &a.junit {
        failed.extend(write_output("JUnit report", path, &report::junit(runs)));
    }
    failed
}

pub fn export(a: SimExportArgs) -> Result<ExitCode, CliError> {
    let sc = scenario(&a.scenario)?;
    let seed = a.seed.unwrap_or(sc.seed);
    let result = match &a.out {
        Some(p) => {
            let f = File::create(p).map_err(|e| path_error("cannot create", p, &e))?;
            run::export(&sc, seed, &mut BufWriter::new(f))
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            let r = run::export(&sc, seed, &mut out);
            let _ = out.flush();
            r
        }
    };
    match result {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(CliError::Usage(format!("export failed: {}", one_line(&e)))),
    }
}
