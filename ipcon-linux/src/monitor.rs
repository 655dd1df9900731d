//! Watching kernel events without registering a peer.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use crate::control::{open_request_socket, Control};
use crate::error::{Error, Result};
use crate::handler::{join_kevents, DEFAULT_RECV_BUFFER, DEFAULT_REQUEST_TIMEOUT};
use crate::message::Message;
use crate::receiver::Receiver;
use crate::socket::Wait;
use crate::sys::NetlinkOption;

/// A socket subscribed to the `ipcon_kevent` group. Unlike a [`Handler`]
/// with kernel events it is no peer, so watching adds no events of its own.
///
/// Every received message is [`MessageKind::Kevent`]; a gap in the sequence
/// shows as [`Message::kevents_missed`].
///
/// ```no_run
/// use ipcon_linux::{KeventMonitor, Message};
/// let monitor = KeventMonitor::open()?;
/// let mut msg = Message::new();
/// loop {
///     monitor.receive(&mut msg)?;
///     if let Some(event) = msg.kevent() {
///         println!("{event}");
///     }
/// }
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
///
/// [`Handler`]: crate::Handler
/// [`MessageKind::Kevent`]: crate::MessageKind::Kevent
#[derive(Debug)]
pub struct KeventMonitor {
    events: Receiver,
}

impl KeventMonitor {
    /// Subscribes ([`ErrorKind::ModuleNotLoaded`](crate::ErrorKind) without
    /// the module).
    pub fn open() -> Result<Self> {
        let family = Control::open(DEFAULT_REQUEST_TIMEOUT)?.family();
        let socket = open_request_socket()?;
        socket
            .set_option(NetlinkOption::NoEnobufs, 1)
            .map_err(|e| Error::from_io("set socket option", &e))?;
        socket
            .set_recv_buffer(DEFAULT_RECV_BUFFER)
            .map_err(|e| Error::from_io("set receive buffer", &e))?;
        join_kevents(&socket, family.kevent_group)?;
        Ok(Self {
            events: Receiver::new(socket, family.id),
        })
    }

    /// Waits for the next kernel event.
    pub fn receive(&self, msg: &mut Message) -> Result<()> {
        self.events.receive(msg, Wait::Forever).map(drop)
    }

    /// Takes a queued event or fails with `WouldBlock`.
    pub fn try_receive(&self, msg: &mut Message) -> Result<()> {
        self.events.receive(msg, Wait::Never).map(drop)
    }

    /// Waits at most `timeout`.
    pub fn receive_timeout(&self, msg: &mut Message, timeout: Duration) -> Result<()> {
        self.events.receive(msg, Wait::Timeout(timeout)).map(drop)
    }

    /// Events lost (sequence gaps) since the monitor was opened.
    pub fn missed(&self) -> u64 {
        self.events.kevents_missed()
    }
}

/// The event socket, for `poll`/`epoll`.
impl AsFd for KeventMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.events.socket().as_fd()
    }
}
