//! The model-input table of one split: `ID`, `img_path`, `input_ids` and `padding_mask` (lists of
//! `sequences` lists of `max_len` Int32), and `label` (Int32 0-3) when the split has answers.

use std::fs::File;
use std::path::Path;

use polars::chunked_array::builder::get_list_builder;
use polars::prelude::*;

use crate::sequence::Packed;
use crate::table::QuestionTable;

/// Writes `<out>` from a table and its packed sequences (`sequences` per question, in order).
pub fn write(
    out: &Path,
    table: &QuestionTable,
    packed: &[Packed],
    sequences: usize,
) -> Result<(), String> {
    let fail = |e: PolarsError| format!("writing `{}`: {e}", out.display());
    let ids = nested(
        "input_ids",
        packed.iter().map(|p| p.ids.as_slice()),
        sequences,
    )
    .map_err(fail)?;
    let masks = nested(
        "padding_mask",
        packed.iter().map(|p| p.padding_mask.as_slice()),
        sequences,
    )
    .map_err(fail)?;
    let mut columns = vec![
        table.id.clone(),
        table.img_path.clone(),
        ids.into(),
        masks.into(),
    ];
    if let Some(labels) = &table.labels {
        columns.push(Column::new("label".into(), labels.as_slice()));
    }
    let mut frame = DataFrame::new(table.len(), columns).map_err(fail)?;
    let file = File::create(out).map_err(|e| format!("cannot create `{}`: {e}", out.display()))?;
    ParquetWriter::new(file).finish(&mut frame).map_err(fail)?;
    Ok(())
}

/// A `List(List(Int32))` column: one row per `sequences` consecutive rows of `rows`.
fn nested<'a>(
    name: &str,
    rows: impl ExactSizeIterator<Item = &'a [i32]>,
    sequences: usize,
) -> PolarsResult<Series> {
    let count = rows.len();
    let mut inner =
        ListPrimitiveChunkedBuilder::<Int32Type>::new(name.into(), count, 0, DataType::Int32);
    for row in rows {
        inner.append_slice(row);
    }
    let inner = inner.finish().into_series();
    let mut outer = get_list_builder(inner.dtype(), count, count / sequences.max(1), name.into());
    for start in (0..count).step_by(sequences.max(1)) {
        outer.append_series(&inner.slice(start as i64, sequences))?;
    }
    Ok(outer.finish().into_series())
}
