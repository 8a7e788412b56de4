//! The `images` stage: decodes JPEG and PNG images, resizes them to the model's square input with
//! PIL-compatible bicubic filtering and packs them into one memory-mappable file, plus
//! [`PackedImages`], the reader training uses, and [`AugmentConfig`], the training-time
//! augmentation of one packed image.

pub mod augment;
mod decode;
mod images_stage;
mod layout;
mod pack;
mod packed;
mod resize;
mod sources;
mod tables;

pub use augment::AugmentConfig;
pub use decode::{Rgb, decode_rgb};
pub use images_stage::{Images, ImagesParams, OnError};
pub use layout::{INDEX_FILE, META_FILE, Meta, PIXELS_FILE, REPORT_FILE};
pub use pack::load_resized;
pub use packed::{OpenError, PackedImages};
pub use resize::resize_rgb;

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![pipeline_api::erase(Images)]
}
