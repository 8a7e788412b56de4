//! Transcripts of the command line, kept as insta snapshots (`tests/snapshots/`): what `dag`,
//! `status` (with its reasons: before a run, after it, after a parameter and an input edit),
//! `run`, `explain` and a refused manifest print, byte for byte but for the temp folder, timings and
//! hashes (the golden key test of the workspace checks hashes).
//!
//! The commands run in a child process: this test binary started again with
//! `PIPELINE_SNAPSHOT_CHILD` set runs the program's `main` with the generic stage kinds
//! (`exec`, `copy`, `publish`), as the `pipeline` binary does, so the engine's own tests need no
//! binary of another package. Hence `harness = false`: `main` below is the child or the runner.
//!
//! After an intended change of output: `INSTA_UPDATE=always cargo test -p pipeline-engine --test
//! cli_snapshots`, then review the diff of the `.snap` files.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use pipeline_engine::registry::Registry;

/// Set in the child: run the program instead of the tests.
const CHILD: &str = "PIPELINE_SNAPSHOT_CHILD";

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        let mut registry = Registry::empty();
        for stage in pipeline_stages_core::stages() {
            registry.register(stage);
        }
        return pipeline_engine::program::main(&registry);
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let tests: [(&str, fn()); 2] = [
        (
            "a_pipeline_from_dag_to_a_parameter_edit",
            a_pipeline_from_dag_to_a_parameter_edit,
        ),
        ("a_refused_manifest", a_refused_manifest),
    ];
    if std::env::args().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        ran - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A throwaway project with its own cache.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(manifest: &str) -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        project.write("pipeline.toml", manifest);
        project
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.path(relative), text).expect("write");
    }

    /// Replaces `from` by `to` in the manifest.
    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path("pipeline.toml")).expect("manifest");
        assert!(text.contains(from), "the manifest has no `{from}`");
        self.write("pipeline.toml", &text.replacen(from, to, 1));
    }

    /// `pipeline <args>` in the project: the command line, exit code, stdout and stderr.
    fn transcript(&self, args: &[&str]) -> String {
        let exe = std::env::current_exe().expect("this test binary");
        let output = Command::new(exe)
            .args(args)
            .current_dir(self.dir.path())
            .env(CHILD, "1")
            .env("PIPELINE_CACHE_DIR", self.path("cache"))
            .env("CI", "1")
            .env_remove("PIPELINE_LOG")
            .env_remove("PIPELINE_GPUS")
            .env_remove("CUDA_VISIBLE_DEVICES")
            .output()
            .expect("the program runs");
        let mut text = format!(
            "$ pipeline {}\nexit: {}\n",
            args.join(" "),
            output.status.code().unwrap_or(-1)
        );
        for (name, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            if !bytes.is_empty() {
                text.push_str(&format!("--- {name}\n{}", String::from_utf8_lossy(bytes)));
            }
        }
        text
    }

    /// Checks the transcript of `pipeline <args>` against snapshot `name`.
    fn check(&self, name: &str, args: &[&str]) {
        let transcript = self.transcript(args);
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots"));
        for root in [self.dir.path().to_path_buf(), canonical(self.dir.path())] {
            settings.add_filter(&escape(&root.display().to_string()), "[PROJECT]");
        }
        settings.add_filter(r"\b[0-9a-f]{64}\b", "[HASH]");
        settings.add_filter(r"\b[0-9a-f]{12}\b", "[KEY]");
        settings.add_filter(r"\bin [0-9]+\.[0-9]s\b", "in [TIME]");
        settings.bind(|| insta::assert_snapshot!(name, transcript));
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `text` as a regular expression that matches it literally.
fn escape(text: &str) -> String {
    let mut escaped = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Three stages: one reading a file, a matrix of two reading it, one reading both.
const PIPELINE: &str = r#"[vars]
greeting = "hello"

[stage.words]
kind = "exec"
desc = "the words of the source, one a line"
inputs = { text = "source.txt" }
cmd = ["sh", "-c", "tr ' ' '\n' < \"$PIPELINE_INPUT_TEXT\" > \"$PIPELINE_OUT/words.txt\""]
outputs = ["words.txt"]

[stage.count]
kind = "exec"
matrix = { min = ["3", "5"] }
inputs = { words = "@words/words.txt" }
env = { MIN = "${matrix.min}" }
cmd = ["sh", "-c", "awk -v min=\"$MIN\" 'length($0) >= min' \"$PIPELINE_INPUT_WORDS\" | wc -l > \"$PIPELINE_OUT/count.txt\""]
outputs = ["count.txt"]

[stage.report]
kind = "exec"
inputs = { counts = "@count" }
env = { GREETING = "${vars.greeting}" }
cmd = ["sh", "-c", "echo \"$GREETING\"; for d in ${inputs.counts}; do cat \"$d/count.txt\"; done > \"$PIPELINE_OUT/report.txt\""]
outputs = ["report.txt"]
"#;

fn a_pipeline_from_dag_to_a_parameter_edit() {
    let project = Project::new(PIPELINE);
    project.write("source.txt", "a few words of some length in a short text");
    project.check("dag", &["dag", "pipeline.toml"]);
    project.check("status_before_a_run", &["status", "pipeline.toml"]);
    project.check("run", &["run", "pipeline.toml", "--jobs", "1"]);
    project.check("status_after_a_run", &["status", "pipeline.toml"]);
    project.edit("greeting = \"hello\"", "greeting = \"hi\"");
    project.check(
        "status_after_a_parameter_edit",
        &["status", "pipeline.toml"],
    );
    project.check("explain_stale", &["explain", "pipeline.toml", "report"]);
    project.write("source.txt", "other words");
    project.check("status_after_an_input_edit", &["status", "pipeline.toml"]);
    project.check(
        "explain_waiting",
        &["explain", "pipeline.toml", "count[min=5]"],
    );
}

fn a_refused_manifest() {
    let project = Project::new(
        r#"[stage.words]
kind = "exce"
inputs = { text = "missing.txt" }
cmd = ["true"]

[stage.count]
kind = "exec"
inputs = { words = "@word/words.txt" }
cmd = ["true"]
outptus = ["count.txt"]
"#,
    );
    project.check("refused_manifest", &["status", "pipeline.toml"]);
}
