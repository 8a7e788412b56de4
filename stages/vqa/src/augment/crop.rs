//! The geometric half of the augmentation: timm's random resized crop (window drawing and the
//! bicubic resize back to size) and the horizontal flip.

use pipeline_api::rng::Rng;
use pipeline_formats::resize::resize_rgb;

use super::CHANNELS;

/// Area fraction range of the random crop.
const CROP_SCALE: (f64, f64) = (0.5, 1.0);
/// Aspect ratio (width / height) range of the random crop.
const CROP_RATIO: (f64, f64) = (3.0 / 4.0, 4.0 / 3.0);
/// Attempts at a fitting crop window before the central fallback.
const CROP_ATTEMPTS: usize = 10;

/// A crop window: first row, first column, height and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) top: usize,
    pub(super) left: usize,
    pub(super) height: usize,
    pub(super) width: usize,
}

/// timm's `RandomResizedCropAndInterpolation.get_params` for a `width x height` image.
pub(super) fn crop_window(width: usize, height: usize, rng: &mut Rng) -> Window {
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
pub(super) fn random_resized_crop(hwc: &[u8], size: usize, rng: &mut Rng) -> Vec<u8> {
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
pub(super) fn flip_horizontal(image: &mut [u8], size: usize) {
    for row in image.chunks_exact_mut(size * CHANNELS) {
        for x in 0..size / 2 {
            let mirror = size - 1 - x;
            for c in 0..CHANNELS {
                row.swap(x * CHANNELS + c, mirror * CHANNELS + c);
            }
        }
    }
}
