//! What operators see: request ids in the logs, Prometheus metrics by route,
//! and the log format chosen in the configuration.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::HeaderName,
    middleware::Next,
    response::Response,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};
use tracing_subscriber::{EnvFilter, fmt};

use super::client_address::TrustedProxies;
use crate::config::{Config, LogFormat};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the log subscriber for this process (the binary calls it once).
pub fn init_logging(config: &Config) {
    // Checked when the configuration was loaded.
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match config.log_format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // A second call (tests) keeps the first subscriber.
    drop(result);
}

/// Password checks turned away because they would have waited too long
/// for the hashing threads ([`crate::app::AppState::admit_password_check`]).
pub const PASSWORD_CHECKS_TURNED_AWAY: &str = "password_checks_turned_away_total";

/// The metrics registry of one server instance: no process-wide recorder, so
/// several instances (tests) keep their own counts.
#[derive(Clone)]
pub struct Metrics(Arc<PrometheusRecorder>);

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let metrics = Self(Arc::new(recorder));
        // Shown from the start, so a dashboard sees 0 rather than nothing.
        metrics.record(|| metrics::counter!(PASSWORD_CHECKS_TURNED_AWAY).absolute(0));
        metrics
    }

    /// Runs `record` with this registry as the metrics destination.
    pub fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(self.0.as_ref(), record)
    }

    pub fn render(&self) -> String {
        self.0.handle().render()
    }

    /// Folds the latency samples recorded since the last time into their
    /// histograms. A scrape does this too; without one (scraping broken or
    /// never set up) the samples would pile up, some 20 bytes a request.
    pub fn fold_samples(&self) {
        self.0.handle().run_upkeep();
    }
}

/// How often the latency samples are folded in, scraped or not.
const FOLD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Folds the samples now and then, until `stop` changes.
pub async fn keep_metrics(metrics: Metrics, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(FOLD_INTERVAL) => metrics.fold_samples(),
            _ = stop.changed() => return,
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts requests and measures their latency by route template, so that
/// `/accounts/123` and `/accounts/456` are one series.
pub async fn track_requests(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // A client may send any method name: each would be a series of its own.
    let method = match request.method().as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known.to_owned(),
        _ => "other".to_owned(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let seconds = started.elapsed().as_secs_f64();
    metrics.record(|| {
        let labels = [("method", method), ("route", route), ("status", status)];
        metrics::counter!("http_requests_total", &labels).increment(1);
        metrics::histogram!("http_request_duration_seconds", &labels[..2]).record(seconds);
    });
    response
}

/// Keeps a request id only when one of the operator's proxies
/// (`trusted_proxies`) set it, and it is plain (letters, digits, `.`, `_`,
/// `-`, at most 128): the id is written into every log line of the
/// request, so a client's own could tie its requests to another's, and one
/// with spaces or braces could forge log content. Without it the next
/// layer makes a fresh one.
pub async fn keep_request_id_of_proxies(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let from_a_proxy = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| proxies.trusts(peer.ip()));
    let plain = request.headers().get(REQUEST_ID).is_none_or(|id| {
        let id = id.as_bytes();
        !id.is_empty()
            && id.len() <= 128
            && id
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    });
    if !plain || !from_a_proxy {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}
