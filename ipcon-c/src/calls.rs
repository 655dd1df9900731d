//! Calls from C: `ipcon_call` (request, wait for the reply with the same
//! call id, a deadline, the peer's end seen at once) and the serving side
//! (`ipcon_serve_msg`, `ipcon_serve`: a method table of callbacks). The call
//! header is ipcon-core's (`wire::call`), so C and Rust clients and services
//! talk to each other. No allocation: requests and replies are encoded in a
//! buffer on the stack, the reply is copied into the caller's buffer.

use core::ffi::{c_char, c_int, c_void};
use core::time::Duration;

use ipcon_core::machine::{CallOutcome, CallSlot, PendingCalls, ReplyMatch};
use ipcon_core::spec::{CallStatus, MAX_PAYLOAD_LEN};
use ipcon_core::wire::call::{CallPacket, CallRepr, CALL_HEADER_LEN};
use ipcon_core::wire::ipcon::Delivery;
use ipcon_core::{KeventKind, Name};
use ipcon_linux::engine::{Clock, MonotonicClock};
use ipcon_linux::{Error, ErrorKind, PeerRef, Wait};
use linux_raw_sys::errno as e;

use crate::abi::{self, IpconMsg};
use crate::args;
use crate::errors::CBuf;
use crate::handler::{with_peer, Peer};
use crate::receive::{receive, wait_readable};

const OPERATION: &str = "call";

/// `IPCON_CALL_*`: the status of a reply (the wire's `call-status`).
#[cfg(test)]
pub const CALL_OK: c_int = 0;
/// The callee has no such method.
#[cfg(test)]
pub const CALL_UNKNOWN_METHOD: c_int = 1;
/// The request did not parse.
#[cfg(test)]
pub const CALL_BAD_REQUEST: c_int = 2;
/// The callee is too busy.
#[cfg(test)]
pub const CALL_BUSY: c_int = 3;
/// The method failed.
#[cfg(test)]
pub const CALL_FAILED: c_int = 4;

/// The method every service answers with its list of methods.
const LIST_METHODS: &[u8] = b".methods";

/// A handler's calls: one at a time (a table of one slot, whose call id
/// moves on with every call, so a late reply never settles a later call).
pub struct Calls {
    table: PendingCalls<[CallSlot; 1]>,
    /// The handler receives kernel events (to see a called peer's end).
    kevents: bool,
}

impl Calls {
    /// No call yet.
    pub fn new() -> Self {
        Self {
            table: PendingCalls::new([CallSlot::EMPTY]),
            kevents: false,
        }
    }
}

/// The negative errno for a reply's status other than ok.
fn status_errno(status: CallStatus) -> u32 {
    match status {
        CallStatus::UnknownMethod => e::EOPNOTSUPP,
        CallStatus::BadRequest => e::EBADMSG,
        CallStatus::Busy => e::EBUSY,
        _ => e::EREMOTEIO,
    }
}

/// Where a reply goes: the caller's buffer, and its full length.
struct ReplyBuf {
    buf: *mut u8,
    cap: usize,
    len: usize,
}

impl ReplyBuf {
    fn keep(&mut self, payload: &[u8]) {
        self.len = payload.len();
        let take = payload.len().min(self.cap);
        if take > 0 {
            // SAFETY: `buf` has `cap` writable bytes (ipcon_call's contract,
            // checked non-NULL when `cap` > 0), `take` <= `cap`.
            unsafe { core::ptr::copy_nonoverlapping(payload.as_ptr(), self.buf, take) };
        }
    }
}

/// Takes every queued delivery without waiting: what was queued before a
/// call started is not about it (a stale kernel event about the same name
/// would end the call wrongly).
fn drain(peer: &Peer) -> Result<(), Error> {
    loop {
        match peer.receiver.lock().receive_with(Wait::Never, |_| Some(())) {
            Ok(()) => {}
            Err(err) if err.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}

/// One call; the reply (or the callee's text) into `reply`.
fn call(
    peer: &Peer,
    to: Name,
    method: Name,
    payload: &[u8],
    timeout_ms: c_int,
    reply: &mut ReplyBuf,
) -> Result<c_int, Error> {
    let clock = MonotonicClock;
    let mut calls = peer.calls.lock();
    if !calls.kevents {
        peer.receiver.lock().subscribe_kevents()?;
        calls.kevents = true;
    }
    drain(peer)?;
    let timeout = u64::try_from(timeout_ms).ok();
    let id = calls
        .table
        .begin(PeerRef::Name(to), clock.now_ms(), timeout)
        .map_err(|_| Error::new(OPERATION, ErrorKind::LimitReached))?;
    let mut buf = [0u8; MAX_PAYLOAD_LEN];
    let request = CallRepr::Request {
        id: id.get(),
        method,
        timeout_ms: timeout.map_or(0, |t| u32::try_from(t).unwrap_or(u32::MAX).max(1)),
        payload,
    };
    let sent = match request.emit(&mut buf) {
        Ok(len) => peer
            .control
            .lock()
            .send_unicast(PeerRef::Name(to), &buf[..len]),
        Err(_) => Err(Error::new(OPERATION, ErrorKind::TooBig)),
    };
    if let Err(err) = sent {
        calls.table.release(id);
        return Err(err);
    }
    let outcome = loop {
        if let Some(outcome) = calls.table.outcome(id) {
            break outcome;
        }
        let table = &mut calls.table;
        let taken = peer.receiver.lock().receive_with(Wait::Never, |received| {
            match received.delivery {
                Delivery::Unicast(u) if CallPacket::<&[u8]>::is_call(u.payload) => {
                    if let Ok(CallRepr::Reply {
                        id,
                        status,
                        payload,
                    }) = CallRepr::parse(u.payload)
                    {
                        if let ReplyMatch::Accepted { .. } = table.on_reply(&u.sender, id, status) {
                            reply.keep(payload);
                        }
                    }
                }
                Delivery::Kevent(event) => {
                    if let KeventKind::PeerRemove { peer, .. } = event.kind {
                        table.on_peer_removed(&peer, |_, _| {});
                    }
                }
                // A handler that calls is for calls: anything else is
                // dropped (as Rust's Client does).
                _ => {}
            }
            Some(())
        });
        match taken {
            Ok(()) => continue,
            Err(err) if err.kind() == ErrorKind::WouldBlock => {}
            Err(err) => {
                calls.table.release(id);
                return Err(err);
            }
        }
        let left = calls
            .table
            .deadline(id)
            .map(|at| Duration::from_millis(at.saturating_sub(clock.now_ms())));
        if left == Some(Duration::ZERO) {
            calls.table.expire_call(id, clock.now_ms());
            continue;
        }
        if let Err(err) = wait_readable(peer, left) {
            calls.table.release(id);
            return Err(err);
        }
    };
    calls.table.release(id);
    let errno = match outcome {
        CallOutcome::Replied(CallStatus::Ok) if reply.len > reply.cap => e::ERANGE,
        CallOutcome::Replied(CallStatus::Ok) => return Ok(0),
        CallOutcome::Replied(status) => status_errno(status),
        CallOutcome::TimedOut => return Err(Error::new(OPERATION, ErrorKind::Timeout)),
        CallOutcome::PeerGone => return Err(Error::new(OPERATION, ErrorKind::PeerGone)),
        CallOutcome::Cancelled => e::ECANCELED,
        CallOutcome::Undeliverable(errno) => errno.unsigned_abs(),
    };
    Err(Error::from_errno(OPERATION, errno as i32))
}

/// `int ipcon_call(IPCON_HANDLER handler, const char *peer, const char *method,
/// const void *req, size_t req_len, void *reply_buf, size_t reply_cap, size_t *reply_len,
/// int timeout_ms)`
///
/// # Safety
/// `handler` is NULL or a live handler; `peer` and `method` are NULL or C
/// strings; `req` is NULL or has `req_len` readable bytes; `reply_buf` is
/// NULL or has `reply_cap` writable bytes; `reply_len` is NULL or writable.
#[allow(clippy::too_many_arguments)] // the C signature
#[no_mangle]
pub unsafe extern "C" fn ipcon_call(
    handler: *mut c_void,
    peer: *const c_char,
    method: *const c_char,
    req: *const c_void,
    req_len: usize,
    reply_buf: *mut c_void,
    reply_cap: usize,
    reply_len: *mut usize,
    timeout_ms: c_int,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |p| {
            let to = args::name(OPERATION, peer)?;
            let method = args::name(OPERATION, method)?;
            let payload = args::payload(OPERATION, req, req_len)?;
            if reply_buf.is_null() && reply_cap > 0 {
                return Err(args::null(OPERATION));
            }
            let mut reply = ReplyBuf {
                buf: reply_buf.cast(),
                cap: reply_cap,
                len: 0,
            };
            let result = call(p, to, method, payload, timeout_ms, &mut reply);
            if !reply_len.is_null() {
                *reply_len = reply.len;
            }
            result
        })
    }
}

/// `struct ipcon_method`: a method of a C service.
#[repr(C)]
pub struct Method {
    /// Its name (a C string; the rules of a peer name).
    pub name: *const c_char,
    /// One line on what it does (NULL: none), for `.methods`.
    pub summary: *const c_char,
    /// The callback.
    pub func: Option<MethodFn>,
    /// Passed to `func`.
    pub data: *mut c_void,
}

/// `ipcon_method_fn`: answers one request.
pub type MethodFn = unsafe extern "C" fn(
    handler: *mut c_void,
    request: *const IpconMsg,
    args: *const c_void,
    args_len: usize,
    reply: *mut c_void,
    reply_cap: usize,
    reply_len: *mut usize,
    data: *mut c_void,
) -> c_int;

/// The bytes of a C string (`None` for NULL).
///
/// # Safety
/// `text` is NULL or a C string.
unsafe fn c_bytes<'a>(text: *const c_char) -> Option<&'a [u8]> {
    if text.is_null() {
        return None;
    }
    // SAFETY: the caller's promise.
    Some(unsafe { core::ffi::CStr::from_ptr(text) }.to_bytes())
}

/// Posts reply `status` to call `id` of port `to`; the payload is already
/// in `buf` after the header.
fn post_reply(
    peer: &Peer,
    to: u32,
    id: u32,
    status: CallStatus,
    buf: &mut [u8; MAX_PAYLOAD_LEN],
    payload_len: usize,
) -> Result<c_int, Error> {
    let header = CallRepr::Reply {
        id,
        status,
        payload: &[],
    };
    let len = header
        .emit_header(buf, payload_len)
        .map_err(|_| Error::new("reply", ErrorKind::TooBig))?;
    peer.control
        .lock()
        .post_unicast(PeerRef::Port(to), &buf[..len])?;
    Ok(1)
}

/// Writes `text` as the reply's payload; returns its length.
fn put_text(buf: &mut [u8; MAX_PAYLOAD_LEN], text: &[u8]) -> usize {
    let room = &mut buf[CALL_HEADER_LEN..];
    let len = text.len().min(room.len());
    room[..len].copy_from_slice(&text[..len]);
    len
}

/// Answers the request in `im`, if it is one: `Ok(1)` answered, `Ok(0)` not
/// a request.
///
/// # Safety
/// `handler` is the live handler of `peer`; `im` is a readable message;
/// `methods` has `count` readable entries whose pointers are C strings and
/// callbacks as the header says.
unsafe fn serve_msg(
    handler: *mut c_void,
    peer: &Peer,
    methods: *const Method,
    count: usize,
    im: &IpconMsg,
) -> Result<c_int, Error> {
    if im.kind != abi::NORMAL_MSG {
        return Ok(0);
    }
    let len = (im.len as usize).min(abi::MAX_PAYLOAD_LEN);
    // SAFETY: a normal message's payload is its buf's first `len` bytes.
    let bytes = unsafe { core::slice::from_raw_parts(im.body.buf.as_ptr().cast::<u8>(), len) };
    if !CallPacket::<&[u8]>::is_call(bytes) {
        return Ok(0);
    }
    let mut buf = [0u8; MAX_PAYLOAD_LEN];
    let (id, method, payload) = match CallRepr::parse(bytes) {
        Ok(CallRepr::Request {
            id,
            method,
            payload,
            ..
        }) => (id, method, payload),
        Ok(CallRepr::Reply { .. }) => return Ok(0),
        Err(_) => {
            let packet = CallPacket::new_unchecked(bytes);
            if packet.check_len().is_ok() && packet.call_id() != 0 {
                let n = put_text(&mut buf, b"malformed call header");
                let id = packet.call_id();
                return post_reply(peer, im.port, id, CallStatus::BadRequest, &mut buf, n);
            }
            return Ok(0);
        }
    };
    let methods = if count == 0 || methods.is_null() {
        &[][..]
    } else {
        // SAFETY: the caller's promise.
        unsafe { core::slice::from_raw_parts(methods, count) }
    };
    let wanted = method.as_bytes();
    if wanted == LIST_METHODS {
        let mut text = CBuf::new(&mut buf[CALL_HEADER_LEN..]);
        use core::fmt::Write;
        let _ = text.write_str(".methods\tlists the methods of this service\n");
        for m in methods {
            // SAFETY: the caller's promise (C strings or NULL).
            let (name, summary) = unsafe { (c_bytes(m.name), c_bytes(m.summary)) };
            let name = core::str::from_utf8(name.unwrap_or(b"")).unwrap_or("");
            let summary = core::str::from_utf8(summary.unwrap_or(b"")).unwrap_or("");
            let _ = writeln!(text, "{name}\t{summary}");
        }
        let n = text.len();
        return post_reply(peer, im.port, id, CallStatus::Ok, &mut buf, n);
    }
    // SAFETY: the caller's promise (C strings or NULL).
    let found = methods
        .iter()
        .find(|m| unsafe { c_bytes(m.name) } == Some(wanted));
    let Some(func) = found.and_then(|m| m.func.map(|f| (f, m.data))) else {
        let n = put_text(&mut buf, b"no such method");
        return post_reply(peer, im.port, id, CallStatus::UnknownMethod, &mut buf, n);
    };
    let (func, data) = func;
    let cap = MAX_PAYLOAD_LEN - CALL_HEADER_LEN;
    let mut reply_len: usize = 0;
    // SAFETY: the callback's contract: a reply buffer of `cap` bytes, the
    // request message, its arguments (inside `im`), the caller's data.
    let status = unsafe {
        func(
            handler,
            im,
            payload.as_ptr().cast(),
            payload.len(),
            buf[CALL_HEADER_LEN..].as_mut_ptr().cast(),
            cap,
            &mut reply_len,
            data,
        )
    };
    let mut n = reply_len.min(cap);
    let status = match status {
        s if s >= 0 => CallStatus::from_raw(s as u32),
        err => {
            if n == 0 {
                let text = crate::errors::strerror_of(err);
                // SAFETY: strerror_of returns a C string.
                n = put_text(&mut buf, unsafe { c_bytes(text) }.unwrap_or(b""));
            }
            CallStatus::Failed
        }
    };
    post_reply(peer, im.port, id, status, &mut buf, n)
}

/// `int ipcon_serve_msg(IPCON_HANDLER handler, const struct ipcon_method *methods, int count,
/// const struct ipcon_msg *im)`
///
/// # Safety
/// `handler` is NULL or a live handler; `methods` is NULL or has `count`
/// entries as the header says; `im` is NULL or a received message.
#[no_mangle]
pub unsafe extern "C" fn ipcon_serve_msg(
    handler: *mut c_void,
    methods: *const Method,
    count: c_int,
    im: *const IpconMsg,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let count = usize::try_from(count).map_err(|_| args::null("serve"))?;
            let im = im.as_ref().ok_or_else(|| args::null("serve"))?;
            serve_msg(handler, peer, methods, count, im)
        })
    }
}

/// `int ipcon_serve(IPCON_HANDLER handler, const struct ipcon_method *methods, int count,
/// int timeout_ms)`
///
/// # Safety
/// As [`ipcon_serve_msg`].
#[no_mangle]
pub unsafe extern "C" fn ipcon_serve(
    handler: *mut c_void,
    methods: *const Method,
    count: c_int,
    timeout_ms: c_int,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe {
        with_peer(handler, |peer| {
            let count = usize::try_from(count).map_err(|_| args::null("serve"))?;
            let clock = MonotonicClock;
            let deadline = u64::try_from(timeout_ms)
                .ok()
                .map(|t| clock.now_ms().saturating_add(t));
            let mut im = core::mem::MaybeUninit::<IpconMsg>::uninit();
            loop {
                let wait = match deadline {
                    None => Wait::Forever,
                    Some(at) => {
                        Wait::Timeout(Duration::from_millis(at.saturating_sub(clock.now_ms())))
                    }
                };
                receive(peer, im.as_mut_ptr(), wait)?;
                // SAFETY: a successful receive filled it.
                let msg = im.assume_init_ref();
                if serve_msg(handler, peer, methods, count, msg)? == 1 {
                    return Ok(0);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn the_statuses_are_the_wire_ones_with_errnos_of_their_own() {
        let pairs = [
            (CALL_OK, CallStatus::Ok),
            (CALL_UNKNOWN_METHOD, CallStatus::UnknownMethod),
            (CALL_BAD_REQUEST, CallStatus::BadRequest),
            (CALL_BUSY, CallStatus::Busy),
            (CALL_FAILED, CallStatus::Failed),
        ];
        let mut errnos = std::vec::Vec::new();
        for (c, status) in pairs {
            assert_eq!(c as u32, status.to_raw());
            if status != CallStatus::Ok {
                errnos.push(status_errno(status));
            }
        }
        errnos.sort_unstable();
        errnos.dedup();
        assert_eq!(errnos.len(), 4, "each status has its errno");
        assert!(!errnos.contains(&e::EHOSTDOWN) && !errnos.contains(&e::ETIMEDOUT));
        assert_eq!(status_errno(CallStatus::Unknown(77)), e::EREMOTEIO);
        let gone = Error::new(OPERATION, ErrorKind::PeerGone);
        assert_eq!(crate::errors::errno_of(&gone), e::EHOSTDOWN as c_int);
    }

    #[test]
    fn replies_are_cut_to_the_buffer_and_their_length_kept() {
        let mut out = [0u8; 4];
        let mut reply = ReplyBuf {
            buf: out.as_mut_ptr(),
            cap: out.len(),
            len: 0,
        };
        reply.keep(b"abcdefgh");
        assert_eq!(reply.len, 8);
        assert_eq!(&out, b"abcd");
        let mut none = ReplyBuf {
            buf: core::ptr::null_mut(),
            cap: 0,
            len: 0,
        };
        none.keep(b"xy");
        assert_eq!(none.len, 2);
    }
}
