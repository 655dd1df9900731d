//! The send/control half of a peer: the control socket (requests and their
//! answers), a second descriptor of the data socket (posted sends, so that
//! their failures come back where the peer receives), the resolved family
//! and the peer's session (ipcon-core's [`PeerSession`]).
//!
//! Every method takes `&mut self`: one caller at a time, no lock inside. The
//! receive/data half ([`Receiver`](crate::engine::Receiver)) is a separate
//! value, so one thread may receive while another sends.

use core::time::Duration;

use ipcon_core::machine::{Family, PeerEvent, PeerSession, PeerState};
use ipcon_core::spec::{GroupAccess, MAX_PAYLOAD_LEN};
use ipcon_core::wire::ipcon::{GroupInfo, MulticastOutcome, PeerInfo, PeerRef, Reply, Request};
use ipcon_core::{Name, Ticket};
use linux_raw_sys::errno as e;

use crate::batch::Batch;
use crate::clock::{Clock, MonotonicClock};
use crate::error::{Error, ErrorKind, Result};
use crate::exchange::Exchange;
use crate::socket::NetlinkSocket;

/// What a sync multicast reports: subscribers the message was queued to
/// (`delivered`) and those whose queue was full (`dropped`; they learn it as
/// `missed`).
pub type MulticastReport = MulticastOutcome<'static>;

/// Whether joining a group first replays the group's last message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Replay {
    /// Only messages published after the join arrive.
    #[default]
    Skip,
    /// The group's last message (if it has one) is queued to the new member
    /// before the join returns, ahead of any newer message of the group,
    /// marked as replayed.
    LastMessage,
}

/// The send/control half of a peer, or a directory's only half (look-ups
/// need no peer).
#[derive(Debug)]
pub struct Control<C: Clock = MonotonicClock> {
    socket: NetlinkSocket,
    /// The peer's data socket (another descriptor of it): posts go out on it.
    data: Option<NetlinkSocket>,
    family: Family,
    session: PeerSession,
    last_ticket: Option<Ticket>,
    exchange: Exchange,
    clock: C,
}

/// Socket buffers of the control socket, asked for in bytes (the kernel
/// doubles the value for its bookkeeping and caps it at `wmem_max`/`rmem_max`
/// times two unless `SO_*BUFFORCE` is allowed). Sending: a full batch
/// (`MAX_BATCH_BYTES`) must fit, as netlink rejects datagrams larger than the
/// send buffer. Receiving: the error answers to a full batch, one small
/// datagram each (`NETLINK_CAP_ACK`: they do not echo the request), must
/// fit, or the kernel drops them (`ENOBUFS`). The defaults (`wmem_default`,
/// `rmem_default`) are only ~108 KiB on 32-bit kernels.
const CONTROL_SEND_BUFFER: usize = crate::batch::MAX_BATCH_BYTES + 32 * 1024;
const CONTROL_RECV_BUFFER: usize = 128 * 1024;

/// The control socket, connected to the kernel, with the options of every
/// request socket.
fn open_control_socket() -> Result<NetlinkSocket> {
    let mut socket = NetlinkSocket::open_for_requests()?;
    socket
        .connect_to_kernel()
        .map_err(|e| Error::from_os("connect socket", e))?;
    socket
        .set_send_buffer(CONTROL_SEND_BUFFER)
        .map_err(|e| Error::from_os("set send buffer", e))?;
    socket
        .set_recv_buffer(CONTROL_RECV_BUFFER)
        .map_err(|e| Error::from_os("set receive buffer", e))?;
    Ok(socket)
}

/// `EAGAIN` on a unicast means the receiver's queue is full.
/// `EPERM` to a request with `expect-uid`: the peer is another user's.
fn expectation_error(err: Error) -> Error {
    if err.errno() == Some(e::EPERM as i32) {
        err.with_kind(ErrorKind::UnexpectedOwner)
    } else {
        err
    }
}

/// One rule of a namespace's ownership policy (see [`Control::load_policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyRule {
    /// The peer names the rule applies to (`*`: any run of characters, `?`: one).
    pub pattern: Name,
    /// The user the names are reserved for, as the namespace's user namespace maps uids.
    pub uid: Option<u32>,
    /// The group whose members the names are reserved for.
    pub gid: Option<u32>,
}

fn unicast_error(err: Error) -> Error {
    match err.errno().and_then(|errno| u32::try_from(errno).ok()) {
        Some(e::EAGAIN) => err.with_kind(ErrorKind::QueueFull),
        // Only a pack is refused so: its receiver did not register packed.
        Some(e::EOPNOTSUPP) => err.with_kind(ErrorKind::NotPacked),
        _ => err,
    }
}

/// A peer request once the session is over: refused without a system call,
/// with the errno the kernel would answer (`ENOTCONN`).
fn not_registered(operation: &'static str) -> Error {
    Error::from_errno(operation, e::ENOTCONN as i32)
}

fn check_payload(operation: &'static str, payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(Error::new(operation, ErrorKind::TooBig));
    }
    Ok(())
}

fn owned_peer(p: &PeerInfo<'_>) -> PeerInfo<'static> {
    PeerInfo {
        peer: p.peer,
        tx_msgs: p.tx_msgs,
        rx_msgs: p.rx_msgs,
        rx_dropped: p.rx_dropped,
        groups: p.groups,
        _borrow: core::marker::PhantomData,
    }
}

fn owned_group(g: &GroupInfo<'_>) -> GroupInfo<'static> {
    GroupInfo {
        owner: g.owner,
        owner_port: g.owner_port,
        group: g.group,
        access: g.access,
        gid: g.gid,
        subscribers: g.subscribers,
        tx_msgs: g.tx_msgs,
        last_msg_len: g.last_msg_len,
        _borrow: core::marker::PhantomData,
    }
}

impl<C: Clock> Control<C> {
    /// A control half that registers nothing: look-ups and dumps only
    /// (peer operations fail with [`ErrorKind::NotRegistered`]). Requests
    /// wait at most `timeout` for the kernel's answer.
    pub fn directory(timeout: Duration, clock: C) -> Result<Self> {
        let socket = open_control_socket()?;
        let mut exchange = Exchange::new(timeout);
        let family = exchange.resolve_family(&socket, &clock, "open ipcon")?;
        Ok(Self {
            socket,
            data: None,
            family,
            session: PeerSession::new(),
            last_ticket: None,
            exchange,
            clock,
        })
    }

    /// Registers a peer on `data` and attaches this half's control socket to
    /// it (docs/protocol.md, "Sockets and identity"), driving ipcon-core's
    /// [`PeerSession`].
    pub(crate) fn register(
        &mut self,
        name: Option<Name>,
        senders: Option<(GroupAccess, Option<u32>)>,
        data: &NetlinkSocket,
    ) -> Result<()> {
        const OPERATION: &str = "register peer";
        let request = match senders {
            Some((access, gid)) => Request::PeerRegisterRestricted { name, access, gid },
            None => Request::PeerRegister { name },
        };
        let mut registered = None;
        let family = self.family.id;
        let result =
            self.exchange
                .request(
                    data,
                    &self.clock,
                    OPERATION,
                    family,
                    &request,
                    |reply| match reply {
                        Reply::PeerRegistered(r) => {
                            registered = Some(PeerEvent::Registered {
                                name: r.name,
                                port: r.port,
                                cookie: r.cookie,
                            });
                            Ok(())
                        }
                        _ => Err(Error::protocol(OPERATION)),
                    },
                );
        result
            .map_err(|e| self.explain(OPERATION, e))
            .map_err(|e| match name {
                Some(name) => e.about_peer(PeerRef::Name(name)),
                None => e,
            })?;
        let registered =
            registered.ok_or_else(|| Error::protocol(OPERATION).with_text("no register reply"))?;
        self.session
            .apply(registered)
            .map_err(|_| Error::protocol(OPERATION))?;
        let cookie = self.session.cookie().unwrap_or(0);
        self.request(
            "attach control socket",
            &Request::PeerAttach { cookie },
            |_| Ok(()),
        )?;
        let control_port = self.socket.port();
        self.session
            .apply(PeerEvent::Attached { control_port })
            .map_err(|_| Error::protocol("attach control socket"))?;
        self.data = Some(
            data.duplicate()
                .map_err(|e| Error::from_os("duplicate data socket", e))?,
        );
        Ok(())
    }

    /// The resolved family: its id and the kernel event group's.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The peer's name; `None` when anonymous or not a peer.
    pub fn name(&self) -> Option<Name> {
        self.session.name()
    }

    /// The peer's port (its identity: the data socket's netlink port); `None`
    /// for a directory, or once unregistered.
    pub fn port(&self) -> Option<u32> {
        self.session.port()
    }

    /// Where the peer's session is (ipcon-core's [`PeerState`]).
    pub fn state(&self) -> PeerState {
        self.session.state()
    }

    /// The clock this half waits with.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Sends `request` and hands each reply to `on_reply`; explains a bare
    /// `ENOENT` (module gone or reloaded) and notes a peer the kernel no
    /// longer knows (`ENOTCONN`).
    fn request(
        &mut self,
        operation: &'static str,
        request: &Request<'_>,
        on_reply: impl FnMut(&Reply<'_>) -> Result<()>,
    ) -> Result<()> {
        let family = self.family.id;
        let result = self.exchange.request(
            &self.socket,
            &self.clock,
            operation,
            family,
            request,
            on_reply,
        );
        result.map_err(|err| self.explain(operation, err))
    }

    /// A request only a registered peer may make: refused at once once the
    /// session is over.
    fn peer_request(
        &mut self,
        operation: &'static str,
        request: &Request<'_>,
        on_reply: impl FnMut(&Reply<'_>) -> Result<()>,
    ) -> Result<()> {
        if !self.session.is_active() {
            return Err(not_registered(operation));
        }
        self.request(operation, request, on_reply)
    }

    /// Generic netlink answers a request for a family id it does not know
    /// with a bare `ENOENT` (the module explains each of its own `ENOENT`s
    /// with an extended-ACK text): then the module was unloaded, or reloaded
    /// under another id, and the error says which. `ENOTCONN` means the
    /// kernel no longer knows the peer: the session is over.
    fn explain(&mut self, operation: &'static str, err: Error) -> Error {
        if err.errno() == Some(e::ENOTCONN as i32) {
            let _ = self.session.apply(PeerEvent::Closed);
            return err;
        }
        if err.errno() != Some(e::ENOENT as i32) || err.kernel_message().is_some() {
            return err;
        }
        let now = self
            .exchange
            .resolve_family(&self.socket, &self.clock, operation);
        match now {
            Ok(family) if family.id == self.family.id => err,
            Ok(_) => {
                let _ = self.session.apply(PeerEvent::Closed);
                Error::new(operation, ErrorKind::ModuleReloaded)
            }
            Err(e) if e.kind() == ErrorKind::ModuleNotLoaded => {
                let _ = self.session.apply(PeerEvent::Closed);
                Error::new(operation, ErrorKind::ModuleNotLoaded)
            }
            Err(_) => err,
        }
    }

    /// Unregisters the peer now (its groups and memberships go, kernel
    /// events say `unregistered`); every later peer request fails with
    /// [`ErrorKind::NotRegistered`] without a system call.
    pub fn unregister(&mut self) -> Result<()> {
        let result = self.peer_request("unregister peer", &Request::PeerUnregister, |_| Ok(()));
        let _ = self.session.apply(PeerEvent::Closed);
        result
    }

    /// Registers group `group` owned by this peer; `access` restricts who
    /// may join (`None`: the kernel's default, open to everyone), `gid` is
    /// the group id [`GroupAccess::Gid`] admits.
    pub fn register_group(
        &mut self,
        group: Name,
        access: Option<GroupAccess>,
        gid: Option<u32>,
    ) -> Result<()> {
        self.peer_request(
            "register group",
            &Request::GroupRegister { group, access, gid },
            |_| Ok(()),
        )
        .map_err(|e| e.about_group(None, group))
    }

    /// Unregisters one of this peer's groups; its subscribers are dropped.
    pub fn unregister_group(&mut self, group: Name) -> Result<()> {
        self.peer_request(
            "unregister group",
            &Request::GroupUnregister { group },
            |_| Ok(()),
        )
        .map_err(|e| e.about_group(None, group))
    }

    /// Joins group `group` of peer `owner`.
    pub fn join_group(&mut self, owner: Name, group: Name, replay: Replay) -> Result<()> {
        let request = Request::GroupJoin {
            owner,
            group,
            replay_last: replay == Replay::LastMessage,
        };
        self.peer_request("join group", &request, |_| Ok(()))
            .map_err(|e| e.about_group(Some(owner), group))
    }

    /// [`Control::join_group`] only if `owner` belongs to user `uid` (as
    /// stamps give uids): another user's peer under that name is
    /// [`ErrorKind::UnexpectedOwner`], and nothing is joined or replayed.
    pub fn join_group_expecting(
        &mut self,
        owner: Name,
        group: Name,
        replay: Replay,
        uid: u32,
    ) -> Result<()> {
        let request = Request::GroupJoinExpecting {
            owner,
            group,
            replay_last: replay == Replay::LastMessage,
            uid,
        };
        self.peer_request("join group", &request, |_| Ok(()))
            .map_err(|e| expectation_error(e).about_group(Some(owner), group))
    }

    /// Leaves group `group` of peer `owner`.
    pub fn leave_group(&mut self, owner: Name, group: Name) -> Result<()> {
        self.peer_request("leave group", &Request::GroupLeave { owner, group }, |_| {
            Ok(())
        })
        .map_err(|e| e.about_group(Some(owner), group))
    }

    /// Sends `payload` to peer `to` and waits for the kernel's verdict. A
    /// full receive queue is [`ErrorKind::QueueFull`] (the message was not
    /// queued).
    pub fn send_unicast(&mut self, to: PeerRef, payload: &[u8]) -> Result<()> {
        const OPERATION: &str = "send unicast";
        check_payload(OPERATION, payload)
            .and_then(|()| {
                self.peer_request(OPERATION, &Request::Unicast { to, payload }, |_| Ok(()))
            })
            .map_err(|e| unicast_error(e).about_peer(to))
    }

    /// [`Control::send_unicast`] delivered only if the receiver belongs to
    /// user `uid` (as stamps give uids): a name or port held by another user's
    /// peer is [`ErrorKind::UnexpectedOwner`] and gets nothing. The kernel
    /// checks it with the look-up, so a name that changed hands is caught too.
    pub fn send_unicast_expecting(&mut self, to: PeerRef, uid: u32, payload: &[u8]) -> Result<()> {
        const OPERATION: &str = "send unicast";
        let request = Request::UnicastExpecting { to, payload, uid };
        check_payload(OPERATION, payload)
            .and_then(|()| self.peer_request(OPERATION, &request, |_| Ok(())))
            .map_err(|e| expectation_error(unicast_error(e)).about_peer(to))
    }

    /// Loads the network namespace's ownership policy (needs `CAP_NET_ADMIN`
    /// in its user namespace, else [`ErrorKind::PermissionDenied`]): the
    /// names each rule's pattern matches may be registered only by its uid,
    /// the members of its gid, either, or (neither given) anyone; the first
    /// matching rule decides, unmatched names are free. The kernel replaces
    /// the old policy with the last rule, so a reload leaves no gap; no rules
    /// remove the policy. At most [`ipcon_core::spec::MAX_POLICY_RULES`].
    /// Needs no registered peer.
    pub fn load_policy(&mut self, rules: &[PolicyRule]) -> Result<()> {
        const OPERATION: &str = "load policy";
        if rules.is_empty() {
            return self.request(OPERATION, &Request::PolicyClear, |_| Ok(()));
        }
        let count = u32::try_from(rules.len())
            .ok()
            .filter(|&n| n as usize <= ipcon_core::spec::MAX_POLICY_RULES)
            .ok_or_else(|| {
                Error::new(OPERATION, ErrorKind::LimitReached).with_text("more than 256 rules")
            })?;
        for (index, rule) in (0..count).zip(rules) {
            let request = Request::PolicyRule {
                count,
                index,
                pattern: rule.pattern,
                uid: rule.uid,
                gid: rule.gid,
            };
            self.request(OPERATION, &request, |_| Ok(()))?;
        }
        Ok(())
    }

    /// Publishes `payload` to this peer's group `group`, without the fan-out
    /// report.
    pub fn send_multicast(&mut self, group: Name, payload: &[u8]) -> Result<()> {
        const OPERATION: &str = "send multicast";
        let request = Request::Multicast {
            group,
            payload,
            sync: false,
        };
        check_payload(OPERATION, payload)
            .and_then(|()| self.peer_request(OPERATION, &request, |_| Ok(())))
            .map_err(|e| e.about_group(None, group))
    }

    /// Publishes `payload` to this peer's group `group` and reports how many
    /// subscribers got it and how many had a full queue.
    pub fn send_multicast_sync(&mut self, group: Name, payload: &[u8]) -> Result<MulticastReport> {
        const OPERATION: &str = "send multicast";
        let request = Request::Multicast {
            group,
            payload,
            sync: true,
        };
        let mut report = None;
        check_payload(OPERATION, payload)
            .and_then(|()| {
                self.peer_request(OPERATION, &request, |reply| match reply {
                    Reply::Multicast(outcome) => {
                        report = Some(MulticastOutcome::new(outcome.delivered, outcome.dropped));
                        Ok(())
                    }
                    _ => Err(Error::protocol(OPERATION)),
                })
            })
            .and_then(|()| report.ok_or_else(|| Error::protocol(OPERATION)))
            .map_err(|e| e.about_group(None, group))
    }

    /// Posts `payload` to peer `to`: ONE system call on the data socket, no
    /// waiting for the kernel's verdict. Success produces nothing; if the
    /// message was not queued, a `SendFailed` message with the returned
    /// ticket arrives on the receive half, queued before this call returns.
    /// `Err` only when nothing was sent.
    pub fn post_unicast(&mut self, to: PeerRef, payload: &[u8]) -> Result<Ticket> {
        self.post("post unicast", |ticket| Request::PostUnicast {
            to,
            payload,
            ticket,
        })
        .map_err(|e| e.about_peer(to))
    }

    /// Posts `payload` to this peer's group `group` (see
    /// [`Control::post_unicast`]). Full subscriber queues are not failures
    /// (the subscribers learn them as `missed`).
    pub fn post_multicast(&mut self, group: Name, payload: &[u8]) -> Result<Ticket> {
        self.post("post multicast", |ticket| Request::PostMulticast {
            group,
            payload,
            ticket,
        })
        .map_err(|e| e.about_group(None, group))
    }

    fn post<'p>(
        &mut self,
        operation: &'static str,
        request: impl FnOnce(u32) -> Request<'p>,
    ) -> Result<Ticket> {
        let Some(data) = self.data.as_ref().filter(|_| self.session.is_active()) else {
            return Err(not_registered(operation));
        };
        let ticket = Ticket::after(self.last_ticket);
        let request = request(ticket.get());
        let buf = self.exchange.request_buffer();
        let len = request
            .emit(&request.header(self.family.id, ticket.get(), 0), buf)
            .map_err(|e| Error::from_wire(operation, e))?;
        data.send(&buf[..len])
            .map_err(|e| Error::from_os(operation, e))?;
        self.last_ticket = Some(ticket);
        Ok(ticket)
    }

    /// Sends every message of `batch` with ONE system call and waits for the
    /// kernel's verdict on each; the batch is emptied (its storage kept),
    /// sent or not: sending it again could deliver its messages twice.
    /// `on_failure(index, error)` is called for each message that failed,
    /// in batch order, with the error its per-message call would have
    /// returned; every other message was queued. Returns how many messages
    /// were sent.
    ///
    /// `Err` means no verdict per message: nothing was sent, or the kernel's
    /// answers were lost ([`ErrorKind::Overrun`]) or late
    /// ([`ErrorKind::Timeout`]).
    pub fn send_batch<B: AsRef<[u8]> + AsMut<[u8]>>(
        &mut self,
        batch: &mut Batch<B>,
        mut on_failure: impl FnMut(usize, Error),
    ) -> Result<usize> {
        const OPERATION: &str = "send batch";
        if !self.session.is_active() {
            batch.clear();
            return Err(not_registered(OPERATION));
        }
        let count = batch.len();
        let layout = batch.layout();
        let (encoded, requests) = batch.encoded_mut();
        let family = self.family.id;
        let outcome = self.exchange.request_batch(
            &self.socket,
            &self.clock,
            OPERATION,
            family,
            encoded,
            requests,
            |request, errno, text| {
                let error = if layout.is_unicast(request) {
                    unicast_error(Error::from_errno("send unicast", errno))
                } else {
                    Error::from_errno("send multicast", errno)
                };
                let error = error.with_kernel_message(text);
                // Every message of a failed request (a pack: all of them).
                for index in layout.messages_of(request) {
                    on_failure(index, error.clone());
                }
            },
        );
        batch.clear();
        outcome.map_err(|err| self.explain(OPERATION, err))?;
        Ok(count)
    }

    /// Describes peer `peer` ([`ErrorKind::NotFound`] if there is none).
    pub fn peer(&mut self, peer: PeerRef) -> Result<PeerInfo<'static>> {
        const OPERATION: &str = "look up peer";
        let mut found = None;
        self.request(OPERATION, &Request::PeerGet { peer }, |reply| match reply {
            Reply::Peer(p) => {
                found = Some(owned_peer(p));
                Ok(())
            }
            _ => Err(Error::protocol(OPERATION)),
        })
        .and_then(|()| found.ok_or_else(|| Error::new(OPERATION, ErrorKind::NotFound)))
        .map_err(|e| e.about_peer(peer))
    }

    /// Describes group `group` of `owner` ([`ErrorKind::NotFound`] if there
    /// is none).
    pub fn group(&mut self, owner: Name, group: Name) -> Result<GroupInfo<'static>> {
        const OPERATION: &str = "look up group";
        let mut found = None;
        self.request(
            OPERATION,
            &Request::GroupGet { owner, group },
            |reply| match reply {
                Reply::Group(g) => {
                    found = Some(owned_group(g));
                    Ok(())
                }
                _ => Err(Error::protocol(OPERATION)),
            },
        )
        .and_then(|()| found.ok_or_else(|| Error::new(OPERATION, ErrorKind::NotFound)))
        .map_err(|e| e.about_group(Some(owner), group))
    }

    /// Calls `each` for every peer of the network namespace (one dump; no
    /// allocation).
    pub fn for_each_peer(&mut self, mut each: impl FnMut(&PeerInfo<'static>)) -> Result<()> {
        const OPERATION: &str = "list peers";
        self.request(OPERATION, &Request::PeerDump, |reply| match reply {
            Reply::Peer(p) => {
                each(&owned_peer(p));
                Ok(())
            }
            _ => Err(Error::protocol(OPERATION)),
        })
    }

    /// Calls `each` for every group (of `owner` only, if given).
    pub fn for_each_group(
        &mut self,
        owner: Option<Name>,
        mut each: impl FnMut(&GroupInfo<'static>),
    ) -> Result<()> {
        const OPERATION: &str = "list groups";
        self.request(
            OPERATION,
            &Request::GroupDump { owner },
            |reply| match reply {
                Reply::Group(g) => {
                    each(&owned_group(g));
                    Ok(())
                }
                _ => Err(Error::protocol(OPERATION)),
            },
        )
    }
}

impl<C: Clock> Drop for Control<C> {
    /// Best effort: so kernel events say "unregistered", not "closed".
    fn drop(&mut self) {
        if self.session.is_active() {
            let _ = self.unregister();
        }
    }
}

/// The control socket, for `poll`/`epoll` (it is readable only while a
/// request waits for its answer).
impl<C: Clock> rustix::fd::AsFd for Control<C> {
    fn as_fd(&self) -> rustix::fd::BorrowedFd<'_> {
        rustix::fd::AsFd::as_fd(&self.socket)
    }
}
