//! Running a plan: the executor schedules stages on leased CPUs and GPUs, each job keys its stage
//! and on a miss runs it in staging, checks what it wrote and commits it; publishing places
//! results in the project; progress is shown as bars or plain lines.

pub mod executor;
pub mod job;
pub mod live;
pub mod output_check;
pub mod progress;
pub mod publish;
pub mod resources;
pub mod slurm;

#[cfg(test)]
mod through_store;
