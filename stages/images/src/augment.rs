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

use crate::resize::resize_rgb;

/// Channels per pixel.
const CHANNELS: usize = 3;
/// RandAugment magnitude (the reference's `M`).
const MAGNITUDE: f64 = 7.0;
/// RandAugment's top level (`MAX_LEVEL`).
const MAX_LEVEL: f64 = 10.0;
/// Ops drawn per image (`N`).
const OPS_PER_IMAGE: usize = 2;
/// Probability that a drawn op is applied.
const OP_PROBABILITY: f64 = 0.5;
/// Fill colour of pixels that a geometric op maps from outside the image (all three channels).
const FILL: u8 = 128;
/// Area fraction range of the random crop.
const CROP_SCALE: (f64, f64) = (0.5, 1.0);
/// Aspect ratio (width / height) range of the random crop.
const CROP_RATIO: (f64, f64) = (3.0 / 4.0, 4.0 / 3.0);
/// Attempts at a fitting crop window before the central fallback.
const CROP_ATTEMPTS: usize = 10;
/// Enhancement factor of Brightness and Sharpness in percent: `(M / 10 * 1.8 + 0.1) * 100`.
const ENHANCE_PERCENT: i32 = 136;
/// Shear factor: `0.3 * M / 10`.
const SHEAR: f64 = 0.3 * MAGNITUDE / MAX_LEVEL;
/// Rotation in degrees: `30 * M / 10`.
const ROTATE_DEGREES: f64 = 30.0 * MAGNITUDE / MAX_LEVEL;
/// Translation in pixels at the reference's 224 px input: `10 * M / 10`.
const TRANSLATE_AT_224: f64 = 10.0 * MAGNITUDE / MAX_LEVEL;

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

/// A crop window: first row, first column, height and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    top: usize,
    left: usize,
    height: usize,
    width: usize,
}

/// timm's `RandomResizedCropAndInterpolation.get_params` for a `width x height` image.
fn crop_window(width: usize, height: usize, rng: &mut Rng) -> Window {
    let area = (width * height) as f64;
    let log_ratio = (CROP_RATIO.0.ln(), CROP_RATIO.1.ln());
    for _ in 0..CROP_ATTEMPTS {
        let target_area = rng.uniform(CROP_SCALE.0, CROP_SCALE.1) * area;
        let aspect = rng.uniform(log_ratio.0, log_ratio.1).exp();
        let w = (target_area * aspect).sqrt().round_ties_even() as usize;
        let h = (target_area / aspect).sqrt().round_ties_even() as usize;
        if w <= width && h <= height {
            let top = rng.index(height - h + 1);
            let left = rng.index(width - w + 1);
            return Window {
                top,
                left,
                height: h,
                width: w,
            };
        }
    }
    let in_ratio = width as f64 / height as f64;
    let (w, h) = if in_ratio < CROP_RATIO.0 {
        (
            width,
            (width as f64 / CROP_RATIO.0).round_ties_even() as usize,
        )
    } else if in_ratio > CROP_RATIO.1 {
        (
            (height as f64 * CROP_RATIO.1).round_ties_even() as usize,
            height,
        )
    } else {
        (width, height)
    };
    Window {
        top: (height - h) / 2,
        left: (width - w) / 2,
        height: h,
        width: w,
    }
}

/// Random resized crop of a square image, resized back to `size x size` with PIL bicubic.
fn random_resized_crop(hwc: &[u8], size: usize, rng: &mut Rng) -> Vec<u8> {
    let window = crop_window(size, size, rng);
    if window.width == size && window.height == size {
        return hwc.to_vec();
    }
    let row_bytes = window.width * CHANNELS;
    let mut crop = Vec::with_capacity(window.height * row_bytes);
    for row in window.top..window.top + window.height {
        crop.extend_from_slice(&hwc[(row * size + window.left) * CHANNELS..][..row_bytes]);
    }
    resize_rgb(&crop, window.width, window.height, size, size)
}

/// Mirrors the image left to right in place.
fn flip_horizontal(image: &mut [u8], size: usize) {
    for row in image.chunks_exact_mut(size * CHANNELS) {
        for x in 0..size / 2 {
            let mirror = size - 1 - x;
            for c in 0..CHANNELS {
                row.swap(x * CHANNELS + c, mirror * CHANNELS + c);
            }
        }
    }
}

/// One RandAugment op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Identity,
    AutoContrast,
    Equalize,
    Brightness,
    Sharpness,
    ShearX,
    ShearY,
    TranslateX,
    TranslateY,
    Rotate,
}

/// The reference's op list, in its order (the order only matters for which draw picks which op).
const OPS: [Op; 10] = [
    Op::Identity,
    Op::AutoContrast,
    Op::Equalize,
    Op::Brightness,
    Op::Sharpness,
    Op::ShearX,
    Op::ShearY,
    Op::TranslateX,
    Op::TranslateY,
    Op::Rotate,
];

/// BLIP's `RandomAugment.__call__`: draws both ops first, then gates and applies each in turn.
fn rand_augment(image: &mut Vec<u8>, size: usize, rng: &mut Rng) {
    let ops: [Op; OPS_PER_IMAGE] = std::array::from_fn(|_| OPS[rng.index(OPS.len())]);
    let mut scratch = Vec::new();
    for op in ops {
        if rng.chance(OP_PROBABILITY) {
            apply_op(op, image, &mut scratch, size, rng);
        }
    }
}

/// Applies `op` to `image`; ops that cannot work in place write `scratch` and swap it in.
fn apply_op(op: Op, image: &mut Vec<u8>, scratch: &mut Vec<u8>, size: usize, rng: &mut Rng) {
    match op {
        Op::Identity => identity(image),
        Op::AutoContrast => autocontrast(image),
        Op::Equalize => equalize(image),
        Op::Brightness => brightness(image, ENHANCE_PERCENT),
        Op::Sharpness => sharpness(image, size, ENHANCE_PERCENT, scratch),
        Op::ShearX => shear_x(image, size, signed(SHEAR, rng), scratch),
        Op::ShearY => shear_y(image, size, signed(SHEAR, rng), scratch),
        Op::TranslateX => translate_x(image, size, signed(translation(size), rng), scratch),
        Op::TranslateY => translate_y(image, size, signed(translation(size), rng), scratch),
        Op::Rotate => rotate(image, size, signed(ROTATE_DEGREES, rng), scratch),
    }
    if !matches!(
        op,
        Op::Identity | Op::AutoContrast | Op::Equalize | Op::Brightness
    ) {
        std::mem::swap(image, scratch);
    }
}

/// `level`, negated with probability 0.5 (the reference's random sign).
fn signed(level: f64, rng: &mut Rng) -> f64 {
    if rng.chance(0.5) { -level } else { level }
}

/// Translation in pixels at `size`: the reference's 7 px scaled from 224, at least 1.
fn translation(size: usize) -> f64 {
    (TRANSLATE_AT_224 * size as f64 / 224.0).round().max(1.0)
}

/// Identity: leaves the image as it is.
fn identity(_image: &mut [u8]) {}

/// Maps every channel value through that channel's lookup table.
fn apply_luts(image: &mut [u8], luts: &[[u8; 256]; CHANNELS]) {
    for pixel in image.chunks_exact_mut(CHANNELS) {
        for (value, lut) in pixel.iter_mut().zip(luts) {
            *value = lut[usize::from(*value)];
        }
    }
}

/// Per-channel 256-bin histograms.
fn histograms(image: &[u8]) -> [[usize; 256]; CHANNELS] {
    let mut hist = [[0usize; 256]; CHANNELS];
    for pixel in image.chunks_exact(CHANNELS) {
        for (channel, &value) in hist.iter_mut().zip(pixel) {
            channel[usize::from(value)] += 1;
        }
    }
    hist
}

/// AutoContrast (cutoff 0): stretches each channel's `[min, max]` to `[0, 255]`, flooring like
/// the reference's `astype(uint8)`; a channel with one value is left unchanged.
fn autocontrast(image: &mut [u8]) {
    let hist = histograms(image);
    let luts = hist.map(|channel| {
        let mut lut: [u8; 256] = std::array::from_fn(|v| v as u8);
        let low = channel.iter().position(|&n| n > 0);
        let high = channel.iter().rposition(|&n| n > 0);
        if let (Some(low), Some(high)) = (low, high)
            && high > low
        {
            for (v, entry) in lut.iter_mut().enumerate() {
                *entry = ((v.clamp(low, high) - low) * 255 / (high - low)) as u8;
            }
        }
        lut
    });
    apply_luts(image, &luts);
}

/// Equalize as PIL's `ImageOps.equalize` (the reference's `equalize_func`): the table is the
/// cumulative histogram, offset by half a step, over `step = (pixels not at the top value) / 255`;
/// a channel with `step == 0` (e.g. a single value) is left unchanged.
fn equalize(image: &mut [u8]) {
    let hist = histograms(image);
    let luts = hist.map(|channel| {
        let mut lut: [u8; 256] = std::array::from_fn(|v| v as u8);
        let Some(top) = channel.iter().rposition(|&n| n > 0) else {
            return lut;
        };
        let step = (channel.iter().sum::<usize>() - channel[top]) / 255;
        if step > 0 {
            let mut cumulative = step / 2;
            for (entry, &count) in lut.iter_mut().zip(&channel) {
                *entry = (cumulative / step).min(255) as u8;
                cumulative += count;
            }
        }
        lut
    });
    apply_luts(image, &luts);
}

/// Brightness: `floor(value * percent / 100)`, clamped to 255 (BLIP applies the factor as is).
fn brightness(image: &mut [u8], percent: i32) {
    let lut: [u8; 256] = std::array::from_fn(|v| (v as i32 * percent / 100).min(255) as u8);
    apply_luts(image, &[lut; CHANNELS]);
}

/// Sharpness into `out`: blends each interior pixel with its PIL SMOOTH version (kernel
/// `[[1,1,1],[1,5,1],[1,1,1]] / 13`, rounded to a level like cv2's `filter2D`) as
/// `smooth + percent / 100 * (pixel - smooth)`, floored and clamped; border pixels are copied.
fn sharpness(src: &[u8], size: usize, percent: i32, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(src);
    if size < 3 {
        return;
    }
    let stride = size * CHANNELS;
    for y in 1..size - 1 {
        for x in 1..size - 1 {
            for c in 0..CHANNELS {
                let at = y * stride + x * CHANNELS + c;
                let centre = i32::from(src[at]);
                let mut sum = 4 * centre;
                for row in [at - stride, at, at + stride] {
                    sum += i32::from(src[row - CHANNELS])
                        + i32::from(src[row])
                        + i32::from(src[row + CHANNELS]);
                }
                let smooth = (sum + 6) / 13;
                let blended = smooth * 100 + percent * (centre - smooth);
                out[at] = (blended.max(0) / 100).min(255) as u8;
            }
        }
    }
}

/// ShearX as the reference's cv2 forward matrix `[[1, s, 0], [0, 1, 0]]` about the origin.
fn shear_x(src: &[u8], size: usize, shear: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, -shear, 0.0, 0.0, 1.0, 0.0], out);
}

/// ShearY as the reference's cv2 forward matrix `[[1, 0, 0], [s, 1, 0]]` about the origin.
fn shear_y(src: &[u8], size: usize, shear: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, 0.0, 0.0, -shear, 1.0, 0.0], out);
}

/// TranslateX: output column `x` shows input column `x + offset` (content moves left for a
/// positive offset), as the reference's forward matrix `[[1, 0, -offset], [0, 1, 0]]`.
fn translate_x(src: &[u8], size: usize, offset: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, 0.0, offset, 0.0, 1.0, 0.0], out);
}

/// TranslateY: output row `y` shows input row `y + offset`.
fn translate_y(src: &[u8], size: usize, offset: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, 0.0, 0.0, 0.0, 1.0, offset], out);
}

/// Rotate by `degrees` counter-clockwise (as displayed) about `(size / 2, size / 2)`, the inverse
/// of cv2's `getRotationMatrix2D(centre, degrees, 1)` that the reference warps with.
fn rotate(src: &[u8], size: usize, degrees: f64, out: &mut Vec<u8>) {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let centre = size as f64 / 2.0;
    let inverse = [
        cos,
        -sin,
        centre - cos * centre + sin * centre,
        sin,
        cos,
        centre - sin * centre - cos * centre,
    ];
    warp_affine(src, size, inverse, out);
}

/// Warps `src` into `out` by the inverse affine map `m` (output pixel `(x, y)` samples the input
/// at `(m0 x + m1 y + m2, m3 x + m4 y + m5)`), bilinear; taps outside the image read [`FILL`].
fn warp_affine(src: &[u8], size: usize, m: [f64; 6], out: &mut Vec<u8>) {
    out.clear();
    out.resize(src.len(), FILL);
    let limit = size as f64;
    for y in 0..size {
        let (row_x, row_y) = (m[1] * y as f64 + m[2], m[4] * y as f64 + m[5]);
        for x in 0..size {
            let sx = m[0] * x as f64 + row_x;
            let sy = m[3] * x as f64 + row_y;
            if sx > -1.0 && sy > -1.0 && sx < limit && sy < limit {
                let at = (y * size + x) * CHANNELS;
                out[at..at + CHANNELS].copy_from_slice(&bilinear(src, size, sx, sy));
            }
        }
    }
}

/// Bilinear sample of `src` at `(sx, sy)`, rounded half up; taps outside read [`FILL`].
fn bilinear(src: &[u8], size: usize, sx: f64, sy: f64) -> [u8; CHANNELS] {
    let (x0, y0) = (sx.floor(), sy.floor());
    let (fx, fy) = (sx - x0, sy - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    let taps = [
        (x0, y0, (1.0 - fx) * (1.0 - fy)),
        (x0 + 1, y0, fx * (1.0 - fy)),
        (x0, y0 + 1, (1.0 - fx) * fy),
        (x0 + 1, y0 + 1, fx * fy),
    ];
    let mut acc = [0.0f64; CHANNELS];
    for (tx, ty, weight) in taps {
        let inside = (0..size as isize).contains(&tx) && (0..size as isize).contains(&ty);
        for (c, sum) in acc.iter_mut().enumerate() {
            let value = if inside {
                src[(ty as usize * size + tx as usize) * CHANNELS + c]
            } else {
                FILL
            };
            *sum += weight * f64::from(value);
        }
    }
    acc.map(|v| (v + 0.5).floor().clamp(0.0, 255.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `size x size` image whose channels are x, y and x + y ramps (no symmetry).
    fn gradient(size: usize) -> Vec<u8> {
        let span = (size - 1).max(1);
        let mut image = Vec::with_capacity(size * size * CHANNELS);
        for y in 0..size {
            for x in 0..size {
                let ramps = [x * 255 / span, y * 255 / span, (x + y) * 255 / (2 * span)];
                image.extend(ramps.map(|v| v as u8));
            }
        }
        image
    }

    /// A `size x size` image of one colour.
    fn constant(size: usize, rgb: [u8; 3]) -> Vec<u8> {
        rgb.repeat(size * size)
    }

    /// The pixel at `(x, y)`.
    fn pixel(image: &[u8], size: usize, x: usize, y: usize) -> [u8; 3] {
        let at = (y * size + x) * CHANNELS;
        [image[at], image[at + 1], image[at + 2]]
    }

    /// The image mirrored left to right, built independently of `flip_horizontal`.
    fn mirrored(image: &[u8], size: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(image.len());
        for y in 0..size {
            for x in (0..size).rev() {
                out.extend(pixel(image, size, x, y));
            }
        }
        out
    }

    fn only(crop: bool, flip: bool, randaug: bool) -> AugmentConfig {
        AugmentConfig {
            crop,
            flip,
            randaug,
        }
    }

    #[test]
    fn same_seed_same_bytes_other_seeds_differ() {
        let size = 32;
        let input = gradient(size);
        let config = AugmentConfig::default();
        let first = config.apply(&input, size, &mut Rng::new(5));
        assert_eq!(first.len(), input.len());
        assert_eq!(first, config.apply(&input, size, &mut Rng::new(5)));
        let differing = (6..26)
            .filter(|&seed| config.apply(&input, size, &mut Rng::new(seed)) != first)
            .count();
        assert!(differing >= 18, "only {differing} of 20 seeds differ");
    }

    #[test]
    fn everything_off_returns_the_input() {
        let size = 16;
        let input = gradient(size);
        for seed in 0..10 {
            let out = only(false, false, false).apply(&input, size, &mut Rng::new(seed));
            assert_eq!(out, input);
        }
    }

    #[test]
    fn config_defaults_to_all_on_and_rejects_unknown_fields() {
        let parsed: AugmentConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, AugmentConfig::default());
        assert_eq!(parsed, only(true, true, true));
        let parsed: AugmentConfig = serde_json::from_str(r#"{"flip": false}"#).unwrap();
        assert_eq!(parsed, only(true, false, true));
        assert!(serde_json::from_str::<AugmentConfig>(r#"{"flipp": false}"#).is_err());
    }

    #[test]
    fn flip_alone_gives_the_input_or_its_mirror_and_both_happen() {
        let size = 9;
        let input = gradient(size);
        let mirror = mirrored(&input, size);
        assert_ne!(input, mirror);
        let (mut kept, mut flipped) = (0, 0);
        for seed in 0..64 {
            let out = only(false, true, false).apply(&input, size, &mut Rng::new(seed));
            if out == input {
                kept += 1;
            } else {
                assert_eq!(out, mirror, "seed {seed}");
                flipped += 1;
            }
        }
        assert!(
            kept >= 16 && flipped >= 16,
            "kept {kept}, flipped {flipped}"
        );
    }

    #[test]
    fn crop_alone_changes_a_gradient_for_most_seeds() {
        let size = 24;
        let input = gradient(size);
        let mut changed = 0;
        for seed in 0..50 {
            let out = only(true, false, false).apply(&input, size, &mut Rng::new(seed));
            assert_eq!(out.len(), input.len());
            changed += usize::from(out != input);
        }
        assert!(
            changed >= 40,
            "only {changed} of 50 crops changed the image"
        );
    }

    #[test]
    fn crop_of_a_constant_image_is_that_constant() {
        let size = 20;
        let input = constant(size, [17, 130, 244]);
        for seed in 0..30 {
            let out = only(true, false, false).apply(&input, size, &mut Rng::new(seed));
            assert_eq!(out, input, "seed {seed}");
        }
    }

    #[test]
    fn crop_windows_fit_and_cover_half_the_area_or_more() {
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let w = crop_window(40, 40, &mut rng);
            assert!(w.top + w.height <= 40 && w.left + w.width <= 40, "{w:?}");
            // Rounding each side can lose a little under half the area at most.
            assert!(w.width * w.height >= 700, "{w:?}");
            let ratio = w.width as f64 / w.height as f64;
            assert!((0.7..1.43).contains(&ratio), "{w:?}");
        }
    }

    #[test]
    fn randaug_alone_sometimes_changes_the_image_and_sometimes_not() {
        let size = 16;
        let input = gradient(size);
        let changed = (0..200)
            .filter(|&seed| {
                only(false, false, true).apply(&input, size, &mut Rng::new(seed)) != input
            })
            .count();
        // Both ops are no-ops with probability 0.55^2 ~ 0.3.
        assert!((90..190).contains(&changed), "{changed} of 200 changed");
    }

    #[test]
    fn identity_leaves_the_image() {
        let input = gradient(8);
        let mut image = input.clone();
        identity(&mut image);
        assert_eq!(image, input);
    }

    #[test]
    fn autocontrast_stretches_50_to_100_over_the_full_range() {
        let size = 8;
        // Every channel takes each of 50..=100 (pixel p has 50 + p % 51 in all three).
        let mut image: Vec<u8> = (0..size * size)
            .flat_map(|p| [50 + (p % 51) as u8; 3])
            .collect();
        assert_eq!(image.iter().min(), Some(&50));
        assert_eq!(image.iter().max(), Some(&100));
        autocontrast(&mut image);
        for c in 0..CHANNELS {
            let channel: Vec<u8> = image.iter().skip(c).step_by(CHANNELS).copied().collect();
            assert_eq!(channel.iter().min(), Some(&0), "channel {c}");
            assert_eq!(channel.iter().max(), Some(&255), "channel {c}");
        }
        // Pixel 25 had 75, the middle: 25 * 255 / 50 = 127.5, floored.
        assert_eq!(pixel(&image, size, 1, 3), [127; 3]);
        let mut flat = constant(size, [9, 9, 9]);
        autocontrast(&mut flat);
        assert_eq!(flat, constant(size, [9, 9, 9]));
    }

    #[test]
    fn equalize_keeps_a_constant_image_and_spreads_a_narrow_one() {
        let size = 32;
        let mut flat = constant(size, [40, 90, 200]);
        equalize(&mut flat);
        assert_eq!(flat, constant(size, [40, 90, 200]));
        // Four values 100..=103 in equal parts spread towards the full range.
        let mut narrow: Vec<u8> = (0..size * size * CHANNELS)
            .map(|i| 100 + (i / CHANNELS % 4) as u8)
            .collect();
        equalize(&mut narrow);
        assert_eq!(narrow.iter().min(), Some(&0));
        assert!(*narrow.iter().max().unwrap() >= 190, "{:?}", &narrow[..12]);
    }

    #[test]
    fn brightness_scales_by_1_36_and_clamps() {
        let mut image = [100, 0, 200, 50].repeat(3);
        brightness(&mut image, ENHANCE_PERCENT);
        assert_eq!(image, [136, 0, 255, 68].repeat(3));
    }

    #[test]
    fn sharpness_keeps_a_constant_image_and_boosts_an_edge() {
        let size = 10;
        let flat = constant(size, [3, 128, 250]);
        let mut out = Vec::new();
        sharpness(&flat, size, ENHANCE_PERCENT, &mut out);
        assert_eq!(out, flat);
        // A vertical edge 60 | 180: the dark side gets darker, the bright side brighter.
        let edge: Vec<u8> = (0..size * size)
            .flat_map(|i| [if i % size < 5 { 60 } else { 180 }; 3])
            .collect();
        sharpness(&edge, size, ENHANCE_PERCENT, &mut out);
        assert!(pixel(&out, size, 4, 5)[0] < 60);
        assert!(pixel(&out, size, 5, 5)[0] > 180);
        assert_eq!(pixel(&out, size, 1, 5), [60; 3]);
        assert_eq!(pixel(&out, size, 4, 0), [60; 3], "border row unchanged");
    }

    #[test]
    fn translate_fills_only_the_uncovered_strip() {
        let size = 16;
        let colour = [10, 200, 77];
        let input = constant(size, colour);
        let mut out = Vec::new();
        for offset in [3.0, -3.0] {
            translate_x(&input, size, offset, &mut out);
            for y in 0..size {
                for x in 0..size {
                    let filled = if offset > 0.0 { x >= size - 3 } else { x < 3 };
                    let want = if filled { [FILL; 3] } else { colour };
                    assert_eq!(pixel(&out, size, x, y), want, "x {offset} at {x},{y}");
                }
            }
            translate_y(&input, size, offset, &mut out);
            for y in 0..size {
                for x in 0..size {
                    let filled = if offset > 0.0 { y >= size - 3 } else { y < 3 };
                    let want = if filled { [FILL; 3] } else { colour };
                    assert_eq!(pixel(&out, size, x, y), want, "y {offset} at {x},{y}");
                }
            }
        }
        assert_eq!(translation(224), 7.0);
        assert_eq!(translation(480), 15.0);
        assert_eq!(translation(16), 1.0);
    }

    #[test]
    fn translate_moves_content_left_for_a_positive_offset() {
        let size = 12;
        let input = gradient(size);
        let mut out = Vec::new();
        translate_x(&input, size, 2.0, &mut out);
        assert_eq!(pixel(&out, size, 0, 4), pixel(&input, size, 2, 4));
        assert_eq!(pixel(&out, size, 9, 7), pixel(&input, size, 11, 7));
    }

    #[test]
    fn zero_rotation_and_zero_shear_are_identities() {
        let size = 13;
        let input = gradient(size);
        let mut out = Vec::new();
        rotate(&input, size, 0.0, &mut out);
        assert_eq!(out, input);
        shear_x(&input, size, 0.0, &mut out);
        assert_eq!(out, input);
        shear_y(&input, size, 0.0, &mut out);
        assert_eq!(out, input);
    }

    #[test]
    fn rotate_90_turns_the_image_about_size_over_2() {
        let size = 8;
        let input = gradient(size);
        let mut out = Vec::new();
        rotate(&input, size, 90.0, &mut out);
        // cv2's +90 degrees about (4, 4): output (x, y) reads input (8 - y, x); row 0 reads column 8.
        for y in 0..size {
            for x in 0..size {
                let want = if y == 0 {
                    [FILL; 3]
                } else {
                    pixel(&input, size, size - y, x)
                };
                assert_eq!(pixel(&out, size, x, y), want, "at {x},{y}");
            }
        }
    }

    #[test]
    fn shear_x_shifts_rows_by_their_distance_from_the_top() {
        let size = 10;
        let input = gradient(size);
        let mut out = Vec::new();
        shear_x(&input, size, 0.5, &mut out);
        // Forward x' = x + 0.5 y: row 4 moves right by 2 and its first two pixels are fill.
        assert_eq!(&out[..size * CHANNELS], &input[..size * CHANNELS]);
        assert_eq!(pixel(&out, size, 0, 4), [FILL; 3]);
        assert_eq!(pixel(&out, size, 1, 4), [FILL; 3]);
        for x in 2..size {
            assert_eq!(pixel(&out, size, x, 4), pixel(&input, size, x - 2, 4));
        }
        // Row 1 moves by half a pixel: the average of neighbours, rounded half up.
        let (a, b) = (pixel(&input, size, 2, 1), pixel(&input, size, 3, 1));
        let want: Vec<u8> = (0..3)
            .map(|c| (u16::from(a[c]) + u16::from(b[c])).div_ceil(2) as u8)
            .collect();
        assert_eq!(pixel(&out, size, 3, 1).to_vec(), want);
    }

    #[test]
    fn warps_keep_a_constant_interior_and_fill_the_corners() {
        let size = 40;
        let colour = [30, 60, 90];
        let input = constant(size, colour);
        let mut out = Vec::new();
        rotate(&input, size, ROTATE_DEGREES, &mut out);
        assert_eq!(pixel(&out, size, 20, 20), colour);
        assert_eq!(pixel(&out, size, 0, 0), [FILL; 3]);
        shear_y(&input, size, -SHEAR, &mut out);
        assert_eq!(pixel(&out, size, 10, 10), colour);
        assert_eq!(pixel(&out, size, size - 1, size - 1), [FILL; 3]);
    }

    #[test]
    fn works_at_training_size() {
        let size = 480;
        let input = gradient(size);
        let out = AugmentConfig::default().apply(&input, size, &mut Rng::for_item(1, 2));
        assert_eq!(out.len(), input.len());
    }
}
