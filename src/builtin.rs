//! The stage plugins built into `pipeline`. This is the one place where kinds are registered. The
//! ML plugins (Visual7W, images, tokenizer, BEiT-3 training and prediction, ensemble and
//! evaluation) come with the default `ml` feature; without it the binary holds the engine with the
//! generic kinds (`exec`, `copy`, `publish`) and `download`.

use pipeline_engine::registry::Registry;

/// Every built-in stage kind.
pub fn registry() -> Registry {
    let mut registry = Registry::empty();
    let kinds = [
        pipeline_stages_core::stages(),
        pipeline_stages_download::stages(),
    ];
    for stage in kinds.into_iter().flatten().chain(ml_stages()) {
        registry.register(stage);
    }
    registry
}

#[cfg(feature = "ml")]
fn ml_stages() -> impl Iterator<Item = Box<dyn pipeline_api::DynStage>> {
    [
        pipeline_stages_visual7w::stages(),
        pipeline_stages_images::stages(),
        pipeline_stages_tokenize::stages(),
        pipeline_stages_ml::stages(),
        pipeline_stages_vqa::stages(),
    ]
    .into_iter()
    .flatten()
}

#[cfg(not(feature = "ml"))]
fn ml_stages() -> impl Iterator<Item = Box<dyn pipeline_api::DynStage>> {
    std::iter::empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_kinds_are_registered_and_documented() {
        let registry = registry();
        let mut expected = vec!["copy", "download", "exec", "publish"];
        if cfg!(feature = "ml") {
            expected.extend([
                "visual7w", "mc_table", "train", "predict", "ensemble", "evaluate",
            ]);
        }
        for kind in expected {
            assert!(registry.get(kind).is_some(), "`{kind}` is not registered");
        }
        for stage in registry.iter() {
            assert!(!stage.doc().is_empty(), "`{}` has no doc", stage.kind());
            for (name, doc) in stage.param_docs() {
                assert!(
                    doc.is_some(),
                    "`{}` parameter `{name}` has no doc",
                    stage.kind()
                );
            }
        }
    }
}
