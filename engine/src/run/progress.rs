//! Progress on the terminal (one bar per running stage, with rate and ETA) or, when stderr is not
//! a terminal or `CI` is set, plain lines. The only user of indicatif.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline_api::Progress;

use crate::cache::ids::StageKey;
use crate::cache::tiered::{Transfer, TransferWatcher};
use crate::run::live::{LiveBoard, MetricPoint};

/// How run output is shown.
pub struct Reporter {
    bars: Option<MultiProgress>,
    /// Print each stage's log lines (plain mode only).
    echo_logs: bool,
    /// The run's live file, for `pipeline ui`.
    live: Option<Arc<LiveBoard>>,
}

impl Reporter {
    /// Bars on a terminal unless `CI` or `PIPELINE_NO_PROGRESS` is set.
    pub fn detect(echo_logs: bool) -> Self {
        let plain = std::env::var_os("CI").is_some()
            || std::env::var_os("PIPELINE_NO_PROGRESS").is_some()
            || !std::io::stderr().is_terminal();
        let bars = (!plain)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)));
        Self {
            bars,
            echo_logs,
            live: None,
        }
    }

    /// Also shows each running stage, its progress and metrics in the run's live file.
    pub fn with_live(mut self, board: LiveBoard) -> Self {
        self.live = Some(Arc::new(board));
        self
    }

    /// A line that stays (above the bars on a terminal).
    pub fn line(&self, text: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// The progress handle of a stage that starts running.
    pub fn stage(&self, name: &str, key: &StageKey) -> StageProgress {
        let mut progress = self.progress(name, false);
        if let Some(board) = &self.live {
            board.started(name, key);
            progress.live = Some(Arc::clone(board));
        }
        progress
    }

    /// A bar, or in plain mode a line only every few seconds (none for a short task).
    fn progress(&self, name: &str, periodic_only: bool) -> StageProgress {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(spinner_style());
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StageProgress {
            name: name.to_string(),
            live: None,
            bar,
            echo_logs: self.echo_logs,
            periodic_only,
            plain: Mutex::new(PlainState {
                total: 0,
                position: 0,
                unit: String::new(),
                started: Instant::now(),
                last_print: None,
            }),
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed} {wide_msg}")
        .expect("valid template")
}

fn bar_style(unit: &str) -> ProgressStyle {
    if unit == "bytes" {
        let template = "  {prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}";
        return ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> ");
    }
    let template = format!(
        "  {{prefix:.bold}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} {{rate}} ETA {{eta}} {{wide_msg}}"
    );
    ProgressStyle::with_template(&template)
        .expect("valid template")
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", rate_text(state.pos(), state.per_sec()));
            },
        )
        .with_key(
            "eta",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let remaining = state.len().unwrap_or(0).saturating_sub(state.pos());
                let _ = write!(w, "{}", eta_text(state.pos(), remaining, state.per_sec()));
            },
        )
        .progress_chars("=> ")
}

/// Transfers between the cache tiers: a byte bar each while it lasts, then a line.
impl TransferWatcher for Reporter {
    fn started(&self, direction: &'static str, stage: &str) -> Box<dyn Progress> {
        Box::new(TransferProgress(
            self.progress(&format!("{direction} {stage}"), true),
        ))
    }

    fn finished(&self, transfer: &Transfer) {
        self.line(&transfer_line(transfer));
    }
}

/// A transfer's bar, cleared when the transfer ends.
struct TransferProgress(StageProgress);

impl Progress for TransferProgress {
    fn start(&self, total: u64, unit: &str) {
        self.0.start(total, unit);
    }
    fn set_position(&self, position: u64) {
        self.0.set_position(position);
    }
    fn advance(&self, delta: u64) {
        self.0.advance(delta);
    }
    fn message(&self, text: &str) {
        self.0.message(text);
    }
}

impl Drop for TransferProgress {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// `pulled  stage (1.5 MiB in 0.2 s, 7.5 MiB/s)`, and what an interrupted attempt had sent.
pub fn transfer_line(transfer: &Transfer) -> String {
    let rate = transfer.bytes as f64 / transfer.seconds.max(1e-3);
    let resumed = if transfer.reused > 0 {
        format!(
            ", resumed: {} had been sent before",
            human_bytes(transfer.reused)
        )
    } else {
        String::new()
    };
    format!(
        "{}  {} ({} in {:.1} s, {}/s{resumed})",
        transfer.direction,
        transfer.stage,
        human_bytes(transfer.bytes),
        transfer.seconds,
        human_bytes(rate as u64)
    )
}

/// `bytes` in binary units: `512 B`, `1.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

/// Items per second, or `?` before the first item (no rate is known yet).
fn rate_text(position: u64, per_sec: f64) -> String {
    if position == 0 || !per_sec.is_finite() {
        "?/s".to_string()
    } else {
        format!("{per_sec:.1}/s")
    }
}

/// Time left at the current rate, or `?` while no rate is known (before the first item).
fn eta_text(position: u64, remaining: u64, per_sec: f64) -> String {
    if remaining == 0 {
        return "0s".to_string();
    }
    if position == 0 || !per_sec.is_finite() || per_sec <= 0.0 {
        return "?".to_string();
    }
    let seconds = (remaining as f64 / per_sec).round();
    match seconds as u64 {
        _ if !seconds.is_finite() => "?".to_string(),
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

struct PlainState {
    total: u64,
    position: u64,
    unit: String,
    started: Instant,
    last_print: Option<Instant>,
}

/// One stage's progress: a bar, or a plain line every few seconds.
pub struct StageProgress {
    name: String,
    /// The run's live file, for a running stage's progress.
    live: Option<Arc<LiveBoard>>,
    bar: Option<ProgressBar>,
    echo_logs: bool,
    /// Plain lines only every few seconds: not at the start nor at the end.
    periodic_only: bool,
    plain: Mutex<PlainState>,
}

impl StageProgress {
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(board) = &self.live {
            board.ended(&self.name);
        }
    }

    fn show_live(&self, change: impl FnOnce(&mut crate::run::live::LiveStage)) {
        if let Some(board) = &self.live {
            board.progress(&self.name, change);
        }
    }

    fn plain_update(&self, update: impl FnOnce(&mut PlainState)) {
        let mut state = self.plain.lock().expect("progress lock");
        update(&mut state);
        let every = Duration::from_secs(5);
        let (due, finished) = if self.periodic_only {
            let since = state.last_print.unwrap_or(state.started);
            (since.elapsed() >= every, false)
        } else {
            let due = state.last_print.is_none_or(|t| t.elapsed() >= every);
            (due, state.position >= state.total)
        };
        if self.bar.is_none() && state.total > 0 && (due || finished) {
            state.last_print = Some(Instant::now());
            let elapsed = state.started.elapsed().as_secs_f64().max(1e-9);
            let rate = state.position as f64 / elapsed;
            let remaining = state.total.saturating_sub(state.position);
            let eta = eta_text(state.position, remaining, rate);
            if state.unit == "bytes" {
                eprintln!(
                    "  {} {}/{} ({}/s, ETA {eta})",
                    self.name,
                    human_bytes(state.position),
                    human_bytes(state.total),
                    human_bytes(rate as u64)
                );
            } else {
                let rate = rate_text(state.position, rate);
                eprintln!(
                    "  {} {}/{} {} ({rate}, ETA {eta})",
                    self.name, state.position, state.total, state.unit
                );
            }
        }
    }
}

impl Progress for StageProgress {
    fn start(&self, total: u64, unit: &str) {
        if let Some(bar) = &self.bar
            && bar.length() != Some(total)
        {
            bar.set_style(bar_style(unit));
            bar.set_length(total);
            bar.reset_eta();
        }
        self.plain_update(|state| {
            if state.total != total {
                state.started = Instant::now();
                state.last_print = None;
            }
            state.total = total;
            state.unit = unit.to_string();
        });
        self.show_live(|live| {
            (live.total, live.unit) = (total, unit.to_string());
        });
    }

    fn set_position(&self, position: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(position);
        }
        self.plain_update(|state| state.position = position);
        self.show_live(|live| live.position = position);
    }

    fn advance(&self, delta: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(delta);
        }
        self.plain_update(|state| state.position += delta);
        self.show_live(|live| live.position += delta);
    }

    fn message(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(text.to_string()),
            None if self.echo_logs => eprintln!("  [{}] {text}", self.name),
            None => {}
        }
        self.show_live(|live| live.message = text.to_string());
    }

    fn metric(&self, name: &str, step: u64, value: f64) {
        if let Some(board) = &self.live {
            let point = MetricPoint {
                name: name.to_string(),
                step,
                value,
            };
            board.metric(&self.name, &point);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_nor_eta_is_made_up_before_the_first_item() {
        assert_eq!(
            (rate_text(0, 0.0), eta_text(0, 10, 0.0)),
            ("?/s".to_string(), "?".to_string())
        );
        assert_eq!(eta_text(0, 10, f64::NAN), "?");
        assert_eq!(eta_text(5, 10, f64::INFINITY), "?");
        assert_eq!(
            (rate_text(5, 2.5), eta_text(5, 5, 2.5)),
            ("2.5/s".to_string(), "2s".to_string())
        );
        assert_eq!(
            (eta_text(1, 3725, 1.0), eta_text(1, 185, 1.0)),
            ("1h02m".to_string(), "3m05s".to_string())
        );
        assert_eq!(eta_text(10, 0, 0.0), "0s");
    }
}
