//! Runs the `visual7w` stage once outside the engine, for the benchmark in `benches/visual7w/`.
//!
//! ```sh
//! cargo run --release -p pipeline-stages-visual7w --example v7w_convert -- JSON IMAGES OUT [SEED]
//! ```
//! Prints the in-process time of the stage as `convert_seconds=<s>` on stderr.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use pipeline_api::{CancelToken, SilentProgress, Stage, StageContext};
use pipeline_stages_visual7w::{Visual7w, Visual7wParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [json, images, out, rest @ ..] = args.as_slice() else {
        return Err("usage: v7w_convert JSON IMAGES OUT [SEED]".into());
    };
    let seed = rest.first().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    let inputs: BTreeMap<String, Vec<PathBuf>> = [
        ("json".to_string(), vec![json.into()]),
        ("images".to_string(), vec![images.into()]),
    ]
    .into();
    let (progress, cancel) = (SilentProgress, CancelToken::new());
    let mut log = std::io::stdout();
    let mut ctx = StageContext {
        stage: "visual7w",
        root: &out,
        inputs: &inputs,
        out_dir: &out,
        gpus: &[],
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        progress: &progress,
        cancel: &cancel,
        log: &mut log,
    };
    let start = Instant::now();
    Visual7w.run(&Visual7wParams { seed, csv: false }, &mut ctx)?;
    eprintln!("convert_seconds={:.4}", start.elapsed().as_secs_f64());
    Ok(())
}
