//! Shared helpers for the end-to-end tests: start real `provlog-server`
//! processes on ephemeral ports and temp dirs, make vendor keys and claims.

pub mod readme;
pub mod seaweed;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use provlog_core::claim::{
    Asset, Claim, Consent, DigitalSourceType, DirectDisclosure, Disclosure, Generator,
    IndirectDisclosure,
};
use provlog_core::hash::sha256;
use provlog_core::note::NoteSigner;
use provlog_core::signed_claim::SignedClaim;

/// Path of a workspace binary, built next to the test executable.
///
/// `cargo test --workspace` builds every binary of the workspace into the
/// same target directory as the test executables (`target/<profile>/`).
/// `PROVLOG_E2E_BIN_DIR` points the tests at other binaries instead (e.g.
/// an older build, to show that a test fails without a fix).
pub fn bin(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("PROVLOG_E2E_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: build the workspace first (cargo test --workspace does)",
        path.display()
    );
    path
}

/// A running `provlog-server`.
pub struct LogProcess {
    child: Option<Child>,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The log's vkey as printed at start.
    pub vkey: String,
    /// Its data directory.
    pub data: PathBuf,
    /// Lines the server printed on stderr (its tracing log), collected in the background.
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl LogProcess {
    /// Starts a server on 127.0.0.1:0 with `data` and extra flags, and waits
    /// until it is listening.
    pub fn start(data: &Path, extra: &[&str]) -> LogProcess {
        Self::try_start(data, extra).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// Like [`LogProcess::start`], but returns the server's error output if it
    /// exits instead of serving (for self-check tests).
    pub fn try_start(data: &Path, extra: &[&str]) -> Result<LogProcess, String> {
        Self::try_start_on(data, "127.0.0.1:0", extra)
    }

    /// Like [`LogProcess::try_start`], listening on `listen`.
    pub fn try_start_on(data: &Path, listen: &str, extra: &[&str]) -> Result<LogProcess, String> {
        Self::try_start_cmd(Command::new(bin("provlog-server")), data, listen, extra)
    }

    /// Starts a stateless frontend (`provlog-server frontend`) on
    /// 127.0.0.1:0, its key in `data`, forwarding to `sequencer`, and waits
    /// until it is listening (`vkey` is the frontend's key).
    pub fn start_frontend(data: &Path, sequencer: &str, extra: &[&str]) -> LogProcess {
        let mut cmd = Command::new(bin("provlog-server"));
        cmd.args(["frontend", "--sequencer", sequencer]);
        Self::try_start_cmd(cmd, data, "127.0.0.1:0", extra)
            .unwrap_or_else(|e| panic!("frontend did not start: {e}"))
    }

    /// Like [`LogProcess::start`], with the process's open-files limit
    /// (`ulimit -n`) set to `nofile` (through `prlimit`).
    pub fn start_with_fd_limit(data: &Path, extra: &[&str], nofile: u64) -> LogProcess {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(bin("provlog-server"));
        Self::try_start_cmd(cmd, data, "127.0.0.1:0", extra)
            .unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    fn try_start_cmd(
        mut cmd: Command,
        data: &Path,
        listen: &str,
        extra: &[&str],
    ) -> Result<LogProcess, String> {
        let mut child = cmd
            .arg("--data")
            .arg(data)
            .args(["--listen", listen])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        let stderr_lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let sink = stderr_lines.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().map(|mut v| v.push(line)).ok();
            }
        });
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut url = None;
        let mut vkey = None;
        while url.is_none() || vkey.is_none() {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(u) = line.strip_prefix("listening on ") {
                        url = Some(u.to_string());
                    } else if let Some(k) = line.strip_prefix("vkey ") {
                        vkey = Some(k.to_string());
                    }
                }
                _ => {
                    let status = child.wait().map_err(|e| e.to_string())?;
                    // The pipe closes when the process exits: wait for the
                    // reader to take everything it wrote (no fixed sleep).
                    let _ = stderr_reader.join();
                    let err = stderr_lines
                        .lock()
                        .map(|v| v.join("\n"))
                        .unwrap_or_default();
                    return Err(format!("server exited ({status}): {err}"));
                }
            }
        }
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(LogProcess {
            child: Some(child),
            url: url.unwrap_or_default(),
            vkey: vkey.unwrap_or_default(),
            data: data.to_path_buf(),
            stderr: stderr_lines,
        })
    }

    fn signal(&mut self, sig: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited 0.
    pub fn stop(mut self) -> bool {
        self.signal("-TERM");
        self.child
            .take()
            .and_then(|mut c| c.wait().ok())
            .is_some_and(|s| s.success())
    }

    /// Waits (bounded) for the server to exit by itself; `None` if it is
    /// still running after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the server printed on stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().map(|v| v.join("\n")).unwrap_or_default()
    }

    /// The server's process id (for reading its memory use in /proc).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits (at most `limit`) for the server to exit by itself and takes
    /// it; its exit status, or `None` if it is still running (then it is
    /// killed).
    pub fn wait_exit_owned(mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let status = self.wait_exit(limit);
        if status.is_none()
            && let Some(mut c) = self.child.take()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
        status
    }

    /// SIGKILL: the process dies at once, as in a crash.
    pub fn kill9(mut self) {
        self.signal("-KILL");
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }
}

impl Drop for LogProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Writes a fresh log key named `origin` into `dir/log.key` (mode 0600),
/// so a log's vkey is known before it starts; returns the signer.
pub fn write_log_key(dir: &Path, origin: &str) -> NoteSigner {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::create_dir_all(dir).expect("log dir");
    let key = NoteSigner::generate(origin).expect("log key");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join("log.key"))
        .expect("create log.key");
    writeln!(f, "{}", key.to_skey()).expect("write log.key");
    key
}

/// A loopback port that was free a moment ago (for processes that must
/// know each other's address before they start).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    // Below Linux's ephemeral range (32768-60999): a port taken from
    // `bind(":0")` and released can be handed straight back to the next
    // socket bound to port 0 (a monitor, a server, any outgoing connection)
    // before the process meant to use it binds it. Nothing is given a port
    // from this range unasked. Successive calls walk the range in steps
    // coprime to its span, from an offset per process.
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7_919) % SPAN;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = LOW + (start + n.wrapping_mul(37)) % SPAN;
        let port = u16::try_from(port).expect("port below 32000");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 20000-31999 on 127.0.0.1");
}

/// A vendor: signing key and its vkey string.
pub struct Vendor {
    /// The note-style signer (name + Ed25519 key).
    pub signer: NoteSigner,
    /// The vkey string (`name+hexid+base64`), also the COSE `kid`.
    pub vkey: String,
}

impl Vendor {
    /// A fresh random vendor key named `name`.
    pub fn new(name: &str) -> Vendor {
        let signer = NoteSigner::generate(name).expect("keygen");
        let vkey = signer.verifier_key().to_vkey();
        Vendor { signer, vkey }
    }

    /// A signed claim for the synthetic asset `asset_bytes`.
    pub fn claim_for(&self, asset_bytes: &[u8], seq: u64) -> Vec<u8> {
        let claim = sample_claim(asset_bytes, seq);
        SignedClaim::sign(&claim, self.signer.signing_key(), &self.vkey)
            .expect("sign claim")
            .to_bytes()
            .to_vec()
    }

    /// A signed claim for a distinct synthetic asset number `i`.
    pub fn claim(&self, i: u64) -> Vec<u8> {
        self.claim_for(format!("asset number {i}").as_bytes(), i)
    }
}

/// A plausible claim about `asset_bytes` (an AI-generated PNG).
pub fn sample_claim(asset_bytes: &[u8], seq: u64) -> Claim {
    Claim {
        version: 1,
        asset: Asset {
            sha256: sha256(asset_bytes),
            media_type: "image/png".into(),
            size: asset_bytes.len() as u64,
        },
        c2pa: None,
        soft_bindings: vec![],
        generator: Generator {
            vendor: "Example AI".into(),
            tool: "imagegen".into(),
            version: "2.1".into(),
        },
        created: 1_790_000_000 + seq,
        source_type: DigitalSourceType::TrainedAlgorithmicMedia,
        disclosure: Disclosure {
            direct: vec![DirectDisclosure::Label],
            indirect: vec![IndirectDisclosure::C2pa, IndirectDisclosure::Metadata],
        },
        consent: Some(Consent::NotApplicable),
        sequence: Some(seq),
    }
}

/// What a finished `provlog` CLI run printed, and how it exited.
#[derive(Debug)]
pub struct CliRun {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CliRun {
    /// Whether it exited 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs the `provlog` CLI with `args` (no `PROVLOG_*` variables from the
/// environment leak in) and waits for it.
pub fn provlog<I, S>(args: I) -> CliRun
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(bin("provlog"))
        .args(args)
        .env_remove("PROVLOG_LOG")
        .env_remove("PROVLOG_LOG_KEY")
        .env_remove("PROVLOG_STATE_DIR")
        // A developer's own config file must not leak into the tests.
        .env("PROVLOG_CONFIG", "")
        .env_remove("XDG_CONFIG_HOME")
        .stdin(Stdio::null())
        .output()
        .expect("run provlog");
    CliRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Writes `n` small, distinct media files under `dir` in nested directories:
/// PNGs and JPEGs with their real magic bytes (so media-type sniffing sees
/// `image/png` and `image/jpeg`), named after `tag` so two calls with
/// different tags make different assets. Returns their paths, sorted.
pub fn write_media_tree(dir: &Path, n: usize, tag: &str) -> Vec<PathBuf> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
    let mut paths = Vec::with_capacity(n);
    for i in 0..n {
        let sub = dir
            .join(format!("batch-{}", i % 7))
            .join(format!("day-{}", i % 3));
        std::fs::create_dir_all(&sub).expect("create media dir");
        let (magic, ext) = if i % 2 == 0 {
            (PNG, "png")
        } else {
            (JPEG, "jpg")
        };
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(format!("{tag} image {i} ").as_bytes());
        bytes.extend(std::iter::repeat_n((i % 251) as u8, 64 + i % 200));
        let path = sub.join(format!("{tag}-{i:04}.{ext}"));
        std::fs::write(&path, bytes).expect("write media file");
        paths.push(path);
    }
    paths.sort();
    paths
}

/// A running `provlog-monitor`.
pub struct MonitorProcess {
    child: Option<Child>,
    /// Base URL.
    pub url: String,
    /// Its witness vkey (cosignature/v1), as printed at start.
    pub witness_vkey: String,
    /// Its data directory.
    pub data: PathBuf,
    /// JSON alert lines it printed on stdout, collected in the background.
    pub alerts: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl MonitorProcess {
    /// Starts a monitor on 127.0.0.1:0 with `data` and the config text
    /// `config` (written to `data/../<name>.toml`), and waits until it serves.
    pub fn start(data: &Path, config: &str) -> MonitorProcess {
        Self::start_on(data, "127.0.0.1:0", config)
    }

    /// Like [`MonitorProcess::start`], listening on `listen` (to bring a
    /// witness back at the address a log was configured with).
    pub fn start_on(data: &Path, listen: &str, config: &str) -> MonitorProcess {
        std::fs::create_dir_all(data).expect("data dir");
        let cfg_path = data.with_extension("toml");
        std::fs::write(&cfg_path, config).expect("write config");
        let mut child = Command::new(bin("provlog-monitor"))
            .arg("--data")
            .arg(data)
            .args(["--listen", listen, "--config"])
            .arg(&cfg_path)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn provlog-monitor");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut url = None;
        let mut vkey = None;
        while url.is_none() || vkey.is_none() {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(u) = line.strip_prefix("listening on ") {
                        url = Some(u.to_string());
                    } else if let Some(k) = line.strip_prefix("witness-vkey ") {
                        vkey = Some(k.to_string());
                    }
                }
                _ => panic!("provlog-monitor exited before serving"),
            }
        }
        let alerts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = alerts.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    sink.lock().map(|mut a| a.push(v)).ok();
                }
            }
        });
        MonitorProcess {
            child: Some(child),
            url: url.unwrap_or_default(),
            witness_vkey: vkey.unwrap_or_default(),
            data: data.to_path_buf(),
            alerts,
        }
    }

    /// The monitor's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Alerts seen so far whose `alert` field is `kind`.
    pub fn alerts_of(&self, kind: &str) -> Vec<serde_json::Value> {
        self.alerts
            .lock()
            .map(|a| a.iter().filter(|v| v["alert"] == kind).cloned().collect())
            .unwrap_or_default()
    }

    /// SIGKILL, as in a crash.
    pub fn kill9(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for MonitorProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `f` every 100 ms until it returns `Some`, at most `tries` times.
pub fn wait_for<T>(tries: u32, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..tries {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

// ---------------------------------------------------------------------------
// Reliability helpers (crash, torn-storage and hostile-input tests).

/// A small deterministic PRNG (SplitMix64) so a failing randomised run can be
/// replayed from the seed it prints.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from an explicit seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Seed from the environment variable `var` if set, else from the clock.
    /// Returns the generator and the seed (print it so a run can be replayed).
    pub fn from_env(var: &str) -> (Rng, u64) {
        let seed = std::env::var(var)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0x5eed)
            });
        (Rng(seed), seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// An unsigned integer from the environment, or `default`.
pub fn env_u64(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Everything a log serves for a tree of one size, downloaded over HTTP.
pub struct ServedTree {
    /// Tree size the tiles were fetched at.
    pub size: u64,
    /// Every entry, in index order, from the entry bundles.
    pub entries: Vec<Vec<u8>>,
    /// Every hash tile at its width for `size`.
    pub tiles: provlog_core::tiles::MemoryTiles,
}

/// Downloads every entry bundle and hash tile of the tree of `size` leaves.
pub async fn download_tree(
    client: &provlog_client::http::LogClient,
    size: u64,
) -> Result<ServedTree, String> {
    use provlog_core::tiles::{
        MemoryTiles, decode_bundle, entry_bundles_for_size, hash_tiles_for_size,
    };
    let mut tiles = MemoryTiles::new();
    for tile in hash_tiles_for_size(size) {
        let data = client
            .tile(&tile)
            .await
            .map_err(|e| format!("{}: {e}", tile.path()))?;
        tiles.insert(&tile, data);
    }
    let mut entries = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    for tile in entry_bundles_for_size(size) {
        let data = client
            .tile(&tile)
            .await
            .map_err(|e| format!("{}: {e}", tile.path()))?;
        let got = decode_bundle(&data).map_err(|e| format!("{}: {e}", tile.path()))?;
        if got.len() != usize::from(tile.width) {
            return Err(format!(
                "{} holds {} entries, expected {}",
                tile.path(),
                got.len(),
                tile.width
            ));
        }
        entries.extend(got.into_iter().map(<[u8]>::to_vec));
    }
    Ok(ServedTree {
        size,
        entries,
        tiles,
    })
}

/// Resident memory of a process in KiB, from `/proc/<pid>/status` (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Sends raw bytes to `addr` (`host:port`) over one TCP connection (send
/// `Connection: close` so the server ends it), and returns what the server answered (bounded by
/// `max` bytes and a generous read timeout that only keeps a broken server
/// from hanging the test).
pub fn raw_http(addr: &str, request: &[u8], max: usize) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    // Write from another thread: the server may answer (e.g. 413) and close
    // before the whole body is sent, and the answer must still be read.
    let mut w = s.try_clone().expect("clone stream");
    let request = request.to_vec();
    let writer = std::thread::spawn(move || {
        // No half-close: hyper treats a read EOF as the client going away.
        let _ = w.write_all(&request);
    });
    let mut out = Vec::new();
    let _ = Read::by_ref(&mut s).take(max as u64).read_to_end(&mut out);
    let _ = writer.join();
    String::from_utf8_lossy(&out).into_owned()
}

/// Peak resident memory of a process in KiB (`VmHWM` in
/// `/proc/<pid>/status`): catches a transient spike that [`rss_kib`] read
/// afterwards would miss.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Runs `cmd` to completion, sampling its peak RSS from `/proc` every
/// 10 ms; returns (exit code, stdout, stderr, the largest peak seen in KiB).
pub fn run_measuring_rss(mut cmd: Command) -> (Option<i32>, String, String, u64) {
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("wait: {e}"),
        }
    };
    (
        status.code(),
        out_t.join().unwrap_or_default(),
        err_t.join().unwrap_or_default(),
        peak,
    )
}

// ---------------------------------------------------------------------------
// A hostile HTTP peer (log or witness) for the response-bounding tests.

/// Most bytes a [`HostileServer`] sends in one answer before it closes the
/// connection: far above every client limit (the largest is a lookup, about
/// 25 MiB), so to a client it is endless, yet a client that does not bound
/// its reads is caught by its memory (not by eating the machine's).
pub const HOSTILE_CAP: u64 = 256 << 20;

/// How a [`HostileServer`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hostility {
    /// A chunked body that never ends (until [`HOSTILE_CAP`], then the
    /// connection closes mid-body).
    Endless,
    /// `Content-Length: 1000000000000`, then bytes up to the cap.
    HugeLength,
    /// A chunked body of one byte every 50 ms, forever.
    Trickle,
}

/// An honest answer for one path: (status, content type, body).
pub type HonestAnswer = (u16, &'static str, Vec<u8>);

/// A TCP server on 127.0.0.1 that reads each request and answers it with
/// a hostile body, except for the paths `honest` answers. Stops (and
/// closes every connection) on drop.
pub struct HostileServer {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    addr: std::net::SocketAddr,
}

type HonestFn = dyn Fn(&str) -> Option<HonestAnswer> + Send + Sync;

impl HostileServer {
    /// Answers every request with `mode` and HTTP `status`.
    pub fn start(mode: Hostility, status: u16) -> HostileServer {
        Self::start_with(mode, status, |_| None)
    }

    /// Answers the paths for which `honest` returns an answer with it, and
    /// every other request with `mode` and `status`.
    pub fn start_with(
        mode: Hostility,
        status: u16,
        honest: impl Fn(&str) -> Option<HonestAnswer> + Send + Sync + 'static,
    ) -> HostileServer {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind hostile server");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let honest: Arc<HonestFn> = Arc::new(honest);
        let (stop2, sent2, requests2) = (stop.clone(), sent.clone(), requests.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (stop, sent, requests, honest) = (
                    stop2.clone(),
                    sent2.clone(),
                    requests2.clone(),
                    honest.clone(),
                );
                std::thread::spawn(move || {
                    hostile_connection(conn, mode, status, &*honest, &stop, &sent, &requests)
                });
            }
        });
        HostileServer {
            url: format!("http://{addr}"),
            stop,
            sent,
            requests,
            addr,
        }
    }

    /// Body bytes sent so far, over all answers.
    pub fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Request lines (`GET /checkpoint HTTP/1.1`) received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn hostile_connection(
    mut conn: std::net::TcpStream,
    mode: Hostility,
    status: u16,
    honest: &HonestFn,
    stop: &std::sync::atomic::AtomicBool,
    sent: &std::sync::atomic::AtomicU64,
    requests: &std::sync::Mutex<Vec<String>>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    // Read the head and the declared body, so the client is never cut off
    // while sending (it would see a reset instead of our answer).
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if buf.len() > 1 << 20 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let declared: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut have = buf.len() - head_end;
    while have < declared {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => have += n,
        }
    }
    let line = head.lines().next().unwrap_or_default().to_string();
    if let Ok(mut r) = requests.lock() {
        r.push(line.clone());
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    if let Some((code, ctype, body)) = honest(&path) {
        let _ = write!(
            conn,
            "HTTP/1.1 {code} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(&body);
        return;
    }
    let framing = match mode {
        Hostility::HugeLength => "Content-Length: 1000000000000",
        Hostility::Endless | Hostility::Trickle => "Transfer-Encoding: chunked",
    };
    if write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/octet-stream\r\n{framing}\r\n\r\n"
    )
    .is_err()
    {
        return;
    }
    let block = vec![b'A'; 64 * 1024];
    let mut total = 0u64;
    while !stop.load(Ordering::SeqCst) && total < HOSTILE_CAP {
        let ok = match mode {
            Hostility::Endless => conn
                .write_all(format!("{:x}\r\n", block.len()).as_bytes())
                .and_then(|()| conn.write_all(&block))
                .and_then(|()| conn.write_all(b"\r\n"))
                .map(|()| block.len()),
            Hostility::HugeLength => conn.write_all(&block).map(|()| block.len()),
            Hostility::Trickle => {
                std::thread::sleep(Duration::from_millis(50));
                conn.write_all(b"1\r\nA\r\n").map(|()| 1)
            }
        };
        match ok {
            Ok(n) => {
                total += n as u64;
                sent.fetch_add(n as u64, Ordering::SeqCst);
            }
            Err(_) => return,
        }
    }
    // Cap reached: close mid-body (the answer never completes).
}

/// Every evidence bundle a monitor at `url` lists now: `GET /v1/evidence`
/// (ids, kinds, times), then each bundle from `GET /v1/evidence/<id>`.
/// Each is returned with the id the listing gave it.
pub async fn monitor_evidence(
    http: &reqwest::Client,
    url: &str,
) -> Result<Vec<(String, provlog_core::evidence::Evidence)>, String> {
    let v: serde_json::Value = http
        .get(format!("{url}/v1/evidence"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let list = v["evidence"].as_array().ok_or("no evidence array")?;
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let id = item["id"].as_str().ok_or("a listed bundle has no id")?;
        let resp = http
            .get(format!("{url}/v1/evidence/{id}"))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("evidence {id}: HTTP {}", resp.status()));
        }
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        let ev = provlog_core::evidence::Evidence::from_json(&bytes).map_err(|e| e.to_string())?;
        out.push((id.to_owned(), ev));
    }
    Ok(out)
}

/// A two-worker tokio runtime for a test's blocking calls into async clients.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
