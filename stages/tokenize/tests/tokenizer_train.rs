//! The `tokenizer_train` stage: a deterministic vocabulary with the XLM-R special ids, usable by
//! the `tokenize` stage.

mod common;

use common::{nested_row, read_frame, rows, run_stage, write_table};
use pipeline_api::CancelToken;
use pipeline_stages_tokenize::TextTokenizer;
use tokenizers::Tokenizer;

fn train_into(tables: &std::path::Path, out: &std::path::Path, params: &str) -> String {
    run_stage(
        "tokenizer_train",
        params,
        &[("tables", vec![tables.to_path_buf()])],
        out,
        &CancelToken::new(),
    )
    .unwrap()
}

#[test]
fn trains_a_deterministic_tokenizer_with_fairseq_specials() {
    let dir = tempfile::tempdir().unwrap();
    let tables = dir.path().join("tables");
    write_table(&tables.join("train.parquet"), &rows(), true);
    let log = train_into(&tables, &dir.path().join("a"), "vocab_size = 60");
    assert!(log.contains("training on 15 texts"), "{log}");
    train_into(&tables, &dir.path().join("b"), "vocab_size = 60");
    let first = std::fs::read(dir.path().join("a/tokenizer.json")).unwrap();
    let second = std::fs::read(dir.path().join("b/tokenizer.json")).unwrap();
    let first = String::from_utf8(first).unwrap();
    let second = String::from_utf8(second).unwrap();
    let diff = first
        .lines()
        .zip(second.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b);
    assert!(
        first == second,
        "two trainings gave different files, first difference: {diff:?}"
    );

    let tokenizer = Tokenizer::from_file(dir.path().join("a/tokenizer.json")).unwrap();
    for (token, id) in [("<s>", 0), ("<pad>", 1), ("</s>", 2), ("<unk>", 3)] {
        assert_eq!(tokenizer.token_to_id(token), Some(id), "{token}");
    }
    let size = tokenizer.get_vocab_size(true);
    assert!(size <= 61, "{size} ids for a vocabulary of 60 plus <mask>");
    assert_eq!(tokenizer.token_to_id("<mask>"), Some(size as u32 - 1));
    let specials: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("a/special_tokens.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(specials["vocab_size"], size);
    assert_eq!(specials["pad_id"], 1);
    // Trained texts come back without unknowns; an unseen letter is <unk>.
    let ids = tokenizer.encode("What color is the bus?", false).unwrap();
    assert!(!ids.get_ids().contains(&3), "{:?}", ids.get_ids());
    assert!(tokenizer.encode("Ж", false).unwrap().get_ids().contains(&3));
}

#[test]
fn the_tokenize_stage_reads_the_trained_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let tables = dir.path().join("tables");
    write_table(&tables.join("train.parquet"), &rows(), true);
    let trained = dir.path().join("tok");
    train_into(&tables, &trained, "vocab_size = 80");
    let out = dir.path().join("out");
    let inputs = [
        ("tokenizer", vec![trained.clone()]),
        ("tables", vec![tables.join("train.parquet")]),
    ];
    run_stage(
        "tokenize",
        "splits = ['train']\nmax_len = 32",
        &inputs,
        &out,
        &CancelToken::new(),
    )
    .unwrap();
    let tokenizer = TextTokenizer::from_path(&trained).unwrap();
    assert_eq!(tokenizer.format(), "tokenizer.json");
    let row = &rows()[0];
    let text_ids = tokenizer
        .encode(&format!("{} {}", row.question, row.options[3]))
        .unwrap();
    let got = &nested_row(&read_frame(&out.join("train.parquet")), "input_ids", 0)[3];
    assert_eq!(got[0], 0);
    assert_eq!(
        &got[1..=text_ids.len()],
        text_ids
            .iter()
            .map(|&i| i as i32)
            .collect::<Vec<_>>()
            .as_slice()
    );
    assert_eq!(got[text_ids.len() + 1], 2);
    assert!(got[text_ids.len() + 2..].iter().all(|&i| i == 1));
}

#[test]
fn a_tokenizer_json_with_other_special_ids_is_refused() {
    use tokenizers::models::wordlevel::WordLevel;
    let dir = tempfile::tempdir().unwrap();
    let vocab = [
        ("<unk>".to_string(), 0u32),
        ("<s>".to_string(), 1),
        ("hello".to_string(), 2),
    ]
    .into_iter()
    .collect();
    let model = WordLevel::builder()
        .vocab(vocab)
        .unk_token("<unk>".into())
        .build()
        .unwrap();
    let path = dir.path().join("tokenizer.json");
    Tokenizer::new(model).save(&path, false).unwrap();
    let error = TextTokenizer::from_path(&path).err().unwrap();
    assert!(
        error.contains("tokenizer.json") && error.contains("`<s>`") && error.contains("<pad>=1"),
        "{error}"
    );
}
