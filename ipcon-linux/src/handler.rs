//! The handler: one peer, the engine's two halves behind their own locks.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::vec::Vec;

use ipcon_core::machine::InboxStats;
use ipcon_core::spec::GroupAccess;
use ipcon_core::wire::ipcon::PeerRef;
use ipcon_core::{Message, Name, Ticket};

use crate::batch::Batch;
use crate::clock::{MonotonicClock, Wait};
use crate::control::{Control, MulticastReport, Replay};
use crate::directory::Directory;
use crate::error::{Error, Result};
use crate::peer::PeerOptions;
use crate::receiver::{Receiver, RECEIVE_MANY_STORAGE};
use crate::termination;

/// What [`Handler::send_batch`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchReport {
    /// Messages handed to the kernel: the whole batch. The kernel handled
    /// each of them; those not in `failures` were queued.
    pub sent: usize,
    /// The messages that failed, in batch order; empty when every message
    /// was queued.
    pub failures: Vec<BatchFailure>,
}

impl BatchReport {
    /// Messages queued to their receivers (`sent` minus the failures).
    pub fn queued(&self) -> usize {
        self.sent.saturating_sub(self.failures.len())
    }
}

/// One message of a batch that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    /// Its position in the batch (0 = the first message added).
    pub index: usize,
    /// The error the per-message call would have returned (e.g.
    /// [`ErrorKind::QueueFull`](crate::ErrorKind::QueueFull),
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound)).
    pub error: Error,
}

/// The receive/data half and the storage `receive_many` uses (allocated on
/// its first use).
#[derive(Debug)]
struct ReceiveSide {
    receiver: Box<Receiver>,
    many: Option<Box<[u8]>>,
}

/// A peer of the ipcon network: register groups, join others' groups, send
/// and receive, look peers and groups up ([`Handler::directory`]).
///
/// `Send + Sync`: share it (`Arc`) and receive in one thread while others
/// send, post, join or leave: requests go through the control half and
/// never wait behind a blocked receive. Dropping it unregisters the peer
/// (kernel events say `unregistered`); a process that dies shows `closed`.
///
/// ```no_run
/// use ipcon_linux::{Handler, Message, MessageKind, Wait};
/// let handler = Handler::new("string_service")?;
/// handler.register_group("str_msg")?;
/// let mut msg = Message::new();
/// loop {
///     handler.receive(&mut msg, Wait::Forever)?;
///     if msg.kind() == MessageKind::Unicast {
///         handler.send_multicast("str_msg", msg.payload())?;
///     }
/// }
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
#[derive(Debug)]
pub struct Handler {
    /// The control half, shared with look-ups.
    directory: Directory,
    receive: Mutex<ReceiveSide>,
    name: Option<Name>,
    port: u32,
    /// The data socket's descriptor, owned by the receiver (for `AsFd`).
    data_fd: RawFd,
    /// The slot of [`Handler::unregister_on_termination`], if taken.
    termination: AtomicUsize,
}

impl PeerOptions {
    /// Registers the peer as a [`Handler`].
    pub fn open(self) -> Result<Handler> {
        Handler::open(self)
    }
}

impl Handler {
    /// Registers a peer named `name`.
    pub fn new(name: &str) -> Result<Self> {
        PeerOptions::named(name)?.open()
    }

    /// Registers an anonymous peer (reachable by port only).
    pub fn anonymous() -> Result<Self> {
        PeerOptions::anonymous().open()
    }

    fn open(options: PeerOptions) -> Result<Self> {
        let (control, receiver) = options.open_halves(MonotonicClock)?;
        let port = receiver.port();
        let data_fd = receiver.as_fd().as_raw_fd();
        Ok(Self {
            directory: Directory::of(control),
            receive: Mutex::new(ReceiveSide {
                receiver: Box::new(receiver),
                many: None,
            }),
            name: options.name(),
            port,
            data_fd,
            termination: AtomicUsize::new(termination::NO_SLOT),
        })
    }

    fn control(&self) -> MutexGuard<'_, Box<Control>> {
        self.directory.control()
    }

    fn receive_side(&self) -> MutexGuard<'_, ReceiveSide> {
        self.receive.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The peer's name; `None` when anonymous.
    pub fn name(&self) -> Option<&Name> {
        self.name.as_ref()
    }

    /// The peer's port (its identity; the data socket's netlink port).
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Look-ups, listings and waiting for peers and groups, through this
    /// handler's control socket.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// Unregisters the peer now (its groups and memberships go, kernel
    /// events say `unregistered`); every later request fails with
    /// [`ErrorKind::NotRegistered`](crate::ErrorKind::NotRegistered).
    /// Dropping the handler does the same.
    pub fn unregister(&self) -> Result<()> {
        self.control().unregister()
    }

    /// On SIGTERM, SIGINT or SIGHUP, unregister this peer (kernel events say
    /// `unregistered`, not `closed`) and end the process with status 0 — what
    /// a daemon stopped by its init system should do.
    ///
    /// The work happens inside the signal handler (a prepared request sent
    /// on the control socket, then `exit_group`), so it works while any
    /// thread is blocked in [`Handler::receive`], needs no thread of its own,
    /// and keeps no reference to the handler: dropping the handler still
    /// unregisters it and withdraws it from the signal handler. Up to 32
    /// handlers of a process may ask ([`ErrorKind::LimitReached`] beyond).
    ///
    /// [`ErrorKind::LimitReached`]: crate::ErrorKind::LimitReached
    pub fn unregister_on_termination(&self) -> Result<()> {
        if self.termination.load(Ordering::Relaxed) != termination::NO_SLOT {
            return Ok(());
        }
        let (fd, family) = {
            let control = self.control();
            (control.as_fd().as_raw_fd(), control.family().id)
        };
        let slot = termination::watch(fd, family)?;
        self.termination.store(slot, Ordering::Relaxed);
        Ok(())
    }

    /// Registers group `group`, owned by this peer and open to everyone.
    pub fn register_group(&self, group: &str) -> Result<()> {
        let group = Name::new(group)?;
        self.control().register_group(group, None, None)
    }

    /// Registers group `group` with restricted access: [`GroupAccess::SameUid`]
    /// (processes of this peer's uid), or [`GroupAccess::Gid`] with `gid`
    /// (processes in that group). A peer with `CAP_NET_ADMIN` may always join.
    pub fn register_group_with(
        &self,
        group: &str,
        access: GroupAccess,
        gid: Option<u32>,
    ) -> Result<()> {
        let group = Name::new(group)?;
        self.control().register_group(group, Some(access), gid)
    }

    /// Unregisters one of this peer's groups; its subscribers are dropped.
    pub fn unregister_group(&self, group: &str) -> Result<()> {
        let group = Name::new(group)?;
        self.control().unregister_group(group)
    }

    /// Joins group `group` of peer `owner`; with [`Replay::LastMessage`],
    /// the group's last message is queued to this peer before this call
    /// returns, ahead of any newer message of the group.
    pub fn join_group(&self, owner: &str, group: &str, replay: Replay) -> Result<()> {
        let (owner, group) = (Name::new(owner)?, Name::new(group)?);
        self.control().join_group(owner, group, replay)
    }

    /// Joins group `group` of peer `owner` only if `owner` belongs to user
    /// `uid` (as [`Sender::uid`](crate::Sender::uid) gives uids): another
    /// user's peer under that name is
    /// [`ErrorKind::UnexpectedOwner`](crate::ErrorKind::UnexpectedOwner), and
    /// nothing is joined or replayed.
    pub fn join_group_expecting(
        &self,
        owner: &str,
        group: &str,
        replay: Replay,
        uid: u32,
    ) -> Result<()> {
        let (owner, group) = (Name::new(owner)?, Name::new(group)?);
        self.control()
            .join_group_expecting(owner, group, replay, uid)
    }

    /// Leaves group `group` of peer `owner`.
    pub fn leave_group(&self, owner: &str, group: &str) -> Result<()> {
        let (owner, group) = (Name::new(owner)?, Name::new(group)?);
        self.control().leave_group(owner, group)
    }

    /// Sends `payload` to the peer named `peer` and waits for the kernel's
    /// verdict. A full receive queue is
    /// [`ErrorKind::QueueFull`](crate::ErrorKind::QueueFull) (the message
    /// was not queued).
    pub fn send_unicast(&self, peer: &str, payload: &[u8]) -> Result<()> {
        let peer = PeerRef::Name(Name::new(peer)?);
        self.control().send_unicast(peer, payload)
    }

    /// Sends `payload` to the peer at `port` (e.g. a reply to an anonymous
    /// sender: [`Sender::port`](crate::Sender::port)).
    pub fn send_unicast_to_port(&self, port: u32, payload: &[u8]) -> Result<()> {
        self.control().send_unicast(PeerRef::Port(port), payload)
    }

    /// Sends `payload` to the peer named `peer` only if it belongs to user
    /// `uid` (e.g. 0 for a root service): a name taken by another user's peer
    /// is [`ErrorKind::UnexpectedOwner`](crate::ErrorKind::UnexpectedOwner)
    /// and gets nothing.
    pub fn send_unicast_expecting(&self, peer: &str, uid: u32, payload: &[u8]) -> Result<()> {
        let peer = PeerRef::Name(Name::new(peer)?);
        self.control().send_unicast_expecting(peer, uid, payload)
    }

    /// Sends `payload` to the peer at `port` only if it belongs to user `uid`:
    /// a reply by port that cannot reach another user who took the port.
    pub fn send_unicast_to_port_expecting(
        &self,
        port: u32,
        uid: u32,
        payload: &[u8],
    ) -> Result<()> {
        self.control()
            .send_unicast_expecting(PeerRef::Port(port), uid, payload)
    }

    /// Publishes `payload` to this peer's group `group` without waiting for
    /// the fan-out report.
    pub fn send_multicast(&self, group: &str, payload: &[u8]) -> Result<()> {
        let group = Name::new(group)?;
        self.control().send_multicast(group, payload)
    }

    /// Publishes `payload` to this peer's group `group` and reports how many
    /// subscribers got it and how many had a full queue.
    pub fn send_multicast_sync(&self, group: &str, payload: &[u8]) -> Result<MulticastReport> {
        let group = Name::new(group)?;
        self.control().send_multicast_sync(group, payload)
    }

    /// Posts `payload` to the peer named `peer`: ONE system call on the data
    /// socket, no waiting for the kernel's verdict. Success produces nothing;
    /// if the message was not queued (no such peer, its queue is full, the
    /// payload is too big, ...), a
    /// [`MessageKind::SendFailed`](crate::MessageKind::SendFailed) message
    /// with the returned ticket arrives on this handler's receive side,
    /// queued before this call returns, so it precedes anything received
    /// afterwards; [`Error::from_send_failed`] says why, as
    /// [`send_unicast`](Self::send_unicast) would have. A notice that cannot
    /// be queued (this peer's own queue is full) shows as `missed` in the
    /// next message instead: never lost silently.
    ///
    /// `Err` only when nothing was sent (a bad name, a payload over the
    /// protocol maximum, a failed `sendmsg`). No allocation; may be called
    /// while another thread blocks in [`receive`](Self::receive).
    pub fn post_unicast(&self, peer: &str, payload: &[u8]) -> Result<Ticket> {
        let peer = PeerRef::Name(Name::new(peer)?);
        self.control().post_unicast(peer, payload)
    }

    /// [`post_unicast`](Self::post_unicast) to the peer at `port`.
    pub fn post_unicast_to_port(&self, port: u32, payload: &[u8]) -> Result<Ticket> {
        self.control().post_unicast(PeerRef::Port(port), payload)
    }

    /// Posts `payload` to this peer's group `group`: ONE system call, no
    /// waiting (see [`post_unicast`](Self::post_unicast)). Full subscriber
    /// queues are not failures (the subscribers learn them as `missed`); a
    /// missing group or a too big payload comes back as a
    /// [`MessageKind::SendFailed`](crate::MessageKind::SendFailed) message.
    pub fn post_multicast(&self, group: &str, payload: &[u8]) -> Result<Ticket> {
        let group = Name::new(group)?;
        self.control().post_multicast(group, payload)
    }

    /// Sends every message of `batch` with ONE system call and waits for the
    /// kernel's verdict on each; the batch is emptied (its storage kept).
    ///
    /// The kernel handles the messages in batch order, so messages to one
    /// receiver arrive in that order. A failed message does not stop the
    /// later ones: [`BatchReport::failures`] names each failed message by
    /// its index, with the error its per-message call would have returned;
    /// every other message was queued.
    ///
    /// `Err` means no verdict per message: nothing was sent (e.g. the
    /// `sendmsg` failed), or the kernel's answers were lost
    /// ([`ErrorKind::Overrun`](crate::ErrorKind::Overrun)) or late
    /// ([`ErrorKind::Timeout`](crate::ErrorKind::Timeout)) and which
    /// messages were queued is unknown. No allocation unless a message
    /// failed.
    pub fn send_batch(&self, batch: &mut Batch) -> Result<BatchReport> {
        let mut failures = Vec::new();
        let sent = self.control().send_batch(batch, |index, error| {
            failures.push(BatchFailure { index, error })
        })?;
        Ok(BatchReport { sent, failures })
    }

    /// Receives the next message into `msg`, waiting as `wait` says
    /// ([`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock) for
    /// [`Wait::Never`] with nothing queued,
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when the time runs
    /// out). On error `msg` is left as it was.
    ///
    /// Datagrams not from the kernel or malformed are dropped and counted
    /// ([`Handler::stats`]); kernel events are checked for sequence gaps
    /// ([`Message::kevents_missed`]). No allocation. Receives of several
    /// threads take turns.
    pub fn receive(&self, msg: &mut Message, wait: Wait) -> Result<()> {
        self.receive_side().receiver.receive(msg, wait)
    }

    /// Fills up to `msgs.len()` messages with the queued deliveries, taking
    /// several datagrams per system call (`recvmmsg`); waits as `wait` says
    /// for the first message only. Returns how many of `msgs` were filled,
    /// in arrival order (at least 1; 0 only for an empty `msgs`).
    ///
    /// Each message is checked as by [`receive`](Self::receive). The
    /// handler's first `receive_many` allocates its 40 KiB of datagram
    /// storage, kept for the later ones.
    pub fn receive_many(&self, msgs: &mut [Message], wait: Wait) -> Result<usize> {
        let mut side = self.receive_side();
        let ReceiveSide { receiver, many } = &mut *side;
        let storage =
            many.get_or_insert_with(|| std::vec![0u8; RECEIVE_MANY_STORAGE].into_boxed_slice());
        receiver.receive_many(msgs, storage, wait)
    }

    /// Receives the next delivery and hands it, still in the receive buffer,
    /// to `route` (see [`Receiver::receive_with`]): calls and services route
    /// replies, requests and kernel events without a copy.
    pub(crate) fn receive_with<R>(
        &self,
        wait: Wait,
        route: impl FnMut(ipcon_core::machine::Received<'_>) -> Option<R>,
    ) -> Result<R> {
        self.receive_side().receiver.receive_with(wait, route)
    }

    /// [`post_unicast`](Self::post_unicast) to a peer by name or port.
    pub(crate) fn post_to(&self, to: PeerRef, payload: &[u8]) -> Result<Ticket> {
        self.control().post_unicast(to, payload)
    }

    /// Starts receiving kernel events
    /// ([`MessageKind::Kevent`](crate::MessageKind::Kevent)). Waits for a
    /// receive in progress in another thread (subscribe before, or with
    /// [`PeerOptions::kevents`]).
    pub fn subscribe_kevents(&self) -> Result<()> {
        self.receive_side().receiver.subscribe_kevents()
    }

    /// Stops receiving kernel events (some may still be queued).
    pub fn unsubscribe_kevents(&self) -> Result<()> {
        self.receive_side().receiver.unsubscribe_kevents()
    }

    /// What the receive side dropped (datagrams not from the kernel,
    /// malformed ones) and the kernel events it missed, since the handler was
    /// created. Waits for a receive in progress in another thread.
    pub fn stats(&self) -> InboxStats {
        self.receive_side().receiver.stats()
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        // Out of the signal handler's reach before the control socket is
        // closed (the control half unregisters the peer when dropped).
        termination::unwatch(self.termination.load(Ordering::Relaxed));
    }
}

/// The data socket, for `poll`/`epoll`: readable when a message is queued.
/// One datagram may carry several messages, and a receive takes one: once
/// the socket is readable, receive with [`Wait::Never`] until it says
/// `WouldBlock` before waiting again.
impl AsFd for Handler {
    fn as_fd(&self) -> BorrowedFd<'_> {
        crate::sys::borrow_fd(self, self.data_fd)
    }
}

impl AsRawFd for Handler {
    fn as_raw_fd(&self) -> RawFd {
        self.data_fd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handler_is_send_and_sync() {
        assert_send_sync::<Handler>();
        assert_send_sync::<Directory>();
    }

    #[test]
    fn without_the_module_creation_says_how_to_load_it() {
        // This host has generic netlink but no ipcon family.
        if Directory::open().is_ok() {
            return; // module present (inside the VM): nothing to check here
        }
        let err = Handler::new("host_test").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ModuleNotLoaded);
        assert!(err.to_string().contains("try: modprobe ipcon"), "{err}");
        assert_eq!(
            format!("{err:?}"),
            "open ipcon: ipcon kernel module not loaded (try: modprobe ipcon)"
        );
    }

    #[test]
    fn bad_names_fail_before_any_io() {
        assert_eq!(
            PeerOptions::named("a/b").unwrap_err().kind(),
            ErrorKind::InvalidName
        );
    }
}
