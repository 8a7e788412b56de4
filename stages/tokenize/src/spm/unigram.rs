//! A `tokenizers` `Model` that segments like SentencePiece's unigram `EncodeOptimized`: Viterbi
//! over the pieces with **f32** path scores, a stored path replaced only by a strictly greater
//! score, unknown characters scored `min score - 10`, runs of unknowns fused into one `<unk>`.
//!
//! Why not the stock `tokenizers::models::unigram::Unigram`: it runs the same search with f64
//! scores, and the different rounding picks another segmentation for near-ties such as
//! `....................` and `IKEA....`. Ids are in the fairseq (XLM-R) layout: `<s>`=0,
//! `<pad>`=1, `</s>`=2, `<unk>`=3, piece `i` = `i + 1`, `<mask>` = pieces + 1.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokenizers::models::unigram::UnigramTrainer;
use tokenizers::tokenizer::{Model, Result, Token};

use super::proto::{ModelProto, PieceType};
use super::trie::PieceTrie;

/// spm's `kUnkPenalty`.
const UNK_PENALTY: f32 = 10.0;

/// The fairseq special tokens, ids 0..=3.
pub const FAIRSEQ_SPECIALS: [&str; 4] = ["<s>", "<pad>", "</s>", "<unk>"];
pub const MASK: &str = "<mask>";
const UNK_ID: u32 = 3;

/// The unigram segmenter with XLM-R ids.
#[derive(Debug, Clone)]
pub struct SpmUnigram {
    /// NORMAL pieces -> spm id.
    trie: PieceTrie,
    /// Score of each spm id.
    scores: Vec<f32>,
    unk_score: f32,
    spm_unk: u32,
    /// Token text of each output id.
    vocab: Vec<String>,
    token_to_id: HashMap<String, u32>,
}

/// Best path ending at a byte position.
#[derive(Clone, Copy)]
struct Best {
    score: f32,
    /// Start of the last piece, `usize::MAX` when no path reaches here yet.
    start: usize,
    spm_id: u32,
}

impl SpmUnigram {
    /// From a parsed model, checked by the caller (unigram, no byte fallback, fairseq layout).
    pub fn new(model: &ModelProto) -> Self {
        let spm_unk = model.trainer.unk_id as u32;
        let normal = |kind| kind == PieceType::Normal;
        let min_score = model
            .pieces
            .iter()
            .filter(|p| normal(p.kind))
            .map(|p| p.score)
            .fold(f32::MAX, f32::min);
        let trie = PieceTrie::new(
            model
                .pieces
                .iter()
                .enumerate()
                .filter(|(_, p)| normal(p.kind))
                .map(|(i, p)| (p.piece.as_bytes(), i as u32)),
        );
        let mut vocab: Vec<String> = FAIRSEQ_SPECIALS.iter().map(|s| s.to_string()).collect();
        vocab.extend(model.pieces.iter().skip(3).map(|p| p.piece.clone()));
        vocab.push(MASK.to_string());
        let mut token_to_id = HashMap::with_capacity(vocab.len());
        for (id, token) in vocab.iter().enumerate() {
            token_to_id.entry(token.clone()).or_insert(id as u32);
        }
        Self {
            trie,
            scores: model.pieces.iter().map(|p| p.score).collect(),
            unk_score: min_score - UNK_PENALTY,
            spm_unk,
            vocab,
            token_to_id,
        }
    }

    /// XLM-R id of an spm id.
    fn fairseq_id(&self, spm_id: u32) -> u32 {
        if spm_id == self.spm_unk {
            UNK_ID
        } else {
            spm_id + 1
        }
    }

    /// The Viterbi table: for each byte position, the best path ending there.
    fn lattice(&self, text: &str) -> Vec<Best> {
        let bytes = text.as_bytes();
        let mut best = vec![
            Best {
                score: 0.0,
                start: usize::MAX,
                spm_id: 0
            };
            bytes.len() + 1
        ];
        let mut start = 0;
        for (start_at, c) in text.char_indices() {
            debug_assert_eq!(start, start_at);
            let base = best[start].score;
            let char_len = c.len_utf8();
            let mut has_single = false;
            self.trie.for_each_prefix(&bytes[start..], |len, spm_id| {
                let candidate = self.scores[spm_id as usize] + base;
                let target = &mut best[start + len];
                if target.start == usize::MAX || candidate > target.score {
                    *target = Best {
                        score: candidate,
                        start,
                        spm_id,
                    };
                }
                has_single |= len == char_len;
            });
            if !has_single {
                let candidate = self.unk_score + base;
                let target = &mut best[start + char_len];
                if target.start == usize::MAX || candidate > target.score {
                    *target = Best {
                        score: candidate,
                        start,
                        spm_id: self.spm_unk,
                    };
                }
            }
            start += char_len;
        }
        best
    }

    /// The ids of `text` (already normalized), unknown runs fused: what [`Self::segment`] gives,
    /// without building token strings.
    pub fn ids(&self, text: &str) -> Vec<u32> {
        let best = self.lattice(text);
        let mut ids = Vec::with_capacity(text.len() / 2 + 1);
        let mut end = text.len();
        while end > 0 {
            let node = best[end];
            if !(node.spm_id == self.spm_unk && ids.last() == Some(&UNK_ID)) {
                ids.push(self.fairseq_id(node.spm_id));
            }
            end = node.start;
        }
        ids.reverse();
        ids
    }

    /// Segments `text` (already normalized) into tokens, unknown runs fused.
    pub fn segment(&self, text: &str) -> Vec<Token> {
        let best = self.lattice(text);
        let mut pieces: Vec<(usize, usize, u32)> = Vec::new();
        let mut end = text.len();
        while end > 0 {
            let node = best[end];
            let fuse =
                node.spm_id == self.spm_unk && pieces.last().is_some_and(|p| p.2 == self.spm_unk);
            if fuse {
                pieces.last_mut().expect("checked").0 = node.start;
            } else {
                pieces.push((node.start, end, node.spm_id));
            }
            end = node.start;
        }
        pieces
            .into_iter()
            .rev()
            .map(|(start, end, spm_id)| {
                Token::new(
                    self.fairseq_id(spm_id),
                    text[start..end].to_string(),
                    (start, end),
                )
            })
            .collect()
    }
}

impl Model for SpmUnigram {
    type Trainer = UnigramTrainer;

    fn tokenize(&self, sequence: &str) -> Result<Vec<Token>> {
        Ok(self.segment(sequence))
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.token_to_id.get(token).copied()
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.vocab.get(id as usize).cloned()
    }

    fn get_vocab(&self) -> HashMap<String, u32> {
        self.token_to_id.clone()
    }

    fn get_vocab_size(&self) -> usize {
        self.vocab.len()
    }

    fn save(&self, _folder: &Path, _prefix: Option<&str>) -> Result<Vec<PathBuf>> {
        Err(
            "the spm-exact unigram model is built from the .spm file and is not saved separately"
                .into(),
        )
    }

    fn get_trainer(&self) -> Self::Trainer {
        UnigramTrainer::default()
    }
}
