//! `pipeline`: the engine (`engine/`) with the built-in stage plugins (`stages/`).

mod builtin;

use std::process::ExitCode;

fn main() -> ExitCode {
    pipeline_engine::program::main(&builtin::registry())
}
