//! The verifier web page (`verifier/` in the repository), served at `/` and
//! `/entry/<index>`, and `GET /v1/log`, the log's description of itself
//! that the page displays.
//!
//! The page's files are built from the TypeScript verifier
//! (`npm run build:web` in `verifier/`) into `log-server/web/`, committed,
//! and embedded here at compile time, so `cargo run -p provlog-server`
//! serves the page without npm. A test in `verifier/` rebuilds them and
//! checks they are byte-identical to the committed ones.
//!
//! Every page response carries a strict Content-Security-Policy: scripts,
//! styles and requests only from this origin, no inline code, no frames,
//! Trusted Types required, so the page can make no third-party request.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use provlog_core::note::VerifierKey;
use serde::Serialize;

use crate::problem::Problem;

const INDEX_HTML: &[u8] = include_bytes!("../web/index.html");
const APP_JS: &[u8] = include_bytes!("../web/assets/app.js");
const APP_CSS: &[u8] = include_bytes!("../web/assets/app.css");
const ICON_SVG: &[u8] = include_bytes!("../web/assets/icon.svg");

/// The Content-Security-Policy of every page response.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

/// The useful endpoints, as `(method, path, what)`: the text and JSON
/// answers of `GET /` list them (spec/http-api.md has them all).
const ENDPOINTS: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/checkpoint",
        "latest signed checkpoint (C2SP tlog-checkpoint)",
    ),
    (
        "GET",
        "/tile/<L>/<N>[.p/<W>]",
        "C2SP tlog-tiles hash tiles; /tile/entries/<N> entry bundles",
    ),
    ("GET", "/v1/log", "the log's keys and witnesses (JSON)"),
    (
        "GET",
        "/v1/lookup?asset=<sha256>",
        "claims for an asset, with inclusion proofs",
    ),
    ("GET", "/v1/entries/<index>", "one signed claim"),
    (
        "GET",
        "/v1/proof/inclusion?index=<i>[&size=<n>]",
        "inclusion proof",
    ),
    (
        "GET",
        "/v1/proof/consistency?old=<m>[&new=<n>]",
        "consistency proof",
    ),
    (
        "POST",
        "/v1/claims, /v1/claims/batch",
        "register signed claims",
    ),
    (
        "POST",
        "/entries",
        "SCITT SCRAPI registration (spec/scitt.md)",
    ),
    (
        "GET",
        "/healthz, /metrics",
        "health (JSON) and Prometheus metrics",
    ),
];

/// Answer to `GET /` for clients that do not ask for HTML (e.g. curl):
/// what this server is, its origin and key, and the useful endpoints.
fn text_index(info: &LogInfo) -> String {
    let mut s = format!(
        "provlog transparency log {}\nlog key (pin it from a source you trust, not from here): {}\n\n\
         Open this address in a web browser to verify a file (the page checks every\n\
         proof in the browser). `provlog submit`/`verify`/`lookup` are the command-line\n\
         client. API (spec/http-api.md):\n",
        info.origin, info.vkey
    );
    for (method, path, what) in ENDPOINTS {
        s.push_str(&format!("  {method:<4} {path:<42} {what}\n"));
    }
    s
}

/// The same for clients that ask for JSON.
fn json_index(info: &LogInfo) -> serde_json::Value {
    serde_json::json!({
        "server": "provlog transparency log",
        "origin": info.origin,
        "vkey": info.vkey,
        "spec": "spec/http-api.md",
        "endpoints": ENDPOINTS
            .iter()
            .map(|(m, p, w)| serde_json::json!({"method": m, "path": p, "what": w}))
            .collect::<Vec<_>>(),
    })
}

/// What the log says about itself at `GET /v1/log`. Informational: a
/// verifier pins the log key from a source it trusts, not from here.
#[derive(Clone, Debug, Serialize)]
pub struct LogInfo {
    /// The checkpoint origin (the log key's name).
    pub origin: String,
    /// The log's verifier key (Ed25519).
    pub vkey: String,
    /// Every checkpoint signing key of the log: Ed25519 first, then the
    /// ML-DSA-44 key if it has one.
    pub vkeys: Vec<String>,
    /// Witnesses the log asks to cosign.
    pub witnesses: Vec<WitnessInfo>,
    /// How many cosignatures the log waits for.
    pub witness_quorum: usize,
}

/// One witness in [`LogInfo`].
#[derive(Clone, Debug, Serialize)]
pub struct WitnessInfo {
    /// The witness's cosignature/v1 verifier key.
    pub vkey: String,
}

impl LogInfo {
    /// The description of a log with key `key` and these witness keys.
    pub fn new(key: &VerifierKey, witnesses: &[VerifierKey], witness_quorum: usize) -> Self {
        Self {
            origin: key.name().to_owned(),
            vkey: key.to_vkey(),
            vkeys: vec![key.to_vkey()],
            witnesses: witnesses
                .iter()
                .map(|w| WitnessInfo { vkey: w.to_vkey() })
                .collect(),
            witness_quorum,
        }
    }

    /// Lists all the log's keys (`keys`: Ed25519 first) in `vkeys`.
    pub fn with_keys(mut self, keys: &[VerifierKey]) -> Self {
        self.vkeys = keys.iter().map(VerifierKey::to_vkey).collect();
        self
    }
}

/// Routes for the page and `/v1/log`; merge into the API router.
pub fn router<S: Clone + Send + Sync + 'static>(info: LogInfo) -> Router<S> {
    let info = std::sync::Arc::new(info);
    let about = info.clone();
    Router::new()
        .route(
            "/",
            get(move |headers: HeaderMap| {
                let info = about.clone();
                async move { index(&headers, &info) }
            }),
        )
        .route("/entry/{index}", get(entry))
        .route(
            "/assets/app.js",
            get(|| async { asset(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/icon.svg",
            get(|| async { asset(ICON_SVG, "image/svg+xml") }),
        )
        .route(
            "/v1/log",
            get(move || {
                let info = info.clone();
                async move { axum::Json((*info).clone()) }
            }),
        )
}

fn page_headers(content_type: &'static str) -> [(header::HeaderName, HeaderValue); 6] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        // The files are small and not content-addressed: revalidate each time.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
}

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    (page_headers(content_type), body).into_response()
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// `GET /`: the page for browsers, JSON for clients asking for it, else
/// a short text description.
fn index(headers: &HeaderMap, info: &LogInfo) -> Response {
    if wants_html(headers) {
        asset(INDEX_HTML, "text/html; charset=utf-8")
    } else if wants_json(headers) {
        axum::Json(json_index(info)).into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text_index(info),
        )
            .into_response()
    }
}

/// `/entry/<index>`: the same page, which reads the index from its URL.
/// Only canonical decimal indexes are pages; anything else is 404.
async fn entry(uri: axum::http::Uri) -> Response {
    // As sent, not percent-decoded: `/entry/%30` is not `/entry/0`.
    let index = uri.path().strip_prefix("/entry/").unwrap_or_default();
    let canonical = !index.is_empty()
        && index.len() <= 20
        && index.bytes().all(|b| b.is_ascii_digit())
        && (index == "0" || !index.starts_with('0'))
        && index.parse::<u64>().is_ok();
    if !canonical {
        return Problem::not_found(format!("{index:?} is not an entry index")).into_response();
    }
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_page_references_only_local_assets() {
        let html = std::str::from_utf8(INDEX_HTML).unwrap_or_default();
        for needle in ["/assets/app.js", "/assets/app.css", "/assets/icon.svg"] {
            assert!(html.contains(needle), "index.html links {needle}");
        }
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(
            !html.contains("<script>"),
            "no inline script (the CSP forbids it)"
        );
        assert!(
            !html.contains("style="),
            "no inline style (the CSP forbids it)"
        );
    }

    async fn get_root(accept: Option<&str>) -> (StatusCode, String, String) {
        use tower::ServiceExt;
        let key = provlog_core::note::NoteSigner::generate("127.0.0.1:7300")
            .expect("key")
            .verifier_key();
        let app: Router = router(LogInfo::new(&key, &[], 0));
        let mut req = axum::http::Request::get("/");
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        let resp = app
            .oneshot(req.body(axum::body::Body::empty()).expect("request"))
            .await
            .expect("answer");
        let status = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(text.len() < 64 * 1024 || ct.starts_with("text/html"));
        (status, ct, text.replace(&key.to_vkey(), "<VKEY>"))
    }

    #[tokio::test]
    async fn the_root_says_what_this_server_is_to_every_client() {
        // curl's default (`*/*`), no Accept at all, and text/plain: text.
        for accept in [Some("*/*"), None, Some("text/plain")] {
            let (status, ct, text) = get_root(accept).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(ct, "text/plain; charset=utf-8", "{accept:?}");
            assert!(
                text.starts_with("provlog transparency log 127.0.0.1:7300\n"),
                "{text}"
            );
            assert!(
                text.contains("log key (pin it from a source you trust, not from here): <VKEY>")
            );
            for path in [
                "/checkpoint",
                "/v1/lookup?asset=",
                "/v1/claims",
                "/healthz",
                "/entries",
            ] {
                assert!(text.contains(path), "{path} listed: {text}");
            }
        }
        let (status, ct, json) = get_root(Some("application/json")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ct, "application/json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["server"], "provlog transparency log");
        assert_eq!(v["origin"], "127.0.0.1:7300");
        assert_eq!(v["vkey"], "<VKEY>");
        let paths: Vec<&str> = v["endpoints"]
            .as_array()
            .expect("endpoints")
            .iter()
            .filter_map(|e| e["path"].as_str())
            .collect();
        assert!(paths.contains(&"/checkpoint"), "{paths:?}");
        // A browser gets the page.
        let (_, ct, html) = get_root(Some("text/html,application/xhtml+xml,*/*;q=0.8")).await;
        assert_eq!(ct, "text/html; charset=utf-8");
        assert!(html.contains("/assets/app.js"));
    }
}
