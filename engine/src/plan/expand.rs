//! Variables and matrices: `${vars.seed}` and `${matrix.seed}` are replaced, and a stage with a
//! `matrix` table becomes one instance per combination, named `train[seed=1]`.
//!
//! A string that is exactly one placeholder takes the referenced value with its type (an integer
//! stays an integer); placeholders inside longer strings are replaced by their text. Other
//! namespaces (`${inputs.x}`, `${out}`) are left for the stage to resolve at run time.
//!
//! The instances are counted before any is made: a manifest whose matrices would make more than
//! `[pipeline] max_instances` ([`DEFAULT_MAX_INSTANCES`] unless set) is refused.

use std::collections::HashSet;
use std::ops::Range;

use crate::manifest::diagnostics::{Diagnostic, Diagnostics, SourceFile};
use crate::manifest::value::{Entry, SKind, SValue};
use crate::manifest::{Manifest, StageDecl};

/// One runnable stage: a declared stage, or one combination of a matrix stage.
#[derive(Debug, Clone)]
pub struct Instance {
    /// `train` or `train[seed=1]`.
    pub name: String,
    /// The `[stage.NAME]` it came from.
    pub base: String,
    pub name_span: Range<usize>,
    /// The stage table with placeholders replaced and `matrix` removed.
    pub table: SValue,
}

/// How many stage instances a manifest may make unless `[pipeline] max_instances` says otherwise.
pub const DEFAULT_MAX_INSTANCES: u64 = 200_000;

/// `[pipeline] max_instances`, given the `[pipeline]` table if there is one.
pub fn max_instances(
    source: &SourceFile,
    settings: Option<&SValue>,
    errors: &mut Diagnostics,
) -> u64 {
    let Some(entry) = settings.and_then(|s| s.get("max_instances")) else {
        return DEFAULT_MAX_INSTANCES;
    };
    match entry.value.kind {
        SKind::Integer(n) if n > 0 => n.unsigned_abs(),
        _ => {
            errors.push(Diagnostic::new(source, Some(entry.value.span.clone()), "`max_instances` must be a positive integer")
                .with_hint(format!("the most stage instances the matrices may make (default {DEFAULT_MAX_INSTANCES})")));
            DEFAULT_MAX_INSTANCES
        }
    }
}

/// Expands every stage of the manifest, in declaration order. Nothing is expanded if the
/// matrices would make more instances than the manifest allows.
pub fn expand(manifest: &Manifest, errors: &mut Diagnostics) -> Vec<Instance> {
    if !within_limit(manifest, errors) {
        return Vec::new();
    }
    let mut instances = Vec::new();
    for decl in &manifest.stages {
        let template = without_matrix(&decl.table);
        for combination in combinations(&manifest.source, decl, errors) {
            let scope = Scope {
                vars: &manifest.vars,
                matrix: &combination,
            };
            let mark = errors.mark();
            let table = interpolate(&template, &scope, &manifest.source, errors);
            errors.fold_instance(mark, &decl.name);
            instances.push(Instance {
                name: instance_name(&decl.name, &combination),
                base: decl.name.clone(),
                name_span: decl.name_span.clone(),
                table,
            });
        }
    }
    instances
}

/// The stage table without its `matrix` (not copied into every instance: it may be long).
fn without_matrix(table: &SValue) -> SValue {
    let kind = match &table.kind {
        SKind::Table(entries) => SKind::Table(
            entries
                .iter()
                .filter(|e| e.key != "matrix")
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    };
    SValue {
        span: table.span.clone(),
        kind,
    }
}

/// Whether the matrices make at most `max_instances` instances in all; if not, says so at each
/// stage that is over the limit alone, or else at the one whose instances bring the total over.
fn within_limit(manifest: &Manifest, errors: &mut Diagnostics) -> bool {
    let limit = manifest.max_instances;
    let counts: Vec<u64> = manifest.stages.iter().map(instance_count).collect();
    let total = counts.iter().fold(0u64, |sum, &n| sum.saturating_add(n));
    if total <= limit {
        return true;
    }
    let hint = format!(
        "raise the limit under [pipeline] (max_instances = {}), or make the matrix smaller",
        total.min(i64::MAX.unsigned_abs())
    );
    let alone: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] > limit).collect();
    let blamed = if alone.is_empty() {
        let mut sum = 0u64;
        vec![
            counts
                .iter()
                .position(|&n| {
                    sum = sum.saturating_add(n);
                    sum > limit
                })
                .expect("the total is over"),
        ]
    } else {
        alone
    };
    for index in blamed {
        let decl = &manifest.stages[index];
        let span = decl
            .table
            .get("matrix")
            .map_or(decl.name_span.clone(), |m| m.value.span.clone());
        let mut message = format!(
            "stage `{}` would make {} instance{}",
            decl.name,
            thousands(counts[index]),
            if counts[index] == 1 { "" } else { "s" }
        );
        if counts[index] <= limit {
            message.push_str(&format!(", {} with the other stages", thousands(total)));
        }
        message.push_str(&format!(
            ": more than the limit of {} instances per manifest",
            thousands(limit)
        ));
        errors.push(Diagnostic::new(&manifest.source, Some(span), message).with_hint(hint.clone()));
    }
    false
}

/// The product of the stage's matrix axis lengths (1 without a matrix; a malformed matrix
/// counts as 1, and is reported when expanded).
fn instance_count(decl: &StageDecl) -> u64 {
    let Some(axes) = decl.table.get("matrix").and_then(|m| m.value.as_table()) else {
        return 1;
    };
    axes.iter()
        .fold(1u64, |product, axis| match &axis.value.kind {
            SKind::Array(values) if !values.is_empty() => {
                product.saturating_mul(values.len() as u64)
            }
            _ => product,
        })
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `train[lr=2e-5,seed=1]`: keys sorted, values as written.
pub fn instance_name(base: &str, combination: &[(String, SValue)]) -> String {
    if combination.is_empty() {
        return base.to_string();
    }
    let mut pairs: Vec<String> = combination
        .iter()
        .map(|(k, v)| format!("{k}={}", v.display()))
        .collect();
    pairs.sort();
    format!("{base}[{}]", pairs.join(","))
}

type Combination = Vec<(String, SValue)>;

/// The cartesian product of the stage's matrix (one empty combination if it has none).
fn combinations(
    source: &SourceFile,
    decl: &StageDecl,
    errors: &mut Diagnostics,
) -> Vec<Combination> {
    let Some(matrix) = decl.table.get("matrix") else {
        return vec![Vec::new()];
    };
    let Some(axes) = matrix.value.as_table() else {
        errors.push(
            Diagnostic::new(
                source,
                Some(matrix.value.span.clone()),
                "`matrix` must be a table of arrays",
            )
            .with_hint("matrix = { seed = [1, 2, 3] }"),
        );
        return Vec::new();
    };
    let mut product: Vec<Combination> = vec![Vec::new()];
    for axis in axes {
        let values = match &axis.value.kind {
            SKind::Array(values) if !values.is_empty() => values,
            _ => {
                errors.push(Diagnostic::new(
                    source,
                    Some(axis.value.span.clone()),
                    format!("matrix axis `{}` must be a non-empty array", axis.key),
                ));
                return Vec::new();
            }
        };
        let mut seen = HashSet::new();
        for value in values {
            if matches!(value.kind, SKind::Array(_) | SKind::Table(_)) {
                errors.push(Diagnostic::new(
                    source,
                    Some(value.span.clone()),
                    "matrix values must be strings, numbers or booleans",
                ));
                return Vec::new();
            }
            if !seen.insert(value.display()) {
                errors.push(Diagnostic::new(
                    source,
                    Some(value.span.clone()),
                    format!(
                        "duplicate matrix value `{}`: two instances would share a name",
                        value.display()
                    ),
                ));
            }
        }
        product = product
            .into_iter()
            .flat_map(|base| {
                values.iter().map(move |value| {
                    let mut next = base.clone();
                    next.push((axis.key.clone(), value.clone()));
                    next
                })
            })
            .collect();
    }
    product
}

struct Scope<'a> {
    vars: &'a SValue,
    matrix: &'a [(String, SValue)],
}

impl Scope<'_> {
    fn lookup(&self, reference: &str) -> Result<Option<SValue>, String> {
        let (namespace, path) = reference.split_once('.').unwrap_or((reference, ""));
        match namespace {
            "vars" => {
                let mut current = self.vars;
                for key in path.split('.') {
                    current = &current
                        .get(key)
                        .ok_or_else(|| {
                            format!("unknown variable `vars.{path}`: declare it under [vars]")
                        })?
                        .value;
                }
                Ok(Some(current.clone()))
            }
            "matrix" => self
                .matrix
                .iter()
                .find(|(key, _)| key == path)
                .map(|(_, value)| Some(value.clone()))
                .ok_or_else(|| {
                    format!(
                        "unknown matrix axis `{path}`: this stage's matrix has {}",
                        axis_list(self.matrix)
                    )
                }),
            _ => Ok(None),
        }
    }
}

fn axis_list(matrix: &[(String, SValue)]) -> String {
    if matrix.is_empty() {
        return "no axes".to_string();
    }
    matrix
        .iter()
        .map(|(k, _)| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn interpolate(
    value: &SValue,
    scope: &Scope<'_>,
    source: &SourceFile,
    errors: &mut Diagnostics,
) -> SValue {
    let kind = match &value.kind {
        SKind::String(text) => return interpolate_string(text, value, scope, source, errors),
        SKind::Array(items) => SKind::Array(
            items
                .iter()
                .map(|item| interpolate(item, scope, source, errors))
                .collect(),
        ),
        SKind::Table(entries) => SKind::Table(
            entries
                .iter()
                .map(|entry| Entry {
                    key: entry.key.clone(),
                    key_span: entry.key_span.clone(),
                    value: if entry.key == "matrix" {
                        entry.value.clone()
                    } else {
                        interpolate(&entry.value, scope, source, errors)
                    },
                })
                .collect(),
        ),
        other => other.clone(),
    };
    SValue {
        span: value.span.clone(),
        kind,
    }
}

fn interpolate_string(
    text: &str,
    value: &SValue,
    scope: &Scope<'_>,
    source: &SourceFile,
    errors: &mut Diagnostics,
) -> SValue {
    let fail = |errors: &mut Diagnostics, message: String| {
        errors.push(Diagnostic::new(source, Some(value.span.clone()), message));
        value.clone()
    };
    if let Some(reference) = text
        .strip_prefix("${")
        .and_then(|r| r.strip_suffix('}'))
        .filter(|r| !r.contains('}'))
    {
        return match scope.lookup(reference) {
            Ok(Some(found)) => SValue {
                span: value.span.clone(),
                kind: found.kind,
            },
            Ok(None) => value.clone(),
            Err(message) => fail(errors, message),
        };
    }
    let mut result = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        result.push_str(&rest[..start]);
        let Some(length) = rest[start..].find('}') else {
            return fail(errors, format!("unclosed `${{` in `{text}`"));
        };
        let reference = &rest[start + 2..start + length];
        match scope.lookup(reference) {
            Ok(Some(found)) if !matches!(found.kind, SKind::Array(_) | SKind::Table(_)) => {
                result.push_str(&found.display())
            }
            Ok(Some(found)) => {
                return fail(
                    errors,
                    format!(
                        "`${{{reference}}}` is {} and cannot be placed inside a string",
                        found.type_name()
                    ),
                );
            }
            Ok(None) => result.push_str(&rest[start..=start + length]),
            Err(message) => return fail(errors, message),
        }
        rest = &rest[start + length + 1..];
    }
    result.push_str(rest);
    SValue {
        span: value.span.clone(),
        kind: SKind::String(result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    fn expanded(text: &str) -> (Vec<Instance>, Vec<String>) {
        let manifest = testing::manifest(text);
        let mut errors = Diagnostics::default();
        let instances = expand(&manifest, &mut errors);
        let messages = errors.0.into_iter().map(|d| d.message).collect();
        (instances, messages)
    }

    fn param<'a>(instance: &'a Instance, key: &str) -> &'a SKind {
        &instance.table.get(key).expect("the key is kept").value.kind
    }

    #[test]
    fn a_matrix_makes_one_named_instance_per_combination() {
        let (instances, errors) = expanded(
            "[stage.prep]\nkind = \"emit\"\n\n\
             [stage.train]\nkind = \"emit\"\nmatrix = { seed = [1, 2], opt = [\"sgd\", \"adam\"] }\n\
             text = \"${matrix.seed}\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "prep",
                "train[opt=sgd,seed=1]",
                "train[opt=adam,seed=1]",
                "train[opt=sgd,seed=2]",
                "train[opt=adam,seed=2]",
            ]
        );
        assert!(instances[1..].iter().all(|i| i.base == "train"));
        // A value that is exactly one placeholder keeps its type; the matrix itself is dropped.
        assert_eq!(param(&instances[3], "text"), &SKind::Integer(2));
        assert!(instances.iter().all(|i| i.table.get("matrix").is_none()));
    }

    #[test]
    fn placeholders_inside_strings_are_replaced_by_their_text_and_others_left() {
        let (instances, errors) = expanded(
            "[vars]\ntop = 3\nname = { first = \"x\" }\n\n\
             [stage.count]\nkind = \"emit\"\nmatrix = { n = [5] }\n\
             text = \"n=${matrix.n} top=${vars.top} ${vars.name.first} ${inputs.words} ${out}\"\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            param(&instances[0], "text"),
            &SKind::String("n=5 top=3 x ${inputs.words} ${out}".to_string())
        );
    }

    #[test]
    fn an_unknown_variable_or_axis_is_an_error_at_the_instance() {
        let (_, errors) = expanded(
            "[stage.a]\nkind = \"emit\"\nmatrix = { seed = [1] }\ntext = \"${matrix.sed}\"\n\
             outputs = [\"${vars.nope}.txt\"]\n",
        );
        assert_eq!(
            errors,
            [
                "unknown matrix axis `sed`: this stage's matrix has `seed`",
                "unknown variable `vars.nope`: declare it under [vars]",
            ]
        );
    }

    #[test]
    fn a_manifest_over_its_instance_limit_expands_nothing() {
        let (instances, errors) = expanded(
            "[pipeline]\nmax_instances = 3\n\n\
             [stage.a]\nkind = \"emit\"\n\n\
             [stage.b]\nkind = \"emit\"\nmatrix = { x = [1, 2], y = [1, 2] }\n",
        );
        assert!(instances.is_empty());
        assert_eq!(
            errors,
            ["stage `b` would make 4 instances: more than the limit of 3 instances per manifest"]
        );
        let (_, errors) = expanded(
            "[pipeline]\nmax_instances = 4\n\n\
             [stage.a]\nkind = \"emit\"\nmatrix = { x = [1, 2, 3] }\n\n\
             [stage.b]\nkind = \"emit\"\nmatrix = { x = [1, 2] }\n",
        );
        assert_eq!(
            errors,
            [
                "stage `b` would make 2 instances, 5 with the other stages: more than the limit of \
                 4 instances per manifest"
            ]
        );
    }

    #[test]
    fn malformed_matrices_are_refused() {
        let (_, errors) = expanded(
            "[stage.a]\nkind = \"emit\"\nmatrix = { x = [] }\n\n\
             [stage.b]\nkind = \"emit\"\nmatrix = { x = [1, 1] }\n",
        );
        assert_eq!(
            errors,
            [
                "matrix axis `x` must be a non-empty array",
                "duplicate matrix value `1`: two instances would share a name",
            ]
        );
    }

    #[test]
    fn large_counts_are_written_with_thousands_separators() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
