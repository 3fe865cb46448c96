//! Probes and metrics for operators: `/healthz` (the process answers),
//! `/readyz` (the database answers too) and `/metrics` (Prometheus text).

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use serde_json::json;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// How long `/readyz` waits for the database.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(1_500);

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    // A balancer gives a check about 2 s: answer within that, either way.
    let pinged = tokio::time::timeout(READY_WITHIN, state.store.ping()).await;
    match pinged {
        Ok(Ok(())) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "database": "ok" })),
        ),
        failed => {
            match failed {
                Ok(Err(err)) => tracing::warn!("readiness check failed: {err}"),
                _ => tracing::warn!("readiness check failed: no answer within {READY_WITHIN:?}"),
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let depth = state.hasher.queue_depth() as f64;
    state
        .metrics
        .record(|| metrics::gauge!("password_hash_queue_depth").set(depth));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}
