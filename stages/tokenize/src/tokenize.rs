//! `tokenize`: turns each split's question table into model inputs (`<split>.parquet`) with the
//! given tokenizer, and reports how many sequences had to be truncated (`report.json`).
//!
//! Inputs: `tokenizer` (a SentencePiece model file, a `tokenizer.json`, or a folder holding one,
//! such as a `tokenizer_train` output) and `tables` (folders holding `<split>.parquet`, such as the
//! visual7w or mc_table output, or the split files themselves). Without `splits`, every table the
//! input holds is tokenized.

use std::collections::BTreeMap;

use pipeline_api::{ParamError, Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::layout::Layout;
use crate::sequence::{Packed, pack};
use crate::table::{self, QuestionTable};
use crate::text_tokenizer::{BOS, EOS, PAD, TextTokenizer, UNK};
use crate::{inputs, output, split_names};

/// Questions encoded per parallel batch; progress and cancellation are checked between batches.
const BATCH_QUESTIONS: usize = 4096;
/// Longest sequence accepted (BEiT-3 uses 64).
const MAX_MAX_LEN: usize = 4096;

pub struct Tokenize;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenizeParams {
    /// `choice` (default): one sequence per option, `"{Question} {option}"` for A-D, so four per
    /// question. `joint`: one sequence per question, `"{Question} A: {A} B: {B} C: {C} D: {D}"`.
    #[serde(default)]
    pub layout: Layout,
    /// Tokens per sequence, `<s>` and `</s>` included (at most `max_len - 2` text tokens are kept,
    /// the rest padded with `<pad>`). Unset: 64 for `choice`, 128 for `joint`.
    #[serde(default)]
    pub max_len: Option<usize>,
    /// Splits to tokenize: each reads `<split>.parquet` from the `tables` input and writes
    /// `<split>.parquet` (columns ID, img_path, input_ids, padding_mask[, label]). Unset: every
    /// `<split>.parquet` the `tables` input holds (`train`, `val`, `test` of a `visual7w` output,
    /// the one table of an `mc_table` output); only listed splits are declared outputs that
    /// other stages may name as `@stage/<split>.parquet`.
    #[serde(default)]
    pub splits: Option<Vec<String>>,
}

impl TokenizeParams {
    fn max_len(&self) -> usize {
        self.max_len.unwrap_or(self.layout.default_max_len())
    }
}

/// Counts for one split, as `report.json` shows them.
#[derive(Debug, Default, Serialize)]
struct SplitReport {
    questions: usize,
    sequences: usize,
    truncated_sequences: usize,
    truncated_questions: usize,
    /// Text tokens of the longest sequence, before truncation.
    longest_tokens: usize,
    labelled: bool,
}

impl Stage for Tokenize {
    const KIND: &'static str = "tokenize";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Tokenizes question tables into model inputs. Inputs: `tokenizer` (a \
        SentencePiece .spm/.model file, giving XLMRobertaTokenizer's ids exactly, a tokenizer.json, \
        or a folder holding one) and `tables` (folders with `<split>.parquet`: ID, img_path, \
        Question, A-D[, answer]; every one the input holds unless `splits` lists some). Writes \
        `<split>.parquet` per split: ID, img_path, input_ids and \
        padding_mask (List(List(Int32)), [sequences][max_len], <s>=0 ids </s>=2 then <pad>=1; mask \
        1 = pad), label (0-3, when answers are given; a table whose answers are all null is \
        unlabelled); and report.json (truncation counts, vocab size).";
    type Params = TokenizeParams;

    fn validate(params: &TokenizeParams) -> Result<(), ParamError> {
        let max_len = params.max_len();
        if !(3..=MAX_MAX_LEN).contains(&max_len) {
            return Err(ParamError::new(
                "max_len",
                format!("must be between 3 and {MAX_MAX_LEN}"),
            ));
        }
        match &params.splits {
            Some(splits) => split_names::check(splits),
            None => Ok(()),
        }
    }

    fn outputs(params: &TokenizeParams) -> Vec<String> {
        let mut outputs: Vec<String> = params
            .splits
            .iter()
            .flatten()
            .map(|s| format!("{s}.parquet"))
            .collect();
        outputs.push("report.json".into());
        outputs
    }

    fn run(&self, params: &TokenizeParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let tokenizer =
            TextTokenizer::from_path(ctx.input("tokenizer")?).map_err(StageError::failed)?;
        let tables = read_tables(params, ctx)?;
        let pool = thread_pool(ctx.cpus)?;
        let total: usize = tables.iter().map(|(_, t)| t.len()).sum();
        ctx.progress.start(total as u64, "questions");
        let mut splits = BTreeMap::new();
        for (split, table) in &tables {
            let (packed, report) = encode_table(params, &tokenizer, &pool, table, ctx)?;
            output::write(
                &ctx.out_dir.join(format!("{split}.parquet")),
                table,
                &packed,
                params.layout.sequences(),
            )
            .map_err(StageError::failed)?;
            ctx.log_line(&format!(
                "{split}: {} questions, {} sequences, {} truncated to {} tokens ({} questions), longest {} tokens",
                report.questions,
                report.sequences,
                report.truncated_sequences,
                params.max_len(),
                report.truncated_questions,
                report.longest_tokens + 2
            ));
            splits.insert(split.clone(), report);
        }
        write_report(params, &tokenizer, splits, ctx)
    }
}

/// Every split's table (those listed, or all the input holds), read and checked before any work
/// starts.
fn read_tables(
    params: &TokenizeParams,
    ctx: &StageContext<'_>,
) -> Result<Vec<(String, QuestionTable)>, StageError> {
    let paths = ctx.input_list("tables")?;
    let found = match &params.splits {
        Some(splits) => splits
            .iter()
            .map(|split| Ok((split.clone(), inputs::split_table(paths, split)?)))
            .collect::<Result<Vec<_>, String>>(),
        None => inputs::all_tables(paths),
    }
    .map_err(StageError::failed)?;
    let mut tables = Vec::with_capacity(found.len());
    for (split, path) in found {
        tables.push((split, table::read(&path).map_err(StageError::failed)?));
    }
    Ok(tables)
}

/// A rayon pool of `cpus` threads, in which `encode_batch` runs.
pub(crate) fn thread_pool(cpus: usize) -> Result<rayon::ThreadPool, StageError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(cpus.max(1))
        .build()
        .map_err(|e| StageError::caused(format!("cannot start {cpus} worker threads"), e))
}

/// Packed sequences of one table, in question order, and its counts.
fn encode_table(
    params: &TokenizeParams,
    tokenizer: &TextTokenizer,
    pool: &rayon::ThreadPool,
    table: &QuestionTable,
    ctx: &StageContext<'_>,
) -> Result<(Vec<Packed>, SplitReport), StageError> {
    let per_question = params.layout.sequences();
    let mut report = SplitReport {
        questions: table.len(),
        labelled: table.labels.is_some(),
        ..Default::default()
    };
    let mut packed = Vec::with_capacity(table.len() * per_question);
    let mut texts = Vec::with_capacity(BATCH_QUESTIONS * per_question);
    for start in (0..table.len()).step_by(BATCH_QUESTIONS) {
        ctx.cancel.check()?;
        let end = (start + BATCH_QUESTIONS).min(table.len());
        texts.clear();
        for row in start..end {
            let options = table.options[row].each_ref().map(String::as_str);
            params
                .layout
                .texts(&table.questions[row], options, &mut texts);
        }
        let ids = pool
            .install(|| tokenizer.encode_batch(&texts))
            .map_err(|e| {
                StageError::caused(
                    format!("`{}`, rows {start}..{end}", table.path.display()),
                    e,
                )
            })?;
        for question in ids.chunks(per_question) {
            let before = report.truncated_sequences;
            for seq in question {
                report.longest_tokens = report.longest_tokens.max(seq.len());
                let one = pack(seq, params.max_len());
                report.truncated_sequences += usize::from(one.truncated);
                packed.push(one);
            }
            report.truncated_questions += usize::from(report.truncated_sequences > before);
        }
        ctx.progress.advance((end - start) as u64);
    }
    report.sequences = packed.len();
    Ok((packed, report))
}

fn write_report(
    params: &TokenizeParams,
    tokenizer: &TextTokenizer,
    splits: BTreeMap<String, SplitReport>,
    ctx: &StageContext<'_>,
) -> Result<(), StageError> {
    let file_name = tokenizer
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let report = serde_json::json!({
        "tokenizer": {
            "format": tokenizer.format(),
            "file": file_name,
            "vocab_size": tokenizer.vocab_size(),
            "bos": BOS, "pad": PAD, "eos": EOS, "unk": UNK,
        },
        "layout": params.layout,
        "max_len": params.max_len(),
        "sequences_per_question": params.layout.sequences(),
        "splits": splits,
    });
    let text = serde_json::to_string_pretty(&report).expect("a JSON value serializes");
    let path = ctx.out_dir.join("report.json");
    std::fs::write(&path, text + "\n")
        .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))
}
