//! Deadlines of one HTTP connection, so that no client holds a connection slot for long: an
//! idle keep-alive connection is closed after [`Deadlines::idle`]; a request whose headers
//! have not all arrived [`Deadlines::header_read`] after its first byte is cut off; and a
//! response not written whole within [`Deadlines::write`] of its request (a client that reads
//! slowly, or not at all) is abandoned. As in Go's `http.Server` (`IdleTimeout`,
//! `ReadHeaderTimeout`, `WriteTimeout`).
//!
//! [`TimedIo`] wraps the connection's stream and enforces the deadlines when a read or write
//! has to wait; [`ConnectionClock::request_complete`], called by the service as each request
//! arrives, starts the write deadline, and [`ConnectionClock::answer`] wraps the response body, whose drop (hyper drops a body once
//! it has taken all of it, or gives up) starts the idle time.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The three deadlines of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// From the end of a response (or the connection's start) to the first byte of the next
    /// request: longer than a minute, so that Prometheus' scrapes at the default interval
    /// keep their connection.
    pub idle: Duration,
    /// From a request's first byte to the end of its headers.
    pub header_read: Duration,
    /// From the end of a request's headers to the last byte of its response.
    pub write: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(90),
            header_read: Duration::from_secs(10),
            write: Duration::from_secs(60),
        }
    }
}

/// Where a connection is, for its read deadline.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request since then.
    Idle(Instant),
    /// A request's first bytes came then; its headers are still coming.
    Headers(Instant),
    /// A request is being answered: the server reads only to notice a client that goes away,
    /// with no deadline (the write deadline bounds the answer).
    Responding,
}

#[derive(Debug)]
struct ClockState {
    phase: Phase,
    /// When the last request's headers were complete; the write deadline runs from then.
    response_started: Option<Instant>,
    /// The task whose read waits, without a deadline, while a request is answered: woken
    /// when the answer is done with, so that its read starts the idle deadline. (hyper does
    /// not read again by itself after a response whose reads were already waiting.)
    reader_while_responding: Option<Waker>,
}

/// A connection's phase, shared between its stream ([`TimedIo`]) and its service.
#[derive(Debug)]
pub struct ConnectionClock {
    deadlines: Deadlines,
    state: Mutex<ClockState>,
}

impl ConnectionClock {
    /// The clock of a connection accepted now.
    pub fn new(deadlines: Deadlines) -> Arc<Self> {
        Arc::new(Self {
            deadlines,
            state: Mutex::new(ClockState {
                phase: Phase::Idle(Instant::now()),
                response_started: None,
                reader_while_responding: None,
            }),
        })
    }

    /// A request's headers are complete and its answer begins: the write deadline starts,
    /// and reads have no deadline until the answer is done with.
    pub fn request_complete(&self) {
        let mut state = self.lock();
        state.phase = Phase::Responding;
        state.response_started = Some(Instant::now());
    }

    /// `body` wrapped so that the idle time starts when hyper is done with it.
    pub fn answer<B>(self: &Arc<Self>, body: B) -> Answer<B> {
        Answer {
            body,
            clock: Arc::clone(self),
        }
    }

    /// The answer's body is done with: the connection waits for the next request, and a read
    /// that was waiting without a deadline is woken to wait with the idle one.
    fn response_finished(&self) {
        let waiting = {
            let mut state = self.lock();
            if let Phase::Responding = state.phase {
                state.phase = Phase::Idle(Instant::now());
            }
            state.reader_while_responding.take()
        };
        if let Some(reader) = waiting {
            reader.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: an idle connection starts a request.
    fn bytes_read(&self) {
        let mut state = self.lock();
        if let Phase::Idle(_) = state.phase {
            state.phase = Phase::Headers(Instant::now());
        }
    }

    /// The server waits for bytes: the deadline of that wait, if any. While a request is
    /// answered there is none, and `reader` is woken when the answer is done with.
    fn read_deadline(&self, reader: &Waker) -> Option<(Instant, &'static str)> {
        let mut state = self.lock();
        match state.phase {
            Phase::Idle(since) => Some((since + self.deadlines.idle, "idle keep-alive")),
            Phase::Headers(since) => Some((since + self.deadlines.header_read, "request headers")),
            Phase::Responding => {
                state.reader_while_responding = Some(reader.clone());
                None
            }
        }
    }

    /// The deadline of a write that has to wait: the last response's, from the end of its
    /// request's headers. Between requests (the tail of an answer hyper still flushes, or an
    /// error answer hyper writes by itself) it runs from the start of that phase, never from
    /// an earlier response.
    fn write_deadline(&self) -> Option<Instant> {
        let state = self.lock();
        let from = match (state.phase, state.response_started) {
            (Phase::Responding, started) => started,
            (Phase::Idle(since) | Phase::Headers(since), started) => {
                Some(started.map_or(since, |started| started.max(since)))
            }
        };
        from.map(|from| from + self.deadlines.write)
    }
}

/// A response body that tells its connection's clock when hyper is done with it.
#[derive(Debug)]
pub struct Answer<B> {
    body: B,
    clock: Arc<ConnectionClock>,
}

impl<B> Drop for Answer<B> {
    fn drop(&mut self) {
        self.clock.response_finished();
    }
}

impl<B: Body + Unpin> Body for Answer<B> {
    type Data = B::Data;
    type Error = B::Error;

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

/// A connection's stream with its deadlines: a read or write that has to wait past its
/// deadline fails with [`io::ErrorKind::TimedOut`], which ends the connection.
#[derive(Debug)]
pub struct TimedIo<IO> {
    io: IO,
    clock: Arc<ConnectionClock>,
    read_timer: Pin<Box<Sleep>>,
    write_timer: Pin<Box<Sleep>>,
}

impl<IO> TimedIo<IO> {
    /// Wraps `io`, whose phase `clock` follows.
    pub fn new(io: IO, clock: Arc<ConnectionClock>) -> Self {
        let far = Instant::now() + Duration::from_secs(86_400);
        Self {
            io,
            clock,
            read_timer: Box::pin(tokio::time::sleep_until(far)),
            write_timer: Box::pin(tokio::time::sleep_until(far)),
        }
    }
}

/// `Pending` until `deadline`, registered with `timer`; then the error that ends the
/// connection.
fn wait_until(
    timer: &mut Pin<Box<Sleep>>,
    deadline: Instant,
    what: &str,
    cx: &mut Context<'_>,
) -> Poll<io::Error> {
    if timer.deadline() != deadline {
        timer.as_mut().reset(deadline);
    }
    match timer.as_mut().poll(cx) {
        Poll::Ready(()) => Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what} deadline passed"),
        )),
        Poll::Pending => Poll::Pending,
    }
}

impl<IO: AsyncWrite + Unpin> TimedIo<IO> {
    /// Runs one write step; if it has to wait, it may wait only until the write deadline.
    fn write_step<T>(
        &mut self,
        cx: &mut Context<'_>,
        step: impl FnOnce(Pin<&mut IO>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match step(Pin::new(&mut self.io), cx) {
            Poll::Pending => match self.clock.write_deadline() {
                Some(deadline) => {
                    wait_until(&mut self.write_timer, deadline, "response write", cx).map(Err)
                }
                None => Poll::Pending,
            },
            ready => ready,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for TimedIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.clock.bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.clock.read_deadline(cx.waker()) {
                Some((deadline, what)) => {
                    wait_until(&mut this.read_timer, deadline, what, cx).map(Err)
                }
                None => Poll::Pending,
            },
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for TimedIo<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_step(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .write_step(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write_step(cx, |io, cx| io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().write_step(cx, |io, cx| io.poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    //! With the default deadlines: idle 90 s, headers 10 s, whole response 60 s.
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_times_out_after_the_idle_deadline_only() {
        let (server, _client) = tokio::io::duplex(64);
        let clock = ConnectionClock::new(Deadlines::default());
        let mut io = TimedIo::new(server, clock);
        let started = Instant::now();
        let mut byte = [0u8; 1];
        let error = io.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("idle keep-alive"), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(90));
    }

    #[tokio::test(start_paused = true)]
    async fn headers_that_stop_coming_time_out_after_the_header_deadline() {
        let (server, mut client) = tokio::io::duplex(64);
        let mut io = TimedIo::new(server, ConnectionClock::new(Deadlines::default()));
        tokio::time::sleep(Duration::from_secs(80)).await;
        client.write_all(b"GET / HT").await.unwrap();
        let mut buffer = [0u8; 64];
        assert_eq!(io.read(&mut buffer).await.unwrap(), 8);
        let started = Instant::now();
        let error = io.read(&mut buffer).await.unwrap_err();
        assert!(error.to_string().contains("request headers"), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_nobody_reads_is_abandoned_at_the_write_deadline() {
        // A 64-byte pipe the client never reads: the second write has to wait.
        let (server, _client) = tokio::io::duplex(64);
        let clock = ConnectionClock::new(Deadlines::default());
        let mut io = TimedIo::new(server, Arc::clone(&clock));
        clock.request_complete();
        let _answer = clock.answer(());
        let started = Instant::now();
        let error = io.write_all(&[b'x'; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("response write"), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_but_steady_reader_is_still_cut_off_at_the_write_deadline() {
        let (server, mut client) = tokio::io::duplex(64);
        let clock = ConnectionClock::new(Deadlines::default());
        let mut io = TimedIo::new(server, Arc::clone(&clock));
        clock.request_complete();
        let _answer = clock.answer(());
        // The client reads 64 bytes every 10 s: each write makes progress, the whole
        // response does not finish in time.
        let reader = tokio::spawn(async move {
            let mut buffer = [0u8; 64];
            loop {
                tokio::time::sleep(Duration::from_secs(10)).await;
                if client.read(&mut buffer).await.unwrap_or(0) == 0 {
                    break;
                }
            }
        });
        let started = Instant::now();
        let error = io.write_all(&[b'x'; 64 * 100]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() <= Duration::from_secs(61));
        drop(io);
        reader.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn reads_while_answering_have_no_deadline() {
        let (server, _client) = tokio::io::duplex(64);
        let clock = ConnectionClock::new(Deadlines::default());
        let mut io = TimedIo::new(server, Arc::clone(&clock));
        clock.request_complete();
        let _answer = clock.answer(());
        let mut byte = [0u8; 1];
        let waited = tokio::time::timeout(Duration::from_secs(600), io.read(&mut byte)).await;
        assert!(waited.is_err(), "a read while answering ended: {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_waiting_through_an_answer_times_out_at_the_idle_deadline_after_it() {
        // As hyper does: its read of the connection is already waiting while the answer is
        // written, and it does not read again by itself afterwards.
        let (server, _client) = tokio::io::duplex(64);
        let clock = ConnectionClock::new(Deadlines::default());
        let mut io = TimedIo::new(server, Arc::clone(&clock));
        clock.request_complete();
        let answer = clock.answer(());
        let reader = tokio::spawn(async move {
            let mut byte = [0u8; 1];
            io.read(&mut byte).await
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        let answered = Instant::now();
        drop(answer);
        let read = tokio::time::timeout(Duration::from_secs(600), reader)
            .await
            .expect("the waiting read ends at the idle deadline, not never");
        let error = read.unwrap().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("idle keep-alive"), "{error}");
        assert_eq!(answered.elapsed(), Duration::from_secs(90));
    }

    #[tokio::test(start_paused = true)]
    async fn a_finished_response_starts_the_idle_time_and_keeps_the_connection() {
        let (server, mut client) = tokio::io::duplex(1024);
        let clock = ConnectionClock::new(Deadlines::default());
        let mut io = TimedIo::new(server, Arc::clone(&clock));
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut buffer = [0u8; 64];
        assert_eq!(io.read(&mut buffer).await.unwrap(), 18);
        clock.request_complete();
        let answer = clock.answer(());
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        drop(answer);
        // Quiet for longer than the write deadline but within the idle one: the next
        // request is read.
        let next = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(75)).await;
            client.write_all(b"GET /").await.unwrap();
            client
        });
        assert_eq!(io.read(&mut buffer).await.unwrap(), 5);
        let _client = next.await.unwrap();
    }
}
