//! The `pipeline` engine: reads TOML manifests, builds the stage graph, keys each stage by the
//! BLAKE3 of its inputs, parameters and plugin version, and runs only what changed. It knows
//! nothing of machine learning: stages are plugins, registered by name in [`registry`] by the
//! binary that brings them; [`program::main`] is such a binary's `main`.

pub mod cli;
pub mod commands;
pub mod diagnostics;
pub mod executor;
pub mod expand;
pub mod graph;
pub mod hashing;
pub mod integrity;
pub mod job;
pub mod key;
pub mod ledger;
pub mod lock;
pub mod manifest;
pub mod output_check;
pub mod param_errors;
pub mod plan;
pub mod progress;
pub mod publish;
pub mod reference;
pub mod program;
pub mod registry;
pub mod resources;
pub mod schema;
pub mod status;
pub mod store;
pub mod value;
