//! Helpers for the `images` stage tests: run the real stage through `pipeline_api`, write images.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pipeline_api::{CancelToken, FolderRun, SilentProgress, StageError};

/// Runs the `images` stage with `params` (a TOML table body) on `inputs`, writing into `out`.
/// Returns what the stage logged.
pub fn run_images(
    params: &str,
    inputs: &[(&str, Vec<PathBuf>)],
    out: &Path,
    cpus: usize,
) -> Result<String, StageError> {
    run_images_with(params, inputs, out, cpus, &CancelToken::new())
}

/// [`run_images`] with a given cancel token.
pub fn run_images_with(
    params: &str,
    inputs: &[(&str, Vec<PathBuf>)],
    out: &Path,
    cpus: usize,
    cancel: &CancelToken,
) -> Result<String, StageError> {
    let kinds = pipeline_stages_images::stages();
    let kind = kinds
        .iter()
        .find(|k| k.kind() == "images")
        .expect("`images` is registered");
    let params: toml::Value = toml::from_str(params).expect("test params are TOML");
    let prepared = kind
        .prepare(params)
        .map_err(|e| StageError::failed(format!("{}: {}", e.path, e.message)))?;
    let run = FolderRun {
        stage: "images",
        root: out,
        out,
        inputs,
        cpus,
        progress: &SilentProgress,
        cancel,
    };
    run.run(|ctx| prepared.run(ctx))
}

/// A deterministic photo-like RGB image: gradients plus hashed noise.
pub fn photo(width: u32, height: u32, seed: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        let noise =
            (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503) ^ seed.wrapping_mul(977)) % 23;
        let r = (x * 255 / width.max(1) + noise) as u8;
        let g = (y * 255 / height.max(1)) as u8 ^ (noise as u8);
        let b = ((x + y + seed) * 7 % 256) as u8;
        image::Rgb([r, g, b])
    })
}

/// Saves `img` as a JPEG of quality 90.
pub fn save_jpeg(img: &image::DynamicImage, path: &Path) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    let mut file = std::fs::File::create(path).unwrap();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 90);
    img.write_with_encoder(encoder).unwrap();
}

/// The fixture folder committed beside the tests.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
