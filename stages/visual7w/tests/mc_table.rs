//! The `mc_table` stage on contest-style CSV files.

mod common;

use common::{answer_texts, fixtures, ints, run_stage, strings};
use pipeline_stages_visual7w::{McTable, McTableParams};

fn params(strip_prefix: Option<&str>) -> McTableParams {
    McTableParams {
        strip_prefix: strip_prefix.map(str::to_string),
        csv: false,
    }
}

#[test]
fn contest_test_file_without_answers() {
    let dir = fixtures().join("contest");
    let (table, images) = (dir.join("test.csv"), dir.join("test_input_images"));
    let run = run_stage(
        &McTable,
        &params(Some("test_input_images/")),
        &[("table", &table), ("images", &images)],
    )
    .unwrap();
    let frame = run.frame("table.parquet");
    assert_eq!(frame.height(), 3);
    assert_eq!(strings(&frame, "img_path")[1], Some("TEST_001.jpg".into()));
    assert_eq!(
        strings(&frame, "Question")[1],
        Some("Which color, mostly?".into())
    );
    assert_eq!(strings(&frame, "D")[1], Some("Yellow, pale".into()));
    assert_eq!(strings(&frame, "answer"), [None, None, None]);
    assert_eq!(ints(&frame, "qa_id"), [None, None, None]);
    assert_eq!(run.json("report.json")["has_answer"], false);
}

#[test]
fn answers_are_letters_in_any_case() {
    let table = fixtures().join("contest/train.csv");
    let run = run_stage(&McTable, &params(None), &[("table", &table)]).unwrap();
    let frame = run.frame("table.parquet");
    assert_eq!(
        strings(&frame, "answer"),
        [Some("B".into()), Some("D".into())]
    );
    assert_eq!(answer_texts(&frame), ["A dog", "Yellow"]);
    assert_eq!(
        strings(&frame, "img_path")[0],
        Some("test_input_images/TEST_000.jpg".into()),
        "./ removed"
    );
    assert_eq!(run.json("report.json")["answer_letters"]["B"], 1);
}

#[test]
fn bad_rows_are_reported_with_file_and_line() {
    let dir = fixtures().join("contest");
    let (table, images) = (dir.join("bad.csv"), dir.join("test_input_images"));
    let error = run_stage(
        &McTable,
        &params(Some("test_input_images/")),
        &[("table", &table), ("images", &images)],
    )
    .err()
    .expect("bad rows fail the stage")
    .to_string();
    assert!(error.contains("5 bad row(s)"), "{error}");
    for expected in [
        "bad.csv:3: answer `E` is not A, B, C or D",
        "bad.csv:4: the row has 9 fields where the header has 8",
        "bad.csv:5: empty Question",
        "bad.csv:6: duplicate ID `TRAIN_000` (first on line 2)",
        "bad.csv:7: image `TEST_009.jpg` is not in the images input",
    ] {
        assert!(
            error.contains(expected),
            "missing `{expected}` in:\n{error}"
        );
    }
}

#[test]
fn missing_columns_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("short.csv");
    std::fs::write(&table, "ID,image,Question,A,B,C\nX,a.jpg,Q?,1,2,3\n").unwrap();
    let error = run_stage(&McTable, &params(None), &[("table", &table)])
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("short.csv:1: missing column(s) img_path, D"),
        "{error}"
    );
}
