//! The original library's callback API: `ipcon_async_rcv` runs a receive
//! loop on the calling thread and hands each message and kernel event to
//! the caller's callbacks, joining the listed groups whenever they appear,
//! until `ipcon_async_rcv_stop`.

use core::cell::Cell;
use core::ffi::{c_char, c_int, c_void};
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use ipcon_core::Name;
use ipcon_linux::{Error, PeerRef, Replay, Wait};
use linux_raw_sys::errno as e;

use crate::abi::{self, IpconMsg};
use crate::args;
use crate::handler::{peer, Peer};
use crate::receive;

/// `struct peer_group_info`: a peer to watch, and optionally its group to
/// join whenever it exists.
#[repr(C)]
#[derive(Debug)]
pub struct PeerGroupInfo {
    /// The peer.
    pub peer_name: *const c_char,
    /// Its group, or NULL.
    pub group_name: *const c_char,
    /// Join `group_name` now if it exists and whenever it appears.
    pub auto_join: c_int,
}

type PeerCb = Option<unsafe extern "C" fn(*mut c_char, *mut c_void)>;
type GroupCb = Option<unsafe extern "C" fn(*mut c_char, *mut c_char, *mut c_void)>;

/// `struct async_cb_ctl`: the callbacks (each may be NULL) and their `data`.
#[repr(C)]
#[derive(Debug)]
pub struct AsyncCbCtl {
    /// A unicast: sender, payload, its length.
    pub normal_msg_cb: Option<unsafe extern "C" fn(*mut c_char, *mut c_void, usize, *mut c_void)>,
    /// A group message: sender, group, payload, its length.
    pub group_msg_cb:
        Option<unsafe extern "C" fn(*mut c_char, *mut c_char, *mut c_void, usize, *mut c_void)>,
    /// A watched peer appeared.
    pub peer_add: PeerCb,
    /// A watched peer is gone.
    pub peer_remove: PeerCb,
    /// A group of a watched peer appeared.
    pub group_add: GroupCb,
    /// A group of a watched peer is gone.
    pub group_remove: GroupCb,
    /// An auto-joined group was joined.
    pub auto_group_join: GroupCb,
    /// An auto-joined group is gone (and so left).
    pub auto_group_leave: GroupCb,
    /// A receive failed (negative errno); the loop ends after it.
    pub rcv_msg_error: Option<unsafe extern "C" fn(c_int, *mut c_void)>,
    /// Passed to every callback.
    pub data: *mut c_void,
}

/// `struct async_rcv_ctl`.
#[repr(C)]
#[derive(Debug)]
pub struct AsyncRcvCtl {
    /// The peers (and groups) to watch; NULL with `num` 0: every peer.
    pub pgi: *const PeerGroupInfo,
    /// Entries of `pgi`.
    pub num: c_int,
    /// The callbacks.
    pub cb: AsyncCbCtl,
}

/// Whether `name` (a C name buffer) equals the C string `want`.
///
/// # Safety
/// `want` is NULL or a C string.
unsafe fn same(name: &[c_char], want: *const c_char) -> bool {
    if want.is_null() {
        return false;
    }
    for (index, &byte) in name.iter().enumerate() {
        // SAFETY: read up to the first difference or the NUL.
        let other = unsafe { *want.add(index) };
        if byte != other {
            return false;
        }
        if byte == 0 {
            return true;
        }
    }
    false
}

extern "C" {
    fn calloc(count: usize, size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
}

/// Whether the loop is in each `pgi` entry's group, one flag per entry,
/// from `calloc` for the length of one loop (no fixed limit on `num`).
///
/// Kept because events describe the past: a group-add event may be read
/// after its group went and came back. Joining on it would join the new
/// group, and its group-remove event would then report a leave while the
/// loop is in the group. With the flag, a group-add while joined does
/// nothing, a group-remove reports a leave only of a joined group, and the
/// callbacks alternate join, leave, join as the group comes and goes.
struct JoinedFlags {
    flags: NonNull<Cell<bool>>,
    len: usize,
}

impl JoinedFlags {
    /// `len` flags, all clear; `None` if memory is short.
    fn new(len: usize) -> Option<Self> {
        if len == 0 {
            return Some(Self {
                flags: NonNull::dangling(),
                len,
            });
        }
        // SAFETY: calloc takes any sizes; NULL is handled.
        let flags = NonNull::new(unsafe { calloc(len, core::mem::size_of::<Cell<bool>>()) })?;
        Some(Self {
            flags: flags.cast(),
            len,
        })
    }

    fn as_slice(&self) -> &[Cell<bool>] {
        // SAFETY: `len` zeroed (false) flags, or none; freed only on drop.
        unsafe { core::slice::from_raw_parts(self.flags.as_ptr(), self.len) }
    }
}

impl Drop for JoinedFlags {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: from calloc in `new`, freed once.
            unsafe { free(self.flags.as_ptr().cast()) };
        }
    }
}

/// The loop's view of `arc`.
struct Ctl<'a> {
    watched: &'a [PeerGroupInfo],
    cb: &'a AsyncCbCtl,
    /// Per `watched` entry: the loop is in its group.
    joined: &'a [Cell<bool>],
}

impl Ctl<'_> {
    /// Whether events about `peer` reach the callbacks: every peer without
    /// a list, else the listed ones.
    fn watches(&self, peer: &[c_char]) -> bool {
        // SAFETY: the list's names are C strings (the API's contract).
        self.watched.is_empty()
            || self
                .watched
                .iter()
                .any(|w| unsafe { same(peer, w.peer_name) })
    }

    /// The joined flag of the auto-join entry for `peer`'s group `group`.
    fn auto_join(&self, peer: &[c_char], group: &[c_char]) -> Option<&Cell<bool>> {
        let index = self.watched.iter().position(|w| {
            // SAFETY: as above.
            w.auto_join != 0 && unsafe { same(peer, w.peer_name) && same(group, w.group_name) }
        })?;
        self.joined.get(index)
    }
}

fn join_now(owner: &[c_char], group: &[c_char], peer: &Peer) -> Result<(), Error> {
    let name = |buf: &[c_char]| {
        let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let bytes: &[u8] = {
            // SAFETY: c_char and u8 have the same size and alignment.
            unsafe { core::slice::from_raw_parts(buf.as_ptr().cast(), len) }
        };
        Name::from_bytes(bytes).map_err(Error::from)
    };
    peer.control
        .lock()
        .join_group(name(owner)?, name(group)?, Replay::Skip)
}

/// Hands one message to the callbacks; `Err` ends the loop.
///
/// # Safety
/// The callbacks are callable with the documented arguments.
unsafe fn dispatch(peer: &Peer, ctl: &Ctl<'_>, im: &mut IpconMsg) -> Result<(), Error> {
    let cb = ctl.cb;
    let data = cb.data;
    let peer_name = im.peer.as_mut_ptr();
    let group_name = im.group.as_mut_ptr();
    match im.kind {
        abi::NORMAL_MSG => {
            if let Some(f) = cb.normal_msg_cb {
                // SAFETY: the caller's callback, with the message's fields.
                unsafe {
                    f(
                        peer_name,
                        im.body.buf.as_mut_ptr().cast(),
                        im.len as usize,
                        data,
                    )
                };
            }
        }
        abi::GROUP_MSG => {
            if let Some(f) = cb.group_msg_cb {
                // SAFETY: as above.
                unsafe {
                    f(
                        peer_name,
                        group_name,
                        im.body.buf.as_mut_ptr().cast(),
                        im.len as usize,
                        data,
                    )
                };
            }
        }
        abi::KEVENT_MSG => {
            // SAFETY: a kernel event message carries the kevent member.
            let kind = unsafe { im.body.kevent.kind };
            if !ctl.watches(&im.peer) {
                return Ok(());
            }
            let (simple, auto) = match kind {
                abi::EVENT_PEER_ADD => (cb.peer_add.map(Ok), None),
                abi::EVENT_PEER_REMOVE => (cb.peer_remove.map(Ok), None),
                abi::EVENT_GRP_ADD => (cb.group_add.map(Err), Some(true)),
                abi::EVENT_GRP_REMOVE => (cb.group_remove.map(Err), Some(false)),
                _ => (None, None),
            };
            match simple {
                // SAFETY: the caller's callbacks.
                Some(Ok(f)) => unsafe { f(peer_name, data) },
                // SAFETY: the caller's callbacks.
                Some(Err(f)) => unsafe { f(peer_name, group_name, data) },
                None => {}
            }
            if let Some(appeared) = auto {
                let Some(joined) = ctl.auto_join(&im.peer, &im.group) else {
                    return Ok(());
                };
                if appeared {
                    if joined.get() {
                        // In the group already: joined at the loop's first
                        // look, or this event is older than the group.
                        return Ok(());
                    }
                    match join_now(&im.peer, &im.group, peer) {
                        // Gone again since the event was sent: its
                        // group-remove event follows (and a group-add if it
                        // comes back). That does not end the loop.
                        Err(err) if err.kind() == ipcon_linux::ErrorKind::NotFound => return Ok(()),
                        // The kernel has the membership: it is a join.
                        Err(err) if err.kind() == ipcon_linux::ErrorKind::AlreadyExists => {}
                        joined_now => joined_now?,
                    }
                    joined.set(true);
                    if let Some(f) = cb.auto_group_join {
                        // SAFETY: the caller's callback.
                        unsafe { f(peer_name, group_name, data) };
                    }
                } else if joined.replace(false) {
                    if let Some(f) = cb.auto_group_leave {
                        // SAFETY: the caller's callback.
                        unsafe { f(peer_name, group_name, data) };
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The loop of `ipcon_async_rcv`.
///
/// # Safety
/// `arc` is a valid control block whose callbacks are callable.
unsafe fn run(peer: &Peer, arc: &AsyncRcvCtl) -> Result<c_int, Error> {
    const OPERATION: &str = "async receive";
    let watched: &[PeerGroupInfo] = match usize::try_from(arc.num) {
        Ok(0) => &[],
        Ok(n) if !arc.pgi.is_null() => {
            // SAFETY: `pgi` has `num` entries (the API's contract).
            unsafe { core::slice::from_raw_parts(arc.pgi, n) }
        }
        _ => return Err(args::null(OPERATION)),
    };
    let Some(joined) = JoinedFlags::new(watched.len()) else {
        return Err(Error::from_errno(OPERATION, e::ENOMEM as i32));
    };
    let ctl = Ctl {
        watched,
        cb: &arc.cb,
        joined: joined.as_slice(),
    };
    let me = rustix::thread::gettid().as_raw_nonzero().get();
    peer.loop_thread.store(me, Ordering::Relaxed);
    // SAFETY: passed on from the caller.
    let result = unsafe { receive_loop(peer, arc, &ctl) };
    peer.loop_thread.store(0, Ordering::Relaxed);
    // A stop is used up by the loop it ended (or, called before any loop
    // ran, by the next one, which returns at once).
    peer.stop.store(false, Ordering::Relaxed);
    result
}

/// Joins the auto-join groups that exist, then receives and dispatches
/// until stopped.
///
/// # Safety
/// As [`run`].
unsafe fn receive_loop(peer: &Peer, arc: &AsyncRcvCtl, ctl: &Ctl<'_>) -> Result<c_int, Error> {
    const OPERATION: &str = "async receive";
    let watched = ctl.watched;
    // Events first, then look: a group registered in between is not missed.
    peer.receiver.lock().subscribe_kevents()?;
    for (entry, joined) in watched
        .iter()
        .zip(ctl.joined)
        .filter(|(w, _)| w.auto_join != 0)
    {
        // SAFETY: C strings (the API's contract).
        let owner = unsafe { args::name(OPERATION, entry.peer_name)? };
        // SAFETY: as above.
        let group = unsafe { args::name(OPERATION, entry.group_name)? };
        let joined_now = peer.control.lock().join_group(owner, group, Replay::Skip);
        match joined_now {
            Ok(()) => {
                joined.set(true);
                if let Some(f) = arc.cb.auto_group_join {
                    let mut owner_buf = [0; abi::MAX_NAME_LEN];
                    let mut group_buf = [0; abi::MAX_NAME_LEN];
                    abi::put_name(&mut owner_buf, Some(&owner));
                    abi::put_name(&mut group_buf, Some(&group));
                    // SAFETY: the caller's callback.
                    unsafe { f(owner_buf.as_mut_ptr(), group_buf.as_mut_ptr(), arc.cb.data) };
                }
            }
            // Not there yet: joined when its group-add event comes.
            Err(err) if err.kind() == ipcon_linux::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    let mut im = core::mem::MaybeUninit::<IpconMsg>::uninit();
    while !peer.stop.load(Ordering::Acquire) {
        // SAFETY: `im` is writable; a receive writes every field it reads.
        let received = unsafe { receive::receive(peer, im.as_mut_ptr(), Wait::Forever) };
        if let Err(err) = received {
            if let Some(f) = arc.cb.rcv_msg_error {
                // SAFETY: the caller's callback.
                unsafe { f(-crate::errors::errno_of(&err), arc.cb.data) };
            }
            return Err(err);
        }
        // SAFETY: filled by the successful receive.
        let msg = unsafe { im.assume_init_mut() };
        if peer.stop.load(Ordering::Acquire) {
            break;
        }
        // SAFETY: the caller's callbacks.
        unsafe { dispatch(peer, ctl, msg)? };
    }
    Ok(0)
}

/// `int ipcon_async_rcv(IPCON_HANDLER handler, struct async_rcv_ctl *arc)`
///
/// # Safety
/// `handler` is NULL or a live handler; `arc` is NULL or a valid control
/// block that outlives the call.
#[no_mangle]
pub unsafe extern "C" fn ipcon_async_rcv(handler: *mut c_void, arc: *mut AsyncRcvCtl) -> c_int {
    // SAFETY: the caller's promises.
    let (Some(peer), Some(arc)) = (unsafe { peer(handler) }, unsafe { arc.as_ref() }) else {
        return -(e::EINVAL as c_int);
    };
    // SAFETY: the caller's promises.
    peer.run(|peer| unsafe { run(peer, arc) })
}

/// `void ipcon_async_rcv_stop(IPCON_HANDLER handler)`: ends the loop of
/// `ipcon_async_rcv` once the current callback returns, or at once if it
/// waits (called from another thread).
///
/// # Safety
/// `handler` is NULL or a live handler.
#[no_mangle]
pub unsafe extern "C" fn ipcon_async_rcv_stop(handler: *mut c_void) {
    // SAFETY: the caller's promise.
    let Some(peer) = (unsafe { peer(handler) }) else {
        return;
    };
    peer.stop.store(true, Ordering::Release);
    // From a callback, the loop ends when it returns. From another thread,
    // wake the loop where it waits: a one-byte message to this very peer
    // (by port: it may be anonymous), dropped unseen as the loop ends.
    let me = rustix::thread::gettid().as_raw_nonzero().get();
    let looping = peer.loop_thread.load(Ordering::Relaxed);
    if looping == 0 || looping == me {
        return;
    }
    let mut control = peer.control.lock();
    if let Some(port) = control.port() {
        let _ = control.post_unicast(PeerRef::Port(port), b"\0");
    }
}
