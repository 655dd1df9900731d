//! `IPCON_HANDLER`: one peer, the engine's two halves each behind its own
//! lock, allocated once through the C allocator; creating, freeing, naming,
//! the descriptors, and the last failure.

use core::ffi::{c_char, c_int, c_ulong, c_void};
use core::mem::size_of;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicI32};

use ipcon_linux::engine::{Control, MonotonicClock, Receiver};
use ipcon_linux::{Error, PeerOptions};
use linux_raw_sys::errno as e;
use rustix::fd::{AsFd, AsRawFd};

use crate::abi::{put_name, FLG_ALL, MAX_NAME_LEN};
use crate::args;
use crate::calls::Calls;
use crate::errors::{errno_of, write_c, Failure};
use crate::lock::Lock;

/// Marks a live handler: a pointer that is not one (a stray or freed
/// handler) is refused with `-EINVAL` where it can be told.
const LIVE: u64 = 0x6970_636f_6e5f_6831; // "ipcon_h1"

/// What an `IPCON_HANDLER` points to.
pub struct Peer {
    live: u64,
    /// Requests, sends, posts, look-ups.
    pub control: Lock<Control>,
    /// Receives, kernel event subscription. Never held while waiting: a
    /// receive polls `read_fd` unlocked, so joins and leaves of the kernel
    /// group never wait behind a blocked receive.
    pub receiver: Lock<Receiver>,
    last_error: Lock<Option<Error>>,
    selfname: [c_char; MAX_NAME_LEN],
    /// The data socket (owned by `receiver`).
    pub read_fd: c_int,
    /// The control socket (owned by `control`).
    pub ctrl_fd: c_int,
    /// `ipcon_async_rcv_stop` was called.
    pub stop: AtomicBool,
    /// The thread running `ipcon_async_rcv` (0: none).
    pub loop_thread: AtomicI32,
    /// `ipcon_call`'s pending call (one at a time per handler).
    pub calls: Lock<Calls>,
}

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
    /// `errno` of glibc and musl.
    fn __errno_location() -> *mut c_int;
}

impl Peer {
    /// Remembers `err` as the handler's last failure and returns its
    /// negative errno.
    pub fn fail(&self, err: Error) -> Failure {
        let errno = errno_of(&err);
        *self.last_error.lock() = Some(err);
        -errno
    }

    /// Runs `f` and turns its error into the C return value (recorded as the
    /// last failure).
    pub fn run(&self, f: impl FnOnce(&Peer) -> Result<c_int, Error>) -> c_int {
        match f(self) {
            Ok(value) => value,
            Err(err) => self.fail(err),
        }
    }
}

/// The peer behind a C handler; `None` for NULL or a pointer that is not a
/// live handler.
///
/// # Safety
/// `handler` must be NULL or a pointer `ipcon_create_handler` returned that
/// was not freed yet (a freed one is caught only while its memory is intact).
pub unsafe fn peer<'a>(handler: *mut c_void) -> Option<&'a Peer> {
    let peer = NonNull::new(handler.cast::<Peer>())?;
    // SAFETY: the caller promises a handler's memory (or NULL, handled).
    let peer = unsafe { peer.as_ref() };
    (peer.live == LIVE).then_some(peer)
}

/// Runs `f` on the handler's peer: `-EINVAL` for a NULL or stray handler.
///
/// # Safety
/// As [`peer`].
pub unsafe fn with_peer(
    handler: *mut c_void,
    f: impl FnOnce(&Peer) -> Result<c_int, Error>,
) -> c_int {
    // SAFETY: passed on from the caller.
    match unsafe { peer(handler) } {
        Some(peer) => peer.run(f),
        None => -(e::EINVAL as c_int),
    }
}

fn set_errno(errno: c_int) {
    // SAFETY: __errno_location returns the calling thread's errno.
    unsafe { *__errno_location() = errno };
}

fn create(peer_name: *const c_char, flags: c_ulong) -> Result<NonNull<Peer>, c_int> {
    const OPERATION: &str = "create handler";
    if flags & !FLG_ALL != 0 {
        return Err(e::EINVAL as c_int);
    }
    let name = if peer_name.is_null() {
        None
    } else {
        // SAFETY: a non-NULL name is a C string (the API's contract).
        Some(unsafe { args::name(OPERATION, peer_name) }.map_err(|err| errno_of(&err))?)
    };
    let (control, receiver) = PeerOptions::with_name(name)
        .open_halves(MonotonicClock)
        .map_err(|err| errno_of(&err))?;
    let read_fd = receiver.as_fd().as_raw_fd();
    let ctrl_fd = control.as_fd().as_raw_fd();
    let mut selfname = [0; MAX_NAME_LEN];
    put_name(&mut selfname, name.as_ref());
    // SAFETY: malloc takes any size; NULL is handled below.
    let memory = unsafe { malloc(size_of::<Peer>()) }.cast::<Peer>();
    // malloc's alignment (16 on every Linux ABI) suits Peer (at most 8).
    let memory = NonNull::new(memory).ok_or(e::ENOMEM as c_int)?;
    // SAFETY: `memory` is fresh, large enough and aligned for a Peer.
    unsafe {
        memory.as_ptr().write(Peer {
            live: LIVE,
            control: Lock::new(control),
            receiver: Lock::new(receiver),
            last_error: Lock::new(None),
            selfname,
            read_fd,
            ctrl_fd,
            stop: AtomicBool::new(false),
            loop_thread: AtomicI32::new(0),
            calls: Lock::new(Calls::new()),
        });
    }
    Ok(memory)
}

/// `IPCON_HANDLER ipcon_create_handler(const char *peer_name, unsigned long flags)`
///
/// # Safety
/// `peer_name` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_create_handler(
    peer_name: *const c_char,
    flags: c_ulong,
) -> *mut c_void {
    match create(peer_name, flags) {
        Ok(peer) => peer.as_ptr().cast(),
        Err(errno) => {
            set_errno(errno);
            ptr::null_mut()
        }
    }
}

/// `void ipcon_free_handler(IPCON_HANDLER handler)`
///
/// # Safety
/// `handler` is NULL or a live handler no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn ipcon_free_handler(handler: *mut c_void) {
    // SAFETY: the caller's promise.
    if unsafe { peer(handler) }.is_none() {
        return;
    }
    let peer = handler.cast::<Peer>();
    // SAFETY: a live handler, used by no one else: drop it (the control
    // half unregisters the peer, the sockets close), then give its memory
    // back to malloc, which it came from.
    unsafe {
        (*peer).live = 0;
        ptr::drop_in_place(peer);
        free(handler);
    }
}

/// `const char *ipcon_selfname(IPCON_HANDLER handler)`
///
/// # Safety
/// `handler` is NULL or a live handler.
#[no_mangle]
pub unsafe extern "C" fn ipcon_selfname(handler: *mut c_void) -> *const c_char {
    // SAFETY: the caller's promise.
    match unsafe { peer(handler) } {
        Some(peer) => peer.selfname.as_ptr(),
        None => ptr::null(),
    }
}

/// `int ipcon_get_read_fd(IPCON_HANDLER handler)`
///
/// # Safety
/// `handler` is NULL or a live handler.
#[no_mangle]
pub unsafe extern "C" fn ipcon_get_read_fd(handler: *mut c_void) -> c_int {
    // SAFETY: the caller's promise.
    unsafe { peer(handler) }.map_or(-(e::EBADF as c_int), |peer| peer.read_fd)
}

/// `int ipcon_get_write_fd(IPCON_HANDLER handler)`
///
/// # Safety
/// `handler` is NULL or a live handler.
#[no_mangle]
pub unsafe extern "C" fn ipcon_get_write_fd(handler: *mut c_void) -> c_int {
    // SAFETY: the caller's promise.
    unsafe { peer(handler) }.map_or(-(e::EBADF as c_int), |peer| peer.ctrl_fd)
}

/// `int ipcon_get_ctrl_fd(IPCON_HANDLER handler)`
///
/// # Safety
/// `handler` is NULL or a live handler.
#[no_mangle]
pub unsafe extern "C" fn ipcon_get_ctrl_fd(handler: *mut c_void) -> c_int {
    // SAFETY: the caller's promise.
    unsafe { ipcon_get_write_fd(handler) }
}

/// Writes what `describe` makes of the handler's last failure (`None`: no
/// call failed yet) into the C buffer and returns what it says.
///
/// # Safety
/// `handler` is NULL or a live handler; `buf` is NULL or has `len` bytes.
unsafe fn describe_last(
    handler: *mut c_void,
    buf: *mut c_char,
    len: usize,
    describe: impl FnOnce(Option<&Error>, &mut dyn FnMut(&dyn core::fmt::Display)) -> c_int,
) -> c_int {
    // SAFETY: the caller's promise.
    let Some(peer) = (unsafe { peer(handler) }) else {
        return -(e::EINVAL as c_int);
    };
    let last = peer.last_error.lock();
    // SAFETY: the caller's promise about `buf`.
    describe(last.as_ref(), &mut |text| unsafe {
        write_c(buf, len, text)
    })
}

/// `int ipcon_last_error(IPCON_HANDLER handler, char *buf, size_t len)`
///
/// # Safety
/// `handler` is NULL or a live handler; `buf` is NULL or has `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_last_error(
    handler: *mut c_void,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe {
        describe_last(handler, buf, len, |last, write| match last {
            Some(err) => {
                write(err);
                -errno_of(err)
            }
            None => {
                write(&"");
                0
            }
        })
    }
}

/// `int ipcon_last_kernel_message(IPCON_HANDLER handler, char *buf, size_t len)`
///
/// # Safety
/// `handler` is NULL or a live handler; `buf` is NULL or has `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_last_kernel_message(
    handler: *mut c_void,
    buf: *mut c_char,
    len: usize,
) -> c_int {
    // SAFETY: the caller's promises.
    unsafe {
        describe_last(handler, buf, len, |last, write| {
            let text = last.and_then(Error::kernel_message).unwrap_or("");
            write(&text);
            c_int::try_from(text.len()).unwrap_or(c_int::MAX)
        })
    }
}
