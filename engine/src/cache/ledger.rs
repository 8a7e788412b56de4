//! The run history: one JSON line per stage per run (`pipeline log`).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cache::ids::{RunId, StageKey};

/// How a stage ended in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Taken from the cache without running.
    Hit,
    /// Ran and was cached.
    Ran,
    Failed,
    /// Not run because a stage it depends on failed.
    Skipped,
    Cancelled,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Ran => "miss",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub run_id: RunId,
    pub pipeline: String,
    pub stage: String,
    pub key: Option<StageKey>,
    pub outcome: Outcome,
    pub duration_s: f64,
    pub finished_unix: u64,
    pub log: Option<String>,
    pub error: Option<String>,
}

/// Appends one entry. Lines are short and written with one `write` in append mode, so
/// concurrent runs interleave whole lines.
pub fn append(file: &Path, entry: &LedgerEntry) -> std::io::Result<()> {
    let mut line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    line.push('\n');
    let mut handle = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    handle.write_all(line.as_bytes())
}

/// Every entry, oldest first; unreadable lines are skipped.
pub fn read(file: &Path) -> Vec<LedgerEntry> {
    std::fs::read_to_string(file)
        .map(|text| {
            text.lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
