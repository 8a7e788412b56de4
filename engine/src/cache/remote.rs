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
//! ([`crate::cache::tiered`]).

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientConfigKey, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig,
    WriteMultipart,
};

use crate::cache::ids::{Digest, StageKey};
use crate::cache::store::RunRecord;

/// Outputs up to this size go up in one request; larger ones in parts of this size.
const PART_BYTES: usize = 16 << 20;

/// The remote tier.
pub struct Remote {
    store: AmazonS3,
    prefix: String,
    runtime: tokio::runtime::Runtime,
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
        Ok(Remote {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            runtime,
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
    pub fn fetch_output(&self, digest: &Digest, folder: &Path) -> Result<Option<u64>, String> {
        let path = self.output_path(digest);
        let archive = folder.with_extension("tar");
        let fetched = self.runtime.block_on(async {
            let found = match self.store.get(&path).await {
                Ok(found) => found,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(error) => return Err(error.to_string()),
            };
            let mut file = std::fs::File::create(&archive).map_err(|e| e.to_string())?;
            let mut stream = found.into_stream();
            let mut bytes = 0;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| e.to_string())?;
                file.write_all(&chunk).map_err(|e| e.to_string())?;
                bytes += chunk.len() as u64;
            }
            Ok(Some(bytes))
        });
        let unpacked = fetched.and_then(|found| {
            if found.is_some() {
                unpack(&archive, folder)?;
            }
            Ok(found)
        });
        let _ = std::fs::remove_file(&archive);
        unpacked.map_err(|e| format!("downloading {path}: {e}"))
    }

    /// Uploads the output folder `folder` as `digest`, unless the remote holds it already: the
    /// bytes uploaded, or `None` when it was there.
    pub fn push_output(
        &self,
        digest: &Digest,
        folder: &Path,
        scratch: &Path,
    ) -> Result<Option<u64>, String> {
        let path = self.output_path(digest);
        let exists = self.runtime.block_on(self.store.head(&path)).is_ok();
        if exists {
            return Ok(None);
        }
        pack(folder, scratch).map_err(|e| format!("packing {}: {e}", folder.display()))?;
        let bytes = std::fs::metadata(scratch).map_or(0, |m| m.len());
        let sent = self.upload(&path, scratch);
        let _ = std::fs::remove_file(scratch);
        sent.map(|()| Some(bytes))
            .map_err(|e| format!("uploading {path}: {e}"))
    }

    /// Uploads the file at `file` to `path`: in one request, or in parts when it is large.
    fn upload(&self, path: &ObjectPath, file: &Path) -> Result<(), String> {
        let mut reader = std::fs::File::open(file).map_err(|e| e.to_string())?;
        let size = reader.metadata().map_err(|e| e.to_string())?.len() as usize;
        self.runtime.block_on(async {
            if size <= PART_BYTES {
                let mut bytes = Vec::with_capacity(size);
                reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
                self.store
                    .put(path, PutPayload::from(bytes))
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(());
            }
            let upload = self
                .store
                .put_multipart(path)
                .await
                .map_err(|e| e.to_string())?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            let mut buffer = vec![0; PART_BYTES];
            loop {
                let read = reader.read(&mut buffer).map_err(|e| e.to_string())?;
                if read == 0 {
                    break;
                }
                writer
                    .wait_for_capacity(4)
                    .await
                    .map_err(|e| e.to_string())?;
                writer.write(&buffer[..read]);
            }
            writer.finish().await.map(|_| ()).map_err(|e| e.to_string())
        })
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

/// `folder` as a tar archive at `archive` (symbolic links kept as links).
fn pack(folder: &Path, archive: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(archive)?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    builder.follow_symlinks(false);
    builder.append_dir_all(".", folder)?;
    builder.into_inner()?.flush()
}

/// The archive at `archive` unpacked into the new folder `folder`; entries that would land
/// outside it are refused by `tar`.
fn unpack(archive: &Path, folder: &Path) -> Result<(), String> {
    std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    archive.set_preserve_permissions(true);
    archive
        .unpack(folder)
        .map_err(|e| format!("not a readable output archive: {e}"))
}
