//! The packed-image format: what an `images` stage writes and training and prediction read. A
//! folder holding `images.u8` (every image resized to one square size, RGB bytes, NHWC, row-major),
//! `index.json` (`img_path` -> row) and `meta.json` ([`Meta`]). Images are resized with
//! [`crate::resize`], PIL's bicubic filter, as the BEiT-3 recipe does.

use serde::{Deserialize, Serialize};

mod reader;

pub use reader::{OpenError, PackedImages};

/// The pixels: `count` rows of `size * size * 3` bytes.
pub const PIXELS_FILE: &str = "images.u8";
/// `img_path` -> row, a JSON object in row order.
pub const INDEX_FILE: &str = "index.json";
/// [`Meta`] as JSON.
pub const META_FILE: &str = "meta.json";
/// The value of [`Meta::format`].
pub const FORMAT: &str = "pipeline-packed-images";

/// What `meta.json` says about `images.u8`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// Always [`FORMAT`].
    pub format: String,
    /// Bumped if the layout ever changes.
    pub version: u32,
    /// Side of each square image in pixels.
    pub size: u32,
    /// Number of images (rows).
    pub count: u64,
    /// Channels per pixel (3).
    pub channels: u32,
    /// `"NHWC"`: image, row, column, channel; row-major.
    pub layout: String,
    /// `"u8"`: 0..=255, not normalised.
    pub dtype: String,
    /// `"RGB"`.
    pub color: String,
    /// How images were resized.
    pub resize: String,
}

impl Meta {
    pub fn new(size: u32, count: u64) -> Meta {
        Meta {
            format: FORMAT.to_string(),
            version: 1,
            size,
            count,
            channels: 3,
            layout: "NHWC".to_string(),
            dtype: "u8".to_string(),
            color: "RGB".to_string(),
            resize: "bicubic a=-0.5, antialiased, squash to size x size (PIL Image.BICUBIC)"
                .to_string(),
        }
    }

    /// Bytes of one image.
    pub fn row_bytes(&self) -> usize {
        self.size as usize * self.size as usize * self.channels as usize
    }
}
