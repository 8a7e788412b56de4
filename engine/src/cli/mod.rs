//! The command line: its arguments (clap), what each subcommand does, and the program around
//! them (logging, Ctrl-C, exit codes).

pub mod args;
pub mod commands;
pub mod program;
