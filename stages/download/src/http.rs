//! One HTTP(S) attempt: a GET, with `Range: bytes=N-` and `If-Range` when part of the file is
//! already here, whose answer is sorted into "here is the (rest of the) file", "try again" and
//! "give up, and here is why".

use std::time::Duration;

use pipeline_api::{StageContext, StageError};
use ureq::Agent;
use ureq::http::{HeaderMap, Response, StatusCode};

use crate::partial::Partial;
use crate::transfer::{AttemptError, pump};

/// An HTTP client bound to one URL.
pub struct Client {
    agent: Agent,
    url: String,
    timeout: Duration,
}

/// What the status line and headers said.
enum Start {
    /// A body follows; the whole file has this many bytes, if the server said.
    Body(Option<u64>),
    /// Nothing is missing: the file was already complete.
    Done,
}

impl Client {
    /// `timeout` bounds connecting, waiting for the answer and each silence while reading; a
    /// long download is never cut short merely for taking long.
    pub fn new(url: &str, timeout: Duration) -> Client {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout))
            .timeout_recv_response(Some(timeout))
            .timeout_per_read(Some(timeout))
            .user_agent(concat!("pipeline-download/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client {
            agent,
            url: url.to_string(),
            timeout,
        }
    }

    /// Fetches what `partial` lacks and appends it.
    pub fn attempt(
        &self,
        partial: &mut Partial,
        ctx: &mut StageContext<'_>,
    ) -> Result<(), AttemptError> {
        let mut request = self.agent.get(&self.url);
        let offset = partial.len();
        if offset > 0 {
            request = request.header("Range", format!("bytes={offset}-"));
            if let Some(validator) = partial.validator() {
                request = request.header("If-Range", validator);
            }
        }
        let response = request.call().map_err(|e| self.classify(e))?;
        match self.start(&response, partial, ctx)? {
            Start::Done => Ok(()),
            Start::Body(total) => {
                pump(&mut response.into_body().into_reader(), partial, total, ctx)
            }
        }
    }

    fn start<B>(
        &self,
        response: &Response<B>,
        partial: &mut Partial,
        ctx: &mut StageContext<'_>,
    ) -> Result<Start, AttemptError> {
        let offset = partial.len();
        let headers = response.headers();
        let disk = |partial: &Partial, e| AttemptError::disk(partial, e);
        match response.status().as_u16() {
            200 => {
                if offset > 0 {
                    ctx.log_line("the server sent the whole file rather than the rest (it ignores Range, or the file changed): starting over");
                    partial.restart().map_err(|e| disk(partial, e))?;
                }
                partial
                    .set_validator(validator(headers).as_deref())
                    .map_err(|e| disk(partial, e))?;
                Ok(Start::Body(
                    header(headers, "content-length").and_then(|v| v.parse().ok()),
                ))
            }
            206 => {
                let range = header(headers, "content-range").and_then(ContentRange::parse);
                match range {
                    Some(range) if range.start == Some(offset) => {
                        ctx.log_line(&format!("resuming `{}` at byte {offset}", self.url));
                        Ok(Start::Body(range.total))
                    }
                    _ => {
                        partial.restart().map_err(|e| disk(partial, e))?;
                        Err(AttemptError::Retry(format!(
                            "the server answered a Range request for byte {offset} with another range; starting over"
                        )))
                    }
                }
            }
            416 => {
                let total = header(headers, "content-range")
                    .and_then(ContentRange::parse)
                    .and_then(|r| r.total);
                if total == Some(offset) {
                    return Ok(Start::Done);
                }
                partial.restart().map_err(|e| disk(partial, e))?;
                Err(AttemptError::Retry(format!(
                    "the server cannot resume at byte {offset}; starting over"
                )))
            }
            status => Err(self.status_error(status)),
        }
    }

    fn status_error(&self, status: u16) -> AttemptError {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let url = &self.url;
        let advice = match status {
            408 | 425 | 429 | 500..=599 => {
                return AttemptError::Retry(format!("the server answered HTTP {status} {reason}"));
            }
            404 | 410 => {
                "the file is not at this URL: check it for typos, or find where the file moved (a mirror) and update `url`"
            }
            401 | 403 => {
                "the server refuses access: the URL may need a login or a fresh token, or may have expired"
            }
            _ => "check the URL in a browser, fix `url`, and run again",
        };
        AttemptError::Fatal(StageError::failed(format!(
            "downloading `{url}`: the server answered HTTP {status} {reason}; {advice}"
        )))
    }

    fn classify(&self, error: ureq::Error) -> AttemptError {
        use ureq::Error as E;
        match error {
            E::Timeout(what) => AttemptError::Retry(format!(
                "the server stayed silent for {}s ({what}; `timeout_s` sets this)",
                self.timeout.as_secs()
            )),
            E::BadUri(_)
            | E::TooManyRedirects
            | E::RedirectFailed
            | E::RequireHttpsOnly(_)
            | E::Tls(_)
            | E::Pem(_)
            | E::Rustls(_)
            | E::TlsRequired
            | E::InvalidProxyUrl => AttemptError::Fatal(StageError::failed(format!(
                "downloading `{}`: {error}; check the URL (and any proxy settings) and run again",
                self.url
            ))),
            other => AttemptError::Retry(format!("the request failed: {other}")),
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// What identifies this version of the file for `If-Range`: a strong ETag, else Last-Modified.
fn validator(headers: &HeaderMap) -> Option<String> {
    let etag = header(headers, "etag").filter(|tag| !tag.starts_with("W/"));
    etag.or_else(|| header(headers, "last-modified"))
        .map(str::to_string)
}

/// `Content-Range: bytes START-END/TOTAL` or `bytes */TOTAL`; TOTAL may be `*`.
#[derive(Debug, PartialEq, Eq)]
struct ContentRange {
    start: Option<u64>,
    total: Option<u64>,
}

impl ContentRange {
    fn parse(value: &str) -> Option<ContentRange> {
        let rest = value.strip_prefix("bytes")?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let total = if total.trim() == "*" {
            None
        } else {
            Some(total.trim().parse().ok()?)
        };
        let start = if range.trim() == "*" {
            None
        } else {
            Some(range.split_once('-')?.0.trim().parse().ok()?)
        };
        Some(ContentRange { start, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_range() {
        assert_eq!(
            ContentRange::parse("bytes 100-199/200"),
            Some(ContentRange {
                start: Some(100),
                total: Some(200)
            })
        );
        assert_eq!(
            ContentRange::parse("bytes 5-9/*"),
            Some(ContentRange {
                start: Some(5),
                total: None
            })
        );
        assert_eq!(
            ContentRange::parse("bytes */42"),
            Some(ContentRange {
                start: None,
                total: Some(42)
            })
        );
        assert_eq!(ContentRange::parse("items 1-2/3"), None);
        assert_eq!(ContentRange::parse("bytes x-2/3"), None);
    }

    #[test]
    fn prefers_a_strong_etag() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "last-modified",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        headers.insert("etag", "W/\"weak\"".parse().unwrap());
        assert_eq!(
            validator(&headers).as_deref(),
            Some("Wed, 21 Oct 2015 07:28:00 GMT")
        );
        headers.insert("etag", "\"strong\"".parse().unwrap());
        assert_eq!(validator(&headers).as_deref(), Some("\"strong\""));
    }
}
