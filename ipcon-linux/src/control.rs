//! The control side of a handler: the resolved family and the request
//! socket, shared by every thread, plus the look-ups that need no
//! registration.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::channel::{resolve_family, Channel, Family, Request, RequestKind};
use crate::error::{Error, ErrorKind, Result};
use crate::info::{GroupInfo, PeerInfo};
use crate::name::Name;
use crate::proto::{attr, cmd};
use crate::socket::NetlinkSocket;
use crate::sys::NetlinkOption;
use crate::wire::RequestBuilder;

/// The generic netlink family name.
const FAMILY_NAME: &str = crate::proto::spec::FAMILY_NAME;

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

/// The request socket and what it resolved.
#[derive(Debug)]
pub(crate) struct Control {
    channel: Mutex<Channel>,
    family: Family,
}

impl Control {
    /// Opens a request socket and resolves the ipcon family; a missing
    /// family means the module is not loaded.
    pub fn open(timeout: Duration) -> Result<Self> {
        let mut channel = Channel::new(open_request_socket()?, timeout);
        let family = resolve_family(
            &mut channel,
            FAMILY_NAME,
            crate::proto::spec::KEVENT_GROUP_NAME,
        )
        .map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::new("open ipcon", ErrorKind::ModuleNotLoaded)
            } else {
                e
            }
        })?;
        Ok(Self {
            channel: Mutex::new(channel),
            family,
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    /// The channel; a panic in another thread while holding it leaves it
    /// usable (each request starts from a fresh sequence number).
    pub fn lock(&self) -> MutexGuard<'_, Channel> {
        self.channel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A `do` request of the ipcon family with no reply content.
    pub fn command(
        &self,
        operation: &'static str,
        command: u8,
        build: impl FnOnce(&mut RequestBuilder<'_>),
    ) -> Result<()> {
        self.lock().request(
            self.request(operation, command, RequestKind::Do),
            build,
            |_| Ok(()),
        )
    }

    pub fn request(&self, operation: &'static str, command: u8, kind: RequestKind) -> Request {
        Request {
            operation,
            family: self.family.id,
            version: crate::proto::spec::VERSION,
            cmd: command,
            kind,
        }
    }

    /// Looks a peer up by name or port.
    pub fn peer(&self, by: PeerKey<'_>) -> Result<PeerInfo> {
        let mut found = None;
        self.lock().request(
            self.request("look up peer", cmd::PEER_GET, RequestKind::Do),
            |b| match by {
                PeerKey::Name(name) => {
                    b.attr_str(attr::PEER_NAME, name.as_str());
                }
                PeerKey::Port(port) => {
                    b.attr_u32(attr::PORT, port);
                }
            },
            |reply| {
                found = PeerInfo::parse(reply.attrs);
                found
                    .map(|_| ())
                    .ok_or_else(|| Error::protocol("look up peer"))
            },
        )?;
        found.ok_or_else(|| Error::new("look up peer", ErrorKind::NotFound))
    }

    /// Calls `each` for every peer of the network namespace.
    pub fn each_peer(&self, mut each: impl FnMut(&PeerInfo)) -> Result<()> {
        self.lock().request(
            self.request("list peers", cmd::PEER_GET, RequestKind::Dump),
            |_| {},
            |reply| {
                let peer =
                    PeerInfo::parse(reply.attrs).ok_or_else(|| Error::protocol("list peers"))?;
                each(&peer);
                Ok(())
            },
        )
    }

    /// Looks a group up by owner and name.
    pub fn group(&self, owner: &Name, group: &Name) -> Result<GroupInfo> {
        let mut found = None;
        self.lock().request(
            self.request("look up group", cmd::GROUP_GET, RequestKind::Do),
            |b| {
                b.attr_str(attr::PEER_NAME, owner.as_str())
                    .attr_str(attr::GROUP_NAME, group.as_str());
            },
            |reply| {
                found = GroupInfo::parse(reply.attrs);
                found
                    .map(|_| ())
                    .ok_or_else(|| Error::protocol("look up group"))
            },
        )?;
        found.ok_or_else(|| Error::new("look up group", ErrorKind::NotFound))
    }

    /// Calls `each` for every group (of `owner` only, if given).
    pub fn each_group(&self, owner: Option<&Name>, mut each: impl FnMut(&GroupInfo)) -> Result<()> {
        self.lock().request(
            self.request("list groups", cmd::GROUP_GET, RequestKind::Dump),
            |b| {
                if let Some(owner) = owner {
                    b.attr_str(attr::PEER_NAME, owner.as_str());
                }
            },
            |reply| {
                let group =
                    GroupInfo::parse(reply.attrs).ok_or_else(|| Error::protocol("list groups"))?;
                each(&group);
                Ok(())
            },
        )
    }
}

/// How to find a peer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PeerKey<'a> {
    Name(&'a Name),
    Port(u32),
}
