//! `exec`: runs a program given as an argument list, never through a shell.
//!
//! The program runs in the project root with its output directory in `PIPELINE_OUT` and each
//! input in `PIPELINE_INPUT_<NAME>`. Its stdout and stderr go to the stage log. A line of the form
//! `::progress DONE/TOTAL` drives the stage's progress bar. On Linux the program dies with the
//! engine and sees its inputs read-only where the system permits (`exec/sandbox.rs`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pipeline_api::{ParamError, Stage, StageContext, StageError, check_relative};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod placeholders;
mod sandbox;

pub struct Exec;

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecParams {
    /// The program and its arguments, run without a shell. In arguments, `${out}` is the output
    /// directory and `${inputs.NAME}` the path of input NAME. A list input standing alone as an
    /// argument expands to one argument per path; inside a longer argument its paths are joined
    /// with spaces.
    pub cmd: Vec<String>,
    /// Files (and folders, ending in `/`) the program must write into its output directory.
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Extra environment variables for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl Stage for Exec {
    const KIND: &'static str = "exec";
    const VERSION: &'static str = "1";
    const DOC: &'static str = "Runs a program (an argument list, no shell) in the project root. \
        Env: PIPELINE_OUT (output directory), PIPELINE_INPUT_<NAME> (input paths, `:`-separated), \
        PIPELINE_STAGE, PIPELINE_CPUS, CUDA_VISIBLE_DEVICES (granted GPUs). \
        Print `::progress DONE/TOTAL` lines to drive the progress bar.";
    type Params = ExecParams;

    fn validate(params: &ExecParams) -> Result<(), ParamError> {
        if params.cmd.is_empty() || params.cmd[0].is_empty() {
            return Err(ParamError::new(
                "cmd",
                "give the program to run, e.g. [\"python3\", \"train.py\"]",
            ));
        }
        for (index, output) in params.outputs.iter().enumerate() {
            check_relative(output)
                .map_err(|e| ParamError::new(format!("outputs[{index}]"), e.to_string()))?;
        }
        placeholders::check_known(&params.cmd)
    }

    fn check_inputs(
        params: &ExecParams,
        inputs: &BTreeMap<String, usize>,
    ) -> Result<(), ParamError> {
        placeholders::check_inputs(&params.cmd, inputs)
    }

    fn outputs(params: &ExecParams) -> Vec<String> {
        params.outputs.clone()
    }

    fn run(&self, params: &ExecParams, ctx: &mut StageContext<'_>) -> Result<(), StageError> {
        let args = expand_args(&params.cmd, ctx)?;
        let mut command = Command::new(&args[0]);
        command
            .args(&args[1..])
            .current_dir(ctx.root)
            .envs(&params.env)
            .env("PIPELINE_OUT", ctx.out_dir)
            .env("PIPELINE_STAGE", ctx.stage)
            .env("PIPELINE_ROOT", ctx.root)
            .env("PIPELINE_CPUS", ctx.cpus.to_string())
            .env("CUDA_VISIBLE_DEVICES", join_ids(ctx.gpus))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, paths) in ctx.inputs {
            command.env(input_env_name(name), join_paths(paths));
        }
        set_process_group(&mut command);
        let inputs: Vec<PathBuf> = ctx.inputs.values().flatten().cloned().collect();
        sandbox::confine(&mut command, &inputs, ctx.out_dir);
        let mut child = command.spawn().map_err(|e| {
            StageError::failed(format!(
                "cannot start `{}`: {e} (is it installed and on PATH?)",
                args[0]
            ))
        })?;
        let tail = pump_output(&mut child, ctx)?;
        let status = child
            .wait()
            .map_err(|e| StageError::io("waiting for the program", e))?;
        if status.success() {
            check_file_outputs(&params.outputs, ctx.out_dir)
        } else {
            Err(StageError::failed(format!(
                "`{}` {status}; its last lines:\n{}",
                args[0],
                tail.join("\n")
            )))
        }
    }
}

/// An output declared without a trailing `/` is a file (the engine checks that `x/` is a folder).
fn check_file_outputs(outputs: &[String], out_dir: &std::path::Path) -> Result<(), StageError> {
    let folder = outputs
        .iter()
        .find(|output| !output.ends_with('/') && out_dir.join(output).is_dir());
    match folder {
        None => Ok(()),
        Some(output) => Err(StageError::failed(format!(
            "the program wrote a folder where its declared output `{output}` is a file: declare it as \
             `{output}/` in `outputs` if a folder is what it makes"
        ))),
    }
}

/// `PIPELINE_INPUT_` + the name upper-cased, other characters than letters and digits as `_`.
pub fn input_env_name(name: &str) -> String {
    let suffix: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PIPELINE_INPUT_{suffix}")
}

fn join_paths(paths: &[PathBuf]) -> String {
    let parts: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    parts.join(":")
}

fn join_ids(ids: &[u32]) -> String {
    let parts: Vec<String> = ids.iter().map(u32::to_string).collect();
    parts.join(",")
}

/// Replaces `${out}` and `${inputs.NAME}` in each argument.
fn expand_args(cmd: &[String], ctx: &StageContext<'_>) -> Result<Vec<String>, StageError> {
    let mut args = Vec::with_capacity(cmd.len());
    for arg in cmd {
        let whole = arg
            .strip_prefix("${inputs.")
            .and_then(|r| r.strip_suffix('}'))
            .filter(|name| !name.contains('}'));
        if let Some(name) = whole {
            let paths = ctx.input_list(name)?;
            args.extend(paths.iter().map(|p| p.display().to_string()));
            continue;
        }
        args.push(expand_embedded(arg, ctx)?);
    }
    Ok(args)
}

fn expand_embedded(arg: &str, ctx: &StageContext<'_>) -> Result<String, StageError> {
    let mut result = String::new();
    let mut rest = arg;
    while let Some(start) = rest.find("${") {
        result.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| StageError::failed(format!("unclosed `${{` in argument `{arg}`")))?
            + start;
        let name = &rest[start + 2..end];
        if name == "out" {
            result.push_str(&ctx.out_dir.display().to_string());
        } else if let Some(input) = name.strip_prefix("inputs.") {
            let paths: Vec<String> = ctx
                .input_list(input)?
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            result.push_str(&paths.join(" "));
        } else {
            return Err(StageError::failed(format!(
                "unknown placeholder `${{{name}}}` in argument `{arg}`: use `${{out}}` or `${{inputs.NAME}}`"
            )));
        }
        rest = &rest[end + 1..];
    }
    result.push_str(rest);
    Ok(result)
}

/// Streams the program's output into the stage log until it exits; returns the last lines.
fn pump_output(child: &mut Child, ctx: &mut StageContext<'_>) -> Result<Vec<String>, StageError> {
    let (sender, receiver) = mpsc::channel::<String>();
    let readers: Vec<Box<dyn std::io::Read + Send>> = vec![
        Box::new(child.stdout.take().expect("stdout is piped")),
        Box::new(child.stderr.take().expect("stderr is piped")),
    ];
    let threads: Vec<_> = readers
        .into_iter()
        .map(|stream| {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(sender);
    let mut tail: Vec<String> = Vec::new();
    loop {
        match receiver.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => handle_line(line, ctx, &mut tail),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if ctx.cancel.is_cancelled() {
            terminate(child);
            return Err(StageError::Cancelled);
        }
    }
    for thread in threads {
        let _ = thread.join();
    }
    Ok(tail)
}

fn handle_line(line: String, ctx: &mut StageContext<'_>, tail: &mut Vec<String>) {
    if let Some((done, total)) = parse_progress(&line) {
        ctx.progress.start(total, "");
        ctx.progress.set_position(done);
        return;
    }
    ctx.log_line(&line);
    tail.push(line);
    if tail.len() > 20 {
        tail.remove(0);
    }
}

fn parse_progress(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("::progress ")?;
    let (done, total) = rest.split_once('/')?;
    Some((done.trim().parse().ok()?, total.trim().parse().ok()?))
}

#[cfg(unix)]
fn set_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
}

#[cfg(not(unix))]
fn set_process_group(_command: &mut Command) {}

/// Asks the program's whole process group to stop, then kills it after a grace period.
fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        let group = child.id() as i32;
        // SAFETY: kill(2) with a negative pid signals the process group we created for the child.
        unsafe { libc::kill(-group, libc::SIGTERM) };
        for _ in 0..50 {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-group, libc::SIGKILL) };
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse() {
        assert_eq!(parse_progress("::progress 3/10"), Some((3, 10)));
        assert_eq!(parse_progress("progress 3/10"), None);
        assert_eq!(
            input_env_name("train-data.v2"),
            "PIPELINE_INPUT_TRAIN_DATA_V2"
        );
    }
}
