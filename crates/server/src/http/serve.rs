//! The listener, with the limits a public service needs and axum's own
//! `serve` does not set: a client has 10 seconds to send a request's head
//! (which also ends idle keep-alive connections) and 10 more for its body
//! (one declared larger than [`BODY_LIMIT`] is refused at once),
//! a head is at most 64 KiB,
//! a node holds a bounded number of connections (with the open-file limit
//! raised to match), and a shutdown waits at most 20 seconds for them.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::{
    body::{Bytes, Frame, Incoming, SizeHint},
    server::conn::http1,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{
    net::TcpListener,
    sync::Semaphore,
    time::{Instant, Sleep},
};
use tower::ServiceExt;

use axum::{
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{BODY_LIMIT, error::Problem, i18n::Language};

/// How long a client may take to send a request's head, or to start the
/// next one on a kept-alive connection.
const HEAD_WITHIN: Duration = Duration::from_secs(10);
/// How long after its head a request's body must have arrived whole: a
/// client that sends a length and then nothing would hold its connection.
const BODY_WITHIN: Duration = Duration::from_secs(10);
/// The most a request's head may take (hyper answers 431 beyond it).
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Connections one node serves at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 10_000;
/// Open files kept for the database, mail and logs beside the connections.
const RESERVED_FILES: u64 = 256;
/// How long a shutdown waits for the requests under way.
const SHUTDOWN_WITHIN: Duration = Duration::from_secs(20);

/// Serves `app` on `listener` until `shutdown` completes, then finishes the
/// requests under way, for at most [`SHUTDOWN_WITHIN`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(connection_limit()));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEAD_WITHIN)
        .max_header_size(MAX_HEAD_BYTES)
        .max_buf_size(MAX_HEAD_BYTES + 8 * 1024);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of files or the like: wait a moment, then go on.
                    tracing::warn!("accepting a connection failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = app.clone().map_request(move |request: hyper::Request<Incoming>| {
            let mut request = if declares_past_the_limit(&request) {
                request.map(|_unread| Body::from(Bytes::from_static(&PAST_THE_LIMIT)))
            } else {
                request.map(|body| Body::new(BodyWithin::new(body)))
            };
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            request
        });
        let service = service.map_err(|never: Infallible| match never {});
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!("connection from {remote} ended: {err}");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_WITHIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutting down: connections still open after {SHUTDOWN_WITHIN:?} are dropped");
    }
    Ok(())
}

/// [`MAX_CONNECTIONS`], or fewer when the open-file limit cannot be raised
/// far enough (a service unit's soft limit is often 1024).
fn connection_limit() -> usize {
    let wanted = MAX_CONNECTIONS as u64 + RESERVED_FILES;
    let files = rlimit::increase_nofile_limit(wanted).unwrap_or(1024);
    let limit = files
        .saturating_sub(RESERVED_FILES)
        .clamp(64, MAX_CONNECTIONS as u64) as usize;
    if limit < MAX_CONNECTIONS {
        tracing::warn!("open-file limit {files}: serving at most {limit} connections at once");
    }
    limit
}

/// Refuses an HTTP/1.1 request without a Host header, or with more than
/// one (RFC 9112 3.2: a server must), with a problem. No browser sends
/// such a request.
pub async fn refuse_without_one_host(language: Language, request: Request, next: Next) -> Response {
    let hosts = request.headers().get_all(hyper::header::HOST).iter().count();
    if request.version() == hyper::Version::HTTP_11 && hosts != 1 {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            language.text("error-host"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Whether a request says its body is larger than any the service takes.
fn declares_past_the_limit<B>(request: &hyper::Request<B>) -> bool {
    request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|length| length > BODY_LIMIT as u64)
}

/// What such a request is read as instead of its body: one byte past
/// [`BODY_LIMIT`], so that it is refused at once, with the 413 its route
/// answers a large body with, instead of after waiting for bytes it would
/// not read. Its connection closes after the answer.
static PAST_THE_LIMIT: [u8; BODY_LIMIT + 1] = [0; BODY_LIMIT + 1];

/// A request body that fails once [`BODY_WITHIN`] has passed since the head
/// without its end, so the handler answers (a bad request) and the
/// connection closes. The timer is only set when the body is not all there
/// at once, as it mostly is.
struct BodyWithin {
    body: Incoming,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

impl BodyWithin {
    fn new(body: Incoming) -> Self {
        Self {
            body,
            deadline: Instant::now() + BODY_WITHIN,
            timer: None,
        }
    }
}

impl hyper::body::Body for BodyWithin {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err("the request body did not arrive in time".into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
