//! Reading a pipeline manifest: the `[pipeline]` settings, shared `[vars]` and `[stage.NAME]`
//! tables, kept with their spans. What stage tables mean is decided later, in `plan`.

pub mod diagnostics;
pub mod engine_keys;
pub mod external;
pub mod reference;
pub mod value;

use std::path::{Path, PathBuf};

use crate::manifest::diagnostics::{Diagnostic, Diagnostics, SourceFile, did_you_mean};
use crate::manifest::value::{Entry, SKind, SValue, parse_document};

/// A parsed manifest, before variables, matrices and references are resolved.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub source: SourceFile,
    /// The project root, absolute: relative paths in the manifest start here.
    pub root: PathBuf,
    /// `[pipeline] cache`, absolute, if set.
    pub cache_dir: Option<PathBuf>,
    /// `[pipeline] external`: folders outside the root that inputs may read, symlinks resolved.
    pub external: Vec<PathBuf>,
    /// `[pipeline] max_instances`: the most stage instances the matrices may make.
    pub max_instances: u64,
    /// `[pipeline] executor`: `"local"` or `"slurm"`, if set (`run --executor` overrides it).
    pub executor: Option<String>,
    /// `[pipeline] remote`: a shared cache, `s3://bucket/prefix`, if set.
    pub remote: Option<String>,
    /// The `[vars]` table (empty if none).
    pub vars: SValue,
    pub stages: Vec<StageDecl>,
}

/// One `[stage.NAME]` table as written.
#[derive(Debug, Clone)]
pub struct StageDecl {
    pub name: String,
    pub name_span: std::ops::Range<usize>,
    pub table: SValue,
}

const TOP_LEVEL_KEYS: [&str; 3] = ["pipeline", "vars", "stage"];
const PIPELINE_KEYS: [&str; 6] = [
    "root",
    "cache",
    "external",
    "max_instances",
    "executor",
    "remote",
];
/// The values `[pipeline] executor` takes.
pub const EXECUTORS: [&str; 2] = ["local", "slurm"];

/// Reads and parses `path`. Structural problems are returned all at once.
pub fn load(path: &Path) -> Result<Manifest, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        let source = SourceFile {
            path: path.to_path_buf(),
            text: "".into(),
        };
        let mut all = Diagnostics::default();
        all.push(Diagnostic::new(
            &source,
            None,
            format!("cannot read the manifest: {error}"),
        ));
        all
    })?;
    parse(path, &text)
}

/// Parses manifest text; `path` names it in messages and anchors relative paths.
pub fn parse(path: &Path, text: &str) -> Result<Manifest, Diagnostics> {
    let source = SourceFile {
        path: path.to_path_buf(),
        text: text.into(),
    };
    let mut errors = Diagnostics::default();
    let document = match parse_document(text) {
        Ok(document) => document,
        Err((span, message)) => {
            errors.push(Diagnostic::new(
                &source,
                span,
                format!("invalid TOML: {}", message.trim()),
            ));
            return Err(errors);
        }
    };
    check_keys(
        &source,
        &document,
        &TOP_LEVEL_KEYS,
        "top-level",
        &mut errors,
    );
    let settings = pipeline_settings(&source, &document, &mut errors);
    let setting = |key: &str| {
        settings
            .as_ref()
            .and_then(|s| s.get(key))
            .map(|e| string_entry(&source, e, &mut Diagnostics::default()))
    };
    let root = project_root(&source, settings.as_ref(), &absolute_dir(path), &mut errors);
    let cache_dir = setting("cache")
        .flatten()
        .map(|cache| normalize(&root.join(cache)));
    if let Some(entry) = settings.as_ref().and_then(|s| s.get("cache")) {
        string_entry(&source, entry, &mut errors);
    }
    let external = external::allowed_roots(&source, settings.as_ref(), &root, &mut errors);
    let max_instances = crate::plan::expand::max_instances(&source, settings.as_ref(), &mut errors);
    let executor = settings
        .as_ref()
        .and_then(|s| s.get("executor"))
        .and_then(|entry| executor_setting(&source, entry, &mut errors));
    let remote = settings
        .as_ref()
        .and_then(|s| s.get("remote"))
        .and_then(|entry| remote_setting(&source, entry, &mut errors));
    let vars = document
        .get("vars")
        .map(|e| e.value.clone())
        .unwrap_or(SValue {
            span: 0..0,
            kind: SKind::Table(Vec::new()),
        });
    if vars.as_table().is_none() {
        errors.push(Diagnostic::new(
            &source,
            Some(vars.span.clone()),
            "`vars` must be a table",
        ));
    }
    let stages = stage_decls(&source, &document, &mut errors);
    errors.into_result()?;
    Ok(Manifest {
        source,
        root,
        cache_dir,
        external,
        max_instances,
        executor,
        remote,
        vars,
        stages,
    })
}

/// `[pipeline] remote`, if it is an `s3://bucket[/prefix]` URL.
fn remote_setting(source: &SourceFile, entry: &Entry, errors: &mut Diagnostics) -> Option<String> {
    let url = string_entry(source, entry, errors)?;
    let bucket = url
        .strip_prefix("s3://")
        .map(|rest| rest.split('/').next().unwrap_or_default());
    if bucket.is_some_and(|bucket| !bucket.is_empty()) {
        return Some(url);
    }
    errors.push(
        Diagnostic::new(
            source,
            Some(entry.value.span.clone()),
            format!("`remote` must be an s3://bucket/prefix URL, not `{url}`"),
        )
        .with_hint("credentials and endpoint come from AWS_* environment variables, never from the manifest"),
    );
    None
}

/// `[pipeline] executor`, if it names one.
fn executor_setting(
    source: &SourceFile,
    entry: &Entry,
    errors: &mut Diagnostics,
) -> Option<String> {
    let name = string_entry(source, entry, errors)?;
    if EXECUTORS.contains(&name.as_str()) {
        return Some(name);
    }
    errors.push(
        Diagnostic::new(
            source,
            Some(entry.value.span.clone()),
            format!("unknown executor `{name}`"),
        )
        .with_hint(format!("executor is one of: {}", EXECUTORS.join(", "))),
    );
    None
}

/// The `[pipeline]` table, if the manifest has one and it is a table; its keys are checked.
fn pipeline_settings(
    source: &SourceFile,
    document: &SValue,
    errors: &mut Diagnostics,
) -> Option<SValue> {
    let entry = document.get("pipeline")?;
    if entry.value.as_table().is_none() {
        let message = format!(
            "`pipeline` must be a table of settings, not {}",
            entry.value.type_name()
        );
        errors.push(Diagnostic::new(source, Some(entry.value.span.clone()), message)
            .with_hint(format!("write the settings under a [pipeline] header, e.g. [pipeline] root = \".\"; valid keys: {}", PIPELINE_KEYS.join(", "))));
        return None;
    }
    check_keys(source, &entry.value, &PIPELINE_KEYS, "[pipeline]", errors);
    Some(entry.value.clone())
}

/// `[pipeline] root` joined to the manifest's folder (that folder without it); a root that is
/// not an existing folder is reported at its value.
fn project_root(
    source: &SourceFile,
    settings: Option<&SValue>,
    manifest_dir: &Path,
    errors: &mut Diagnostics,
) -> PathBuf {
    let Some(entry) = settings.and_then(|s| s.get("root")) else {
        return manifest_dir.to_path_buf();
    };
    let Some(written) = string_entry(source, entry, errors) else {
        return manifest_dir.to_path_buf();
    };
    let root = normalize(&manifest_dir.join(&written));
    if !root.is_dir() {
        let what = if root.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        errors.push(Diagnostic::new(source, Some(entry.value.span.clone()), format!("the project root `{written}` {what} (looked for `{}`)", root.display()))
            .with_hint(format!("`root` is relative to the manifest's folder `{}`; create the folder or correct the path", manifest_dir.display())));
    }
    root
}

impl Manifest {
    /// `Err((message, hint))` when input `shown`, at `path`, lies outside the root and outside
    /// every `[pipeline] external` folder.
    pub fn check_input_path(&self, shown: &str, path: &Path) -> Result<(), (String, String)> {
        external::check_input(&self.root, &self.external, shown, path)
    }

    /// Like [`Self::check_input_path`], for the symlinks inside the input folder `path`.
    pub fn check_input_folder(&self, shown: &str, path: &Path) -> Result<(), (String, String)> {
        external::check_folder(&self.root, &self.external, shown, path)
    }
}

fn stage_decls(source: &SourceFile, document: &SValue, errors: &mut Diagnostics) -> Vec<StageDecl> {
    let Some(stages) = document.get("stage") else {
        errors.push(
            Diagnostic::new(source, Some(0..0), "the manifest declares no stage")
                .with_hint("add a table such as [stage.prepare] with kind = \"exec\""),
        );
        return Vec::new();
    };
    let Some(entries) = stages.value.as_table() else {
        errors.push(Diagnostic::new(
            source,
            Some(stages.value.span.clone()),
            "`stage` must hold tables: [stage.NAME]",
        ));
        return Vec::new();
    };
    let mut decls = Vec::new();
    for Entry {
        key,
        key_span,
        value,
    } in entries
    {
        if !valid_name(key) {
            errors.push(
                Diagnostic::new(
                    source,
                    Some(key_span.clone()),
                    format!("invalid stage name `{key}`"),
                )
                .with_hint("use letters, digits, `_` and `-`"),
            );
        }
        if value.as_table().is_none() {
            errors.push(Diagnostic::new(
                source,
                Some(value.span.clone()),
                format!("stage `{key}` must be a table"),
            ));
            continue;
        }
        decls.push(StageDecl {
            name: key.clone(),
            name_span: key_span.clone(),
            table: value.clone(),
        });
    }
    decls
}

/// Stage names: letters, digits, `_`, `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_keys(
    source: &SourceFile,
    table: &SValue,
    allowed: &[&str],
    what: &str,
    errors: &mut Diagnostics,
) {
    for entry in table.as_table().unwrap_or_default() {
        if !allowed.contains(&entry.key.as_str()) {
            let mut diagnostic = Diagnostic::new(
                source,
                Some(entry.key_span.clone()),
                format!("unknown {what} key `{}`", entry.key),
            );
            diagnostic = match did_you_mean(&entry.key, allowed.iter().copied()) {
                Some(close) => diagnostic.with_hint(format!("did you mean `{close}`?")),
                None => diagnostic.with_hint(format!("valid keys: {}", allowed.join(", "))),
            };
            errors.push(diagnostic);
        }
    }
}

fn string_entry(source: &SourceFile, entry: &Entry, errors: &mut Diagnostics) -> Option<String> {
    match entry.value.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            errors.push(Diagnostic::new(
                source,
                Some(entry.value.span.clone()),
                format!("`{}` must be a string", entry.key),
            ));
            None
        }
    }
}

fn absolute_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    normalize(&std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()))
}

/// Removes `.` and resolves `..` lexically (no symlink resolution, so no surprises on NFS).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}
