//! Groups: registering, joining (with or without the last message's
//! replay; the kernel's event group by its name), leaving, and finding.

use core::ffi::{c_char, c_int, c_void};

use ipcon_core::Name;
use ipcon_linux::{Error, ErrorKind, Replay};

use crate::args;
use crate::handler::{with_peer, Peer};

/// `LIBIPCON_KERNEL_NAME`: the owner name of the kernel's event group.
pub const KERNEL_NAME: &str = ipcon_core::spec::FAMILY_NAME;
/// `LIBIPCON_KERNEL_GROUP_NAME` / `IPCON_KERNEL_GROUP`.
pub const KERNEL_GROUP: &str = ipcon_core::IPCON_KERNEL_GROUP;

fn is_kernel_group(owner: &Name, group: &Name) -> bool {
    owner.as_str() == KERNEL_NAME && group.as_str() == KERNEL_GROUP
}

/// `int ipcon_register_group(IPCON_HANDLER handler, const char *name)`
///
/// # Safety
/// `handler` is NULL or a live handler; `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_register_group(handler: *mut c_void, name: *const c_char) -> c_int {
    const OPERATION: &str = "register group";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let group = args::name(OPERATION, name)?;
            peer.control.lock().register_group(group, None, None)?;
            Ok(0)
        })
    }
}

/// `int ipcon_unregister_group(IPCON_HANDLER handler, const char *name)`
///
/// # Safety
/// `handler` is NULL or a live handler; `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_unregister_group(
    handler: *mut c_void,
    name: *const c_char,
) -> c_int {
    const OPERATION: &str = "unregister group";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let group = args::name(OPERATION, name)?;
            peer.control.lock().unregister_group(group)?;
            Ok(0)
        })
    }
}

fn join(
    peer: &Peer,
    owner: Name,
    group: Name,
    replay: Replay,
    uid: Option<u32>,
) -> Result<c_int, Error> {
    match uid {
        None if is_kernel_group(&owner, &group) => peer.receiver.lock().subscribe_kevents()?,
        None => peer.control.lock().join_group(owner, group, replay)?,
        Some(uid) => peer
            .control
            .lock()
            .join_group_expecting(owner, group, replay, uid)?,
    }
    Ok(0)
}

/// A join from C arguments (`uid`: the owner expected, if any).
///
/// # Safety
/// `handler` is NULL or a live handler; the names are NULL or C strings.
unsafe fn join_c(
    handler: *mut c_void,
    srvname: *const c_char,
    grpname: *const c_char,
    rcv_last_msg: c_int,
    uid: Option<u32>,
) -> c_int {
    const OPERATION: &str = "join group";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let owner = args::name(OPERATION, srvname)?;
            let group = args::name(OPERATION, grpname)?;
            let replay = if rcv_last_msg != 0 {
                Replay::LastMessage
            } else {
                Replay::Skip
            };
            join(peer, owner, group, replay, uid)
        })
    }
}

/// `int ipcon_join_group(IPCON_HANDLER handler, const char *srvname, const char *grpname)`
///
/// # Safety
/// `handler` is NULL or a live handler; the names are NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn ipcon_join_group(
    handler: *mut c_void,
    srvname: *const c_char,
    grpname: *const c_char,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe { ipcon_join_group_rcv_last(handler, srvname, grpname, 0) }
}

/// `int ipcon_join_group_rcv_last(IPCON_HANDLER handler, const char *srvname,
/// const char *grpname, int rcv_last_msg)`: the tutorial's `rcv_last_msg`.
///
/// # Safety
/// `handler` is NULL or a live handler; the names are NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn ipcon_join_group_rcv_last(
    handler: *mut c_void,
    srvname: *const c_char,
    grpname: *const c_char,
    rcv_last_msg: c_int,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe { join_c(handler, srvname, grpname, rcv_last_msg, None) }
}

/// `int ipcon_join_group_expect_uid(IPCON_HANDLER handler, const char *srvname,
/// const char *grpname, int rcv_last_msg, uint32_t uid)`: joins only if
/// `srvname` belongs to user `uid`, else `-EPERM` and nothing is joined.
///
/// # Safety
/// `handler` is NULL or a live handler; the names are NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn ipcon_join_group_expect_uid(
    handler: *mut c_void,
    srvname: *const c_char,
    grpname: *const c_char,
    rcv_last_msg: c_int,
    uid: u32,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe { join_c(handler, srvname, grpname, rcv_last_msg, Some(uid)) }
}

/// `int ipcon_leave_group(IPCON_HANDLER handler, const char *srvname, const char *grpname)`
///
/// # Safety
/// `handler` is NULL or a live handler; the names are NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn ipcon_leave_group(
    handler: *mut c_void,
    srvname: *const c_char,
    grpname: *const c_char,
) -> c_int {
    const OPERATION: &str = "leave group";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let owner = args::name(OPERATION, srvname)?;
            let group = args::name(OPERATION, grpname)?;
            if is_kernel_group(&owner, &group) {
                peer.receiver.lock().unsubscribe_kevents()?;
            } else {
                peer.control.lock().leave_group(owner, group)?;
            }
            Ok(0)
        })
    }
}

/// 1 for `Ok`, 0 for "not found", the error otherwise.
fn presence(found: Result<(), Error>) -> Result<c_int, Error> {
    match found {
        Ok(()) => Ok(1),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(0),
        Err(err) => Err(err),
    }
}

/// `int is_peer_present(IPCON_HANDLER handler, const char *name)`: 1, 0, or
/// a negative errno.
///
/// # Safety
/// `handler` is NULL or a live handler; `name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn is_peer_present(handler: *mut c_void, name: *const c_char) -> c_int {
    const OPERATION: &str = "look up peer";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let name = args::name(OPERATION, name)?;
            let found = peer.control.lock().peer(ipcon_linux::PeerRef::Name(name));
            presence(found.map(drop))
        })
    }
}

/// `int is_group_present(IPCON_HANDLER handler, const char *peer_name, const char *group_name)`
///
/// # Safety
/// `handler` is NULL or a live handler; the names are NULL or C strings.
#[no_mangle]
pub unsafe extern "C" fn is_group_present(
    handler: *mut c_void,
    peer_name: *const c_char,
    group_name: *const c_char,
) -> c_int {
    const OPERATION: &str = "look up group";
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let owner = args::name(OPERATION, peer_name)?;
            let group = args::name(OPERATION, group_name)?;
            if is_kernel_group(&owner, &group) {
                return Ok(1);
            }
            let found = peer.control.lock().group(owner, group);
            presence(found.map(drop))
        })
    }
}

/// `int ipcon_find_group(IPCON_HANDLER handler, const char *name, uint32_t *groupid)`:
/// `name` is `"group"` (the first group of that name, of any owner) or
/// `"owner/group"`; `*groupid` (if not NULL) gets the owner's port, or for
/// `IPCON_KERNEL_GROUP` the netlink multicast group of kernel events.
///
/// # Safety
/// `handler` is NULL or a live handler; `name` is NULL or a C string;
/// `groupid` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_find_group(
    handler: *mut c_void,
    name: *const c_char,
    groupid: *mut u32,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let id = find_group(peer, name)?;
            if !groupid.is_null() {
                *groupid = id;
            }
            Ok(0)
        })
    }
}

/// The id `ipcon_find_group` reports.
///
/// # Safety
/// `name` is NULL or a C string.
unsafe fn find_group(peer: &Peer, name: *const c_char) -> Result<u32, Error> {
    const OPERATION: &str = "find group";
    if name.is_null() {
        return Err(args::null(OPERATION));
    }
    // An `owner/group` text is up to 63 bytes and a NUL.
    let mut text = [0u8; 2 * crate::abi::MAX_NAME_LEN];
    let mut len = None;
    for (index, slot) in text.iter_mut().enumerate() {
        // SAFETY: readable up to the NUL, where the loop stops.
        let byte = unsafe { *name.add(index) } as u8;
        if byte == 0 {
            len = Some(index);
            break;
        }
        *slot = byte;
    }
    let text = len
        .and_then(|len| core::str::from_utf8(&text[..len]).ok())
        .ok_or_else(|| Error::from(ipcon_core::NameError::TooLong))?;
    let mut control = peer.control.lock();
    if let Some((owner, group)) = text.split_once('/') {
        let (owner, group) = (Name::new(owner)?, Name::new(group)?);
        if is_kernel_group(&owner, &group) {
            return Ok(control.family().kevent_group);
        }
        return Ok(control.group(owner, group)?.owner_port);
    }
    let group = Name::new(text)?;
    if group.as_str() == KERNEL_GROUP {
        return Ok(control.family().kevent_group);
    }
    let mut found = None;
    control.for_each_group(None, |info| {
        if found.is_none() && info.group == group {
            found = Some(info.owner_port);
        }
    })?;
    found.ok_or_else(|| Error::new(OPERATION, ErrorKind::NotFound))
}
