//! The files the page may show: only regular files inside the project root or the cache, named by
//! a relative path without `..`, and still inside once symbolic links are resolved.

use std::path::{Component, Path, PathBuf};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a file is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The path leaves its area (`..`, an absolute path, a link pointing outside).
    Outside,
    NotFound,
}

/// `requested` (relative, as it came in the URL) inside `base`, or why not.
pub fn resolve(base: &Path, requested: &str) -> Result<PathBuf, Refusal> {
    let relative = Path::new(requested);
    let plain = relative
        .components()
        .all(|component| matches!(component, Component::Normal(_)));
    if !plain || requested.is_empty() || requested.contains('\\') {
        return Err(Refusal::Outside);
    }
    let base = base.canonicalize().map_err(|_| Refusal::NotFound)?;
    let full = base
        .join(relative)
        .canonicalize()
        .map_err(|_| Refusal::NotFound)?;
    if !full.starts_with(&base) {
        return Err(Refusal::Outside);
    }
    if !full.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(full)
}

/// The response for a file request: its bytes with a type from its extension, or a short error.
/// Served files may not run scripts or load anything, even an SVG opened on its own.
pub fn respond(resolved: Result<PathBuf, Refusal>) -> Response {
    let path = match resolved {
        Ok(path) => path,
        Err(Refusal::Outside) => {
            return (
                StatusCode::FORBIDDEN,
                "refused: only files inside the project root and the cache are served\n",
            )
                .into_response();
        }
        Err(Refusal::NotFound) => {
            return (StatusCode::NOT_FOUND, "no such file\n").into_response();
        }
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("could not read the file: {error}\n"),
        )
            .into_response(),
    }
}

/// Whether the page shows the file inline as a picture.
pub fn is_image(path: &Path) -> bool {
    matches!(
        extension(path).as_str(),
        "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp"
    )
}

fn content_type(path: &Path) -> &'static str {
    match extension(path).as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "html" | "htm" => "text/plain; charset=utf-8",
        "txt" | "log" | "jsonl" | "csv" | "tsv" | "md" | "toml" | "yaml" | "yml" => {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_inside_the_area_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let area = dir.path().join("area");
        std::fs::create_dir_all(area.join("sub")).unwrap();
        std::fs::write(area.join("sub/a.png"), b"png").unwrap();
        std::fs::write(dir.path().join("secret"), b"no").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), area.join("link")).unwrap();
        assert!(resolve(&area, "sub/a.png").is_ok());
        for outside in [
            "../secret",
            "sub/../../secret",
            "/etc/passwd",
            "link",
            "./sub/a.png",
        ] {
            assert_eq!(resolve(&area, outside), Err(Refusal::Outside), "{outside}");
        }
        assert_eq!(resolve(&area, "sub/none.png"), Err(Refusal::NotFound));
        assert_eq!(resolve(&area, "sub"), Err(Refusal::NotFound));
    }
}
