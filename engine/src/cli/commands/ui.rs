//! `pipeline ui`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pipeline_api::CancelToken;

use super::CliError;
use crate::cli::args::UiArgs;
use crate::registry::Registry;
use crate::ui::{self, Options};

pub fn ui(
    args: &UiArgs,
    cache_flag: Option<&Path>,
    registry: &Registry,
    cancel: &CancelToken,
) -> Result<ExitCode, CliError> {
    let manifest = match &args.manifest {
        Some(manifest) => manifest.clone(),
        None => default_manifest(Path::new("."))?,
    };
    if !manifest.is_file() {
        return Err(CliError::Usage(format!(
            "no manifest at {}",
            manifest.display()
        )));
    }
    let options = Options {
        manifest,
        cache_flag: cache_flag.map(Path::to_path_buf),
        bind: args.bind,
        port: args.port,
    };
    ui::serve(&options, registry, cancel).map_err(CliError::Engine)?;
    Ok(ExitCode::SUCCESS)
}

/// `pipeline.toml`, else the only manifest in `pipelines/`.
fn default_manifest(dir: &Path) -> Result<PathBuf, CliError> {
    let single = dir.join("pipeline.toml");
    if single.is_file() {
        return Ok(single);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir.join("pipelines"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "toml"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CliError::Usage(
            "no manifest given, and neither pipeline.toml nor pipelines/*.toml is here: name one, e.g. `pipeline ui pipelines/demo.toml`".to_string(),
        )),
        many => Err(CliError::Usage(format!(
            "several manifests here; name one: {}",
            many.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
