//! A log's default origin (issue 18): derived from its public URL, which
//! without `--public-url` is derived from the address it bound, chosen at
//! first start and kept in its key forever.

use std::process::Command;

use provlog_e2e::LogProcess;

fn origin_of(vkey: &str) -> &str {
    vkey.split('+').next().unwrap_or_default()
}

fn init(data: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(provlog_e2e::bin("provlog-server"))
        .arg("init")
        .arg("--data")
        .arg(data)
        .args(extra)
        .output()
        .expect("provlog-server init")
}

#[test]
fn two_default_logs_get_two_origins_and_a_restart_keeps_its_own() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    let a = LogProcess::start(&a_dir, &[]);
    let b = LogProcess::start(&b_dir, &[]);
    // The bound address, port 0 resolved: `http://127.0.0.1:PORT` -> origin.
    for log in [&a, &b] {
        let addr = log.url.strip_prefix("http://").expect("url");
        assert_eq!(origin_of(&log.vkey), addr, "{}", log.vkey);
        // stderr is read in the background: wait (bounded) for the line.
        let advised = provlog_e2e::wait_for(100, || {
            let err = log.stderr_text();
            (err.contains("was derived from the listen address") && err.contains("--public-url"))
                .then_some(())
        });
        assert!(
            advised.is_some(),
            "the start-up lines advise --public-url:\n{}",
            log.stderr_text()
        );
    }
    assert_ne!(origin_of(&a.vkey), origin_of(&b.vkey));
    let (a_vkey, a_url) = (a.vkey.clone(), a.url.clone());
    assert!(a.stop());
    assert!(b.stop());
    // Restarted on another port, even with a public URL now: same origin,
    // and no advice (nothing was derived at this start).
    let port = std::iter::repeat_with(provlog_e2e::free_port)
        .find(|p| !a_url.ends_with(&format!(":{p}")))
        .expect("a free port");
    let again = LogProcess::try_start_on(
        &a_dir,
        &format!("127.0.0.1:{port}"),
        &["--public-url", "https://log.example/other"],
    )
    .expect("restart");
    assert_ne!(again.url, a_url, "another port");
    assert_eq!(again.vkey, a_vkey);
    // The advice would come before the serving line: wait for that one.
    let err = provlog_e2e::wait_for(100, || {
        let e = again.stderr_text();
        e.contains("provlog log serving").then_some(e)
    })
    .expect("the serving line");
    assert!(!err.contains("was derived"), "{err}");
    // A different --origin is refused rather than silently ignored.
    assert!(again.stop());
    let err = LogProcess::try_start(&a_dir, &["--origin", "x.example/log"])
        .err()
        .expect("a different --origin is refused");
    assert!(err.contains("a log's origin cannot change"), "{err}");
}

#[test]
fn init_derives_the_origin_from_the_listen_address_it_will_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = init(&dir.path().join("d"), &[]);
    assert!(out.status.success(), "{out:?}");
    let vkey = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(origin_of(&vkey), "127.0.0.1:7300");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--public-url"));
    let out = init(&dir.path().join("e"), &["--listen", "127.0.0.1:7311"]);
    assert_eq!(
        origin_of(String::from_utf8_lossy(&out.stdout).trim()),
        "127.0.0.1:7311"
    );
    // An unspecified address is named by the machine's host name.
    let out = init(&dir.path().join("f"), &["--listen", "0.0.0.0:7300"]);
    assert!(out.status.success(), "{out:?}");
    let named = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (host, port) = origin_of(&named).rsplit_once(':').expect("host:port");
    assert_eq!(port, "7300");
    assert!(!host.is_empty() && host != "0.0.0.0", "{named}");
    if let Ok(h) = std::fs::read_to_string("/proc/sys/kernel/hostname")
        && h.trim()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        assert_eq!(host, h.trim());
    }
    // Port 0 names nothing: refused, and no key is made.
    let out = init(&dir.path().join("g"), &["--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("port 0"));
    assert!(!dir.path().join("g/log.key").exists());
    // A public URL names the log.
    let out = init(
        &dir.path().join("h"),
        &["--public-url", "https://log.example/provlog/"],
    );
    assert_eq!(
        origin_of(String::from_utf8_lossy(&out.stdout).trim()),
        "log.example/provlog"
    );
}
