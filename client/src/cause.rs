//! Why a call failed, in words an operator can act on.
//!
//! `reqwest`'s own messages say *that* a request failed ("error sending
//! request", "builder error"), and the layers under it print debug text
//! (`client error (Connect)`, `Io(Error { kind: UnexpectedEof .. })`). These
//! functions name the cause instead: a URL without a scheme is refused
//! before anything is sent, and a transport failure is described by its
//! innermost I/O error ("connection refused", "timed out", "the peer closed
//! the connection before the response was complete").

use std::error::Error as _;

/// Checks that `url` is an absolute `http://` or `https://` URL with a host,
/// so a typo fails at once with a reason instead of on every retry.
pub fn check_url(url: &str) -> Result<(), String> {
    if !url.contains("://") {
        // `localhost:7300` parses as scheme `localhost`; `127.0.0.1:7300`
        // does not parse at all. Both lack `http://`.
        let bare = url.trim_start_matches('/');
        return Err(format!(
            "no scheme in URL (write http://{bare} or https://{bare})"
        ));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    match parsed.scheme() {
        "http" | "https" => {}
        other => return Err(format!("scheme {other}:// is not http:// or https://")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("no host in URL".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("a base URL has no ?query or #fragment".into());
    }
    Ok(())
}

/// What went wrong with a request, without the URL (callers add it).
pub fn describe(e: &reqwest::Error) -> String {
    let io = innermost_io(e);
    if e.is_timeout() || io.is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
        return "timed out (no complete answer within the client's timeout)".into();
    }
    if e.is_builder() {
        return format!("the request cannot be built: {}", deepest_message(e));
    }
    let cause = io.map_or_else(|| deepest_message(e), io_words);
    if e.is_connect() {
        if chain_mentions(e, "dns error") {
            return format!("cannot resolve the host name ({cause})");
        }
        return format!("cannot connect: {cause}");
    }
    if e.is_body() || e.is_decode() {
        return format!("the response broke off: {cause}");
    }
    if e.is_redirect() {
        return "too many redirects".into();
    }
    cause
}

fn innermost_io(e: &reqwest::Error) -> Option<&std::io::Error> {
    let mut found = None;
    let mut cur = e.source();
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            found = Some(io);
        }
        cur = err.source();
    }
    found
}

fn chain_mentions(e: &reqwest::Error, needle: &str) -> bool {
    let mut cur = e.source();
    while let Some(err) = cur {
        if err.to_string().contains(needle) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The message of the innermost error that says something in words:
/// hyper-util's `client error (Connect)` style debug text is skipped.
fn deepest_message(e: &reqwest::Error) -> String {
    let mut best = None;
    let mut cur = e.source();
    while let Some(err) = cur {
        let msg = err.to_string();
        if !msg.contains('(') || !msg.contains(')') || msg.contains("os error") {
            best = Some(msg);
        }
        cur = err.source();
    }
    best.unwrap_or_else(|| {
        if e.is_request() {
            "the request failed".into()
        } else {
            "the connection failed".into()
        }
    })
}

fn io_words(io: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused => "connection refused (is the server running on that port?)".into(),
        K::ConnectionReset => "connection reset by the peer".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::UnexpectedEof => {
            "the peer closed the connection before the response was complete".into()
        }
        K::BrokenPipe => "the peer closed the connection while we were sending".into(),
        K::AddrNotAvailable => "address not available".into(),
        K::HostUnreachable => "host unreachable".into(),
        K::NetworkUnreachable => "network unreachable".into(),
        K::PermissionDenied => "permission denied".into(),
        _ => {
            // The OS message ("No route to host (os error 113)") is words already.
            io.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_a_usable_scheme_or_host_are_refused_with_the_reason() {
        for (url, says) in [
            ("localhost:7300", "no scheme in URL"),
            ("127.0.0.1:7300", "no scheme in URL"),
            ("example.org", "no scheme in URL"),
            ("ftp://example.org", "scheme ftp://"),
            ("http://", "empty host"),
            ("http://x/?a=1", "no ?query"),
        ] {
            let err = check_url(url).expect_err(url);
            assert!(err.contains(says), "{url}: {err}");
        }
        for url in [
            "http://127.0.0.1:7300",
            "https://log.example/prefix/",
            "http://[::1]:1",
        ] {
            assert_eq!(check_url(url), Ok(()), "{url}");
        }
    }
}
