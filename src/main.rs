//! `waybill`: the command line around the Waybill core (docs/cli.md).
//!
//! Exit codes: 0 success; 1 a check failed (a corrupt journal, a failed expectation);
//! 2 bad usage or bad input; 3 the environment failed (I/O error, full disk, permission,
//! journal locked by another writer, capacity limit). Every failure prints one line on
//! stderr that names the path or the limit.

mod args;
mod bench;
mod commands;
mod config;
mod error;
mod output;

use clap::Parser;
use clap::error::ErrorKind;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Output piped into `head` and friends ends quietly when the reader goes away, as for any
    // Unix tool, instead of failing on a write to a closed pipe.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        // Help (also for a missing subcommand) and the version as the parser prints them.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            e.exit()
        }
        Err(e) => {
            eprintln!("waybill: {}", usage_error_line(&e.render().to_string()));
            return ExitCode::from(2);
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("waybill: {e}");
            e.exit_code()
        }
    }
}

/// A usage error of the argument parser on one line: the error, the possible values or the
/// tip it gives, and the usage of the command.
fn usage_error_line(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut usage = None;
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u.to_owned());
        } else if line.starts_with("For more information") {
            continue;
        } else {
            parts.push(line.strip_prefix("error: ").unwrap_or(line).to_owned());
        }
    }
    let mut out = parts.join(" ");
    if let Some(u) = usage {
        out.push_str(&format!(" (usage: {u}; see --help)"));
    }
    out
}
