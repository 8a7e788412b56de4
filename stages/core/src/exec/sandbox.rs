//! What the engine asks of a program's process before it starts (Linux): it dies with the
//! engine, and it sees its inputs read-only.
//!
//! - `PR_SET_PDEATHSIG(SIGKILL)`: a SIGKILLed engine takes the program with it, so no orphan
//!   writes into a staging folder after its run is gone. (Its own children are not covered: the
//!   engine hands every attempt a fresh staging folder, so a late writer cannot reach the next.)
//! - A private mount namespace where each input is bind-mounted read-only over itself: the
//!   program cannot write into the cached outputs of other stages nor the project's data files,
//!   even as root. This needs `CAP_SYS_ADMIN`; where it is refused (an unprivileged user, a
//!   container without it), the program runs with its inputs as they are and the engine's check
//!   after the run (the inputs' digests) still catches a write.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// More read-only views than this would slow every start: the check after the run remains.
const MAX_READ_ONLY_VIEWS: usize = 256;

/// Sets up `command`'s process as described above. `inputs` are the paths handed to the
/// program; `out_dir` is where it writes (never made read-only, nor any folder holding it).
pub fn confine(command: &mut Command, inputs: &[PathBuf], out_dir: &Path) {
    #[cfg(target_os = "linux")]
    linux::confine(command, read_only_views(inputs, out_dir));
    #[cfg(not(target_os = "linux"))]
    let _ = (command, read_only_views(inputs, out_dir));
}

/// The existing inputs to make read-only, as C strings prepared before the fork (the child may
/// not allocate), none holding the output folder; none if there are too many.
fn read_only_views(inputs: &[PathBuf], out_dir: &Path) -> Vec<CString> {
    let out_dir = out_dir
        .canonicalize()
        .unwrap_or_else(|_| out_dir.to_path_buf());
    let mut views: Vec<PathBuf> = inputs
        .iter()
        .filter_map(|path| path.canonicalize().ok())
        .filter(|path| !out_dir.starts_with(path))
        .collect();
    views.sort();
    views.dedup();
    if views.len() > MAX_READ_ONLY_VIEWS {
        return Vec::new();
    }
    views
        .into_iter()
        .filter_map(|path| CString::new(path.into_os_string().into_encoded_bytes()).ok())
        .collect()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::CString;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    pub fn confine(command: &mut Command, views: Vec<CString>) {
        // SAFETY: getpid(2) has no preconditions.
        let engine = unsafe { libc::getpid() };
        // SAFETY: the closure runs in the forked child before exec and makes only system calls
        // (prctl, getppid, kill, unshare, mount) over memory prepared before the fork.
        unsafe {
            command.pre_exec(move || {
                die_with(engine);
                read_only(&views);
                Ok(())
            });
        }
    }

    /// SIGKILL when the engine's thread that started us ends; at once if it already has.
    fn die_with(engine: libc::pid_t) {
        // SAFETY: plain system calls on this process.
        unsafe {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            if libc::getppid() != engine {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
    }

    /// A private mount namespace with each view bind-mounted read-only; silently nothing where
    /// the namespace or a mount is not permitted.
    fn read_only(views: &[CString]) {
        if views.is_empty() {
            return;
        }
        let root = c"/";
        // SAFETY: unshare(2) and mount(2) with valid NUL-terminated paths; failures are checked
        // and leave the process as it was (or with harmless plain bind mounts).
        unsafe {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return;
            }
            let private = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                private,
                std::ptr::null(),
            ) != 0
            {
                return;
            }
            for view in views {
                let path = view.as_ptr();
                if libc::mount(
                    path,
                    path,
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                ) == 0
                {
                    let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
                    libc::mount(
                        std::ptr::null(),
                        path,
                        std::ptr::null(),
                        flags,
                        std::ptr::null(),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_holding_the_output_are_never_made_read_only() {
        let dir =
            std::env::temp_dir().join(format!("pipeline-sandbox-test-{}", std::process::id()));
        let (data, out) = (dir.join("data"), dir.join("cache/staging/k/out"));
        std::fs::create_dir_all(&data).expect("data");
        std::fs::create_dir_all(&out).expect("out");
        let inputs = [data.clone(), dir.clone(), dir.join("missing"), data.clone()];
        let views = read_only_views(&inputs, &out);
        let expected = CString::new(
            data.canonicalize()
                .expect("data")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .expect("path");
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert_eq!(views, [expected]);
    }
}
