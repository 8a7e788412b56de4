//! The `tokenize` stage end to end: real Parquet tables in, model-input tables and report out,
//! with the fixture SentencePiece model.

mod common;

use std::path::PathBuf;

use common::{Row, fixture, nested_row, read_frame, rows, run_stage, write_frame, write_table};
use pipeline_api::CancelToken;
use pipeline_stages_tokenize::TextTokenizer;
use polars::prelude::*;

struct Setup {
    _dir: tempfile::TempDir,
    tables: PathBuf,
    out: PathBuf,
}

/// `tables/train.parquet` (with answers) and `tables/test.parquet` (without).
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let tables = dir.path().join("tables");
    write_table(&tables.join("train.parquet"), &rows(), true);
    write_table(&tables.join("test.parquet"), &rows()[..2], false);
    let out = dir.path().join("out");
    Setup {
        tables,
        out,
        _dir: dir,
    }
}

fn run(setup: &Setup, params: &str) -> Result<String, pipeline_api::StageError> {
    let inputs = [
        ("tokenizer", vec![fixture("test.spm")]),
        ("tables", vec![setup.tables.clone()]),
    ];
    run_stage("tokenize", params, &inputs, &setup.out, &CancelToken::new())
}

fn expected(text: &str, max_len: usize) -> (Vec<i32>, Vec<i32>) {
    let ids = TextTokenizer::from_path(&fixture("test.spm"))
        .unwrap()
        .encode(text)
        .unwrap();
    let mut seq: Vec<i32> = vec![0];
    seq.extend(ids.iter().take(max_len - 2).map(|&i| i as i32));
    seq.push(2);
    let used = seq.len();
    seq.resize(max_len, 1);
    let mut mask = vec![0; used];
    mask.resize(max_len, 1);
    (seq, mask)
}

fn report(setup: &Setup) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(setup.out.join("report.json")).unwrap()).unwrap()
}

#[test]
fn choice_layout_gives_four_padded_sequences_per_question() {
    let setup = setup();
    let log = run(&setup, "splits = ['train', 'test']").unwrap();
    assert!(
        log.contains("train: 3 questions, 12 sequences, 0 truncated"),
        "{log}"
    );
    let frame = read_frame(&setup.out.join("train.parquet"));
    assert_eq!(frame.height(), 3);
    let all = rows();
    for (index, row) in all.iter().enumerate() {
        let ids = nested_row(&frame, "input_ids", index);
        let mask = nested_row(&frame, "padding_mask", index);
        assert_eq!(ids.len(), 4);
        for k in 0..4 {
            let (want_ids, want_mask) =
                expected(&format!("{} {}", row.question, row.options[k]), 64);
            assert_eq!(ids[k], want_ids, "row {index} option {k}");
            assert_eq!(mask[k], want_mask, "row {index} option {k}");
        }
    }
    let labels: Vec<i32> = frame
        .column("label")
        .unwrap()
        .i32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(labels, vec![0, 2, 3]);
    let ids: Vec<i64> = frame
        .column("ID")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(ids, vec![7, 8, 9]);
    let img = frame
        .column("img_path")
        .unwrap()
        .str()
        .unwrap()
        .get(1)
        .unwrap()
        .to_string();
    assert_eq!(img, "images/v7w_8.jpg");
    let report = report(&setup);
    assert_eq!(report["splits"]["train"]["sequences"], 12);
    assert_eq!(report["tokenizer"]["vocab_size"], 1502);
    assert_eq!(report["max_len"], 64);
}

#[test]
fn a_split_without_answers_has_no_label_column() {
    let setup = setup();
    run(&setup, "splits = ['test']").unwrap();
    let frame = read_frame(&setup.out.join("test.parquet"));
    assert_eq!(frame.height(), 2);
    assert!(frame.column("label").is_err());
    assert_eq!(report(&setup)["splits"]["test"]["labelled"], false);
}

#[test]
fn joint_layout_gives_one_sequence_of_128() {
    let setup = setup();
    run(&setup, "layout = 'joint'\nsplits = ['train']").unwrap();
    let frame = read_frame(&setup.out.join("train.parquet"));
    let row = &rows()[1];
    let [a, b, c, d] = row.options;
    let text = format!("{} A: {a} B: {b} C: {c} D: {d}", row.question);
    let (want_ids, want_mask) = expected(&text, 128);
    assert_eq!(nested_row(&frame, "input_ids", 1), vec![want_ids]);
    assert_eq!(nested_row(&frame, "padding_mask", 1), vec![want_mask]);
    assert_eq!(report(&setup)["sequences_per_question"], 1);
}

#[test]
fn long_sequences_are_truncated_and_counted() {
    let setup = setup();
    let log = run(&setup, "max_len = 8\nsplits = ['train']").unwrap();
    let frame = read_frame(&setup.out.join("train.parquet"));
    let row = &rows()[1];
    let (want_ids, want_mask) = expected(&format!("{} {}", row.question, row.options[0]), 8);
    let ids = nested_row(&frame, "input_ids", 1);
    assert_eq!(ids[0], want_ids);
    assert_eq!(ids[0][7], 2, "ends with </s>");
    assert_eq!(nested_row(&frame, "padding_mask", 1)[0], want_mask);
    assert_eq!(want_mask, vec![0; 8]);
    let tokenizer = TextTokenizer::from_path(&fixture("test.spm")).unwrap();
    let long = |q: &str, o: &str| tokenizer.encode(&format!("{q} {o}")).unwrap().len() > 6;
    let per_question: Vec<usize> = rows()
        .iter()
        .map(|r| r.options.iter().filter(|o| long(r.question, o)).count())
        .collect();
    let want_sequences: usize = per_question.iter().sum();
    let want_questions = per_question.iter().filter(|&&n| n > 0).count();
    assert!(want_sequences > 0);
    let train = &report(&setup)["splits"]["train"];
    assert_eq!(train["truncated_sequences"], want_sequences);
    assert_eq!(train["truncated_questions"], want_questions);
    let line = format!("{want_sequences} truncated to 8 tokens ({want_questions} questions)");
    assert!(log.contains(&line), "{log}");
}

#[test]
fn missing_columns_are_named() {
    let setup = setup();
    let path = setup.tables.join("train.parquet");
    write_frame(
        &path,
        vec![
            Column::new("ID".into(), [1i64]),
            Column::new("Question".into(), ["Why?"]),
        ],
    );
    let error = run(&setup, "splits = ['train']").unwrap_err().to_string();
    assert!(
        error.contains("train.parquet") && error.contains("`img_path`"),
        "{error}"
    );
}

#[test]
fn null_and_blank_questions_are_refused_with_their_row() {
    let setup = setup();
    let mut bad: Vec<Row> = rows();
    bad[2].question = "   ";
    write_table(&setup.tables.join("train.parquet"), &bad, true);
    let error = run(&setup, "splits = ['train']").unwrap_err().to_string();
    assert!(
        error.contains("row 2 (ID 9)") && error.contains("Question"),
        "{error}"
    );
}

#[test]
fn answers_other_than_a_to_d_are_refused() {
    let setup = setup();
    let mut bad: Vec<Row> = rows();
    bad[1].answer = "E";
    write_table(&setup.tables.join("train.parquet"), &bad, true);
    let error = run(&setup, "splits = ['train']").unwrap_err().to_string();
    assert!(
        error.contains("row 1 (ID 8)") && error.contains("\"E\""),
        "{error}"
    );
}

#[test]
fn a_missing_split_names_what_the_folder_holds() {
    let setup = setup();
    let error = run(&setup, "splits = ['val']").unwrap_err().to_string();
    assert!(
        error.contains("val.parquet") && error.contains("test.parquet, train.parquet"),
        "{error}"
    );
}

#[test]
fn a_file_that_is_not_parquet_is_named() {
    let setup = setup();
    std::fs::write(setup.tables.join("train.parquet"), "ID,Question\n1,Why?\n").unwrap();
    let error = run(&setup, "splits = ['train']").unwrap_err().to_string();
    assert!(
        error.contains("train.parquet") && error.contains("Parquet"),
        "{error}"
    );
}

#[test]
fn bad_parameters_are_refused() {
    let setup = setup();
    for (params, field) in [
        ("max_len = 2", "max_len"),
        ("layout = 'pairs'", "layout"),
        ("splits = ['a/b']", "splits[0]"),
        ("lr = 1", "lr"),
    ] {
        let error = run(&setup, params).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("param {field}:")),
            "{params}: {error}"
        );
    }
}

#[test]
fn a_cancelled_run_stops() {
    let setup = setup();
    let cancel = CancelToken::new();
    cancel.cancel();
    let inputs = [
        ("tokenizer", vec![fixture("test.spm")]),
        ("tables", vec![setup.tables.clone()]),
    ];
    let result = run_stage(
        "tokenize",
        "splits = ['train']",
        &inputs,
        &setup.out,
        &cancel,
    );
    assert!(matches!(result, Err(pipeline_api::StageError::Cancelled)));
}

#[test]
fn without_splits_every_table_of_the_input_is_tokenized() {
    let setup = setup();
    let log = run(&setup, "").unwrap();
    assert!(log.contains("test: 2 questions"), "{log}");
    assert!(log.contains("train: 3 questions"), "{log}");
    assert_eq!(read_frame(&setup.out.join("test.parquet")).height(), 2);
    let splits = report(&setup)["splits"].clone();
    let names: Vec<&String> = splits.as_object().unwrap().keys().collect();
    assert_eq!(names, ["test", "train"]);
}

#[test]
fn a_contest_table_with_null_answers_is_found_and_unlabelled() {
    // What `mc_table` writes for a contest's test.csv: one table, `answer` null on every row.
    let dir = tempfile::tempdir().unwrap();
    let tables = dir.path().join("contest");
    let questions = rows();
    let mut columns = vec![
        Column::new("ID".into(), ["Q,1", "say \"hi\"", "질문-3"]),
        Column::new("img_path".into(), ["a.jpg", "b.jpg", "a.jpg"]),
        Column::new(
            "Question".into(),
            questions.iter().map(|r| r.question).collect::<Vec<_>>(),
        ),
    ];
    for (k, name) in ["A", "B", "C", "D"].iter().enumerate() {
        columns.push(Column::new(
            (*name).into(),
            questions.iter().map(|r| r.options[k]).collect::<Vec<_>>(),
        ));
    }
    columns.push(Column::new("answer".into(), [None::<&str>, None, None]));
    write_frame(&tables.join("test.parquet"), columns);
    std::fs::write(tables.join("report.json"), "{}").unwrap();
    let out = dir.path().join("out");
    let inputs = [
        ("tokenizer", vec![fixture("test.spm")]),
        ("tables", vec![tables]),
    ];
    run_stage("tokenize", "", &inputs, &out, &CancelToken::new()).unwrap();
    let frame = read_frame(&out.join("test.parquet"));
    assert!(frame.column("label").is_err(), "no answers, no labels");
    let ids: Vec<Option<&str>> = frame.column("ID").unwrap().str().unwrap().iter().collect();
    assert_eq!(
        ids,
        [Some("Q,1"), Some("say \"hi\""), Some("질문-3")],
        "IDs and order kept"
    );
}

#[test]
fn without_splits_an_input_without_tables_says_what_it_holds() {
    let setup = setup();
    std::fs::remove_file(setup.tables.join("train.parquet")).unwrap();
    std::fs::remove_file(setup.tables.join("test.parquet")).unwrap();
    std::fs::write(setup.tables.join("notes.txt"), "x").unwrap();
    let error = run(&setup, "").unwrap_err().to_string();
    assert!(
        error.contains("no `<split>.parquet` table") && error.contains("holding notes.txt"),
        "{error}"
    );
}

#[test]
fn only_listed_splits_are_declared_outputs() {
    let outputs = |params: &str| {
        pipeline_stages_tokenize::stages()
            .into_iter()
            .find(|s| s.kind() == "tokenize")
            .unwrap()
            .prepare(toml::from_str::<toml::Value>(params).unwrap())
            .unwrap()
            .outputs()
    };
    assert_eq!(outputs(""), ["report.json"]);
    assert_eq!(
        outputs("splits = ['test']"),
        ["test.parquet", "report.json"]
    );
}
