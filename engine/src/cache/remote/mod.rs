//! A shared cache on an S3-compatible object store (`[pipeline] remote = "s3://bucket/prefix"`),
//! through `object_store`; endpoint, region and credentials come from the usual `AWS_*`
//! environment variables, never from the manifest. Layout under the prefix:
//!
//! ```text
//! v1/objects/<d[..2]>/<digest>.tar   an output folder as one tar archive, named by its digest
//! v1/runs/<k[..2]>/<key>.json        the run record (written last, never overwritten)
//! ```
//!
//! An output is uploaded before its record, and the record with a conditional create
//! (`If-None-Match: *`): a reader never finds a record whose output is missing, and two machines
//! finishing one key at once leave the first record. Nothing downloaded is trusted: the unpacked
//! folder's digest must equal the record's before it enters the local cache
//! ([`crate::cache::tiered`]). Large outputs go up in parts, and an upload killed halfway resumes
//! ([`upload`]).

mod archive;
pub mod upload;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientConfigKey, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
};
use pipeline_api::Progress;

use crate::cache::ids::{Digest, StageKey};
use crate::cache::store::RunRecord;
use upload::{PartSink, Sent};

/// Outputs up to this size go up in one request; larger ones in parts of this size
/// (`PIPELINE_REMOTE_PART_BYTES` sets another, at least S3's minimum of 5 MiB).
const PART_BYTES: usize = 16 << 20;
const MIN_PART_BYTES: usize = 5 << 20;

/// The remote tier.
pub struct Remote {
    store: AmazonS3,
    prefix: String,
    runtime: tokio::runtime::Runtime,
    part_bytes: usize,
    /// `s3://bucket/prefix`, for messages.
    pub url: String,
}

impl Remote {
    /// Opens `s3://bucket[/prefix]` with the credentials of the environment.
    pub fn open(url: &str) -> Result<Remote, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("remote `{url}`: only s3://bucket/prefix is supported"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("remote `{url}` names no bucket"));
        }
        // A cache is worth little if waiting for it costs more than computing: a few quick
        // retries, then the run goes on without it.
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(20),
            ..Default::default()
        };
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            // Through the config key: client options given whole would drop the environment's
            // (AWS_ALLOW_HTTP among them).
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), "5s")
            .build()
            .map_err(|e| format!("remote `{url}`: {e} (set AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the remote cache's runtime: {e}"))?;
        let part_bytes = match std::env::var("PIPELINE_REMOTE_PART_BYTES") {
            Ok(text) => text
                .parse::<usize>()
                .map(|bytes| bytes.max(MIN_PART_BYTES))
                .map_err(|_| {
                    format!("PIPELINE_REMOTE_PART_BYTES=`{text}` is not a number of bytes")
                })?,
            Err(_) => PART_BYTES,
        };
        Ok(Remote {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            runtime,
            part_bytes,
            url: url.to_string(),
        })
    }

    fn path(&self, rest: String) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rest)
        } else {
            ObjectPath::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn record_path(&self, key: &StageKey) -> ObjectPath {
        let key = key.as_str();
        self.path(format!("v1/runs/{}/{key}.json", &key[..2.min(key.len())]))
    }

    fn output_path(&self, digest: &Digest) -> ObjectPath {
        let digest = digest.as_str();
        self.path(format!(
            "v1/objects/{}/{digest}.tar",
            &digest[..2.min(digest.len())]
        ))
    }

    /// The run record of `key`, if the remote has one.
    pub fn record(&self, key: &StageKey) -> Result<Option<RunRecord>, String> {
        let path = self.record_path(key);
        let bytes = self.runtime.block_on(async {
            match self.store.get(&path).await {
                Ok(found) => found.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error),
            }
        });
        let Some(bytes) = bytes.map_err(|e| format!("reading {path}: {e}"))? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{path} is not a run record: {e}"))
    }

    /// Downloads output `digest` and unpacks it into `folder` (which must not exist): the bytes
    /// downloaded, or `None` when the remote does not hold it.
    pub fn fetch_output(
        &self,
        digest: &Digest,
        folder: &Path,
        progress: &dyn Progress,
    ) -> Result<Option<u64>, String> {
        let path = self.output_path(digest);
        let archive = folder.with_extension("tar");
        let fetched = self.runtime.block_on(async {
            let found = match self.store.get(&path).await {
                Ok(found) => found,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(error) => return Err(error.to_string()),
            };
            progress.start(found.meta.size, "bytes");
            let mut file = std::fs::File::create(&archive).map_err(|e| e.to_string())?;
            let mut stream = found.into_stream();
            let mut bytes = 0;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| e.to_string())?;
                file.write_all(&chunk).map_err(|e| e.to_string())?;
                bytes += chunk.len() as u64;
                progress.advance(chunk.len() as u64);
            }
            Ok(Some(bytes))
        });
        let unpacked = fetched.and_then(|found| {
            if found.is_some() {
                archive::unpack(&archive, folder)?;
            }
            Ok(found)
        });
        let _ = std::fs::remove_file(&archive);
        unpacked.map_err(|e| format!("downloading {path}: {e}"))
    }

    /// Uploads the output folder `folder` (of `bytes` bytes) as `digest`, unless the remote
    /// holds it already (`None`). `state_file` keeps what an unfinished upload has sent: an
    /// upload killed halfway resumes from it ([`upload`]).
    pub fn push_output(
        &self,
        digest: &Digest,
        folder: &Path,
        state_file: &Path,
        progress: &dyn Progress,
    ) -> Result<Option<Sent>, String> {
        let path = self.output_path(digest);
        if self.runtime.block_on(self.store.head(&path)).is_ok() {
            upload::abandon(self, state_file);
            return Ok(None);
        }
        let mut sink = PartSink::new(self, &path, state_file);
        archive::pack(folder, &mut sink, progress)
            .and_then(|()| sink.finish())
            .map(Some)
            .map_err(|e| format!("uploading {} to {path}: {e}", folder.display()))
    }

    /// Creates the record of `record.key` unless one exists. `Ok(false)`: another was first.
    pub fn push_record(&self, record: &RunRecord) -> Result<bool, String> {
        let path = self.record_path(&record.key);
        let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .runtime
            .block_on(self.store.put_opts(&path, PutPayload::from(json), options))
        {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(false),
            Err(error) => Err(format!("writing {path}: {error}")),
        }
    }
}
