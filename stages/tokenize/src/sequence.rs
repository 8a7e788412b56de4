//! One model input: `[bos] + ids + [eos]`, at most `max_len - 2` ids kept, padded with `<pad>` to
//! `max_len`, and the padding mask (1 where padded), as BEiT-3's `_get_text_segment` builds them.

use crate::text_tokenizer::{BOS, EOS, PAD};

/// A fixed-length token sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    pub ids: Vec<i32>,
    pub padding_mask: Vec<i32>,
    /// Whether ids were dropped to fit.
    pub truncated: bool,
}

/// Packs `ids` into `max_len` positions (`max_len` >= 3, checked by the stage's parameters).
pub fn pack(ids: &[u32], max_len: usize) -> Packed {
    let keep = ids.len().min(max_len - 2);
    let mut out = Vec::with_capacity(max_len);
    out.push(BOS as i32);
    out.extend(ids[..keep].iter().map(|&id| id as i32));
    out.push(EOS as i32);
    let used = out.len();
    out.resize(max_len, PAD as i32);
    let mut padding_mask = vec![0; used];
    padding_mask.resize(max_len, 1);
    Packed {
        ids: out,
        padding_mask,
        truncated: keep < ids.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_short_sequences() {
        let packed = pack(&[10, 11], 6);
        assert_eq!(packed.ids, vec![0, 10, 11, 2, 1, 1]);
        assert_eq!(packed.padding_mask, vec![0, 0, 0, 0, 1, 1]);
        assert!(!packed.truncated);
    }

    #[test]
    fn fills_exactly() {
        let packed = pack(&[10, 11, 12, 13], 6);
        assert_eq!(packed.ids, vec![0, 10, 11, 12, 13, 2]);
        assert_eq!(packed.padding_mask, vec![0; 6]);
        assert!(!packed.truncated);
    }

    #[test]
    fn truncates_to_max_len_minus_two() {
        let packed = pack(&[10, 11, 12, 13, 14], 6);
        assert_eq!(packed.ids, vec![0, 10, 11, 12, 13, 2]);
        assert_eq!(packed.padding_mask, vec![0; 6]);
        assert!(packed.truncated);
    }
}
