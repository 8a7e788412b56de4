//! The `download` stage against real servers and files: an HTTP server on 127.0.0.1 started by
//! each test, `file://` URLs, real zip archives. The stage is driven through `pipeline_api`
//! exactly as the engine drives it.

mod support;

mod archive;
mod checksum;
mod http;
mod local;
