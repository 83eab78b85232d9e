//! `waybill sim run` and `waybill sim export`.

use crate::args::{SimExportArgs, SimRunArgs};
use crate::error::{CliError, one_line};
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use waybill_sim::run::{self, RunOptions, SimError};
use waybill_sim::scenario::Scenario;

fn scenario(path: &Path) -> Result<Scenario, CliError> {
    Scenario::from_path(path).map_err(|e| CliError::Usage(format!("bad scenario: {}", e.0)))
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text)
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))
}

pub fn run(a: SimRunArgs) -> Result<ExitCode, CliError> {
    let sc = scenario(&a.scenario)?;
    let opts = RunOptions {
        seed: a.seed,
        journal: a.journal.clone(),
        progress: std::io::stderr().is_terminal(),
        ..RunOptions::default()
    };
    let report = run::run(&sc, &opts).map_err(|e| match e {
        SimError::Usage(m) | SimError::Io(m) => CliError::Usage(m),
        SimError::Core(c) => c.into(),
    })?;
    if let Some(p) = &a.report {
        write_file(p, &report.json())?;
    }
    if let Some(p) = &a.html {
        write_file(p, &report.html())?;
    }
    print!("{}", report.human(std::io::stdout().is_terminal()));
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn export(a: SimExportArgs) -> Result<ExitCode, CliError> {
    let sc = scenario(&a.scenario)?;
    let seed = a.seed.unwrap_or(sc.seed);
    let result = match &a.out {
        Some(p) => {
            let f = File::create(p)
                .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", p.display())))?;
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
