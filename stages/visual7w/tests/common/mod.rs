//! Runs this crate's stages through `pipeline_api` the way the engine does: typed parameters, a
//! `StageContext` over temporary folders, `SilentProgress` and a `CancelToken`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pipeline_api::{CancelToken, FolderRun, SilentProgress, Stage, StageError};
use polars::prelude::*;

/// The checked-in fixtures.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A finished stage run: its output folder and what it logged.
pub struct Run {
    pub out: tempfile::TempDir,
    pub log: String,
}

impl Run {
    pub fn path(&self, name: &str) -> PathBuf {
        self.out.path().join(name)
    }

    pub fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    pub fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&self.bytes(name)).expect("valid JSON")
    }

    pub fn frame(&self, name: &str) -> DataFrame {
        read_parquet(&self.path(name))
    }
}

/// Runs `stage` with `params` on `inputs` (name, path) into a fresh output folder.
pub fn run_stage<S: Stage>(
    stage: &S,
    params: &S::Params,
    inputs: &[(&str, &Path)],
) -> Result<Run, StageError> {
    let out = tempfile::tempdir().expect("temp dir");
    let root = tempfile::tempdir().expect("temp dir");
    let inputs: Vec<(&str, Vec<PathBuf>)> = inputs
        .iter()
        .map(|(name, path)| (*name, vec![path.to_path_buf()]))
        .collect();
    let (progress, cancel) = (SilentProgress, CancelToken::new());
    let run = FolderRun {
        stage: S::KIND,
        root: root.path(),
        out: out.path(),
        inputs: &inputs,
        cpus: 2,
        progress: &progress,
        cancel: &cancel,
    };
    let log = run.run(|ctx| stage.run(params, ctx))?;
    for output in S::outputs(params) {
        assert!(
            out.path().join(&output).exists(),
            "declared output {output} was not written"
        );
    }
    Ok(Run { out, log })
}

pub fn read_parquet(path: &Path) -> DataFrame {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(file).finish().expect("readable parquet")
}

/// A string column's values (nulls as None).
pub fn strings(frame: &DataFrame, column: &str) -> Vec<Option<String>> {
    let column = frame
        .column(column)
        .expect("column")
        .str()
        .expect("string column");
    column
        .iter()
        .map(|value| value.map(str::to_string))
        .collect()
}

/// An Int64 column's values.
pub fn ints(frame: &DataFrame, column: &str) -> Vec<Option<i64>> {
    frame
        .column(column)
        .expect("column")
        .i64()
        .expect("int column")
        .iter()
        .collect()
}

/// The text of the option the `answer` letter points at, per row.
pub fn answer_texts(frame: &DataFrame) -> Vec<String> {
    let letters = strings(frame, "answer");
    let options: Vec<Vec<Option<String>>> = ["A", "B", "C", "D"]
        .iter()
        .map(|c| strings(frame, c))
        .collect();
    letters
        .iter()
        .enumerate()
        .map(|(row, letter)| {
            let index = "ABCD"
                .find(letter.as_deref().expect("an answer"))
                .expect("a letter");
            options[index][row].clone().expect("an option")
        })
        .collect()
}
