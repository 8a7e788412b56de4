//! The `evaluate` stage on a hand-made table whose per-type accuracies are known.

mod common;

use std::path::{Path, PathBuf};

use common::{Question, Row, member, run, run_error, table};

const P: [[f32; 4]; 4] = [
    [0.7, 0.1, 0.1, 0.1],
    [0.1, 0.7, 0.1, 0.1],
    [0.1, 0.1, 0.7, 0.1],
    [0.1, 0.1, 0.1, 0.7],
];

/// Nine questions: what 2/3 right, where 1/2, when 1/1, who 0/1, why none, how 1/1, and one
/// question without a type, right.
fn fixture(dir: &Path) -> (PathBuf, PathBuf) {
    let questions = [
        Question("w1", Some("A"), Some("what")),
        Question("w2", Some("B"), Some("what")),
        Question("w3", Some("C"), Some("what")),
        Question("r1", Some("D"), Some("where")),
        Question("r2", Some("A"), Some("where")),
        Question("n1", Some("B"), Some("when")),
        Question("o1", Some("C"), Some("who")),
        Question("h1", Some("D"), Some("how")),
        Question("u1", Some("A"), None),
    ];
    let rows = [
        Row("w1", P[0], "A"),
        Row("w2", P[1], "B"),
        Row("w3", P[3], "D"),
        Row("r1", P[3], "D"),
        Row("r2", P[2], "C"),
        Row("n1", P[1], "B"),
        Row("o1", P[0], "A"),
        Row("h1", P[3], "D"),
        Row("u1", P[0], "A"),
        Row("x1", P[0], "A"),
    ];
    (
        table(dir, "val.parquet", &questions),
        member(dir, "predict", &rows, 228_110_649, "beit3 base"),
    )
}

fn inputs(table: &Path, predictions: &Path) -> Vec<(&'static str, Vec<PathBuf>)> {
    vec![
        ("table", vec![table.to_path_buf()]),
        ("predictions", vec![predictions.to_path_buf()]),
    ]
}

#[test]
fn accuracy_overall_and_per_type() {
    let dir = tempfile::tempdir().unwrap();
    let (table, predictions) = fixture(dir.path());
    let run = run("evaluate", "", &inputs(&table, &predictions)).unwrap();
    let metrics = run.json("metrics.json");
    let accuracy = |kind: &str| metrics["by_type"][kind]["accuracy"].as_f64();
    assert_eq!(accuracy("what"), Some(2.0 / 3.0));
    assert_eq!(accuracy("where"), Some(0.5));
    assert_eq!(accuracy("when"), Some(1.0));
    assert_eq!(accuracy("who"), Some(0.0));
    assert_eq!(accuracy("how"), Some(1.0));
    assert!(
        metrics["by_type"]["why"]["accuracy"].is_null(),
        "no why question"
    );
    assert_eq!(metrics["by_type"]["why"]["total"], 0);
    assert_eq!(metrics["untyped"]["total"], 1);
    assert_eq!(metrics["overall"]["correct"], 6);
    assert_eq!(metrics["overall"]["total"], 9);
    assert_eq!(metrics["overall"]["accuracy"].as_f64(), Some(6.0 / 9.0));
    assert_eq!(metrics["missing"], 0);
    assert_eq!(metrics["extra_predictions"], 1, "x1 is not in the table");
    assert_eq!(metrics["chance"], 0.25);
    assert_eq!(metrics["params"], 228_110_649);

    let report = run.text("metrics.md");
    assert!(report.contains("| what | 66.67 % | 2 | 3 |"), "{report}");
    assert!(report.contains("| why | n/a | 0 | 0 |"), "{report}");
    assert!(report.contains("| **all** | 66.67 % | 6 | 9 |"), "{report}");
    assert!(
        run.log.contains("| where | 50.00 % | 1 | 2 |"),
        "the table is logged: {}",
        run.log
    );
}

#[test]
fn the_chart_is_a_png_of_the_expected_size() {
    let dir = tempfile::tempdir().unwrap();
    let (table, predictions) = fixture(dir.path());
    let run = run("evaluate", "", &inputs(&table, &predictions)).unwrap();
    let bytes = std::fs::read(run.path("accuracy_by_type.png")).unwrap();
    let format = image::guess_format(&bytes).unwrap();
    assert_eq!(format, image::ImageFormat::Png);
    let chart = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(chart.dimensions(), (960, 540));
    let bar = chart.pixels().filter(|p| p.0 == [70, 120, 190]).count();
    let chance = chart.pixels().filter(|p| p.0 == [200, 40, 40]).count();
    assert!(bar > 10_000, "the bars are drawn ({bar} pixels)");
    assert!(chance > 500, "the chance line is drawn ({chance} pixels)");
}

#[test]
fn missing_predictions_fail_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (table, _) = fixture(d);
    let partial = member(
        d,
        "partial",
        &[Row("w1", P[0], "A"), Row("w2", P[1], "B")],
        1,
        "partial",
    );
    let error = run_error("evaluate", "", &inputs(&table, &partial));
    assert!(
        error.contains("7 of the 9 questions") && error.contains("first: `w3`"),
        "{error}"
    );
    assert!(error.contains("allow_missing"), "{error}");

    let run = run(
        "evaluate",
        "allow_missing = true",
        &inputs(&table, &partial),
    )
    .unwrap();
    let metrics = run.json("metrics.json");
    assert_eq!(metrics["missing"], 7);
    assert_eq!(metrics["answered"], 2);
    assert_eq!(metrics["missing_ids"][0], "w3");
    assert_eq!(metrics["overall"]["correct"], 2);
    assert_eq!(
        metrics["overall"]["total"], 9,
        "missing questions count as wrong"
    );
    assert_eq!(
        metrics["by_type"]["what"]["accuracy"].as_f64(),
        Some(2.0 / 3.0)
    );
}

#[test]
fn unlabelled_or_odd_tables_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, predictions) = fixture(d);
    let test = table(d, "test.parquet", &[Question("w1", None, Some("what"))]);
    let error = run_error("evaluate", "", &inputs(&test, &predictions));
    assert!(
        error.contains("test.parquet") && error.contains("row 1 (ID `w1`) has no answer"),
        "{error}"
    );

    let odd = table(
        d,
        "odd.parquet",
        &[Question("w1", Some("A"), Some("which"))],
    );
    let error = run_error("evaluate", "", &inputs(&odd, &predictions));
    assert!(error.contains("has type `which`"), "{error}");
}
