//! Training-time augmentation of one packed image for BEiT-3 fine-tuning.
//!
//! The reference is microsoft/unilm `beit3/datasets.py` (`build_transform` for training) with the
//! BLIP-style `RandomAugment` of `beit3/randaug.py`. For each training sample it runs:
//!
//! 1. timm `RandomResizedCropAndInterpolation(S, scale=(0.5, 1.0), ratio=(3/4, 4/3), bicubic)`:
//!    up to 10 attempts draw an area fraction in `[0.5, 1)` and a log-uniform aspect ratio, round
//!    the window to whole pixels (Python's ties-to-even `round`) and keep the first that fits,
//!    at a uniform position; otherwise a central crop with the ratio clamped to the range (the
//!    whole image for a square). The window is resized back to `S x S` with PIL bicubic.
//! 2. `RandomHorizontalFlip(p = 0.5)`.
//! 3. `RandomAugment(N = 2, M = 7)`: two ops drawn uniformly with replacement from Identity,
//!    AutoContrast, Equalize, Brightness, Sharpness, ShearX, ShearY, TranslateX, TranslateY and
//!    Rotate, each then applied with probability 0.5, at magnitude 7 of `MAX_LEVEL` 10:
//!    enhancement factor 1.36, shear 0.21, translation 7 px, rotation 21 degrees, the last three
//!    with a random sign; geometric ops are cv2 `warpAffine` (bilinear, constant border 128).
//!
//! Here the same steps run on the packed `size x size` RGB image, with every draw taken from
//! [`Rng`], so a seed fixes the output on every machine. Where we differ from the reference:
//!
//! - The crop is taken from the packed image, already resized to the model's input, not from the
//!   decoded original; its window is therefore upsampled from fewer pixels (a little softer).
//! - The draws come from SplitMix64 in our own order (crop, flip, both op choices, then per op
//!   its 0.5 gate and its sign), not from Python's `random`, NumPy and torch generators; the
//!   distributions are the same.
//! - Translation is proportional to the size, `round(7 * size / 224)` px and at least 1, rather
//!   than 7 px at every size, so it stays visible at small demo sizes.
//! - Lookup-table ops (AutoContrast, Brightness, Sharpness) use exact integer arithmetic with the
//!   reference's truncation: the reference's float tables can land just below a level (its
//!   AutoContrast maps the top of `[50, 100]` to 254); ours give the exact floor (255).
//! - Sharpness clamps to `0..=255` where the reference's `astype(uint8)` would wrap.
//! - The bilinear warp samples in `f64` and rounds half up; cv2 quantises coordinates to 1/32 px
//!   and weights to 15 bits, so single pixels can differ by a level. Like cv2's constant border,
//!   samples straddling the edge blend with the fill colour. Rotation is about `(S/2, S/2)`, the
//!   centre cv2's `getRotationMatrix2D` is given in the reference.

use pipeline_api::rng::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crop::{flip_horizontal, random_resized_crop};
use rand_augment::rand_augment;

mod crop;
mod rand_augment;
#[cfg(test)]
mod tests;

/// Channels per pixel.
const CHANNELS: usize = 3;

/// Which training-time augmentations run, in the reference's order: crop, flip, RandAugment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AugmentConfig {
    /// Random resized crop (scale 0.5..1 of the area, aspect ratio 3/4..4/3, then bicubic back to size).
    #[serde(default = "yes")]
    pub crop: bool,
    /// Horizontal flip with probability 0.5.
    #[serde(default = "yes")]
    pub flip: bool,
    /// RandAugment: 2 ops with replacement, each applied with p = 0.5, magnitude 7 of 10.
    #[serde(default = "yes")]
    pub randaug: bool,
}

/// Serde default of every switch: on.
fn yes() -> bool {
    true
}

impl Default for AugmentConfig {
    /// Everything on, as the reference trains.
    fn default() -> Self {
        Self {
            crop: true,
            flip: true,
            randaug: true,
        }
    }
}

impl AugmentConfig {
    /// Augments one packed RGB image (`size x size x 3` bytes, HWC) into a new buffer of the same
    /// size; every random choice is drawn from `rng`, so the same generator state gives the same
    /// bytes. With everything off it returns a copy of the input.
    pub fn apply(&self, hwc: &[u8], size: usize, rng: &mut Rng) -> Vec<u8> {
        assert_eq!(
            hwc.len(),
            size * size * CHANNELS,
            "image buffer does not match its size"
        );
        if size == 0 {
            return Vec::new();
        }
        let mut image = if self.crop {
            random_resized_crop(hwc, size, rng)
        } else {
            hwc.to_vec()
        };
        if self.flip && rng.chance(0.5) {
            flip_horizontal(&mut image, size);
        }
        if self.randaug {
            rand_augment(&mut image, size, rng);
        }
        image
    }
}
