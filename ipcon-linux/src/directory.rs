//! Look-ups without registering a peer (what the operator CLI uses).

use std::time::Duration;

use ipcon_core::wire::ipcon::PeerRef;
use ipcon_core::Name;

use crate::control::Control;
use crate::error::{ErrorKind, Result};
use crate::handler::DEFAULT_REQUEST_TIMEOUT;
use crate::info::{GroupInfo, PeerInfo};

/// Read-only access to the peers and groups of the network namespace.
///
/// It registers nothing, so it causes no kernel events.
///
/// ```no_run
/// let dir = ipcon_linux::Directory::open()?;
/// for peer in dir.peers()? {
///     println!("{peer}");
/// }
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
#[derive(Debug)]
pub struct Directory {
    control: Control,
}

impl Directory {
    /// Opens a request socket ([`ErrorKind::ModuleNotLoaded`] without the
    /// module).
    pub fn open() -> Result<Self> {
        Self::with_timeout(DEFAULT_REQUEST_TIMEOUT)
    }

    /// Like [`Directory::open`], waiting at most `timeout` per request.
    pub fn with_timeout(timeout: Duration) -> Result<Self> {
        Ok(Self {
            control: Control::open(timeout)?,
        })
    }

    /// Describes the peer named `peer` ([`ErrorKind::NotFound`] if absent).
    pub fn peer(&self, peer: &str) -> Result<PeerInfo> {
        self.control.peer(PeerRef::Name(Name::new(peer)?))
    }

    /// Describes the peer at `port`.
    pub fn peer_by_port(&self, port: u32) -> Result<PeerInfo> {
        self.control.peer(PeerRef::Port(port))
    }

    /// Whether a peer named `peer` is registered.
    pub fn is_peer_present(&self, peer: &str) -> Result<bool> {
        match self.peer(peer) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Describes group `group` of `owner`, or `None`.
    pub fn group(&self, owner: &str, group: &str) -> Result<Option<GroupInfo>> {
        match self.control.group(Name::new(owner)?, Name::new(group)?) {
            Ok(g) => Ok(Some(g)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Calls `each` for every peer, without collecting them.
    pub fn for_each_peer(&self, each: impl FnMut(&PeerInfo)) -> Result<()> {
        self.control.each_peer(each)
    }

    /// Calls `each` for every group (of `owner` only, if given).
    pub fn for_each_group(&self, owner: Option<&str>, each: impl FnMut(&GroupInfo)) -> Result<()> {
        let owner = owner.map(Name::new).transpose()?;
        self.control.each_group(owner, each)
    }

    /// Lists every peer.
    pub fn peers(&self) -> Result<Vec<PeerInfo>> {
        let mut all = Vec::new();
        self.for_each_peer(|p| all.push(*p))?;
        Ok(all)
    }

    /// Lists every group (of `owner` only, if given).
    pub fn groups(&self, owner: Option<&str>) -> Result<Vec<GroupInfo>> {
        let mut all = Vec::new();
        self.for_each_group(owner, |g| all.push(*g))?;
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_the_module_opening_fails_clearly() {
        match Directory::open() {
            Ok(_) => {} // the module is loaded (inside the VM)
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ModuleNotLoaded);
                assert_eq!(
                    e.to_string(),
                    "open ipcon: ipcon kernel module not loaded (try: modprobe ipcon)"
                );
            }
        }
    }
}
