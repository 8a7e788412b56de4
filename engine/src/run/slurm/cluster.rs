//! The Slurm commands the executor uses, and what their output means: `sbatch --parsable`
//! submits, `squeue --states=all` follows a job (without `sacct`, which needs accounting that
//! clusters often disable), `scontrol show job` tells how a job that left no trace ended,
//! `scancel` ends one.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Where a job is, as `squeue` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for resources, with Slurm's reason (`Resources`, `Priority`, ...).
    Pending(String),
    Running,
    /// Ended: `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, ...
    Ended(String),
    /// No longer known to `squeue` (ended longer ago than the cluster's `MinJobAge`).
    Gone,
}

/// States in which a job still holds or waits for resources.
const ACTIVE: [&str; 8] = [
    "RUNNING",
    "CONFIGURING",
    "COMPLETING",
    "SUSPENDED",
    "STAGE_OUT",
    "SIGNALING",
    "RESV_DEL_HOLD",
    "REQUEUED",
];

/// `sbatch --parsable ARGS SCRIPT`: the job id.
pub fn submit(args: &[String], script: &Path) -> Result<String, String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| {
            format!("cannot start `sbatch` ({e}): is Slurm's client installed and on PATH?")
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`sbatch` refused the job ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    // `--parsable` prints `id` or `id;cluster`.
    let id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`sbatch --parsable` printed `{}`, not a job id",
            stdout.trim()
        ));
    }
    Ok(id)
}

/// The states of the jobs `ids`, in one `squeue` call; a job it no longer lists is absent.
pub fn states(ids: &[String]) -> Result<HashMap<String, JobState>, String> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let output = Command::new("squeue")
        .args(["--states=all", "--noheader", "--format=%i|%T|%r", "--jobs"])
        .arg(ids.join(","))
        .output()
        .map_err(|e| format!("cannot start `squeue` ({e})"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        // Slurm forgets ended jobs after MinJobAge; asked only about such jobs, it calls the
        // ids invalid (asked about several, it lists those it knows).
        if stderr.contains("Invalid job id") {
            return Ok(HashMap::new());
        }
        return Err(format!(
            "`squeue` failed ({}): {}",
            output.status,
            stderr.trim()
        ));
    }
    Ok(parse_states(&String::from_utf8_lossy(&output.stdout)))
}

/// `squeue`'s `%i|%T|%r` lines.
fn parse_states(text: &str) -> HashMap<String, JobState> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().splitn(3, '|');
            let (id, state) = (fields.next()?, fields.next()?);
            let reason = fields.next().unwrap_or_default();
            let state = match state {
                "PENDING" => JobState::Pending(reason.to_string()),
                s if ACTIVE.contains(&s) => JobState::Running,
                s => JobState::Ended(s.to_string()),
            };
            Some((id.to_string(), state))
        })
        .collect()
}

/// How an ended job ended, as `scontrol show job` tells it (while Slurm still knows the job).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ending {
    /// The exit status of its script (`ExitCode=status:signal`).
    pub exit_code: Option<i32>,
    pub reason: String,
    /// The node it ran on.
    pub node: String,
}

/// `scontrol show job --oneliner ID`, or `None` when Slurm no longer knows the job.
pub fn ending(id: &str) -> Option<Ending> {
    let output = Command::new("scontrol")
        .args(["show", "job", "--oneliner", id])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| parse_ending(&String::from_utf8_lossy(&output.stdout)))
}

/// `scontrol`'s `Key=value` fields.
fn parse_ending(text: &str) -> Ending {
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_default()
            .to_string()
    };
    Ending {
        exit_code: field("ExitCode")
            .split(':')
            .next()
            .and_then(|c| c.parse().ok()),
        reason: field("Reason"),
        node: field("NodeList"),
    }
}

/// `scancel ID`; a job that already ended is no error.
pub fn cancel(id: &str) {
    match Command::new("scancel").arg(id).output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => tracing::warn!(
            "scancel {id}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => tracing::warn!("cannot start `scancel` for job {id}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeue_lines_read_as_states() {
        let states = parse_states(
            "7|PENDING|Resources\n8|RUNNING|None\n9|COMPLETING|None\n\
             10|OUT_OF_MEMORY|OutOfMemory\n11|CANCELLED|None\n",
        );
        assert_eq!(states["7"], JobState::Pending("Resources".into()));
        assert_eq!(states["8"], JobState::Running);
        assert_eq!(states["9"], JobState::Running);
        assert_eq!(states["10"], JobState::Ended("OUT_OF_MEMORY".into()));
        assert_eq!(states["11"], JobState::Ended("CANCELLED".into()));
        assert_eq!(states.len(), 5);
        assert!(parse_states("").is_empty());
    }

    #[test]
    fn scontrol_fields_tell_how_a_job_ended() {
        let ending = parse_ending(
            "JobId=4 JobName=x UserId=nobody(65534) JobState=FAILED Reason=JobLaunchFailure \
             Dependency=(null) ExitCode=97:0 ReqNodeList=(null) NodeList=node7 BatchHost=node7",
        );
        assert_eq!(
            ending,
            Ending {
                exit_code: Some(97),
                reason: "JobLaunchFailure".into(),
                node: "node7".into()
            }
        );
        assert_eq!(parse_ending("").exit_code, None);
    }
}
