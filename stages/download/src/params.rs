//! The `download` stage's parameters, their checks, and the output names they lead to.
//!
//! The cache key hashes the parameters as serialized: `url`, `checksum` (when given), the output
//! file name and `extract`, which decide what ends up in the output, normalized so that equal
//! meanings give equal keys (`file` left out or spelled as its default, a checksum in either case).
//! `retries` and `timeout_s` only decide how hard to try, so they are left out of the key: raising
//! them never refetches a file.

use pipeline_api::{ParamError, check_relative};
use schemars::JsonSchema;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::checksum::Checksum;
use crate::url;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadParams {
    /// What to fetch: an `https://`, `http://` or `file:///absolute/path` URL. Part of the cache
    /// key: once downloaded, the same URL is not fetched again unless the stage is forced (a
    /// changed file behind an unchanged URL goes unnoticed: pin it with `checksum`).
    pub url: String,
    /// The expected digest of the downloaded file (the archive, when extracting):
    /// `sha256:<64 hex digits>` (what `sha256sum` prints) or `blake3:<64 hex digits>` (what `b3sum`
    /// prints). Checked before the stage finishes; a mismatch fails it. Without it, the stage log
    /// shows the file's BLAKE3 so that you can pin it.
    #[serde(default)]
    pub checksum: Option<String>,
    /// The output file name (one name, no folders). Default: the last segment of the URL's path.
    /// With `extract = true` this is the archive's name, and the output folder is this name
    /// without its `.zip` ending.
    #[serde(default)]
    pub file: Option<String>,
    /// Unpack a zip archive into the folder `<file without .zip>/` of the output instead of
    /// keeping the archive (which is deleted once unpacked). Entries with absolute paths, `..` or
    /// symbolic links are refused, and the stage fails.
    #[serde(default)]
    pub extract: bool,
    /// Failed attempts in a row tolerated before giving up; the count starts over whenever an
    /// attempt brings new bytes, and each retry resumes where the last one stopped. Waits between
    /// attempts double from 0.5 s up to 30 s. Not part of the cache key.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Seconds a connection may stay silent (connecting, awaiting the answer, or between two
    /// reads) before the attempt is abandoned and retried. A long download is never cut short
    /// merely for taking long. Not part of the cache key.
    #[serde(default = "default_timeout_s")]
    #[schemars(range(min = 1))]
    pub timeout_s: u64,
}

/// What the cache key hashes (see the top of this file).
impl Serialize for DownloadParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("url", &self.url)?;
        if let Some(checksum) = self.expected() {
            map.serialize_entry("checksum", &checksum.to_string())?;
        }
        map.serialize_entry("file", &self.file_name().ok())?;
        map.serialize_entry("extract", &self.extract)?;
        map.end()
    }
}

fn default_retries() -> u32 {
    5
}

fn default_timeout_s() -> u64 {
    30
}

impl DownloadParams {
    /// Parameters for `url` with every default, as a manifest with only `url` would give.
    pub fn new(url: impl Into<String>) -> DownloadParams {
        DownloadParams {
            url: url.into(),
            checksum: None,
            file: None,
            extract: false,
            retries: default_retries(),
            timeout_s: default_timeout_s(),
        }
    }

    /// Checks every parameter; the error names the one to fix.
    pub fn check(&self) -> Result<(), ParamError> {
        url::parse(&self.url).map_err(|e| ParamError::new("url", e))?;
        if let Some(checksum) = &self.checksum {
            Checksum::parse(checksum).map_err(|e| ParamError::new("checksum", e))?;
        }
        let name = self.file_name().map_err(|e| ParamError::new("url", e))?;
        let field = if self.file.is_some() { "file" } else { "url" };
        check_file_name(&name).map_err(|e| ParamError::new(field, e))?;
        if self.extract && folder_of(&name).is_empty() {
            return Err(ParamError::new(
                field,
                format!("`{name}` leaves no folder name once `.zip` is removed: set `file`"),
            ));
        }
        if self.timeout_s == 0 {
            return Err(ParamError::new("timeout_s", "give at least 1 second"));
        }
        Ok(())
    }

    /// The checksum to verify, if any (parsed; [`DownloadParams::check`] has refused bad ones).
    pub fn expected(&self) -> Option<Checksum> {
        self.checksum
            .as_deref()
            .and_then(|c| Checksum::parse(c).ok())
    }

    /// The downloaded file's name: `file`, or the last segment of the URL's path.
    pub fn file_name(&self) -> Result<String, String> {
        match &self.file {
            Some(name) => Ok(name.clone()),
            None => url::last_segment(&self.url).ok_or_else(|| {
                format!(
                    "`{}` ends without a file name: set `file = \"name\"`",
                    self.url
                )
            }),
        }
    }

    /// The folder an archive is unpacked into: the file name without `.zip`.
    pub fn folder_name(&self) -> Result<String, String> {
        self.file_name().map(|name| folder_of(&name).to_string())
    }

    /// What a successful run leaves in the output: the file, or the folder it was unpacked into.
    pub fn outputs(&self) -> Vec<String> {
        let name = if self.extract {
            self.folder_name().map(|f| format!("{f}/"))
        } else {
            self.file_name()
        };
        name.into_iter().collect()
    }
}

fn folder_of(name: &str) -> &str {
    let cut = name.len().saturating_sub(4);
    match name.get(cut..) {
        Some(ending) if ending.eq_ignore_ascii_case(".zip") => &name[..cut],
        _ => name,
    }
}

fn check_file_name(name: &str) -> Result<(), String> {
    check_relative(name).map_err(|e| e.to_string())?;
    if name.contains(['/', '\\']) || name == "." || name.starts_with(crate::partial::PARTIAL_DIR) {
        return Err(format!(
            "`{name}` must be a single file name, without folders"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_names_and_outputs() {
        let mut params = DownloadParams::new("https://h/r/dataset_v7w_telling.zip?x=1");
        assert_eq!(params.file_name().unwrap(), "dataset_v7w_telling.zip");
        assert_eq!(
            params.outputs(),
            vec!["dataset_v7w_telling.zip".to_string()]
        );
        params.extract = true;
        assert_eq!(params.outputs(), vec!["dataset_v7w_telling/".to_string()]);
        params.file = Some("images.ZIP".into());
        assert_eq!(params.outputs(), vec!["images/".to_string()]);
        params.file = Some("raw".into());
        assert_eq!(params.outputs(), vec!["raw/".to_string()]);
        assert!(params.check().is_ok());
    }

    #[test]
    fn refuses_bad_parameters() {
        let error = DownloadParams::new("https://h/dir/").check().unwrap_err();
        assert_eq!(error.path, "url");
        assert!(error.message.contains("set `file"));
        let mut params = DownloadParams::new("https://h/a.bin");
        params.file = Some("../a.bin".into());
        assert_eq!(params.check().unwrap_err().path, "file");
        params.file = Some("sub/a.bin".into());
        assert!(
            params
                .check()
                .unwrap_err()
                .message
                .contains("single file name")
        );
        params.file = Some(".zip".into());
        params.extract = true;
        assert!(
            params
                .check()
                .unwrap_err()
                .message
                .contains("no folder name")
        );
        let mut params = DownloadParams::new("https://h/a.bin");
        params.checksum = Some("md5:00".into());
        assert_eq!(params.check().unwrap_err().path, "checksum");
        let mut params = DownloadParams::new("https://h/a.bin");
        params.timeout_s = 0;
        assert_eq!(params.check().unwrap_err().path, "timeout_s");
        assert_eq!(
            DownloadParams::new("gopher://h/a")
                .check()
                .unwrap_err()
                .path,
            "url"
        );
    }

    #[test]
    fn key_holds_what_decides_the_bytes() {
        let mut params = DownloadParams::new("https://h/a.bin");
        params.retries = 9;
        params.timeout_s = 99;
        let value = serde_json::to_value(&params).unwrap();
        assert_eq!(
            value,
            serde_json::json!({ "url": "https://h/a.bin", "file": "a.bin", "extract": false })
        );
        params.file = Some("a.bin".into());
        assert_eq!(
            serde_json::to_value(&params).unwrap(),
            value,
            "the default file name, spelled out"
        );
        params.checksum = Some(format!("SHA256:{}", "AB".repeat(32)));
        let value = serde_json::to_value(&params).unwrap();
        assert_eq!(
            value["checksum"],
            serde_json::json!(format!("sha256:{}", "ab".repeat(32)))
        );
    }

    #[test]
    fn every_parameter_is_documented_in_the_schema() {
        let schema = serde_json::to_value(schemars::schema_for!(DownloadParams)).unwrap();
        let properties = schema["properties"].as_object().expect("properties");
        for name in ["url", "checksum", "file", "extract", "retries", "timeout_s"] {
            let doc = properties[name]["description"].as_str().unwrap_or_default();
            assert!(
                doc.len() > 40,
                "`{name}` needs a doc comment: {:?}",
                properties[name]
            );
        }
        assert_eq!(
            properties["retries"]["default"],
            serde_json::json!(default_retries())
        );
        assert_eq!(
            properties["timeout_s"]["default"],
            serde_json::json!(default_timeout_s())
        );
        assert_eq!(schema["required"], serde_json::json!(["url"]));
    }
}
