//! A stage's `slurm = { partition = "gpu", time = "12:00:00", mem = "64G", extra = ["--qos=high"] }`:
//! what its Slurm job asks of the cluster beyond `resources`. Read only by the Slurm executor, and
//! never part of the cache key (where a result was computed does not change it).

use std::ops::Range;

use crate::manifest::value::{SKind, SValue};

/// What a stage's Slurm job asks for, besides its CPUs and GPUs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm's formats: `MM`, `HH:MM:SS`, `D-HH`).
    pub time: Option<String>,
    /// `--mem` per node (`64G`).
    pub mem: Option<String>,
    /// More `sbatch` arguments, as written.
    pub extra: Vec<String>,
}

/// The stage table's `slurm` key, and a (span, message) for each thing wrong with it.
pub fn read(table: &SValue) -> (SlurmOptions, Vec<(Range<usize>, String)>) {
    let mut options = SlurmOptions::default();
    let mut errors = Vec::new();
    let Some(entry) = table.get("slurm") else {
        return (options, errors);
    };
    let Some(items) = entry.value.as_table() else {
        let message =
            "`slurm` must be a table, e.g. slurm = { partition = \"gpu\", time = \"12:00:00\" }";
        errors.push((entry.value.span.clone(), message.to_string()));
        return (options, errors);
    };
    for item in items {
        let text = || item.value.as_str().map(str::to_string);
        let slot = match item.key.as_str() {
            "partition" => &mut options.partition,
            "time" => &mut options.time,
            "mem" => &mut options.mem,
            "extra" => {
                match strings(&item.value) {
                    Some(extra) => options.extra = extra,
                    None => errors.push((
                        item.value.span.clone(),
                        "`slurm.extra` must be a list of strings, e.g. [\"--qos=high\"]"
                            .to_string(),
                    )),
                }
                continue;
            }
            other => {
                errors.push((
                    item.key_span.clone(),
                    format!(
                        "unknown key `slurm.{other}`: slurm takes partition, time, mem and extra"
                    ),
                ));
                continue;
            }
        };
        match text() {
            Some(value) => *slot = Some(value),
            None => errors.push((
                item.value.span.clone(),
                format!("`slurm.{}` must be a string", item.key),
            )),
        }
    }
    (options, errors)
}

fn strings(value: &SValue) -> Option<Vec<String>> {
    match &value.kind {
        SKind::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::Plan;
    use crate::testing;

    fn refused(text: &str) -> Vec<String> {
        match Plan::from_manifest(testing::manifest(text), &testing::registry()) {
            Ok(_) => panic!("the plan was accepted"),
            Err(errors) => errors.0.into_iter().map(|d| d.message).collect(),
        }
    }

    #[test]
    fn a_stage_slurm_table_is_read_and_kept_out_of_the_parameters() {
        let text = "[stage.a]\nkind = \"emit\"\n\
                    slurm = { partition = \"gpu\", time = \"1:00:00\", mem = \"8G\", extra = [\"--qos=high\"] }\n";
        let plan = Plan::from_manifest(testing::manifest(text), &testing::registry())
            .unwrap_or_else(|errors| panic!("{errors}"));
        let slurm = &plan.stages[0].slurm;
        assert_eq!(slurm.partition.as_deref(), Some("gpu"));
        assert_eq!(slurm.time.as_deref(), Some("1:00:00"));
        assert_eq!(slurm.mem.as_deref(), Some("8G"));
        assert_eq!(slurm.extra, ["--qos=high"]);
        let params = plan.stages[0].configured.canonical_params();
        assert!(params.get("slurm").is_none(), "{params}");
    }

    #[test]
    fn a_wrong_slurm_table_is_refused_with_what_it_takes() {
        let errors = refused("[stage.a]\nkind = \"emit\"\nslurm = { queue = \"gpu\", time = 5 }\n");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("unknown key `slurm.queue`")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("`slurm.time` must be a string")),
            "{errors:?}"
        );
        let errors = refused("[stage.a]\nkind = \"emit\"\nslurm = \"gpu\"\n");
        assert!(
            errors.iter().any(|e| e.contains("`slurm` must be a table")),
            "{errors:?}"
        );
    }

    #[test]
    fn the_pipeline_executor_is_local_or_slurm() {
        let text = "[pipeline]\nexecutor = \"slurm\"\n\n[stage.a]\nkind = \"emit\"\n";
        let plan = Plan::from_manifest(testing::manifest(text), &testing::registry())
            .unwrap_or_else(|errors| panic!("{errors}"));
        assert_eq!(plan.configured_executor.as_deref(), Some("slurm"));
        let wrong = "[pipeline]\nexecutor = \"pbs\"\n\n[stage.a]\nkind = \"emit\"\n";
        match crate::manifest::parse(&std::env::temp_dir().join("p.toml"), wrong) {
            Ok(_) => panic!("accepted"),
            Err(errors) => assert!(
                errors.to_string().contains("unknown executor `pbs`"),
                "{errors}"
            ),
        }
    }
}
