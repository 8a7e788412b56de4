//! The states of every job a run follows, from one `squeue` call at most once per poll interval,
//! however many jobs are in flight: a call per job and interval would put thousands of requests a
//! second on the controller of a large run.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::cluster::{self, JobState};

/// Shared by the threads that follow one job each.
pub struct Watcher {
    poll: Duration,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    followed: BTreeSet<String>,
    states: HashMap<String, JobState>,
    asked: Option<Instant>,
}

impl Watcher {
    pub fn new(poll: Duration) -> Self {
        Self {
            poll,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// How long a thread waits between looks at its job.
    pub fn poll(&self) -> Duration {
        self.poll
    }

    pub fn follow(&self, id: &str) {
        self.inner
            .lock()
            .expect("watcher")
            .followed
            .insert(id.to_string());
    }

    pub fn forget(&self, id: &str) {
        let mut inner = self.inner.lock().expect("watcher");
        inner.followed.remove(id);
        inner.states.remove(id);
    }

    /// The state of job `id`, at most one poll interval old (a job not seen yet asks at once).
    pub fn state(&self, id: &str) -> Result<JobState, String> {
        let mut inner = self.inner.lock().expect("watcher");
        let stale = inner.asked.is_none_or(|at| at.elapsed() >= self.poll);
        if stale || !inner.states.contains_key(id) {
            let ids: Vec<String> = inner.followed.iter().cloned().collect();
            inner.states = cluster::states(&ids)?;
            inner.asked = Some(Instant::now());
        }
        Ok(inner.states.get(id).cloned().unwrap_or(JobState::Gone))
    }
}
