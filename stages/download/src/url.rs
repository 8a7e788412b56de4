//! What a download URL points at (a web server or a local file) and the file name it suggests.
//!
//! Only as much URL syntax as the stage needs: the scheme, a `file://` path and the last path
//! segment, percent-decoded. HTTP URLs are otherwise checked and sent by the HTTP client.

use std::path::PathBuf;

/// Where the bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An `http://` or `https://` URL, as written.
    Http(String),
    /// The absolute path of a `file://` URL.
    File(PathBuf),
}

/// Parses `url`, or says what is wrong with it and how to write it.
pub fn parse(url: &str) -> Result<Source, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "`{url}` is not a URL: write `https://host/path`, `http://host/path` or `file:///absolute/path`"
        ));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => parse_http(url),
        "file" => parse_file(url, rest),
        other => Err(format!(
            "`{url}` uses the scheme `{other}`: only http, https and file URLs can be downloaded"
        )),
    }
}

fn parse_http(url: &str) -> Result<Source, String> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("`{url}` names no host: write `https://host/path`"));
    }
    Ok(Source::Http(url.to_string()))
}

fn parse_file(url: &str, rest: &str) -> Result<Source, String> {
    // `file:///p` has an empty host; `file://localhost/p` names this machine. Others are remote.
    let path = if let Some(path) = rest.strip_prefix("localhost/") {
        format!("/{path}")
    } else if rest.starts_with('/') {
        rest.to_string()
    } else {
        return Err(format!(
            "`{url}` does not name an absolute local path: write `file:///absolute/path` (three slashes)"
        ));
    };
    let path = strip_query(&path);
    let decoded = percent_decode(path).map_err(|e| format!("`{url}`: {e}"))?;
    Ok(Source::File(PathBuf::from(decoded)))
}

/// The last segment of the URL's path, percent-decoded: the default output file name. `None`
/// when the path ends with `/` or is empty.
pub fn last_segment(url: &str) -> Option<String> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = strip_query(after_scheme);
    let (_, path) = path.split_once('/')?;
    let segment = path.rsplit('/').next()?;
    let decoded = percent_decode(segment).ok()?;
    (!decoded.is_empty()).then_some(decoded)
}

fn strip_query(text: &str) -> &str {
    let end = text.find(['?', '#']).unwrap_or(text.len());
    &text[..end]
}

/// Decodes `%XX` escapes; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text
                .get(index + 1..index + 3)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
            let hex =
                hex.ok_or_else(|| format!("`{text}` has a `%` not followed by two hex digits"))?;
            out.push(u8::from_str_radix(hex, 16).expect("two hex digits"));
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{text}` decodes to bytes that are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes() {
        assert_eq!(
            parse("https://example.org/a.zip"),
            Ok(Source::Http("https://example.org/a.zip".into()))
        );
        assert_eq!(
            parse("HTTP://example.org/"),
            Ok(Source::Http("HTTP://example.org/".into()))
        );
        assert_eq!(
            parse("file:///data/my%20file.zip"),
            Ok(Source::File("/data/my file.zip".into()))
        );
        assert_eq!(
            parse("file://localhost/data/x"),
            Ok(Source::File("/data/x".into()))
        );
        assert!(
            parse("ftp://example.org/a")
                .unwrap_err()
                .contains("scheme `ftp`")
        );
        assert!(parse("example.org/a").unwrap_err().contains("not a URL"));
        assert!(
            parse("file://server/share/x")
                .unwrap_err()
                .contains("three slashes")
        );
        assert!(parse("https:///nohost").is_err());
        assert!(
            parse("file:///bad%zz")
                .unwrap_err()
                .contains("two hex digits")
        );
    }

    #[test]
    fn last_segment_is_the_file_name() {
        assert_eq!(
            last_segment("http://h/x/dataset_v7w_telling.zip").as_deref(),
            Some("dataset_v7w_telling.zip")
        );
        assert_eq!(
            last_segment("https://h/a/b%20c.tar?token=1#frag").as_deref(),
            Some("b c.tar")
        );
        assert_eq!(
            last_segment("file:///tmp/data.bin").as_deref(),
            Some("data.bin")
        );
        assert_eq!(last_segment("https://h/dir/"), None);
        assert_eq!(last_segment("https://h"), None);
    }
}
