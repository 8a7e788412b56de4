//! The contest path through the real binary: a reduced `pipelines/demo.toml` trains its members
//! and publishes `results/demo-contest/`, then `pipelines/contest.toml`, pointed at a contest CSV
//! with quoted commas, quotes, spaces inside quotes and non-ASCII text, writes
//! `results/submission.csv` whose header, IDs and order are the CSV's.

mod common;

use common::{Project, parse_run};

/// A repository-relative file's text.
fn repo_file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// `text` with each `(from, to)` replaced once; every `from` must be there.
fn edited(text: &str, edits: &[(&str, &str)]) -> String {
    let mut text = text.to_string();
    for (from, to) in edits {
        assert!(text.contains(from), "no `{from}` to edit");
        text = text.replacen(from, to, 1);
    }
    text
}

/// The demo, small and quick: its members need to exist, not to be good.
fn small_demo() -> String {
    edited(
        &repo_file("pipelines/demo.toml"),
        &[
            ("images = 600", "images = 120"),
            ("epochs = 8", "epochs = 1"),
            ("epochs = 8", "epochs = 1"),
        ],
    )
}

/// Fields of a CSV text as a reader without trimming reads them (pandas, Python's `csv`): quoted
/// fields may hold commas, `""` and line breaks.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[test]
fn contest_manifest_writes_the_submission_in_the_csvs_order_with_its_ids() {
    let project = Project::new("# the manifests are under pipelines/\n");
    project.write("pipelines/demo.toml", &small_demo());
    let demo = parse_run(&project.output(&[
        "run",
        "pipelines/demo.toml",
        "--json",
        "--target",
        "publish_contest_kit",
    ]));
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    for published in [
        "test.csv",
        "answers.csv",
        "tokenizer/tokenizer.json",
        "members/choice-seed1/model.json",
        "members/choice-seed2/model.json",
    ] {
        assert!(
            project
                .path(&format!("results/demo-contest/{published}"))
                .exists(),
            "the demo publishes {published}"
        );
    }
    let shipped = parse_csv(&project.read("results/demo-contest/test.csv"));
    assert_eq!(
        shipped[0],
        ["ID", "img_path", "Question", "A", "B", "C", "D"]
    );
    let image = |row: usize| shipped[row][1].clone();

    // Awkward text in every column, rows not in any sorted order.
    let questions = format!(
        concat!(
            "ID,img_path,Question,A,B,C,D\n",
            "\"Z,last\",{},\"What color is the shape, in one word?\",Red.,Blue.,\"Green, dark.\",Yellow.\n",
            "\"say \"\"hi\"\"\",{},\"これは何色ですか？\",\"\"\"Red\"\".\",Blue.,Green.,Ünïcödé.\n",
            "질문-3,{},What color is the shape?,Red.,Blue.,Green.,Yellow.\n",
            "\" padded \",{},\"  What color is the shape?  \",\" Red.\",Blue.,Green.,Purple.\r\n",
            "A_first,{},What color is the shape?,Orange.,Blue.,Green.,Red.\n",
        ),
        image(1),
        image(2),
        image(3),
        image(1),
        image(4)
    );
    project.write("contest/test.csv", &questions);
    project.write(
        "pipelines/contest.toml",
        &edited(
            &repo_file("pipelines/contest.toml"),
            &[(
                "test_csv = \"results/demo-contest/test.csv\"",
                "test_csv = \"contest/test.csv\"",
            )],
        ),
    );
    let contest = parse_run(&project.output(&["run", "pipelines/contest.toml", "--json"]));
    assert_eq!(contest.code, 0, "{}", contest.stderr);
    assert_eq!(
        contest.ran().len(),
        8,
        "every stage of the contest path runs: {:?}",
        contest.outcomes
    );

    let text = project.read("results/submission.csv");
    let submission = parse_csv(&text);
    let input = parse_csv(&questions);
    assert_eq!(text.lines().next(), Some("ID,answer"));
    assert_eq!(
        submission[0][0], input[0][0],
        "the ID column as the CSV names it"
    );
    let ids = |rows: &[Vec<String>]| -> Vec<String> {
        rows[1..].iter().map(|row| row[0].clone()).collect()
    };
    assert_eq!(
        ids(&submission),
        ["Z,last", "say \"hi\"", "질문-3", " padded ", "A_first"]
    );
    assert_eq!(
        ids(&submission),
        ids(&input),
        "the CSV's IDs, exactly and in order"
    );
    for row in &submission[1..] {
        assert_eq!(row.len(), 2, "{row:?}");
        assert!(["A", "B", "C", "D"].contains(&row[1].as_str()), "{row:?}");
    }
    assert!(text.contains("\n\"Z,last\","), "{text}");
    assert!(text.contains("\n\"say \"\"hi\"\"\","), "{text}");
    assert!(text.contains("\n\" padded \","), "{text}");

    let again = parse_run(&project.output(&["run", "pipelines/contest.toml", "--json"]));
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.ran().is_empty(),
        "a second run is a no-op: {:?}",
        again.outcomes
    );
}
