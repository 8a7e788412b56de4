//! Stage kinds that combine and score predictions: `ensemble` (mean, weighted mean or majority
//! vote of several prediction outputs, within a budget of loaded parameters) and `evaluate`
//! (accuracy overall and per question type against a labelled question table, with a chart).
//!
//! Both read the prediction format of [`pipeline_formats::predictions`], which `predict` stages
//! write and `ensemble` writes again, so ensembles can be evaluated, published or nested.

mod align;
mod chart;
pub mod combine;
pub mod ensemble;
pub mod evaluate;
pub mod metrics;
pub mod question_table;

pub use combine::Method;
pub use ensemble::{Ensemble, EnsembleParams};
pub use evaluate::{Evaluate, EvaluateParams};

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![pipeline_api::erase(Ensemble), pipeline_api::erase(Evaluate)]
}
