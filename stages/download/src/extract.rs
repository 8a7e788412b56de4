//! Unpacks a zip archive into a folder of the output, refusing any entry that could write outside
//! it: absolute paths, drive letters, `..` components and symbolic links. Every entry is checked
//! before the first byte is written, so an unsafe archive leaves nothing behind.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use pipeline_api::{StageContext, StageError};
use zip::ZipArchive;

/// Unpacks `archive` (downloaded from `url`) into the folder `into`, which it creates.
pub fn unzip(
    archive: &Path,
    url: &str,
    into: &Path,
    ctx: &mut StageContext<'_>,
) -> Result<usize, StageError> {
    let shown = archive.file_name().map_or_else(
        || archive.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let damaged = |what: String| {
        StageError::failed(format!(
            "`{shown}` from `{url}` is not a complete zip archive ({what}): the download may be \
             truncated, or the URL may serve something else (an HTML page). Check the URL, add a \
             `checksum` to catch this before unpacking, and run again (the next run fetches afresh)"
        ))
    };
    let file = File::open(archive)
        .map_err(|e| StageError::io(format!("opening `{}`", archive.display()), e))?;
    let mut zip = ZipArchive::new(BufReader::new(file)).map_err(|e| damaged(e.to_string()))?;
    let entries = plan(&mut zip, &shown, url).map_err(|e| match e {
        PlanError::Unsafe(error) => error,
        PlanError::Damaged(what) => damaged(what),
    })?;
    let total = entries.iter().map(|e| e.size).sum();
    ctx.log_line(&format!(
        "unpacking {} entries ({total} bytes) of `{shown}`",
        entries.len()
    ));
    ctx.progress.start(total, "bytes");
    ctx.progress.set_position(0);
    std::fs::create_dir_all(into)
        .map_err(|e| StageError::io(format!("creating `{}`", into.display()), e))?;
    for entry in &entries {
        ctx.cancel.check()?;
        write_entry(&mut zip, entry, into, ctx).map_err(|e| match e {
            WriteError::Damaged(what) => damaged(format!("entry `{}`: {what}", entry.name)),
            WriteError::Stage(error) => error,
        })?;
    }
    Ok(entries.len())
}

/// One checked entry: where it goes inside the folder.
struct Entry {
    index: usize,
    name: String,
    target: PathBuf,
    is_dir: bool,
    size: u64,
}

enum PlanError {
    Unsafe(StageError),
    Damaged(String),
}

/// Checks every entry's name and type before anything is written.
fn plan<R: Read + std::io::Seek>(
    zip: &mut ZipArchive<R>,
    shown: &str,
    url: &str,
) -> Result<Vec<Entry>, PlanError> {
    let mut entries = Vec::with_capacity(zip.len());
    for index in 0..zip.len() {
        let entry = zip
            .by_index(index)
            .map_err(|e| PlanError::Damaged(e.to_string()))?;
        let name = entry.name().to_string();
        let refuse = |why: String| {
            PlanError::Unsafe(StageError::failed(format!(
                "refusing to unpack `{shown}` from `{url}`: entry `{name}` {why}, which could write outside \
                 the output folder. Nothing was unpacked; use a trusted archive, or set `extract = false` \
                 and unpack it yourself"
            )))
        };
        if entry.is_symlink() {
            return Err(refuse("is a symbolic link".to_string()));
        }
        let target = safe_path(&name).map_err(refuse)?;
        entries.push(Entry {
            index,
            is_dir: entry.is_dir(),
            size: entry.size(),
            target,
            name,
        });
    }
    Ok(entries)
}

/// The relative path an entry name stands for, or why it is refused. Backslashes count as
/// separators (archives made on Windows), so `..\x` is caught too.
fn safe_path(name: &str) -> Result<PathBuf, String> {
    if name.contains('\0') {
        return Err("has a NUL byte in its name".to_string());
    }
    let unified = name.replace('\\', "/");
    let first = unified.split('/').next().unwrap_or("");
    if unified.starts_with('/') || (first.len() == 2 && first.ends_with(':')) {
        return Err("is an absolute path".to_string());
    }
    let mut path = PathBuf::new();
    for part in unified.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("climbs out with `..`".to_string()),
            part => path.push(part),
        }
    }
    if path.as_os_str().is_empty() {
        return Err("has an empty name".to_string());
    }
    Ok(path)
}

enum WriteError {
    Damaged(String),
    Stage(StageError),
}

fn write_entry<R: Read + std::io::Seek>(
    zip: &mut ZipArchive<R>,
    entry: &Entry,
    into: &Path,
    ctx: &StageContext<'_>,
) -> Result<(), WriteError> {
    let target = into.join(&entry.target);
    let io = |e| WriteError::Stage(StageError::io(format!("writing `{}`", target.display()), e));
    if entry.is_dir {
        return std::fs::create_dir_all(&target).map_err(io);
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut reader = zip
        .by_index(entry.index)
        .map_err(|e| WriteError::Damaged(e.to_string()))?;
    // A name seen twice would silently replace the first file: refuse instead.
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyExists => {
                WriteError::Damaged("the archive holds this name twice".to_string())
            }
            _ => io(e),
        })?;
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        ctx.cancel.check().map_err(WriteError::Stage)?;
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(WriteError::Damaged(e.to_string())),
        };
        out.write_all(&buffer[..read]).map_err(io)?;
        ctx.progress.advance(read as u64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths() {
        assert_eq!(
            safe_path("images/v7w_1.jpg").unwrap(),
            PathBuf::from("images/v7w_1.jpg")
        );
        assert_eq!(safe_path("./a//b/").unwrap(), PathBuf::from("a/b"));
        assert_eq!(
            safe_path("win\\dir\\f.txt").unwrap(),
            PathBuf::from("win/dir/f.txt")
        );
        assert!(safe_path("../x").unwrap_err().contains(".."));
        assert!(safe_path("a/../../x").unwrap_err().contains(".."));
        assert!(safe_path("a/..\\x").unwrap_err().contains(".."));
        assert!(safe_path("/etc/passwd").unwrap_err().contains("absolute"));
        assert!(safe_path("\\evil").unwrap_err().contains("absolute"));
        assert!(safe_path("C:/evil").unwrap_err().contains("absolute"));
        assert!(safe_path("./").unwrap_err().contains("empty"));
        assert!(safe_path("a\0b").is_err());
    }
}
