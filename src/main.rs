use std::process::ExitCode;

use clap::Parser;
use pipeline::cli::Cli;
use pipeline::commands::{self, exit};
use pipeline::registry::Registry;
use pipeline_api::CancelToken;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("PIPELINE_LOG").unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let cancel = CancelToken::new();
    let handler_token = cancel.clone();
    let interrupts = std::sync::atomic::AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        if interrupts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
        eprintln!("interrupted: stopping running stages (press Ctrl-C again to quit at once)");
        handler_token.cancel();
    });
    match commands::dispatch(cli, &Registry::builtin(), cancel) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(error.code())
        }
    }
}
