//! The `mc_table` stage on contest-style CSV files.

mod common;

use common::{answer_texts, fixtures, ints, run_stage, strings};
use pipeline_stages_visual7w::{McTable, McTableParams};

fn params(strip_prefix: Option<&str>) -> McTableParams {
    McTableParams {
        split: "test".to_string(),
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
    let frame = run.frame("test.parquet");
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
    let frame = run.frame("test.parquet");
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

#[test]
fn quoted_text_is_kept_verbatim_and_unquoted_text_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("test.csv");
    let text = concat!(
        "ID,img_path,Question,A,B,C,D\n",
        "\" Q1 \",a.jpg,\"  What is this?  \",\" left\",\"right \",\"\tTab\",\"  \"\"quoted\"\" \"\n",
        "  Q2 ,b.jpg ,  Plain question?  , Red ,Blue  ,\"Green, dark\"  ,\"Über, ja \"\r\n",
    );
    std::fs::write(&table, text).unwrap();
    let run = run_stage(&McTable, &params(None), &[("table", &table)]).unwrap();
    let frame = run.frame("test.parquet");
    assert_eq!(
        strings(&frame, "ID"),
        [Some(" Q1 ".into()), Some("Q2".into())],
        "a quoted ID keeps its spaces, an unquoted one is trimmed"
    );
    assert_eq!(strings(&frame, "img_path")[1], Some("b.jpg".into()));
    let row = |index: usize| -> Vec<String> {
        ["Question", "A", "B", "C", "D"]
            .iter()
            .map(|column| strings(&frame, column)[index].clone().unwrap())
            .collect()
    };
    assert_eq!(
        row(0),
        [
            "  What is this?  ",
            " left",
            "right ",
            "\tTab",
            "  \"quoted\" "
        ]
    );
    assert_eq!(
        row(1),
        ["Plain question?", "Red", "Blue", "Green, dark", "Über, ja "],
        "spaces outside quotes are trimmed, spaces inside kept"
    );
}

#[test]
fn a_question_of_spaces_only_is_empty_even_when_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("test.csv");
    std::fs::write(
        &table,
        "ID,img_path,Question,A,B,C,D\nX,a.jpg,\"   \",1,2,3,4\n",
    )
    .unwrap();
    let error = run_stage(&McTable, &params(None), &[("table", &table)])
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("test.csv:2: empty Question"), "{error}");
}

#[test]
fn an_empty_file_and_a_header_without_rows_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("test.csv");
    for (text, expected) in [
        ("", "test.csv: the file is empty"),
        ("\u{feff}\n  \n", "test.csv: the file is empty"),
        (
            "ID,img_path,Question,A,B,C,D\n",
            "test.csv:1: the table has a header but no rows",
        ),
    ] {
        std::fs::write(&table, text).unwrap();
        let error = run_stage(&McTable, &params(None), &[("table", &table)])
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains(expected), "{text:?}: {error}");
    }
}

#[test]
fn the_table_is_named_after_its_split() {
    let table = fixtures().join("contest/train.csv");
    let mut params = params(None);
    params.split = "train".to_string();
    params.csv = true;
    let run = run_stage(&McTable, &params, &[("table", &table)]).unwrap();
    assert_eq!(run.frame("train.parquet").height(), 2);
    assert!(run.path("train.csv").is_file());
    assert!(!run.path("test.parquet").exists());
    assert_eq!(run.json("report.json")["split"], "train");
    let names = |toml: &str| {
        let params: McTableParams = toml::from_str(toml).unwrap();
        <McTable as pipeline_api::Stage>::outputs(&params)
    };
    assert_eq!(
        names(""),
        ["test.parquet", "report.json"],
        "test by default"
    );
    let bad: McTableParams = toml::from_str("split = '../x'").unwrap();
    let error = <McTable as pipeline_api::Stage>::validate(&bad).unwrap_err();
    assert_eq!(error.path, "split");
}
