//! Round trips through the floor of a generic netlink forwarder
//! (`bench/floor/ipcon_floor.c`): a family that only carries a payload to
//! the port a request names, stamped with the sender's port. No ipcon code
//! runs, in the kernel or here: what is left is generic netlink's own share
//! of a message (the request's skb, the dispatch, the receiver's skb), so
//! ipcon-post against it is what ipcon's own work costs, and it against a
//! Unix socket is where any generic netlink forwarder stands.
//!
//! Each peer has one socket, sends without asking for an acknowledgement
//! (a failure still comes back as an error message, which ends the run) and
//! reads the answer from the same socket, as ipcon-post does on its data
//! socket. The server's port reaches the client through a file.

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use rustix::net::getsockname;
use rustix::net::netlink::SocketAddrNetlink;

use crate::error::{bail, Context, Result};
use crate::payload;
use crate::raw_netlink::{family_id, open_socket, recv_from_kernel, send_to_kernel};
use crate::rtt::{self, Request, Respond};
use ipcon_test_support::rawnl::{packets, MsgBuilder, NLM_F_REQUEST};

/// The family's name (the module registers it).
const FAMILY: &str = "ipcon_floor";
/// Its version.
const VERSION: u8 = 1;
/// The request without the attribute table and the policy.
const CMD_FORWARD_BARE: u8 = 1;
/// The request as ipcon's run: a strict policy, the attribute table.
const CMD_FORWARD: u8 = 2;
/// A forwarded message.
const CMD_MSG: u8 = 3;
/// The receiver's port in a request, the sender's in a message.
const ATTR_PORT: u16 = 1;
/// The payload.
const ATTR_PAYLOAD: u16 = 2;

/// Room for one message: the largest payload and the headers.
const MESSAGE_BUF: usize = 65536 + 64;

/// How requests reach the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// Validated by generic netlink against the policy, into the table it
    /// allocates per request (`genl-floor`).
    Policed,
    /// Neither (`genl-floor-bare`).
    Bare,
}

impl Dispatch {
    fn command(self) -> u8 {
        match self {
            Dispatch::Policed => CMD_FORWARD,
            Dispatch::Bare => CMD_FORWARD_BARE,
        }
    }
}

/// Whether the VM has the family (`cargo xtask bench` loads its module).
pub fn available() -> bool {
    family_id(FAMILY).is_ok()
}

/// Where the server of `name` leaves its port for the client.
fn port_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ipcon-perf-floor-{name}"))
}

/// One socket of the family.
#[derive(Debug)]
struct FloorPeer {
    fd: OwnedFd,
    family: u16,
    command: u8,
    seq: u32,
    out: MsgBuilder,
    message: Vec<u8>,
}

impl FloorPeer {
    fn open(dispatch: Dispatch) -> Result<Self> {
        Ok(Self {
            family: family_id(FAMILY)?,
            fd: open_socket()?,
            command: dispatch.command(),
            seq: 0,
            out: MsgBuilder::new(),
            message: vec![0; MESSAGE_BUF],
        })
    }

    /// The socket's port, as the kernel assigned it.
    fn port(&self) -> Result<u32> {
        let addr = getsockname(&self.fd).context("the floor socket's address")?;
        let addr = SocketAddrNetlink::try_from(addr).context("the floor socket's address")?;
        Ok(addr.pid())
    }

    /// Sends `payload` to the socket at `port`.
    fn forward(&mut self, port: u32, payload: &[u8]) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        self.out
            .begin(self.family, NLM_F_REQUEST, self.seq, self.command, VERSION);
        self.out.attr(ATTR_PORT, &port.to_ne_bytes());
        self.out.attr(ATTR_PAYLOAD, payload);
        send_to_kernel(&self.fd, self.out.finish(), "forward")
    }

    /// Waits for the next message: its payload's byte range in
    /// `self.message` and the sender's port. An error message (a request
    /// of ours the family refused) ends the run.
    fn receive(&mut self) -> Result<((usize, usize), u32)> {
        loop {
            let len = recv_from_kernel(&self.fd, &mut self.message)?;
            let datagram = &self.message[..len];
            for packet in packets(datagram) {
                if let Some(errno) = packet.ack_errno() {
                    bail!("the floor family refused a request: errno {errno}");
                }
                if packet.kind != self.family {
                    continue;
                }
                let Some((CMD_MSG, attrs)) = packet.genl() else {
                    continue;
                };
                let (Some(payload), Some(port)) = (attrs.get(ATTR_PAYLOAD), attrs.u32(ATTR_PORT))
                else {
                    bail!("a floor message without payload or port");
                };
                let start = payload.as_ptr() as usize - datagram.as_ptr() as usize;
                return Ok(((start, start + payload.len()), port));
            }
        }
    }
}

/// The client of round trips.
#[derive(Debug)]
pub struct FloorClient {
    peer: FloorPeer,
    server: u32,
}

impl FloorClient {
    /// Opens a client of the server named `server` (which is listening).
    pub fn open(server: &str, dispatch: Dispatch) -> Result<Self> {
        let file = port_file(server);
        let text =
            std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))?;
        let Ok(port) = text.trim().parse() else {
            bail!("{}: not a port: {text:?}", file.display());
        };
        Ok(Self {
            peer: FloorPeer::open(dispatch)?,
            server: port,
        })
    }
}

impl Request for FloorClient {
    fn round_trip(&mut self, request: &[u8], reply: &mut [u8]) -> Result<usize> {
        self.peer.forward(self.server, request)?;
        let ((start, end), _) = self.peer.receive()?;
        Ok(rtt::answer_into(&self.peer.message[start..end], reply))
    }
}

/// The server of round trips: answers to the sender's port.
#[derive(Debug)]
pub struct FloorServer {
    peer: FloorPeer,
    request: Vec<u8>,
    file: PathBuf,
}

impl FloorServer {
    /// Opens the server as `name`, its port left where clients look.
    pub fn open(name: &str, dispatch: Dispatch) -> Result<Self> {
        let peer = FloorPeer::open(dispatch)?;
        let file = port_file(name);
        std::fs::write(&file, peer.port()?.to_string())
            .with_context(|| format!("write {}", file.display()))?;
        Ok(Self {
            peer,
            request: Vec::with_capacity(MESSAGE_BUF),
            file,
        })
    }
}

impl Respond for FloorServer {
    fn serve_one(&mut self) -> Result<Option<u64>> {
        let ((start, end), port) = self.peer.receive()?;
        self.request.clear();
        self.request
            .extend_from_slice(&self.peer.message[start..end]);
        self.peer.forward(port, &self.request)?;
        Ok(payload::seq_of(&self.request))
    }
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}
