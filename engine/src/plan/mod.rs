//! Validation: a manifest becomes a [`Plan`] (stage instances bound to their plugins, inputs
//! resolved, the graph checked) or every problem found, each pointing at its text.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use pipeline_api::ConfiguredStage;

use crate::manifest::diagnostics::{Diagnostic, Diagnostics, SourceFile, did_you_mean};
use crate::manifest::reference::{self, Reference};
use crate::manifest::value::{SKind, SValue};
use crate::manifest::{self, Manifest};
use crate::plan::expand::{Instance, expand};
use crate::plan::graph::StageGraph;
use crate::registry::Registry;

mod destinations;
pub mod expand;
pub mod graph;
pub mod param_errors;
pub mod schema;
pub mod slurm_options;

/// Keys of a stage table that belong to the engine; every other key is a plugin parameter.
pub const ENGINE_KEYS: [&str; 7] = [
    "kind",
    "inputs",
    "matrix",
    "resources",
    "always_run",
    "desc",
    "slurm",
];

/// A validated pipeline.
pub struct Plan {
    pub source: SourceFile,
    pub root: PathBuf,
    /// `[pipeline] cache`, if the manifest sets it.
    pub configured_cache: Option<PathBuf>,
    /// `[pipeline] executor`, if the manifest sets it.
    pub configured_executor: Option<String>,
    /// `[pipeline] remote`, if the manifest sets it.
    pub configured_remote: Option<String>,
    pub stages: Vec<PlannedStage>,
    pub graph: StageGraph,
}

/// One stage instance, ready to be keyed and run.
pub struct PlannedStage {
    pub name: String,
    pub kind: &'static str,
    pub version: &'static str,
    /// Its plugin bound to its parameters.
    pub configured: Box<dyn ConfiguredStage>,
    pub inputs: BTreeMap<String, Vec<InputSource>>,
    pub resources: Resources,
    /// Never taken from the cache.
    pub always_run: bool,
    pub desc: Option<String>,
    /// What its job asks of the cluster when stages run on Slurm.
    pub slurm: slurm_options::SlurmOptions,
}

/// Where an input's bytes come from.
#[derive(Debug, Clone)]
pub enum InputSource {
    /// A file or folder outside the cache; `shown` is the path as written.
    Path { path: PathBuf, shown: String },
    /// (Part of) the output of another stage of the plan.
    Output { stage: usize, subpath: String },
}

/// What a stage needs while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub cpus: usize,
    pub gpus: usize,
}

impl Default for Resources {
    fn default() -> Self {
        Self { cpus: 1, gpus: 0 }
    }
}

impl Plan {
    /// Loads and validates a manifest.
    pub fn load(path: &Path, registry: &Registry) -> Result<Plan, Diagnostics> {
        let manifest = manifest::load(path)?;
        Self::from_manifest(manifest, registry)
    }

    pub fn from_manifest(manifest: Manifest, registry: &Registry) -> Result<Plan, Diagnostics> {
        let mut errors = Diagnostics::default();
        let instances = expand(&manifest, &mut errors);
        let mut builder = Builder {
            manifest: &manifest,
            registry,
            errors: &mut errors,
            names: HashMap::new(),
            bases: HashMap::new(),
            folders: HashMap::new(),
        };
        let stages = builder.stages(&instances);
        errors.into_result()?;
        let graph = StageGraph::from_edges(stages.len(), dependencies(&stages));
        if let Some(cycle) = graph.find_cycle() {
            let names: Vec<&str> = cycle.iter().map(|&i| stages[i].name.as_str()).collect();
            let first = instances
                .iter()
                .find(|inst| inst.name == names[0])
                .map(|inst| inst.name_span.clone());
            let mut errors = Diagnostics::default();
            errors.push(
                Diagnostic::new(
                    &manifest.source,
                    first,
                    format!(
                        "the stages form a cycle: {} -> {}",
                        names.join(" -> "),
                        names[0]
                    ),
                )
                .with_hint("a stage cannot depend, directly or not, on its own output"),
            );
            return Err(errors);
        }
        Ok(Plan {
            source: manifest.source,
            root: manifest.root,
            configured_cache: manifest.cache_dir,
            configured_executor: manifest.executor,
            configured_remote: manifest.remote,
            stages,
            graph,
        })
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.stages.iter().position(|stage| stage.name == name)
    }
}

struct Builder<'a> {
    manifest: &'a Manifest,
    registry: &'a Registry,
    errors: &'a mut Diagnostics,
    /// Instance name -> index, for references.
    names: HashMap<String, usize>,
    /// Stage table name -> the indices of its instances, in order, for `@stage` references.
    bases: HashMap<String, Vec<usize>>,
    /// Input folders whose symlinks were checked, with the problem found (message, hint).
    folders: HashMap<PathBuf, Option<(String, String)>>,
}

struct Partial {
    stage: Option<PlannedStage>,
    inputs: Vec<(String, Vec<SValue>)>,
}

impl Builder<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) -> &mut Diagnostic {
        self.errors
            .push(Diagnostic::new(&self.manifest.source, Some(span), message));
        self.errors.0.last_mut().expect("just pushed")
    }

    fn stages(&mut self, instances: &[Instance]) -> Vec<PlannedStage> {
        for (index, instance) in instances.iter().enumerate() {
            if self.names.insert(instance.name.clone(), index).is_some() {
                self.error(
                    instance.name_span.clone(),
                    format!("two stages are named `{}`", instance.name),
                );
            }
            self.bases
                .entry(instance.base.clone())
                .or_default()
                .push(index);
        }
        let partials: Vec<Partial> = instances
            .iter()
            .map(|instance| {
                let mark = self.errors.mark();
                let partial = self.instance(instance);
                self.errors.fold_instance(mark, &instance.base);
                partial
            })
            .collect();
        let outputs: Vec<Option<Vec<String>>> = partials
            .iter()
            .map(|p| p.stage.as_ref().map(|s| s.configured.outputs()))
            .collect();
        let mut stages = Vec::new();
        for (index, partial) in partials.into_iter().enumerate() {
            let mut inputs = BTreeMap::new();
            let mark = self.errors.mark();
            for (name, values) in &partial.inputs {
                let sources = values
                    .iter()
                    .flat_map(|value| self.resolve(index, value, instances, &outputs))
                    .collect();
                inputs.insert(name.clone(), sources);
            }
            let resolved = self.errors.mark() == mark;
            if let Some(mut stage) = partial.stage {
                stage.inputs = inputs;
                if resolved {
                    let plugin = self.registry.get(stage.kind).expect("kind was checked");
                    self.errors.0.extend(param_errors::check_inputs(
                        &self.manifest.source,
                        &instances[index],
                        plugin,
                        &stage,
                    ));
                }
                stages.push(stage);
            }
            self.errors.fold_instance(mark, &instances[index].base);
        }
        if stages.len() == instances.len() {
            self.check_publishes(&stages, instances);
        }
        stages
    }

    /// Binds one instance to its plugin and reads the engine's keys.
    fn instance(&mut self, instance: &Instance) -> Partial {
        let table = &instance.table;
        let kind = self.kind(instance);
        let inputs = self.input_table(table);
        let resources = self.resources(table);
        manifest::engine_keys::check(&self.manifest.source, table, self.errors);
        let always_run = match table.get("always_run").map(|e| &e.value) {
            None => false,
            Some(SValue {
                kind: SKind::Bool(b),
                ..
            }) => *b,
            Some(other) => {
                self.error(other.span.clone(), "`always_run` must be true or false");
                false
            }
        };
        let desc = table
            .get("desc")
            .and_then(|e| e.value.as_str())
            .map(str::to_string);
        let (slurm, slurm_errors) = slurm_options::read(table);
        for (span, message) in slurm_errors {
            self.error(span, message);
        }
        let Some(kind) = kind else {
            return Partial {
                stage: None,
                inputs,
            };
        };
        let params = toml::Value::Table(
            table
                .as_table()
                .unwrap_or_default()
                .iter()
                .filter(|e| !ENGINE_KEYS.contains(&e.key.as_str()))
                .map(|e| (e.key.clone(), e.value.to_toml()))
                .collect(),
        );
        let plugin = self.registry.get(kind).expect("kind was checked");
        let configured = match plugin.prepare(params) {
            Ok(configured) => configured,
            Err(error) => {
                self.param_error(instance, plugin, &error);
                return Partial {
                    stage: None,
                    inputs,
                };
            }
        };
        let stage = PlannedStage {
            name: instance.name.clone(),
            kind: plugin.kind(),
            version: plugin.version(),
            configured,
            inputs: BTreeMap::new(),
            resources,
            always_run,
            desc,
            slurm,
        };
        Partial {
            stage: Some(stage),
            inputs,
        }
    }

    fn kind(&mut self, instance: &Instance) -> Option<&'static str> {
        let Some(entry) = instance.table.get("kind") else {
            let kinds = self.registry.kinds().collect::<Vec<_>>().join(", ");
            self.error(
                instance.name_span.clone(),
                format!("stage `{}` has no `kind`", instance.base),
            )
            .hint = Some(format!("add kind = \"...\", one of: {kinds}"));
            return None;
        };
        let Some(name) = entry.value.as_str() else {
            self.error(entry.value.span.clone(), "`kind` must be a string");
            return None;
        };
        if let Some(plugin) = self.registry.get(name) {
            return Some(plugin.kind());
        }
        let hint = match did_you_mean(name, self.registry.kinds()) {
            Some(close) => format!("did you mean `{close}`? (`pipeline stages` lists every kind)"),
            None => format!(
                "known kinds: {} (`pipeline stages` describes them)",
                self.registry.kinds().collect::<Vec<_>>().join(", ")
            ),
        };
        self.error(
            entry.value.span.clone(),
            format!("unknown stage kind `{name}`"),
        )
        .hint = Some(hint);
        None
    }

    fn param_error(
        &mut self,
        instance: &Instance,
        plugin: &dyn pipeline_api::DynStage,
        error: &pipeline_api::ParamError,
    ) {
        for diagnostic in param_errors::diagnose(&self.manifest.source, instance, plugin, error) {
            self.errors.push(diagnostic);
        }
    }

    fn input_table(&mut self, table: &SValue) -> Vec<(String, Vec<SValue>)> {
        let Some(entry) = table.get("inputs") else {
            return Vec::new();
        };
        let Some(entries) = entry.value.as_table() else {
            self.error(
                entry.value.span.clone(),
                "`inputs` must be a table: inputs = { data = \"@prepare/data.csv\" }",
            );
            return Vec::new();
        };
        let mut inputs = Vec::new();
        for input in entries {
            match &input.value.kind {
                SKind::String(_) => inputs.push((input.key.clone(), vec![input.value.clone()])),
                SKind::Array(items) if items.iter().all(|i| i.as_str().is_some()) => {
                    inputs.push((input.key.clone(), items.clone()))
                }
                _ => {
                    self.error(
                        input.value.span.clone(),
                        format!(
                            "input `{}` must be a reference string or an array of them",
                            input.key
                        ),
                    );
                }
            }
        }
        inputs
    }

    fn resources(&mut self, table: &SValue) -> Resources {
        let mut resources = Resources::default();
        let Some(entry) = table.get("resources") else {
            return resources;
        };
        for item in entry.value.as_table().unwrap_or_default() {
            let count = match item.value.kind {
                SKind::Integer(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => {
                    self.error(
                        item.value.span.clone(),
                        format!("`resources.{}` must be a non-negative integer", item.key),
                    );
                    continue;
                }
            };
            match item.key.as_str() {
                "cpus" => resources.cpus = count.max(1),
                "gpu" | "gpus" => resources.gpus = count,
                other => {
                    self.error(item.key_span.clone(), format!("unknown resource `{other}`"))
                        .hint = Some("resources are `cpus` and `gpu`".to_string());
                }
            }
        }
        resources
    }

    /// Resolves one reference of stage `index`.
    fn resolve(
        &mut self,
        index: usize,
        value: &SValue,
        instances: &[Instance],
        outputs: &[Option<Vec<String>>],
    ) -> Vec<InputSource> {
        let text = value.as_str().expect("inputs are strings");
        match reference::parse(text) {
            Err(message) => {
                self.error(value.span.clone(), message);
                Vec::new()
            }
            Ok(Reference::Path(shown)) => vec![self.resolve_path(shown, value.span.clone())],
            Ok(Reference::Output {
                stage,
                selector,
                subpath,
            }) => {
                let Some(targets) = self.output_targets(
                    index,
                    text,
                    &stage,
                    selector.as_deref(),
                    value.span.clone(),
                    instances,
                ) else {
                    return Vec::new();
                };
                for &target in &targets {
                    if let Some(Some(declared)) = outputs.get(target)
                        && !subpath.is_empty()
                        && !declares(declared, &subpath)
                    {
                        let list = if declared.is_empty() {
                            "none".to_string()
                        } else {
                            declared.join(", ")
                        };
                        self.error(
                            value.span.clone(),
                            format!(
                                "stage `{}` declares no output `{subpath}`",
                                instances[target].name
                            ),
                        )
                        .hint = Some(format!("its declared outputs: {list}"));
                    }
                }
                targets
                    .into_iter()
                    .map(|stage| InputSource::Output {
                        stage,
                        subpath: subpath.clone(),
                    })
                    .collect()
            }
        }
    }

    /// A path input: it must exist and lie inside the root (or an external folder), and so must
    /// the symlinks inside it when it is a folder (each folder walked once per plan).
    fn resolve_path(&mut self, shown: String, span: Range<usize>) -> InputSource {
        let path = manifest::normalize(&self.manifest.root.join(&shown));
        if !path.exists() {
            self.error(
                span,
                format!(
                    "input file `{shown}` does not exist (looked for `{}`)",
                    path.display()
                ),
            )
            .hint = Some(
                "paths are relative to the project root; `@stage/...` names another stage's output"
                    .to_string(),
            );
        } else if let Err((message, hint)) = self.manifest.check_input_path(&shown, &path) {
            self.error(span, message).hint = Some(hint);
        } else if path.is_dir() {
            let manifest = self.manifest;
            let checked = self
                .folders
                .entry(path.clone())
                .or_insert_with(|| manifest.check_input_folder(&shown, &path).err());
            if let Some((message, hint)) = checked.clone() {
                self.error(span, message).hint = Some(hint);
            }
        }
        InputSource::Path { path, shown }
    }

    /// The instances `@stage` or `@stage[selector]` (written `text`) names, or `None` once the
    /// problem is reported.
    fn output_targets(
        &mut self,
        index: usize,
        text: &str,
        stage: &str,
        selector: Option<&str>,
        span: Range<usize>,
        instances: &[Instance],
    ) -> Option<Vec<usize>> {
        let targets: Vec<usize> = match selector {
            Some(selector) => self
                .names
                .get(&format!("{stage}[{selector}]"))
                .copied()
                .into_iter()
                .collect(),
            None => self.bases.get(stage).cloned().unwrap_or_default(),
        };
        let declared = self.manifest.stages.iter().find(|decl| decl.name == stage);
        if let (true, Some(selector), Some(decl)) = (targets.is_empty(), selector, declared) {
            let (message, hint) = reference::explain_no_instance(
                stage,
                selector,
                decl.table.get("matrix").map(|m| &m.value),
            );
            self.error(span, format!("`{text}` selects no instance: {message}"))
                .hint = Some(hint);
            return None;
        }
        if targets.is_empty() {
            let bases: Vec<&str> = self
                .manifest
                .stages
                .iter()
                .map(|decl| decl.name.as_str())
                .collect();
            let hint = did_you_mean(stage, bases.iter().copied()).map_or_else(
                || format!("stages: {}", bases.join(", ")),
                |close| format!("did you mean `@{close}`?"),
            );
            self.error(span, format!("`{text}` refers to no stage"))
                .hint = Some(hint);
            return None;
        }
        if targets.contains(&index) {
            self.error(
                span,
                format!(
                    "stage `{}` takes its own output as input",
                    instances[index].name
                ),
            );
            return None;
        }
        Some(targets)
    }
}

/// Whether `subpath` is a declared output, inside a declared folder, or a folder holding some.
fn declares(declared: &[String], subpath: &str) -> bool {
    declared.iter().any(|output| {
        let output = output.trim_end_matches('/');
        output == subpath
            || subpath.starts_with(&format!("{output}/"))
            || output.starts_with(&format!("{subpath}/"))
    })
}

/// `(from, to)` for each stage `to` that reads the output of stage `from`.
fn dependencies(stages: &[PlannedStage]) -> impl Iterator<Item = (usize, usize)> + '_ {
    stages.iter().enumerate().flat_map(|(to, stage)| {
        stage
            .inputs
            .values()
            .flatten()
            .filter_map(move |source| match source {
                InputSource::Output { stage, .. } => Some((*stage, to)),
                InputSource::Path { .. } => None,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn plan(text: &str) -> Plan {
        Plan::from_manifest(testing::manifest(text), &testing::registry())
            .unwrap_or_else(|errors| panic!("the plan is refused:\n{errors}"))
    }

    fn refused(text: &str) -> Vec<String> {
        match Plan::from_manifest(testing::manifest(text), &testing::registry()) {
            Ok(_) => panic!("the plan was accepted"),
            Err(errors) => errors.0.into_iter().map(|d| d.message).collect(),
        }
    }

    fn output_of(source: &InputSource) -> (usize, &str) {
        match source {
            InputSource::Output { stage, subpath } => (*stage, subpath.as_str()),
            InputSource::Path { shown, .. } => panic!("a path input: {shown}"),
        }
    }

    #[test]
    fn an_input_naming_another_stage_output_orders_that_stage_first() {
        let plan = plan(
            "[stage.report]\nkind = \"emit\"\ninputs = { data = \"@prep/out.txt\" }\n\n\
             [stage.prep]\nkind = \"emit\"\ntext = \"x\"\n",
        );
        let (report, prep) = (
            plan.index_of("report").unwrap(),
            plan.index_of("prep").unwrap(),
        );
        assert_eq!(
            (report, prep),
            (0, 1),
            "stages keep their declaration order"
        );
        assert_eq!(
            output_of(&plan.stages[report].inputs["data"][0]),
            (prep, "out.txt")
        );
        assert_eq!(plan.graph.upstream(report), [prep]);
        assert_eq!(plan.graph.order(), [prep, report]);
    }

    #[test]
    fn a_stage_is_bound_to_its_plugin_with_parameters_and_engine_keys() {
        let plan = plan(
            "[stage.a]\nkind = \"emit\"\ndesc = \"says hi\"\nalways_run = true\n\
             resources = { cpus = 2 }\ntext = \"hi\"\noutputs = [\"x.txt\", \"d/\"]\n",
        );
        let stage = &plan.stages[0];
        assert_eq!((stage.kind, stage.version), ("emit", "1"));
        assert_eq!(stage.desc.as_deref(), Some("says hi"));
        assert!(stage.always_run);
        assert_eq!(stage.resources, Resources { cpus: 2, gpus: 0 });
        assert_eq!(stage.configured.outputs(), ["x.txt", "d/"]);
        // The engine's keys are not the plugin's parameters; defaults are filled in.
        assert_eq!(
            stage.configured.canonical_params(),
            serde_json::json!({"text": "hi", "outputs": ["x.txt", "d/"], "model": null})
        );
    }

    #[test]
    fn a_reference_to_a_matrix_stage_binds_every_instance_in_order() {
        let plan = plan(
            "[stage.train]\nkind = \"emit\"\nmatrix = { seed = [2, 1] }\n\n\
             [stage.pick]\nkind = \"emit\"\ninputs = { one = \"@train[seed=1]\", all = \"@train\" }\n",
        );
        let pick = &plan.stages[plan.index_of("pick").unwrap()];
        let all: Vec<(usize, &str)> = pick.inputs["all"].iter().map(output_of).collect();
        let train = |name: &str| plan.index_of(name).unwrap();
        assert_eq!(
            all,
            [(train("train[seed=2]"), ""), (train("train[seed=1]"), "")]
        );
        assert_eq!(
            output_of(&pick.inputs["one"][0]),
            (train("train[seed=1]"), "")
        );
    }

    #[test]
    fn a_path_input_resolves_under_the_root_and_keeps_its_words() {
        let root = tempfile::tempdir().expect("temp dir");
        std::fs::write(root.path().join("data.txt"), "bytes").expect("write");
        let manifest = testing::manifest_in(
            root.path(),
            "[stage.a]\nkind = \"emit\"\ninputs = { data = \"data.txt\" }\n",
        );
        let plan = Plan::from_manifest(manifest, &testing::registry()).expect("valid");
        match &plan.stages[0].inputs["data"][0] {
            InputSource::Path { path, shown } => {
                assert_eq!(shown, "data.txt");
                assert_eq!(path, &manifest::normalize(&root.path().join("data.txt")));
            }
            other => panic!("not a path: {other:?}"),
        }
    }

    #[test]
    fn wrong_references_are_all_reported() {
        let errors = refused(
            "[stage.a]\nkind = \"emit\"\n\n\
             [stage.b]\nkind = \"emit\"\ninputs = { x = \"@a/nope.txt\", y = \"@c\", z = \"@b\" }\n",
        );
        assert_eq!(
            errors,
            [
                "stage `a` declares no output `nope.txt`",
                "`@c` refers to no stage",
                "stage `b` takes its own output as input",
            ]
        );
    }

    #[test]
    fn a_cycle_is_refused_with_its_stages() {
        let errors = refused(
            "[stage.a]\nkind = \"emit\"\ninputs = { x = \"@b\" }\n\n\
             [stage.b]\nkind = \"emit\"\ninputs = { x = \"@a\" }\n",
        );
        assert_eq!(errors, ["the stages form a cycle: a -> b -> a"]);
    }

    #[test]
    fn an_unknown_kind_or_parameter_is_refused() {
        let errors =
            refused("[stage.a]\nkind = \"emitt\"\n\n[stage.b]\nkind = \"emit\"\ntxet = \"x\"\n");
        assert_eq!(
            errors,
            [
                "unknown stage kind `emitt`",
                "unknown parameter `txet` for stage kind `emit`",
            ]
        );
    }
}
