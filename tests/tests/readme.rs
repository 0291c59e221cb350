//! The README's walkthroughs, run as written (issue 18: "docs that are
//! tested"). The command block of "Running a log with two witnessing
//! monitors" is taken from README.md at test time and run by bash, byte for
//! byte, in a fresh directory where `target/release` points at the binaries
//! under test; then the test checks what the README says happens next: a
//! claim's receipt carries both cosignatures and says
//! `Provlog-Witness-Quorum: met; cosignatures=2; quorum=2`, and `evidence
//! list` says there is none. The walkthrough uses the README's fixed ports
//! (7300, 7401, 7402); the test fails, naming them, if one is taken.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use provlog_e2e::Vendor;

/// The first ```sh block after `heading` in `readme`.
fn sh_block<'a>(readme: &'a str, heading: &str) -> &'a str {
    let section = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README has no section {heading:?}"))
        .1;
    let start = section.find("```sh\n").expect("a ```sh block") + "```sh\n".len();
    let len = section[start..].find("\n```").expect("the block ends");
    &section[start..start + len + 1]
}

/// A bash running a README block in `dir`; on drop, every process whose
/// working directory is `dir` (the shell and whatever it started) is
/// stopped, and nothing else.
struct Script {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Script {
    fn drop(&mut self) {
        let dir = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        let mut ours = Vec::new();
        if let Ok(procs) = std::fs::read_dir("/proc") {
            for p in procs.flatten() {
                let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                if std::fs::read_link(p.path().join("cwd")).is_ok_and(|c| c == dir) {
                    ours.push(pid);
                }
            }
        }
        for pid in ours {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = self.child.wait();
    }
}

fn run_in(dir: &Path, script: &str) -> Script {
    let child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("stdout")).expect("stdout"))
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr"))
        .spawn()
        .expect("bash");
    Script {
        child,
        dir: dir.to_path_buf(),
    }
}

#[test]
fn the_two_monitor_walkthrough_runs_as_written() {
    for port in [7300, 7401, 7402] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "the README walkthrough needs 127.0.0.1:{port} free"
        );
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let block = sh_block(&readme, "## Running a log with two witnessing monitors");
    let dir = tempfile::tempdir().expect("tempdir");
    // `B=target/release` in the README: point it at the binaries under test.
    let bins = provlog_e2e::bin("provlog-server")
        .parent()
        .expect("bin dir")
        .to_path_buf();
    std::fs::create_dir_all(dir.path().join("target")).expect("target");
    std::os::unix::fs::symlink(&bins, dir.path().join("target/release")).expect("symlink");
    let mut script = run_in(dir.path(), block);

    // The block ends with the log in the foreground: wait (bounded) until it
    // serves, then send a claim as the README's verifier would.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let vendor = Vendor::new("imagegen.example");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let quorum = loop {
        if let Ok(Some(status)) = script.child.try_wait() {
            let err = std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default();
            panic!("the walkthrough stopped ({status}):\n{err}");
        }
        assert!(
            Instant::now() < deadline,
            "the walkthrough's log did not serve a witnessed receipt within 120 s:\n{}",
            std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
        );
        let answer = rt.block_on(async {
            let r = http
                .post("http://127.0.0.1:7300/v1/claims")
                .header("content-type", "application/cose")
                .body(vendor.claim(1))
                .send()
                .await
                .ok()?;
            r.headers()
                .get("provlog-witness-quorum")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        match answer {
            // Until both monitors have cosigned once, a receipt may go out
            // below the quorum; resubmitting the same claim is a duplicate.
            Some(h) if h.starts_with("met") => break h,
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    assert_eq!(quorum, "met; cosignatures=2; quorum=2");

    // "(`evidence list` prints `no evidence` on stderr and nothing on stdout
    // while there is none.)"
    let list = Command::new(dir.path().join("target/release/provlog-monitor"))
        .args(["evidence", "list", "--monitor", "http://127.0.0.1:7401"])
        .output()
        .expect("evidence list");
    assert!(list.status.success(), "{list:?}");
    assert!(list.stdout.is_empty(), "{list:?}");
    assert!(
        String::from_utf8_lossy(&list.stderr).contains("no evidence"),
        "{list:?}"
    );
    // `provlog-monitor vkey --data ma` printed monitor A's witness vkey
    // (init's copy went into $WA_VKEY, so this one is vkey's).
    let out = std::fs::read_to_string(dir.path().join("stdout")).expect("stdout");
    let printed = out.lines().find(|l| l.starts_with("monitor-a.example+"));
    assert!(
        printed.is_some(),
        "`provlog-monitor vkey` printed the key: {out}"
    );
}
