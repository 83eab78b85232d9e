//! `waybill serve`: the core as a service (the `waybill-server` crate).

use crate::args::ServeArgs;
use crate::error::CliError;
use std::process::ExitCode;
use waybill_server::ServeError;
use waybill_server::config::{ConfigError, ServeConfig};

pub fn run(a: ServeArgs) -> Result<ExitCode, CliError> {
    let mut config = ServeConfig::read(&a.config).map_err(|e| match e {
        ConfigError::Read { .. } => CliError::Usage(format!("--config: {e}")),
        ConfigError::Invalid { .. } => CliError::Usage(format!("--config {e}")),
    })?;
    if let Some(listen) = a.listen {
        config.listen = listen;
    }
    let journal = config.journal.clone();
    waybill_server::run(config, |addr| {
        // One line a supervisor or a test can wait for.
        eprintln!("waybill: serving {} on http://{addr}", journal.display());
    })
    .map_err(|e| match e {
        ServeError::Listen { .. } => CliError::Env(e.to_string()),
        ServeError::Core(c) => CliError::from(c),
    })?;
    eprintln!("waybill: stopped cleanly");
    Ok(ExitCode::SUCCESS)
}
