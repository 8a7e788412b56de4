//! BLIP's `RandomAugment(N = 2, M = 7)`: the op list, the draws, and each op on a square RGB
//! image (lookup-table ops in place, geometric ops through a bilinear affine warp).

use pipeline_api::rng::Rng;

use super::CHANNELS;

/// RandAugment magnitude (the reference's `M`).
const MAGNITUDE: f64 = 7.0;
/// RandAugment's top level (`MAX_LEVEL`).
const MAX_LEVEL: f64 = 10.0;
/// Ops drawn per image (`N`).
const OPS_PER_IMAGE: usize = 2;
/// Probability that a drawn op is applied.
const OP_PROBABILITY: f64 = 0.5;
/// Fill colour of pixels that a geometric op maps from outside the image (all three channels).
pub(super) const FILL: u8 = 128;
/// Enhancement factor of Brightness and Sharpness in percent: `(M / 10 * 1.8 + 0.1) * 100`.
pub(super) const ENHANCE_PERCENT: i32 = 136;
/// Shear factor: `0.3 * M / 10`.
pub(super) const SHEAR: f64 = 0.3 * MAGNITUDE / MAX_LEVEL;
/// Rotation in degrees: `30 * M / 10`.
pub(super) const ROTATE_DEGREES: f64 = 30.0 * MAGNITUDE / MAX_LEVEL;
/// Translation in pixels at the reference's 224 px input: `10 * M / 10`.
const TRANSLATE_AT_224: f64 = 10.0 * MAGNITUDE / MAX_LEVEL;

/// One RandAugment op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
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
pub(super) const OPS: [Op; 10] = [
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
pub(super) fn rand_augment(image: &mut Vec<u8>, size: usize, rng: &mut Rng) {
    let ops: [Op; OPS_PER_IMAGE] = std::array::from_fn(|_| OPS[rng.index(OPS.len())]);
    let mut scratch = Vec::new();
    for op in ops {
        if rng.chance(OP_PROBABILITY) {
            apply_op(op, image, &mut scratch, size, rng);
        }
    }
}

/// Applies `op` to `image`; ops that cannot work in place write `scratch` and swap it in.
pub(super) fn apply_op(
    op: Op,
    image: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    size: usize,
    rng: &mut Rng,
) {
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
pub(super) fn signed(level: f64, rng: &mut Rng) -> f64 {
    if rng.chance(0.5) { -level } else { level }
}

/// Translation in pixels at `size`: the reference's 7 px scaled from 224, at least 1.
pub(super) fn translation(size: usize) -> f64 {
    (TRANSLATE_AT_224 * size as f64 / 224.0).round().max(1.0)
}

/// Identity: leaves the image as it is.
pub(super) fn identity(_image: &mut [u8]) {}

/// Maps every channel value through that channel's lookup table.
pub(super) fn apply_luts(image: &mut [u8], luts: &[[u8; 256]; CHANNELS]) {
    for pixel in image.chunks_exact_mut(CHANNELS) {
        for (value, lut) in pixel.iter_mut().zip(luts) {
            *value = lut[usize::from(*value)];
        }
    }
}

/// Per-channel 256-bin histograms.
pub(super) fn histograms(image: &[u8]) -> [[usize; 256]; CHANNELS] {
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
pub(super) fn autocontrast(image: &mut [u8]) {
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
pub(super) fn equalize(image: &mut [u8]) {
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
pub(super) fn brightness(image: &mut [u8], percent: i32) {
    let lut: [u8; 256] = std::array::from_fn(|v| (v as i32 * percent / 100).min(255) as u8);
    apply_luts(image, &[lut; CHANNELS]);
}

/// Sharpness into `out`: blends each interior pixel with its PIL SMOOTH version (kernel
/// `[[1,1,1],[1,5,1],[1,1,1]] / 13`, rounded to a level like cv2's `filter2D`) as
/// `smooth + percent / 100 * (pixel - smooth)`, floored and clamped; border pixels are copied.
pub(super) fn sharpness(src: &[u8], size: usize, percent: i32, out: &mut Vec<u8>) {
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
pub(super) fn shear_x(src: &[u8], size: usize, shear: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, -shear, 0.0, 0.0, 1.0, 0.0], out);
}

/// ShearY as the reference's cv2 forward matrix `[[1, 0, 0], [s, 1, 0]]` about the origin.
pub(super) fn shear_y(src: &[u8], size: usize, shear: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, 0.0, 0.0, -shear, 1.0, 0.0], out);
}

/// TranslateX: output column `x` shows input column `x + offset` (content moves left for a
/// positive offset), as the reference's forward matrix `[[1, 0, -offset], [0, 1, 0]]`.
pub(super) fn translate_x(src: &[u8], size: usize, offset: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, 0.0, offset, 0.0, 1.0, 0.0], out);
}

/// TranslateY: output row `y` shows input row `y + offset`.
pub(super) fn translate_y(src: &[u8], size: usize, offset: f64, out: &mut Vec<u8>) {
    warp_affine(src, size, [1.0, 0.0, 0.0, 0.0, 1.0, offset], out);
}

/// Rotate by `degrees` counter-clockwise (as displayed) about `(size / 2, size / 2)`, the inverse
/// of cv2's `getRotationMatrix2D(centre, degrees, 1)` that the reference warps with.
pub(super) fn rotate(src: &[u8], size: usize, degrees: f64, out: &mut Vec<u8>) {
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
pub(super) fn warp_affine(src: &[u8], size: usize, m: [f64; 6], out: &mut Vec<u8>) {
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
pub(super) fn bilinear(src: &[u8], size: usize, sx: f64, sy: f64) -> [u8; CHANNELS] {
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
