//! Publishing under hostile conditions (symlinks on the destination path, concurrent runs), and
//! what a run leaves behind: staging folders of killed runs, broken pipes, progress lines.

mod common;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;

use common::{Project, files_below, sh_stage};

const MAKE_FILES: &str = r#"[stage.make]
kind = "exec"
cmd = ["sh", "-c", '''mkdir -p "$PIPELINE_OUT/files/sub"; for i in $(seq 1 200); do echo "file $i" > "$PIPELINE_OUT/files/f$i.txt"; done; echo deep > "$PIPELINE_OUT/files/sub/deep.txt"''']
outputs = ["files/"]

[stage.ship]
kind = "publish"
inputs = { dir = "@make/files" }
path = "results/files"

[stage.one]
kind = "publish"
inputs = { f = "@make/files/f1.txt" }
path = "results/one.txt"
"#;

fn publish_manifest(path: &str) -> String {
    let mut manifest = sh_stage("make", "", "echo result > \"$PIPELINE_OUT/out.txt\"");
    manifest += &format!(
        "[stage.ship]\nkind = \"publish\"\ninputs = {{ file = \"@make/out.txt\" }}\npath = \"{path}\"\n"
    );
    manifest
}

/// Hidden temporary siblings (`.name.tmp-*`) anywhere below `dir`.
fn temp_leftovers(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".tmp-") {
            found.push(path.display().to_string());
        } else if path.is_dir() && !path.is_symlink() {
            found.extend(temp_leftovers(&path));
        }
    }
    found
}

#[test]
fn symlinks_on_the_publish_path_must_stay_inside_the_project() {
    let outside = tempfile::tempdir().unwrap();
    for path in ["reslink/x.txt", "results/deeper/x.txt", "results"] {
        let project = Project::new(&publish_manifest(path));
        std::fs::create_dir(project.path("results")).unwrap();
        std::os::unix::fs::symlink(outside.path(), project.path("reslink")).unwrap();
        std::os::unix::fs::symlink(outside.path(), project.path("results/deeper")).unwrap();
        if path == "results" {
            std::fs::remove_dir_all(project.path("results")).unwrap();
            std::os::unix::fs::symlink(outside.path(), project.path("results")).unwrap();
        }
        let result = project.run(&[]);
        assert_ne!(
            result.code, 0,
            "publishing `{path}` through a symlink succeeded: {}",
            result.stderr
        );
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            0,
            "`{path}` wrote outside the project"
        );
        assert!(
            result.stderr.contains(&format!("cannot publish `{path}`")),
            "{}",
            result.stderr
        );
        assert!(
            result.stderr.contains("is a symlink to")
                && result.stderr.contains("outside the project"),
            "{}",
            result.stderr
        );
        assert!(
            result
                .stderr
                .contains(&outside.path().display().to_string()),
            "{}",
            result.stderr
        );
    }
    // A symlink that stays inside the project is followed.
    let project = Project::new(&publish_manifest("results/x.txt"));
    std::fs::create_dir_all(project.path("real/results")).unwrap();
    std::os::unix::fs::symlink("real/results", project.path("results")).unwrap();
    let result = project.run(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert_eq!(project.read("real/results/x.txt"), "result\n");
    assert!(
        project.path("results").is_symlink(),
        "the symlink was replaced"
    );
}

/// Four runs restore the same edited folder (and file) at once, round after round: none fails,
/// no temporary sibling is left (not even a killed run's), and the result is one complete copy.
#[test]
fn concurrent_runs_restore_a_published_folder_without_errors_or_leftovers() {
    let project = Project::new(MAKE_FILES);
    let first = project.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let expected = project.read("results/files/f3.txt");
    for round in 0..6 {
        std::fs::remove_file(project.path("results/files/f2.txt")).unwrap();
        project.write("results/files/f3.txt", "edited by hand\n");
        project.write("results/files/extra.txt", "not ours\n");
        project.write("results/one.txt", "edited\n");
        // What a run killed mid-publish leaves (its pid is past any pid_max).
        project.write(
            &format!("results/.files.tmp-999999999-{round}/f1.txt"),
            "partial",
        );
        project.write(
            &format!("results/.one.txt.tmp-999999999-{round}"),
            "partial",
        );
        let children: Vec<_> = (0..4)
            .map(|_| {
                project
                    .command(&["run", "pipeline.toml"])
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(0), "round {round}: {stderr}");
        }
        assert_eq!(
            temp_leftovers(&project.path("results")),
            Vec::<String>::new(),
            "round {round}"
        );
        assert_eq!(
            files_below(&project.path("results/files")).len(),
            201,
            "round {round}"
        );
        assert_eq!(
            project.read("results/files/f3.txt"),
            expected,
            "round {round}"
        );
        assert_eq!(
            project.read("results/files/f2.txt"),
            "file 2\n",
            "round {round}"
        );
        assert_eq!(project.read("results/one.txt"), "file 1\n", "round {round}");
    }
}

/// Runs `pipeline <args>` with its stdout closed before anything is read, as `| head -1` does
/// once it has its line.
fn with_closed_stdout(project: &Project, args: &[&str]) -> (std::process::ExitStatus, String) {
    let mut child = project
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

#[test]
fn a_closed_stdout_ends_listing_commands_quietly() {
    let project = Project::new(&publish_manifest("results/x.txt"));
    for args in [
        &["stages"][..],
        &["dag", "pipeline.toml"],
        &["stages", "--json"],
    ] {
        let (status, stderr) = with_closed_stdout(&project, args);
        assert!(
            status.success() || status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {status:?} {stderr}"
        );
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn stale_staging_folders_are_removed_unless_locked_or_resumable() {
    let project = Project::new(&sh_stage("a", "", "echo a > \"$PIPELINE_OUT/out.txt\""));
    let staging = project.path("cache/v1/staging");
    for key in ["killed", "resumable", "running"] {
        std::fs::create_dir_all(staging.join(key).join("out")).unwrap();
        std::fs::write(staging.join(key).join("out/partial.bin"), "partial").unwrap();
    }
    std::fs::write(staging.join("resumable/.resumable"), "").unwrap();
    std::fs::create_dir_all(project.path("cache/v1/locks")).unwrap();
    let held = std::fs::File::create(project.path("cache/v1/locks/running.lock")).unwrap();
    held.lock().unwrap();

    let result = project.run(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        !staging.join("killed").exists(),
        "the staging folder of a killed run stayed"
    );
    assert!(
        staging.join("resumable/out/partial.bin").exists(),
        "a resumable stage's staging was removed"
    );
    assert!(
        staging.join("running/out/partial.bin").exists(),
        "a locked staging folder was removed"
    );
    assert!(
        result
            .stderr
            .contains("removed 1 staging folder of interrupted runs"),
        "{}",
        result.stderr
    );

    let again = project.run(&[]);
    assert!(!again.stderr.contains("staging folder"), "{}", again.stderr);
    let (code, _, err) = project.cli(&["cache", "gc", "pipeline.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !staging.join("resumable").exists(),
        "`cache gc` kept a resumable staging folder"
    );
    assert!(
        staging.join("running").exists(),
        "`cache gc` removed a locked staging folder"
    );
    drop(held);
}

#[test]
fn plain_progress_lines_give_no_eta_before_the_first_item() {
    let script = "echo '::progress 0/4'; sleep 0.2; echo '::progress 2/4'; echo '::progress 4/4'; echo done > \"$PIPELINE_OUT/out.txt\"";
    let project = Project::new(&sh_stage("count", "", script));
    let result = project.run(&[]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(result.stderr.contains("count 0/4"), "{}", result.stderr);
    assert!(
        !result.stderr.contains("ETA NaN") && !result.stderr.contains("ETA inf"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("count 4/4"), "{}", result.stderr);
}

/// A file is never published where a folder is that the stage did not publish (nor a folder where
/// such a file is): what is there is left alone. A stage whose result changed kind replaces its
/// own earlier publish.
#[test]
fn a_destination_of_the_other_kind_is_replaced_only_when_the_stage_published_it() {
    let manifest = |script: &str, output: &str| {
        format!(
            "[stage.make]\nkind = \"exec\"\ncmd = [\"sh\", \"-c\", '''{script}''']\noutputs = [\"{output}\"]\n\n[stage.ship]\nkind = \"publish\"\ninputs = {{ it = \"@make/thing\" }}\npath = \"results/thing\"\n"
        )
    };
    let folder = manifest(
        "mkdir \"$PIPELINE_OUT/thing\"; echo a > \"$PIPELINE_OUT/thing/a.txt\"",
        "thing/",
    );
    let file = manifest("echo file > \"$PIPELINE_OUT/thing\"", "thing");
    let project = Project::new(&file);
    project.write("results/thing/notes.txt", "mine\n");
    let refused = project.run(&[]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains(
            "cannot publish `results/thing`: a folder is there, which stage `ship` did not publish"
        ),
        "{}",
        refused.stderr
    );
    assert_eq!(project.read("results/thing/notes.txt"), "mine\n");

    std::fs::remove_dir_all(project.path("results/thing")).unwrap();
    for (round, text) in [&folder, &file, &folder].into_iter().enumerate() {
        project.write("pipeline.toml", text);
        let result = project.run(&[]);
        assert_eq!(result.code, 0, "round {round}: {}", result.stderr);
        assert_eq!(
            project.path("results/thing").is_dir(),
            text == &folder,
            "round {round}"
        );
    }
    assert_eq!(project.read("results/thing/a.txt"), "a\n");
}
