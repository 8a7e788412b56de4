//! The tokenizer the stages use: a SentencePiece model file (`.spm` / `.model`, spm-exact, see
//! [`crate::spm`]) or a `tokenizer.json` (loaded with `Tokenizer::from_file`), both with the
//! fairseq special ids `<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3.

use std::path::{Path, PathBuf};

use tokenizers::Tokenizer;

use crate::spm::{self, FAIRSEQ_SPECIALS, SpmTokenizer};

/// Special ids every tokenizer here has.
pub const BOS: u32 = 0;
pub const PAD: u32 = 1;
pub const EOS: u32 = 2;
pub const UNK: u32 = 3;

enum Backend {
    Spm(Box<SpmTokenizer>),
    Json(Box<Tokenizer>),
}

/// A loaded tokenizer.
pub struct TextTokenizer {
    backend: Backend,
    path: PathBuf,
}

impl TextTokenizer {
    /// Loads a model file, a `tokenizer.json`, or a folder holding exactly one of them.
    pub fn from_path(path: &Path) -> Result<Self, String> {
        let file = if path.is_dir() {
            find_in_folder(path)?
        } else {
            path.to_path_buf()
        };
        let head = read_head(&file)?;
        let backend = if head.trim_ascii_start().starts_with(b"{") {
            Backend::Json(Box::new(load_json(&file)?))
        } else {
            Backend::Spm(Box::new(spm::load(&file)?))
        };
        let tokenizer = Self {
            backend,
            path: file,
        };
        tokenizer.check_specials()?;
        Ok(tokenizer)
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `spm` or `tokenizer.json`.
    pub fn format(&self) -> &'static str {
        match self.backend {
            Backend::Spm(_) => "spm",
            Backend::Json(_) => "tokenizer.json",
        }
    }

    /// Highest id + 1 (the model's embedding needs at least this many rows).
    pub fn vocab_size(&self) -> usize {
        let vocab = match &self.backend {
            Backend::Spm(t) => t.get_vocab(true),
            Backend::Json(t) => t.get_vocab(true),
        };
        vocab.values().max().map_or(0, |&id| id as usize + 1)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        match &self.backend {
            Backend::Spm(t) => t.token_to_id(token),
            Backend::Json(t) => t.token_to_id(token),
        }
    }

    /// Ids of `text` without special tokens around it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        let encoding = match &self.backend {
            Backend::Spm(t) => t.encode(text, false),
            Backend::Json(t) => t.encode(text, false),
        };
        encoding
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| format!("tokenizing {text:?}: {e}"))
    }

    /// Ids of each text, encoded in parallel on the current rayon pool (`encode_batch`).
    ///
    /// For a SentencePiece model, texts without `<` (so without a literal special token to split
    /// out) take a shortcut: the same normalizer and segmenter, called directly, without the
    /// `Encoding` bookkeeping (offsets, token strings, alignments) that dominates the time of
    /// `encode_batch` here. The parity tests check both paths against the reference.
    pub fn encode_batch(&self, texts: &[String]) -> Result<Vec<Vec<u32>>, String> {
        if let Backend::Spm(t) = &self.backend {
            use rayon::prelude::*;
            return texts
                .par_iter()
                .map(|text| self.encode_spm(t, text))
                .collect();
        }
        self.encode_batch_stock(texts)
    }

    fn encode_spm(&self, tokenizer: &SpmTokenizer, text: &str) -> Result<Vec<u32>, String> {
        if text.contains('<') {
            return self.encode(text);
        }
        let normalizer = tokenizer
            .get_normalizer()
            .expect("the spm tokenizer has its normalizer");
        Ok(tokenizer.get_model().ids(&normalizer.normalize_str(text)))
    }

    /// Ids of each text through `TokenizerImpl::encode_batch_fast`, whatever the format.
    pub fn encode_batch_stock(&self, texts: &[String]) -> Result<Vec<Vec<u32>>, String> {
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings = match &self.backend {
            Backend::Spm(t) => t.encode_batch_fast(inputs, false),
            Backend::Json(t) => t.encode_batch_fast(inputs, false),
        };
        let encodings = encodings.map_err(|e| format!("tokenizing a batch: {e}"))?;
        Ok(encodings
            .into_iter()
            .map(|e| e.get_ids().to_vec())
            .collect())
    }

    fn check_specials(&self) -> Result<(), String> {
        for (expected, token) in FAIRSEQ_SPECIALS.iter().enumerate() {
            let found = self.token_to_id(token);
            if found != Some(expected as u32) {
                return Err(format!(
                    "`{}` maps `{token}` to {found:?}, the pipeline needs <s>=0 <pad>=1 </s>=2 <unk>=3: \
                     train one with the `tokenizer_train` stage or give the SentencePiece model file",
                    self.path.display()
                ));
            }
        }
        Ok(())
    }
}

fn read_head(file: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(file)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| format!("cannot read tokenizer file `{}`: {e}", file.display()))?;
    Ok(head)
}

fn load_json(file: &Path) -> Result<Tokenizer, String> {
    let mut tokenizer = Tokenizer::from_file(file)
        .map_err(|e| format!("`{}` is not a valid tokenizer.json: {e}", file.display()))?;
    tokenizer.with_truncation(None).map_err(|e| e.to_string())?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

/// The tokenizer file inside a folder: `tokenizer.json`, else the single `*.spm` / `*.model`.
fn find_in_folder(dir: &Path) -> Result<PathBuf, String> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        return Ok(json);
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list `{}`: {e}", dir.display()))?;
    let mut models: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "spm" || x == "model"))
        .collect();
    models.sort();
    match models.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(format!(
            "`{}` holds no tokenizer.json, *.spm or *.model file",
            dir.display()
        )),
        many => Err(format!(
            "`{}` holds several model files ({many:?}): bind the input to one",
            dir.display()
        )),
    }
}
