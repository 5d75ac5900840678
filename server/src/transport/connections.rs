//! Accepting connections, and guarding the server against clients that hold
//! them without using them.
//!
//! A server that waits forever on a client can be stopped by a few hundred
//! clients that never finish: a connection that sends nothing, or sends its
//! request one byte at a time ("slowloris"), costs the client almost nothing
//! and the server a socket and a task each. So every wait on a client here
//! has a limit ([`ConnectionSettings`], from the server's flags):
//!
//! - **headers**: an HTTP/1.1 request's headers must arrive in full within
//!   the header timeout. hyper counts it from when it starts waiting for a
//!   request, so on an idle keep-alive connection it also closes the
//!   connection that long after the previous reply.
//! - **body**: once a handler starts reading a request body, the whole body
//!   must arrive within the body timeout ([`ReadDeadline`]). The clock starts
//!   at the first read, not at the headers, so time the server itself spends
//!   first (an injected `x-fault-delay-ms`) is never held against the client.
//! - **idle**: a connection with no request in flight for the idle timeout is
//!   closed — an HTTP/2 connection between calls, and any connection that
//!   never sent a complete request. A request in flight is never cut short,
//!   and a streaming reply is in flight until its last message.
//! - **streams**: one HTTP/2 connection may carry at most so many requests at
//!   once (`SETTINGS_MAX_CONCURRENT_STREAMS`); a client that wants more waits
//!   for a free stream, on its own side.
//!
//! Stopping is graceful: when the shutdown future resolves the server stops
//! accepting, tells every connection to finish (HTTP/2 `GOAWAY`: no new
//! streams; HTTP/1.1: close after the current reply) and waits until each has
//! answered the requests it had already accepted. A request the server never
//! accepted was not executed, so a client may safely retry it elsewhere.
//!
//! axum's own `axum::serve` does all of this except the limits: it builds
//! hyper's connection builder itself and keeps it out of reach, so we serve
//! with hyper-util's builder (HTTP/1.1 and HTTP/2 on one port, as axum does).
//! A production server would also cap the number of connections per client
//! address; the lab leaves that to the machine's file-descriptor limit.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use http::Request;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long the server waits on its clients. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Most time for an HTTP/1.1 request's headers to arrive.
    pub header_read_timeout: Duration,
    /// Most time for a request body to arrive, from the handler's first read.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Most requests in flight at once on one HTTP/2 connection.
    pub max_concurrent_streams: u32,
}

impl Default for ConnectionSettings {
    /// The flags' defaults (see [`crate::config::Config`]).
    fn default() -> Self {
        crate::config::Config::default().connection_settings()
    }
}

/// Which TCP connection a request came on: numbered in the order the server
/// accepted them (from 1), and the peer's address. Each connection puts it on
/// every request it receives (an extension), with a mark on each gRPC-Web
/// one, so the server's record of a session can tell two clients in it
/// apart, and how each request came (`crate::request_log`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connection {
    pub id: u64,
    pub peer: SocketAddr,
}

/// After a connection was told to finish, how long it may take to say
/// goodbye once it has nothing in flight (an HTTP/2 `GOAWAY` waits for one
/// ping round trip) before it is simply closed — so a client that never
/// answers cannot keep it, or a shutdown, waiting.
const GOODBYE_GRACE: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` resolves, then lets every
/// connection finish the requests it has accepted, and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: ConnectionSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), crate::Error> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(settings.max_concurrent_streams);
    let builder = Arc::new(builder);

    // One channel does two jobs. Sending `true` tells every connection to
    // finish; and since each connection task holds a receiver until it ends,
    // `closed()` on the sender resolves when the last connection has ended.
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut accepted_so_far = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                on_accept_error(error).await;
                continue;
            }
        };
        // Send small replies at once. With Nagle's algorithm on, a reply
        // written in pieces waits for the client's delayed ACK: ~40 ms added
        // to calls that take well under one. (tonic's own server sets this too.)
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
        accepted_so_far += 1;
        let identity = Arc::new(Connection {
            id: accepted_so_far,
            peer,
        });
        tokio::spawn(connection(
            builder.clone(),
            tcp,
            identity,
            app.clone(),
            settings,
            stopping.clone(),
        ));
    }

    // No new connections from here on: a client connecting now is refused.
    drop(listener);
    tracing::info!("finishing the calls in flight");
    stop.send_replace(true);
    drop(stopping);
    stop.closed().await;
    Ok(())
}

/// An accept that failed. A connection reset before we took it concerns that
/// client only; anything else (out of file descriptors, say) would fail again
/// at once, so wait a moment instead of spinning.
async fn on_accept_error(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; retrying shortly");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one connection until it ends, closing it when it has been idle too
/// long or when the server stops.
async fn connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    tcp: TcpStream,
    identity: Arc<Connection>,
    app: Router,
    settings: ConnectionSettings,
    mut stopping: watch::Receiver<bool>,
) {
    // How many of this connection's requests are in flight, watched by the
    // idle timer below.
    let (in_flight, mut watch_in_flight) = watch::channel(0usize);
    let service = tower::service_fn(move |request: Request<Incoming>| {
        let started = InFlight::start(&in_flight);
        let mut request = request
            .map(|body| axum::body::Body::new(ReadDeadline::new(body, settings.body_read_timeout)));
        request.extensions_mut().insert(identity.clone());
        // Noted here, before tonic-web makes it look like native gRPC.
        let request = crate::request_log::layer::note_grpc_web(request);
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await?;
            // Counted until the reply's last byte is written, not only until
            // its headers: a streaming reply (a load run, a watched request
            // log) is a request in flight for as long as it streams.
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                axum::body::Body::new(Counted {
                    body,
                    _in_flight: started,
                })
            }))
        }
    });
    let mut conn =
        pin!(builder.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service)));

    // Idle for `idle_timeout`: told to finish. Told to finish and then idle
    // for `GOODBYE_GRACE`: closed.
    let mut finishing = false;
    loop {
        let quiet_limit = if finishing {
            GOODBYE_GRACE
        } else {
            settings.idle_timeout
        };
        tokio::select! {
            result = conn.as_mut() => {
                // A client that hangs up or sends garbage ends here; hyper
                // has already answered what deserved an answer.
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended");
                }
                break;
            }
            _ = stopping.wait_for(|stop| *stop), if !finishing => {
                finishing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = quiet_for(&mut watch_in_flight, quiet_limit) => {
                if finishing {
                    tracing::debug!("closing a connection that did not finish by itself");
                    break;
                }
                tracing::debug!("closing an idle connection");
                finishing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Resolves once no request has been in flight for `limit`.
async fn quiet_for(in_flight: &mut watch::Receiver<usize>, limit: Duration) {
    loop {
        if in_flight.wait_for(|&n| n == 0).await.is_err() {
            // The counter is gone with the connection's service: nothing to watch.
            return std::future::pending().await;
        }
        // Any change — a request starting — restarts the wait.
        if tokio::time::timeout(limit, in_flight.changed())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// One request in flight on a connection; counted until it is dropped, when
/// the reply's body has been sent (or abandoned with the connection).
struct InFlight(watch::Sender<usize>);

impl InFlight {
    fn start(counter: &watch::Sender<usize>) -> InFlight {
        counter.send_modify(|n| *n += 1);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// A reply body that keeps its request counted in flight while it lasts.
struct Counted {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl Body for Counted {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that must arrive in full within a time limit, counted from
/// the first time the handler asks for it.
///
/// Only waiting counts: a read that finds data ready returns it however late
/// it is, so a handler that reads late (after an injected delay) is never
/// refused for it; a read that must wait past the deadline fails.
pub struct ReadDeadline<B> {
    inner: B,
    limit: Duration,
    /// When the handler first asked for the body.
    first_read: Option<Instant>,
    /// The timer, made only when a read has to wait (most bodies never do).
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> ReadDeadline<B> {
    pub fn new(inner: B, limit: Duration) -> Self {
        ReadDeadline {
            inner,
            limit,
            first_read: None,
            timer: None,
        }
    }
}

/// The error a request body gets when its client was too slow to send it.
#[derive(Debug)]
pub struct BodyTimedOut(pub Duration);

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for BodyTimedOut {}

impl<B> Body for ReadDeadline<B>
where
    B: Body + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let first_read = *this.first_read.get_or_insert_with(Instant::now);
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let limit = this.limit;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(first_read + limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut(limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};

    /// A body whose frames the test hands over one by one.
    fn channel_body() -> (
        tokio::sync::mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>,
        impl Body<Data = Bytes, Error = std::convert::Infallible> + Unpin,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|frame| (frame, rx))
        });
        (tx, StreamBody::new(Box::pin(stream)))
    }

    /// A body that arrives in time is read whole.
    #[tokio::test(start_paused = true)]
    async fn a_body_in_time_is_read() {
        let (tx, body) = channel_body();
        let mut body = ReadDeadline::new(body, Duration::from_secs(10));
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(9)).await;
            tx.send(Ok(Frame::data(Bytes::from_static(b"late but in time"))))
                .await
                .unwrap();
        });
        let frame = body.frame().await.unwrap().unwrap();
        assert_eq!(frame.into_data().unwrap(), "late but in time");
        assert!(body.frame().await.is_none(), "then the body ends");
    }

    /// A client that drips its body slowly is cut off at the limit, however
    /// steadily it sends: the limit is for the whole body, not each piece.
    #[tokio::test(start_paused = true)]
    async fn a_dripping_body_is_cut_off_at_the_limit() {
        let (tx, body) = channel_body();
        let mut body = ReadDeadline::new(body, Duration::from_secs(10));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(3)).await;
                if tx
                    .send(Ok(Frame::data(Bytes::from_static(b"x"))))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let start = Instant::now();
        let mut pieces = 0;
        let error = loop {
            match body.frame().await {
                Some(Ok(_)) => pieces += 1,
                Some(Err(error)) => break error,
                None => panic!("the body never ends"),
            }
        };
        assert_eq!(
            pieces, 3,
            "pieces at 3, 6 and 9 s arrive; the one at 12 s is too late"
        );
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        assert!(error.to_string().contains("10000 ms"), "{error}");
    }

    /// Time before the first read is the server's, not the client's: a body
    /// already sent is read however late the handler asks for it.
    #[tokio::test(start_paused = true)]
    async fn the_clock_starts_at_the_first_read() {
        let (tx, body) = channel_body();
        let mut body = ReadDeadline::new(body, Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(5)).await;
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(900)).await;
            tx.send(Ok(Frame::data(Bytes::from_static(b"ok"))))
                .await
                .unwrap();
        });
        assert!(body.frame().await.unwrap().is_ok());
    }

    /// The idle timer: quiet means nothing in flight for the whole limit.
    #[tokio::test(start_paused = true)]
    async fn quiet_means_nothing_in_flight_for_the_whole_limit() {
        let (counter, mut watched) = watch::channel(0usize);
        let start = Instant::now();
        let busy = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            let call = InFlight::start(&counter);
            // A call longer than the limit: the connection is not idle meanwhile.
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(call);
            counter
        });
        quiet_for(&mut watched, Duration::from_secs(10)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(4 + 30 + 10));
        drop(busy.await.unwrap());
    }
}
