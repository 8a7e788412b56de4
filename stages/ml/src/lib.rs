//! Stage kinds of this crate (being written).

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    Vec::new()
}
