//! The `download` stage kind: fetches an `http://`, `https://` or `file://` URL into the stage's
//! output, resuming after dropped connections (HTTP Range), retrying with backoff, checking an
//! optional SHA-256 or BLAKE3 checksum and, when asked, unpacking a zip archive safely.
//!
//! Its cache key is its parameters (the URL, the expected checksum, the output name, whether to
//! extract); it has no inputs, so once downloaded a URL is never fetched again unless forced.

mod checksum;
mod download;
mod extract;
mod http;
mod local;
mod params;
mod partial;
mod transfer;
mod url;

pub use checksum::{Algorithm, Checksum};
pub use download::Download;
pub use params::DownloadParams;
pub use partial::PARTIAL_DIR;

/// Every stage kind of this crate, for the engine's registry.
pub fn stages() -> Vec<Box<dyn pipeline_api::DynStage>> {
    vec![pipeline_api::erase(Download)]
}
