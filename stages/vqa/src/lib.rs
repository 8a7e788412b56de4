//! Stage kinds that train BEiT-3 on 4-way multiple-choice VQA and score question tables with it:
//! `train` and `predict`. The model itself is the `beit3` crate; this crate feeds it (tokenized
//! splits, packed images, augmentation), optimises it (the BEiT-3 fine-tuning recipe), checkpoints
//! it and writes predictions in the format `ensemble` and `evaluate` read.

pub mod architecture;
pub mod augment;
pub mod batches;
pub mod checkpoint;
pub mod curves;
pub mod device;
pub mod forward;
pub mod history;
pub mod optim;
pub mod predict;
pub mod saved_model;
pub mod schedule;
pub mod score;
pub mod seeded;
pub mod step_stats;
pub mod tokenized_split;
pub mod train;
pub mod train_job;
pub mod training_session;

pub use predict::{Predict, PredictParams};
pub use train::{Train, TrainParams};

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![pipeline_api::erase(Train), pipeline_api::erase(Predict)]
}
