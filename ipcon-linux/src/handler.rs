//! The handler: one registered peer with its data socket (deliveries) and
//! its control socket (requests).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ipcon_core::spec::MAX_PAYLOAD_LEN;
use ipcon_core::wire::ipcon::{PeerRef, Reply, Request};
use ipcon_core::Name;

use crate::batch::{Batch, BatchFailure, BatchReport, MAX_BATCH_MESSAGES};
use crate::channel::Channel;
use crate::control::{open_request_socket, Control};
use crate::error::{Error, ErrorKind, Result};
use crate::info::{GroupInfo, JoinAccess, PeerInfo};
use crate::message::{Message, Ticket};
use crate::receiver::Receiver;
use crate::socket::{NetlinkSocket, Wait};
use crate::sys::NetlinkOption;

/// Default receive buffer of the data socket.
pub const DEFAULT_RECV_BUFFER: usize = 1024 * 1024;

/// Default time to wait for the kernel's answer to a request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// How to create a [`Handler`].
///
/// ```no_run
/// use ipcon_linux::HandlerOptions;
/// let handler = HandlerOptions::named("my_peer")?
///     .recv_buffer(4 << 20)
///     .kevents(true)
///     .open()?;
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct HandlerOptions {
    name: Option<Name>,
    recv_buffer: usize,
    request_timeout: Duration,
    kevents: bool,
}

impl HandlerOptions {
    /// Options for a peer named `name`.
    pub fn named(name: &str) -> Result<Self> {
        Ok(Self {
            name: Some(Name::new(name)?),
            ..Self::anonymous()
        })
    }

    /// Options for an anonymous peer (reachable by port only).
    pub fn anonymous() -> Self {
        Self {
            name: None,
            recv_buffer: DEFAULT_RECV_BUFFER,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            kevents: false,
        }
    }

    /// The data socket's receive buffer in bytes (`SO_RCVBUF`; a process
    /// with `CAP_NET_ADMIN` may exceed `net.core.rmem_max`).
    pub fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = bytes;
        self
    }

    /// How long a request waits for the kernel's answer.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Subscribe to kernel events from the start (before registering, so
    /// nothing after the handler exists is missed).
    pub fn kevents(mut self, subscribe: bool) -> Self {
        self.kevents = subscribe;
        self
    }

    /// Creates the handler.
    pub fn open(self) -> Result<Handler> {
        Handler::open(self)
    }
}

/// What a sync multicast reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MulticastReport {
    /// Subscribers the message was queued to.
    pub delivered: u32,
    /// Subscribers whose queue was full (they will learn it as `missed`).
    pub dropped: u32,
}

/// A peer of the ipcon network: register groups, join others' groups, send
/// and receive.
///
/// `Send + Sync`: share it with `Arc` and receive in one thread while others
/// send, join or leave: requests use their own socket and never wait behind
/// a blocked receive. Dropping it unregisters the peer (kernel events say
/// `unregistered`); a process that dies shows `closed`.
///
/// ```no_run
/// use ipcon_linux::{Handler, Message, MessageKind};
/// let handler = Handler::new("string_service")?;
/// handler.register_group("str_msg")?;
/// let mut msg = Message::new();
/// loop {
///     handler.receive(&mut msg)?;
///     if msg.kind() == MessageKind::Unicast {
///         handler.send_multicast("str_msg", msg.payload())?;
///     }
/// }
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
#[derive(Debug)]
pub struct Handler {
    data: Receiver,
    control: Control,
    name: Option<Name>,
    /// The last ticket handed out by a posted send.
    last_ticket: AtomicU32,
}

impl Handler {
    /// Registers a peer named `name`.
    pub fn new(name: &str) -> Result<Self> {
        HandlerOptions::named(name)?.open()
    }

    /// Registers an anonymous peer.
    pub fn anonymous() -> Result<Self> {
        HandlerOptions::anonymous().open()
    }

    fn open(options: HandlerOptions) -> Result<Self> {
        let control = Control::open(options.request_timeout)?;
        let family = control.family();

        let data = open_request_socket()?;
        data.set_option(NetlinkOption::NoEnobufs, 1)
            .map_err(|e| Error::from_io("set socket option", &e))?;
        data.set_recv_buffer(options.recv_buffer)
            .map_err(|e| Error::from_io("set receive buffer", &e))?;
        if options.kevents {
            join_kevents(&data, family.kevent_group)?;
        }

        // The data socket registers (its port becomes the peer's identity)...
        let mut registrar = Channel::new(data, options.request_timeout);
        let mut cookie = None;
        registrar.request(
            "register peer",
            family.id,
            &Request::PeerRegister { name: options.name },
            |reply| match reply {
                Reply::PeerRegistered(r) => {
                    cookie = Some(r.cookie);
                    Ok(())
                }
                _ => Err(Error::protocol("register peer")),
            },
        )?;
        let data = Receiver::new(registrar.into_socket(), family.id);
        let cookie = cookie.ok_or_else(|| Error::protocol("register peer"))?;

        // ... and the control socket attaches to it with the cookie.
        control.command("attach control socket", &Request::PeerAttach { cookie })?;

        Ok(Self {
            data,
            control,
            name: options.name,
            last_ticket: AtomicU32::new(0),
        })
    }

    /// Unregisters the peer now (its groups and memberships go, kernel
    /// events say `unregistered`); every later request fails with
    /// [`ErrorKind::NotRegistered`]. For a shutdown path (e.g. a signal
    /// handler thread) that cannot drop a shared handler; dropping does the
    /// same.
    pub fn unregister(&self) -> Result<()> {
        self.control
            .command("unregister peer", &Request::PeerUnregister)
    }

    /// The peer's name; `None` when anonymous.
    pub fn name(&self) -> Option<&Name> {
        self.name.as_ref()
    }

    /// The peer's port (its identity; the data socket's netlink port).
    pub fn port(&self) -> u32 {
        self.data.socket().port()
    }

    /// Registers a group owned by this peer, open to everyone.
    pub fn register_group(&self, group: &str) -> Result<()> {
        self.register_group_with(group, JoinAccess::Open)
    }

    /// Registers a group with restricted access.
    pub fn register_group_with(&self, group: &str, access: JoinAccess) -> Result<()> {
        let group = Name::new(group)?;
        let (access, gid) = access.to_wire();
        self.control.command(
            "register group",
            &Request::GroupRegister { group, access, gid },
        )
    }

    /// Unregisters one of this peer's groups; its subscribers are dropped.
    pub fn unregister_group(&self, group: &str) -> Result<()> {
        let group = Name::new(group)?;
        self.control
            .command("unregister group", &Request::GroupUnregister { group })
    }

    /// Joins group `group` of peer `owner`. With `replay`, the group's last
    /// message is queued to this peer before this call returns, ahead of
    /// any newer message of the group.
    pub fn join_group(&self, owner: &str, group: &str, replay: bool) -> Result<()> {
        let owner = Name::new(owner)?;
        let group = Name::new(group)?;
        self.control.command(
            "join group",
            &Request::GroupJoin {
                owner,
                group,
                replay_last: replay,
            },
        )
    }

    /// Leaves group `group` of peer `owner`.
    pub fn leave_group(&self, owner: &str, group: &str) -> Result<()> {
        let owner = Name::new(owner)?;
        let group = Name::new(group)?;
        self.control
            .command("leave group", &Request::GroupLeave { owner, group })
    }

    /// Sends `payload` to the peer named `peer`. A full receive queue is
    /// [`ErrorKind::QueueFull`] (the message was not queued).
    pub fn send_unicast(&self, peer: &str, payload: &[u8]) -> Result<()> {
        let peer = Name::new(peer)?;
        check_payload("send unicast", payload)?;
        self.control
            .command(
                "send unicast",
                &Request::Unicast {
                    to: PeerRef::Name(peer),
                    payload,
                },
            )
            .map_err(unicast_error)
    }

    /// Sends `payload` to the peer at `port` (e.g. to reply to an anonymous
    /// sender, [`Sender::port`](crate::Sender::port)).
    pub fn send_unicast_to_port(&self, port: u32, payload: &[u8]) -> Result<()> {
        check_payload("send unicast", payload)?;
        self.control
            .command(
                "send unicast",
                &Request::Unicast {
                    to: PeerRef::Port(port),
                    payload,
                },
            )
            .map_err(unicast_error)
    }

    /// Publishes `payload` to this peer's group `group` without waiting for
    /// the fan-out report.
    pub fn send_multicast(&self, group: &str, payload: &[u8]) -> Result<()> {
        let group = Name::new(group)?;
        check_payload("send multicast", payload)?;
        self.control.command(
            "send multicast",
            &Request::Multicast {
                group,
                payload,
                sync: false,
            },
        )
    }

    /// Publishes `payload` to this peer's group `group` and reports how many
    /// subscribers got it and how many had a full queue.
    pub fn send_multicast_sync(&self, group: &str, payload: &[u8]) -> Result<MulticastReport> {
        let group = Name::new(group)?;
        check_payload("send multicast", payload)?;
        let mut report = None;
        self.control.request(
            "send multicast",
            &Request::Multicast {
                group,
                payload,
                sync: true,
            },
            |reply| match reply {
                Reply::Multicast(outcome) => {
                    report = Some(MulticastReport {
                        delivered: outcome.delivered,
                        dropped: outcome.dropped,
                    });
                    Ok(())
                }
                _ => Err(Error::protocol("send multicast")),
            },
        )?;
        report.ok_or_else(|| Error::protocol("send multicast"))
    }

    /// Posts `payload` to the peer named `peer`: ONE system call on the data
    /// socket, no waiting for the kernel's verdict. Success produces nothing;
    /// if the message was not queued (no such peer, its queue is full, the
    /// payload is too big, ...), a [`MessageKind::SendFailed`](crate::MessageKind::SendFailed)
    /// message with the returned ticket arrives on this handler's receive
    /// side, queued before this call returns, so it precedes anything
    /// received afterwards. [`Message::send_error`] says why, as
    /// [`send_unicast`](Self::send_unicast) would have. A notice that cannot
    /// be queued (this peer's own queue is full) shows as `missed` in the
    /// next message instead: never lost silently.
    ///
    /// `Err` only when nothing was sent (a bad name, a payload over the
    /// protocol maximum, a failed `sendmsg`). No heap allocation (but a
    /// thread's first post allocates its 2 KiB send buffer); may be
    /// called while another thread blocks in [`receive`](Self::receive).
    pub fn post_unicast(&self, peer: &str, payload: &[u8]) -> Result<Ticket> {
        let peer = Name::new(peer)?;
        self.post_unicast_ref(PeerRef::Name(peer), payload)
    }

    /// [`post_unicast`](Self::post_unicast) to the peer at `port`.
    pub fn post_unicast_to_port(&self, port: u32, payload: &[u8]) -> Result<Ticket> {
        self.post_unicast_ref(PeerRef::Port(port), payload)
    }

    fn post_unicast_ref(&self, to: PeerRef, payload: &[u8]) -> Result<Ticket> {
        const OPERATION: &str = "post unicast";
        check_payload(OPERATION, payload)?;
        let ticket = self.next_ticket();
        self.data.post(
            OPERATION,
            &Request::PostUnicast {
                to,
                payload,
                ticket: ticket.get(),
            },
        )?;
        Ok(ticket)
    }

    /// Posts `payload` to this peer's group `group`: ONE system call, no
    /// waiting (see [`post_unicast`](Self::post_unicast)). Full subscriber
    /// queues are not failures (the subscribers learn them as `missed`); a
    /// missing group or a too big payload comes back as a
    /// [`MessageKind::SendFailed`](crate::MessageKind::SendFailed) message.
    pub fn post_multicast(&self, group: &str, payload: &[u8]) -> Result<Ticket> {
        const OPERATION: &str = "post multicast";
        let group = Name::new(group)?;
        check_payload(OPERATION, payload)?;
        let ticket = self.next_ticket();
        self.data.post(
            OPERATION,
            &Request::PostMulticast {
                group,
                payload,
                ticket: ticket.get(),
            },
        )?;
        Ok(ticket)
    }

    fn next_ticket(&self) -> Ticket {
        next_ticket(&self.last_ticket)
    }

    /// Sends every message of `batch` with ONE system call and waits for the
    /// kernel's verdict on each; the batch is emptied (its buffer kept).
    ///
    /// The kernel handles the messages in batch order, so messages to one
    /// receiver arrive in that order. A failed message does not stop the
    /// later ones: [`BatchReport::failures`] names each failed message by
    /// its index, with the error its per-message call
    /// ([`send_unicast`](Self::send_unicast), [`send_multicast`](Self::send_multicast))
    /// would have returned, e.g. [`ErrorKind::QueueFull`] for a unicast to a
    /// full queue or [`ErrorKind::NotFound`] for an unknown peer; every
    /// other message was queued.
    ///
    /// `Err` means no verdict per message: nothing was sent (e.g. the
    /// `sendmsg` failed), or the kernel's answers were lost
    /// ([`ErrorKind::Overrun`]) or late ([`ErrorKind::Timeout`]) and which
    /// messages were queued is unknown. No heap allocation unless a message
    /// failed.
    pub fn send_batch(&self, batch: &mut Batch) -> Result<BatchReport> {
        let unicasts = batch.unicast_mask();
        let (encoded, count) = batch.encoded_mut();
        let mut failures = Vec::new();
        let outcome = self
            .control
            .batch("send batch", encoded, count, |index, errno, text| {
                let unicast = index < MAX_BATCH_MESSAGES && unicasts & (1 << index) != 0;
                let error = if unicast {
                    unicast_error(Error::from_errno("send unicast", errno))
                } else {
                    Error::from_errno("send multicast", errno)
                };
                failures.push(BatchFailure {
                    index,
                    error: error.with_kernel_message(text),
                });
            });
        // Sent or not, the batch is done with: sending it again could
        // deliver its messages twice.
        batch.clear();
        outcome?;
        Ok(BatchReport {
            sent: count,
            failures,
        })
    }

    /// Fills up to `msgs.len()` messages with the queued deliveries, taking
    /// several datagrams per system call (`recvmmsg`); waits as `wait` says
    /// for the first message only. Returns how many of `msgs` were filled,
    /// in arrival order (at least 1; 0 only for an empty `msgs`).
    ///
    /// Each message is checked as by [`receive_with`](Self::receive_with):
    /// datagrams not from the kernel or malformed are dropped and counted,
    /// kernel events are checked for sequence gaps. No heap allocation
    /// (but a thread's first `receive_many` allocates its 40 KiB buffer).
    pub fn receive_many(&self, msgs: &mut [Message], wait: Wait) -> Result<usize> {
        self.data.receive_many(msgs, wait)
    }

    /// Whether a peer named `peer` is registered.
    pub fn is_peer_present(&self, peer: &str) -> Result<bool> {
        match self.peer_info(peer) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Describes the peer named `peer` ([`ErrorKind::NotFound`] if absent).
    pub fn peer_info(&self, peer: &str) -> Result<PeerInfo> {
        self.control.peer(PeerRef::Name(Name::new(peer)?))
    }

    /// Describes the peer at `port`.
    pub fn peer_info_by_port(&self, port: u32) -> Result<PeerInfo> {
        self.control.peer(PeerRef::Port(port))
    }

    /// Describes group `group` of `owner`, or `None` if there is no such
    /// group.
    pub fn find_group(&self, owner: &str, group: &str) -> Result<Option<GroupInfo>> {
        match self.control.group(Name::new(owner)?, Name::new(group)?) {
            Ok(g) => Ok(Some(g)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists every peer of the network namespace.
    pub fn peers(&self) -> Result<Vec<PeerInfo>> {
        let mut all = Vec::new();
        self.control.each_peer(|p| all.push(*p))?;
        Ok(all)
    }

    /// Lists every group (of `owner` only, if given).
    pub fn groups(&self, owner: Option<&str>) -> Result<Vec<GroupInfo>> {
        let owner = owner.map(Name::new).transpose()?;
        let mut all = Vec::new();
        self.control.each_group(owner, |g| all.push(*g))?;
        Ok(all)
    }

    /// Starts receiving kernel events ([`MessageKind::Kevent`](crate::MessageKind::Kevent)).
    pub fn subscribe_kevents(&self) -> Result<()> {
        self.data.reset_kevent_seq();
        join_kevents(self.data.socket(), self.control.family().kevent_group)
    }

    /// Stops receiving kernel events (some may still be queued).
    pub fn unsubscribe_kevents(&self) -> Result<()> {
        let group = self.control.family().kevent_group;
        self.data
            .socket()
            .set_option(NetlinkOption::DropMembership, group)
            .map_err(|e| Error::from_io("unsubscribe kernel events", &e))
    }

    /// Waits for the next message and fills `msg` with it.
    pub fn receive(&self, msg: &mut Message) -> Result<()> {
        self.receive_with(msg, Wait::Forever)
    }

    /// Fills `msg` with a queued message, or fails with
    /// [`ErrorKind::WouldBlock`] at once.
    pub fn try_receive(&self, msg: &mut Message) -> Result<()> {
        self.receive_with(msg, Wait::Never)
    }

    /// Waits at most `timeout` ([`ErrorKind::Timeout`] then).
    pub fn receive_timeout(&self, msg: &mut Message, timeout: Duration) -> Result<()> {
        self.receive_with(msg, Wait::Timeout(timeout))
    }

    /// Receives as `wait` says. Datagrams not from the kernel are dropped
    /// and counted ([`Handler::foreign_dropped`]); no heap allocation (but
    /// a thread's first receive allocates its 2.5 KiB receive buffer, kept
    /// for the thread's later ones: cheaper than clearing a stack buffer on
    /// every call).
    pub fn receive_with(&self, msg: &mut Message, wait: Wait) -> Result<()> {
        self.data.receive(msg, wait).map(drop)
    }

    /// Kernel events lost (sequence gaps) since the handler subscribed.
    pub fn kevents_missed(&self) -> u64 {
        self.data.kevents_missed()
    }

    /// Datagrams dropped because they did not come from the kernel.
    pub fn foreign_dropped(&self) -> u64 {
        self.data.foreign_dropped()
    }

    /// Datagrams dropped because they did not parse.
    pub fn malformed_dropped(&self) -> u64 {
        self.data.malformed_dropped()
    }
}

pub(crate) fn join_kevents(data: &NetlinkSocket, group: u32) -> Result<()> {
    data.set_option(NetlinkOption::AddMembership, group)
        .map_err(|e| Error::from_io("subscribe kernel events", &e))
}

/// The ticket after `last`'s: nonzero, counting up and wrapping.
fn next_ticket(last: &AtomicU32) -> Ticket {
    loop {
        let ticket = last.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        if ticket != 0 {
            return Ticket::new(ticket);
        }
    }
}

fn check_payload(operation: &'static str, payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::new(operation, ErrorKind::TooBig));
    }
    Ok(())
}

/// For unicast, `EAGAIN` means the receiver's queue is full.
fn unicast_error(err: Error) -> Error {
    if err.errno() == Some(libc::EAGAIN) {
        err.with_kind(ErrorKind::QueueFull)
    } else {
        err
    }
}

impl Drop for Handler {
    fn drop(&mut self) {
        // Best effort: so kernel events say "unregistered", not "closed".
        let _ = self
            .control
            .command("unregister peer", &Request::PeerUnregister);
    }
}

/// The data socket, for `poll`/`epoll`: readable when a message is queued.
impl AsFd for Handler {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.data.socket().as_fd()
    }
}

impl AsRawFd for Handler {
    fn as_raw_fd(&self) -> RawFd {
        self.data.socket().as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handler_is_send_and_sync() {
        assert_send_sync::<Handler>();
    }

    #[test]
    fn without_the_module_creation_says_how_to_load_it() {
        // This host has generic netlink but no ipcon family.
        if crate::Directory::open().is_ok() {
            return; // module present (inside the VM): nothing to check here
        }
        let err = Handler::new("host_test").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ModuleNotLoaded);
        assert!(err.to_string().contains("try: modprobe ipcon"), "{err}");
    }

    #[test]
    fn tickets_count_up_and_skip_zero_when_wrapping() {
        let last = AtomicU32::new(0);
        assert_eq!(next_ticket(&last).get(), 1);
        assert_eq!(next_ticket(&last).get(), 2);
        let last = AtomicU32::new(u32::MAX - 1);
        assert_eq!(next_ticket(&last).get(), u32::MAX);
        assert_eq!(next_ticket(&last).get(), 1);
    }

    #[test]
    fn bad_names_fail_before_any_io() {
        assert_eq!(
            HandlerOptions::named("a/b").unwrap_err().kind(),
            ErrorKind::InvalidName
        );
    }
}
