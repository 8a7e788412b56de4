//! The program around the commands: parses the command line, sets up logging and Ctrl-C, runs the
//! command with the stage kinds a binary brings, and turns the outcome into an exit code.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;
use pipeline_api::CancelToken;

use crate::cli::args::{Cli, Command};
use crate::cli::commands::{self, exit};
use crate::registry::Registry;

/// `main` of a `pipeline` binary whose stage kinds are `registry`.
pub fn main(registry: &Registry) -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Run(_)) {
        end_quietly_on_broken_pipe();
    }
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PIPELINE_LOG")
                .unwrap_or_else(|_| filter.into()),
        )
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let cancel = CancelToken::new();
    let handler_token = cancel.clone();
    let interrupts = AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        if interrupts.fetch_add(1, Ordering::SeqCst) > 0 {
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
        eprintln!("interrupted: stopping running stages (press Ctrl-C again to quit at once)");
        handler_token.cancel();
    });
    match commands::dispatch(cli, registry, cancel) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.code())
        }
    }
}

/// Lets a closed stdout end the process as it ends other Unix tools (`pipeline stages | head -1`)
/// instead of a panic on the failed write. Not for `run`: a run interrupted that way would stop in
/// the middle of its stages; it keeps the broken pipe an ordinary write error.
fn end_quietly_on_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
