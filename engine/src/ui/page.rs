//! The page: HTML written here, with the graph and charts inline as SVG; the script and style
//! sheet are files of the binary (`assets/`). `#live` is the part the script reloads.

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::view::{StageView, View};
use super::{chart, dag_svg, files};
use crate::cache::ledger::LedgerEntry;
use crate::run::live;
use crate::run::progress::human_bytes;

/// The whole document.
pub fn document(view: &View, selected: Option<&str>) -> String {
    let title = escape(&view.manifest.display().to_string());
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pipeline · {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/ui.css"><script src="/assets/ui.js" defer></script></head>
<body><header><h1>pipeline · {title}</h1><span id="updated"></span></header>
<div id="live">{}</div></body></html>
"#,
        live_part(view, selected)
    )
}

/// What the script reloads: the notes, runs in progress, the graph, the stage and the history.
pub fn live_part(view: &View, selected_name: Option<&str>) -> String {
    let selected = selected_name
        .and_then(|name| view.index_of(name))
        .or_else(|| view.stages.iter().position(|s| s.running.is_some()));
    let mut html = String::new();
    if let Some(name) = selected_name.filter(|name| view.index_of(name).is_none())
        && !view.stages.is_empty()
    {
        let _ = write!(
            html,
            r#"<p class="note">No stage `{}` in this pipeline.</p>"#,
            escape(name)
        );
    }
    for note in &view.notes {
        let _ = write!(html, r#"<p class="note">{}</p>"#, escape(note));
    }
    let _ = write!(html, r#"<p class="runs">{}</p>"#, runs_line(view));
    let _ = write!(
        html,
        r#"<section class="graph">{}</section>"#,
        dag_svg::render(&view.stages, selected)
    );
    match selected {
        Some(index) => html.push_str(&stage_panel(view, &view.stages[index])),
        None if !view.stages.is_empty() => {
            html.push_str(
                r#"<section class="stage-panel"><p>Select a stage in the graph.</p></section>"#,
            );
        }
        None => {}
    }
    html.push_str(&history_table(&view.history));
    html
}

fn runs_line(view: &View) -> String {
    if view.runs.is_empty() {
        return "No run of this pipeline is in progress.".to_string();
    }
    let runs: Vec<String> = view
        .runs
        .iter()
        .map(|run| {
            format!(
                "run {} (pid {}, {} running)",
                run.run_id,
                run.pid,
                run.stages.len()
            )
        })
        .collect();
    format!("In progress: {}", escape(&runs.join("; ")))
}

fn stage_panel(view: &View, stage: &StageView) -> String {
    let word = stage.shown.word();
    let mut html = format!(
        r#"<section class="stage-panel" data-stage="{name}" data-status="{word}"><h2>{name} <span class="badge {word}">{word}</span></h2><p class="kind">kind <code>{kind}</code>{desc}</p><p>{described}</p>"#,
        name = escape(&stage.name),
        kind = stage.kind,
        desc = stage
            .desc
            .as_ref()
            .map(|d| format!(" · {}", escape(d)))
            .unwrap_or_default(),
        described = escape(&stage.described),
    );
    html.push_str(&progress(stage));
    if !stage.reasons.is_empty() && stage.running.is_none() {
        html.push_str("<h3>Why it would run</h3><ul class=\"reasons\">");
        for reason in &stage.reasons {
            let _ = write!(html, "<li>{}</li>", escape(reason));
        }
        html.push_str("</ul>");
    }
    html.push_str(&charts(stage));
    html.push_str(&pictures(view, stage));
    html.push_str(&outputs(view, stage));
    html.push_str(&log_and_key(view, stage));
    html.push_str("</section>");
    html
}

/// A running stage's run, position and last line.
fn progress(stage: &StageView) -> String {
    let Some((run_id, live_stage)) = &stage.running else {
        return String::new();
    };
    let bar = if live_stage.total > 0 {
        format!(
            r#"<progress max="{}" value="{}"></progress> {}/{} {}"#,
            live_stage.total,
            live_stage.position,
            live_stage.position,
            live_stage.total,
            escape(&live_stage.unit)
        )
    } else {
        String::new()
    };
    format!(
        r#"<p class="progress">Running in run {}. {bar} <span class="message">{}</span></p>"#,
        escape(run_id),
        escape(&live_stage.message)
    )
}

/// The tail of the log, then the key manifest.
fn log_and_key(view: &View, stage: &StageView) -> String {
    let mut html = String::new();
    if let Some(log) = &stage.log {
        let _ = write!(
            html,
            r#"<h3>Log <a href="{}">{}</a></h3><pre class="log">{}</pre>"#,
            file_url(view, log).unwrap_or_default(),
            escape(&log.display().to_string()),
            escape(&log_tail(log, 60))
        );
    }
    if let Some(manifest) = &stage.manifest {
        let _ = write!(
            html,
            r#"<h3>Key {}</h3><p>Its parameters, inputs and plugin version (<code>pipeline explain</code>):</p><pre class="manifest">{}</pre>"#,
            escape(stage.key.as_deref().unwrap_or_default()),
            escape(manifest)
        );
    }
    html
}

fn charts(stage: &StageView) -> String {
    let Some(path) = &stage.metrics else {
        return String::new();
    };
    let series = live::read_metrics(path);
    if series.is_empty() {
        return String::new();
    }
    format!(
        r#"<h3>Metrics</h3><div class="charts">{}</div>"#,
        chart::render(&series)
    )
}

/// The pictures of the output (or, while it runs, those written so far in its staging folder).
fn pictures(view: &View, stage: &StageView) -> String {
    let Some(dir) = &stage.pictures_in else {
        return String::new();
    };
    let mut html = String::new();
    for (path, _) in walk(dir, 400)
        .into_iter()
        .filter(|(p, _)| files::is_image(p))
    {
        if let Some(url) = file_url(view, &path) {
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            let _ = write!(
                html,
                r#"<figure><img src="{url}" alt="{name}" data-file="{name}"><figcaption>{name}</figcaption></figure>"#,
                name = escape(&name)
            );
        }
    }
    if html.is_empty() {
        return html;
    }
    format!(r#"<h3>Pictures</h3><div class="pictures">{html}</div>"#)
}

fn outputs(view: &View, stage: &StageView) -> String {
    let Some(dir) = &stage.output else {
        return String::new();
    };
    let listed = walk(dir, 200);
    let total: u64 = listed.iter().map(|(_, size)| size).sum();
    let mut html = format!(
        r#"<h3>Output <code>{}</code> ({} files, {})</h3><table class="outputs"><tbody>"#,
        escape(&dir.display().to_string()),
        listed.len(),
        human_bytes(total)
    );
    for (path, size) in &listed {
        let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        let link = match file_url(view, path) {
            Some(url) => format!(r#"<a href="{url}">{}</a>"#, escape(&name)),
            None => escape(&name),
        };
        let _ = write!(
            html,
            "<tr><td>{link}</td><td class=\"size\">{}</td></tr>",
            human_bytes(*size)
        );
    }
    html.push_str("</tbody></table>");
    html
}

fn history_table(history: &[LedgerEntry]) -> String {
    if history.is_empty() {
        return r#"<section class="history"><h2>History</h2><p>No run yet.</p></section>"#
            .to_string();
    }
    let mut html = String::from(
        r#"<section class="history"><h2>History</h2><table><thead><tr><th>run</th><th>stage</th><th>outcome</th><th>seconds</th><th>key</th></tr></thead><tbody>"#,
    );
    for entry in history {
        let _ = write!(
            html,
            r#"<tr class="{outcome}"><td>{}</td><td><a href="{}">{}</a></td><td>{outcome}</td><td>{:.1}</td><td><code>{}</code></td></tr>"#,
            escape(entry.run_id.as_str()),
            stage_href(&entry.stage),
            escape(&entry.stage),
            entry.duration_s,
            entry.key.as_ref().map_or("-", |key| key.short()),
            outcome = entry.outcome.word(),
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

/// Files below `dir` with their sizes, in path order, at most `limit`.
fn walk(dir: &Path, limit: usize) -> Vec<(PathBuf, u64)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && found.len() < limit {
                found.push((entry.path(), entry.metadata().map_or(0, |m| m.len())));
            }
        }
    }
    found.sort();
    found
}

/// The last `lines` lines of a log (from at most its last 64 KiB).
fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return "(no log yet)".to_string();
    };
    let length = file.metadata().map_or(0, |m| m.len());
    let start = length.saturating_sub(64 * 1024);
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut bytes).is_err() {
        return "(unreadable log)".to_string();
    }
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The URL of a file in the cache or the project, with its size and time so that a changed file
/// is fetched again.
fn file_url(view: &View, path: &Path) -> Option<String> {
    let (area, relative) = if let Ok(relative) = path.strip_prefix(&view.cache) {
        ("cache", relative)
    } else {
        ("root", path.strip_prefix(&view.root).ok()?)
    };
    let stamp = std::fs::metadata(path)
        .ok()
        .and_then(|m| Some((m.len(), m.modified().ok()?)))
        .map(|(len, time)| {
            let nanos = time
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("{len}-{nanos}")
        })
        .unwrap_or_default();
    let encoded: Vec<String> = relative
        .components()
        .map(|c| percent_encode(&c.as_os_str().to_string_lossy()))
        .collect();
    Some(format!("/files/{area}/{}?v={stamp}", encoded.join("/")))
}

/// The page of one stage.
pub fn stage_href(name: &str) -> String {
    format!("/?stage={}", percent_encode(name))
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Text made safe inside HTML and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_names_are_escaped_for_html_and_urls() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(stage_href("train[seed=1]"), "/?stage=train%5Bseed%3D1%5D");
    }
}
