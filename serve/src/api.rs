//! The HTTP API, version 1 (docs/serve.md): routes, request bodies and their checks, and
//! the answers.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::ServeOptions;
use crate::metrics::Metrics;
use plexmatch_engine::{Engine, PlexError, Section};

/// What every handler shares.
pub struct App {
    pub engine: Arc<Engine>,
    pub options: ServeOptions,
    pub metrics: Metrics,
}

impl App {
    /// The service's state over an open engine.
    pub fn new(engine: Arc<Engine>, options: ServeOptions) -> Arc<App> {
        Arc::new(App {
            engine,
            options,
            metrics: Metrics::default(),
        })
    }
}

/// Every route, behind the guards.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/match", post(match_paths))
        .route("/v1/sections", get(sections))
        .route("/v1/refresh", post(refresh))
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::guard::check,
        ))
        // The body limit is the service's own (`read_body`), with its own error.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(app)
}

/// An error answer: `{"error": {"kind": …, "message": …}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    /// An error of `kind` with `message`, answered with `status`.
    pub fn new(status: StatusCode, kind: &'static str, message: &str) -> ApiError {
        ApiError {
            status,
            kind,
            message: message.to_owned(),
        }
    }

    fn input(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            kind: "input",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"kind": self.kind, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

/// The body of `POST /v1/match`: one `path`, or `paths`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchRequest {
    path: Option<String>,
    paths: Option<Vec<String>>,
    #[serde(default)]
    sections: Vec<String>,
    #[serde(default)]
    explain: bool,
}

/// The body of `POST /v1/refresh`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    #[serde(default)]
    sections: Vec<String>,
    #[serde(default)]
    full: bool,
}

/// Reads a request body within the size limit and the client timeout.
async fn read_body(app: &App, body: Body) -> Result<Bytes, ApiError> {
    let limit = app.options.max_body;
    let read = tokio::time::timeout(
        app.options.client_timeout,
        axum::body::to_bytes(body, limit),
    );
    match read.await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "input",
            &format!(
                "the request body did not arrive within {:?}",
                app.options.client_timeout
            ),
        )),
        Ok(Err(e)) if is_too_large(&e) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "input",
            &format!("the request body is over the limit of {limit} bytes (--max-body-kib)"),
        )),
        Ok(Err(e)) => Err(ApiError::input(format!(
            "cannot read the request body: {e}"
        ))),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

fn is_too_large(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.to_string().contains("length limit exceeded") {
            return true;
        }
        source = s.source();
    }
    false
}

/// Reads a JSON body as `T`; an error names the field (`paths[2]: invalid type …`).
fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(ApiError::input(
                "the request body is empty: send a JSON object",
            ));
        }
        Some(b'{') => {}
        Some(_) => {
            return Err(ApiError::input(
                "the request body is not the JSON object expected: it must start with {",
            ));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner();
        if at == "." || at.is_empty() {
            ApiError::input(format!(
                "the request body is not the JSON object expected: {inner}"
            ))
        } else {
            ApiError::input(format!("{at}: {inner}"))
        }
    })
}

/// The engine's sections, or those `selectors` name (an input error for an unknown one).
async fn chosen(app: &Arc<App>, selectors: Vec<String>) -> Result<Vec<Section>, ApiError> {
    let engine = app.engine.clone();
    blocking(move || engine.choose(&selectors))
        .await?
        .map_err(|e| match e.downcast_ref::<PlexError>() {
            Some(p) => plex_error(p),
            None => ApiError::input(format!("sections: {e:#}")),
        })
}

/// Runs blocking engine work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("the work stopped: {e}"),
        )
    })
}

fn plex_error(e: &PlexError) -> ApiError {
    match e {
        PlexError::Unauthorized(m) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unauthorized",
            &format!("the Plex server refused the token: {m}"),
        ),
        other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "plex", &other.to_string()),
    }
}

/// `POST /v1/match`: one answer object for `path`; NDJSON answers in input order for
/// `paths`, streamed as they are ready.
async fn match_paths(State(app): State<Arc<App>>, body: Body) -> Result<Response, ApiError> {
    let bytes = read_body(&app, body).await?;
    let request: MatchRequest = parse(&bytes)?;
    let explain = request.explain;
    match (request.path, request.paths) {
        (Some(path), None) => {
            let sections = chosen(&app, request.sections).await?;
            let engine = app.engine.clone();
            let answer = blocking(move || engine.match_path_in(&path, &sections, explain)).await?;
            app.metrics.answer(&answer);
            Ok(Json(answer).into_response())
        }
        (None, Some(paths)) => {
            if paths.len() > app.options.max_paths {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "input",
                    &format!(
                        "paths: {} paths, more than the {} one request may hold (--max-paths): split them",
                        paths.len(),
                        app.options.max_paths
                    ),
                ));
            }
            let sections = chosen(&app, request.sections).await?;
            Ok(stream_answers(app, paths, sections, explain))
        }
        (Some(_), Some(_)) => Err(ApiError::input(
            "give either \"path\" (one answer) or \"paths\" (NDJSON answers), not both",
        )),
        (None, None) => Err(ApiError::input(
            "missing field: give \"path\" (one answer) or \"paths\" (NDJSON answers)",
        )),
    }
}

/// The answers for `paths` as NDJSON, each line sent as soon as it and every earlier one
/// are ready (the engine's workers match them meanwhile).
fn stream_answers(
    app: Arc<App>,
    paths: Vec<String>,
    sections: Vec<Section>,
    explain: bool,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::convert::Infallible>>(256);
    tokio::task::spawn_blocking(move || {
        let mut gone = false;
        app.engine
            .match_stream_in(paths.into_iter(), &sections, explain, |a| {
                app.metrics.answer(&a.result);
                if gone {
                    return;
                }
                let mut line = serde_json::to_vec(&a.result).expect("answers serialise");
                line.push(b'\n');
                // A client that went away is not waited for; the batch ends on its own.
                gone = tx.blocking_send(Ok(Bytes::from(line))).is_err();
            });
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
}

/// `GET /v1/sections`: the server's sections, whether paths are matched in each, and what
/// the cache holds of it.
async fn sections(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let engine = app.engine.clone();
    let all = blocking(move || {
        let server = engine.server();
        server.sections().map(|all| {
            all.into_iter()
                .map(|s| {
                    let matched = engine.sections().iter().any(|c| c.id == s.id);
                    section_json(&s, matched, server.snapshot(s.id))
                })
                .collect::<Vec<_>>()
        })
    })
    .await?
    .map_err(|e| plex_error(&e))?;
    Ok(Json(json!({ "sections": all })).into_response())
}

fn section_json(
    s: &Section,
    matched: bool,
    snapshot: Option<plexmatch_engine::SnapshotState>,
) -> serde_json::Value {
    json!({
        "id": s.id,
        "title": s.title,
        "kind": s.kind.as_str(),
        "matched": matched,
        "snapshot": snapshot.map(|st| json!({
            "items": st.items,
            "fresh": st.fresh,
            "age_seconds": st.age_seconds,
        })),
    })
}

/// `POST /v1/refresh`: brings the chosen sections up to date now (`full`: list them).
async fn refresh(State(app): State<Arc<App>>, body: Body) -> Result<Response, ApiError> {
    let bytes = read_body(&app, body).await?;
    let request: RefreshRequest = if bytes.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        parse(&bytes)?
    };
    let sections = chosen(&app, request.sections).await?;
    let engine = app.engine.clone();
    let done = blocking(move || engine.refresh_in(&sections, request.full))
        .await?
        .map_err(|e| match e.downcast_ref::<PlexError>() {
            Some(p) => plex_error(p),
            None => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cache",
                &format!("{e:#}"),
            ),
        })?;
    let done: Vec<_> = done
        .into_iter()
        .map(|(s, r)| {
            json!({
                "id": s.id,
                "title": s.title,
                "refreshed": r.map(|r| json!({
                    "items": r.items,
                    "changed": r.changed,
                    "full": r.full,
                    "requests": r.requests,
                })),
            })
        })
        .collect();
    Ok(Json(json!({ "sections": done })).into_response())
}

/// `GET /v1/health`: 200 with the server and the snapshots' ages when Plex answers; 503
/// with the reason when it does not (answers from fresh caches still work).
async fn health(State(app): State<Arc<App>>) -> Response {
    let engine = app.engine.clone();
    let checked = blocking(move || {
        let server = engine.server();
        let info = server.server_info();
        let sections: Vec<_> = engine
            .sections()
            .iter()
            .map(|s| section_json(s, true, server.snapshot(s.id)))
            .collect();
        (info, sections, server.identity().machine_id.clone())
    })
    .await;
    let (info, sections, id) = match checked {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match info {
        Ok(info) => Json(json!({
            "status": "ok",
            "server": {"name": info.name, "id": info.machine_id, "version": info.version},
            "sections": sections,
        }))
        .into_response(),
        Err(e) => {
            let e = plex_error(&e);
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "unavailable",
                    "server": {"id": id},
                    "error": {"kind": e.kind, "message": e.message},
                    "sections": sections,
                })),
            )
                .into_response()
        }
    }
}

/// `GET /metrics`: Prometheus' text format.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let engine = app.engine.clone();
    let app2 = app.clone();
    match blocking(move || app2.metrics.render(&engine)).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /v1/openapi.json`: the API described (docs/openapi.json, checked against the
/// routes by a test).
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../docs/openapi.json"),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "input",
        "no such route: see /v1/openapi.json (POST /v1/match, GET /v1/sections, POST /v1/refresh, GET /v1/health, GET /metrics)",
    )
}
