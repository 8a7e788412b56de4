//! Uploads that survive being killed. An output goes up as it is packed: one request when it is
//! small, S3 multipart parts otherwise. After each part, the upload's id and each sent part's
//! ETag and BLAKE3 are written to a state file the caller names. Started again with that file,
//! the upload packs the output again (the archive is the same bytes, [`super::archive`]), skips
//! every part whose BLAKE3 matches one already sent, and sends only the rest. A part that no
//! longer matches is sent again in place.

use std::io::{self, Write};
use std::path::Path;

use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::Remote;
use crate::cache::store::write_atomic;

/// What an unfinished upload has sent, kept in its state file between attempts.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UploadState {
    /// The object being written (an upload of another object does not resume this one).
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub upload_id: Option<String>,
    #[serde(default)]
    pub part_bytes: usize,
    #[serde(default)]
    pub parts: Vec<SentPart>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentPart {
    pub etag: String,
    pub blake3: String,
}

impl UploadState {
    /// The state in `file`, or a fresh one when there is none (or it is unreadable).
    pub fn load(file: &Path) -> UploadState {
        std::fs::read(file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, file: &Path) -> io::Result<()> {
        write_atomic(file, &serde_json::to_vec(self).map_err(io::Error::other)?)
    }
}

/// Bytes sent, and bytes an earlier attempt had already sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub bytes: u64,
    pub reused: u64,
}

/// Receives the archive as it is packed and sends it in parts.
pub struct PartSink<'a> {
    remote: &'a Remote,
    path: &'a ObjectPath,
    state: UploadState,
    state_file: &'a Path,
    /// The upload id came from an earlier attempt (and may have expired on the remote).
    resumed: bool,
    buffer: Vec<u8>,
    next_part: usize,
    sent: Sent,
}

impl<'a> PartSink<'a> {
    /// Resumes the upload recorded in `state_file` when it is one of `path`; starts afresh
    /// otherwise.
    pub fn new(remote: &'a Remote, path: &'a ObjectPath, state_file: &'a Path) -> Self {
        let mut state = UploadState::load(state_file);
        if state.object != path.as_ref() || state.upload_id.is_none() || state.part_bytes == 0 {
            state = UploadState {
                object: path.to_string(),
                part_bytes: remote.part_bytes,
                ..Default::default()
            };
        }
        PartSink {
            remote,
            path,
            resumed: state.upload_id.is_some(),
            buffer: Vec::with_capacity(state.part_bytes),
            state,
            state_file,
            next_part: 0,
            sent: Sent::default(),
        }
    }

    /// Sends what is left and completes the upload.
    pub fn finish(mut self) -> io::Result<Sent> {
        let buffer = std::mem::take(&mut self.buffer);
        if self.state.upload_id.is_none() && self.next_part == 0 {
            self.sent.bytes = buffer.len() as u64;
            let put = self.remote.store.put(self.path, PutPayload::from(buffer));
            self.remote
                .runtime
                .block_on(put)
                .map_err(io::Error::other)?;
            return Ok(self.sent);
        }
        if !buffer.is_empty() {
            self.send_part(buffer)?;
        }
        self.state.parts.truncate(self.next_part);
        let id = self.upload_id()?;
        let parts = self.state.parts.iter().map(|part| PartId {
            content_id: part.etag.clone(),
        });
        let complete = self
            .remote
            .store
            .complete_multipart(self.path, &id, parts.collect());
        let completed = self.remote.runtime.block_on(complete);
        self.or_start_over(completed)?;
        Ok(self.sent)
    }

    fn upload_id(&mut self) -> io::Result<String> {
        if let Some(id) = &self.state.upload_id {
            return Ok(id.clone());
        }
        let create = self.remote.store.create_multipart(self.path);
        let id = self
            .remote
            .runtime
            .block_on(create)
            .map_err(io::Error::other)?;
        self.state.upload_id = Some(id.clone());
        self.state.save(self.state_file)?;
        Ok(id)
    }

    fn send_part(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        let index = self.next_part;
        self.next_part += 1;
        let blake3 = blake3::hash(&bytes).to_hex().to_string();
        let length = bytes.len() as u64;
        if let Some(sent) = self.state.parts.get(index) {
            if sent.blake3 == blake3 {
                self.sent.reused += length;
                return Ok(());
            }
            self.state.parts.truncate(index);
        }
        let id = self.upload_id()?;
        let put = self
            .remote
            .store
            .put_part(self.path, &id, index, PutPayload::from(bytes));
        let part = self.remote.runtime.block_on(put);
        let part = self.or_start_over(part)?;
        self.state.parts.push(SentPart {
            etag: part.content_id,
            blake3,
        });
        self.sent.bytes += length;
        self.state.save(self.state_file)
    }

    /// A failure of a resumed upload may mean the remote let it expire: the state is cleared, so
    /// that the next attempt starts a new one.
    fn or_start_over<T>(&mut self, result: object_store::Result<T>) -> io::Result<T> {
        result.map_err(|error| {
            if self.resumed {
                let _ = UploadState::default().save(self.state_file);
                io::Error::other(format!(
                    "{error} (the unfinished upload begun by an earlier attempt was dropped; the next attempt starts over)"
                ))
            } else {
                io::Error::other(error)
            }
        })
    }
}

impl Write for PartSink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        let part_bytes = self.state.part_bytes;
        // A full part leaves only once more follows: an archive of one part goes in one request.
        while self.buffer.len() > part_bytes {
            let rest = self.buffer.split_off(part_bytes);
            let part = std::mem::replace(&mut self.buffer, rest);
            self.buffer.reserve(part_bytes);
            self.send_part(part)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Aborts the unfinished upload recorded in `state_file`, if any (the object got there another
/// way): the remote can free its parts. Best effort.
pub fn abandon(remote: &Remote, state_file: &Path) {
    let state = UploadState::load(state_file);
    if let Some(id) = state.upload_id {
        let path = ObjectPath::from(state.object);
        let _ = remote
            .runtime
            .block_on(remote.store.abort_multipart(&path, &id));
    }
}
