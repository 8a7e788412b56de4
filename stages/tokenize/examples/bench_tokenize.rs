//! Rust side of the tokenizer benchmark (run by `benches/tokenize/run.sh`): encodes the
//! `"{Question} {option}"` texts of a questions file with the spm-exact tokenizer on 1 and 2
//! threads (and once through the stock `TokenizerImpl::encode_batch_fast` path), then runs the whole `tokenize` stage (Parquet in, Parquet out) on the same questions.
//! Prints one JSON object; the id digest is the one `bench_python.py` computes.
//!
//! Usage: bench_tokenize SPM QUESTIONS.jsonl WORK_DIR

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pipeline_api::{CancelToken, SilentProgress, StageContext};
use pipeline_stages_tokenize::TextTokenizer;
use polars::prelude::*;

const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (spm, questions, work) = (
        PathBuf::from(&args[1]),
        PathBuf::from(&args[2]),
        PathBuf::from(&args[3]),
    );
    let rows = read_rows(&questions);
    let texts: Vec<String> = rows
        .iter()
        .flat_map(|r| (1..5).map(move |k| format!("{} {}", r[0], r[k])))
        .collect();
    let start = Instant::now();
    let tokenizer = TextTokenizer::from_path(&spm).unwrap();
    let load_s = start.elapsed().as_secs_f64();
    let mut result =
        serde_json::json!({ "texts": texts.len(), "questions": rows.len(), "load_s": load_s });
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut times = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            ids = pool.install(|| tokenizer.encode_batch(&texts)).unwrap();
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        result[format!("encode_{threads}t_s")] = serde_json::json!(times[RUNS / 2]);
        result["digest"] = serde_json::json!(digest(&ids));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let start = Instant::now();
    let stock = pool
        .install(|| tokenizer.encode_batch_stock(&texts))
        .unwrap();
    result["stock_2t_s"] = serde_json::json!(start.elapsed().as_secs_f64());
    result["stock_digest"] = serde_json::json!(digest(&stock));
    result["stage_s"] = serde_json::json!(run_stage(&spm, &rows, &work));
    println!("{result}");
}

/// Question, A, B, C, D of each line.
fn read_rows(path: &Path) -> Vec<[String; 5]> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            ["Question", "A", "B", "C", "D"].map(|k| row[k].as_str().unwrap().to_string())
        })
        .collect()
}

/// FNV-1a 64 over each id as 4 little-endian bytes, each sequence followed by 0xFFFFFFFF.
fn digest(all: &[Vec<u32>]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for ids in all {
        for id in ids.iter().copied().chain([u32::MAX]) {
            for byte in id.to_le_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    format!("{hash:016x}")
}

/// Writes the questions as `train.parquet` and times the `tokenize` stage on it (2 CPUs).
fn run_stage(spm: &Path, rows: &[[String; 5]], work: &Path) -> f64 {
    let tables = work.join("tables");
    let out = work.join("out");
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let n = rows.len();
    let mut columns = vec![
        Column::new("ID".into(), (0..n as i64).collect::<Vec<_>>()),
        Column::new(
            "img_path".into(),
            (0..n)
                .map(|i| format!("images/v7w_{i}.jpg"))
                .collect::<Vec<_>>(),
        ),
    ];
    for (k, name) in ["Question", "A", "B", "C", "D"].iter().enumerate() {
        columns.push(Column::new(
            (*name).into(),
            rows.iter().map(|r| r[k].as_str()).collect::<Vec<_>>(),
        ));
    }
    columns.push(Column::new(
        "answer".into(),
        (0..n)
            .map(|i| ["A", "B", "C", "D"][i % 4])
            .collect::<Vec<_>>(),
    ));
    let mut frame = DataFrame::new(n, columns).unwrap();
    ParquetWriter::new(File::create(tables.join("train.parquet")).unwrap())
        .finish(&mut frame)
        .unwrap();

    let stage = pipeline_stages_tokenize::stages()
        .into_iter()
        .find(|s| s.kind() == "tokenize")
        .unwrap();
    let prepared = stage
        .prepare(toml::from_str("splits = ['train']").unwrap())
        .unwrap();
    let inputs: BTreeMap<String, Vec<PathBuf>> = [
        ("tokenizer".to_string(), vec![spm.to_path_buf()]),
        ("tables".to_string(), vec![tables]),
    ]
    .into();
    let mut log = Vec::new();
    let cancel = CancelToken::new();
    let mut ctx = StageContext {
        stage: "tokenize",
        root: work,
        inputs: &inputs,
        out_dir: &out,
        gpus: &[],
        cpus: 2,
        progress: &SilentProgress,
        cancel: &cancel,
        log: &mut log,
    };
    let start = Instant::now();
    prepared.run(&mut ctx).unwrap();
    start.elapsed().as_secs_f64()
}
