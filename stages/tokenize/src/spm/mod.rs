//! A SentencePiece model file turned into a `tokenizers` `TokenizerImpl` that gives the ids of
//! `XLMRobertaTokenizer(vocab_file)` (transformers 4.x, the slow tokenizer BEiT-3 uses).
//!
//! Stock parts: `TokenizerImpl` itself (batching, added-token splitting, encodings) and its
//! `AddedVocabulary`, which splits out literal `<s>`, `<pad>`, `</s>`, `<unk>` and `<mask>` (the
//! last one taking the whitespace before it, `lstrip`) as the slow tokenizer does. Own parts,
//! because the stock ones differ from spm (see each file): [`SpmNormalizer`] and [`SpmUnigram`].
//! No pre-tokenizer: like spm, the Viterbi pass runs over the whole normalized text.

mod charsmap;
mod normalizer;
mod proto;
mod trie;
mod unigram;

use std::path::Path;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{AddedToken, TokenizerImpl};

pub use normalizer::{SPACE, SpmNormalizer};
pub use proto::{ModelProto, PieceType, ProtoError};
pub use unigram::{FAIRSEQ_SPECIALS, MASK, SpmUnigram};

/// The tokenizer built from a `.spm` file.
pub type SpmTokenizer = TokenizerImpl<
    SpmUnigram,
    SpmNormalizer,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// Reads and builds; the error names the file and what is wrong with it.
pub fn load(path: &Path) -> Result<SpmTokenizer, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    from_bytes(&bytes).map_err(|e| {
        format!(
            "`{}` is not a usable SentencePiece model: {e}",
            path.display()
        )
    })
}

/// Builds the tokenizer from the bytes of a model file.
pub fn from_bytes(bytes: &[u8]) -> Result<SpmTokenizer, String> {
    let model = ModelProto::parse(bytes).map_err(|e| e.to_string())?;
    check_supported(&model)?;
    let normalizer =
        SpmNormalizer::new(&model.normalizer, model.trainer.treat_whitespace_as_suffix)?;
    let mut tokenizer = SpmTokenizer::new(SpmUnigram::new(&model));
    tokenizer
        .with_normalizer(Some(normalizer))
        .map_err(|e| e.to_string())?;
    let mut specials: Vec<AddedToken> = FAIRSEQ_SPECIALS
        .iter()
        .map(|t| AddedToken::from(*t, true))
        .collect();
    specials.push(AddedToken::from(MASK, true).lstrip(true));
    tokenizer
        .add_special_tokens(specials)
        .map_err(|e| e.to_string())?;
    Ok(tokenizer)
}

/// What this loader reproduces exactly: unigram models without byte fallback or user-defined
/// symbols, in the standard `<unk>`, `<s>`, `</s>` first layout the fairseq offset assumes.
fn check_supported(model: &ModelProto) -> Result<(), String> {
    let trainer = &model.trainer;
    if trainer.model_type != 1 {
        return Err(format!(
            "model_type {} is not unigram (1); only unigram models are supported",
            trainer.model_type
        ));
    }
    if trainer.byte_fallback {
        return Err("byte_fallback models are not supported".into());
    }
    if let Some(piece) = model
        .pieces
        .iter()
        .find(|p| matches!(p.kind, PieceType::UserDefined | PieceType::Byte))
    {
        return Err(format!(
            "piece `{}` is {:?}; user-defined and byte pieces are not supported",
            piece.piece, piece.kind
        ));
    }
    let kinds: Vec<PieceType> = model.pieces.iter().take(3).map(|p| p.kind).collect();
    if trainer.unk_id != 0
        || kinds.len() < 3
        || kinds[0] != PieceType::Unknown
        || kinds[1..].contains(&PieceType::Normal)
    {
        return Err(format!(
            "the first pieces are {:?} with unk_id {}; the XLM-R id offset needs `<unk>`, `<s>`, `</s>` \
             (unknown, control, control) at spm ids 0, 1, 2",
            model
                .pieces
                .iter()
                .take(3)
                .map(|p| (&p.piece, p.kind))
                .collect::<Vec<_>>(),
            trainer.unk_id
        ));
    }
    Ok(())
}
