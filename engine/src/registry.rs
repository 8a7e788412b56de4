//! The stage kinds a manifest may name. The engine knows none: a binary registers the plugins it
//! is built with (the `pipeline` binary's list is `src/builtin.rs`).

use std::collections::BTreeMap;

use pipeline_api::DynStage;

/// Stage kinds by name.
pub struct Registry {
    stages: BTreeMap<&'static str, Box<dyn DynStage>>,
}

impl Registry {
    pub fn empty() -> Self {
        Self {
            stages: BTreeMap::new(),
        }
    }

    /// Adds a kind. Two plugins claiming one name is a programming error, caught by the tests.
    pub fn register(&mut self, stage: Box<dyn DynStage>) {
        let kind = stage.kind();
        let previous = self.stages.insert(kind, stage);
        assert!(
            previous.is_none(),
            "stage kind `{kind}` is registered twice"
        );
    }

    pub fn get(&self, kind: &str) -> Option<&dyn DynStage> {
        self.stages.get(kind).map(|stage| &**stage)
    }

    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.stages.keys().copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn DynStage> {
        self.stages.values().map(|stage| &**stage)
    }
}
