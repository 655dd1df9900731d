//! The control side of a handler: the resolved family and the request
//! socket, shared by every thread, plus the look-ups that need no
//! registration.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ipcon_core::machine::family::{check_family, FamilyOutcome};
use ipcon_core::spec::{FAMILY_NAME, VERSION};
use ipcon_core::wire::ipcon::{PeerRef, Reply, Request};
use ipcon_core::Name;

use crate::batch::MAX_BATCH_BYTES;
use crate::channel::Channel;
use crate::error::{Error, ErrorKind, Result};
use crate::info::{GroupInfo, PeerInfo};
use crate::socket::NetlinkSocket;
use crate::sys::NetlinkOption;

/// The ipcon family as resolved at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    /// Its id: the netlink message type of ipcon messages.
    pub id: u16,
    /// The id of the `kevent` multicast group.
    pub kevent_group: u32,
}

/// Opens a socket with the options every request socket wants: the
/// kernel's error text, short error messages.
pub(crate) fn open_request_socket() -> Result<NetlinkSocket> {
    let socket = NetlinkSocket::open().map_err(|e| Error::from_io("open socket", &e))?;
    for option in [NetlinkOption::ExtAck, NetlinkOption::CapAck] {
        socket
            .set_option(option, 1)
            .map_err(|e| Error::from_io("set socket option", &e))?;
    }
    // Strict checking is an improvement where the kernel has it (4.20+);
    // older kernels work without it.
    let _ = socket.set_option(NetlinkOption::GetStrictChk, 1);
    Ok(socket)
}

/// Resolves the ipcon family on `channel`: a missing family means the
/// module is not loaded; another protocol version is refused
/// ([`ErrorKind::IncompatibleModule`]), a family without its kernel event
/// group is a protocol error.
fn resolve_ipcon(channel: &mut Channel) -> Result<Family> {
    const OPERATION: &str = "open ipcon";
    let repr = channel.lookup_family(FAMILY_NAME).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Error::new(OPERATION, ErrorKind::ModuleNotLoaded)
        } else {
            e
        }
    })?;
    match check_family(&repr) {
        FamilyOutcome::Resolved(family) => Ok(Family {
            id: family.id,
            kevent_group: family.kevent_group,
        }),
        FamilyOutcome::VersionMismatch { kernel } => Err(Error::new(
            OPERATION,
            ErrorKind::IncompatibleModule {
                module: kernel,
                library: u32::from(VERSION),
            },
        )),
        other => Err(Error::protocol(OPERATION).with_detail_text(other)),
    }
}

/// Socket buffers of the control socket, asked for in bytes (the kernel
/// doubles the value for its bookkeeping and caps it at `wmem_max`/`rmem_max`
/// times two unless `SO_*BUFFORCE` is allowed). Sending: a full batch
/// (`MAX_BATCH_BYTES`) must fit, as netlink rejects datagrams larger than the
/// send buffer. Receiving: the error answers to a full batch, one small
/// datagram each (`NETLINK_CAP_ACK`: they do not echo the request), must
/// fit, or the kernel drops them (`ENOBUFS`). The defaults (`wmem_default`,
/// `rmem_default`) are only ~108 KiB on 32-bit kernels.
const CONTROL_SEND_BUFFER: usize = MAX_BATCH_BYTES + 32 * 1024;
const CONTROL_RECV_BUFFER: usize = 128 * 1024;

/// The request socket and what it resolved.
#[derive(Debug)]
pub(crate) struct Control {
    channel: Mutex<Channel>,
    family: Family,
}

impl Control {
    /// Opens a request socket and resolves the ipcon family.
    pub fn open(timeout: Duration) -> Result<Self> {
        let mut socket = open_request_socket()?;
        socket
            .connect_to_kernel()
            .map_err(|e| Error::from_io("connect socket", &e))?;
        socket
            .set_send_buffer(CONTROL_SEND_BUFFER)
            .map_err(|e| Error::from_io("set send buffer", &e))?;
        socket
            .set_recv_buffer(CONTROL_RECV_BUFFER)
            .map_err(|e| Error::from_io("set receive buffer", &e))?;
        let mut channel = Channel::new(socket, timeout);
        let family = resolve_ipcon(&mut channel)?;
        Ok(Self {
            channel: Mutex::new(channel),
            family,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The channel; a panic in another thread while holding it leaves it
    /// usable (the tracker forgets unfinished requests).
    fn lock(&self) -> MutexGuard<'_, Channel> {
        self.channel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `request` and hands each reply to `on_reply`.
    pub fn request(
        &self,
        operation: &'static str,
        request: &Request<'_>,
        on_reply: impl FnMut(&Reply<'_>) -> Result<()>,
    ) -> Result<()> {
        let result = self
            .lock()
            .request(operation, self.family.id, request, on_reply);
        result.map_err(|e| self.explain_missing_family(operation, e))
    }

    /// Generic netlink answers a request for a family id it does not know
    /// with a bare `ENOENT` (the module explains each of its own `ENOENT`s
    /// with an extended-ACK text): then the module was unloaded, or
    /// reloaded under another id, and the error says which.
    fn explain_missing_family(&self, operation: &'static str, err: Error) -> Error {
        if err.errno() != Some(libc::ENOENT) || err.kernel_message().is_some() {
            return err;
        }
        let now = resolve_ipcon(&mut self.lock());
        match now {
            Ok(family) if family.id == self.family.id => err,
            Ok(_) => Error::new(operation, ErrorKind::ModuleReloaded),
            Err(e) if e.kind() == ErrorKind::ModuleNotLoaded => {
                Error::new(operation, ErrorKind::ModuleNotLoaded)
            }
            Err(_) => err,
        }
    }

    /// Sends the `count` requests encoded in `datagram` in one datagram; see
    /// [`Channel::request_batch`].
    pub fn batch(
        &self,
        operation: &'static str,
        datagram: &mut [u8],
        count: usize,
        on_failure: impl FnMut(usize, i32, &str),
    ) -> Result<()> {
        let result =
            self.lock()
                .request_batch(operation, self.family.id, datagram, count, on_failure);
        result.map_err(|e| self.explain_missing_family(operation, e))
    }

    /// Sends `request`, expecting no reply content.
    pub fn command(&self, operation: &'static str, request: &Request<'_>) -> Result<()> {
        self.request(operation, request, |_| Ok(()))
    }

    /// Looks a peer up by name or port.
    pub fn peer(&self, peer: PeerRef) -> Result<PeerInfo> {
        const OPERATION: &str = "look up peer";
        let mut found = None;
        self.request(OPERATION, &Request::PeerGet { peer }, |reply| match reply {
            Reply::Peer(p) => {
                found = Some(PeerInfo::from_wire(p));
                Ok(())
            }
            _ => Err(Error::protocol(OPERATION)),
        })?;
        found.ok_or_else(|| Error::new(OPERATION, ErrorKind::NotFound))
    }

    /// Calls `each` for every peer of the network namespace.
    pub fn each_peer(&self, mut each: impl FnMut(&PeerInfo)) -> Result<()> {
        const OPERATION: &str = "list peers";
        self.request(OPERATION, &Request::PeerDump, |reply| match reply {
            Reply::Peer(p) => {
                each(&PeerInfo::from_wire(p));
                Ok(())
            }
            _ => Err(Error::protocol(OPERATION)),
        })
    }

    /// Looks a group up by owner and name.
    pub fn group(&self, owner: Name, group: Name) -> Result<GroupInfo> {
        const OPERATION: &str = "look up group";
        let mut found = None;
        self.request(
            OPERATION,
            &Request::GroupGet { owner, group },
            |reply| match reply {
                Reply::Group(g) => {
                    found = Some(GroupInfo::from_wire(g));
                    Ok(())
                }
                _ => Err(Error::protocol(OPERATION)),
            },
        )?;
        found.ok_or_else(|| Error::new(OPERATION, ErrorKind::NotFound))
    }

    /// Calls `each` for every group (of `owner` only, if given).
    pub fn each_group(&self, owner: Option<Name>, mut each: impl FnMut(&GroupInfo)) -> Result<()> {
        const OPERATION: &str = "list groups";
        self.request(
            OPERATION,
            &Request::GroupDump { owner },
            |reply| match reply {
                Reply::Group(g) => {
                    each(&GroupInfo::from_wire(g));
                    Ok(())
                }
                _ => Err(Error::protocol(OPERATION)),
            },
        )
    }
}
