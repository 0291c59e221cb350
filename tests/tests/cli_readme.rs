//! The README's CLI command blocks run as written (issue 18, "Docs that
//! are tested").
//!
//! A fenced `sh` block right after a line `<!-- test: cli -->` is run
//! literally with `bash -euo pipefail`, all blocks in order in one temp
//! dir (so a later block can use what an earlier one made), with `HOME`
//! and `XDG_*` pointing into it, the built binaries first on `PATH`, and
//! no `PROVLOG_*` variables from the environment.
//!
//! Needs the binaries: `cargo build -p provlog-cli -p provlog-server`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The marker line before a tested block.
const MARKER: &str = "<!-- test: cli -->";

/// The marked blocks of `markdown`, in order.
fn marked_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if line.trim() != MARKER {
            continue;
        }
        let fence = lines.next().unwrap_or_default().trim();
        assert!(
            fence == "```sh" || fence == "```bash",
            "{MARKER} must be followed by a ```sh block, found {fence:?}"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        blocks.push(body.join("\n"));
    }
    blocks
}

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_marker_parser_finds_blocks_and_rejects_unfenced_markers() {
    let md = "x\n<!-- test: cli -->\n```sh\necho a\necho b\n```\n```sh\nnot marked\n```\n<!-- test: cli -->\n```sh\necho c\n```\n";
    assert_eq!(marked_blocks(md), vec!["echo a\necho b", "echo c"]);
    let bad = std::panic::catch_unwind(|| marked_blocks("<!-- test: cli -->\ntext\n"));
    assert!(bad.is_err(), "a marker without a block is an error");
}

#[test]
fn readme_cli_blocks_run_as_written() {
    let blocks = marked_blocks(&readme());
    assert!(!blocks.is_empty(), "the README has no {MARKER} blocks");
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::create_dir_all(&work).expect("mkdir");
    let bins: PathBuf = provlog_e2e::bin("provlog")
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (i, block) in blocks.iter().enumerate() {
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", block])
            .current_dir(&work)
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("PATH", &path)
            .env_remove("PROVLOG_LOG")
            .env_remove("PROVLOG_LOG_KEY")
            .env_remove("PROVLOG_STATE_DIR")
            .env_remove("PROVLOG_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "README block {i} failed ({}):\n{block}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What the block promises exists.
    assert!(work.join("vendor.key").exists());
    let completion = home.join(".local/share/bash-completion/completions/provlog");
    assert!(std::fs::read_to_string(completion).is_ok_and(|s| s.contains("provlog")));
}
