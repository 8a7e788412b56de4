//! The types of the engine's keys in a stage table that nothing else checks: `resources` must be
//! a table and `desc` a string. (`kind`, `inputs`, `always_run` and `matrix` are checked where
//! they are read.) Run on each instance, after `${vars.*}` and `${matrix.*}` are replaced.

use crate::manifest::diagnostics::{Diagnostic, Diagnostics, SourceFile};
use crate::manifest::value::SValue;

/// An engine key, the type it takes as a message names it, an example, and the test of a value.
type KeyType = (
    &'static str,
    &'static str,
    &'static str,
    fn(&SValue) -> bool,
);

/// Each engine key with the type it takes.
const TYPES: [KeyType; 2] = [
    (
        "resources",
        "a table",
        "resources = { cpus = 4, gpu = 1 }",
        |v| v.as_table().is_some(),
    ),
    ("desc", "a string", "desc = \"what the stage does\"", |v| {
        v.as_str().is_some()
    }),
];

/// Pushes a diagnostic for each engine key of `table` whose value has the wrong type.
pub fn check(source: &SourceFile, table: &SValue, errors: &mut Diagnostics) {
    for (key, expected, example, fits) in TYPES {
        let Some(entry) = table.get(key) else {
            continue;
        };
        if !fits(&entry.value) {
            let message = format!(
                "`{key}` must be {expected}, not {}",
                entry.value.type_name()
            );
            errors.push(
                Diagnostic::new(source, Some(entry.value.span.clone()), message)
                    .with_hint(format!("write {example}")),
            );
        }
    }
}
