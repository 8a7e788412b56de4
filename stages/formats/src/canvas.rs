//! Drawing charts without system fonts or a second `image` crate: plotters draws into an RGB
//! buffer, `image` encodes the PNG, and text uses the DejaVu Sans file in `assets/` (Bitstream
//! Vera licence) through plotters' `ab_glyph` feature.

use std::path::Path;
use std::sync::Once;

use pipeline_api::StageError;
use plotters::style::{FontStyle, register_font};

/// The family name charts use for text.
pub const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Makes the bundled font available to plotters (once per process).
pub fn register_font_once() -> Result<(), Box<dyn std::error::Error>> {
    static REGISTER: Once = Once::new();
    let mut failed = false;
    REGISTER.call_once(|| failed = register_font(FONT, FontStyle::Normal, FONT_BYTES).is_err());
    if failed {
        return Err("the bundled font assets/DejaVuSans.ttf could not be read".into());
    }
    Ok(())
}

/// A white `width x height` RGB canvas, `draw` on it, written as a PNG at `path`.
pub fn draw_png(
    width: u32,
    height: u32,
    path: &Path,
    draw: impl FnOnce(&mut [u8]) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), StageError> {
    let mut pixels = vec![255u8; (width * height * 3) as usize];
    register_font_once()
        .and_then(|()| draw(&mut pixels))
        // plotters' errors are not Send: kept as text.
        .map_err(|e| StageError::failed(format!("drawing `{}`: {e}", path.display())))?;
    let image = image::RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| StageError::failed("the chart's pixel buffer has the wrong size"))?;
    image
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| StageError::caused(format!("writing `{}`", path.display()), e))
}
