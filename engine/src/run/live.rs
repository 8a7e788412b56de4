//! What a run in progress is doing, for readers in other processes (`pipeline ui`).
//!
//! `v1/live/<run-id>.json` lists the stages running now, with their progress; it is rewritten
//! atomically when a stage starts or ends and at most twice a second as one moves, and removed
//! when the run ends. A killed run leaves it behind with a process that is gone: readers take
//! such a file as over (and the next run removes it). The metrics a stage reports are appended to
//! `v1/logs/<run-id>/<stage>.metrics.jsonl`, next to its log, and stay there.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cache::ids::{RunId, StageKey};
use crate::cache::ledger::now_unix;
use crate::cache::store::{LocalStore, write_atomic};

/// A run in progress, as its live file says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LiveRun {
    pub run_id: RunId,
    pub pipeline: String,
    pub pid: u32,
    pub host: String,
    pub started_unix: u64,
    /// The stages running now, by name.
    pub stages: BTreeMap<String, LiveStage>,
}

/// A running stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LiveStage {
    pub key: Option<StageKey>,
    pub started_unix: u64,
    pub position: u64,
    pub total: u64,
    pub unit: String,
    /// The last line the stage showed.
    pub message: String,
}

/// One metric point, a line of `<stage>.metrics.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricPoint {
    pub name: String,
    pub step: u64,
    pub value: f64,
}

/// The writer of a run's live file.
pub struct LiveBoard {
    path: PathBuf,
    store: LocalStore,
    state: Mutex<Board>,
}

struct Board {
    run: LiveRun,
    last_write: Option<Instant>,
}

/// Progress is written at most this often; starts and ends at once.
const WRITE_EVERY: Duration = Duration::from_millis(500);

impl LiveBoard {
    /// Starts the live file of `run_id`, after removing those that killed runs left.
    pub fn open(store: &LocalStore, run_id: &RunId, pipeline: &str) -> LiveBoard {
        for (path, run) in read_all(store) {
            if !run.is_alive() {
                let _ = std::fs::remove_file(path);
            }
        }
        let board = LiveBoard {
            path: live_dir(store).join(format!("{}.json", run_id.as_str())),
            store: store.clone(),
            state: Mutex::new(Board {
                run: LiveRun {
                    run_id: run_id.clone(),
                    pipeline: pipeline.to_string(),
                    pid: std::process::id(),
                    host: host_name(),
                    started_unix: now_unix(),
                    stages: BTreeMap::new(),
                },
                last_write: None,
            }),
        };
        board.update(true, |_| {});
        board
    }

    pub fn started(&self, stage: &str, key: &StageKey) {
        self.update(true, |run| {
            let entry = LiveStage {
                key: Some(key.clone()),
                started_unix: now_unix(),
                ..LiveStage::default()
            };
            run.stages.insert(stage.to_string(), entry);
        });
    }

    pub fn ended(&self, stage: &str) {
        self.update(true, |run| {
            run.stages.remove(stage);
        });
    }

    /// Changes a running stage's progress; written if the last write is old enough.
    pub fn progress(&self, stage: &str, change: impl FnOnce(&mut LiveStage)) {
        self.update(false, |run| {
            if let Some(entry) = run.stages.get_mut(stage) {
                change(entry);
            }
        });
    }

    /// Appends a metric point to the stage's metrics file (best effort, as the log is).
    pub fn metric(&self, stage: &str, point: &MetricPoint) {
        let run_id = self.state.lock().expect("live board").run.run_id.clone();
        let path = metrics_file(&self.store, &run_id, stage);
        let appended = serde_json::to_string(point)
            .map_err(std::io::Error::other)
            .and_then(|line| append_line(&path, &line));
        if let Err(error) = appended {
            tracing::debug!("could not append to {}: {error}", path.display());
        }
    }

    fn update(&self, now: bool, change: impl FnOnce(&mut LiveRun)) {
        let mut board = self.state.lock().expect("live board");
        change(&mut board.run);
        let due = now || board.last_write.is_none_or(|t| t.elapsed() >= WRITE_EVERY);
        if !due {
            return;
        }
        board.last_write = Some(Instant::now());
        let written = serde_json::to_vec(&board.run)
            .map_err(std::io::Error::other)
            .and_then(|json| {
                std::fs::create_dir_all(live_dir(&self.store))?;
                write_atomic(&self.path, &json)
            });
        if let Err(error) = written {
            tracing::debug!("could not write {}: {error}", self.path.display());
        }
    }
}

impl Drop for LiveBoard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl LiveRun {
    /// Whether the process that writes it still runs (a run on another host is taken as alive).
    pub fn is_alive(&self) -> bool {
        if self.host != host_name() {
            return true;
        }
        let Ok(pid) = libc::pid_t::try_from(self.pid) else {
            return false;
        };
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let result = unsafe { libc::kill(pid, 0) };
        result == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
}

/// The runs of `pipeline` in progress now, oldest first.
pub fn runs_in_progress(store: &LocalStore, pipeline: &str) -> Vec<LiveRun> {
    let mut runs: Vec<LiveRun> = read_all(store)
        .into_iter()
        .map(|(_, run)| run)
        .filter(|run| run.pipeline == pipeline && run.is_alive())
        .collect();
    runs.sort_by_key(|run| run.started_unix);
    runs
}

/// Where a stage's metrics of a run are kept.
pub fn metrics_file(store: &LocalStore, run_id: &RunId, stage: &str) -> PathBuf {
    store
        .log_file(run_id, stage)
        .with_extension("metrics.jsonl")
}

/// The points of a metrics file, by metric name in step order; unreadable lines are skipped.
pub fn read_metrics(path: &Path) -> BTreeMap<String, Vec<(u64, f64)>> {
    let mut series: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for point in text
        .lines()
        .filter_map(|line| serde_json::from_str::<MetricPoint>(line).ok())
    {
        series
            .entry(point.name)
            .or_default()
            .push((point.step, point.value));
    }
    series
}

fn live_dir(store: &LocalStore) -> PathBuf {
    store.base().join("live")
}

fn read_all(store: &LocalStore) -> Vec<(PathBuf, LiveRun)> {
    let Ok(entries) = std::fs::read_dir(live_dir(store)) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .filter_map(|path| {
            let run = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
            Some((path, run))
        })
        .collect()
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().expect("logs live in a folder"))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{line}\n").as_bytes())
}

pub(crate) fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is writable for its whole length; gethostname writes at most that.
    let result = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if result != 0 {
        return String::new();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_shows_its_running_stages_until_it_ends_and_keeps_its_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let run_id = RunId::new("1-1".to_string());
        let board = LiveBoard::open(&store, &run_id, "demo-x");
        board.started("train", &StageKey::new("ab".repeat(32)));
        board.progress("train", |stage| stage.total = 10);
        board.metric("train", &point("loss/train", 1, 0.5));
        board.metric("train", &point("loss/train", 2, 0.25));
        let runs = runs_in_progress(&store, "demo-x");
        assert_eq!(runs.len(), 1);
        assert!(runs[0].stages.contains_key("train"));
        assert!(runs_in_progress(&store, "other").is_empty());
        board.ended("train");
        assert!(runs_in_progress(&store, "demo-x")[0].stages.is_empty());
        drop(board);
        assert!(runs_in_progress(&store, "demo-x").is_empty());
        let metrics = read_metrics(&metrics_file(&store, &run_id, "train"));
        assert_eq!(metrics["loss/train"], vec![(1, 0.5), (2, 0.25)]);
    }

    #[test]
    fn a_killed_runs_file_is_not_taken_for_a_run_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path()).unwrap();
        let board = LiveBoard::open(&store, &RunId::new("1-1".to_string()), "p");
        // A run of a process that has ended: its file is left as a SIGKILL would leave it.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let mut dead = board.state.lock().unwrap().run.clone();
        dead.pid = child.id();
        dead.run_id = RunId::new("2-2".to_string());
        let dead_file = live_dir(&store).join("2-2.json");
        std::fs::write(&dead_file, serde_json::to_vec(&dead).unwrap()).unwrap();
        let runs = runs_in_progress(&store, "p");
        assert_eq!(runs.len(), 1, "only the live run: {runs:?}");
        // The next run clears it.
        drop(LiveBoard::open(&store, &RunId::new("3-3".to_string()), "p"));
        assert!(!dead_file.exists());
        drop(board);
    }

    fn point(name: &str, step: u64, value: f64) -> MetricPoint {
        MetricPoint {
            name: name.to_string(),
            step,
            value,
        }
    }
}
