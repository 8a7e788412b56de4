//! The `ensemble` stage on hand-made prediction outputs with known results.

mod common;

use std::path::PathBuf;

use common::{Row, member, param_error, run, run_error};

/// Two members over the same three questions, listed in different orders.
fn two_members(dir: &std::path::Path) -> Vec<PathBuf> {
    let a = member(
        dir,
        "a",
        &[
            Row("q1", [0.6, 0.2, 0.1, 0.1], "A"),
            Row("q2", [0.1, 0.7, 0.1, 0.1], "B"),
            Row("q3", [0.1, 0.1, 0.1, 0.7], "D"),
        ],
        228_110_649,
        "beit3 base",
    );
    let b = member(
        dir,
        "b",
        &[
            Row("q3", [0.1, 0.1, 0.2, 0.6], "D"),
            Row("q1", [0.2, 0.6, 0.1, 0.1], "B"),
            Row("q2", [0.1, 0.1, 0.7, 0.1], "C"),
        ],
        682_985_529,
        "beit3 large",
    );
    vec![a, b]
}

fn assert_probs(actual: [f32; 4], expected: [f32; 4]) {
    for (a, e) in actual.iter().zip(expected) {
        assert!(
            (a - e).abs() < 1e-6,
            "probabilities {actual:?}, expected {expected:?}"
        );
    }
}

#[test]
fn mean_averages_probabilities_and_breaks_ties_to_the_earliest_letter() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        "ensemble",
        r#"method = "mean""#,
        &[("members", two_members(dir.path()))],
    )
    .unwrap();
    let rows = run.predictions();
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, ["q1", "q2", "q3"], "the first member's order");
    assert_probs(rows[0].1, [0.4, 0.4, 0.1, 0.1]);
    assert_eq!(rows[0].2, "A", "A and B tie at 0.4: the earlier letter");
    assert_probs(rows[1].1, [0.1, 0.4, 0.4, 0.1]);
    assert_eq!(rows[1].2, "B");
    assert_probs(rows[2].1, [0.1, 0.1, 0.15, 0.65]);
    assert_eq!(rows[2].2, "D");
    assert_eq!(run.text("submission.csv"), "ID,answer\nq1,A\nq2,B\nq3,D\n");
    let meta = run.json("meta.json");
    assert_eq!(meta["params"], 228_110_649u64 + 682_985_529);
    assert_eq!(meta["method"], "mean");
    assert_eq!(meta["members"][1]["model"], "beit3 large");
    assert_eq!(meta["members"][1]["params"], 682_985_529u64);
    assert!(meta["weights"].is_null());
    assert!(meta["model"].as_str().unwrap().contains("mean"));
}

#[test]
fn weighted_follows_the_weights_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let members = two_members(dir.path());
    let toward_a = run(
        "ensemble",
        "method = \"weighted\"\nweights = [3, 1]",
        &[("members", members.clone())],
    )
    .unwrap();
    let rows = toward_a.predictions();
    assert_probs(rows[0].1, [0.5, 0.3, 0.1, 0.1]);
    assert_probs(rows[1].1, [0.1, 0.55, 0.25, 0.1]);
    assert_eq!([&rows[0].2, &rows[1].2], ["A", "B"]);
    assert_eq!(
        toward_a.json("meta.json")["weights"],
        serde_json::json!([3.0, 1.0])
    );

    let toward_b = run(
        "ensemble",
        "method = \"weighted\"\nweights = [1, 3]",
        &[("members", members)],
    )
    .unwrap();
    let rows = toward_b.predictions();
    assert_probs(rows[0].1, [0.3, 0.5, 0.1, 0.1]);
    assert_eq!([&rows[0].2, &rows[1].2], ["B", "C"]);
}

#[test]
fn vote_takes_the_majority_and_breaks_ties_by_summed_probability_then_letter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = member(
        d,
        "a",
        &[
            Row("q1", [0.7, 0.1, 0.1, 0.1], "A"),
            Row("q2", [0.1, 0.5, 0.4, 0.0], "B"),
            Row("q3", [0.4, 0.3, 0.3, 0.0], "A"),
            Row("q4", [0.5, 0.5, 0.0, 0.0], "A"),
        ],
        10,
        "a",
    );
    let b = member(
        d,
        "b",
        &[
            Row("q1", [0.6, 0.2, 0.1, 0.1], "A"),
            Row("q2", [0.1, 0.2, 0.6, 0.1], "C"),
            Row("q3", [0.4, 0.0, 0.3, 0.3], "A"),
            Row("q4", [0.5, 0.5, 0.0, 0.0], "B"),
        ],
        20,
        "b",
    );
    let c = member(
        d,
        "c",
        &[
            Row("q1", [0.1, 0.8, 0.05, 0.05], "B"),
            Row("q2", [0.1, 0.2, 0.2, 0.5], "D"),
            Row("q3", [0.0, 0.9, 0.1, 0.0], "B"),
            Row("q4", [0.0, 0.0, 1.0, 0.0], "C"),
        ],
        30,
        "c",
    );
    let run = run(
        "ensemble",
        r#"method = "vote""#,
        &[("members", vec![a, b, c])],
    )
    .unwrap();
    let rows = run.predictions();
    let answers: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    // q1: two votes for A. q2: one vote each for B, C, D; C has the most summed probability (1.2).
    // q3: two votes for A although the mean would pick B. q4: A, B, C tie on votes and on summed
    // probability (1.0 each): the earliest letter.
    assert_eq!(answers, ["A", "C", "A", "A"]);
    assert_probs(rows[0].1, [2.0 / 3.0, 1.0 / 3.0, 0.0, 0.0]);
    assert_probs(rows[1].1, [0.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0]);
    assert_eq!(run.json("meta.json")["params"], 60);
    assert_eq!(
        run.text("submission.csv"),
        "ID,answer\nq1,A\nq2,C\nq3,A\nq4,A\n"
    );
}

#[test]
fn an_ensemble_output_can_be_a_member_of_another_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let members = two_members(dir.path());
    let inner = run(
        "ensemble",
        r#"method = "mean""#,
        &[("members", members.clone())],
    )
    .unwrap();
    let outer = run(
        "ensemble",
        r#"method = "mean""#,
        &[(
            "members",
            vec![inner.out.path().to_path_buf(), members[0].clone()],
        )],
    )
    .unwrap();
    let rows = outer.predictions();
    assert_probs(rows[0].1, [0.5, 0.3, 0.1, 0.1]);
    assert_eq!(
        outer.json("meta.json")["params"],
        228_110_649u64 * 2 + 682_985_529
    );
}

#[test]
fn weights_must_match_the_members() {
    let dir = tempfile::tempdir().unwrap();
    let error = run_error(
        "ensemble",
        "method = \"weighted\"\nweights = [1, 2, 3]",
        &[("members", two_members(dir.path()))],
    );
    assert!(
        error.contains("`weights` has 3 values") && error.contains("has 2 prediction outputs"),
        "{error}"
    );

    let error = param_error("ensemble", "method = \"weighted\"");
    assert_eq!(error.path, "weights");
    let error = param_error("ensemble", "method = \"mean\"\nweights = [1, 2]");
    assert!(
        error.message.contains("only used by method = \"weighted\""),
        "{error:?}"
    );
    let error = param_error("ensemble", "method = \"weighted\"\nweights = [1, -2]");
    assert_eq!(error.path, "weights[1]");
    let error = param_error("ensemble", "method = \"median\"");
    assert_eq!(error.path, "method");
}

#[test]
fn too_many_parameters_fail_with_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows = [Row("q1", [0.25, 0.25, 0.25, 0.25], "A")];
    let big = member(d, "big", &rows, 2_000_000_000, "big model");
    let bigger = member(d, "bigger", &rows, 1_500_000_000, "bigger model");
    let error = run_error(
        "ensemble",
        r#"method = "mean""#,
        &[("members", vec![big.clone(), bigger.clone()])],
    );
    assert!(
        error.contains("3,500,000,000 parameters in total"),
        "{error}"
    );
    assert!(error.contains("max_params = 3,000,000,000"), "{error}");
    assert!(
        error.contains("member 2 bigger model: 1,500,000,000"),
        "{error}"
    );

    let raised = run(
        "ensemble",
        "method = \"vote\"\nmax_params = 3500000000",
        &[("members", vec![big, bigger])],
    )
    .unwrap();
    assert_eq!(raised.json("meta.json")["params"], 3_500_000_000u64);
}

#[test]
fn members_must_cover_the_same_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = [0.7, 0.1, 0.1, 0.1];
    let a = member(d, "a", &[Row("q1", p, "A"), Row("q2", p, "A")], 1, "a");
    let b = member(d, "b", &[Row("q1", p, "A"), Row("q3", p, "A")], 1, "b");
    let error = run_error(
        "ensemble",
        r#"method = "mean""#,
        &[("members", vec![a.clone(), b.clone()])],
    );
    assert!(
        error.contains("member 2") && error.contains("no prediction for ID `q2`"),
        "{error}"
    );
    assert!(
        error.contains(&b.display().to_string()),
        "names the member's folder: {error}"
    );

    let more = member(
        d,
        "more",
        &[Row("q1", p, "A"), Row("q2", p, "A"), Row("q9", p, "A")],
        1,
        "more",
    );
    let error = run_error(
        "ensemble",
        r#"method = "mean""#,
        &[("members", vec![a, more])],
    );
    assert!(
        error.contains("member 2") && error.contains("ID `q9`"),
        "{error}"
    );
}

#[test]
fn malformed_members_are_refused_with_the_file_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = member(
        d,
        "good",
        &[Row("q1", [0.7, 0.1, 0.1, 0.1], "A")],
        1,
        "good",
    );
    let unnormalised = member(d, "sum", &[Row("q1", [0.7, 0.7, 0.1, 0.1], "A")], 1, "sum");
    let error = run_error(
        "ensemble",
        r#"method = "mean""#,
        &[("members", vec![good.clone(), unnormalised])],
    );
    assert!(
        error.contains("sum/predictions.parquet") && error.contains("row 1 (ID `q1`)"),
        "{error}"
    );
    assert!(error.contains("summing to 1.6"), "{error}");

    let wrong_letter = member(
        d,
        "letter",
        &[Row("q1", [0.7, 0.1, 0.1, 0.1], "C")],
        1,
        "letter",
    );
    let error = run_error(
        "ensemble",
        r#"method = "mean""#,
        &[("members", vec![good.clone(), wrong_letter])],
    );
    assert!(
        error.contains("pred = C") && error.contains("argmax"),
        "{error}"
    );

    let no_meta = member(d, "nometa", &[Row("q1", [0.7, 0.1, 0.1, 0.1], "A")], 1, "x");
    std::fs::write(no_meta.join("meta.json"), r#"{"model": "x"}"#).unwrap();
    let error = run_error(
        "ensemble",
        r#"method = "mean""#,
        &[("members", vec![good.clone(), no_meta])],
    );
    assert!(
        error.contains("nometa/meta.json") && error.contains("`params`"),
        "{error}"
    );

    let file = good.join("predictions.parquet");
    let error = run_error("ensemble", r#"method = "mean""#, &[("members", vec![file])]);
    assert!(error.contains("is not a folder"), "{error}");
}
