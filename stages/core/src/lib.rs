//! Generic stage kinds that let users extend a pipeline without recompiling: `exec` runs any
//! program, `copy` gathers outputs, `publish` puts an output at a user-visible path.

mod copy;
mod exec;
mod publish;

pub use copy::{Copy, CopyParams};
pub use exec::{Exec, ExecParams, input_env_name};
pub use publish::{Publish, PublishParams};

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![
        pipeline_api::erase(Exec),
        pipeline_api::erase(Copy),
        pipeline_api::erase(Publish),
    ]
}
