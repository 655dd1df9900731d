//! Asynchronous receive for tokio: the data socket is registered with the
//! runtime's reactor, so waiting for a message parks the task, not a thread.

use std::io;
use std::ops::Deref;

use tokio::io::unix::AsyncFd;

use crate::clock::Wait;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use ipcon_core::Message;

/// A [`Handler`] whose receives are `async`. Everything else (send, join,
/// look-ups) is reached through `Deref` and stays a quick request.
///
/// ```no_run
/// # async fn run() -> ipcon_linux::Result<()> {
/// use ipcon_linux::{AsyncHandler, Handler, Message};
/// let handler = AsyncHandler::new(Handler::new("async_peer")?)?;
/// let mut msg = Message::new();
/// handler.receive(&mut msg).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AsyncHandler {
    inner: AsyncFd<Handler>,
}

impl AsyncHandler {
    /// Registers `handler`'s data socket with the current tokio runtime
    /// (must be called from within one).
    pub fn new(handler: Handler) -> Result<Self> {
        let inner = crate::sys::register_with_tokio(handler)
            .map_err(|e| io_error("register with tokio", &e))?;
        Ok(Self { inner })
    }

    /// Waits, without blocking the thread, for the next message.
    pub async fn receive(&self, msg: &mut Message) -> Result<()> {
        loop {
            let mut ready = self
                .inner
                .readable()
                .await
                .map_err(|e| io_error("receive", &e))?;
            let attempt = ready.try_io(|fd| match fd.get_ref().receive(msg, Wait::Never) {
                Ok(()) => Ok(Ok(())),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Ok(Err(e)),
            });
            match attempt {
                Ok(Ok(result)) => return result,
                Ok(Err(e)) => return Err(io_error("receive", &e)),
                // Readiness was stale (another task took the message).
                Err(_would_block) => continue,
            }
        }
    }

    /// Gives the handler back.
    pub fn into_inner(self) -> Handler {
        self.inner.into_inner()
    }
}

fn io_error(operation: &'static str, err: &io::Error) -> Error {
    Error::from_errno(operation, err.raw_os_error().unwrap_or(0))
}

impl Deref for AsyncHandler {
    type Target = Handler;
    fn deref(&self) -> &Handler {
        self.inner.get_ref()
    }
}
