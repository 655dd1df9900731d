//! Receiving into the caller's `struct ipcon_msg`: blocking, with a time
//! limit, or not at all. The receive lock is held only to take what is
//! queued; waiting is a `poll` of the data socket without it.

use core::ffi::{c_char, c_int, c_void};
use core::ptr::addr_of_mut;
use core::time::Duration;

use ipcon_core::wire::ipcon::{Delivery, PeerRef, Sender};
use ipcon_core::{KeventKind, Name, PeerIdentity, RemoveReason};
use ipcon_linux::engine::{Clock, MonotonicClock, Received};
use ipcon_linux::{Error, ErrorKind, Wait};
use linux_raw_sys::errno as e;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fd::BorrowedFd;

use crate::abi::{self, put_name, IpconMsg, Kevent, KeventBody, KeventGroup, KeventPeer};
use crate::args;
use crate::handler::{with_peer, Peer};

/// C's `struct timeval`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Timeval {
    /// Seconds.
    pub tv_sec: core::ffi::c_long,
    /// Microseconds.
    pub tv_usec: core::ffi::c_long,
}

/// The fields every message sets.
struct Head {
    kind: c_int,
    group: Option<Name>,
    peer: Option<Name>,
    pid: u32,
    uid: u32,
    port: u32,
    missed: u32,
    flags: u32,
}

impl Head {
    fn new(kind: c_int) -> Self {
        Self {
            kind,
            group: None,
            peer: None,
            pid: 0,
            uid: 0,
            port: 0,
            missed: 0,
            flags: 0,
        }
    }

    fn from_sender(kind: c_int, sender: &Sender, missed: u32) -> Self {
        Self {
            peer: sender.name,
            pid: sender.pid,
            uid: sender.uid,
            port: sender.port,
            missed,
            ..Self::new(kind)
        }
    }

    fn from_identity(peer: &PeerIdentity) -> Self {
        Self {
            peer: peer.name,
            pid: peer.pid,
            uid: peer.uid,
            port: peer.port,
            ..Self::new(abi::KEVENT_MSG)
        }
    }
}

/// Writes `head` and `payload` into `im`.
///
/// # Safety
/// `im` points to a writable `struct ipcon_msg` (its contents may be
/// uninitialised: only writes, through places, no reads).
unsafe fn write(im: *mut IpconMsg, head: &Head, payload: &[u8]) {
    // A delivery's payload is at most the protocol maximum; the kernel's
    // texts are shorter.
    let len = payload.len().min(abi::MAX_PAYLOAD_LEN);
    // SAFETY: `im` is writable (the caller's promise); `len` fits `buf`.
    unsafe {
        (*im).kind = head.kind;
        put_name(&mut *addr_of_mut!((*im).group), head.group.as_ref());
        put_name(&mut *addr_of_mut!((*im).peer), head.peer.as_ref());
        (*im).len = len as u32;
        core::ptr::copy_nonoverlapping(
            payload.as_ptr(),
            addr_of_mut!((*im).body).cast::<u8>(),
            len,
        );
        (*im).pid = head.pid;
        (*im).uid = head.uid;
        (*im).port = head.port;
        (*im).missed = head.missed;
        (*im).flags = head.flags;
        (*im).ticket = 0;
        (*im).error = 0;
        (*im).reserved = [0; 3];
    }
}

fn name_buf(name: Option<&Name>) -> [c_char; abi::MAX_NAME_LEN] {
    let mut buf = [0; abi::MAX_NAME_LEN];
    put_name(&mut buf, name);
    buf
}

/// Fills `im` from a delivery; `None` for a kernel event this version does
/// not know (the receive counts it as dropped and goes on).
///
/// # Safety
/// As [`write`].
unsafe fn fill(im: *mut IpconMsg, received: &Received<'_>) -> Option<()> {
    match &received.delivery {
        Delivery::Unicast(u) => {
            let head = Head::from_sender(abi::NORMAL_MSG, &u.sender, u.missed);
            // SAFETY: passed on.
            unsafe { write(im, &head, u.payload) };
        }
        Delivery::Group(g) => {
            let mut head = Head::from_sender(abi::GROUP_MSG, &g.sender, g.missed);
            head.group = Some(g.group);
            if g.replayed {
                head.flags |= abi::MSG_REPLAYED;
            }
            // SAFETY: passed on.
            unsafe { write(im, &head, g.payload) };
        }
        Delivery::Kevent(event) => {
            let (kind, who, group, reason) = match &event.kind {
                KeventKind::PeerAdd(peer) => (abi::EVENT_PEER_ADD, peer, None, None),
                KeventKind::PeerRemove { peer, reason } => {
                    (abi::EVENT_PEER_REMOVE, peer, None, Some(*reason))
                }
                KeventKind::GroupAdd { owner, group } => {
                    (abi::EVENT_GRP_ADD, owner, Some(*group), None)
                }
                KeventKind::GroupRemove {
                    owner,
                    group,
                    reason,
                } => (abi::EVENT_GRP_REMOVE, owner, Some(*group), Some(*reason)),
                KeventKind::Unknown(_) => return None,
            };
            let mut head = Head::from_identity(who);
            head.group = group;
            head.missed = u32::try_from(received.kevents_missed).unwrap_or(u32::MAX);
            if reason == Some(RemoveReason::Closed) {
                head.flags |= abi::MSG_CLOSED;
            }
            let body = match group {
                Some(group) => KeventBody {
                    group: KeventGroup {
                        name: name_buf(Some(&group)),
                        peer_name: name_buf(who.name.as_ref()),
                    },
                },
                None => KeventBody {
                    peer: KeventPeer {
                        name: name_buf(who.name.as_ref()),
                    },
                },
            };
            // SAFETY: passed on; the kevent is written after the (empty)
            // payload, through a place.
            unsafe {
                write(im, &head, &[]);
                (*im).len = core::mem::size_of::<Kevent>() as u32;
                (*im).body.kevent = Kevent { kind, body };
            }
        }
        Delivery::SendFailed(failure) => {
            let mut head = Head::new(abi::SEND_FAILED_MSG);
            head.group = failure.group;
            head.missed = failure.missed;
            match failure.peer {
                Some(PeerRef::Name(name)) => head.peer = Some(name),
                Some(PeerRef::Port(port)) => head.port = port,
                None => {}
            }
            let text = failure.message.unwrap_or("");
            // SAFETY: passed on.
            unsafe {
                write(im, &head, text.as_bytes());
                (*im).ticket = failure.ticket;
                (*im).error = -c_int::try_from(failure.errno).unwrap_or(c_int::MAX);
            }
        }
    }
    Some(())
}

/// Waits until the data socket is readable or `left` passes (`None`:
/// forever). `Ok(false)`: the time is up.
pub(crate) fn wait_readable(peer: &Peer, left: Option<Duration>) -> Result<bool, Error> {
    // SAFETY: the data socket is owned by the receiver, which lives as long
    // as the peer this borrow comes from.
    let fd = unsafe { BorrowedFd::borrow_raw(peer.read_fd) };
    let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
    let timeout = left.map(|left| Timespec {
        tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(left.subsec_nanos()),
    });
    match poll(&mut fds, timeout.as_ref()) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(errno) => Err(Error::from_errno("receive", errno.raw_os_error())),
    }
}

/// Receives one message into `im` as `wait` says.
///
/// # Safety
/// `im` is NULL or points to a writable `struct ipcon_msg`.
pub(crate) unsafe fn receive(peer: &Peer, im: *mut IpconMsg, wait: Wait) -> Result<c_int, Error> {
    const OPERATION: &str = "receive";
    if im.is_null() {
        return Err(args::null(OPERATION));
    }
    let clock = MonotonicClock;
    let deadline = match wait {
        Wait::Timeout(limit) => Some(clock.now().saturating_add(limit)),
        _ => None,
    };
    loop {
        // Take what is queued, if anything, under the lock only.
        let taken = peer.receiver.lock().receive_with(Wait::Never, |received| {
            // SAFETY: `im` is writable (the caller's promise).
            unsafe { fill(im, &received) }
        });
        match taken {
            Ok(()) => return Ok(0),
            Err(err) if err.kind() == ErrorKind::WouldBlock && wait != Wait::Never => {}
            Err(err) => return Err(err),
        }
        let left = deadline.map(|at| at.saturating_sub(clock.now()));
        // Readable: take it (another thread of the same handler may have
        // been faster; then wait again).
        if !wait_readable(peer, left)? {
            return Err(Error::new(OPERATION, ErrorKind::Timeout));
        }
    }
}

/// `int ipcon_rcv(IPCON_HANDLER handler, struct ipcon_msg *im)`
///
/// # Safety
/// `handler` is NULL or a live handler; `im` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_rcv(handler: *mut c_void, im: *mut IpconMsg) -> c_int {
    // SAFETY: the caller's promises.
    unsafe { with_peer(handler, |peer| receive(peer, im, Wait::Forever)) }
}

/// `int ipcon_rcv_nonblock(IPCON_HANDLER handler, struct ipcon_msg *im)`
///
/// # Safety
/// As [`ipcon_rcv`].
#[no_mangle]
pub unsafe extern "C" fn ipcon_rcv_nonblock(handler: *mut c_void, im: *mut IpconMsg) -> c_int {
    // SAFETY: the caller's promises.
    unsafe { with_peer(handler, |peer| receive(peer, im, Wait::Never)) }
}

/// `int ipcon_rcv_timeout(IPCON_HANDLER handler, struct ipcon_msg *im, struct timeval *timeout)`:
/// NULL `timeout` waits forever.
///
/// # Safety
/// As [`ipcon_rcv`]; `timeout` is NULL or readable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_rcv_timeout(
    handler: *mut c_void,
    im: *mut IpconMsg,
    timeout: *const Timeval,
) -> c_int {
    const OPERATION: &str = "receive";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let wait = match timeout.as_ref() {
                None => Wait::Forever,
                Some(t) if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) => {
                    return Err(Error::from_errno(OPERATION, e::EINVAL as i32));
                }
                Some(t) => Wait::Timeout(
                    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64),
                ),
            };
            receive(peer, im, wait)
        })
    }
}
