//! Initial weights that depend on the seed alone: Burn's random generator is one per process and
//! parameters are initialised on first use, so stages that train at once would interleave their
//! draws. Seeding and touching every parameter happen under one lock.

use beit3::{VqaConfig, VqaModel};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use pipeline_api::StageError;

/// Runs `f` holding the lock on Burn's per-process random generator (see [`seeded_model`]).
pub fn with_rng_lock<T>(f: impl FnOnce() -> T) -> T {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f()
}

/// Burn's CPU backend draws from one random generator per process, and parameters are initialised
/// on first use: stages training at once would interleave their draws. Seeding and initialising
/// every parameter under one lock (which the per-epoch reseeding also takes) makes the initial
/// weights a function of the seed alone.
pub fn seeded_model<B: AutodiffBackend>(
    config: &VqaConfig,
    seed: u64,
    device: &B::Device,
) -> Result<VqaModel<B>, StageError> {
    with_rng_lock(|| {
        B::seed(device, seed);
        let model = VqaModel::<B>::new(config, device).map_err(StageError::other)?;
        model.visit(&mut Materialise);
        Ok(model)
    })
}

/// Touches every parameter, which initialises the lazy ones.
struct Materialise;

impl<B: Backend> burn::module::ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}
