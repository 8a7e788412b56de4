//! The `visual7w` stage on a hand-written fixture and on generated Visual7W-shaped files.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{answer_texts, fixtures, ints, run_stage, strings};
use pipeline_api::{Stage, StageError, erase};
use pipeline_stages_visual7w::{Visual7w, Visual7wParams};
use serde_json::json;

fn params(seed: u64, csv: bool) -> Visual7wParams {
    Visual7wParams { seed, csv }
}

fn run_fixture(seed: u64, csv: bool) -> common::Run {
    let dir = fixtures().join("v7w_small");
    let json = dir.join("dataset_v7w_telling.json");
    let images = dir.join("images");
    run_stage(
        &Visual7w,
        &params(seed, csv),
        &[("json", &json), ("images", &images)],
    )
    .expect("conversion succeeds")
}

/// A Visual7W-shaped file of `count` valid questions (ten per image, splits by image) and an
/// images folder holding every image, in `dir`.
fn write_generated(dir: &Path, count: usize) {
    let images_dir = dir.join("images");
    std::fs::create_dir_all(&images_dir).unwrap();
    let mut images = Vec::new();
    for image in 0..count.div_ceil(10) {
        let image_id = 1000 + image as i64;
        std::fs::write(images_dir.join(format!("v7w_{image_id}.jpg")), b"").unwrap();
        let qa_pairs: Vec<_> = (0..10)
            .map(|k| image * 10 + k)
            .filter(|n| *n < count)
            .map(|n| {
                json!({"qa_id": n, "image_id": image_id, "question": format!("What is {n}?"),
                       "answer": format!("Right {n}."),
                       "multiple_choices": [format!("Wrong {n} a."), format!("Wrong {n} b."), format!("Wrong {n} c.")],
                       "type": "what"})
            })
            .collect();
        let split = ["train", "val", "test"][image % 3];
        images.push(json!({"image_id": image_id, "filename": format!("v7w_{image_id}.jpg"), "split": split, "qa_pairs": qa_pairs}));
    }
    std::fs::write(
        dir.join("dataset_v7w_telling.json"),
        json!({ "images": images }).to_string(),
    )
    .unwrap();
}

fn run_generated(dir: &Path, seed: u64) -> common::Run {
    let json = dir.join("dataset_v7w_telling.json");
    let images = dir.join("images");
    run_stage(
        &Visual7w,
        &params(seed, true),
        &[("json", &json), ("images", &images)],
    )
    .expect("conversion succeeds")
}

#[test]
fn fixture_keeps_valid_questions_and_counts_each_drop_reason() {
    let run = run_fixture(42, false);
    let report = run.json("report.json");
    assert_eq!(report["kept"], json!({"train": 1, "val": 2, "test": 1}));
    assert_eq!(
        report["dropped"],
        json!({"unknown_split": 1, "missing_image": 2, "empty_text": 1, "too_few_choices": 1,
               "too_many_choices": 1, "duplicate_options": 1, "duplicate_qa_id": 1})
    );
    assert_eq!(
        report["dropped_examples"]["missing_image"],
        json!([301, 302])
    );
    assert_eq!(report["qa_pairs"], 12);
    assert!(
        run.log
            .contains("dropped 2 (missing_image), e.g. qa_id 301, 302"),
        "{}",
        run.log
    );

    let val = run.frame("val.parquet");
    let columns: Vec<&str> = val
        .get_column_names()
        .iter()
        .map(|name| name.as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "ID", "img_path", "Question", "A", "B", "C", "D", "answer", "qa_id", "image_id", "type"
        ]
    );
    assert_eq!(
        strings(&val, "ID"),
        [Some("VAL_00001".into()), Some("VAL_00002".into())]
    );
    assert_eq!(
        strings(&val, "img_path"),
        [Some("v7w_2.jpg".into()), Some("v7w_2.jpg".into())]
    );
    assert_eq!(ints(&val, "qa_id"), [Some(201), Some(202)]);
    assert_eq!(answer_texts(&val), ["A cup, \"hot\".", "At night."]);
    let options: Vec<Option<String>> = ["A", "B", "C", "D"]
        .iter()
        .map(|c| strings(&val, c)[0].clone())
        .collect();
    let mut sorted: Vec<String> = options.into_iter().map(Option::unwrap).collect();
    sorted.sort();
    assert_eq!(
        sorted,
        ["A cup, \"hot\".", "A fork, bent.", "A plate.", "Nothing."]
    );

    let test = run.frame("test.parquet");
    assert_eq!(
        strings(&test, "img_path"),
        [Some("v7w_4.jpg".into())],
        "filename derived from image_id"
    );
    assert_eq!(
        strings(&test, "type"),
        [Some("who".into())],
        "type derived from the question"
    );
    assert_eq!(ints(&test, "image_id"), [Some(4)]);
    assert_eq!(
        strings(&run.frame("train.parquet"), "ID"),
        [Some("TRAIN_00001".into())]
    );
}

#[test]
fn csv_tables_quote_commas_and_quotes() {
    let run = run_fixture(42, true);
    let text = String::from_utf8(run.bytes("val.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("ID,img_path,Question,A,B,C,D,answer,qa_id,image_id,type")
    );
    let first = lines.next().unwrap();
    assert!(
        first.starts_with("VAL_00001,v7w_2.jpg,What is on the café table?,"),
        "{first}"
    );
    assert!(first.contains("\"A cup, \"\"hot\"\".\""), "{first}");
    assert!(first.ends_with(",201,2,what"), "{first}");
}

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_other_letters() {
    let dir = tempfile::tempdir().unwrap();
    write_generated(dir.path(), 300);
    let first = run_generated(dir.path(), 7);
    let second = run_generated(dir.path(), 7);
    let other = run_generated(dir.path(), 8);
    for name in Visual7w::outputs(&params(7, true)) {
        assert_eq!(
            first.bytes(&name),
            second.bytes(&name),
            "{name} differs between two runs"
        );
    }
    for split in ["train", "val", "test"] {
        let name = format!("{split}.parquet");
        assert_ne!(
            first.bytes(&name),
            other.bytes(&name),
            "{name} is the same for seeds 7 and 8"
        );
        let (a, b) = (first.frame(&name), other.frame(&name));
        assert_eq!(
            answer_texts(&a),
            answer_texts(&b),
            "the correct text does not depend on the seed"
        );
        assert_ne!(strings(&a, "answer"), strings(&b, "answer"));
    }
}

#[test]
fn answer_letter_is_uniform_over_a_to_d() {
    let dir = tempfile::tempdir().unwrap();
    write_generated(dir.path(), 4000);
    for seed in [1, 2, 3] {
        let run = run_generated(dir.path(), seed);
        let mut counts: BTreeMap<String, f64> = BTreeMap::new();
        for split in ["train", "val", "test"] {
            let frame = run.frame(&format!("{split}.parquet"));
            assert_eq!(
                answer_texts(&frame)
                    .iter()
                    .filter(|text| !text.starts_with("Right"))
                    .count(),
                0
            );
            for letter in strings(&frame, "answer") {
                *counts.entry(letter.unwrap()).or_default() += 1.0;
            }
        }
        assert_eq!(counts.len(), 4, "{counts:?}");
        let expected = 1000.0;
        let chi_square: f64 = counts
            .values()
            .map(|n| (n - expected).powi(2) / expected)
            .sum();
        // 3 degrees of freedom: 16.27 is the 0.1% tail.
        assert!(
            chi_square < 16.27,
            "seed {seed}: letters {counts:?} (chi² {chi_square:.1})"
        );
    }
}

fn convert_text(name: &str, text: &str) -> StageError {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join(name);
    std::fs::write(&json, text).unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir(&images).unwrap();
    match run_stage(
        &Visual7w,
        &params(1, false),
        &[("json", &json), ("images", &images)],
    ) {
        Err(error) => error,
        Ok(_) => panic!("{name} should not convert"),
    }
}

#[test]
fn malformed_json_names_line_and_column() {
    let broken =
        "{\"images\": [\n  {\"image_id\": 1, \"split\": \"train\",\n   \"qa_pairs\": [}]}\n";
    let message = convert_text("broken.json", broken).to_string();
    assert!(message.contains("broken.json:3:17: "), "{message}");
    assert!(message.contains("not valid JSON"), "{message}");

    let truncated = "{\"images\": [\n  {\"image_id\": 1,";
    let message = convert_text("truncated.json", truncated).to_string();
    assert!(message.contains("truncated.json:2:17: "), "{message}");

    let missing = "{\"images\": [{\"image_id\": 1, \"split\": \"train\", \"qa_pairs\": [\n {\"qa_id\": 5, \"answer\": \"x\"}]}]}";
    let message = convert_text("schema.json", missing).to_string();
    assert!(message.contains("schema.json:2:"), "{message}");
    assert!(message.contains("missing field `question`"), "{message}");
}

#[test]
fn pointing_file_is_recognised() {
    let pointing = r#"{"images": [{"image_id": 1, "split": "train", "qa_pairs": [
        {"qa_id": 1, "question": "Which cup?", "answer": 17, "multiple_choices": [1, 2, 3], "type": "which"}]}]}"#;
    let message = convert_text("dataset_v7w_pointing.json", pointing).to_string();
    assert!(
        message.contains("dataset_v7w_pointing.json:2:"),
        "{message}"
    );
    assert!(message.contains("pointing"), "{message}");
}

#[test]
fn images_input_must_be_a_folder() {
    let json = fixtures().join("v7w_small/dataset_v7w_telling.json");
    let error = run_stage(
        &Visual7w,
        &params(1, false),
        &[("json", &json), ("images", &json)],
    )
    .err()
    .unwrap();
    assert!(error.to_string().contains("is not a folder"), "{error}");
}

#[test]
fn parameters_are_typed_and_outputs_declared() {
    let kind = erase(Visual7w);
    let prepared = kind.prepare(toml::toml! { seed = 3 }.into()).unwrap();
    assert_eq!(
        prepared.outputs(),
        [
            "train.parquet",
            "val.parquet",
            "test.parquet",
            "report.json"
        ]
    );
    assert_eq!(
        prepared.canonical_params(),
        json!({"seed": 3, "csv": false})
    );
    let with_csv = kind.prepare(toml::toml! { csv = true }.into()).unwrap();
    assert!(with_csv.outputs().contains(&"val.csv".to_string()));
    let error = kind.prepare(toml::toml! { sed = 3 }.into()).err().unwrap();
    assert!(error.message.contains("unknown field `sed`"), "{error:?}");
}
