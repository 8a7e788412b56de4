//! `pipeline ui`: a read-only web view of a pipeline, its runs and its training curves.
//!
//! One thread rebuilds the [`view::View`] (statuses, live runs, history) twice a second while
//! someone looks; the HTTP server (axum on a current-thread tokio runtime) renders pages from the
//! latest one and serves files of the project and the cache. It listens on 127.0.0.1 unless told
//! otherwise, answers only requests whose `Host` is its own address (no DNS rebinding), and takes
//! no lock, so `pipeline run` in another terminal goes on as if it were not there.

mod chart;
mod dag_svg;
mod files;
mod page;
mod view;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use pipeline_api::CancelToken;

use crate::registry::Registry;
use view::View;

/// What `pipeline ui` was asked.
pub struct Options {
    pub manifest: PathBuf,
    pub cache_flag: Option<PathBuf>,
    pub bind: IpAddr,
    /// 0: any free port.
    pub port: u16,
}

/// Shared by the view builder and the request handlers.
struct Shared {
    view: RwLock<Option<Arc<View>>>,
    /// When a page was last asked for, in ms since `started`: the view is rebuilt only while
    /// someone looks.
    asked_ms: AtomicU64,
    started: Instant,
    /// `Host` values that name this server.
    hosts: Vec<String>,
}

impl Shared {
    fn latest(&self) -> Option<Arc<View>> {
        self.view.read().expect("view lock").clone()
    }
}

/// Serves until `cancel` (Ctrl-C). Errors are for the user: the address in use, say.
pub fn serve(options: &Options, registry: &Registry, cancel: &CancelToken) -> Result<(), String> {
    let listener = std::net::TcpListener::bind((options.bind, options.port)).map_err(|error| {
        format!(
            "cannot listen on {}:{}: {error}; pass another --port (0 picks a free one)",
            options.bind, options.port
        )
    })?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("reading the address: {error}"))?;
    listener
        .set_nonblocking(true)
        .map_err(|error| format!("setting up the listener: {error}"))?;
    if !options.bind.is_loopback() {
        eprintln!(
            "warning: serving on {} makes this pipeline's files, logs and parameters readable by anyone who can reach this machine",
            options.bind
        );
    }
    let shared = Arc::new(Shared {
        view: RwLock::new(None),
        asked_ms: AtomicU64::new(0),
        started: Instant::now(),
        hosts: host_names(address),
    });
    println!(
        "serving {} at http://{address}/ (read-only; Ctrl-C stops it)",
        options.manifest.display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|error| format!("starting the server: {error}"))?;
    std::thread::scope(|scope| {
        scope.spawn(|| keep_view_fresh(options, registry, &shared, cancel));
        runtime.block_on(run_server(listener, Arc::clone(&shared), cancel.clone()))
    })
}

/// Rebuilds the view every half second while a page was asked for in the last 10 s.
fn keep_view_fresh(options: &Options, registry: &Registry, shared: &Shared, cancel: &CancelToken) {
    let mut memory = view::Memory::default();
    while !cancel.is_cancelled() {
        let now = shared.started.elapsed().as_millis() as u64;
        let looked = now.saturating_sub(shared.asked_ms.load(Ordering::Relaxed)) < 10_000;
        if looked || shared.latest().is_none() {
            let fresh = view::build(
                &options.manifest,
                options.cache_flag.as_deref(),
                registry,
                &mut memory,
            );
            *shared.view.write().expect("view lock") = Some(Arc::new(fresh));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

async fn run_server(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    cancel: CancelToken,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|error| format!("setting up the listener: {error}"))?;
    let app = Router::new()
        .route("/", get(index))
        .route("/part", get(part))
        .route("/assets/ui.css", get(css))
        .route("/assets/ui.js", get(script))
        .route("/files/{area}/{*path}", get(file))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), guard))
        .with_state(shared);
    let stopped = async move {
        while !cancel.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
        .map_err(|error| format!("serving: {error}"))
}

/// Refuses requests for another host name (DNS rebinding), notes that someone looks, and adds
/// the headers that keep the page from loading or sending anything elsewhere.
async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_ascii_lowercase);
    match host {
        Some(host) if shared.hosts.contains(&host) => {}
        Some(host) => {
            let message = format!(
                "refused: Host `{host}` is not this server's address ({}); open it by that address\n",
                shared.hosts.join(", ")
            );
            return (StatusCode::MISDIRECTED_REQUEST, message).into_response();
        }
        None => return (StatusCode::BAD_REQUEST, "a Host header is required\n").into_response(),
    }
    let now = shared.started.elapsed().as_millis() as u64;
    shared.asked_ms.store(now, Ordering::Relaxed);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(policy));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[derive(serde::Deserialize)]
struct StageQuery {
    stage: Option<String>,
}

async fn index(State(shared): State<Arc<Shared>>, Query(query): Query<StageQuery>) -> Response {
    render(shared, query, page::document).await
}

async fn part(State(shared): State<Arc<Shared>>, Query(query): Query<StageQuery>) -> Response {
    render(shared, query, page::live_part).await
}

/// Renders the latest view (waiting for the first one) off the server thread: it reads logs.
async fn render(
    shared: Arc<Shared>,
    query: StageQuery,
    write: fn(&View, Option<&str>) -> String,
) -> Response {
    let view = loop {
        if let Some(view) = shared.latest() {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let html = tokio::task::spawn_blocking(move || write(&view, query.stage.as_deref())).await;
    match html {
        Ok(html) => Html(html).into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response(),
    }
}

async fn file(
    State(shared): State<Arc<Shared>>,
    UrlPath((area, path)): UrlPath<(String, String)>,
) -> Response {
    let Some(view) = shared.latest() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response();
    };
    let base = match area.as_str() {
        "root" => view.root.clone(),
        "cache" => view.cache.clone(),
        _ => return not_found().await,
    };
    tokio::task::spawn_blocking(move || files::respond(files::resolve(&base, &path)))
        .await
        .unwrap_or_else(|error| {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
        })
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/ui.css"))
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/ui.js"),
    )
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// The `Host` values that name the server at `address` (lowercase, with the port).
fn host_names(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    let mut hosts = vec![format!("{}:{port}", host_literal(address.ip()))];
    if address.ip().is_unspecified() {
        hosts.push(format!(
            "{}:{port}",
            crate::run::live::host_name().to_ascii_lowercase()
        ));
    }
    if address.ip().is_loopback() || address.ip().is_unspecified() {
        hosts.extend([
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ]);
    }
    hosts.sort();
    hosts.dedup();
    hosts
}

fn host_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}
