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
    // Output piped into `head` and friends ends quietly when the reader goes away, as for any
    // Unix tool, instead of failing on a write to a closed pipe.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = args::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("waybill: {e}");
            e.exit_code()
        }
    }
}
