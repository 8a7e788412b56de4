//! Visual7W telling as a 4-way multiple-choice table, and the data to test it with.
//!
//! - `visual7w`: `dataset_v7w_telling.json` + images folder to `train/val/test.parquet`
//!   (`ID, img_path, Question, A, B, C, D, answer, qa_id, image_id, type`), options shuffled with a
//!   seed, invalid questions dropped and counted in `report.json`.
//! - `mc_table`: a contest-style CSV (`ID,img_path,Question,A,B,C,D[,answer]`) to the same layout,
//!   quoted text kept exactly as written.
//! - `contest_files`: the inverse, a table written as a contest ships its test set (`test.csv`
//!   without answers beside `test_input_images/`), to run the contest path offline.
//! - `synth`: a seeded synthetic dataset in the Visual7W telling format (rendered shapes), the
//!   embedded default that needs no download.

pub mod contest_files;
pub mod convert;
pub mod csv_text;
pub mod image_index;
pub mod mc_csv;
pub mod mc_table;
pub mod report;
pub use pipeline_api::rng;
pub mod synth;
pub mod table;
pub mod telling;
pub mod visual7w;

pub use contest_files::{ContestFiles, ContestFilesParams};
pub use mc_table::{McTable, McTableParams};
pub use synth::{Synth, SynthParams};
pub use visual7w::{Visual7w, Visual7wParams};

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![
        pipeline_api::erase(Visual7w),
        pipeline_api::erase(McTable),
        pipeline_api::erase(ContestFiles),
        pipeline_api::erase(Synth),
    ]
}
