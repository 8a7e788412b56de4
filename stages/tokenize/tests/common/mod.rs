//! Shared test helpers: fixture paths, question tables written with polars, and running a stage
//! through the engine's type-erased interface (parameters parsed from TOML, as a manifest would).

#![allow(dead_code)]

use std::fs::File;
use std::path::{Path, PathBuf};

use pipeline_api::{CancelToken, FolderRun, SilentProgress, StageError};
use polars::prelude::*;

/// A file of the shared tokenizer fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/tokenizer")
        .join(name)
}

/// One question row.
pub struct Row {
    pub id: i64,
    pub question: &'static str,
    pub options: [&'static str; 4],
    pub answer: &'static str,
}

pub fn rows() -> Vec<Row> {
    vec![
        Row {
            id: 7,
            question: "What color is the bus?",
            options: ["Red.", "Blue.", "Green.", "White."],
            answer: "A",
        },
        Row {
            id: 8,
            question: "Where was the picture taken?",
            options: ["At a beach.", "In a kitchen.", "On a street.", "In a park."],
            answer: "C",
        },
        Row {
            id: 9,
            question: "How many people are there?",
            options: ["One.", "Two.", "Three.", "None."],
            answer: "D",
        },
    ]
}

/// Writes a table; `answers` adds the `answer` column.
pub fn write_table(path: &Path, rows: &[Row], answers: bool) {
    let mut columns = vec![
        Column::new("ID".into(), rows.iter().map(|r| r.id).collect::<Vec<_>>()),
        Column::new(
            "img_path".into(),
            rows.iter()
                .map(|r| format!("images/v7w_{}.jpg", r.id))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "Question".into(),
            rows.iter().map(|r| r.question).collect::<Vec<_>>(),
        ),
    ];
    for (k, name) in ["A", "B", "C", "D"].iter().enumerate() {
        columns.push(Column::new(
            (*name).into(),
            rows.iter().map(|r| r.options[k]).collect::<Vec<_>>(),
        ));
    }
    if answers {
        columns.push(Column::new(
            "answer".into(),
            rows.iter().map(|r| r.answer).collect::<Vec<_>>(),
        ));
    }
    write_frame(path, columns);
}

pub fn write_frame(path: &Path, columns: Vec<Column>) {
    let height = columns.first().map_or(0, |c| c.len());
    let mut frame = DataFrame::new(height, columns).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    ParquetWriter::new(File::create(path).unwrap())
        .finish(&mut frame)
        .unwrap();
}

pub fn read_frame(path: &Path) -> DataFrame {
    ParquetReader::new(File::open(path).unwrap())
        .finish()
        .unwrap()
}

/// `List(List(Int32))` row `row` as nested vectors.
pub fn nested_row(frame: &DataFrame, name: &str, row: usize) -> Vec<Vec<i32>> {
    let outer = frame
        .column(name)
        .unwrap()
        .list()
        .unwrap()
        .get_as_series(row)
        .unwrap();
    let inner = outer.list().unwrap();
    (0..inner.len())
        .map(|k| {
            inner
                .get_as_series(k)
                .unwrap()
                .i32()
                .unwrap()
                .into_no_null_iter()
                .collect()
        })
        .collect()
}

/// Runs stage `kind` with parameters from TOML text and the given inputs into `out`.
pub fn run_stage(
    kind: &str,
    params: &str,
    inputs: &[(&str, Vec<PathBuf>)],
    out: &Path,
    cancel: &CancelToken,
) -> Result<String, StageError> {
    let stage = pipeline_stages_tokenize::stages()
        .into_iter()
        .find(|s| s.kind() == kind)
        .expect("registered kind");
    let prepared = stage
        .prepare(toml::from_str::<toml::Value>(params).unwrap())
        .map_err(|e| StageError::failed(format!("param {}: {}", e.path, e.message)))?;
    let run = FolderRun {
        stage: kind,
        root: out,
        out,
        inputs,
        cpus: 2,
        progress: &SilentProgress,
        cancel,
    };
    run.run(|ctx| prepared.run(ctx))
}
