//! What every request passes before any work: the API token and the limit on requests in
//! flight.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use crate::api::{ApiError, App};

/// Refuses a request without the API token (when one is set), compared in constant time,
/// and one beyond the limit in flight (503, `Retry-After: 1`); counts every answer.
pub async fn check(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let route = request.uri().path().to_owned();
    if let Some(token) = &app.options.api_token {
        let sent = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(sent.as_bytes().ct_eq(token.as_bytes())) {
            let why = if sent.is_empty() {
                "this service needs its API token: send `Authorization: Bearer TOKEN`"
            } else {
                "the API token sent is not this service's"
            };
            let mut r =
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", why).into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            app.metrics.http(&route_label(&route), r.status().as_u16());
            return r;
        }
    }
    let metrics = &app.metrics;
    let now = metrics.in_flight.fetch_add(1, Ordering::SeqCst);
    let response = if now >= app.options.max_in_flight as u64 {
        metrics.refused_busy.fetch_add(1, Ordering::Relaxed);
        let mut r = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            &format!(
                "{} requests are in flight, the most this service takes at once: try again shortly",
                app.options.max_in_flight
            ),
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    } else {
        next.run(request).await
    };
    metrics.in_flight.fetch_sub(1, Ordering::SeqCst);
    metrics.http(&route_label(&route), response.status().as_u16());
    response
}

/// The route a path counts under: a known one, else "other" (so that a scan of random
/// paths cannot grow the metrics without bound).
fn route_label(path: &str) -> String {
    const ROUTES: [&str; 7] = [
        "/v1/match",
        "/v1/sections",
        "/v1/refresh",
        "/v1/health",
        "/v1/openapi.json",
        "/metrics",
        "/",
    ];
    ROUTES
        .iter()
        .find(|r| **r == path)
        .map_or("other", |r| r)
        .to_owned()
}
