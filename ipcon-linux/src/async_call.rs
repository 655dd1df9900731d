//! Calls for tokio: `AsyncClient::call(...).await` parks the task, not a
//! thread, while the call is pending. The client's data socket (a second
//! descriptor of it) is registered with the runtime's reactor; whichever task
//! finds it readable routes what arrived, and tasks whose calls settled are
//! woken.

use core::future::Future;
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;
use std::os::fd::{AsFd, OwnedFd};

use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;

use ipcon_core::wire::ipcon::PeerRef;
use ipcon_core::Name;

use crate::call::{Client, ClientStats, DEFAULT_CALL_CAPACITY};
use crate::error::{Error, ErrorKind, Result};
use crate::peer::PeerOptions;

/// A [`Client`] for async code (feature `tokio`): the same calls, errors and
/// statistics; dropping a call's future cancels the call (its reply, if one
/// comes, is dropped and counted).
///
/// ```no_run
/// # async fn f() -> Result<(), ipcon_linux::Error> {
/// use std::time::Duration;
/// let client = ipcon_linux::AsyncClient::new()?;
/// let reply = client.call("clock", "now", b"", Some(Duration::from_secs(1))).await?;
/// # let _ = reply; Ok(()) }
/// ```
#[derive(Debug)]
pub struct AsyncClient {
    client: Client,
    ready: AsyncFd<OwnedFd>,
    settled: Notify,
}

fn io_error(operation: &'static str, err: &std::io::Error) -> Error {
    Error::from_errno(operation, err.raw_os_error().unwrap_or(0))
}

impl AsyncClient {
    /// A client on a new anonymous peer (inside a tokio runtime).
    pub fn new() -> Result<Self> {
        Self::with_options(PeerOptions::anonymous(), DEFAULT_CALL_CAPACITY)
    }

    /// A client on a new peer as `options` say, up to `capacity` calls at
    /// once (see [`Client::with_options`]).
    pub fn with_options(options: PeerOptions, capacity: usize) -> Result<Self> {
        let client = Client::with_options(options, capacity)?;
        let fd = rustix::io::dup(client.handler().as_fd())
            .map_err(|e| Error::from_os("register with tokio", e))?;
        let ready =
            crate::sys::register_with_tokio(fd).map_err(|e| io_error("register with tokio", &e))?;
        Ok(Self {
            client,
            ready,
            settled: Notify::new(),
        })
    }

    /// The blocking client underneath (its peer, statistics, `cancel`).
    /// Its blocking calls must not be mixed with this client's async ones.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What the client saw so far.
    pub fn stats(&self) -> ClientStats {
        self.client.stats()
    }

    /// Calls `method` of peer `peer` with `payload`; the result, at most
    /// `timeout` later (see [`Client::call`]).
    pub async fn call(
        &self,
        peer: &str,
        method: &str,
        payload: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>> {
        let peer = PeerRef::Name(Name::new(peer)?);
        let mut reply = Vec::new();
        self.call_into(peer, method, payload, timeout, &mut reply)
            .await?;
        Ok(reply)
    }

    /// [`call`](Self::call) to a peer by name or port, the result into
    /// `reply`.
    pub async fn call_into(
        &self,
        peer: PeerRef,
        method: &str,
        payload: &[u8],
        timeout: Option<Duration>,
        reply: &mut Vec<u8>,
    ) -> Result<()> {
        // Dropped with the future: a pending call is cancelled.
        let pending = self.client.start(peer, method, payload, timeout)?;
        let id = pending.id();
        loop {
            let mut notified = pin!(self.settled.notified());
            notified.as_mut().enable();
            if let Some(result) = self.client.finish(id, peer, reply) {
                return result;
            }
            let left = self.client.time_left(id).unwrap_or(Duration::MAX);
            let mut sleep = pin!(tokio::time::sleep(left.min(Duration::from_secs(86_400))));
            let readable = core::future::poll_fn(|cx| {
                if let Poll::Ready(guard) = self.ready.poll_read_ready(cx) {
                    return Poll::Ready(Some(guard));
                }
                if notified.as_mut().poll(cx).is_ready() || sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await;
            let Some(guard) = readable else {
                continue;
            };
            let mut guard = guard.map_err(|e| io_error("call", &e))?;
            match self.client.route_one() {
                Ok(true) => self.settled.notify_waiters(),
                Ok(false) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => guard.clear_ready(),
                Err(e) => return Err(e.in_operation("call")),
            }
        }
    }
}
