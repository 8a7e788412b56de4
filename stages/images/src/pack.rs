//! Decoding and resizing images in parallel, each written straight to its row of the packed file.
//!
//! Row `i` belongs to `sources[i]`, so workers write wherever they are (no ordering, no batches)
//! and the bytes cannot depend on the number of threads. Skipped images leave a hole that is
//! closed afterwards by moving the later rows down.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use pipeline_api::{CancelToken, Progress, StageError};
use pipeline_formats::resize::resize_rgb;
use rayon::prelude::*;
use serde::Serialize;

use crate::decode::decode_rgb;
use crate::sources::Source;

/// An image left out in `skip` mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub img_path: String,
    pub error: String,
}

/// What was packed: `rows[i]` is the `img_path` of row `i`; `skipped` is in source order.
#[derive(Debug, Default)]
pub struct Packed {
    pub rows: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// How a run goes: the output size, whether to skip bad images, and where to report.
pub struct PackJob<'a> {
    pub size: u32,
    pub skip_errors: bool,
    pub pool: &'a rayon::ThreadPool,
    pub progress: &'a dyn Progress,
    pub cancel: &'a CancelToken,
}

/// Decodes and resizes one image into `size * size * 3` bytes of RGB.
pub fn load_resized(file: &Path, size: u32) -> Result<Vec<u8>, String> {
    let rgb = decode_rgb(file)?;
    let side = size as usize;
    Ok(resize_rgb(
        &rgb.pixels,
        rgb.width as usize,
        rgb.height as usize,
        side,
        side,
    ))
}

/// Why one image did not make it into its row.
enum Stop {
    Cancelled,
    /// The image could not be read: fatal in `fail` mode, a skip otherwise.
    Bad(String),
    Write(std::io::Error),
}

/// Packs `sources` (in row order) into `pixels_path`. In `fail` mode the error names the first
/// bad image in row order, whatever the thread count.
pub fn pack(
    job: &PackJob<'_>,
    sources: &[Source],
    pixels_path: &Path,
) -> Result<Packed, StageError> {
    let io_error = |e| StageError::io(format!("writing `{}`", pixels_path.display()), e);
    let row_bytes = job.size as u64 * job.size as u64 * 3;
    // Read as well as write: closing the holes of skipped images moves rows within the file.
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(pixels_path)
        .map_err(io_error)?;
    file.set_len(sources.len() as u64 * row_bytes)
        .map_err(io_error)?;
    let skipped = Mutex::new(Vec::new());
    // `find_first` stops work past a stop but still finishes every earlier image, so the stop
    // reported is the first in row order.
    let stop = job.pool.install(|| {
        sources
            .par_iter()
            .enumerate()
            .map(
                |(index, source)| match pack_one(job, &file, index as u64 * row_bytes, source) {
                    Err(Stop::Bad(error)) if job.skip_errors => {
                        skipped
                            .lock()
                            .expect("no panics while held")
                            .push((index, error));
                        None
                    }
                    Err(stop) => Some((index, stop)),
                    Ok(()) => None,
                },
            )
            .find_first(Option::is_some)
            .flatten()
    });
    match stop {
        Some((_, Stop::Cancelled)) => return Err(StageError::Cancelled),
        Some((_, Stop::Write(e))) => return Err(io_error(e)),
        Some((index, Stop::Bad(error))) => return Err(bad_image(&sources[index], &error)),
        None => {}
    }
    let mut skipped = skipped.into_inner().expect("no panics while held");
    skipped.sort_by_key(|(index, _)| *index);
    close_holes(
        &file,
        row_bytes,
        sources.len(),
        skipped.iter().map(|(index, _)| *index),
    )
    .map_err(io_error)?;
    Ok(packed_rows(sources, skipped))
}

/// Decodes, resizes and writes one image at `offset`.
fn pack_one(job: &PackJob<'_>, file: &File, offset: u64, source: &Source) -> Result<(), Stop> {
    if job.cancel.is_cancelled() {
        return Err(Stop::Cancelled);
    }
    let result = load_resized(&source.file, job.size);
    job.progress.advance(1);
    let pixels = result.map_err(Stop::Bad)?;
    file.write_all_at(&pixels, offset).map_err(Stop::Write)
}

/// Moves every row after a skipped one down over the holes and trims the file.
fn close_holes(
    file: &File,
    row_bytes: u64,
    rows: usize,
    holes: impl Iterator<Item = usize>,
) -> std::io::Result<()> {
    let holes: Vec<usize> = holes.collect();
    let Some(&first) = holes.first() else {
        return Ok(());
    };
    let mut buffer = vec![0u8; row_bytes as usize];
    let mut target = first as u64;
    for row in (first..rows).filter(|row| holes.binary_search(row).is_err()) {
        file.read_exact_at(&mut buffer, row as u64 * row_bytes)?;
        file.write_all_at(&buffer, target * row_bytes)?;
        target += 1;
    }
    file.set_len(target * row_bytes)
}

fn packed_rows(sources: &[Source], skipped: Vec<(usize, String)>) -> Packed {
    let mut packed = Packed::default();
    let mut skipped = skipped.into_iter().peekable();
    for (index, source) in sources.iter().enumerate() {
        match skipped.next_if(|(skipped_index, _)| *skipped_index == index) {
            Some((_, error)) => packed.skipped.push(Skipped {
                img_path: source.img_path.clone(),
                error,
            }),
            None => packed.rows.push(source.img_path.clone()),
        }
    }
    packed
}

fn bad_image(source: &Source, error: &str) -> StageError {
    StageError::failed(format!(
        "image `{}` ({}): {error}. Replace or remove the file, or set on_error = \"skip\" to pack \
         the others and list it in report.json",
        source.img_path,
        source.file.display()
    ))
}
