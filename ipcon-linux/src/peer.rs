//! Opening the engine's halves: a peer (send/control half and receive/data
//! half), a directory (look-ups only) and a kernel event monitor.

use core::time::Duration;

use ipcon_core::Name;

use crate::clock::Clock;
use crate::control::Control;
use crate::error::Result;
use crate::receiver::Receiver;
use crate::socket::NetlinkSocket;

/// Default receive buffer of a data socket.
pub const DEFAULT_RECV_BUFFER: usize = 1024 * 1024;

/// Default time to wait for the kernel's answer to a request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How to open a peer: its name, its receive buffer, how long requests wait,
/// whether it watches kernel events from the start.
///
/// ```no_run
/// use ipcon_linux::PeerOptions;
/// let handler = PeerOptions::named("my_peer")?
///     .recv_buffer(4 << 20)
///     .kevents(true)
///     .open()?;
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerOptions {
    name: Option<Name>,
    recv_buffer: usize,
    request_timeout: Duration,
    kevents: bool,
}

impl Default for PeerOptions {
    fn default() -> Self {
        Self::anonymous()
    }
}

impl PeerOptions {
    /// Options for a peer named `name` ([`ErrorKind::InvalidName`] for a bad
    /// name, before any system call).
    ///
    /// [`ErrorKind::InvalidName`]: crate::ErrorKind::InvalidName
    pub fn named(name: &str) -> Result<Self> {
        Ok(Self::with_name(Some(Name::new(name)?)))
    }

    /// Options for an anonymous peer (reachable by port only).
    pub const fn anonymous() -> Self {
        Self::with_name(None)
    }

    /// Options for a peer named `name` (`None`: anonymous).
    pub const fn with_name(name: Option<Name>) -> Self {
        Self {
            name,
            recv_buffer: DEFAULT_RECV_BUFFER,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            kevents: false,
        }
    }

    /// The data socket's receive buffer in bytes (`SO_RCVBUF`; a process
    /// with `CAP_NET_ADMIN` may exceed `net.core.rmem_max`). Default
    /// [`DEFAULT_RECV_BUFFER`].
    pub const fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = bytes;
        self
    }

    /// How long a request waits for the kernel's answer. Default
    /// [`DEFAULT_REQUEST_TIMEOUT`].
    pub const fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Subscribe to kernel events from the start (before registering, so
    /// nothing after the peer exists is missed).
    pub const fn kevents(mut self, subscribe: bool) -> Self {
        self.kevents = subscribe;
        self
    }

    /// The peer's name (`None`: anonymous).
    pub const fn name(&self) -> Option<Name> {
        self.name
    }

    /// How long requests wait.
    pub const fn timeout(&self) -> Duration {
        self.request_timeout
    }

    /// Registers the peer and returns the engine's two halves, each used
    /// through `&mut` and independent of the other: the send/control half
    /// (requests, sends, look-ups) and the receive/data half. Dropping the
    /// control half unregisters the peer; the peer is gone once both are
    /// dropped. Both wait with `clock`.
    ///
    /// Errors: [`ErrorKind::ModuleNotLoaded`], [`ErrorKind::IncompatibleModule`],
    /// [`ErrorKind::AlreadyExists`] (the name is taken), ...
    ///
    /// [`ErrorKind::ModuleNotLoaded`]: crate::ErrorKind::ModuleNotLoaded
    /// [`ErrorKind::IncompatibleModule`]: crate::ErrorKind::Incompatible
    /// [`ErrorKind::AlreadyExists`]: crate::ErrorKind::AlreadyExists
    pub fn open_halves<C: Clock + Clone>(&self, clock: C) -> Result<(Control<C>, Receiver<C>)> {
        let mut control = Control::directory(self.request_timeout, clock.clone())?;
        let family = control.family();
        let data = NetlinkSocket::open_data(self.recv_buffer)?;
        let mut receiver = Receiver::new(data, family.id, family.kevent_group, clock);
        // Before registering: the peer's own arrival is the first event.
        if self.kevents {
            receiver.subscribe_kevents()?;
        }
        control.register(self.name, receiver.socket())?;
        Ok((control, receiver))
    }
}

/// Opens a socket that receives kernel events only: no peer, so watching
/// adds no events of its own. Every message it receives is a kernel event;
/// sequence gaps show as `kevents_missed`.
pub fn open_kevent_monitor<C: Clock + Clone>(clock: C) -> Result<Receiver<C>> {
    let family = Control::directory(DEFAULT_REQUEST_TIMEOUT, clock.clone())?.family();
    let socket = NetlinkSocket::open_data(DEFAULT_RECV_BUFFER)?;
    let mut receiver = Receiver::new(socket, family.id, family.kevent_group, clock);
    receiver.subscribe_kevents()?;
    Ok(receiver)
}
