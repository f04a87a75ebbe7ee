//! The listening socket: connections, slow clients and graceful shutdown.
//!
//! This module decides how connections are accepted and ended. Each
//! connection speaks HTTP/1.1 (keep-alive) through hyper directly rather
//! than `axum::serve`, because it must bound how long a client may take to
//! send its request headers: after `header_read_timeout` without a whole
//! header section the connection is closed, so slow clients cannot hold
//! connections open. The peer address is handed to the router (the rate
//! limit keys on it).
//!
//! A request's header section (request line included) may hold at most
//! [`MAX_HEADER_SECTION`] bytes and hyper's default of 100 fields; over
//! either, hyper answers 431 with no body and closes the connection (see
//! `problem` for what hyper answers on its own).
//!
//! On shutdown the listener is closed first, idle connections are closed,
//! and requests in flight are answered before their connections close —
//! for at most `shutdown_timeout`, after which the server exits anyway.

use super::AppState;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Pause after a failed accept (say, out of file descriptors) so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Most bytes of one request's header section: far above what a client of
/// this API sends (a key, a content type, a browser's headers), and a
/// sixth of the buffer hyper would otherwise let each connection fill.
pub const MAX_HEADER_SECTION: usize = 64 * 1024;

/// Serves `state` on `listener` until `shutdown` completes, then drains.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let header_read_timeout = state.service.header_read_timeout;
    let shutdown_timeout = state.service.shutdown_timeout;
    let app = super::router(state);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_header_size(MAX_HEADER_SECTION);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        connections = graceful.count(),
        "shutting down: answering requests in flight"
    );
    match tokio::time::timeout(shutdown_timeout, graceful.shutdown()).await {
        Ok(()) => tracing::info!("every request answered; exiting"),
        Err(_) => tracing::warn!(
            timeout_ms = shutdown_timeout.as_millis() as u64,
            "requests still in flight after the shutdown timeout; exiting anyway"
        ),
    }
    Ok(())
}

/// Serves until SIGINT or SIGTERM, then drains in-flight requests.
pub async fn serve(listen: SocketAddr, state: AppState) -> std::io::Result<()> {
    if state.service.body_memory < state.message_limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "--body-memory ({} bytes) is below --max-message-size ({} bytes), so a message \
                 of the largest size could never be read; raise the one or lower the other",
                state.service.body_memory, state.message_limit
            ),
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    tracing::info!(address = %listener.local_addr()?, "mailvet listening");
    serve_on(listener, state, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
