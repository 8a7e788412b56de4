//! Runs the `download` stage outside the engine, for manual checks and `benches/download`:
//!
//! ```sh
//! cargo run -p pipeline-stages-download --example fetch -- URL OUT_DIR [PARAM=VALUE]...
//! # e.g. ... -- https://host/a.zip /tmp/out "extract=true" "checksum='sha256:...'"
//! ```
//!
//! Each `PARAM=VALUE` is one line of the stage's TOML table (strings quoted). The stage log goes
//! to stderr; the exit status is 0 on success, 1 when the stage fails.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use pipeline_api::{CancelToken, ConfiguredStage, SilentProgress, StageContext};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, out, extra @ ..] = args.as_slice() else {
        eprintln!("usage: fetch URL OUT_DIR [PARAM=VALUE]...");
        return ExitCode::from(2);
    };
    let stage = match prepare(url, extra) {
        Ok(stage) => stage,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let out = PathBuf::from(out);
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let (inputs, cancel) = (BTreeMap::new(), CancelToken::new());
    let mut log = std::io::stderr();
    let mut ctx = StageContext {
        stage: "fetch",
        root: &out,
        inputs: &inputs,
        out_dir: &out,
        gpus: &[],
        cpus: 1,
        progress: &SilentProgress,
        cancel: &cancel,
        log: &mut log,
    };
    match stage.run(&mut ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The stage bound to `url` and the extra TOML lines, checked as the engine checks them.
fn prepare(url: &str, extra: &[String]) -> Result<Box<dyn ConfiguredStage>, String> {
    let mut table = format!("url = {}\n", toml::Value::String(url.to_string()));
    for line in extra {
        table.push_str(line);
        table.push('\n');
    }
    let params: toml::Value = toml::from_str(&table).map_err(|e| format!("bad parameters: {e}"))?;
    let kind = pipeline_stages_download::stages().remove(0);
    kind.prepare(params)
        .map_err(|e| format!("parameter `{}`: {}", e.path, e.message))
}
