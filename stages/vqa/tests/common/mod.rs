//! What the stage tests share: running a stage in a folder, and writing the packed images and
//! tokenized splits the stages read.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pipeline_api::{CancelToken, DynStage, FolderRun, Progress, StageError};
use pipeline_formats::packed_images::Meta;
use polars::prelude::*;

pub fn stage(kind: &str) -> Box<dyn DynStage> {
    pipeline_stages_vqa::stages()
        .into_iter()
        .find(|s| s.kind() == kind)
        .unwrap()
}

/// Runs `kind` with `params` into `out`; returns the log.
pub fn run_in(
    kind: &str,
    params: &str,
    inputs: &[(&str, &Path)],
    out: &Path,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<String, StageError> {
    let prepared = stage(kind)
        .prepare(toml::from_str(params).unwrap())
        .expect("valid parameters");
    let inputs: Vec<(&str, Vec<PathBuf>)> = inputs
        .iter()
        .map(|(n, p)| (*n, vec![p.to_path_buf()]))
        .collect();
    let run = FolderRun {
        stage: kind,
        root: out,
        out,
        inputs: &inputs,
        cpus: 2,
        progress,
        cancel,
    };
    let log = run.run(|ctx| prepared.run(ctx))?;
    for output in prepared.outputs() {
        assert!(
            out.join(&output).exists(),
            "declared output {output} was not written"
        );
    }
    Ok(log)
}

/// An `images` output in `dir`: `pixels` holds `size`×`size` RGB images one after the other,
/// image `i` named `img_{i}.jpg`.
pub fn write_packed_images(dir: &Path, size: usize, pixels: &[u8]) {
    let count = pixels.len() / (size * size * 3);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("images.u8"), pixels).unwrap();
    let index: serde_json::Map<String, serde_json::Value> = (0..count)
        .map(|i| (format!("img_{i}.jpg"), i.into()))
        .collect();
    let index = serde_json::Value::Object(index).to_string();
    std::fs::write(dir.join("index.json"), index).unwrap();
    let meta = Meta::new(size as u32, count as u64);
    std::fs::write(dir.join("meta.json"), serde_json::to_string(&meta).unwrap()).unwrap();
}

/// A tokenized split: per question, its sequences' token ids and padding flags.
pub fn write_tokens(
    path: &Path,
    ids: &[String],
    img_paths: &[String],
    input_ids: &[Vec<Vec<i32>>],
    padding: &[Vec<Vec<i32>>],
    labels: &[i32],
) {
    let nested = |name: &str, rows: &[Vec<Vec<i32>>]| {
        let outer: Vec<Series> = rows
            .iter()
            .map(|sequences| {
                let inner: Vec<Series> = sequences
                    .iter()
                    .map(|s| Series::new("".into(), s.as_slice()))
                    .collect();
                Series::new("".into(), inner)
            })
            .collect();
        Series::new(name.into(), outer).into_column()
    };
    let columns = vec![
        Series::new("ID".into(), ids).into_column(),
        Series::new("img_path".into(), img_paths).into_column(),
        nested("input_ids", input_ids),
        nested("padding_mask", padding),
        Series::new("label".into(), labels).into_column(),
    ];
    let mut frame = DataFrame::new(ids.len(), columns).unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .finish(&mut frame)
        .unwrap();
}
