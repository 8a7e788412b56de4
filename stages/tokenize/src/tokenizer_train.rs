//! `tokenizer_train`: trains a small unigram vocabulary on the questions and options of the
//! training tables with the `tokenizers` `UnigramTrainer`, for when no SentencePiece model is
//! available (the embedded demo). Writes `tokenizer.json` and `special_tokens.json`; the special
//! ids follow the XLM-R convention the rest of the pipeline assumes: `<s>`=0, `<pad>`=1, `</s>`=2,
//! `<unk>`=3, and `<mask>` last.
//!
//! Deterministic: words are counted in sorted order and trained on one thread (the trainer's
//! parallel sums would otherwise depend on scheduling), and the pieces are ordered by score, then
//! text, so the file is byte-identical from run to run.

use std::collections::BTreeMap;

use pipeline_api::{ParamError, Stage, StageContext, StageError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
use tokenizers::models::unigram::{Unigram, UnigramTrainerBuilder};
use tokenizers::normalizers::{NFKC, NormalizerWrapper, Replace, Sequence, Strip};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::tokenizer::{
    NormalizedString, Normalizer, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer,
};
use tokenizers::{AddedToken, Tokenizer};

use crate::spm::{FAIRSEQ_SPECIALS, MASK, SPACE};
use crate::table;
use crate::tokenize::thread_pool;
use crate::{inputs, split_names};

pub struct TokenizerTrain;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainParams {
    /// Vocabulary size, the four special tokens included (`<mask>` comes on top). A small
    /// corpus may give fewer pieces.
    #[serde(default = "default_vocab_size")]
    pub vocab_size: u32,
    /// Splits whose Question and A-D texts train the vocabulary: `<split>.parquet` in `tables`.
    #[serde(default = "default_splits")]
    pub splits: Vec<String>,
}

fn default_vocab_size() -> u32 {
    8000
}

fn default_splits() -> Vec<String> {
    vec!["train".into()]
}

impl Stage for TokenizerTrain {
    const KIND: &'static str = "tokenizer_train";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Trains a unigram tokenizer (tokenizers' UnigramTrainer, NFKC + \
        Metaspace) on the Question and A-D texts of the `tables` input's `<split>.parquet`, \
        deterministically. Writes tokenizer.json and special_tokens.json (<s>=0 <pad>=1 </s>=2 \
        <unk>=3, <mask> last, vocab_size), for the `tokenize` stage's `tokenizer` input.";
    type Params = TrainParams;

    fn validate(params: &TrainParams) -> Result<(), ParamError> {
        if params.vocab_size < 16 {
            return Err(ParamError::new("vocab_size", "must be at least 16"));
        }
        split_names::check(&params.splits)
    }

    fn outputs(_params: &TrainParams) -> Vec<String> {
        vec!["tokenizer.json".into(), "special_tokens.json".into()]
    }

    fn run(&self, params: &TrainParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let texts = training_texts(params, ctx)?;
        ctx.log_line(&format!("training on {} texts", texts.len()));
        ctx.cancel.check()?;
        let tokenizer = train(&texts, params.vocab_size).map_err(StageError::failed)?;
        let path = ctx.out_dir.join("tokenizer.json");
        tokenizer
            .save(&path, true)
            .map_err(|e| StageError::caused(format!("writing `{}`", path.display()), e))?;
        let vocab_size = tokenizer.get_vocab_size(true);
        let specials = serde_json::json!({
            "bos_id": 0, "pad_id": 1, "eos_id": 2, "unk_id": 3,
            "mask_id": tokenizer.token_to_id(MASK),
            "vocab_size": vocab_size,
        });
        let path = ctx.out_dir.join("special_tokens.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&specials).expect("JSON") + "\n",
        )
        .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))?;
        ctx.log_line(&format!("trained a vocabulary of {vocab_size} ids"));
        Ok(())
    }
}

/// Questions and options of every training split, in table order.
fn training_texts(params: &TrainParams, ctx: &StageContext<'_>) -> Result<Vec<String>, StageError> {
    let paths = ctx.input_list("tables")?;
    let mut texts = Vec::new();
    for split in &params.splits {
        let path = inputs::split_table(paths, split).map_err(StageError::failed)?;
        let table = table::read(&path).map_err(StageError::failed)?;
        for (question, options) in table.questions.into_iter().zip(table.options) {
            texts.push(question);
            texts.extend(options);
        }
    }
    Ok(texts)
}

fn normalizer() -> Result<NormalizerWrapper, String> {
    let collapse = Replace::new(
        tokenizers::normalizers::replace::ReplacePattern::Regex(r"\s+".into()),
        " ",
    )
    .map_err(|e| e.to_string())?;
    Ok(Sequence::new(vec![
        NFKC.into(),
        Strip::new(true, true).into(),
        collapse.into(),
    ])
    .into())
}

/// Trains the tokenizer on `texts`.
pub fn train(texts: &[String], vocab_size: u32) -> Result<Tokenizer, String> {
    let normalizer = normalizer()?;
    let pre_tokenizer = Metaspace::new(SPACE, PrependScheme::Always, true);
    let sentences = count_words(texts, &normalizer, &pre_tokenizer)?;
    let specials: Vec<AddedToken> = FAIRSEQ_SPECIALS
        .iter()
        .map(|t| AddedToken::from(*t, true))
        .collect();
    let trainer = UnigramTrainerBuilder::default()
        .show_progress(false)
        .vocab_size(vocab_size)
        .special_tokens(specials.clone())
        .unk_token(Some(FAIRSEQ_SPECIALS[3].to_string()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut model = Unigram::default();
    let pool = thread_pool(1).map_err(|e| e.to_string())?;
    pool.install(|| trainer.do_train(sentences, &mut model))
        .map_err(|e| format!("training the vocabulary failed: {e}"))?;
    let mut tokenizer = Tokenizer::new(canonical(&model)?);
    tokenizer
        .with_normalizer(Some(normalizer))
        .map_err(|e| e.to_string())?;
    tokenizer.with_pre_tokenizer(Some(pre_tokenizer));
    tokenizer.with_decoder(Some(MetaspaceDecoder::new(
        SPACE,
        PrependScheme::Always,
        true,
    )));
    let mut all = specials;
    all.push(AddedToken::from(MASK, true).lstrip(true));
    tokenizer
        .add_special_tokens(all)
        .map_err(|e| e.to_string())?;
    Ok(tokenizer)
}

/// Word counts as the trainer's `feed` makes them, in sorted order.
fn count_words(
    texts: &[String],
    normalizer: &NormalizerWrapper,
    pre_tokenizer: &Metaspace,
) -> Result<Vec<(String, u32)>, String> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for text in texts {
        let mut normalized = NormalizedString::from(text.as_str());
        normalizer
            .normalize(&mut normalized)
            .map_err(|e| e.to_string())?;
        let mut words = PreTokenizedString::from(normalized);
        pre_tokenizer
            .pre_tokenize(&mut words)
            .map_err(|e| e.to_string())?;
        for (word, _, _) in words.get_splits(OffsetReferential::Original, OffsetType::Byte) {
            *counts.entry(word.to_string()).or_default() += 1;
        }
    }
    Ok(counts.into_iter().collect())
}

/// The trained model with its pieces in a fixed order: the special tokens first, then by
/// decreasing score, ties by text (the trainer's own order of ties depends on hashing).
fn canonical(model: &Unigram) -> Result<Unigram, String> {
    let mut pieces: Vec<(String, f64)> = model.iter().cloned().collect();
    let mut rest = pieces.split_off(FAIRSEQ_SPECIALS.len().min(pieces.len()));
    if !pieces.iter().map(|(p, _)| p.as_str()).eq(FAIRSEQ_SPECIALS) {
        return Err(format!(
            "the trainer put {pieces:?} first instead of {FAIRSEQ_SPECIALS:?}"
        ));
    }
    rescore_missing_chars(&mut rest);
    rest.sort_by(|(a, x), (b, y)| y.total_cmp(x).then_with(|| a.cmp(b)));
    pieces.extend(rest);
    Unigram::from(pieces, Some(3), false).map_err(|e| e.to_string())
}

/// The trainer gives characters that the EM pass dropped the scores `min`, `min + 1e-4`,
/// `min + 2e-4`, ... in hash-set order; this hands the same scores out again in character order.
fn rescore_missing_chars(pieces: &mut [(String, f64)]) {
    let Some(min) = pieces.iter().map(|(_, s)| *s).min_by(f64::total_cmp) else {
        return;
    };
    let single = |p: &str| p.chars().count() == 1;
    let mut scores = Vec::new();
    let mut penalty = 0.0;
    loop {
        let score = min + penalty;
        let found = pieces
            .iter()
            .filter(|(p, s)| single(p) && *s == score)
            .count();
        if found != 1 {
            break;
        }
        scores.push(score);
        penalty += 0.0001;
    }
    let mut chars: Vec<usize> = (0..pieces.len())
        .filter(|&i| single(&pieces[i].0) && scores.contains(&pieces[i].1))
        .collect();
    chars.sort_by(|&a, &b| pieces[a].0.cmp(&pieces[b].0));
    for (index, score) in chars.into_iter().zip(scores) {
        pieces[index].1 = score;
    }
}
