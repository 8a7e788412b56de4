//! The `pipeline` engine: reads TOML manifests, builds the stage graph, keys each stage by the
//! BLAKE3 of its inputs, parameters and plugin version, and runs only what changed. It knows
//! nothing of machine learning: stages are plugins, registered by name in [`registry`] by the
//! binary that brings them; [`program::main`] is such a binary's `main`.
//!
//! The folders follow a run: [`manifest`] (the TOML, with spans for errors) → [`plan`] (stages
//! bound to plugins, matrices expanded, the graph checked) → [`cache`] (keys, the store) →
//! [`run`] (the executor, jobs, publishing) ← [`cli`] (the commands).

pub(crate) mod cache;
pub(crate) mod cli;
pub(crate) mod manifest;
pub(crate) mod plan;
pub mod registry;
pub(crate) mod run;
#[cfg(test)]
mod testing;
pub(crate) mod ui;

pub use cli::program;
