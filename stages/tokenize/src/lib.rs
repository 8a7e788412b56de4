//! Tokenization stages: `tokenize` (question tables to model inputs, with a SentencePiece model
//! reproducing `XLMRobertaTokenizer` exactly, or a `tokenizer.json`) and `tokenizer_train` (a small
//! unigram vocabulary for when no SentencePiece model is at hand).

mod inputs;
pub mod layout;
mod output;
pub mod sequence;
mod split_names;
pub mod spm;
pub mod table;
pub mod text_tokenizer;
mod tokenize;
mod tokenizer_train;

pub use layout::Layout;
pub use text_tokenizer::TextTokenizer;
pub use tokenize::{Tokenize, TokenizeParams};
pub use tokenizer_train::{TokenizerTrain, TrainParams, train};

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![
        pipeline_api::erase(Tokenize),
        pipeline_api::erase(TokenizerTrain),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_parameter_is_documented() {
        for stage in super::stages() {
            let docs = stage.param_docs();
            assert!(!docs.is_empty(), "{}", stage.kind());
            for (name, doc) in docs {
                assert!(
                    doc.is_some(),
                    "`{}` parameter `{name}` has no doc",
                    stage.kind()
                );
            }
        }
    }
}
