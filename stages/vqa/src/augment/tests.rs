//! Augmentation against hand-built images: determinism per seed, each step alone, each op.

use super::crop::crop_window;
use super::rand_augment::*;
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
        .filter(|&seed| only(false, false, true).apply(&input, size, &mut Rng::new(seed)) != input)
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
