//! The `images` stage: decodes JPEG and PNG images, resizes them to the model's square input with
//! PIL-compatible bicubic filtering and packs them into one memory-mappable file, the packed-image
//! format of [`pipeline_formats::packed_images`] (which training reads).

mod decode;
mod images;
mod pack;
mod sources;
mod tables;

pub use decode::{Rgb, decode_rgb};
pub use images::{Images, ImagesParams, OnError, REPORT_FILE};
pub use pack::load_resized;

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![pipeline_api::erase(Images)]
}
