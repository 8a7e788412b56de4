//! CPUs and GPUs of this machine, leased to running stages so that none is over-committed.

use crate::plan::Resources;
use crate::run::job::Grant;

/// What is free right now.
#[derive(Debug, Clone)]
pub struct Pool {
    total_cpus: usize,
    free_cpus: usize,
    free_gpus: Vec<u32>,
    total_gpus: usize,
    /// Resources are a cluster's, leased by its scheduler: every request is granted here.
    cluster: bool,
}

impl Pool {
    pub fn new(cpus: usize, gpus: Vec<u32>) -> Self {
        let cpus = cpus.max(1);
        Self {
            total_cpus: cpus,
            free_cpus: cpus,
            total_gpus: gpus.len(),
            free_gpus: gpus,
            cluster: false,
        }
    }

    /// A pool that grants everything: stages run as cluster jobs, whose scheduler (Slurm) leases
    /// CPUs and GPUs and tells each job its GPU ids.
    pub fn cluster() -> Self {
        Self {
            cluster: true,
            ..Self::new(1, Vec::new())
        }
    }

    /// GPUs there are in all (unbounded for a cluster's pool: its scheduler says no).
    pub fn total_gpus(&self) -> usize {
        if self.cluster {
            usize::MAX
        } else {
            self.total_gpus
        }
    }

    /// CPUs a stage gets: what it asks for, at most the machine.
    fn cpus_for(&self, wanted: &Resources) -> usize {
        wanted.cpus.clamp(1, self.total_cpus)
    }

    /// Leases what `wanted` needs, if it is free now.
    pub fn try_take(&mut self, wanted: &Resources) -> Option<Grant> {
        if self.cluster {
            return Some(Grant {
                cpus: wanted.cpus.max(1),
                gpus: Vec::new(),
            });
        }
        let cpus = self.cpus_for(wanted);
        if cpus > self.free_cpus || wanted.gpus > self.free_gpus.len() {
            return None;
        }
        self.free_cpus -= cpus;
        let gpus = self.free_gpus.drain(..wanted.gpus).collect();
        Some(Grant { cpus, gpus })
    }

    pub fn give_back(&mut self, grant: Grant) {
        if self.cluster {
            return;
        }
        self.free_cpus += grant.cpus;
        self.free_gpus.extend(grant.gpus);
        self.free_gpus.sort_unstable();
    }
}

/// GPU ids this machine offers to stages: `--gpus`, else `PIPELINE_GPUS`, else
/// `CUDA_VISIBLE_DEVICES` (ids as listed), else what `nvidia-smi -L` lists, else none.
pub fn detect_gpus(flag: Option<&str>) -> Vec<u32> {
    let listed = flag
        .map(str::to_string)
        .or_else(|| std::env::var("PIPELINE_GPUS").ok())
        .or_else(|| std::env::var("CUDA_VISIBLE_DEVICES").ok());
    if let Some(list) = listed {
        return list
            .split(',')
            .filter_map(|id| id.trim().parse().ok())
            .collect();
    }
    let output = std::process::Command::new("nvidia-smi").arg("-L").output();
    match output {
        Ok(output) if output.status.success() => {
            let count = String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|l| l.starts_with("GPU "))
                .count();
            (0..count as u32).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_over_commits() {
        let mut pool = Pool::new(4, vec![0, 1]);
        let gpu_stage = Resources { cpus: 2, gpus: 1 };
        let a = pool.try_take(&gpu_stage).unwrap();
        let b = pool.try_take(&gpu_stage).unwrap();
        assert_eq!((a.gpus.clone(), b.gpus.clone()), (vec![0], vec![1]));
        assert!(pool.try_take(&Resources { cpus: 1, gpus: 0 }).is_none());
        pool.give_back(a);
        assert_eq!(pool.try_take(&gpu_stage).unwrap().gpus, vec![0]);
        let mut small = Pool::new(2, vec![]);
        assert_eq!(
            small
                .try_take(&Resources { cpus: 16, gpus: 0 })
                .unwrap()
                .cpus,
            2
        );
    }
}
