//! The bad-input corpus (`tests/bad_inputs/cases.toml`): each case breaks a good project that has
//! already run (its cache filled, its results published) and checks that `pipeline` refuses with
//! the expected exit code and a message naming the file and the problem, and that the failed run
//! committed and published nothing (the cache's `v1/runs` and `v1/objects` and `results/` are
//! byte for byte what they were). Every case runs; the failures are listed together at the end.
//!
//! A case replaces the manifest (`manifest`), appends to the corpus's base manifest (`append`) or
//! edits it (`edit = [[from, to], ...]`), and may write `files`, make `symlinks`, `remove` paths and
//! damage the cache (`corrupt`). In the manifest, files and fragments, `{root}` is the project
//! folder. In fragments, `pipeline.toml:+N:` is line N of the appended text, and `*` stands for a
//! number (`pipeline.toml:+2:*`: some column of that line). Manifest errors (exit 2) are checked
//! on `run`, `run --dry-run` and `status` alike.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

#[derive(Deserialize)]
struct Corpus {
    base: Base,
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Base {
    manifest: String,
    files: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    manifest: Option<String>,
    append: Option<String>,
    #[serde(default)]
    edit: Vec<[String; 2]>,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    #[serde(default)]
    remove: Vec<String>,
    /// `run_record` or `object`: damages the cache instead of the manifest or the data.
    corrupt: Option<String>,
    exit: i32,
    expect: Vec<String>,
}

/// The kinds that come with the `ml` feature: built without it, the cases that use them are skipped.
const ML_KINDS: [&str; 11] = [
    "visual7w",
    "mc_table",
    "synth",
    "contest_files",
    "images",
    "tokenize",
    "tokenizer_train",
    "train",
    "predict",
    "ensemble",
    "evaluate",
];

impl Case {
    fn needs_ml(&self) -> bool {
        let mut texts = self
            .manifest
            .iter()
            .chain(&self.append)
            .chain(self.edit.iter().map(|[_, to]| to));
        texts.any(|text| {
            ML_KINDS
                .iter()
                .any(|kind| text.contains(&format!("kind = \"{kind}\"")))
        })
    }
}

fn corpus() -> Corpus {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs/cases.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_bad_input_is_refused_clearly_and_changes_nothing() {
    let corpus = corpus();
    assert!(
        corpus.case.len() >= 100,
        "the corpus holds {} cases",
        corpus.case.len()
    );
    let mut names = std::collections::BTreeSet::new();
    for case in &corpus.case {
        assert!(
            names.insert(&case.name),
            "two cases are named `{}`",
            case.name
        );
    }
    let good = common::Project::new(&corpus.base.manifest);
    for (path, text) in &corpus.base.files {
        good.write(path, text);
    }
    let first = good.run(&[]);
    assert_eq!(first.code, 0, "the base project fails: {}", first.stderr);
    assert!(
        good.path("results").is_dir(),
        "the base project publishes nothing"
    );
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(case) = corpus.case.get(next.fetch_add(1, Ordering::SeqCst)) {
                    if case.needs_ml() && !cfg!(feature = "ml") {
                        continue;
                    }
                    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        check_case(&good, &corpus.base, case)
                    }));
                    if let Err(why) =
                        checked.unwrap_or_else(|_| Err("the check panicked (see above)".into()))
                    {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("--- {}: {why}", case.name));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        corpus.case.len(),
        failures.join("\n")
    );
}

/// Copies the good project, breaks it as the case says, runs and checks.
fn check_case(good: &common::Project, base: &Base, case: &Case) -> Result<(), String> {
    let project = common::Project::new("");
    copy_tree(good.dir.path(), project.dir.path());
    let root = project.dir.path().to_str().unwrap().to_string();
    let fill = |text: &str| text.replace("{root}", &root);
    let before = snapshot(project.dir.path());
    apply_case(&project, base, case, &fill)?;
    let inputs = snapshot_of(project.dir.path(), &["data"]);
    let base_lines = base.manifest.lines().count();
    let expect: Vec<String> = case
        .expect
        .iter()
        .map(|f| fill(&relative_lines(f, base_lines)))
        .collect();
    if let Some(what) = &case.corrupt {
        return check_corrupt_cache(&project, what, case.exit, &expect);
    }
    let mut commands = vec![vec!["run", "pipeline.toml"]];
    if case.exit == 2 {
        commands.push(vec!["run", "pipeline.toml", "--dry-run"]);
        commands.push(vec!["status", "pipeline.toml"]);
    }
    for args in commands {
        let (code, stdout, stderr) = project.cli(&args);
        let said = format!("{stderr}{stdout}");
        let command = args.join(" ");
        if code != case.exit {
            return Err(format!(
                "`{command}` exited {code}, expected {}:\n{said}",
                case.exit
            ));
        }
        if let Some(missing) = expect.iter().find(|f| !matches(&said, f)) {
            return Err(format!("`{command}` does not say `{missing}`:\n{said}"));
        }
    }
    let mut changed = differences(&before, &snapshot(project.dir.path()));
    changed.extend(differences(
        &inputs,
        &snapshot_of(project.dir.path(), &["data"]),
    ));
    match changed {
        changed if changed.is_empty() => Ok(()),
        changed => Err(format!(
            "the failed run changed the cache, the results or the inputs: {changed:?}"
        )),
    }
}

/// Writes the case's manifest, files and links and removes what it removes.
fn apply_case(
    project: &common::Project,
    base: &Base,
    case: &Case,
    fill: &dyn Fn(&str) -> String,
) -> Result<(), String> {
    let mut manifest = match &case.manifest {
        Some(text) => text.clone(),
        None => base.manifest.clone() + case.append.as_deref().unwrap_or(""),
    };
    for [from, to] in &case.edit {
        if !manifest.contains(from.as_str()) {
            return Err(format!("the manifest has no `{from}` to edit"));
        }
        manifest = manifest.replacen(from.as_str(), to, 1);
    }
    project.write("pipeline.toml", &fill(&manifest));
    for (path, text) in &case.files {
        project.write(path, &fill(text));
    }
    for path in &case.remove {
        let path = project.path(path);
        let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
    }
    for (link, target) in &case.symlinks {
        let link = project.path(link);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(fill(target), &link)
            .map_err(|e| format!("linking {}: {e}", link.display()))?;
    }
    Ok(())
}

/// A damaged cache file (`run_record`: a run record; `last_record`: the record of a stage's last
/// run; `object`: the stored output that is published, with the published copy deleted): the run
/// either recovers (exit 0, the published result intact, `cache verify` clean) or fails naming the
/// file to delete.
fn check_corrupt_cache(
    project: &common::Project,
    what: &str,
    exit: i32,
    expect: &[String],
) -> Result<(), String> {
    let published = project.read("results/report.txt");
    let below = |dir: &str| {
        let mut files = common::files_below(&project.path(dir));
        files.sort();
        files
    };
    let victim = match what {
        "run_record" => below("cache/v1/runs").into_iter().next(),
        "last_record" => below("cache/v1/last")
            .into_iter()
            .find(|f| f.ends_with("report.json")),
        "object" => below("cache/v1/objects")
            .into_iter()
            .find(|f| std::fs::read_to_string(f).is_ok_and(|t| t == published)),
        other => return Err(format!("unknown corruption `{other}`")),
    };
    let victim = victim.ok_or("nothing to damage")?;
    let mut permissions = std::fs::metadata(&victim).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&victim, permissions).unwrap();
    std::fs::write(&victim, "{ truncated").unwrap();
    if what == "object" {
        std::fs::remove_file(project.path("results/report.txt")).unwrap();
    }
    let (code, stdout, stderr) = project.cli(&["run", "pipeline.toml"]);
    let said = format!("{stderr}{stdout}");
    let names_victim = said.contains(
        victim
            .strip_prefix(project.dir.path())
            .unwrap()
            .to_str()
            .unwrap(),
    );
    if code != exit && !(code != 0 && names_victim) {
        return Err(format!(
            "`run` exited {code}, expected {exit} or a failure naming {}:\n{said}",
            victim.display()
        ));
    }
    if let Some(missing) = expect.iter().find(|f| !matches(&said, f)) {
        return Err(format!("`run` does not say `{missing}`:\n{said}"));
    }
    if code == 0 {
        if std::fs::read_to_string(project.path("results/report.txt"))
            .ok()
            .as_ref()
            != Some(&published)
        {
            return Err(format!(
                "the run exited 0 but published damaged bytes:\n{said}"
            ));
        }
        let (code, report, err) = project.cli(&["cache", "verify"]);
        if code != 0 {
            return Err(format!(
                "`cache verify` after the run exited {code}:\n{report}{err}"
            ));
        }
    }
    Ok(())
}

/// `pipeline.toml:+N:` -> `pipeline.toml:<base_lines + N>:`.
fn relative_lines(fragment: &str, base_lines: usize) -> String {
    let marker = "pipeline.toml:+";
    let Some(at) = fragment.find(marker) else {
        return fragment.to_string();
    };
    let rest = &fragment[at + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let line = base_lines
        + digits
            .parse::<usize>()
            .expect("a line number after `pipeline.toml:+`");
    format!(
        "{}pipeline.toml:{line}{}",
        &fragment[..at],
        &rest[digits.len()..]
    )
}

/// Whether `text` holds `fragment`, each `*` in it standing for one or more digits.
fn matches(text: &str, fragment: &str) -> bool {
    let parts: Vec<&str> = fragment.split('*').collect();
    text.match_indices(parts[0]).any(|(start, _)| {
        let mut rest = &text[start + parts[0].len()..];
        for part in &parts[1..] {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 || !rest[digits..].starts_with(part) {
                return false;
            }
            rest = &rest[digits + part.len()..];
        }
        true
    })
}

/// Paths and bytes of the cache's run records and outputs and of the published results.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot_of(root, &["cache/v1/runs", "cache/v1/objects", "results"])
}

/// Paths and bytes of the files below `dirs`; a symbolic link is recorded by its target, never
/// followed.
fn snapshot_of(root: &Path, dirs: &[&str]) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    let mut pending: Vec<PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let relative = path.strip_prefix(root).unwrap().to_path_buf();
        if meta.is_symlink() {
            let target = std::fs::read_link(&path).unwrap_or_default();
            all.insert(relative, format!("-> {}", target.display()).into_bytes());
        } else if meta.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            all.insert(relative, std::fs::read(&path).unwrap_or_default());
        }
    }
    all
}

fn differences(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
) -> Vec<String> {
    let mut changed = Vec::new();
    for (path, bytes) in before {
        match after.get(path) {
            None => changed.push(format!("{} removed", path.display())),
            Some(now) if now != bytes => changed.push(format!("{} changed", path.display())),
            _ => {}
        }
    }
    changed.extend(
        after
            .keys()
            .filter(|p| !before.contains_key(*p))
            .map(|p| format!("{} added", p.display())),
    );
    changed
}

fn copy_tree(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "copying {} failed", from.display());
}
