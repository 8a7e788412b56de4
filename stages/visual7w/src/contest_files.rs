//! The `contest_files` stage kind: a question table written back as a contest ships its test set,
//! `test.csv` (`ID,img_path,Question,A,B,C,D`, no answers) beside `test_input_images/`, so the
//! contest path (`mc_table` onwards) can be run and tested offline on data whose answers are known.
//! It is the inverse of `mc_table`: reading its `test.csv` back gives the same rows.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use pipeline_api::{Stage, StageContext, StageError, check_relative, copy_path};
use polars::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::csv_text::quote_field;

/// The contest's file names.
pub const TEST_CSV: &str = "test.csv";
pub const IMAGES_DIR: &str = "test_input_images";
pub const ANSWERS_CSV: &str = "answers.csv";
/// The columns of `test.csv`, in order.
const COLUMNS: [&str; 7] = ["ID", "img_path", "Question", "A", "B", "C", "D"];

pub struct ContestFiles;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestFilesParams {
    /// Also write `answers.csv` (`ID,answer`, the table's answers in the same order), to score a
    /// submission made from `test.csv`. Every row then needs an answer.
    #[serde(default)]
    pub answers: bool,
}

impl Stage for ContestFiles {
    const KIND: &'static str = "contest_files";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Writes a question table (input `table`: a `<split>.parquet` of \
        `visual7w` or `mc_table`) as a contest ships its test set: `test.csv` with columns ID, \
        img_path, Question, A, B, C, D (no answers; img_path `./test_input_images/<img_path>`; \
        fields quoted where a reader would otherwise change them) and `test_input_images/` holding \
        each image it names, copied from input `images`. With `answers = true` also `answers.csv` \
        (ID,answer).";
    type Params = ContestFilesParams;

    fn outputs(params: &ContestFilesParams) -> Vec<String> {
        let mut outputs = vec![TEST_CSV.to_string(), format!("{IMAGES_DIR}/")];
        if params.answers {
            outputs.push(ANSWERS_CSV.to_string());
        }
        outputs
    }

    fn run(
        &self,
        params: &ContestFilesParams,
        ctx: &mut StageContext<'_>,
    ) -> Result<(), StageError> {
        let table_path = ctx.input("table")?.to_path_buf();
        let images = ctx.input("images")?.to_path_buf();
        let table = read_table(&table_path)?;
        ctx.progress.start(table.rows() as u64, "questions");
        copy_images(&table, &images, &ctx.out_dir.join(IMAGES_DIR))?;
        ctx.cancel.check()?;
        write_text(&ctx.out_dir.join(TEST_CSV), &test_csv(&table))?;
        if params.answers {
            write_text(
                &ctx.out_dir.join(ANSWERS_CSV),
                &answers_csv(&table, &table_path)?,
            )?;
        }
        ctx.progress.advance(table.rows() as u64);
        ctx.log_line(&format!(
            "{}: {} questions, {} images",
            table_path.display(),
            table.rows(),
            table.columns[1].iter().collect::<BTreeSet<_>>().len()
        ));
        Ok(())
    }
}

/// The text columns of a question table, in `COLUMNS` order, and its answers.
struct Table {
    columns: Vec<Vec<String>>,
    answers: Vec<Option<String>>,
}

impl Table {
    fn rows(&self) -> usize {
        self.columns[0].len()
    }
}

fn read_table(path: &Path) -> Result<Table, StageError> {
    let fail = |what: String| StageError::failed(format!("`{}`: {what}", path.display()));
    let file = std::fs::File::open(path)
        .map_err(|e| StageError::io(format!("opening `{}`", path.display()), e))?;
    let frame = ParquetReader::new(file).finish().map_err(|e| {
        fail(format!(
            "not a readable Parquet table ({e}); bind a `<split>.parquet` of `visual7w` or `mc_table`"
        ))
    })?;
    let text = |name: &str| -> Result<Vec<Option<String>>, StageError> {
        let column = frame
            .column(name)
            .map_err(|_| fail(format!("has no `{name}` column")))?;
        let values = column
            .str()
            .map_err(|_| fail(format!("column `{name}` is {}, not text", column.dtype())))?;
        Ok(values.iter().map(|v| v.map(str::to_string)).collect())
    };
    let mut columns = Vec::with_capacity(COLUMNS.len());
    for name in COLUMNS {
        let values = text(name)?;
        let mut filled = Vec::with_capacity(values.len());
        for (row, value) in values.into_iter().enumerate() {
            filled.push(value.ok_or_else(|| fail(format!("row {} has no `{name}`", row + 1)))?);
        }
        columns.push(filled);
    }
    let answers = if frame.column("answer").is_ok() {
        text("answer")?
    } else {
        vec![None; columns[0].len()]
    };
    Ok(Table { columns, answers })
}

/// Copies every image the table names from `images` to `target`, keeping relative paths.
fn copy_images(table: &Table, images: &Path, target: &Path) -> Result<(), StageError> {
    std::fs::create_dir_all(target)
        .map_err(|e| StageError::io(format!("creating `{}`", target.display()), e))?;
    for img_path in table.columns[1].iter().collect::<BTreeSet<_>>() {
        check_relative(img_path)
            .map_err(|e| StageError::caused(format!("img_path `{img_path}`"), e))?;
        let source = images.join(img_path);
        copy_path(&source, &target.join(img_path)).map_err(|e| {
            StageError::io(
                format!("copying image `{img_path}` from `{}`", images.display()),
                e,
            )
        })?;
    }
    Ok(())
}

/// `test.csv`: the contest's columns, img_path under `./test_input_images/`.
fn test_csv(table: &Table) -> String {
    let mut text = COLUMNS.join(",") + "\n";
    for row in 0..table.rows() {
        let fields: Vec<String> = table
            .columns
            .iter()
            .enumerate()
            .map(|(column, values)| {
                let value = &values[row];
                if column == 1 {
                    quote_field(&format!("./{IMAGES_DIR}/{value}")).into_owned()
                } else {
                    quote_field(value).into_owned()
                }
            })
            .collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

/// `answers.csv`: `ID,answer` in table order; every row must have its answer.
fn answers_csv(table: &Table, path: &Path) -> Result<String, StageError> {
    let mut text = String::from("ID,answer\n");
    for (row, answer) in table.answers.iter().enumerate() {
        let id = &table.columns[0][row];
        let answer = answer.as_deref().ok_or_else(|| {
            StageError::failed(format!(
                "`{}`: row {} (ID `{id}`) has no answer; set `answers = false` for a table without answers",
                path.display(),
                row + 1
            ))
        })?;
        let _ = writeln!(text, "{},{}", quote_field(id), quote_field(answer));
    }
    Ok(text)
}

fn write_text(path: &Path, text: &str) -> Result<(), StageError> {
    std::fs::write(path, text)
        .map_err(|e| StageError::io(format!("writing `{}`", path.display()), e))
}
