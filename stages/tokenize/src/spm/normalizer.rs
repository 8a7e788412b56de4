//! SentencePiece's normalizer, exactly: longest-match rewriting through the precompiled charsmap,
//! then the whitespace rules of `normalizer_spec` (drop leading spaces, dummy `▁` prefix, collapse
//! space runs, escape `' '` as `▁`, drop trailing spaces).
//!
//! Why not the stock `tokenizers` `Precompiled` + `Strip` + `Replace` + `Metaspace`: `Precompiled`
//! rewrites per grapheme (shortest match, the rest of a short grapheme dropped; long graphemes char
//! by char), so `ｅ\u{301}`, decomposed Hangul and `ﾊﾞ` come out differently, and `Strip` removes
//! U+0085, which spm keeps (as `<unk>`). This normalizer follows `normalizer.cc` instead and keeps
//! the alignments of `NormalizedString` so offsets stay right.

use tokenizers::tokenizer::{NormalizedString, Normalizer, Result};

use super::charsmap::Charsmap;
use super::proto::NormalizerSpec;

/// The whitespace symbol spm uses in pieces.
pub const SPACE: char = '\u{2581}';

/// A `tokenizers` normalizer that reproduces spm's.
#[derive(Debug, Clone)]
pub struct SpmNormalizer {
    charsmap: Option<Charsmap>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
    /// `trainer_spec.treat_whitespace_as_suffix`: the dummy `▁` goes at the end.
    whitespace_as_suffix: bool,
}

/// Normalized text, with for each output char how many input chars it stands for (0: inserted).
#[derive(Default)]
struct Output {
    text: String,
    takes: Vec<usize>,
    /// Input chars dropped before the first output char.
    skipped_front: usize,
}

impl Output {
    fn push(&mut self, c: char, take: usize) {
        self.text.push(c);
        self.takes.push(take);
    }

    /// Input chars that produce no output: charged to the last output char.
    fn absorb(&mut self, chars: usize) {
        match self.takes.last_mut() {
            Some(take) => *take += chars,
            None => self.skipped_front += chars,
        }
    }

    fn pop(&mut self) {
        self.text.pop();
        let take = self.takes.pop().unwrap_or(0);
        self.absorb(take);
    }
}

impl SpmNormalizer {
    /// From the model's normalizer spec; an empty charsmap means identity rewriting.
    pub fn new(
        spec: &NormalizerSpec,
        whitespace_as_suffix: bool,
    ) -> std::result::Result<Self, String> {
        let charsmap = if spec.precompiled_charsmap.is_empty() {
            None
        } else {
            Some(Charsmap::parse(&spec.precompiled_charsmap)?)
        };
        Ok(Self {
            charsmap,
            add_dummy_prefix: spec.add_dummy_prefix,
            remove_extra_whitespaces: spec.remove_extra_whitespaces,
            escape_whitespaces: spec.escape_whitespaces,
            whitespace_as_suffix,
        })
    }

    /// spm's normalized form of `input` (what `Normalizer::normalize` makes of it).
    pub fn normalize_str(&self, input: &str) -> String {
        self.run(input).text
    }

    /// spm `NormalizePrefix`: the rewrite of the longest charsmap key at the start of `input`, or
    /// its first char unchanged; and the number of bytes consumed.
    fn prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        if let Some(map) = &self.charsmap
            && let Some((len, replacement)) = map.longest_prefix(input.as_bytes())
            && input.is_char_boundary(len)
        {
            return (replacement, len);
        }
        let len = input.chars().next().map_or(0, char::len_utf8);
        (&input[..len], len)
    }

    fn space(&self) -> char {
        if self.escape_whitespaces { SPACE } else { ' ' }
    }

    fn run(&self, input: &str) -> Output {
        let mut out = Output::default();
        let mut rest = self.skip_leading_spaces(input, &mut out);
        if rest.is_empty() {
            return out;
        }
        if self.add_dummy_prefix && !self.whitespace_as_suffix {
            out.push(self.space(), 0);
        }
        let mut prev_space = self.remove_extra_whitespaces;
        while !rest.is_empty() {
            let (mut piece, len) = self.prefix(rest);
            let consumed = rest[..len].chars().count();
            if prev_space {
                piece = piece.trim_start_matches(' ');
            }
            if piece.is_empty() {
                out.absorb(consumed);
            } else {
                for (index, c) in piece.chars().enumerate() {
                    let c = if c == ' ' { self.space() } else { c };
                    out.push(c, if index == 0 { consumed } else { 0 });
                }
                prev_space = piece.ends_with(' ');
            }
            if !self.remove_extra_whitespaces {
                prev_space = false;
            }
            rest = &rest[len..];
        }
        if self.remove_extra_whitespaces {
            while out.text.ends_with(self.space()) {
                out.pop();
            }
        }
        if self.add_dummy_prefix && self.whitespace_as_suffix {
            out.push(self.space(), 0);
        }
        out
    }

    /// Drops the leading input whose rewrite is exactly one space (when extra spaces are removed).
    fn skip_leading_spaces<'a>(&self, input: &'a str, out: &mut Output) -> &'a str {
        let mut rest = input;
        while self.remove_extra_whitespaces && !rest.is_empty() {
            let (piece, len) = self.prefix(rest);
            if piece != " " {
                break;
            }
            out.skipped_front += rest[..len].chars().count();
            rest = &rest[len..];
        }
        rest
    }
}

impl Normalizer for SpmNormalizer {
    fn normalize(&self, normalized: &mut NormalizedString) -> Result<()> {
        let out = self.run(normalized.get());
        if out.text == normalized.get() {
            return Ok(());
        }
        let changes = out.text.chars().zip(out.takes).map(|(c, take)| {
            let change = if take == 0 { 1 } else { 1 - take as isize };
            (c, change)
        });
        normalized.transform(changes, out.skipped_front);
        Ok(())
    }
}
