//! Test helpers: prediction folders and question tables written with polars into temporary
//! folders (independently of the crate's own writer), and a runner that prepares a stage from TOML
//! through the crate's registry and runs it the way the engine does (`StageContext` over temporary
//! folders, `SilentProgress`, `CancelToken`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pipeline_api::{CancelToken, DynStage, FolderRun, ParamError, SilentProgress, StageError};
use polars::prelude::*;

/// One row of a hand-made prediction output: ID, probabilities A..D, and the chosen letter.
pub struct Row<'a>(pub &'a str, pub [f32; 4], pub &'a str);

/// Writes a prediction output folder `name` under `dir`.
pub fn member(dir: &Path, name: &str, rows: &[Row<'_>], params: u64, model: &str) -> PathBuf {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let ids = StringChunked::from_iter_values("ID".into(), rows.iter().map(|r| r.0)).into_column();
    let mut columns = vec![ids];
    for (k, letter) in ["A", "B", "C", "D"].iter().enumerate() {
        let values: Vec<f32> = rows.iter().map(|r| r.1[k]).collect();
        columns
            .push(Float32Chunked::from_vec(format!("prob_{letter}").into(), values).into_column());
    }
    columns.push(
        StringChunked::from_iter_values("pred".into(), rows.iter().map(|r| r.2)).into_column(),
    );
    write_parquet(
        DataFrame::new(rows.len(), columns).unwrap(),
        &folder.join("predictions.parquet"),
    );
    let csv: String = rows.iter().map(|r| format!("{},{}\n", r.0, r.2)).collect();
    std::fs::write(folder.join("submission.csv"), format!("ID,answer\n{csv}")).unwrap();
    let meta = serde_json::json!({ "params": params, "model": model });
    std::fs::write(folder.join("meta.json"), meta.to_string()).unwrap();
    folder
}

/// One labelled question: ID, answer letter, type.
pub struct Question<'a>(pub &'a str, pub Option<&'a str>, pub Option<&'a str>);

/// Writes a question table with the visual7w stage's columns at `dir/name`.
pub fn table(dir: &Path, name: &str, questions: &[Question<'_>]) -> PathBuf {
    let n = questions.len();
    let text = |name: &str, value: &dyn Fn(usize) -> String| {
        StringChunked::from_iter_values(name.into(), (0..n).map(value)).into_column()
    };
    let columns = vec![
        text("ID", &|i| questions[i].0.to_string()),
        text("img_path", &|i| format!("v7w_{i}.jpg")),
        text("Question", &|i| format!("Question {i}?")),
        text("A", &|_| "a".into()),
        text("B", &|_| "b".into()),
        text("C", &|_| "c".into()),
        text("D", &|_| "d".into()),
        StringChunked::from_iter_options("answer".into(), questions.iter().map(|q| q.1))
            .into_column(),
        Int64Chunked::from_iter_values("qa_id".into(), (0..n as i64).map(|i| 1000 + i))
            .into_column(),
        Int64Chunked::from_iter_values("image_id".into(), (0..n as i64).map(|i| 7 + i))
            .into_column(),
        StringChunked::from_iter_options("type".into(), questions.iter().map(|q| q.2))
            .into_column(),
    ];
    let path = dir.join(name);
    write_parquet(DataFrame::new(n, columns).unwrap(), &path);
    path
}

fn write_parquet(mut frame: DataFrame, path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut frame).unwrap();
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

    pub fn text(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }

    pub fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.text(name)).expect("valid JSON")
    }

    /// `predictions.parquet` as (ID, probabilities, pred) rows.
    pub fn predictions(&self) -> Vec<(String, [f32; 4], String)> {
        let file = std::fs::File::open(self.path("predictions.parquet")).unwrap();
        let frame = ParquetReader::new(file).finish().unwrap();
        let strings = |name: &str| -> Vec<String> {
            frame
                .column(name)
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect()
        };
        let floats = |name: &str| -> Vec<f32> {
            let column = frame.column(name).unwrap();
            assert_eq!(column.dtype(), &DataType::Float32, "{name} is Float32");
            column.f32().unwrap().iter().map(Option::unwrap).collect()
        };
        let probs: Vec<Vec<f32>> = ["prob_A", "prob_B", "prob_C", "prob_D"]
            .iter()
            .map(|c| floats(c))
            .collect();
        let (ids, pred) = (strings("ID"), strings("pred"));
        (0..ids.len())
            .map(|i| {
                (
                    ids[i].clone(),
                    std::array::from_fn(|k| probs[k][i]),
                    pred[i].clone(),
                )
            })
            .collect()
    }
}

fn registered(kind: &str) -> Box<dyn DynStage> {
    pipeline_stages_ml::stages()
        .into_iter()
        .find(|s| s.kind() == kind)
        .expect("registered kind")
}

/// The parameter error of `kind` for the TOML table `params`.
pub fn param_error(kind: &str, params: &str) -> ParamError {
    match registered(kind).prepare(toml::from_str(params).unwrap()) {
        Ok(_) => panic!("parameters `{params}` should be refused"),
        Err(error) => error,
    }
}

/// Prepares `kind` with the TOML table `params` and runs it on `inputs` in a fresh output folder.
pub fn run(kind: &str, params: &str, inputs: &[(&str, Vec<PathBuf>)]) -> Result<Run, StageError> {
    let stage = registered(kind)
        .prepare(toml::from_str(params).unwrap())
        .expect("valid parameters");
    let out = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let (progress, cancel) = (SilentProgress, CancelToken::new());
    let run = FolderRun {
        stage: kind,
        root: root.path(),
        out: out.path(),
        inputs,
        cpus: 1,
        progress: &progress,
        cancel: &cancel,
    };
    let log = run.run(|ctx| stage.run(ctx))?;
    for output in stage.outputs() {
        assert!(
            out.path().join(&output).exists(),
            "declared output {output} was not written"
        );
    }
    Ok(Run { out, log })
}

/// The error message of a failed run.
pub fn run_error(kind: &str, params: &str, inputs: &[(&str, Vec<PathBuf>)]) -> String {
    match run(kind, params, inputs) {
        Ok(_) => panic!("{kind} with `{params}` should fail"),
        Err(error) => error.to_string(),
    }
}
