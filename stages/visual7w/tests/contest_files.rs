//! The `contest_files` stage: a table written as a contest's test set reads back through
//! `mc_table` as the same rows, awkward text included.

mod common;

use common::{fixtures, run_stage, strings};
use pipeline_stages_visual7w::{ContestFiles, ContestFilesParams, McTable, McTableParams};

const TABLE: &str = concat!(
    "ID,img_path,Question,A,B,C,D,answer\n",
    "\"Q,1\",TEST_001.jpg,\"What colour is it, mostly?\",Red,Blue,\"Green, dark\",White,C\n",
    "\"say \"\"hi\"\"\",TEST_000.jpg,  Plain  ,\" padded \",\"quote \"\" inside\",Two,Three,A\n",
    "질문-3,TEST_001.jpg,\"これは何ですか？\",Ünïcödé,B,C,D,d\n",
);

fn mc_table(strip_prefix: Option<&str>) -> McTableParams {
    McTableParams {
        split: "test".to_string(),
        strip_prefix: strip_prefix.map(str::to_string),
        csv: false,
    }
}

#[test]
fn test_csv_reads_back_as_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("questions.csv");
    std::fs::write(&csv, TABLE).unwrap();
    let images = fixtures().join("contest/test_input_images");
    let first = run_stage(
        &McTable,
        &mc_table(None),
        &[("table", &csv), ("images", &images)],
    )
    .unwrap();
    let table = first.path("test.parquet");

    let written = run_stage(
        &ContestFiles,
        &ContestFilesParams { answers: true },
        &[("table", &table), ("images", &images)],
    )
    .unwrap();
    let test_csv = String::from_utf8(written.bytes("test.csv")).unwrap();
    assert!(
        test_csv.starts_with("ID,img_path,Question,A,B,C,D\n"),
        "{test_csv}"
    );
    assert!(
        test_csv.contains("\"Q,1\",./test_input_images/TEST_001.jpg,"),
        "{test_csv}"
    );
    assert!(!test_csv.contains("answer"), "no answers in test.csv");
    assert_eq!(
        String::from_utf8(written.bytes("answers.csv")).unwrap(),
        "ID,answer\n\"Q,1\",C\n\"say \"\"hi\"\"\",A\n질문-3,D\n"
    );
    for image in ["TEST_000.jpg", "TEST_001.jpg"] {
        assert_eq!(
            written.bytes(&format!("test_input_images/{image}")),
            std::fs::read(images.join(image)).unwrap()
        );
    }
    assert!(!written.path("test_input_images/TEST_002.jpg").exists());

    let again = run_stage(
        &McTable,
        &mc_table(Some("test_input_images/")),
        &[
            ("table", &written.path("test.csv")),
            ("images", &written.path("test_input_images")),
        ],
    )
    .unwrap();
    let (before, after) = (first.frame("test.parquet"), again.frame("test.parquet"));
    for column in ["ID", "img_path", "Question", "A", "B", "C", "D"] {
        assert_eq!(
            strings(&before, column),
            strings(&after, column),
            "{column}"
        );
    }
    assert_eq!(
        strings(&after, "ID"),
        [
            Some("Q,1".into()),
            Some("say \"hi\"".into()),
            Some("질문-3".into())
        ]
    );
    assert_eq!(strings(&after, "A")[1], Some(" padded ".into()));
    assert_eq!(strings(&after, "answer"), [None, None, None]);
}

#[test]
fn answers_need_an_answer_on_every_row() {
    let table = fixtures().join("contest/test.csv");
    let images = fixtures().join("contest/test_input_images");
    let first = run_stage(
        &McTable,
        &mc_table(Some("test_input_images/")),
        &[("table", &table), ("images", &images)],
    )
    .unwrap();
    let error = run_stage(
        &ContestFiles,
        &ContestFilesParams { answers: true },
        &[("table", &first.path("test.parquet")), ("images", &images)],
    )
    .err()
    .expect("rows without answers")
    .to_string();
    assert!(
        error.contains("row 1 (ID `TEST_000`) has no answer"),
        "{error}"
    );
}
