//! A throwaway project with a manifest and its own cache, driven through the real binary.
#![allow(dead_code)]

pub mod web;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    pub dir: tempfile::TempDir,
}

/// What one `pipeline run --json` did.
#[derive(Debug)]
pub struct RunResult {
    pub code: i32,
    pub stderr: String,
    pub outcomes: BTreeMap<String, String>,
}

impl RunResult {
    /// Stages that really ran, sorted.
    pub fn ran(&self) -> Vec<&str> {
        self.with_outcome("ran")
    }

    pub fn hits(&self) -> Vec<&str> {
        self.with_outcome("hit")
    }

    pub fn with_outcome(&self, outcome: &str) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|(_, o)| *o == outcome)
            .map(|(s, _)| s.as_str())
            .collect()
    }
}

impl Project {
    pub fn new(manifest: &str) -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        project.write("pipeline.toml", manifest);
        project
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative))
            .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
    }

    /// Replaces `from` by `to` in the manifest.
    pub fn edit(&self, from: &str, to: &str) {
        let text = self.read("pipeline.toml");
        assert!(text.contains(from), "manifest has no `{from}`");
        self.write("pipeline.toml", &text.replacen(from, to, 1));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pipeline"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("PIPELINE_CACHE_DIR", self.path("cache"))
            .env("CI", "1")
            .env_remove("PIPELINE_GPUS")
            .env_remove("CUDA_VISIBLE_DEVICES");
        command
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("the binary runs")
    }

    /// `pipeline <args>`: exit code, stdout, stderr.
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let output = self.output(args);
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `pipeline run pipeline.toml --json <extra>`.
    pub fn run(&self, extra: &[&str]) -> RunResult {
        let mut args = vec!["run", "pipeline.toml", "--json"];
        args.extend_from_slice(extra);
        parse_run(&self.output(&args))
    }
}

pub fn parse_run(output: &Output) -> RunResult {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let mut outcomes = BTreeMap::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(stdout.trim()) {
        for stage in value["stages"].as_array().unwrap() {
            outcomes.insert(
                stage["stage"].as_str().unwrap().to_string(),
                stage["outcome"].as_str().unwrap().to_string(),
            );
        }
    }
    RunResult {
        code: output.status.code().unwrap_or(-1),
        stderr,
        outcomes,
    }
}

/// An `exec` stage table whose shell script writes `out.txt`.
pub fn sh_stage(name: &str, inputs: &str, script: &str) -> String {
    format!(
        "[stage.{name}]\nkind = \"exec\"\ninputs = {{ {inputs} }}\ncmd = [\"sh\", \"-c\", '''{script}''']\noutputs = [\"out.txt\"]\n\n"
    )
}

/// Every file below `dir`.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_below(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// prepare -> {left, right} -> join on `data/raw.txt` (prepare sorts it; left and right can run at
/// once; prepare also writes an empty folder `empty/`, declared).
pub fn diamond() -> String {
    let mut manifest = sh_stage(
        "prepare",
        "raw = \"data/raw.txt\"",
        "sort \"$PIPELINE_INPUT_RAW\" > \"$PIPELINE_OUT/out.txt\"; mkdir \"$PIPELINE_OUT/empty\"",
    )
    .replace(
        "outputs = [\"out.txt\"]",
        "outputs = [\"out.txt\", \"empty/\"]",
    );
    manifest += &sh_stage(
        "left",
        "data = \"@prepare/out.txt\"",
        "head -n 1 \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest += &sh_stage(
        "right",
        "data = \"@prepare/out.txt\"",
        "tail -n 1 \"$PIPELINE_INPUT_DATA\" > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest += &sh_stage(
        "join",
        "l = \"@left/out.txt\", r = \"@right/out.txt\"",
        "cat \"$PIPELINE_INPUT_L\" \"$PIPELINE_INPUT_R\" > \"$PIPELINE_OUT/out.txt\"",
    );
    manifest
}

/// `pipelines/demo.toml` with the project root at the manifest's folder and a smaller workload.
pub fn reduced_demo() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/demo.toml"))
        .unwrap();
    let edits = [
        ("root = \"..\"", "root = \".\""),
        ("images = 600", "images = 300"),
        ("epochs = 8", "epochs = 5"),
        ("epochs = 4", "epochs = 1"),
    ];
    let mut text = text;
    for (from, to) in edits {
        assert!(text.contains(from), "demo.toml has no `{from}`");
        text = text.replace(from, to);
    }
    text
}
