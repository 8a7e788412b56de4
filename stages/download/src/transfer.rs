//! One download from its first byte to its last: a series of attempts, each resuming where the
//! previous one stopped. Failures are retried with exponential backoff; the count of failures
//! starts over whenever an attempt brought new bytes, so a long download over a flaky link keeps
//! going while a dead server gives up after `retries` tries.

use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

use pipeline_api::{StageContext, StageError};

use crate::http::Client;
use crate::local;
use crate::partial::Partial;
use crate::url::Source;

/// How an attempt failed.
#[derive(Debug)]
pub enum AttemptError {
    /// Worth another attempt (dropped connection, timeout, 5xx): what happened, in words.
    Retry(String),
    /// Not worth another attempt (404, refused certificate, disk full, cancelled).
    Fatal(StageError),
}

impl AttemptError {
    /// A failure to write the download to disk: never retried.
    pub fn disk(partial: &Partial, error: std::io::Error) -> AttemptError {
        AttemptError::Fatal(StageError::io(
            format!("writing `{}`", partial.path().display()),
            error,
        ))
    }
}

/// How hard to try.
pub struct Settings {
    /// Failed attempts in a row (without a new byte) tolerated before giving up.
    pub retries: u32,
    /// How long a connection may stay silent.
    pub timeout: Duration,
}

/// The first wait before a retry; it doubles after each further failure, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Fetches `source` into `partial` until it holds the whole file.
pub fn download(
    url: &str,
    source: &Source,
    partial: &mut Partial,
    settings: &Settings,
    ctx: &mut StageContext<'_>,
) -> Result<(), StageError> {
    let client = match source {
        Source::Http(url) => Some(Client::new(url, settings.timeout)),
        Source::File(_) => None,
    };
    let mut failures = 0u32;
    loop {
        ctx.cancel.check()?;
        let before = partial.len();
        let outcome = match (&client, source) {
            (Some(client), _) => client.attempt(partial, ctx),
            (None, Source::File(path)) => local::attempt(path, partial, ctx),
            (None, Source::Http(_)) => unreachable!("an HTTP source always has a client"),
        };
        let reason = match outcome {
            Ok(()) => return Ok(()),
            Err(AttemptError::Fatal(error)) => return Err(error),
            Err(AttemptError::Retry(reason)) => reason,
        };
        failures = if partial.len() > before {
            1
        } else {
            failures + 1
        };
        if failures > settings.retries {
            return Err(exhausted(url, failures, &reason, partial.len(), settings));
        }
        let wait = backoff(failures);
        ctx.log_line(&format!(
            "attempt failed: {reason}; retrying in {:.1}s from byte {}",
            wait.as_secs_f64(),
            partial.len()
        ));
        sleep(wait, ctx)?;
    }
}

fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// Waits, but returns at once when the user cancels.
fn sleep(wait: Duration, ctx: &StageContext<'_>) -> Result<(), StageError> {
    let until = Instant::now() + wait;
    while Instant::now() < until {
        ctx.cancel.check()?;
        std::thread::sleep(
            Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())),
        );
    }
    ctx.cancel.check()
}

fn exhausted(
    url: &str,
    failures: u32,
    reason: &str,
    received: u64,
    settings: &Settings,
) -> StageError {
    let kept = if received > 0 {
        format!(" The {received} bytes received are kept: the next run resumes from there.")
    } else {
        String::new()
    };
    let how = if failures == 1 {
        format!("failed because {reason}")
    } else {
        format!("failed {failures} times in a row, the last time because {reason}")
    };
    StageError::failed(format!(
        "downloading `{url}` {how}.{kept} \
         Check the URL and the network, then run again; for a slow or flaky server raise `retries` \
         (now {}) or `timeout_s` (now {}).",
        settings.retries,
        settings.timeout.as_secs()
    ))
}

/// Appends `reader` to `partial` until end of stream, showing bytes, rate and ETA. With a known
/// `total` (the size of the whole file), an end before it is a dropped connection.
pub fn pump(
    reader: &mut dyn Read,
    partial: &mut Partial,
    total: Option<u64>,
    ctx: &StageContext<'_>,
) -> Result<(), AttemptError> {
    ctx.progress.start(total.unwrap_or(0), "bytes");
    ctx.progress.set_position(partial.len());
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        ctx.cancel.check().map_err(AttemptError::Fatal)?;
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(AttemptError::Retry(format!(
                    "the transfer broke at byte {}: {e}",
                    partial.len()
                )));
            }
        };
        partial
            .append(&buffer[..read])
            .map_err(|e| AttemptError::disk(partial, e))?;
        ctx.progress.advance(read as u64);
    }
    match total {
        Some(total) if partial.len() < total => Err(AttemptError::Retry(format!(
            "the connection closed after {} of {total} bytes",
            partial.len()
        ))),
        Some(total) if partial.len() > total => {
            partial
                .restart()
                .map_err(|e| AttemptError::disk(partial, e))?;
            Err(AttemptError::Retry(format!(
                "the source sent more than the {total} bytes it announced (did the file change?); starting over"
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
