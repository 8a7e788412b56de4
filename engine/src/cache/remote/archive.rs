//! An output folder as one tar archive, and back. The archive of a folder is always the same
//! bytes: entries sorted by name, no owners, one fixed time, modes 0755 or 0644 (the digest of an
//! output ignores modes, and a stored output is made read-only again once unpacked). So an upload
//! killed halfway can be packed again and checked part by part against what was sent
//! ([`super::upload`]).

use std::io::{self, Read, Write};
use std::path::Path;

use pipeline_api::Progress;
use tar::{Builder, Header, HeaderMode};

/// Writes `folder` as a tar archive into `into`, counting the bytes of its files on `progress`.
/// Symbolic links stay links.
pub fn pack(folder: &Path, into: impl Write, progress: &dyn Progress) -> io::Result<()> {
    let mut builder = Builder::new(into);
    builder.mode(HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    append_sorted(&mut builder, folder, Path::new(""), progress)?;
    builder.into_inner()?.flush()
}

fn append_sorted<W: Write>(
    builder: &mut Builder<W>,
    root: &Path,
    relative: &Path,
    progress: &dyn Progress,
) -> io::Result<()> {
    let mut entries = std::fs::read_dir(root.join(relative))?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let name = relative.join(entry.file_name());
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path)?;
        let mut header = Header::new_gnu();
        header.set_metadata_in_mode(&meta, HeaderMode::Deterministic);
        if meta.is_dir() {
            builder.append_data(&mut header, &name, io::empty())?;
            append_sorted(builder, root, &name, progress)?;
        } else if meta.is_symlink() {
            builder.append_link(&mut header, &name, std::fs::read_link(&path)?)?;
        } else {
            let file = std::fs::File::open(&path)?;
            builder.append_data(&mut header, &name, Counted { file, progress })?;
        }
    }
    Ok(())
}

/// A file read into the archive, its bytes counted as they go.
struct Counted<'a> {
    file: std::fs::File,
    progress: &'a dyn Progress,
}

impl Read for Counted<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.file.read(buffer)?;
        self.progress.advance(read as u64);
        Ok(read)
    }
}

/// The archive at `archive` unpacked into the new folder `folder`; entries that would land
/// outside it are refused by `tar`.
pub fn unpack(archive: &Path, folder: &Path) -> Result<(), String> {
    std::fs::create_dir_all(folder).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(io::BufReader::new(file));
    archive.set_preserve_permissions(true);
    archive
        .unpack(folder)
        .map_err(|e| format!("not a readable output archive: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_api::SilentProgress;

    fn packed(folder: &Path) -> Vec<u8> {
        let mut bytes = Vec::new();
        pack(folder, &mut bytes, &SilentProgress).expect("packs");
        bytes
    }

    #[test]
    fn a_folder_packs_to_the_same_bytes_whatever_its_times_and_order_of_creation() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for (folder, names) in [(&a, ["x.txt", "sub/y.txt"]), (&b, ["sub/y.txt", "x.txt"])] {
            for name in names {
                let path = folder.join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, name).unwrap();
            }
            std::os::unix::fs::symlink("x.txt", folder.join("link")).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let bytes = packed(&a);
        assert_eq!(bytes, packed(&b));

        let back = dir.path().join("back");
        let archive = dir.path().join("a.tar");
        std::fs::write(&archive, &bytes).unwrap();
        unpack(&archive, &back).unwrap();
        assert_eq!(
            std::fs::read_to_string(back.join("sub/y.txt")).unwrap(),
            "sub/y.txt"
        );
        assert_eq!(
            std::fs::read_link(back.join("link")).unwrap(),
            Path::new("x.txt")
        );
    }
}
