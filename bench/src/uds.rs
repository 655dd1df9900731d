//! The baseline a user would pick instead: Unix domain sockets,
//! `SOCK_SEQPACKET` (message boundaries, reliable, ordered; a full peer
//! blocks the sender). Fan-out is a publisher looping over one connection
//! per subscriber.
//!
//! Addresses are abstract (no file to clean up). The listening side
//! announces `READY` once bound, and accepts after the other side
//! connected (a connection waits in the backlog until then).

use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::net::{
    accept, bind, connect, listen, recv, send, socket_with, AddressFamily, RecvFlags, SendFlags,
    SocketAddrUnix, SocketFlags, SocketType,
};

use crate::error::{bail, Context, Result};
use crate::payload::{self, Arrival};
use crate::rtt::{Request, Respond};
use crate::stream::{Consume, Publish};

/// Largest message a receiver expects (one more byte shows truncation).
const RECV_BUF: usize = ipcon_core::spec::MAX_PAYLOAD_LEN + 1;

fn address(name: &str) -> Result<SocketAddrUnix> {
    SocketAddrUnix::new_abstract_name(name.as_bytes()).context("abstract socket address")
}

fn seqpacket() -> Result<OwnedFd> {
    socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .context("open a SEQPACKET socket")
}

/// A bound, listening socket with room for `backlog` waiting connections.
pub fn listen_on(name: &str, backlog: usize) -> Result<OwnedFd> {
    let fd = seqpacket()?;
    bind(&fd, &address(name)?).with_context(|| format!("bind @{name}"))?;
    listen(&fd, i32::try_from(backlog).unwrap_or(i32::MAX)).context("listen")?;
    Ok(fd)
}

/// A socket connected to the listener `name`.
pub fn connect_to(name: &str) -> Result<OwnedFd> {
    let fd = seqpacket()?;
    connect(&fd, &address(name)?).with_context(|| format!("connect to @{name}"))?;
    Ok(fd)
}

fn accept_one(listener: &OwnedFd) -> Result<OwnedFd> {
    loop {
        match accept(listener) {
            Ok(fd) => return Ok(fd),
            Err(Errno::INTR) => {}
            Err(e) => bail!("accept: {e}"),
        }
    }
}

/// Sends one message (blocking while the peer is full).
fn send_message(fd: &OwnedFd, message: &[u8]) -> Result<()> {
    loop {
        match send(fd, message, SendFlags::empty()) {
            Ok(n) if n == message.len() => return Ok(()),
            Ok(n) => bail!("sent {n} of {} bytes", message.len()),
            Err(Errno::INTR) => {}
            Err(e) => bail!("send: {e}"),
        }
    }
}

/// Receives one message into `buf`; its length. A peer that closed is an
/// error (streams end with their end marker, never by closing).
fn recv_message(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize> {
    loop {
        match recv(fd, &mut *buf, RecvFlags::empty()) {
            Ok((0, _)) => bail!("the peer closed the connection"),
            Ok((n, _)) => return Ok(n),
            Err(Errno::INTR) => {}
            Err(e) => bail!("receive: {e}"),
        }
    }
}

/// The sending side of a stream: to one receiver, or to every subscriber
/// in turn.
#[derive(Debug)]
pub enum UdsSender {
    /// Connected to the receiver.
    Unicast(OwnedFd),
    /// Listening for `expected` subscribers; their connections once accepted.
    Fanout {
        /// The listening socket.
        listener: OwnedFd,
        /// How many subscribers connect.
        expected: usize,
        /// Their connections.
        subscribers: Vec<OwnedFd>,
    },
}

impl UdsSender {
    /// A publisher listening at `name` for `subscribers` connections.
    pub fn publisher(name: &str, subscribers: usize) -> Result<Self> {
        Ok(UdsSender::Fanout {
            listener: listen_on(name, subscribers)?,
            expected: subscribers,
            subscribers: Vec::with_capacity(subscribers),
        })
    }

    fn connections(&self) -> &[OwnedFd] {
        match self {
            UdsSender::Unicast(fd) => std::slice::from_ref(fd),
            UdsSender::Fanout { subscribers, .. } => subscribers,
        }
    }
}

impl Publish for UdsSender {
    fn connect_peers(&mut self) -> Result<()> {
        if let UdsSender::Fanout {
            listener,
            expected,
            subscribers,
        } = self
        {
            while subscribers.len() < *expected {
                subscribers.push(accept_one(listener)?);
            }
        }
        Ok(())
    }

    fn send(&mut self, payloads: &[u8], size: usize, _full: &mut Vec<usize>) -> Result<()> {
        for p in payloads.chunks(size) {
            for fd in self.connections() {
                send_message(fd, p)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, marker: &[u8]) -> Result<()> {
        self.connections()
            .iter()
            .try_for_each(|fd| send_message(fd, marker))
    }
}

/// The receiving side of a stream.
#[derive(Debug)]
pub enum UdsReceiver {
    /// Listening for the sender (unicast).
    Listening(OwnedFd),
    /// Connected.
    Connected(OwnedFd, Vec<u8>),
}

impl UdsReceiver {
    /// A subscriber connected to the publisher at `name`.
    pub fn subscriber(name: &str) -> Result<Self> {
        Ok(UdsReceiver::Connected(connect_to(name)?, vec![0; RECV_BUF]))
    }
}

impl Consume for UdsReceiver {
    fn connect_peer(&mut self) -> Result<()> {
        if let UdsReceiver::Listening(listener) = self {
            *self = UdsReceiver::Connected(accept_one(listener)?, vec![0; RECV_BUF]);
        }
        Ok(())
    }

    fn receive(&mut self, each: &mut dyn FnMut(&[u8], u64) -> Result<Arrival>) -> Result<Arrival> {
        let UdsReceiver::Connected(fd, buf) = self else {
            bail!("receive before the sender connected");
        };
        let len = recv_message(fd, buf)?;
        each(&buf[..len], 0)
    }
}

/// The client of round trips.
#[derive(Debug)]
pub struct UdsClient(OwnedFd);

impl UdsClient {
    /// Connects to the server at `name`.
    pub fn connect(name: &str) -> Result<Self> {
        Ok(Self(connect_to(name)?))
    }
}

impl Request for UdsClient {
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
        send_message(&self.0, request)?;
        recv_message(&self.0, reply)
    }
}

/// The server of round trips.
#[derive(Debug)]
pub struct UdsServer {
    listener: OwnedFd,
    conn: Option<OwnedFd>,
    buf: Vec<u8>,
}

impl UdsServer {
    /// Listens at `name`.
    pub fn listen(name: &str) -> Result<Self> {
        Ok(Self {
            listener: listen_on(name, 1)?,
            conn: None,
            buf: vec![0; RECV_BUF],
        })
    }
}

impl Respond for UdsServer {
    fn connect_peer(&mut self) -> Result<()> {
        self.conn = Some(accept_one(&self.listener)?);
        Ok(())
    }

    fn serve_one(&mut self) -> Result<Option<u64>> {
        let Some(conn) = &self.conn else {
            bail!("serve before the client connected");
        };
        let len = recv_message(conn, &mut self.buf)?;
        send_message(conn, &self.buf[..len])?;
        Ok(payload::seq_of(&self.buf[..len]))
    }
}
