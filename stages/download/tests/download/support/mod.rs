//! Shared test support: the local HTTP server, a progress recorder, and running the `download`
//! stage through `pipeline_api` the way the engine does (parameters from TOML, a fresh context).

#![allow(dead_code)]

pub mod server;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pipeline_api::{CancelToken, Progress, StageContext, StageError};

/// Records what a stage reported: each phase's (total, unit) and the last position.
#[derive(Default)]
pub struct Recorder {
    pub phases: Mutex<Vec<(u64, String)>>,
    pub position: Mutex<u64>,
}

impl Progress for Recorder {
    fn start(&self, total: u64, unit: &str) {
        self.phases.lock().unwrap().push((total, unit.to_string()));
    }
    fn set_position(&self, position: u64) {
        *self.position.lock().unwrap() = position;
    }
    fn advance(&self, delta: u64) {
        *self.position.lock().unwrap() += delta;
    }
    fn message(&self, _text: &str) {}
}

/// What a run left: its result, its log and its progress.
pub struct Outcome {
    pub result: Result<(), StageError>,
    pub log: String,
    pub progress: Recorder,
    pub outputs: Vec<String>,
}

impl Outcome {
    /// The error message of a run that must have failed.
    pub fn error(&self) -> String {
        match &self.result {
            Ok(()) => panic!("the stage should have failed; log:\n{}", self.log),
            Err(e) => {
                eprintln!("stage error: {e}");
                e.to_string()
            }
        }
    }

    pub fn ok(&self) {
        if let Err(e) = &self.result {
            panic!("the stage failed: {e}\nlog:\n{}", self.log);
        }
    }
}

/// Runs `download` with the parameters of a TOML stage table (without `kind`) into `out_dir`.
pub fn run(params: &str, out_dir: &Path) -> Outcome {
    run_with(params, out_dir, &CancelToken::new())
}

pub fn run_with(params: &str, out_dir: &Path, cancel: &CancelToken) -> Outcome {
    let value: toml::Value = toml::from_str(params).expect("test parameters are TOML");
    let kind = pipeline_stages_download::stages()
        .into_iter()
        .find(|s| s.kind() == "download")
        .expect("registered");
    let stage = kind
        .prepare(value)
        .unwrap_or_else(|e| panic!("parameters refused: {} {}", e.path, e.message));
    std::fs::create_dir_all(out_dir).unwrap();
    let progress = Recorder::default();
    let mut log = Vec::new();
    let inputs = BTreeMap::new();
    let result = {
        let mut ctx = StageContext {
            stage: "fetch",
            root: out_dir,
            inputs: &inputs,
            out_dir,
            gpus: &[],
            cpus: 1,
            progress: &progress,
            cancel,
            log: &mut log as &mut (dyn Write + Send),
        };
        stage.run(&mut ctx)
    };
    Outcome {
        result,
        log: String::from_utf8_lossy(&log).into_owned(),
        progress,
        outputs: stage.outputs(),
    }
}

/// `len` bytes that differ from position to position (no run of equal bytes hides an offset bug).
pub fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

/// Every path under `dir`, relative, sorted (folders end with `/`).
pub fn listing(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        let relative = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            found.push(format!("{relative}/"));
            walk(root, &path, found);
        } else {
            found.push(relative);
        }
    }
}
