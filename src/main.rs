//! `waybill`: the command line around the Waybill core (SPEC §7).
//!
//! Exit codes: 0 success; 1 a check failed (a corrupt journal, a failed expectation);
//! 2 bad usage or bad input, with a one-line reason on stderr.

mod args;
mod bench;
mod commands;
mod error;
mod output;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("waybill: {e}");
            e.exit_code()
        }
    }
}
