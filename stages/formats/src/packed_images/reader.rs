//! Reading a packed image folder: `images.u8` memory-mapped, rows looked up by `img_path`.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::{FORMAT, INDEX_FILE, META_FILE, Meta, PIXELS_FILE};

/// Why a packed folder could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("reading `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// Images packed by the `images` stage, memory-mapped: reads go at memory speed and pages are
/// shared between processes.
pub struct PackedImages {
    meta: Meta,
    rows: HashMap<String, usize>,
    pixels: Option<Mmap>,
}

impl PackedImages {
    /// Opens the output folder of an `images` stage (`meta.json`, `index.json`, `images.u8`).
    pub fn open(dir: &Path) -> Result<PackedImages, OpenError> {
        let meta: Meta = read_json(&dir.join(META_FILE))?;
        let invalid = |path: &Path, message: String| OpenError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if meta.format != FORMAT || meta.version != 1 || meta.channels != 3 {
            return Err(invalid(
                &dir.join(META_FILE),
                format!("not a version 1 `{FORMAT}` of RGB images"),
            ));
        }
        let index_path = dir.join(INDEX_FILE);
        let rows: HashMap<String, usize> = read_json(&index_path)?;
        if rows.len() as u64 != meta.count || rows.values().any(|&row| row as u64 >= meta.count) {
            return Err(invalid(
                &index_path,
                format!("does not map onto the {} rows of meta.json", meta.count),
            ));
        }
        let pixels_path = dir.join(PIXELS_FILE);
        let file = File::open(&pixels_path).map_err(|source| OpenError::Io {
            path: pixels_path.clone(),
            source,
        })?;
        let expected = meta.count * meta.row_bytes() as u64;
        let actual = file
            .metadata()
            .map_err(|source| OpenError::Io {
                path: pixels_path.clone(),
                source,
            })?
            .len();
        if actual != expected {
            return Err(invalid(
                &pixels_path,
                format!("holds {actual} bytes where meta.json implies {expected}"),
            ));
        }
        // An empty file cannot be mapped; there is nothing to read from it anyway.
        let pixels = if expected == 0 {
            None
        } else {
            // SAFETY: the folder is a published, read-only cache object; nobody writes it while
            // it is mapped. A file truncated behind our back would fault, as with any mmap reader.
            Some(unsafe { Mmap::map(&file) }.map_err(|source| OpenError::Io {
                path: pixels_path,
                source,
            })?)
        };
        Ok(PackedImages { meta, rows, pixels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.meta.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }

    /// Side of every (square) image in pixels.
    pub fn size(&self) -> u32 {
        self.meta.size
    }

    /// What `meta.json` says.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The row of `img_path` (relative to the images folder, `/`-separated), if it was packed.
    pub fn row_of(&self, img_path: &str) -> Option<usize> {
        self.rows.get(img_path).copied()
    }

    /// The pixels of `img_path`: `size * size * 3` bytes, HWC, RGB.
    pub fn get(&self, img_path: &str) -> Option<&[u8]> {
        self.row_of(img_path).map(|row| self.row(row))
    }

    /// The pixels of row `i`. Panics when `i >= len()`.
    pub fn row(&self, i: usize) -> &[u8] {
        assert!(
            i < self.len(),
            "row {i} out of range: {} images are packed",
            self.len()
        );
        let bytes = self.meta.row_bytes();
        let all = self.pixels.as_deref().unwrap_or_default();
        &all[i * bytes..][..bytes]
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, OpenError> {
    let text = std::fs::read(path).map_err(|source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|e| OpenError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
