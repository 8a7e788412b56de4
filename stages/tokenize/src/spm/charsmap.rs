//! SentencePiece's precompiled character map: a darts-clone double-array trie whose keys are UTF-8
//! byte sequences and whose values point into a blob of NUL-terminated replacement strings.
//!
//! Layout of `normalizer_spec.precompiled_charsmap`: a u32 LE trie size in bytes, the trie (u32 LE
//! units), then the replacement strings. spm normalizes with the **longest** key that prefixes
//! the remaining input, which is what [`Charsmap::longest_prefix`] returns.

use std::fmt;

/// The parsed character map.
#[derive(Clone)]
pub struct Charsmap {
    units: Vec<u32>,
    /// The replacement strings, NUL-separated (checked to be UTF-8 once, when parsed).
    strings: String,
}

impl fmt::Debug for Charsmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Charsmap({} trie units, {} bytes of replacements)",
            self.units.len(),
            self.strings.len()
        )
    }
}

// darts-clone unit accessors (see darts.h: `DoubleArrayUnit`).
fn has_leaf(unit: u32) -> bool {
    (unit >> 8) & 1 == 1
}

fn value(unit: u32) -> u32 {
    unit & 0x7fff_ffff
}

fn label(unit: u32) -> u32 {
    unit & (0x8000_0000 | 0xff)
}

fn offset(unit: u32) -> usize {
    ((unit >> 10) << ((unit & (1 << 9)) >> 6)) as usize
}

impl Charsmap {
    /// Parses the blob; the error says which part is malformed.
    pub fn parse(blob: &[u8]) -> Result<Self, String> {
        let size_bytes: [u8; 4] = blob
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or("precompiled_charsmap is shorter than its 4-byte header")?;
        let trie_size = u32::from_le_bytes(size_bytes) as usize;
        if !trie_size.is_multiple_of(4) || trie_size == 0 || 4 + trie_size > blob.len() {
            return Err(format!(
                "precompiled_charsmap declares a trie of {trie_size} bytes in a blob of {} bytes",
                blob.len()
            ));
        }
        let units = blob[4..4 + trie_size]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        let strings = String::from_utf8(blob[4 + trie_size..].to_vec())
            .map_err(|_| "precompiled_charsmap replacement strings are not UTF-8".to_string())?;
        Ok(Self { units, strings })
    }

    /// The longest key that prefixes `input`: `(its length in bytes, its replacement)`.
    pub fn longest_prefix(&self, input: &[u8]) -> Option<(usize, &str)> {
        let mut pos = offset(*self.units.first()?);
        let mut best: Option<(usize, u32)> = None;
        for (index, &byte) in input.iter().enumerate() {
            pos ^= byte as usize;
            let Some(&unit) = self.units.get(pos) else {
                break;
            };
            if label(unit) != byte as u32 {
                break;
            }
            pos ^= offset(unit);
            if has_leaf(unit) {
                let Some(&leaf) = self.units.get(pos) else {
                    break;
                };
                best = Some((index + 1, value(leaf)));
            }
        }
        let (length, start) = best?;
        let start = start as usize;
        let tail = self.strings.get(start..)?;
        let end = tail.find('\0').unwrap_or(tail.len());
        Some((length, &tail[..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_malformed_blobs() {
        assert!(Charsmap::parse(&[1, 0]).is_err());
        assert!(Charsmap::parse(&[8, 0, 0, 0, 1, 2, 3, 4]).is_err());
        assert!(Charsmap::parse(&[3, 0, 0, 0, 1, 2, 3, 4]).is_err());
    }

    #[test]
    fn an_empty_trie_matches_nothing() {
        // One unit whose offset is 0 and label 0: every byte walks to unit `byte`, out of range.
        let map = Charsmap::parse(&[4, 0, 0, 0, 0, 0, 0, 0, b'x', 0]).unwrap();
        assert_eq!(map.longest_prefix(b"abc"), None);
    }
}
