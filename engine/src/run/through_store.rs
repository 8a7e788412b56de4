//! The engine reaches results only through the [`Store`] trait: a run whose store keeps its run
//! records elsewhere than the local folder (here in memory, as a shared cache would keep them
//! remotely) commits there, takes its hits from there, and leaves no record in the local folder.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::cache::hashing::ContentHasher;
use crate::cache::ids::{Digest, RunId, StageKey};
use crate::cache::ledger::Outcome;
use crate::cache::stat_cache::StatCache;
use crate::cache::store::{LocalStore, RunRecord, Store};
use crate::plan::Plan;
use crate::run::executor::{self, LocalExecutor, RunOptions};
use crate::run::job::RunContext;
use crate::run::progress::Reporter;
use crate::run::resources::Pool;
use crate::testing;

/// Records in memory, outputs in the local folder's objects.
struct MemoryRecords<'a> {
    outputs: &'a LocalStore,
    records: Mutex<BTreeMap<StageKey, RunRecord>>,
}

impl Store for MemoryRecords<'_> {
    fn lookup(&self, key: &StageKey) -> Option<RunRecord> {
        let record = self.records.lock().unwrap().get(key).cloned()?;
        self.output_path(&record.output).is_dir().then_some(record)
    }

    fn put_output(&self, folder: &Path, digest: &Digest) -> io::Result<PathBuf> {
        self.outputs.put_output(folder, digest)
    }

    fn put_record(&self, record: &RunRecord) -> io::Result<()> {
        let mut records = self.records.lock().unwrap();
        records.insert(record.key.clone(), record.clone());
        Ok(())
    }

    fn output_path(&self, digest: &Digest) -> PathBuf {
        self.outputs.output_path(digest)
    }

    fn discard_output(&self, digest: &Digest) -> io::Result<()> {
        self.outputs.discard_output(digest)
    }
}

const MANIFEST: &str = "[stage.report]\nkind = \"emit\"\ntext = \"report\"\n\
    inputs = { data = \"@prep/out.txt\" }\n\n[stage.prep]\nkind = \"emit\"\ntext = \"x\"\n";

/// Runs every stage of `plan` once with `store` for results; the outcomes in stage order.
fn run_all(plan: &Plan, store: &dyn Store, cache: &LocalStore) -> Vec<Outcome> {
    let stat_cache = StatCache::load(cache.stat_file(), vec![cache.objects_dir()]);
    let context = RunContext {
        plan,
        store,
        cache,
        hasher: ContentHasher::new(&stat_cache),
        pipeline_id: "through-store".to_string(),
        run_id: RunId::new("test-run"),
        cancel: Default::default(),
    };
    let options = RunOptions {
        jobs: 2,
        ..Default::default()
    };
    let reporter = Reporter::detect(false);
    let summary = executor::run(
        &context,
        &LocalExecutor,
        &reporter,
        Pool::new(2, Vec::new()),
        &options,
    );
    assert!(summary.errors.is_empty(), "{:?}", summary.errors);
    summary.outcomes.into_values().collect()
}

#[test]
fn results_are_committed_and_found_through_the_store_trait() {
    let dir = tempfile::tempdir().unwrap();
    let cache = LocalStore::open(dir.path()).unwrap();
    let plan = Plan::from_manifest(testing::manifest(MANIFEST), &testing::registry())
        .unwrap_or_else(|errors| panic!("{errors}"));
    let store = MemoryRecords {
        outputs: &cache,
        records: Mutex::new(BTreeMap::new()),
    };
    assert_eq!(run_all(&plan, &store, &cache), [Outcome::Ran, Outcome::Ran]);
    assert_eq!(store.records.lock().unwrap().len(), 2);
    assert!(
        cache.records().is_empty(),
        "a record was written past the trait"
    );
    let report = plan.index_of("report").unwrap();
    let key = {
        let records = store.records.lock().unwrap();
        records
            .values()
            .find(|r| r.stage == "report")
            .unwrap()
            .output
            .clone()
    };
    let text = std::fs::read_to_string(store.output_path(&key).join("out.txt")).unwrap();
    assert_eq!(text, "report", "stage {report}'s output");

    // The hits come from the store's records ...
    assert_eq!(run_all(&plan, &store, &cache), [Outcome::Hit, Outcome::Hit]);
    // ... not from the local folder: a store without them runs everything again.
    let empty = MemoryRecords {
        outputs: &cache,
        records: Mutex::new(BTreeMap::new()),
    };
    assert_eq!(run_all(&plan, &empty, &cache), [Outcome::Ran, Outcome::Ran]);
}
