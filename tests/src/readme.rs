//! Running the README's command blocks as written (issue 18, "docs that are
//! tested"): the one place that finds the blocks, runs them with bash in a
//! temp dir with the binaries under test on `PATH`, compares what they
//! print with what the README shows, and stops what they started.
//!
//! Every ```` ```sh ````, ```` ```bash ```` or ```` ```console ```` block of
//! README.md must sit right under a marker line naming the test that runs
//! it, `<!-- test: NAME -->` (one of [`TESTS`]), or, rarely,
//! `<!-- test: skip REASON -->`; `tests/tests/readme.rs` fails otherwise.
//! `<!-- test: NAME background -->` marks a block the reader runs "in
//! another terminal" (or that ends in a foreground server): it runs in its
//! own bash, left running.
//!
//! How a block runs ([`Shell`]): one bash session per test, fed the
//! blocks in README order, so a variable a block sets is seen by the next
//! (as in the reader's terminal). Its directory is a fresh temp dir with
//! `HOME` and `XDG_*` inside it, `target/release` a link to the binaries
//! under test, those binaries first on `PATH`, and `cargo` a shim that
//! runs them (`cargo run --release -p P -- ARGS` runs P's binary; `cargo
//! build --release -p P...` checks the packages and builds nothing: the
//! test run built them). `PROVLOG_*` and `RUST_LOG` are removed from the
//! environment.
//!
//! - An `sh` block runs as a script with `set -euo pipefail`: any failing
//!   command fails the test.
//! - A `console` block is a transcript: each `$ COMMAND` (continued over
//!   lines ending in `\`) runs, and the lines after it up to the next `$`
//!   are what it must print (stdout and stderr together). A command must
//!   exit 0 unless the next command is `echo $?`, which then shows the
//!   status. Output is compared token by token (so `ls` in columns equals
//!   `ls` one per line) after masking what differs from run to run: every
//!   token holding a digit or looking like hex (keys, hashes, sizes,
//!   times, counts) becomes `#`. A token `...` stands for any tokens; a
//!   token ending in `...` for any token that starts the same.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// The tests that run README blocks: marker name -> the file that runs
/// them. `ci` blocks are run by `.ci/run` itself (each of their commands
/// must appear there).
pub const TESTS: &[(&str, &str)] = &[
    ("ci", ".ci/run"),
    ("two-commands", "tests/tests/readme.rs"),
    ("quickstart", "tests/tests/readme.rs"),
    ("cli", "tests/tests/readme.rs"),
    ("c2pa", "tests/tests/readme.rs"),
    ("lookup", "tests/tests/readme.rs"),
    ("s3", "tests/tests/readme.rs"),
    ("s3-frontends", "tests/tests/readme.rs"),
    ("two-monitors", "tests/tests/readme.rs"),
];

/// How many `skip` markers the README may have.
pub const MAX_SKIPS: usize = 1;

/// A fenced block of a Markdown file.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The fence's info string (`sh`, `console`, `toml`, or empty).
    pub lang: String,
    /// The marker right above the fence: `test: ` and what follows.
    pub marker: Option<String>,
    /// The lines between the fences, each ending in `\n`.
    pub body: String,
}

impl Block {
    /// Whether this block holds commands (and so must be tested).
    pub fn is_commands(&self) -> bool {
        matches!(self.lang.as_str(), "sh" | "bash" | "console" | "shell")
    }

    /// The test named by the marker (its first word), if any.
    pub fn test(&self) -> Option<&str> {
        self.marker.as_deref()?.split_whitespace().next()
    }

    /// Whether the marker says `background`.
    pub fn background(&self) -> bool {
        self.marker
            .as_deref()
            .is_some_and(|m| m.split_whitespace().skip(1).any(|w| w == "background"))
    }
}

/// Every fenced block of `markdown`, with the marker line right above it.
/// Panics on a fence that is never closed.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let marker = i
            .checked_sub(1)
            .map(|p| lines[p].trim())
            .and_then(|l| l.strip_prefix("<!-- test:"))
            .and_then(|l| l.strip_suffix("-->"))
            .map(|m| m.trim().to_string());
        let start = i;
        let mut body = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            body.push_str(lines[i]);
            body.push('\n');
            i += 1;
        }
        assert!(
            i < lines.len(),
            "the block at line {} is never closed",
            start + 1
        );
        out.push(Block {
            line: start + 1,
            lang: info.trim().to_string(),
            marker,
            body,
        });
        i += 1;
    }
    out
}

/// README.md of the repository.
pub fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The command blocks of README.md marked for `test`, in order. Panics if
/// there are none (a test that runs nothing proves nothing).
pub fn marked(test: &str) -> Vec<Block> {
    let found: Vec<Block> = blocks(&readme())
        .into_iter()
        .filter(|b| b.is_commands() && b.test() == Some(test))
        .collect();
    assert!(
        !found.is_empty(),
        "README.md has no block marked `test: {test}`"
    );
    found
}

/// Problems with the markers of `markdown`: a command block without a
/// marker, a marker naming no test in `tests`, a marker on no command
/// block, a skip without a reason, too many skips, a test with no block.
pub fn marker_problems(markdown: &str, tests: &[(&str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    let all = blocks(markdown);
    let mut skips = 0;
    for b in &all {
        match (b.is_commands(), b.test()) {
            (true, None) => problems.push(format!(
                "line {}: ```{} block has no `<!-- test: NAME -->` marker above it",
                b.line, b.lang
            )),
            (false, Some(_)) => problems.push(format!(
                "line {}: a test marker on a ```{} block, which is not run",
                b.line, b.lang
            )),
            (true, Some("skip")) => {
                skips += 1;
                let reason = b.marker.as_deref().unwrap_or_default()["skip".len()..].trim();
                if reason.len() < 10 {
                    problems.push(format!(
                        "line {}: `test: skip` must say why the block cannot run",
                        b.line
                    ));
                }
            }
            (true, Some(name)) if !tests.iter().any(|(t, _)| *t == name) => problems.push(format!(
                "line {}: marker names `{name}`, which is no test",
                b.line
            )),
            _ => {}
        }
    }
    let marker_lines = markdown
        .lines()
        .filter(|l| l.trim().starts_with("<!-- test:"))
        .count();
    let on_blocks = all.iter().filter(|b| b.marker.is_some()).count();
    if marker_lines != on_blocks {
        problems.push(format!(
            "{} marker line(s) are not right above a fenced block",
            marker_lines - on_blocks.min(marker_lines)
        ));
    }
    if skips > MAX_SKIPS {
        problems.push(format!(
            "{skips} skipped blocks; at most {MAX_SKIPS} (make them runnable)"
        ));
    }
    for (name, _) in tests {
        if !all
            .iter()
            .any(|b| b.is_commands() && b.test() == Some(*name))
        {
            problems.push(format!("test `{name}` runs no README block"));
        }
    }
    problems
}

/// One command of a console block and what the README shows it printing.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The command, continuation lines joined as bash reads them.
    pub command: String,
    /// The output lines shown under it.
    pub expected: Vec<String>,
}

/// The steps of a console block.
pub fn console_steps(body: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for line in body.lines() {
        if continuing {
            let step = steps.last_mut().expect("continuation after a command");
            step.command.push('\n');
            step.command.push_str(line);
            continuing = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            steps.push(Step {
                command: cmd.to_string(),
                expected: Vec::new(),
            });
            continuing = cmd.ends_with('\\');
        } else {
            match steps.last_mut() {
                Some(step) => step.expected.push(line.to_string()),
                None => panic!("console block starts with output, not `$ `: {line:?}"),
            }
        }
    }
    steps
}

/// `text`'s tokens with run-to-run differences masked (see the module doc).
pub fn masked_tokens(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|word| {
            let mut out = String::new();
            let mut token = String::new();
            let flush = |token: &mut String, out: &mut String| {
                if !token.is_empty() {
                    let hexish = token.len() >= 4 && token.bytes().all(|b| b.is_ascii_hexdigit());
                    if hexish || token.bytes().any(|b| b.is_ascii_digit()) {
                        out.push('#');
                    } else {
                        out.push_str(token);
                    }
                    token.clear();
                }
            };
            for c in word.chars() {
                if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_') {
                    token.push(c);
                } else {
                    flush(&mut token, &mut out);
                    out.push(c);
                }
            }
            flush(&mut token, &mut out);
            out
        })
        .collect()
}

/// Whether `actual` (tokens) matches `expected` (tokens, `...` any run).
fn tokens_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "..." => {
            (0..=actual.len()).any(|skip| tokens_match(rest, &actual[skip..]))
        }
        Some((e, rest)) => actual.split_first().is_some_and(|(a, arest)| {
            // `abc...` at the end of a token: any token starting `abc`.
            let prefix = e.strip_suffix("...").filter(|p| !p.is_empty());
            (a == e || prefix.is_some_and(|p| a.starts_with(p))) && tokens_match(rest, arest)
        }),
    }
}

/// Ok if `actual` output is what `expected` lines show (masked, by token).
pub fn output_matches(expected: &[String], actual: &str) -> Result<(), String> {
    let e = masked_tokens(&expected.join("\n"));
    let a = masked_tokens(actual);
    if tokens_match(&e, &a) {
        Ok(())
    } else {
        Err(format!(
            "the README shows:\n{}\nit printed:\n{actual}\n(masked, the README: {e:?}\nprinted: {a:?})",
            expected.join("\n")
        ))
    }
}

/// The directory of the binaries under test.
pub fn bin_dir() -> PathBuf {
    crate::bin("provlog-server")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

/// Fails, naming the port, if `port` on 127.0.0.1 is taken.
pub fn require_free_ports(ports: &[u16]) {
    for &port in ports {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "the README uses 127.0.0.1:{port}, which is taken on this machine; free it to run this test"
        );
    }
}

/// The README's fixed ports are shared by its tests: one at a time.
pub fn fixed_ports() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The `cargo` shim (see the module doc).
fn cargo_shim(bins: &Path) -> String {
    format!(
        r#"#!/usr/bin/env bash
# README test shim: runs the binaries under test instead of building them.
set -euo pipefail
bins='{bins}'
bin_of() {{
  case "$1" in
    provlog-server) echo provlog-server ;;
    provlog-cli) echo provlog ;;
    provlog-monitor) echo provlog-monitor ;;
    *) echo "error: package ID specification \`$1\` did not match any packages (README test shim)" >&2; exit 101 ;;
  esac
}}
cmd="$1"; shift
pkgs=(); rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    -p) pkgs+=("$2"); shift 2 ;;
    --release) shift ;;
    --) shift; rest=("$@"); break ;;
    *) echo "README test shim: unexpected cargo argument $1" >&2; exit 101 ;;
  esac
done
case "$cmd" in
  build) for p in "${{pkgs[@]}}"; do b=$(bin_of "$p"); test -x "$bins/$b"; done ;;
  run) [ ${{#pkgs[@]}} -eq 1 ] || {{ echo "README test shim: run needs one -p" >&2; exit 101; }}
       b=$(bin_of "${{pkgs[0]}}"); exec "$bins/$b" "${{rest[@]}}" ;;
  *) echo "README test shim: cargo $cmd is not run here" >&2; exit 101 ;;
esac
"#,
        bins = bins.display()
    )
}

/// A bash session running README blocks (see the module doc). On drop,
/// every process whose working directory is inside its temp dir (the
/// shell and everything the blocks started) is stopped, and nothing else.
pub struct Shell {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    /// The temp dir (`work/` is the shell's directory, `home/` its HOME).
    pub root: tempfile::TempDir,
    last_status: i32,
    /// Everything the session printed so far.
    pub transcript: String,
    background: Vec<Child>,
}

const END: &str = "\u{1e}README-STEP-END";

impl Shell {
    /// A new session in a fresh temp dir.
    pub fn new() -> Shell {
        let root = tempfile::tempdir().expect("tempdir");
        let work = root.path().join("work");
        let home = root.path().join("home");
        let shims = root.path().join("shims");
        for d in [&work, &home, &shims] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let bins = bin_dir();
        std::fs::create_dir_all(work.join("target")).expect("mkdir");
        std::os::unix::fs::symlink(&bins, work.join("target/release")).expect("symlink");
        let cargo = shims.join("cargo");
        std::fs::write(&cargo, cargo_shim(&bins)).expect("shim");
        std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let mut child = Self::bash(root.path())
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("bash");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut shell = Shell {
            child,
            stdin,
            lines,
            root,
            last_status: 0,
            transcript: String::new(),
            background: Vec::new(),
        };
        shell.send("exec 2>&1\n");
        shell
    }

    /// `bash` with the session's directory and environment.
    fn bash(root: &Path) -> Command {
        let home = root.join("home");
        let path = format!(
            "{}:{}:{}",
            root.join("shims").display(),
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.current_dir(root.join("work"))
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("PATH", path)
            .env_remove("RUST_LOG");
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PROVLOG_") {
                cmd.env_remove(k);
            }
        }
        cmd
    }

    /// The shell's working directory.
    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    /// The shell's `HOME`.
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    fn send(&mut self, text: &str) {
        self.stdin
            .write_all(text.as_bytes())
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("the shell is gone ({e}); so far:\n{}", self.transcript));
    }

    /// Runs `command` as typed at a prompt (its `$?` is the previous
    /// command's status); returns its status and output, waiting at most
    /// `limit`. Panics, with the transcript, if the shell exits or the
    /// command does not finish in time.
    pub fn run(&mut self, command: &str, limit: Duration) -> (i32, String) {
        self.send(&format!(
            "(exit {})\n{{\n{command}\n}} </dev/null\nprintf '\\n{END} %d\\n' $?\n",
            self.last_status
        ));
        let deadline = Instant::now() + limit;
        let mut out = String::new();
        loop {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    self.transcript.push_str(&line);
                    self.transcript.push('\n');
                    if let Some(status) = line.strip_prefix(END) {
                        let status = status.trim().parse().unwrap_or(-1);
                        self.last_status = status;
                        // The printf's own leading newline.
                        let out = out.strip_suffix('\n').unwrap_or(&out).to_string();
                        return (status, out);
                    }
                    out.push_str(&line);
                    out.push('\n');
                }
                Err(RecvTimeoutError::Timeout) => {}
                // Output closed: the shell is exiting (checked below).
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(50))
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the shell exited ({status}) running:\n{command}\noutput:\n{out}\ntranscript:\n{}",
                    self.transcript
                );
            }
            assert!(
                Instant::now() < deadline,
                "not finished within {} s:\n{command}\noutput so far:\n{out}",
                limit.as_secs()
            );
        }
    }

    /// Runs an `sh` block as a script (`set -euo pipefail`); returns what
    /// it printed. Any failure panics with the output.
    pub fn script(&mut self, block: &Block, limit: Duration) -> String {
        let (status, out) = self.run(
            &format!("set -euo pipefail\n{}set +euo pipefail", block.body),
            limit,
        );
        assert_eq!(
            status, 0,
            "README block at line {} failed:\n{}output:\n{out}",
            block.line, block.body
        );
        out
    }

    /// Runs a `console` block: every command, each output compared with
    /// what the README shows. Returns each step's output.
    pub fn console(&mut self, block: &Block, limit: Duration) -> Vec<String> {
        let steps = console_steps(&block.body);
        let mut outs = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let (status, out) = self.run(&step.command, limit);
            let shows_status = steps
                .get(i + 1)
                .is_some_and(|next| next.command.trim() == "echo $?");
            assert!(
                status == 0 || shows_status,
                "README line {}: `{}` exited {status}:\n{out}",
                block.line,
                step.command
            );
            if step.command.trim() == "echo $?" {
                // A status is shown exactly, not masked like a count.
                assert_eq!(
                    out.trim(),
                    step.expected.join("\n").trim(),
                    "README line {}: the exit status shown",
                    block.line
                );
            } else if let Err(e) = output_matches(&step.expected, &out) {
                panic!("README line {}: `{}`: {e}", block.line, step.command);
            }
            outs.push(out);
        }
        outs
    }

    /// Runs a block ([`Shell::script`] or [`Shell::console`] by its kind);
    /// the output (console: every step's, joined).
    pub fn block(&mut self, block: &Block, limit: Duration) -> String {
        assert!(
            !block.background(),
            "line {}: a background block",
            block.line
        );
        if block.lang == "console" {
            self.console(block, limit).join("\n")
        } else {
            self.script(block, limit)
        }
    }

    /// Starts a `background` block in its own bash (another terminal),
    /// with the session's directory and environment but none of its
    /// variables; its output goes to `work/../NAME.out`. For a console
    /// block (one command), waits (at most `limit`) until it has printed
    /// the lines the README shows. Returns the output file.
    pub fn terminal(&mut self, name: &str, block: &Block, limit: Duration) -> PathBuf {
        let out_path = self.root.path().join(format!("{name}.out"));
        let out = std::fs::File::create(&out_path).expect("terminal output");
        let err = out.try_clone().expect("terminal output");
        let (script, expected) = if block.lang == "console" {
            let steps = console_steps(&block.body);
            assert_eq!(
                steps.len(),
                1,
                "line {}: one command per terminal",
                block.line
            );
            (steps[0].command.clone(), steps[0].expected.clone())
        } else {
            (format!("set -euo pipefail\n{}", block.body), Vec::new())
        };
        let child = Self::bash(self.root.path())
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("bash");
        self.background.push(child);
        if !expected.is_empty() {
            let deadline = Instant::now() + limit;
            loop {
                let got = std::fs::read_to_string(&out_path).unwrap_or_default();
                // The README shows stdout; the log's stderr lines come too.
                let stdout_like: Vec<&str> = got
                    .lines()
                    .filter(|l| expected.iter().any(|e| first_word(e) == first_word(l)))
                    .collect();
                if stdout_like.len() >= expected.len() {
                    if let Err(e) = output_matches(&expected, &stdout_like.join("\n")) {
                        panic!(
                            "README line {}: `{script}`: {e}\nall output:\n{got}",
                            block.line
                        );
                    }
                    break;
                }
                if let Some(c) = self.background.last_mut()
                    && let Ok(Some(status)) = c.try_wait()
                {
                    panic!(
                        "README line {}: `{script}` exited ({status}):\n{got}",
                        block.line
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "README line {}: `{script}` did not print what the README shows within {} s:\n{got}",
                    block.line,
                    limit.as_secs()
                );
                // Polling for the server's start-up lines, bounded above.
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        out_path
    }

    /// Whether the last started terminal is still running.
    pub fn terminal_running(&mut self) -> bool {
        self.background
            .last_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Pids of the processes running inside the temp dir.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let root = std::fs::canonicalize(self.root.path()).unwrap_or_default();
        let mut ours = Vec::new();
        if let Ok(procs) = std::fs::read_dir("/proc") {
            for p in procs.flatten() {
                let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                if std::fs::read_link(p.path().join("cwd")).is_ok_and(|c| c.starts_with(&root)) {
                    let cmdline = std::fs::read(p.path().join("cmdline"))
                        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                        .unwrap_or_default();
                    ours.push((pid, cmdline));
                }
            }
        }
        ours
    }

    /// Stops (SIGTERM, then waits at most 20 s, then SIGKILL) the
    /// processes inside the temp dir whose command line contains `needle`.
    pub fn stop(&self, needle: &str) {
        let pids: Vec<u32> = self
            .processes()
            .into_iter()
            .filter(|(_, c)| c.contains(needle))
            .map(|(p, _)| p)
            .collect();
        stop_pids(&pids);
    }
}

impl Default for Shell {
    fn default() -> Self {
        Self::new()
    }
}

fn first_word(s: &str) -> &str {
    s.split_whitespace().next().unwrap_or_default()
}

fn stop_pids(pids: &[u32]) {
    for pid in pids {
        let _ = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for pid in pids {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        // A zombie child of ours is reaped by its parent's wait below.
        while proc.exists()
            && !std::fs::read_to_string(proc.join("stat")).is_ok_and(|s| s.contains(") Z "))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        if proc.exists() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        let pids: Vec<u32> = self.processes().into_iter().map(|(p, _)| p).collect();
        stop_pids(&pids);
        let _ = self.child.kill();
        let _ = self.child.wait();
        for c in &mut self.background {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_markers_are_found() {
        let md = "x\n<!-- test: cli -->\n```sh\necho a\n```\n```toml\na = 1\n```\n<!-- test: quickstart background -->\n```console\n$ a \\\n  b\nout 1\n$ echo $?\n0\n```\n";
        let b = blocks(md);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].test(), Some("cli"));
        assert_eq!(b[0].body, "echo a\n");
        assert!(!b[1].is_commands() && b[1].marker.is_none());
        assert!(b[2].background());
        let steps = console_steps(&b[2].body);
        assert_eq!(steps[0].command, "a \\\n  b");
        assert_eq!(steps[0].expected, vec!["out 1"]);
        assert_eq!(steps[1].command, "echo $?");
        let tests = [("cli", "x"), ("quickstart", "y")];
        assert!(
            marker_problems(md, &tests).is_empty(),
            "{:?}",
            marker_problems(md, &tests)
        );
        // Unmarked, unknown, misplaced, unused, reasonless skips: each a problem.
        let bad = "```sh\na\n```\n<!-- test: nope -->\n```sh\nb\n```\n<!-- test: cli -->\n\n```sh\nc\n```\n<!-- test: skip -->\n```sh\nd\n```\n";
        let p = marker_problems(bad, &tests);
        assert!(
            p.iter()
                .any(|e| e.contains("line 1:") && e.contains("no `<!--")),
            "{p:?}"
        );
        assert!(p.iter().any(|e| e.contains("`nope`")), "{p:?}");
        assert!(p.iter().any(|e| e.contains("not right above")), "{p:?}");
        assert!(p.iter().any(|e| e.contains("must say why")), "{p:?}");
        assert!(
            p.iter().any(|e| e.contains("`quickstart` runs no")),
            "{p:?}"
        );
    }

    #[test]
    fn output_is_compared_with_variable_parts_masked() {
        let exp = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        // Keys, hashes and counts differ from run to run; words do not.
        assert!(
            output_matches(
                &exp("vkey imagegen.example+40f39d09+ASxM8Kk\nsubmitted 12 files in 0.1 s"),
                "vkey imagegen.example+0aa1b2c3+Zm9v1\nsubmitted 3 files in 1.0 s"
            )
            .is_ok()
        );
        assert!(output_matches(&exp("cb97de8d...faaf"), "1234abcd...0f56").is_ok());
        assert!(output_matches(&exp("VERIFIED a.png"), "NOT VERIFIED a.png").is_err());
        assert!(output_matches(&exp("VERIFIED a.png"), "VERIFIED b.png").is_err());
        assert!(
            output_matches(&exp("a\nb"), "a\nb\nc").is_err(),
            "extra output"
        );
        // `ls` in columns or one per line; `...` stands for anything.
        assert!(
            output_matches(
                &exp("2026-05  cat.png  dog.png"),
                "2026-05\ncat.png\ndog.png"
            )
            .is_ok()
        );
        assert!(output_matches(&exp("A\n  ...\nB x"), "A\n1\n2 3\nB x").is_ok());
        assert!(output_matches(&exp("A\n  ...\nB x"), "A\n1\nB y").is_err());
        assert!(output_matches(&exp("k o:1+ab12+BuNn..."), "k o:1+cd34+QmFzZTY0").is_ok());
        assert!(output_matches(&exp("k abc..."), "k abd").is_err());
    }
}
