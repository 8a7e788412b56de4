//! The cache: what a stage is keyed on and the BLAKE3 digests behind the key, the
//! content-addressed store of outputs and run records, per-key locks, the integrity checks that
//! keep a damaged cache from being trusted, the run history and whether each stage is up to date.

pub mod hashing;
pub mod ids;
pub mod integrity;
pub mod key;
pub mod ledger;
pub mod lock;
pub mod remote;
pub mod stat_cache;
pub mod status;
pub mod store;
pub mod tiered;
