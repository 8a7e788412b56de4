//! The placeholders `exec` fills in its arguments, checked before anything runs: `${out}` and
//! `${inputs.NAME}` (NAME an input of the stage). `${vars.*}` and `${matrix.*}` were replaced by
//! the engine already, so any other `${...}` left in `cmd` is a mistake.

use std::collections::BTreeMap;

use pipeline_api::ParamError;

/// The names of the placeholders of `arg` (`out`, `inputs.data`), or the message for an unclosed
/// `${`.
fn scan(arg: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = arg;
    while let Some(start) = rest.find("${") {
        let Some(length) = rest[start..].find('}') else {
            return Err(format!("unclosed `${{` in argument `{arg}`"));
        };
        found.push(&rest[start + 2..start + length]);
        rest = &rest[start + length + 1..];
    }
    Ok(found)
}

/// Refuses placeholders `exec` does not know, wherever they are in `cmd`.
pub fn check_known(cmd: &[String]) -> Result<(), ParamError> {
    for (index, arg) in cmd.iter().enumerate() {
        let path = format!("cmd[{index}]");
        for name in scan(arg).map_err(|message| ParamError::new(&path, message))? {
            let known = name == "out"
                || name
                    .strip_prefix("inputs.")
                    .is_some_and(|input| !input.is_empty());
            if !known {
                return Err(ParamError::new(&path, format!("unknown placeholder `${{{name}}}` in argument `{arg}`"))
                    .with_hint("`exec` fills in `${out}` (its output folder) and `${inputs.NAME}` (an input's paths); \
                        `${vars.NAME}` and `${matrix.AXIS}` come from the manifest")
                    .with_choices(name, vec!["out".to_string()]));
            }
        }
    }
    Ok(())
}

/// Refuses `${inputs.NAME}` where NAME is not one of the stage's inputs.
pub fn check_inputs(cmd: &[String], inputs: &BTreeMap<String, usize>) -> Result<(), ParamError> {
    for (index, arg) in cmd.iter().enumerate() {
        for name in scan(arg).unwrap_or_default() {
            let Some(input) = name.strip_prefix("inputs.") else {
                continue;
            };
            if inputs.contains_key(input) {
                continue;
            }
            let declared: Vec<String> = inputs
                .keys()
                .map(|name| format!("${{inputs.{name}}}"))
                .collect();
            let hint = if inputs.is_empty() {
                format!("this stage has no inputs: declare it, inputs = {{ {input} = \"...\" }}")
            } else {
                format!(
                    "this stage's inputs: {}",
                    inputs.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            return Err(ParamError::new(
                format!("cmd[{index}]"),
                format!("`${{inputs.{input}}}` names no input of this stage"),
            )
            .with_hint(hint)
            .with_choices(format!("${{inputs.{input}}}"), declared));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn knows_out_and_inputs_only() {
        assert!(
            check_known(&cmd(&[
                "x",
                "${out}/a",
                "${inputs.data}",
                "--n=${inputs.b} ${out}"
            ]))
            .is_ok()
        );
        let error = check_known(&cmd(&["x", "a${foo}b"])).unwrap_err();
        assert_eq!(error.path, "cmd[1]");
        assert!(
            error.message.contains("unknown placeholder `${foo}`"),
            "{}",
            error.message
        );
        assert!(check_known(&cmd(&["x", "${inputs.}"])).is_err());
        assert!(
            check_known(&cmd(&["x", "${out"]))
                .unwrap_err()
                .message
                .contains("unclosed")
        );
    }

    #[test]
    fn inputs_must_be_declared() {
        let inputs = BTreeMap::from([("data".to_string(), 1)]);
        assert!(check_inputs(&cmd(&["x", "${inputs.data}"]), &inputs).is_ok());
        let error = check_inputs(&cmd(&["x", "${out}", "${inputs.dta}"]), &inputs).unwrap_err();
        assert_eq!(error.path, "cmd[2]");
        assert_eq!(error.choices.unwrap().1, ["${inputs.data}"]);
    }
}
