//! Sending: unicast to a peer by name, multicast to one's own group (both
//! wait for the kernel's verdict), and posted sends (one system call, a
//! failure arrives later as a `LIBIPCON_SEND_FAILED_MSG`).

use core::ffi::{c_char, c_int, c_void};

use ipcon_core::Ticket;
use ipcon_linux::{Error, PeerRef};

use crate::args;
use crate::handler::with_peer;

/// A unicast from C arguments (`uid`: the receiver's owner expected, if any).
///
/// # Safety
/// As [`ipcon_send_unicast`].
unsafe fn unicast(
    handler: *mut c_void,
    name: *const c_char,
    buf: *const c_void,
    size: usize,
    uid: Option<u32>,
) -> c_int {
    const OPERATION: &str = "send unicast";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let to = PeerRef::Name(args::name(OPERATION, name)?);
            let payload = args::payload(OPERATION, buf, size)?;
            let mut control = peer.control.lock();
            match uid {
                None => control.send_unicast(to, payload)?,
                Some(uid) => control.send_unicast_expecting(to, uid, payload)?,
            }
            Ok(0)
        })
    }
}

/// `int ipcon_send_unicast(IPCON_HANDLER handler, const char *name, const void *buf, size_t size)`
///
/// # Safety
/// `handler` is NULL or a live handler; `name` is NULL or a C string; `buf`
/// is NULL or has `size` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_send_unicast(
    handler: *mut c_void,
    name: *const c_char,
    buf: *const c_void,
    size: usize,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe { unicast(handler, name, buf, size, None) }
}

/// `int ipcon_send_unicast_expect_uid(IPCON_HANDLER handler, const char *name,
/// const void *buf, size_t size, uint32_t uid)`: delivered only if peer
/// `name` belongs to user `uid`, else `-EPERM` and nothing is delivered.
///
/// # Safety
/// As [`ipcon_send_unicast`].
#[no_mangle]
pub unsafe extern "C" fn ipcon_send_unicast_expect_uid(
    handler: *mut c_void,
    name: *const c_char,
    buf: *const c_void,
    size: usize,
    uid: u32,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe { unicast(handler, name, buf, size, Some(uid)) }
}

/// `int ipcon_send_multicast(IPCON_HANDLER handler, const char *name, const void *buf,
/// size_t size, int sync)`: with `sync`, the kernel also reports how many
/// subscribers got it (the call still returns 0, as the original's did).
///
/// # Safety
/// As [`ipcon_send_unicast`].
#[no_mangle]
pub unsafe extern "C" fn ipcon_send_multicast(
    handler: *mut c_void,
    name: *const c_char,
    buf: *const c_void,
    size: usize,
    sync: c_int,
) -> c_int {
    const OPERATION: &str = "send multicast";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let group = args::name(OPERATION, name)?;
            let payload = args::payload(OPERATION, buf, size)?;
            let mut control = peer.control.lock();
            if sync == 0 {
                control.send_multicast(group, payload)?;
            } else {
                control.send_multicast_sync(group, payload)?;
            }
            Ok(0)
        })
    }
}

/// Gives a posted send's ticket to the caller (`ticket` may be NULL).
///
/// # Safety
/// `ticket` is NULL or writable.
unsafe fn hand_out(posted: Ticket, ticket: *mut u32) -> Result<c_int, Error> {
    if !ticket.is_null() {
        // SAFETY: the caller's promise.
        unsafe { *ticket = posted.get() };
    }
    Ok(0)
}

/// `int ipcon_post_unicast(IPCON_HANDLER handler, const char *name, const void *buf,
/// size_t size, uint32_t *ticket)`
///
/// # Safety
/// As [`ipcon_send_unicast`]; `ticket` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_post_unicast(
    handler: *mut c_void,
    name: *const c_char,
    buf: *const c_void,
    size: usize,
    ticket: *mut u32,
) -> c_int {
    const OPERATION: &str = "post unicast";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let to = args::name(OPERATION, name)?;
            let payload = args::payload(OPERATION, buf, size)?;
            let posted = peer.control.lock().post_unicast(PeerRef::Name(to), payload);
            hand_out(posted?, ticket)
        })
    }
}

/// `int ipcon_post_multicast(IPCON_HANDLER handler, const char *name, const void *buf,
/// size_t size, uint32_t *ticket)`
///
/// # Safety
/// As [`ipcon_post_unicast`].
#[no_mangle]
pub unsafe extern "C" fn ipcon_post_multicast(
    handler: *mut c_void,
    name: *const c_char,
    buf: *const c_void,
    size: usize,
    ticket: *mut u32,
) -> c_int {
    const OPERATION: &str = "post multicast";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let group = args::name(OPERATION, name)?;
            let payload = args::payload(OPERATION, buf, size)?;
            let posted = peer.control.lock().post_multicast(group, payload);
            hand_out(posted?, ticket)
        })
    }
}
