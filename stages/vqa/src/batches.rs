//! Turning rows of a split into model inputs: images from the packed file (augmented for
//! training), normalised to [-1, 1] in CHW order; token ids and padding flags cut to the longest
//! question of the batch, then padded so the whole sequence is a multiple of `pad_to_multiple`.
//! Batches are made on a worker thread while the model runs.

use std::sync::mpsc::sync_channel;

use crate::augment::AugmentConfig;
use beit3::Beit3Config;
use pipeline_api::StageError;
use pipeline_api::rng::Rng;
use pipeline_formats::PackedImages;
use rayon::prelude::*;

use crate::tokenized_split::TokenizedSplit;

/// One batch on the host, ready to become tensors.
#[derive(Debug, Clone)]
pub struct HostBatch {
    /// The split rows in this batch.
    pub rows: Vec<usize>,
    /// Image side in pixels.
    pub size: usize,
    /// `rows · 3 · size · size` values in [-1, 1].
    pub images: Vec<f32>,
    /// Sequences per question (4 for `choice`, 1 for `joint`).
    pub sequences: usize,
    /// Tokens per sequence: the longest unpadded sequence of the batch, padded so that the whole
    /// sequence (vision tokens included) is a multiple of [`BatchMaker::pad_to_multiple`]'s value.
    pub len: usize,
    /// `rows · sequences · len` token ids.
    pub tokens: Vec<i32>,
    /// Same shape: `true` where the token is padding.
    pub padding: Vec<bool>,
    /// The answers, when the split is labelled.
    pub labels: Option<Vec<i64>>,
}

/// How images are fed to the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageMode {
    /// As packed.
    Plain,
    /// Augmented with this configuration, from a seed per (epoch, row).
    Augmented(AugmentConfig),
    /// Every image replaced by mid-grey: the text-only control.
    Blank,
}

/// Makes batches of one split.
pub struct BatchMaker<'a> {
    examples: &'a TokenizedSplit,
    images: &'a PackedImages,
    /// Packed row of each example's image.
    image_rows: Vec<usize>,
    mode: ImageMode,
    seed: u64,
    /// The whole sequence's length is a multiple of this (1: text cut to the longest question).
    multiple: usize,
    /// CLS + image patches, ahead of the text in the model's sequence.
    vision_tokens: usize,
}

/// The id of `<pad>` (XLM-R's layout, which the `tokenize` stage writes).
pub const PAD_ID: i32 = 1;

impl<'a> BatchMaker<'a> {
    /// Checks that every example's image is packed and that the images have the model's size.
    pub fn new(
        examples: &'a TokenizedSplit,
        images: &'a PackedImages,
        image_size: usize,
        mode: ImageMode,
        seed: u64,
    ) -> Result<Self, StageError> {
        if images.size() as usize != image_size {
            return Err(StageError::failed(format!(
                "the images are packed at {0}x{0} px but the model takes {image_size}x{image_size}: \
                 set the `images` stage's `size` to {image_size}",
                images.size()
            )));
        }
        let image_rows = examples
            .img_paths
            .iter()
            .enumerate()
            .map(|(row, path)| {
                images.row_of(path).ok_or_else(|| {
                    StageError::failed(format!(
                        "`{}` row {} (ID {}): image `{path}` is not in the packed images; \
                         bind the `images` stage that read this split's tables",
                        examples.path.display(),
                        row + 1,
                        examples.ids[row]
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            examples,
            images,
            image_rows,
            mode,
            seed,
            multiple: 1,
            vision_tokens: 0,
        })
    }

    /// Pads each batch's text with `<pad>` tokens (flagged as padding, so attention ignores them)
    /// until 1 CLS + image patches + text tokens is a multiple of `multiple`. Fails, naming the
    /// parameter, when the longest question of the split, padded, would not fit the model's text
    /// position table.
    pub fn pad_to_multiple(
        mut self,
        multiple: usize,
        encoder: &Beit3Config,
    ) -> Result<Self, StageError> {
        self.multiple = multiple.max(1);
        self.vision_tokens = encoder.vision_tokens();
        let longest = self.padded_len(self.examples.max_len);
        if longest > encoder.max_text_len() {
            return Err(StageError::failed(format!(
                "pad_to_multiple = {multiple} pads the text of `{}` ({} tokens at most) to {longest} \
                 tokens ({} vision + {longest} text = {}), but the model's text position table \
                 allows {}: lower `pad_to_multiple` or raise the model's `max_text_positions`",
                self.examples.path.display(),
                self.examples.max_len,
                self.vision_tokens,
                self.vision_tokens + longest,
                encoder.max_text_len()
            )));
        }
        Ok(self)
    }

    /// Text tokens making the whole sequence of `len` text tokens a multiple of `self.multiple`.
    fn padded_len(&self, len: usize) -> usize {
        (self.vision_tokens + len).next_multiple_of(self.multiple) - self.vision_tokens
    }

    /// The batch of `rows`; `epoch` varies the augmentation.
    pub fn make(&self, rows: &[usize], epoch: u64) -> HostBatch {
        let size = self.images.size() as usize;
        let plane = 3 * size * size;
        let mut images = vec![0f32; rows.len() * plane];
        images
            .par_chunks_mut(plane)
            .zip(rows.par_iter())
            .for_each(|(out, &row)| self.image_into(row, epoch, size, out));
        let (tokens, padding, len) = self.text(rows);
        let labels = self
            .examples
            .labels
            .as_ref()
            .map(|labels| rows.iter().map(|&r| labels[r] as i64).collect());
        HostBatch {
            rows: rows.to_vec(),
            size,
            images,
            sequences: self.examples.sequences,
            len,
            tokens,
            padding,
            labels,
        }
    }

    fn image_into(&self, row: usize, epoch: u64, size: usize, out: &mut [f32]) {
        let pixels = self.images.row(self.image_rows[row]);
        let augmented;
        let hwc = match self.mode {
            ImageMode::Blank => {
                out.fill(0.0);
                return;
            }
            ImageMode::Plain => pixels,
            ImageMode::Augmented(config) => {
                let mut rng =
                    Rng::for_item(self.seed ^ epoch.wrapping_mul(0x9E37_79B9), row as u64);
                augmented = config.apply(pixels, size, &mut rng);
                &augmented
            }
        };
        let area = size * size;
        for (i, rgb) in hwc.chunks_exact(3).enumerate() {
            for c in 0..3 {
                // ToTensor then Normalize(0.5, 0.5): v / 255 · 2 − 1.
                out[c * area + i] = rgb[c] as f32 / 127.5 - 1.0;
            }
        }
    }

    /// Token ids and padding of `rows`, cut to the longest unpadded sequence among them, then
    /// padded to the multiple.
    fn text(&self, rows: &[usize]) -> (Vec<i32>, Vec<bool>, usize) {
        let (seqs, max_len) = (self.examples.sequences, self.examples.max_len);
        let longest = rows
            .iter()
            .flat_map(|&r| self.examples.padding_of(r).chunks_exact(max_len))
            .map(|pad| pad.iter().rposition(|&p| p == 0).map_or(1, |last| last + 1))
            .max()
            .unwrap_or(1);
        let len = self.padded_len(longest);
        // Beyond `longest` every row is padding: taken from the split, then added.
        let (kept, added) = (len.min(max_len), len.saturating_sub(max_len));
        let mut tokens = Vec::with_capacity(rows.len() * seqs * len);
        let mut padding = Vec::with_capacity(rows.len() * seqs * len);
        for &r in rows {
            let ids = self.examples.tokens_of(r).chunks_exact(max_len);
            let pads = self.examples.padding_of(r).chunks_exact(max_len);
            for (ids, pads) in ids.zip(pads) {
                tokens.extend_from_slice(&ids[..kept]);
                tokens.extend(std::iter::repeat_n(PAD_ID, added));
                padding.extend(pads[..kept].iter().map(|&p| p != 0));
                padding.extend(std::iter::repeat_n(true, added));
            }
        }
        (tokens, padding, len)
    }
}

/// The rows `0..n` in batches of `batch_size`, shuffled by (`seed`, `epoch`) when `shuffle`.
pub fn batch_rows(n: usize, batch_size: usize, shuffle: Option<(u64, u64)>) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    if let Some((seed, epoch)) = shuffle {
        Rng::for_item(seed, epoch).shuffle(&mut order);
    }
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}

/// Calls `consume` on each batch of `batches`, made by `maker` on a worker thread one or two
/// batches ahead. `consume` returning an error stops both.
pub fn for_each_batch(
    maker: &BatchMaker<'_>,
    batches: &[Vec<usize>],
    epoch: u64,
    mut consume: impl FnMut(HostBatch) -> Result<(), StageError>,
) -> Result<(), StageError> {
    std::thread::scope(|scope| {
        let (sender, receiver) = sync_channel(2);
        scope.spawn(move || {
            for rows in batches {
                // The receiver is gone when `consume` failed: stop making batches.
                if sender.send(maker.make(rows, epoch)).is_err() {
                    break;
                }
            }
        });
        for batch in receiver {
            consume(batch)?;
        }
        Ok(())
    })
}
