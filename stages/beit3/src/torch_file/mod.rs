//! The weights in a `torch.save` file (PyTorch's zip format), whatever else the file holds.
//!
//! A fine-tuning checkpoint (unilm's `utils.save_model`) is a dict of `model`, `optimizer` (a
//! `torch.optim` state dict: integer keys, tuples, tensors), `epoch`, `scaler` and `args` (an
//! `argparse.Namespace`); a plain export is the state dict alone. [`read_state_dict`] takes the
//! tensors under one top-level key (or the whole file when it is a bare state dict) and names the
//! other top-level entries it skipped. The file is memory-mapped and each tensor's values are read
//! only when asked for.

pub mod pickle;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use burn::tensor::{DType, TensorData};
use burn_store::{TensorSnapshot, TensorSnapshotError};
use memmap2::Mmap;

use pickle::{Id, Obj, Pickle, TensorRef, unpickle};

/// The state dict found in a file.
pub struct StateDict {
    /// Tensors by dotted key (`beit3.encoder.layers.0...`), values not yet read.
    pub tensors: BTreeMap<String, TensorSnapshot>,
    /// The top-level key the tensors were under; `None` for a bare state dict.
    pub key: Option<String>,
    /// The other top-level entries, which were not read (`optimizer`, `epoch`, `args`, ...).
    pub skipped: Vec<String>,
}

/// Whether `file` is a zip archive (what `torch.save` has written since PyTorch 1.6).
pub fn is_zip(file: &Path) -> bool {
    let mut magic = [0u8; 4];
    std::fs::File::open(file)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"PK\x03\x04")
}

/// The tensors under `key` in `file`, or those of the whole file when it has no such key and
/// holds tensors at its top level.
pub fn read_state_dict(file: &Path, key: Option<&str>) -> Result<StateDict, String> {
    let handle = std::fs::File::open(file).map_err(|e| e.to_string())?;
    // SAFETY: the mapping is only read; a checkpoint changed while it loads gives wrong values
    // (caught by the shape checks at worst), as reading it with `read` would.
    let map = Arc::new(unsafe { Mmap::map(&handle) }.map_err(|e| e.to_string())?);
    let archive = Archive::open(&map)?;
    let pickle = unpickle(&archive.read(&map, "data.pkl")?)
        .map_err(|e| format!("cannot parse data.pkl: {e}"))?;
    let (dict, found_key, skipped) = state_dict_object(&pickle, key)?;
    let mut refs = Vec::new();
    flatten(&pickle, dict, String::new(), &mut refs);
    let mut tensors = BTreeMap::new();
    for (name, tensor) in refs {
        if storage_dtype(&tensor.storage_type).is_none() {
            continue; // booleans and the like: never a weight (a needed one is reported missing)
        }
        let snapshot = archive.snapshot(&map, &name, tensor)?;
        tensors.insert(name, snapshot);
    }
    Ok(StateDict {
        tensors,
        key: found_key,
        skipped,
    })
}

/// The dict that holds the weights, the key it was under and the other top-level keys.
fn state_dict_object(
    pickle: &Pickle,
    key: Option<&str>,
) -> Result<(Id, Option<String>, Vec<String>), String> {
    let Obj::Dict(entries) = pickle.get(pickle.root) else {
        return Err(
            "the file does not hold a dict (a whole pickled model rather than its \
                    state dict? save `model.state_dict()` instead)"
                .into(),
        );
    };
    let names: Vec<String> = entries
        .iter()
        .map(|&(k, _)| {
            pickle
                .key_text(k)
                .unwrap_or_else(|| "<non-text key>".into())
        })
        .collect();
    let chosen = key.and_then(|key| {
        entries
            .iter()
            .find(|&&(k, v)| pickle.str(k) == Some(key) && matches!(pickle.get(v), Obj::Dict(_)))
    });
    if let Some(&(_, dict)) = chosen {
        let key = key.map(String::from);
        let skipped = names
            .into_iter()
            .filter(|n| Some(n) != key.as_ref())
            .collect();
        return Ok((dict, key, skipped));
    }
    let bare = entries
        .iter()
        .any(|&(_, v)| matches!(pickle.get(v), Obj::Tensor(_)));
    if bare {
        return Ok((pickle.root, None, Vec::new()));
    }
    let wanted = key.map_or(String::new(), |k| format!("no `{k}` entry and "));
    Err(format!(
        "{wanted}no tensors at the top level; its top-level keys are {names:?}: is this a \
         PyTorch checkpoint of the model?"
    ))
}

/// Every tensor below `id`, keyed by dotted path; entries whose keys are not text or numbers,
/// and values that are neither tensors nor dicts, are left out.
fn flatten(pickle: &Pickle, id: Id, prefix: String, out: &mut Vec<(String, TensorRef)>) {
    let Obj::Dict(entries) = pickle.get(id) else {
        return;
    };
    for &(k, v) in entries {
        let Some(name) = pickle.key_text(k) else {
            continue;
        };
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match pickle.get(v) {
            Obj::Tensor(tensor) => out.push((path, tensor.clone())),
            Obj::Dict(_) => flatten(pickle, v, path, out),
            _ => {}
        }
    }
}

/// Where each record of the zip archive lies in the mapped file.
struct Archive {
    /// Record names without the archive's folder, e.g. `data.pkl`, `data/0`.
    records: BTreeMap<String, Record>,
}

#[derive(Clone, Copy)]
struct Record {
    index: usize,
    /// `(start, length)` of the bytes in the file when stored uncompressed.
    stored: Option<(usize, usize)>,
}

impl Archive {
    fn open(map: &Mmap) -> Result<Archive, String> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&map[..]))
            .map_err(|e| format!("not a readable zip archive: {e}"))?;
        let mut records = BTreeMap::new();
        for index in 0..zip.len() {
            let entry = zip.by_index_raw(index).map_err(|e| e.to_string())?;
            // Records are `<folder>/<name>`: the folder is whatever the writer chose.
            let Some((_, name)) = entry.name().split_once('/') else {
                continue;
            };
            let stored = (entry.compression() == zip::CompressionMethod::Stored)
                .then(|| {
                    entry
                        .data_start()
                        .map(|s| (s as usize, entry.size() as usize))
                })
                .flatten();
            records.insert(name.to_string(), Record { index, stored });
        }
        if !records.contains_key("data.pkl") {
            return Err("a zip archive without data.pkl: not a torch.save file".into());
        }
        if let Some(order) = records.get("byteorder") {
            let order = Self::bytes(map, *order)?;
            if order.trim_ascii() != b"little" {
                return Err("the file was written on a big-endian machine".into());
            }
        }
        Ok(Archive { records })
    }

    fn read(&self, map: &Mmap, name: &str) -> Result<Vec<u8>, String> {
        let record = self
            .records
            .get(name)
            .ok_or(format!("no `{name}` record"))?;
        Self::bytes(map, *record)
    }

    fn bytes(map: &Mmap, record: Record) -> Result<Vec<u8>, String> {
        if let Some((start, len)) = record.stored {
            return map
                .get(start..start + len)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| "a record runs past the end of the file: truncated?".into());
        }
        let mut zip =
            zip::ZipArchive::new(std::io::Cursor::new(&map[..])).map_err(|e| e.to_string())?;
        let mut entry = zip.by_index(record.index).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        entry.read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// A snapshot of tensor `name` whose values are read from the map when asked for.
    fn snapshot(
        &self,
        map: &Arc<Mmap>,
        name: &str,
        tensor: TensorRef,
    ) -> Result<TensorSnapshot, String> {
        let bad = |what: String| format!("tensor `{name}`: {what}");
        let (dtype, size) = storage_dtype(&tensor.storage_type)
            .ok_or_else(|| bad(format!("unsupported storage type {}", tensor.storage_type)))?;
        let record_name = format!("data/{}", tensor.storage);
        let record = *self
            .records
            .get(&record_name)
            .ok_or_else(|| bad(format!("its storage `{record_name}` is not in the file")))?;
        let numel: usize = tensor.shape.iter().product();
        let last = last_element(&tensor);
        let (map, shape) = (Arc::clone(map), tensor.shape.clone());
        let read = move || -> Result<TensorData, TensorSnapshotError> {
            let unpacked;
            let storage = match record.stored {
                Some((start, len)) => map.get(start..start + len),
                None => {
                    unpacked = Archive::bytes(&map, record).ok();
                    unpacked.as_deref()
                }
            };
            let storage = storage.ok_or_else(|| {
                TensorSnapshotError::IoError("the tensor's storage cannot be read".into())
            })?;
            if numel > 0 && (last + 1) * size > storage.len() {
                return Err(TensorSnapshotError::DataError(
                    "the tensor runs past the end of its storage".into(),
                ));
            }
            let bytes = gather(storage, &tensor, size);
            Ok(TensorData::from_bytes_vec(
                bytes,
                tensor.shape.clone(),
                dtype,
            ))
        };
        let path = name.split('.').map(String::from).collect();
        Ok(TensorSnapshot::from_closure(
            Rc::new(read),
            dtype,
            shape.into(),
            path,
            vec![],
            Default::default(),
        ))
    }
}

/// The index (in elements) of the tensor's last element in its storage.
fn last_element(tensor: &TensorRef) -> usize {
    tensor.offset
        + tensor
            .shape
            .iter()
            .zip(&tensor.strides)
            .map(|(&n, &s)| n.saturating_sub(1) * s)
            .sum::<usize>()
}

/// The tensor's elements in row-major order (a plain copy when it is contiguous).
fn gather(storage: &[u8], tensor: &TensorRef, size: usize) -> Vec<u8> {
    let numel: usize = tensor.shape.iter().product();
    let mut contiguous = true;
    let mut expected = 1;
    for (&n, &s) in tensor.shape.iter().zip(&tensor.strides).rev() {
        contiguous &= n == 1 || s == expected;
        expected *= n;
    }
    if contiguous {
        let start = tensor.offset * size;
        return storage[start..start + numel * size].to_vec();
    }
    let mut out = Vec::with_capacity(numel * size);
    let mut index = vec![0usize; tensor.shape.len()];
    for _ in 0..numel {
        let at = tensor.offset
            + index
                .iter()
                .zip(&tensor.strides)
                .map(|(i, s)| i * s)
                .sum::<usize>();
        out.extend_from_slice(&storage[at * size..(at + 1) * size]);
        for axis in (0..index.len()).rev() {
            index[axis] += 1;
            if index[axis] < tensor.shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

/// The element type and size of a storage class (`torch.HalfStorage`, ...).
fn storage_dtype(storage_type: &str) -> Option<(DType, usize)> {
    Some(match storage_type {
        "DoubleStorage" => (DType::F64, 8),
        "FloatStorage" => (DType::F32, 4),
        "HalfStorage" => (DType::F16, 2),
        "BFloat16Storage" => (DType::BF16, 2),
        "LongStorage" => (DType::I64, 8),
        "IntStorage" => (DType::I32, 4),
        "ShortStorage" => (DType::I16, 2),
        "CharStorage" => (DType::I8, 1),
        "ByteStorage" => (DType::U8, 1),
        _ => return None,
    })
}
