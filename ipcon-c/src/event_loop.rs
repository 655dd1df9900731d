//! `ipcon_loop_*`: a libIPC-style event loop for C. Handlers, timers
//! (timerfd, one-shot or periodic) and external descriptors in one `poll`;
//! `ipcon_loop_wait` returns the next event with its type and data. One
//! allocation at creation (the loop with room for `capacity` sources), none
//! while it runs. Level-triggered: a source stays ready until its cause is
//! taken (a handler's queued messages are received one per event, in turn
//! with the other sources).

use core::ffi::{c_char, c_int, c_short, c_ulong, c_void};
use core::mem::size_of;
use core::ptr::{self, NonNull};

use ipcon_core::Name;
use ipcon_linux::engine::{Clock, MonotonicClock};
use ipcon_linux::{ErrorKind, PeerRef, Wait};
use linux_raw_sys::errno as e;

use crate::abi::IpconMsg;
use crate::handler::peer;
use crate::receive::receive;

/// `IPCON_LOOP_*` event types.
pub const EVENT_MESSAGE: c_int = 1;
/// A timer expired.
pub const EVENT_TIMER: c_int = 2;
/// An external descriptor is ready.
pub const EVENT_FD: c_int = 3;
/// Receiving on a handler failed (`error`); the handler stays in the loop.
pub const EVENT_ERROR: c_int = 4;
/// A switch relayed `len` bytes read from its fd to its peer or group
/// (`error`: the send failed).
pub const EVENT_SWITCH_RX: c_int = 5;
/// A switch wrote a message of its peer (a group switch: a unicast to its
/// handler; `len` bytes) to its fd (`error`: the write failed).
pub const EVENT_SWITCH_TX: c_int = 6;

/// `IPCON_LOOP_READABLE` and co.: interests and readiness of external fds.
pub const READABLE: u32 = 1;
/// Writable.
pub const WRITABLE: u32 = 2;
/// Hung up or failed (always reported).
pub const HANGUP: u32 = 4;

const POLLIN: c_short = 0x1;
const POLLOUT: c_short = 0x4;
const POLLERR: c_short = 0x8;
const POLLHUP: c_short = 0x10;
const POLLNVAL: c_short = 0x20;

const TFD_NONBLOCK: c_int = 0o4000;
const TFD_CLOEXEC: c_int = 0o2000000;
const CLOCK_MONOTONIC: c_int = 1;

/// C's `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy)]
struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}

/// C's `struct timespec` (long seconds and nanoseconds on Linux ABIs but
/// x32 and 32-bit time64; the library's targets use `long`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Timespec {
    tv_sec: core::ffi::c_long,
    tv_nsec: core::ffi::c_long,
}

#[repr(C)]
struct Itimerspec {
    it_interval: Timespec,
    it_value: Timespec,
}

extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn free(ptr: *mut c_void);
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    fn close(fd: c_int) -> c_int;
    fn timerfd_create(clockid: c_int, flags: c_int) -> c_int;
    fn timerfd_settime(
        fd: c_int,
        flags: c_int,
        new: *const Itimerspec,
        old: *mut Itimerspec,
    ) -> c_int;
    fn __errno_location() -> *mut c_int;
}

fn errno() -> c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *__errno_location() }
}

/// `struct ipcon_loop_event`.
#[repr(C)]
pub struct LoopEvent {
    /// `IPCON_LOOP_MESSAGE`, `_TIMER`, `_FD`, `_ERROR`.
    pub kind: c_int,
    /// The source's id.
    pub id: c_int,
    /// Its descriptor (the handler's read fd, the timerfd, the external fd).
    pub fd: c_int,
    /// `IPCON_LOOP_FD`: what it is ready for (`IPCON_LOOP_READABLE` ...).
    pub events: u32,
    /// `IPCON_LOOP_TIMER`: expirations since the last report.
    pub expirations: u64,
    /// `IPCON_LOOP_ERROR`, and a failed relay: the negative errno.
    pub error: c_int,
    /// `IPCON_LOOP_SWITCH_RX`/`_TX`: bytes relayed.
    pub len: u32,
    /// `IPCON_LOOP_MESSAGE`, `IPCON_LOOP_ERROR`: the handler.
    pub handler: *mut c_void,
    /// The data given when the source was added.
    pub data: *mut c_void,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Free,
    Handler,
    Timer {
        periodic: bool,
    },
    Fd,
    /// An fd relayed to and from `peer` through the source's handler.
    Switch {
        peer: Name,
    },
    /// An fd multicast to `group` of the source's handler; the handler's
    /// unicasts that no peer switch takes are written to the fd.
    SwitchGroup {
        group: Name,
    },
}

#[derive(Clone, Copy)]
struct Source {
    kind: Kind,
    id: c_int,
    handler: *mut c_void,
    data: *mut c_void,
}

/// What an `ipcon_loop *` points to; `sources` and `fds` follow it in the
/// same allocation.
pub struct Loop {
    live: u64,
    capacity: usize,
    next_id: c_int,
    /// Where the next scan for a ready source starts (round robin).
    cursor: usize,
    sources: *mut Source,
    fds: *mut PollFd,
}

const LIVE: u64 = 0x6970_636f_6e5f_6c31; // "ipcon_l1"

impl Loop {
    fn sources(&mut self) -> &mut [Source] {
        // SAFETY: `capacity` initialised sources in the loop's allocation.
        unsafe { core::slice::from_raw_parts_mut(self.sources, self.capacity) }
    }

    fn fds(&mut self) -> &mut [PollFd] {
        // SAFETY: `capacity` initialised pollfds in the loop's allocation.
        unsafe { core::slice::from_raw_parts_mut(self.fds, self.capacity) }
    }

    fn add(
        &mut self,
        kind: Kind,
        fd: c_int,
        events: c_short,
        handler: *mut c_void,
        data: *mut c_void,
    ) -> c_int {
        let Some(slot) = self.sources().iter().position(|s| s.kind == Kind::Free) else {
            return -(e::ENOSPC as c_int);
        };
        let id = self.next_id;
        self.next_id = if id == c_int::MAX { 1 } else { id + 1 };
        self.sources()[slot] = Source {
            kind,
            id,
            handler,
            data,
        };
        self.fds()[slot] = PollFd {
            fd,
            events,
            revents: 0,
        };
        id
    }

    fn slot_of(&mut self, id: c_int) -> Option<usize> {
        self.sources()
            .iter()
            .position(|s| s.kind != Kind::Free && s.id == id)
    }

    fn remove_slot(&mut self, slot: usize) {
        let kind = self.sources()[slot].kind;
        let fd = self.fds()[slot].fd;
        if let Kind::Timer { .. } = kind {
            // SAFETY: the loop created and owns the timerfd.
            unsafe { close(fd) };
        }
        self.sources()[slot].kind = Kind::Free;
        // poll ignores negative descriptors.
        self.fds()[slot] = PollFd {
            fd: -1,
            events: 0,
            revents: 0,
        };
    }
}

/// The loop behind a C pointer (`None`: NULL or not a live loop).
///
/// # Safety
/// `lp` is NULL or a loop `ipcon_loop_create` made and not freed.
unsafe fn the_loop<'a>(lp: *mut Loop) -> Option<&'a mut Loop> {
    // SAFETY: the caller's promise.
    let lp = unsafe { lp.as_mut()? };
    (lp.live == LIVE).then_some(lp)
}

/// `int ipcon_loop_create(struct ipcon_loop **loop, int capacity)`
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_create(out: *mut *mut Loop, capacity: c_int) -> c_int {
    let Ok(capacity) = usize::try_from(capacity) else {
        return -(e::EINVAL as c_int);
    };
    if out.is_null() || capacity == 0 || capacity > 4096 {
        return -(e::EINVAL as c_int);
    }
    let head = size_of::<Loop>().next_multiple_of(16);
    let sources = capacity * size_of::<Source>();
    let size = head + sources.next_multiple_of(16) + capacity * size_of::<PollFd>();
    // SAFETY: malloc takes any size; NULL is handled.
    let Some(memory) = NonNull::new(unsafe { malloc(size) }.cast::<u8>()) else {
        return -(e::ENOMEM as c_int);
    };
    let base = memory.as_ptr();
    // SAFETY: every part lies in the allocation, aligned (malloc: 16; the
    // offsets are multiples of 16), and is written before use.
    unsafe {
        let sources = base.add(head).cast::<Source>();
        let fds = base.add(head + capacity * size_of::<Source>()).cast::<u8>();
        let fds = fds.add(fds.align_offset(16)).cast::<PollFd>();
        for i in 0..capacity {
            sources.add(i).write(Source {
                kind: Kind::Free,
                id: 0,
                handler: ptr::null_mut(),
                data: ptr::null_mut(),
            });
            fds.add(i).write(PollFd {
                fd: -1,
                events: 0,
                revents: 0,
            });
        }
        let lp = base.cast::<Loop>();
        lp.write(Loop {
            live: LIVE,
            capacity,
            next_id: 1,
            cursor: 0,
            sources,
            fds,
        });
        *out = lp;
    }
    0
}

/// `void ipcon_loop_free(struct ipcon_loop *loop)`
///
/// # Safety
/// `lp` is NULL or a live loop.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_free(lp: *mut Loop) {
    // SAFETY: the caller's promise.
    let Some(the) = (unsafe { the_loop(lp) }) else {
        return;
    };
    for slot in 0..the.capacity {
        if the.sources()[slot].kind != Kind::Free {
            the.remove_slot(slot);
        }
    }
    the.live = 0;
    // SAFETY: the allocation came from malloc in ipcon_loop_create.
    unsafe { free(lp.cast()) };
}

/// `int ipcon_loop_add_handler(struct ipcon_loop *loop, IPCON_HANDLER handler, void *data)`
///
/// # Safety
/// `lp` is NULL or a live loop; `handler` is NULL or a live handler that
/// outlives its place in the loop.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_add_handler(
    lp: *mut Loop,
    handler: *mut c_void,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the caller's promises.
    let (Some(the), Some(p)) = (unsafe { the_loop(lp) }, unsafe { peer(handler) }) else {
        return -(e::EINVAL as c_int);
    };
    the.add(Kind::Handler, p.read_fd, POLLIN, handler, data)
}

/// `int ipcon_loop_add_timer(struct ipcon_loop *loop, int first_ms, int interval_ms, void *data)`
///
/// # Safety
/// `lp` is NULL or a live loop.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_add_timer(
    lp: *mut Loop,
    first_ms: c_int,
    interval_ms: c_int,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the caller's promise.
    let Some(the) = (unsafe { the_loop(lp) }) else {
        return -(e::EINVAL as c_int);
    };
    if first_ms < 0 || interval_ms < 0 {
        return -(e::EINVAL as c_int);
    }
    let spec = |ms: c_int| Timespec {
        tv_sec: (ms / 1000).into(),
        tv_nsec: ((ms % 1000) * 1_000_000).into(),
    };
    // A zero first expiry would disarm the timer: the earliest is 1 ns.
    let mut value = spec(first_ms);
    if first_ms == 0 {
        value.tv_nsec = 1;
    }
    let timer = Itimerspec {
        it_interval: spec(interval_ms),
        it_value: value,
    };
    // SAFETY: plain system calls; the fd is closed on every failure path.
    unsafe {
        let fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if fd < 0 {
            return -errno();
        }
        if timerfd_settime(fd, 0, &timer, ptr::null_mut()) < 0 {
            let err = errno();
            close(fd);
            return -err;
        }
        let periodic = interval_ms > 0;
        let id = the.add(Kind::Timer { periodic }, fd, POLLIN, ptr::null_mut(), data);
        if id < 0 {
            close(fd);
        }
        id
    }
}

/// `int ipcon_loop_add_fd(struct ipcon_loop *loop, int fd, unsigned events, void *data)`
///
/// # Safety
/// `lp` is NULL or a live loop.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_add_fd(
    lp: *mut Loop,
    fd: c_int,
    events: u32,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the caller's promise.
    let Some(the) = (unsafe { the_loop(lp) }) else {
        return -(e::EINVAL as c_int);
    };
    if fd < 0 || events & !(READABLE | WRITABLE | HANGUP) != 0 {
        return -(e::EINVAL as c_int);
    }
    let mut interest = 0;
    if events & READABLE != 0 {
        interest |= POLLIN;
    }
    if events & WRITABLE != 0 {
        interest |= POLLOUT;
    }
    the.add(Kind::Fd, fd, interest, ptr::null_mut(), data)
}

/// `int ipcon_loop_add_switch(struct ipcon_loop *loop, int fd, IPCON_HANDLER handler,
/// const char *peer, void *data)`
///
/// # Safety
/// `lp` is NULL or a live loop; `handler` is NULL or a live handler that
/// outlives the switch; `peer` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_add_switch(
    lp: *mut Loop,
    fd: c_int,
    handler: *mut c_void,
    peer_name: *const c_char,
    data: *mut c_void,
) -> c_int {
    // SAFETY: the caller's promises.
    let (Some(the), Some(_)) = (unsafe { the_loop(lp) }, unsafe { peer(handler) }) else {
        return -(e::EINVAL as c_int);
    };
    // SAFETY: the caller's promise.
    let Ok(name) = (unsafe { crate::args::name("add switch", peer_name) }) else {
        return -(e::EINVAL as c_int);
    };
    if fd < 0 {
        return -(e::EINVAL as c_int);
    }
    the.add(Kind::Switch { peer: name }, fd, POLLIN, handler, data)
}

/// `int ipcon_loop_add_switch_group(struct ipcon_loop *loop, int fd, IPCON_HANDLER handler,
/// const char *group, void *data)`: `group` must be a group `handler`
/// registered (looked up now: `-ENOENT` if it has none of that name); one
/// group switch per handler (`-EBUSY`).
///
/// # Safety
/// `lp` is NULL or a live loop; `handler` is NULL or a live handler that
/// outlives the switch; `group` is NULL or a C string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_add_switch_group(
    lp: *mut Loop,
    fd: c_int,
    handler: *mut c_void,
    group_name: *const c_char,
    data: *mut c_void,
) -> c_int {
    const OPERATION: &str = "add group switch";
    // SAFETY: the caller's promises.
    let (Some(the), Some(p)) = (unsafe { the_loop(lp) }, unsafe { peer(handler) }) else {
        return -(e::EINVAL as c_int);
    };
    // SAFETY: the caller's promise.
    let Ok(group) = (unsafe { crate::args::name(OPERATION, group_name) }) else {
        return -(e::EINVAL as c_int);
    };
    if fd < 0 {
        return -(e::EINVAL as c_int);
    }
    let taken = the
        .sources()
        .iter()
        .any(|s| s.handler == handler && matches!(s.kind, Kind::SwitchGroup { .. }));
    if taken {
        return -(e::EBUSY as c_int);
    }
    if the.sources().iter().all(|s| s.kind != Kind::Free) {
        return -(e::ENOSPC as c_int);
    }
    // The group must be the handler's own: looked up by the handler's name
    // (an anonymous handler's groups cannot be looked up).
    let registered = p.run(|p| {
        let mut control = p.control.lock();
        let Some(own) = control.name() else {
            return Err(ipcon_linux::Error::from_errno(OPERATION, e::EINVAL as i32));
        };
        control.group(own, group)?;
        Ok(0)
    });
    if registered < 0 {
        return registered;
    }
    the.add(Kind::SwitchGroup { group }, fd, POLLIN, handler, data)
}

/// The switch that takes `handler`'s unicast from `from`, if there is one:
/// the peer switch of `from`, else the handler's group switch. Its id, fd
/// and data.
fn switch_for(
    the: &mut Loop,
    handler: *mut c_void,
    from: &[c_char],
) -> Option<(c_int, c_int, *mut c_void)> {
    let capacity = the.capacity;
    let mut group_switch = None;
    for slot in 0..capacity {
        let source = the.sources()[slot];
        if source.handler != handler {
            continue;
        }
        match source.kind {
            Kind::Switch { peer } => {
                let name = peer.as_bytes();
                let same = from.len() > name.len()
                    && from[name.len()] == 0
                    && from.iter().zip(name).all(|(&a, &b)| a as u8 == b);
                if same {
                    return Some((source.id, the.fds()[slot].fd, source.data));
                }
            }
            Kind::SwitchGroup { .. } => {
                group_switch = Some((source.id, the.fds()[slot].fd, source.data));
            }
            _ => {}
        }
    }
    group_switch
}

/// `int ipcon_loop_remove(struct ipcon_loop *loop, int id)`
///
/// # Safety
/// `lp` is NULL or a live loop.
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_remove(lp: *mut Loop, id: c_int) -> c_int {
    // SAFETY: the caller's promise.
    let Some(the) = (unsafe { the_loop(lp) }) else {
        return -(e::EINVAL as c_int);
    };
    match the.slot_of(id) {
        Some(slot) => {
            the.remove_slot(slot);
            0
        }
        None => -(e::ENOENT as c_int),
    }
}

/// The event of ready slot `slot`, if it has one (`None`: nothing after
/// all, e.g. another thread took the handler's message).
///
/// # Safety
/// `msg` is NULL or writable.
unsafe fn take(the: &mut Loop, slot: usize, msg: *mut IpconMsg) -> Option<LoopEvent> {
    let source = the.sources()[slot];
    let pfd = the.fds()[slot];
    let mut event = LoopEvent {
        kind: 0,
        id: source.id,
        fd: pfd.fd,
        events: 0,
        expirations: 0,
        error: 0,
        len: 0,
        handler: ptr::null_mut(),
        data: source.data,
    };
    match source.kind {
        Kind::Free => None,
        Kind::Handler => {
            event.handler = source.handler;
            // SAFETY: a handler in the loop is live (the API's contract).
            let p = unsafe { peer(source.handler) }?;
            // SAFETY: the caller's promise about `msg`.
            match unsafe { receive(p, msg, Wait::Never) } {
                // Still readable: the next wait looks again (after the
                // other ready sources).
                Ok(_) => {
                    event.kind = EVENT_MESSAGE;
                    // SAFETY: received into `msg` just now.
                    let m = unsafe { &*msg };
                    if m.kind == crate::abi::NORMAL_MSG {
                        if let Some((id, fd, data)) = switch_for(the, source.handler, &m.peer) {
                            // A message of a switched peer goes to its fd.
                            let len = (m.len as usize).min(crate::abi::MAX_PAYLOAD_LEN);
                            // SAFETY: the payload is `len` bytes of `buf`.
                            let wrote = unsafe { write(fd, m.body.buf.as_ptr().cast(), len) };
                            event.kind = EVENT_SWITCH_TX;
                            event.id = id;
                            event.fd = fd;
                            event.data = data;
                            event.len = len as u32;
                            if wrote < 0 {
                                event.error = -errno();
                            }
                        }
                    }
                }
                Err(err) if err.kind() == ErrorKind::WouldBlock => {
                    the.fds()[slot].revents = 0;
                    return None;
                }
                Err(err) => {
                    the.fds()[slot].revents = 0;
                    event.kind = EVENT_ERROR;
                    event.error = p.fail(err);
                }
            }
            Some(event)
        }
        Kind::Timer { periodic } => {
            the.fds()[slot].revents = 0;
            let mut count = 0u64;
            // SAFETY: 8 bytes into a u64 from the loop's timerfd.
            let got = unsafe { read(pfd.fd, ptr::addr_of_mut!(count).cast(), 8) };
            if got != 8 {
                return None;
            }
            event.kind = EVENT_TIMER;
            event.expirations = count;
            if !periodic {
                the.remove_slot(slot);
            }
            Some(event)
        }
        Kind::Switch { .. } | Kind::SwitchGroup { .. } => {
            the.fds()[slot].revents = 0;
            event.handler = source.handler;
            let mut buf = [0u8; crate::abi::MAX_PAYLOAD_LEN];
            // SAFETY: reads into a buffer of its size.
            let got = unsafe { read(pfd.fd, buf.as_mut_ptr().cast(), buf.len()) };
            if got <= 0 {
                // End of file, or a failure: the fd hung up.
                if got < 0 && errno() == e::EAGAIN as c_int {
                    return None;
                }
                event.kind = EVENT_FD;
                event.events = HANGUP;
                return Some(event);
            }
            event.kind = EVENT_SWITCH_RX;
            event.len = got as u32;
            // SAFETY: a handler in the loop is live (the API's contract).
            let p = unsafe { peer(source.handler) }?;
            let payload = &buf[..got as usize];
            let sent = match source.kind {
                Kind::SwitchGroup { group } => p.control.lock().send_multicast(group, payload),
                Kind::Switch { peer: to } => {
                    p.control.lock().send_unicast(PeerRef::Name(to), payload)
                }
                _ => Ok(()),
            };
            if let Err(err) = sent {
                event.error = p.fail(err);
            }
            Some(event)
        }
        Kind::Fd => {
            the.fds()[slot].revents = 0;
            let r = pfd.revents;
            if r & POLLIN != 0 {
                event.events |= READABLE;
            }
            if r & POLLOUT != 0 {
                event.events |= WRITABLE;
            }
            if r & (POLLHUP | POLLERR | POLLNVAL) != 0 {
                event.events |= HANGUP;
            }
            event.kind = EVENT_FD;
            Some(event)
        }
    }
}

/// `int ipcon_loop_wait(struct ipcon_loop *loop, struct ipcon_loop_event *event,
/// struct ipcon_msg *msg, int timeout_ms)`
///
/// # Safety
/// `lp` is NULL or a live loop; `event` is NULL or writable; `msg` is NULL
/// or writable (needed once a handler is in the loop).
#[no_mangle]
pub unsafe extern "C" fn ipcon_loop_wait(
    lp: *mut Loop,
    event: *mut LoopEvent,
    msg: *mut IpconMsg,
    timeout_ms: c_int,
) -> c_int {
    // SAFETY: the caller's promise.
    let Some(the) = (unsafe { the_loop(lp) }) else {
        return -(e::EINVAL as c_int);
    };
    if event.is_null() {
        return -(e::EINVAL as c_int);
    }
    let clock = MonotonicClock;
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|t| clock.now_ms().saturating_add(t));
    loop {
        // What the last poll found and was not reported yet, round robin.
        let capacity = the.capacity;
        for step in 0..capacity {
            let slot = (the.cursor + step) % capacity;
            if the.fds()[slot].revents == 0 || the.sources()[slot].kind == Kind::Free {
                continue;
            }
            if the.sources()[slot].kind == Kind::Handler && msg.is_null() {
                return -(e::EINVAL as c_int);
            }
            // SAFETY: the caller's promise about `msg`.
            if let Some(found) = unsafe { take(the, slot, msg) } {
                the.cursor = (slot + 1) % capacity;
                // SAFETY: checked non-NULL; the caller's promise.
                unsafe { event.write(found) };
                return 0;
            }
        }
        let wait = match deadline {
            None => -1,
            Some(at) => c_int::try_from(at.saturating_sub(clock.now_ms())).unwrap_or(c_int::MAX),
        };
        // SAFETY: `capacity` pollfds in the loop's allocation.
        let ready = unsafe { poll(the.fds, capacity as c_ulong, wait) };
        if ready < 0 {
            let err = errno();
            if err == e::EINTR as c_int {
                continue;
            }
            return -err;
        }
        if ready == 0 {
            return -(e::ETIMEDOUT as c_int);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    extern "C" {
        fn pipe(fds: *mut c_int) -> c_int;
        fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    }

    fn empty_event() -> LoopEvent {
        LoopEvent {
            kind: 0,
            id: 0,
            fd: 0,
            events: 0,
            expirations: 0,
            error: 0,
            len: 0,
            handler: ptr::null_mut(),
            data: ptr::null_mut(),
        }
    }

    #[test]
    fn a_group_switch_refuses_a_null_loop_or_handler() {
        let mut lp: *mut Loop = ptr::null_mut();
        let einval = -(e::EINVAL as c_int);
        let group = b"news\0".as_ptr().cast::<c_char>();
        // SAFETY: the loop API on a loop this test owns; a NULL handler.
        unsafe {
            let none = ptr::null_mut();
            assert_eq!(
                ipcon_loop_add_switch_group(ptr::null_mut(), 0, none, group, none),
                einval
            );
            assert_eq!(ipcon_loop_create(&mut lp, 2), 0);
            assert_eq!(
                ipcon_loop_add_switch_group(lp, 0, none, group, none),
                einval
            );
            ipcon_loop_free(lp);
        }
    }

    #[test]
    fn timers_and_fds_come_as_events_in_turn() {
        let mut lp: *mut Loop = ptr::null_mut();
        let mut ends = [0 as c_int; 2];
        let mut marker = 7u8;
        let data = ptr::addr_of_mut!(marker).cast::<c_void>();
        // SAFETY: the loop API on a loop this test owns; a pipe it owns.
        unsafe {
            assert_eq!(ipcon_loop_create(&mut lp, 0), -(e::EINVAL as c_int));
            assert_eq!(ipcon_loop_create(&mut lp, 3), 0);
            assert_eq!(pipe(ends.as_mut_ptr()), 0);
            let mut ev = empty_event();
            // Nothing yet.
            assert_eq!(
                ipcon_loop_wait(lp, &mut ev, ptr::null_mut(), 0),
                -(e::ETIMEDOUT as c_int)
            );
            let once = ipcon_loop_add_timer(lp, 20, 0, data);
            let tick = ipcon_loop_add_timer(lp, 5, 5, ptr::null_mut());
            let fd = ipcon_loop_add_fd(lp, ends[0], READABLE, data);
            assert!(once > 0 && tick > 0 && fd > 0);
            assert_eq!(
                ipcon_loop_add_fd(lp, ends[1], WRITABLE, data),
                -(e::ENOSPC as c_int)
            );
            assert_eq!(write(ends[1], b"x".as_ptr().cast(), 1), 1);
            let (mut saw_once, mut ticks, mut readable) = (0, 0, 0);
            let started = std::time::Instant::now();
            // Until each source was seen (timers late under load are fine).
            while saw_once == 0 || ticks < 3 || readable < 3 {
                assert!(started.elapsed() < std::time::Duration::from_secs(10));
                assert_eq!(ipcon_loop_wait(lp, &mut ev, ptr::null_mut(), 1000), 0);
                match ev.kind {
                    EVENT_TIMER if ev.id == once => {
                        assert_eq!(ev.data, data);
                        saw_once += 1;
                    }
                    EVENT_TIMER => {
                        assert_eq!(ev.id, tick);
                        assert!(ev.expirations >= 1);
                        ticks += ev.expirations;
                    }
                    EVENT_FD => {
                        // Level-triggered: reported while unread, in turn
                        // with the timers.
                        assert_eq!((ev.id, ev.fd, ev.events), (fd, ends[0], READABLE));
                        readable += 1;
                    }
                    other => panic!("event {other}"),
                }
            }
            assert_eq!(saw_once, 1, "a one-shot timer fires once");
            // Another 30 ms: the one-shot timer stays quiet.
            let more = std::time::Instant::now();
            while more.elapsed() < std::time::Duration::from_millis(30) {
                assert_eq!(ipcon_loop_wait(lp, &mut ev, ptr::null_mut(), 1000), 0);
                assert!(ev.kind != EVENT_TIMER || ev.id == tick, "once fired again");
            }
            assert!(ticks >= 3, "periodic: {ticks}");
            assert!(readable >= 3, "level-triggered: {readable}");
            assert_eq!(ipcon_loop_remove(lp, once), -(e::ENOENT as c_int));
            // The write end closes: hangup.
            close(ends[1]);
            assert_eq!(ipcon_loop_remove(lp, tick), 0);
            let mut byte = 0u8;
            assert_eq!(read(ends[0], ptr::addr_of_mut!(byte).cast(), 1), 1);
            // A readiness the last poll found may come first (the loop
            // reports what poll said); then the hangup.
            for _ in 0..2 {
                assert_eq!(ipcon_loop_wait(lp, &mut ev, ptr::null_mut(), 1000), 0);
                assert_eq!(ev.kind, EVENT_FD);
                if ev.events & HANGUP != 0 {
                    break;
                }
            }
            assert_ne!(ev.events & HANGUP, 0, "hangup after the writer closed");
            assert_eq!(ipcon_loop_remove(lp, fd), 0);
            assert_eq!(
                ipcon_loop_wait(lp, &mut ev, ptr::null_mut(), 10),
                -(e::ETIMEDOUT as c_int)
            );
            close(ends[0]);
            ipcon_loop_free(lp);
        }
    }
}
