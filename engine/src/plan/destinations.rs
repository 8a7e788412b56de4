//! Publish destinations, checked at validation before anything runs: not into `.git` or the
//! cache, not published by two stages, not through a symlink that leads out of the project (the
//! same walk as publishing's, creating nothing), and never onto an input: not an input file or
//! folder itself, not inside an input folder, not a folder holding an input.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::{Bound, Range};
use std::path::{Path, PathBuf};

use super::{Builder, InputSource, PlannedStage};
use crate::manifest;
use crate::plan::expand::Instance;
use crate::run::publish::bounds::Bounds;

/// The path inputs of a plan by real path, each with how it was written and the first stage
/// reading it.
struct InputPaths(BTreeMap<PathBuf, (String, String)>);

impl InputPaths {
    fn of(stages: &[PlannedStage]) -> InputPaths {
        let mut seen = HashSet::new();
        let mut all = BTreeMap::new();
        for stage in stages {
            for source in stage.inputs.values().flatten() {
                let InputSource::Path { path, shown } = source else {
                    continue;
                };
                if seen.insert(path) {
                    let reader = (shown.clone(), stage.name.clone());
                    all.entry(manifest::external::resolve(path))
                        .or_insert(reader);
                }
            }
        }
        InputPaths(all)
    }

    /// Why publishing at the real path `real` (written `destination`) would touch an input.
    fn clash(&self, destination: &str, real: &Path) -> Option<String> {
        if let Some((shown, stage)) = self.0.get(real) {
            let what = if shown == destination {
                "it is".to_string()
            } else {
                format!("it leads to `{shown}`,")
            };
            return Some(format!(
                "{what} an input of stage `{stage}`, which publishing would overwrite"
            ));
        }
        let below = self
            .0
            .range::<Path, _>((Bound::Excluded(real), Bound::Unbounded))
            .next();
        if let Some((_, (shown, stage))) = below.filter(|(path, _)| path.starts_with(real)) {
            return Some(format!(
                "`{destination}` holds `{shown}`, an input of stage `{stage}`"
            ));
        }
        let holder = real
            .ancestors()
            .skip(1)
            .find_map(|folder| self.0.get(folder));
        holder.map(|(shown, stage)| {
            format!("`{destination}` is inside `{shown}`, an input folder of stage `{stage}`")
        })
    }
}

impl Builder<'_> {
    /// Checks every publish destination of the plan; see the module's documentation.
    pub(super) fn check_publishes(&mut self, stages: &[PlannedStage], instances: &[Instance]) {
        if stages
            .iter()
            .all(|stage| stage.configured.publishes().is_empty())
        {
            return;
        }
        let cache = self
            .manifest
            .cache_dir
            .clone()
            .unwrap_or_else(|| self.manifest.root.join("cache"));
        let bounds = Bounds::new(&self.manifest.root, &cache).ok();
        let inputs = InputPaths::of(stages);
        let mut seen: HashMap<String, String> = HashMap::new();
        for (stage, instance) in stages.iter().zip(instances) {
            let mark = self.errors.mark();
            for (_, destination) in stage.configured.publishes() {
                let span = instance
                    .table
                    .get("path")
                    .map_or(instance.name_span.clone(), |e| e.value.span.clone());
                let normalized = manifest::normalize(Path::new(&destination));
                let first = normalized
                    .components()
                    .next()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned());
                if matches!(first.as_deref(), Some(".git" | "cache")) {
                    self.error(
                        span.clone(),
                        format!(
                            "stage `{}` may not publish into `{destination}`",
                            stage.name
                        ),
                    );
                }
                if let Some(other) =
                    seen.insert(normalized.display().to_string(), stage.name.clone())
                {
                    self.error(
                        span.clone(),
                        format!(
                            "stages `{other}` and `{}` both publish `{destination}`",
                            stage.name
                        ),
                    );
                }
                if let Some(bounds) = &bounds {
                    self.check_on_disk(&destination, span, bounds, &inputs);
                }
            }
            self.errors.fold_instance(mark, &instance.base);
        }
    }

    /// Where `destination` leads on disk: within bounds, and onto no input.
    fn check_on_disk(
        &mut self,
        destination: &str,
        span: Range<usize>,
        bounds: &Bounds,
        inputs: &InputPaths,
    ) {
        match bounds.check_destination(destination) {
            Err(why) => {
                self.error(span, format!("cannot publish `{destination}`: {why}"));
            }
            Ok(real) => {
                if let Some(why) = inputs.clash(destination, &real) {
                    self.error(span, format!("cannot publish `{destination}`: {why}"))
                        .hint = Some("publishing replaces what is at `path`: give it a path of its own, e.g. under results/".to_string());
                }
            }
        }
    }
}
