//! The raw netlink loop: a peer of the ipcon module made of hand-written
//! system calls, no ipcon-linux — the floor of our own stack.
//!
//! It does what the library does on the wire: resolve the family through
//! `nlctrl`, register the data socket (`peer-register`, which returns the
//! cookie), attach a control socket (`peer-attach`), then send every
//! unicast as a request with `NLM_F_ACK` on the control socket and wait for
//! its acknowledgement; the receiver reads deliveries from the data socket
//! and parses only what it needs. What it leaves out is the library's own
//! work (request tracking, timeouts, full parsing, the message copy).

use std::os::fd::OwnedFd;

use ipcon_core::spec::{Attr, Command, FAMILY_NAME, STAMP_ROOM_LEN, VERSION};
use ipcon_core::wire::ctrl::{ctrl_attr, CTRL_CMD_GETFAMILY, CTRL_VERSION, GENL_ID_CTRL};
use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{
    bind, recvfrom, sendto, socket_with, AddressFamily, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

use crate::error::{bail, Context, Result};
use crate::payload::{self, Arrival};
use crate::rtt::{self, Request, Respond};
use crate::stream::{back_off, Consume, Publish};
use ipcon_test_support::rawnl::{packets, MsgBuilder, Packet, NLM_F_ACK, NLM_F_REQUEST};

/// The data socket's receive buffer: ipcon-linux's default, so both queue
/// the same number of messages.
const RECV_BUFFER: usize = 1024 * 1024;

/// Room for one delivery: a full payload, names and numbers.
const DELIVERY_BUF: usize = ipcon_core::spec::MAX_PAYLOAD_LEN + 512;

/// Room for answers to requests (the family description is the largest).
const ANSWER_BUF: usize = 8192;

/// The kernel's netlink address.
const KERNEL: SocketAddrNetlink = SocketAddrNetlink::new(0, 0);

pub(crate) fn open_socket() -> Result<OwnedFd> {
    let fd = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(netlink::GENERIC),
    )
    .context("open a generic netlink socket")?;
    bind(&fd, &SocketAddrNetlink::new(0, 0)).context("bind a generic netlink socket")?;
    Ok(fd)
}

/// Sends `request` to the kernel whole (`what` names it in errors).
pub(crate) fn send_to_kernel(fd: &OwnedFd, request: &[u8], what: &str) -> Result<()> {
    loop {
        match sendto(fd, request, SendFlags::empty(), &KERNEL) {
            Ok(n) if n == request.len() => return Ok(()),
            Ok(n) => bail!("{what}: sent {n} of {} bytes", request.len()),
            Err(Errno::INTR) => {}
            Err(e) => bail!("{what}: {e}"),
        }
    }
}

/// One datagram from the kernel into `buf` (others are skipped); its length.
pub(crate) fn recv_from_kernel(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize> {
    loop {
        match recvfrom(fd, &mut *buf, RecvFlags::empty()) {
            Ok((len, _, Some(addr))) => {
                let from_kernel = SocketAddrNetlink::try_from(addr).is_ok_and(|a| a.pid() == 0);
                if from_kernel {
                    return Ok(len);
                }
            }
            Ok((_, _, None)) => {}
            Err(Errno::INTR) => {}
            // The kernel's note that a delivery found the queue full. For a
            // unicast the sender got EAGAIN for it (and sends again), so
            // nothing is lost; ipcon-linux turns the note off instead
            // (NETLINK_NO_ENOBUFS, a socket option rustix does not wrap).
            Err(Errno::NOBUFS) => {}
            Err(e) => bail!("receive: {e}"),
        }
    }
}

/// A socket that sends requests and waits for their acknowledgement.
#[derive(Debug)]
struct Requester {
    fd: OwnedFd,
    seq: u32,
    out: MsgBuilder,
    answers: Vec<u8>,
}

impl Requester {
    fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            seq: 0,
            out: MsgBuilder::new(),
            answers: vec![0; ANSWER_BUF],
        }
    }

    /// Sends one request (built by `attrs`) and hands each reply to
    /// `on_reply` until the acknowledgement; returns its errno (0: done).
    fn request(
        &mut self,
        family: u16,
        command: u8,
        version: u8,
        attrs: impl FnOnce(&mut MsgBuilder),
        mut on_reply: impl FnMut(&Packet<'_>),
    ) -> Result<i32> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        self.out
            .begin(family, NLM_F_REQUEST | NLM_F_ACK, seq, command, version);
        attrs(&mut self.out);
        send_to_kernel(&self.fd, self.out.finish(), "send request")?;
        loop {
            let len = recv_from_kernel(&self.fd, &mut self.answers)?;
            for packet in packets(&self.answers[..len]) {
                if packet.seq != seq {
                    continue;
                }
                if let Some(errno) = packet.ack_errno() {
                    return Ok(errno);
                }
                on_reply(&packet);
            }
        }
    }

    /// The id of the generic netlink family `name`, from `nlctrl`.
    fn family_id(&mut self, name: &str) -> Result<u16> {
        let mut family = None;
        let errno = self.request(
            GENL_ID_CTRL,
            CTRL_CMD_GETFAMILY,
            CTRL_VERSION,
            |b| {
                b.attr_str(ctrl_attr::FAMILY_NAME, name);
            },
            |reply| {
                if let Some((_, attrs)) = reply.genl() {
                    family = attrs.u16(ctrl_attr::FAMILY_ID);
                }
            },
        )?;
        if errno != 0 {
            bail!("look up the {name} family: errno {errno} (module not loaded?)");
        }
        let Some(family) = family else {
            bail!("look up the {name} family: no family id in the answer");
        };
        Ok(family)
    }
}

/// The id of the generic netlink family `name`, asked on a socket of its own.
pub(crate) fn family_id(name: &str) -> Result<u16> {
    Requester::new(open_socket()?).family_id(name)
}

/// Where a unicast goes.
#[derive(Debug, Clone, Copy)]
pub enum Dest<'a> {
    /// The peer of this name.
    Name(&'a str),
    /// The peer at this port.
    Port(u32),
}

/// What the kernel said to a unicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Queued to the receiver.
    Queued,
    /// The receiver's queue was full; nothing was queued (`EAGAIN`).
    QueueFull,
}

/// One delivery as the raw receiver reads it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The payload.
    pub payload: &'a [u8],
    /// Messages missed before this one.
    pub missed: u32,
    /// The sender's port.
    pub from_port: u32,
}

/// A registered peer: a data socket and an attached control socket.
#[derive(Debug)]
pub struct RawPeer {
    family: u16,
    data: OwnedFd,
    control: Requester,
    delivery: Vec<u8>,
    post_buf: MsgBuilder,
}

impl RawPeer {
    /// Registers a peer named `name` (anonymous for `None`).
    pub fn open(name: Option<&str>) -> Result<Self> {
        let mut control = Requester::new(open_socket()?);
        let family = control.family_id(FAMILY_NAME)?;

        let data = open_socket()?;
        rustix::net::sockopt::set_socket_recv_buffer_size_force(&data, RECV_BUFFER)
            .or_else(|_| rustix::net::sockopt::set_socket_recv_buffer_size(&data, RECV_BUFFER))
            .context("set the data socket's receive buffer")?;
        let mut registrar = Requester::new(data);
        let mut cookie = None;
        let errno = registrar.request(
            family,
            Command::PeerRegister.to_raw(),
            VERSION,
            |b| {
                if let Some(name) = name {
                    b.attr_str(Attr::PeerName.to_raw(), name);
                }
            },
            |reply| {
                if let Some((_, attrs)) = reply.genl() {
                    cookie = attrs.u64(Attr::Cookie.to_raw());
                }
            },
        )?;
        if errno != 0 {
            bail!("register peer {name:?}: errno {errno}");
        }
        let Some(cookie) = cookie else {
            bail!("register peer {name:?}: no cookie in the answer");
        };
        let errno = control.request(
            family,
            Command::PeerAttach.to_raw(),
            VERSION,
            |b| {
                b.attr(Attr::Cookie.to_raw(), &cookie.to_ne_bytes());
            },
            |_| {},
        )?;
        if errno != 0 {
            bail!("attach the control socket: errno {errno}");
        }
        Ok(Self {
            family,
            data: registrar.fd,
            control,
            delivery: vec![0; DELIVERY_BUF],
            post_buf: MsgBuilder::new(),
        })
    }

    /// Sends `payload` to `to` and waits for the kernel's verdict.
    pub fn unicast(&mut self, to: Dest<'_>, payload: &[u8]) -> Result<Verdict> {
        let errno = self.control.request(
            self.family,
            Command::Unicast.to_raw(),
            VERSION,
            |b| {
                match to {
                    Dest::Name(name) => b.attr_str(Attr::PeerName.to_raw(), name),
                    Dest::Port(port) => b.attr(Attr::Port.to_raw(), &port.to_ne_bytes()),
                };
                b.attr(Attr::Payload.to_raw(), payload);
            },
            |_| {},
        )?;
        match errno {
            0 => Ok(Verdict::Queued),
            e if e == Errno::AGAIN.raw_os_error() => Ok(Verdict::QueueFull),
            e => bail!("unicast: errno {e}"),
        }
    }

    /// Posts `payload` to `to` on the data socket, as ipcon-post does: no
    /// acknowledgement; a failure comes back as a send-failed notice, which
    /// [`receive`](Self::receive) turns into an error.
    pub fn post(&mut self, to: Dest<'_>, payload: &[u8], ticket: u32) -> Result<()> {
        let request = post_request(&mut self.post_buf, self.family, to, payload, ticket);
        send_to_kernel(&self.data, request, "post")
    }

    /// Waits for the next delivery (anything else on the data socket is
    /// skipped, but a send-failed notice is an error).
    pub fn receive(&mut self) -> Result<Delivery<'_>> {
        loop {
            let len = recv_from_kernel(&self.data, &mut self.delivery)?;
            let failed = packets(&self.delivery[..len]).any(|packet| {
                packet.kind == self.family
                    && packet
                        .genl()
                        .is_some_and(|(command, _)| command == Command::SendFailed.to_raw())
            });
            if failed {
                bail!("a posted unicast failed (send-failed notice)");
            }
            // Offsets, not a slice: a loop that refills the buffer cannot
            // return a borrow of it (a limit of today's borrow checker).
            let Some((payload, missed, from_port)) =
                parse_delivery(&self.delivery[..len], self.family)
            else {
                continue;
            };
            return Ok(Delivery {
                payload: &self.delivery[payload.0..payload.1],
                missed,
                from_port,
            });
        }
    }
}

/// A posted unicast request: the ticket as its sequence number, no
/// `NLM_F_ACK`.
fn post_request<'b>(
    out: &'b mut MsgBuilder,
    family: u16,
    to: Dest<'_>,
    payload: &[u8],
    ticket: u32,
) -> &'b [u8] {
    out.begin(
        family,
        NLM_F_REQUEST,
        ticket,
        Command::Unicast.to_raw(),
        VERSION,
    );
    match to {
        Dest::Name(name) => out.attr_str(Attr::PeerName.to_raw(), name),
        Dest::Port(port) => out.attr(Attr::Port.to_raw(), &port.to_ne_bytes()),
    };
    out.attr(Attr::Payload.to_raw(), payload);
    out.attr(Attr::Ticket.to_raw(), &ticket.to_ne_bytes());
    // The room the module stamps the sender's identity into when it queues
    // the request itself to the receiver, as it does for ipcon-linux's post.
    out.attr(Attr::StampRoom.to_raw(), &[0; STAMP_ROOM_LEN]);
    out.finish()
}

/// The payload's byte range, the missed count and the sender's port of the
/// delivery in `datagram`; `None` for anything else.
fn parse_delivery(datagram: &[u8], family: u16) -> Option<((usize, usize), u32, u32)> {
    let packet = packets(datagram).next()?;
    if packet.kind != family {
        return None;
    }
    let (command, attrs) = packet.genl()?;
    if command != Command::UnicastMsg.to_raw() && command != Command::GroupMsg.to_raw() {
        return None;
    }
    let payload = attrs.get(Attr::Payload.to_raw())?;
    let start = payload.as_ptr() as usize - datagram.as_ptr() as usize;
    Some((
        (start, start + payload.len()),
        attrs.u32(Attr::Missed.to_raw()).unwrap_or(0),
        attrs.u32(Attr::Port.to_raw())?,
    ))
}

/// Sends a stream to the peer named `to`, one acknowledged request per
/// message.
#[derive(Debug)]
pub struct RawSender {
    peer: RawPeer,
    to: String,
}

impl RawSender {
    /// Registers an anonymous sender to `to`.
    pub fn open(to: &str) -> Result<Self> {
        Ok(Self {
            peer: RawPeer::open(None)?,
            to: to.to_string(),
        })
    }
}

impl Publish for RawSender {
    fn send(&mut self, payloads: &[u8], size: usize, full: &mut Vec<usize>) -> Result<()> {
        for (i, p) in payloads.chunks(size).enumerate() {
            if self.peer.unicast(Dest::Name(&self.to), p)? == Verdict::QueueFull {
                full.push(i);
            }
        }
        Ok(())
    }

    fn finish(&mut self, marker: &[u8]) -> Result<()> {
        while self.peer.unicast(Dest::Name(&self.to), marker)? == Verdict::QueueFull {
            back_off();
        }
        Ok(())
    }
}

/// Receives a stream.
#[derive(Debug)]
pub struct RawReceiver {
    peer: RawPeer,
}

impl RawReceiver {
    /// Registers the receiver as `name`.
    pub fn open(name: &str) -> Result<Self> {
        Ok(Self {
            peer: RawPeer::open(Some(name))?,
        })
    }
}

impl Consume for RawReceiver {
    fn receive(&mut self, each: &mut dyn FnMut(&[u8], u64) -> Result<Arrival>) -> Result<Arrival> {
        let delivery = self.peer.receive()?;
        each(delivery.payload, u64::from(delivery.missed))
    }
}

/// How a round trip's request and answer are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// With `NLM_F_ACK`, waiting for the kernel's verdict (`raw-netlink`).
    Acked,
    /// Posted as ipcon-post posts: a ticket, no acknowledgement
    /// (`raw-post`); a failure comes back on the data socket.
    Posted,
}

/// One side of round trips: a peer and how it sends.
#[derive(Debug)]
struct RoundTripPeer {
    peer: RawPeer,
    sending: Sending,
    ticket: u32,
}

impl RoundTripPeer {
    /// Sends `payload` to `to`; `full` says what a full queue means.
    fn send(&mut self, to: Dest<'_>, payload: &[u8], full: &str) -> Result<()> {
        match self.sending {
            Sending::Acked => {
                if self.peer.unicast(to, payload)? != Verdict::Queued {
                    bail!("{full}");
                }
                Ok(())
            }
            Sending::Posted => {
                self.ticket = self.ticket.wrapping_add(1).max(1);
                self.peer.post(to, payload, self.ticket)
            }
        }
    }
}

/// The client of round trips: a request to the server by name, then the
/// answer.
#[derive(Debug)]
pub struct RawClient {
    side: RoundTripPeer,
    server: String,
}

impl RawClient {
    /// Registers an anonymous client of the server named `server`.
    pub fn open(server: &str, sending: Sending) -> Result<Self> {
        Ok(Self {
            side: RoundTripPeer {
                peer: RawPeer::open(None)?,
                sending,
                ticket: 0,
            },
            server: server.to_string(),
        })
    }
}

impl Request for RawClient {
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
        self.side.send(
            Dest::Name(&self.server),
            request,
            "the server's queue is full with one request outstanding",
        )?;
        Ok(rtt::answer_into(self.side.peer.receive()?.payload, reply))
    }
}

/// The server of round trips: answers to the sender's port.
#[derive(Debug)]
pub struct RawServer {
    side: RoundTripPeer,
    request: Vec<u8>,
}

impl RawServer {
    /// Registers the server as `name`.
    pub fn open(name: &str, sending: Sending) -> Result<Self> {
        Ok(Self {
            side: RoundTripPeer {
                peer: RawPeer::open(Some(name))?,
                sending,
                ticket: 0,
            },
            request: Vec::with_capacity(DELIVERY_BUF),
        })
    }
}

impl Respond for RawServer {
    fn serve_one(&mut self) -> Result<Option<u64>> {
        let delivery = self.side.peer.receive()?;
        let port = delivery.from_port;
        self.request.clear();
        self.request.extend_from_slice(delivery.payload);
        self.side.send(
            Dest::Port(port),
            &self.request,
            "the client's queue is full with one answer outstanding",
        )?;
        Ok(payload::seq_of(&self.request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipcon_core::wire::ipcon::{PeerRef, Request as CoreRequest};
    use ipcon_core::Name;

    /// The hand-written post is byte for byte the one ipcon-linux sends.
    #[test]
    fn a_post_is_what_ipcon_core_emits() {
        let payload = [7u8; 64];
        for (to, core_to) in [
            (
                Dest::Name("p1m2_rx"),
                PeerRef::Name(Name::new("p1m2_rx").unwrap()),
            ),
            (Dest::Port(4242), PeerRef::Port(4242)),
        ] {
            let mut out = MsgBuilder::new();
            let raw = post_request(&mut out, 0x1d, to, &payload, 9).to_vec();
            let request = CoreRequest::PostUnicast {
                to: core_to,
                payload: &payload,
                ticket: 9,
            };
            let mut buf = [0u8; 512];
            let len = request.emit(&request.header(0x1d, 9, 0), &mut buf).unwrap();
            assert_eq!(raw, &buf[..len]);
        }
    }
}
