//! The stage kinds a manifest may name. This is the one place where kinds are registered.

use std::collections::BTreeMap;

use pipeline_api::DynStage;

/// Stage kinds by name.
pub struct Registry {
    stages: BTreeMap<&'static str, Box<dyn DynStage>>,
}

impl Registry {
    pub fn empty() -> Self {
        Self { stages: BTreeMap::new() }
    }

    /// Every built-in stage kind.
    pub fn builtin() -> Self {
        let mut registry = Self::empty();
        let kinds = [
            pipeline_stages_core::stages(),
            pipeline_stages_download::stages(),
            pipeline_stages_visual7w::stages(),
            pipeline_stages_images::stages(),
            pipeline_stages_tokenize::stages(),
            pipeline_stages_ml::stages(),
            pipeline_stages_vqa::stages(),
        ];
        for stage in kinds.into_iter().flatten() {
            registry.register(stage);
        }
        registry
    }

    /// Adds a kind. Two plugins claiming one name is a programming error, caught by the tests.
    pub fn register(&mut self, stage: Box<dyn DynStage>) {
        let kind = stage.kind();
        let previous = self.stages.insert(kind, stage);
        assert!(previous.is_none(), "stage kind `{kind}` is registered twice");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_kinds_are_registered_and_documented() {
        let registry = Registry::builtin();
        for kind in ["copy", "download", "exec", "publish"] {
            assert!(registry.get(kind).is_some(), "`{kind}` is not registered");
        }
        for stage in registry.iter() {
            assert!(!stage.doc().is_empty(), "`{}` has no doc", stage.kind());
            let schema = stage.params_schema();
            let properties = schema.get("properties").and_then(|p| p.as_object()).cloned().unwrap_or_default();
            for (name, property) in properties {
                assert!(property.get("description").is_some(), "`{}` parameter `{name}` has no doc", stage.kind());
            }
        }
    }
}
