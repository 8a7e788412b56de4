//! What stage crates share, so that no stage crate reaches into another: the files one stage
//! writes and another reads, and the helpers every stage that writes such files needs.
//!
//! - [`predictions`]: the prediction folder `predict` and `ensemble` write and `ensemble`,
//!   `evaluate` and `publish` read (with the contest's `submission.csv`).
//! - [`packed_images`]: the memory-mappable image folder `images` writes and `train` and
//!   `predict` read, and [`resize`], the PIL-compatible bicubic filter it is made with (training's
//!   augmentation crops and resizes with the same filter).
//! - [`table`] and [`json`]: Parquet columns and JSON files with errors that name file, column
//!   and row.
//! - [`canvas`]: PNG charts without system fonts (training curves, accuracy per question type).

pub mod canvas;
pub mod json;
pub mod packed_images;
pub mod predictions;
pub mod resize;
pub mod table;

pub use packed_images::PackedImages;
pub use predictions::Predictions;
