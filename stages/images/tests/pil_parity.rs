//! Parity with PIL: the committed fixture (tests/fixtures, made by make_fixtures.py with the
//! Pillow version in expected.json) holds PIL's `convert('RGB').resize((S, S), BICUBIC)` of each
//! input. Our resampler must reproduce PIL's bytes exactly from PIL's decoded pixels; end to end,
//! only the JPEG decoder differs (libjpeg-turbo vs zune-jpeg), within the bound measured below.

mod common;

use common::fixtures;
use pipeline_formats::resize::resize_rgb;
use pipeline_stages_images::{decode_rgb, load_resized};

/// Largest end-to-end difference allowed for a JPEG input, in u8 levels: all of it comes from the
/// decoder (zune-jpeg's IDCT and chroma upsampling vs libjpeg-turbo's). Measured on this fixture:
/// max 4 (wide.jpg at 64), per-image means 0.007 to 0.434. On 200 Visual7W-sized photo-like
/// JPEGs at 480 (benches/images): max 5, mean 0.27.
const JPEG_MAX_ABS_DIFF: u8 = 4;
/// Largest mean end-to-end difference allowed for one JPEG input, in u8 levels (measured 0.434).
const JPEG_MEAN_ABS_DIFF: f64 = 0.45;

struct Case {
    input: String,
    width: usize,
    height: usize,
}

fn cases() -> (Vec<Case>, Vec<usize>) {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    let meta: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sizes = meta["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap() as usize)
        .collect();
    let cases = meta["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            input: c["input"].as_str().unwrap().to_string(),
            width: c["width"].as_u64().unwrap() as usize,
            height: c["height"].as_u64().unwrap() as usize,
        })
        .collect();
    (cases, sizes)
}

fn expected(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("expected").join(name)).unwrap()
}

fn diff(a: &[u8], b: &[u8]) -> (u8, f64) {
    assert_eq!(a.len(), b.len());
    let max = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0);
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (max, sum as f64 / a.len() as f64)
}

#[test]
fn resampler_reproduces_pil_bicubic_exactly() {
    let (cases, sizes) = cases();
    assert!(cases.len() >= 5);
    for case in &cases {
        let decoded = expected(&format!("{}.decoded.rgb", case.input));
        for &size in &sizes {
            let ours = resize_rgb(&decoded, case.width, case.height, size, size);
            let (max, _) = diff(&ours, &expected(&format!("{}.{size}.rgb", case.input)));
            assert_eq!(
                max, 0,
                "{} at {size}: differs from PIL by up to {max}",
                case.input
            );
        }
    }
}

#[test]
fn png_decoding_matches_pil_and_jpeg_stays_within_the_bound() {
    let (cases, sizes) = cases();
    for case in &cases {
        let file = fixtures().join("inputs").join(&case.input);
        let decoded = decode_rgb(&file).unwrap();
        assert_eq!(
            (decoded.width as usize, decoded.height as usize),
            (case.width, case.height)
        );
        for &size in &sizes {
            let ours = load_resized(&file, size as u32).unwrap();
            let (max, mean) = diff(&ours, &expected(&format!("{}.{size}.rgb", case.input)));
            if case.input.ends_with(".png") {
                assert_eq!(max, 0, "{} at {size}", case.input);
            } else {
                assert!(
                    max <= JPEG_MAX_ABS_DIFF,
                    "{} at {size}: max {max}",
                    case.input
                );
                assert!(
                    mean <= JPEG_MEAN_ABS_DIFF,
                    "{} at {size}: mean {mean}",
                    case.input
                );
            }
        }
    }
}
