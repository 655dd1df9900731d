//! Look-ups, listings and waiting for peers and groups: a [`Directory`] of
//! its own (no peer registered), or a handler's ([`Handler::directory`]).
//!
//! [`Handler::directory`]: crate::Handler::directory

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use std::vec::Vec;

use ipcon_core::wire::ipcon::PeerRef;
use ipcon_core::{KeventKind, Message, Name};

use crate::clock::{Clock, MonotonicClock, Wait};
use crate::control::Control;
use crate::error::{Error, ErrorKind, Result};
use crate::peer::{open_kevent_monitor, DEFAULT_REQUEST_TIMEOUT};
use crate::{GroupInfo, PeerInfo};

/// Read-only access to the peers and groups of the network namespace, and
/// waiting for them to appear.
///
/// Opened alone, it registers nothing, so it causes no kernel events.
///
/// ```no_run
/// use ipcon_linux::{Directory, Wait};
/// let dir = Directory::open()?;
/// for peer in dir.peers()? {
///     println!("{peer}");
/// }
/// dir.wait_for_group("string_service", "str_msg", Wait::Forever)?;
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
#[derive(Debug)]
pub struct Directory {
    control: Mutex<Box<Control>>,
}

impl Directory {
    /// Opens a request socket ([`ErrorKind::ModuleNotLoaded`] without the
    /// module).
    pub fn open() -> Result<Self> {
        Self::with_timeout(DEFAULT_REQUEST_TIMEOUT)
    }

    /// Like [`Directory::open`], waiting at most `timeout` per request.
    pub fn with_timeout(timeout: Duration) -> Result<Self> {
        Ok(Self::of(Control::directory(timeout, MonotonicClock)?))
    }

    /// The directory of a handler's control half.
    pub(crate) fn of(control: Control) -> Self {
        Self {
            control: Mutex::new(Box::new(control)),
        }
    }

    /// The control half; a panic in another thread while holding it leaves
    /// it usable (the tracker forgets unfinished requests).
    pub(crate) fn control(&self) -> MutexGuard<'_, Box<Control>> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Describes the peer named `peer` ([`ErrorKind::NotFound`] if absent).
    pub fn peer(&self, peer: &str) -> Result<PeerInfo> {
        let peer = PeerRef::Name(Name::new(peer)?);
        self.control().peer(peer)
    }

    /// Describes the peer at `port` ([`ErrorKind::NotFound`] if absent).
    pub fn peer_by_port(&self, port: u32) -> Result<PeerInfo> {
        self.control().peer(PeerRef::Port(port))
    }

    /// Whether a peer named `peer` is registered.
    pub fn is_peer_present(&self, peer: &str) -> Result<bool> {
        match self.peer(peer) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Describes group `group` of `owner`, or `None` if there is no such
    /// group.
    pub fn group(&self, owner: &str, group: &str) -> Result<Option<GroupInfo>> {
        let (owner, group) = (Name::new(owner)?, Name::new(group)?);
        match self.control().group(owner, group) {
            Ok(g) => Ok(Some(g)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Calls `each` for every peer, without collecting them.
    pub fn for_each_peer(&self, each: impl FnMut(&PeerInfo)) -> Result<()> {
        self.control().for_each_peer(each)
    }

    /// Calls `each` for every group (of `owner` only, if given).
    pub fn for_each_group(&self, owner: Option<&str>, each: impl FnMut(&GroupInfo)) -> Result<()> {
        let owner = owner.map(Name::new).transpose()?;
        self.control().for_each_group(owner, each)
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

    /// Waits until a peer named `peer` is registered and describes it
    /// ([`ErrorKind::Timeout`] when `wait` runs out first,
    /// [`ErrorKind::WouldBlock`] for [`Wait::Never`] and no such peer).
    ///
    /// Driven by kernel events, never by polling: it subscribes first, then
    /// looks the peer up, then sleeps until a `peer-add` of that name (or a
    /// gap in the events' sequence, after which it looks again).
    pub fn wait_for_peer(&self, peer: &str, wait: Wait) -> Result<PeerInfo> {
        let name = Name::new(peer)?;
        self.wait_for(
            "wait for peer",
            wait,
            |dir| dir.peer(peer),
            |kind| matches!(kind, KeventKind::PeerAdd(p) if p.name == Some(name)),
        )
    }

    /// Waits until `owner` has registered group `group` and describes it
    /// (like [`Directory::wait_for_peer`], woken by `group-add`).
    pub fn wait_for_group(&self, owner: &str, group: &str, wait: Wait) -> Result<GroupInfo> {
        let (owner_name, group_name) = (Name::new(owner)?, Name::new(group)?);
        let look = |dir: &Self| {
            dir.group(owner, group)?
                .ok_or_else(|| Error::new("look up group", ErrorKind::NotFound))
        };
        self.wait_for("wait for group", wait, look, |kind| {
            matches!(kind, KeventKind::GroupAdd { owner: o, group: g }
                if o.name == Some(owner_name) && *g == group_name)
        })
    }

    fn wait_for<T>(
        &self,
        operation: &'static str,
        wait: Wait,
        look: impl Fn(&Self) -> Result<T>,
        announces: impl Fn(&KeventKind) -> bool,
    ) -> Result<T> {
        let clock = MonotonicClock;
        let end = match wait {
            Wait::Timeout(limit) => Some(clock.now().saturating_add(limit)),
            _ => None,
        };
        // Subscribed before the first look-up: an arrival in between is an
        // event still to read.
        let mut events = Box::new(open_kevent_monitor(clock)?);
        let mut event: Box<Message> = Box::default();
        loop {
            match look(self) {
                Ok(found) => return Ok(found),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if wait == Wait::Never {
                return Err(Error::new(operation, ErrorKind::WouldBlock));
            }
            loop {
                let this_wait = match end {
                    Some(end) => Wait::Timeout(end.saturating_sub(clock.now())),
                    None => Wait::Forever,
                };
                events
                    .receive(&mut event, this_wait)
                    .map_err(|e| e.in_operation(operation))?;
                let announced = event.kevent().is_some_and(|k| announces(&k.kind));
                if announced || event.kevents_missed() > 0 {
                    break;
                }
            }
        }
    }
}
