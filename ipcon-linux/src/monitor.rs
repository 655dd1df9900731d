//! Watching kernel events without registering a peer.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

use ipcon_core::machine::InboxStats;
use ipcon_core::Message;

use crate::clock::{MonotonicClock, Wait};
use crate::error::Result;
use crate::peer::open_kevent_monitor;
use crate::receiver::Receiver;

/// A socket subscribed to the `ipcon_kevent` group. Unlike a [`Handler`]
/// with kernel events it is no peer, so watching adds no events of its own.
///
/// Every received message is [`MessageKind::Kevent`]; a gap in the sequence
/// shows as [`Message::kevents_missed`].
///
/// ```no_run
/// use ipcon_linux::{KeventMonitor, Message, Wait};
/// let monitor = KeventMonitor::open()?;
/// let mut msg = Message::new();
/// loop {
///     monitor.receive(&mut msg, Wait::Forever)?;
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
    events: Mutex<Box<Receiver>>,
    /// The socket's descriptor, owned by the receiver (for `AsFd`).
    fd: RawFd,
}

impl KeventMonitor {
    /// Subscribes ([`ErrorKind::ModuleNotLoaded`](crate::ErrorKind) without
    /// the module).
    pub fn open() -> Result<Self> {
        let events = Box::new(open_kevent_monitor(MonotonicClock)?);
        let fd = events.as_fd().as_raw_fd();
        Ok(Self {
            events: Mutex::new(events),
            fd,
        })
    }

    fn events(&self) -> MutexGuard<'_, Box<Receiver>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Receives the next kernel event into `msg`, waiting as `wait` says.
    pub fn receive(&self, msg: &mut Message, wait: Wait) -> Result<()> {
        self.events().receive(msg, wait)
    }

    /// Events lost (sequence gaps) since the monitor was opened, and
    /// datagrams dropped.
    pub fn stats(&self) -> InboxStats {
        self.events().stats()
    }
}

/// The event socket, for `poll`/`epoll`.
impl AsFd for KeventMonitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        crate::sys::borrow_fd(self, self.fd)
    }
}
