//! `provlog submit` says what it did not register and why: symlinks,
//! empty files, unreadable files, one line each and a summary count; an
//! empty file is never registered (issue 11, item 17).
//!
//! Needs the binaries: `cargo build -p provlog-cli -p provlog-server`.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use provlog_e2e::{LogProcess, provlog, write_media_tree};

macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$(OsString::from($a)),*]
    };
}

fn sidecar(file: &Path, ext: &str) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

#[test]
fn symlinks_empty_and_unreadable_files_are_named_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let log = LogProcess::start(&d.join("log"), &["--batch-interval-ms", "20"]);
    let key = d.join("vendor.key");
    assert!(provlog(args!["keygen", "--out", &key]).ok());
    let media = d.join("media");
    let files = write_media_tree(&media, 4, "skip");
    let outside = d.join("outside");
    let outside_files = write_media_tree(&outside, 2, "outside");
    let link_file = media.join("link.png");
    std::os::unix::fs::symlink(&outside_files[0], &link_file).expect("symlink");
    let link_dir = media.join("linked-dir");
    std::os::unix::fs::symlink(&outside, &link_dir).expect("symlink");
    let empty = media.join("empty.png");
    std::fs::write(&empty, b"").expect("write");
    let locked = media.join("locked.png");
    std::fs::write(&locked, b"\x89PNG\r\n\x1a\nlocked").expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    // Root reads any file: then the unreadable case cannot be made here.
    let can_lock = std::fs::File::open(&locked).is_err();
    if !can_lock {
        std::fs::remove_file(&locked).expect("rm");
    }

    let run = provlog(args![
        "submit",
        "--log",
        &log.url,
        "--key",
        &key,
        "--log-key",
        &log.vkey,
        &media
    ]);
    for (path, why) in [
        (&link_file, "a symbolic link, not followed"),
        (&link_dir, "a symbolic link, not followed"),
        (&empty, "an empty file: there is nothing to register"),
    ] {
        let line = format!("skipped {}: {why}", path.display());
        assert!(run.stderr.contains(&line), "{line:?} in {}", run.stderr);
    }
    assert!(
        !sidecar(&empty, "provlog").exists(),
        "an empty file is not registered"
    );
    assert!(!sidecar(&link_file, "provlog").exists());
    assert!(
        !sidecar(&outside_files[0], "provlog").exists(),
        "links are not followed"
    );
    for f in &files {
        assert!(sidecar(f, "provlog").exists(), "{} registered", f.display());
    }
    assert!(
        run.stderr.contains("4 logged with verified receipts"),
        "{}",
        run.stderr
    );
    if can_lock {
        let line = format!(
            "skipped {}: cannot read it: permission denied",
            locked.display()
        );
        assert!(run.stderr.contains(&line), "{line:?} in {}", run.stderr);
        assert!(
            run.stderr
                .contains("not registered: 4 (3 symlinks, empty or special files; 1 unreadable)"),
            "{}",
            run.stderr
        );
        assert_eq!(
            run.code,
            Some(3),
            "an unreadable file is a failure to check: {run:?}"
        );
    } else {
        assert!(
            run.stderr
                .contains("not registered: 3 (3 symlinks, empty or special files; 0 unreadable)"),
            "{}",
            run.stderr
        );
        assert!(
            run.ok(),
            "skipping links and empty files is not a failure: {run:?}"
        );
    }

    // Named explicitly: a link to a file is followed; an empty file is refused.
    let run = provlog(args![
        "submit",
        "--log",
        &log.url,
        "--key",
        &key,
        "--log-key",
        &log.vkey,
        &link_file
    ]);
    assert!(run.ok(), "a named link is followed: {run:?}");
    let run = provlog(args![
        "submit",
        "--log",
        &log.url,
        "--key",
        &key,
        "--log-key",
        &log.vkey,
        &empty
    ]);
    assert!(!run.ok() && run.stderr.contains("an empty file"), "{run:?}");
    let run = provlog(args!["claim", &empty, "--key", &key]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("is empty"), "{run:?}");

    // --json: one line per path not registered, with its reason.
    let run = provlog(args![
        "submit",
        "--log",
        &log.url,
        "--key",
        &key,
        "--log-key",
        &log.vkey,
        &media,
        "--json"
    ]);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let not: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["status"] == "not-registered")
        .collect();
    assert_eq!(not.len(), 3, "{}", run.stdout);
    assert!(
        not.iter()
            .all(|l| l["reason"].as_str().is_some_and(|r| !r.is_empty()))
    );
    let summary = lines
        .iter()
        .find(|l| l.get("summary").is_some())
        .expect("summary line");
    assert_eq!(summary["summary"]["skipped"], 4, "{summary}");
}
