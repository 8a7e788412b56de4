//! The crate's stage kinds as the engine's registry sees them: named, versioned and documented.

#[test]
fn both_kinds_are_registered_with_documented_parameters() {
    let stages = pipeline_stages_ml::stages();
    let kinds: Vec<&str> = stages.iter().map(|s| s.kind()).collect();
    assert_eq!(kinds, ["ensemble", "evaluate"]);
    for stage in &stages {
        assert_eq!(stage.version(), "1");
        assert!(!stage.doc().is_empty(), "`{}` has no doc", stage.kind());
        let docs = stage.param_docs();
        assert!(!docs.is_empty(), "`{}` lists its parameters", stage.kind());
        for (name, doc) in docs {
            assert!(
                doc.is_some(),
                "`{}` parameter `{name}` has no doc",
                stage.kind()
            );
        }
    }
}

#[test]
fn defaults_enter_the_canonical_parameters() {
    let ensemble = pipeline_stages_ml::stages().remove(0);
    let prepared = ensemble
        .prepare(toml::from_str(r#"method = "vote""#).unwrap())
        .unwrap();
    let canonical = prepared.canonical_params();
    assert_eq!(canonical["max_params"], 3_000_000_000u64);
    assert_eq!(canonical["method"], "vote");
    assert_eq!(
        prepared.outputs(),
        ["predictions.parquet", "submission.csv", "meta.json"]
    );
}
