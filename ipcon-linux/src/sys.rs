//! Every `unsafe` of the crate: the socket system calls — `socket`, `bind`,
//! `getsockname`, `connect`, `setsockopt` (`SOL_NETLINK` options, which
//! rustix does not wrap, and the buffer sizes), `sendto`/`recvfrom` with the
//! netlink address as a plain `sockaddr_nl` (cheaper per call than rustix's
//! any-family address, which counts on the per-message path under
//! emulation) and `recvmmsg(2)` (which rustix lacks). rustix's own socket
//! module is not used: without `std` it needs `core::net`, which Rust 1.75
//! (the MSRV, Yocto scarthgap's) does not have. With `std`, also the signal
//! handler of
//! [`Handler::unregister_on_termination`](crate::Handler::unregister_on_termination),
//! the borrowed descriptor behind `AsFd` and the tokio registration.
//!
//! The system calls go straight to the kernel, as rustix's `linux_raw`
//! backend does, on the architectures it serves (x86_64, aarch64, arm in ARM
//! and Thumb code, riscv64): the engine links no C library there. Elsewhere they go through
//! the `libc` crate's `syscall`, as rustix itself does.
//!
//! This module depends on nothing else of the crate.

#![allow(unsafe_code)]

use rustix::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use rustix::io::Errno;

use linux_raw_sys::general as nr;
use linux_raw_sys::net as sock;
use linux_raw_sys::netlink;

/// `MSG_WAITFORONE` (not in linux-raw-sys): block for the first datagram only.
const MSG_WAITFORONE: u32 = 0x1_0000;

/// The kernel's `struct sockaddr_nl`.
#[repr(C)]
#[derive(Clone, Copy)]
struct SockaddrNl {
    family: u16,
    pad: u16,
    pid: u32,
    groups: u32,
}

impl SockaddrNl {
    /// Port `pid`, no groups.
    const fn port(pid: u32) -> Self {
        Self {
            family: sock::AF_NETLINK as u16,
            pad: 0,
            pid,
            groups: 0,
        }
    }

    /// The sender's port, if the kernel filled in a netlink address of `len` bytes.
    fn source_port(&self, len: usize) -> u32 {
        if len >= core::mem::size_of::<Self>() && u32::from(self.family) == sock::AF_NETLINK {
            self.pid
        } else {
            u32::MAX
        }
    }
}

/// The kernel's `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy)]
struct IoVec {
    base: *mut u8,
    len: usize,
}

/// The kernel's `struct user_msghdr`.
#[repr(C)]
#[derive(Clone, Copy)]
struct MsgHdr {
    name: *mut SockaddrNl,
    name_len: i32,
    iov: *mut IoVec,
    iov_len: usize,
    control: *mut u8,
    control_len: usize,
    flags: u32,
}

/// The kernel's `struct mmsghdr`.
#[repr(C)]
#[derive(Clone, Copy)]
struct MmsgHdr {
    hdr: MsgHdr,
    len: u32,
}

const EMPTY_MMSG: MmsgHdr = MmsgHdr {
    hdr: MsgHdr {
        name: core::ptr::null_mut(),
        name_len: 0,
        iov: core::ptr::null_mut(),
        iov_len: 0,
        control: core::ptr::null_mut(),
        control_len: 0,
        flags: 0,
    },
    len: 0,
};

/// One raw system call with up to six arguments; the kernel's return value
/// (a negative errno on failure).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64"
))]
mod raw {
    use core::arch::asm;

    /// # Safety
    /// The arguments must be valid for system call `nr`: pointers must point
    /// to memory of the sizes the call reads or writes, live for the call.
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
        let ret: isize;
        // SAFETY: the x86_64 Linux system call convention (number in rax,
        // arguments in rdi, rsi, rdx, r10, r8, r9; rcx and r11 clobbered);
        // the caller vouches for the arguments.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
                in("r10") a[3], in("r8") a[4], in("r9") a[5],
                lateout("rcx") _, lateout("r11") _,
                options(nostack),
            );
        }
        ret
    }

    /// # Safety
    /// As for the x86_64 variant.
    #[cfg(target_arch = "aarch64")]
    pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
        let ret: isize;
        // SAFETY: the aarch64 Linux convention (number in x8, arguments in
        // x0..x5, result in x0); the caller vouches for the arguments.
        unsafe {
            asm!(
                "svc 0",
                in("x8") nr as usize,
                inlateout("x0") a[0] as isize => ret,
                in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
                options(nostack),
            );
        }
        ret
    }

    /// # Safety
    /// As for the x86_64 variant.
    #[cfg(target_arch = "arm")]
    pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
        let ret: isize;
        // SAFETY: the arm EABI Linux convention (number in r7, arguments in
        // r0..r5, result in r0); the caller vouches for the arguments. In
        // Thumb code r7 is the frame pointer and may not be an operand (and
        // nothing tells the crate which mode it is compiled for), so r7 is
        // saved in a scratch register, loaded with the number and restored;
        // in ARM code, where the compiler may hand out r7 itself, `nr` is an
        // `inout` operand and `saved` an `out` one, so either may be r7
        // without breaking what the compiler assumes.
        unsafe {
            asm!(
                "mov {saved}, r7",
                "mov r7, {nr}",
                "svc 0",
                "mov r7, {saved}",
                nr = inout(reg) nr as usize => _,
                saved = out(reg) _,
                inlateout("r0") a[0] as isize => ret,
                in("r1") a[1], in("r2") a[2], in("r3") a[3], in("r4") a[4], in("r5") a[5],
                options(nostack),
            );
        }
        ret
    }

    /// # Safety
    /// As for the x86_64 variant.
    #[cfg(target_arch = "riscv64")]
    pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
        let ret: isize;
        // SAFETY: the riscv64 Linux convention (number in a7, arguments in
        // a0..a5, result in a0); the caller vouches for the arguments.
        unsafe {
            asm!(
                "ecall",
                in("a7") nr as usize,
                inlateout("a0") a[0] as isize => ret,
                in("a1") a[1], in("a2") a[2], in("a3") a[3], in("a4") a[4], in("a5") a[5],
                options(nostack),
            );
        }
        ret
    }
}

/// Architectures rustix reaches through the C library: so do we.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "arm",
    target_arch = "riscv64"
)))]
mod raw {
    /// # Safety
    /// The arguments must be valid for system call `nr`.
    pub unsafe fn syscall(nr: u32, a: [usize; 6]) -> isize {
        // SAFETY: the caller vouches for the arguments; `syscall(3)` passes
        // them on and sets errno on failure, read right after.
        unsafe {
            let ret = libc::syscall(nr as libc::c_long, a[0], a[1], a[2], a[3], a[4], a[5]);
            if ret == -1 {
                -(*libc::__errno_location() as isize)
            } else {
                ret as isize
            }
        }
    }
}

/// A raw system call's result: a count, or the errno.
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// A new `NETLINK_GENERIC` socket (close-on-exec), bound to a port the
/// kernel picks.
pub(crate) fn open_netlink_socket() -> Result<OwnedFd, Errno> {
    // SAFETY: socket(2) takes plain integers.
    let fd = check(unsafe {
        raw::syscall(
            nr::__NR_socket,
            [
                sock::AF_NETLINK as usize,
                (sock::SOCK_RAW | nr::O_CLOEXEC) as usize,
                netlink::NETLINK_GENERIC as usize,
                0,
                0,
                0,
            ],
        )
    })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // Port 0: the kernel picks one.
    with_port_zero(nr::__NR_bind, fd.as_fd())?;
    Ok(fd)
}

/// `bind(2)` or `connect(2)` (system call `nr`) of `fd` with the netlink
/// address of port 0.
fn with_port_zero(nr: u32, fd: rustix::fd::BorrowedFd<'_>) -> Result<(), Errno> {
    let address = SockaddrNl::port(0);
    // SAFETY: `fd` is live; the address points to a `sockaddr_nl` on our
    // stack whose exact size is passed, which the kernel only reads.
    check(unsafe {
        raw::syscall(
            nr,
            [
                fd.as_raw_fd() as usize,
                core::ptr::addr_of!(address) as usize,
                core::mem::size_of::<SockaddrNl>(),
                0,
                0,
                0,
            ],
        )
    })
    .map(drop)
}

/// The socket's netlink port (`getsockname(2)`).
pub(crate) fn socket_port(fd: impl AsFd) -> Result<u32, Errno> {
    let mut address = SockaddrNl::port(0);
    let mut len = core::mem::size_of::<SockaddrNl>() as u32;
    let fd = fd.as_fd();
    // SAFETY: `fd` is live; the address and length point to a `sockaddr_nl`
    // and a `socklen_t` on our stack (exact sizes), which the kernel fills.
    check(unsafe {
        raw::syscall(
            nr::__NR_getsockname,
            [
                fd.as_raw_fd() as usize,
                core::ptr::addr_of_mut!(address) as usize,
                core::ptr::addr_of_mut!(len) as usize,
                0,
                0,
                0,
            ],
        )
    })?;
    match address.source_port(len as usize) {
        u32::MAX => Err(Errno::AFNOSUPPORT),
        port => Ok(port),
    }
}

/// `connect(2)` to the kernel (port 0).
pub(crate) fn connect_to_kernel(fd: impl AsFd) -> Result<(), Errno> {
    with_port_zero(nr::__NR_connect, fd.as_fd())
}

/// One socket option that takes an `int`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketOption {
    /// Join the multicast group given as the value.
    AddMembership,
    /// Leave the multicast group given as the value.
    DropMembership,
    /// Report extended ACK attributes (the kernel's error text) with errors.
    ExtAck,
    /// Do not echo the request's payload back in error messages.
    CapAck,
    /// Do not report receive-queue overflow as `ENOBUFS`.
    NoEnobufs,
    /// Ask the kernel to validate dump requests strictly.
    GetStrictChk,
    /// `SO_RCVBUF`: the receive buffer, within `net.core.rmem_max`.
    RecvBuffer,
    /// `SO_RCVBUFFORCE`: the receive buffer, past the limit (`CAP_NET_ADMIN`).
    RecvBufferForce,
    /// `SO_SNDBUF`: the send buffer, within `net.core.wmem_max`.
    SendBuffer,
    /// `SO_SNDBUFFORCE`: the send buffer, past the limit (`CAP_NET_ADMIN`).
    SendBufferForce,
}

impl SocketOption {
    /// Level and name.
    fn key(self) -> (u32, u32) {
        let netlink = |name| (sock::SOL_NETLINK, name);
        let socket = |name| (sock::SOL_SOCKET, name);
        match self {
            Self::AddMembership => netlink(netlink::NETLINK_ADD_MEMBERSHIP),
            Self::DropMembership => netlink(netlink::NETLINK_DROP_MEMBERSHIP),
            Self::ExtAck => netlink(netlink::NETLINK_EXT_ACK),
            Self::CapAck => netlink(netlink::NETLINK_CAP_ACK),
            Self::NoEnobufs => netlink(netlink::NETLINK_NO_ENOBUFS),
            Self::GetStrictChk => netlink(netlink::NETLINK_GET_STRICT_CHK),
            Self::RecvBuffer => socket(sock::SO_RCVBUF),
            Self::RecvBufferForce => socket(sock::SO_RCVBUFFORCE),
            Self::SendBuffer => socket(sock::SO_SNDBUF),
            Self::SendBufferForce => socket(sock::SO_SNDBUFFORCE),
        }
    }
}

/// `setsockopt(fd, level, option, &value, sizeof(int))`.
pub(crate) fn set_option(fd: impl AsFd, option: SocketOption, value: u32) -> Result<(), Errno> {
    let value = value as i32;
    let (level, name) = option.key();
    let fd = fd.as_fd();
    // SAFETY: `fd` is a live descriptor borrowed for the call, and the option
    // value points to an `int` on our stack whose exact size is passed.
    let ret = unsafe {
        raw::syscall(
            nr::__NR_setsockopt,
            [
                fd.as_raw_fd() as usize,
                level as usize,
                name as usize,
                core::ptr::addr_of!(value) as usize,
                core::mem::size_of::<i32>(),
                0,
            ],
        )
    };
    check(ret).map(drop)
}

/// `send(2)` of one datagram on a socket connected to the kernel. Returns
/// the bytes sent.
pub(crate) fn send(fd: impl AsFd, datagram: &[u8]) -> Result<usize, Errno> {
    let fd = fd.as_fd();
    // SAFETY: `fd` is live; the data pointer and length describe `datagram`,
    // which the kernel only reads; no address (null, length 0).
    check(unsafe {
        raw::syscall(
            nr::__NR_sendto,
            [
                fd.as_raw_fd() as usize,
                datagram.as_ptr() as usize,
                datagram.len(),
                0,
                0,
                0,
            ],
        )
    })
}

/// `sendto(2)` of one datagram to the kernel (port 0). Returns the bytes sent.
pub(crate) fn send_to_kernel(fd: impl AsFd, datagram: &[u8]) -> Result<usize, Errno> {
    send_to_kernel_raw(fd.as_fd().as_raw_fd(), datagram)
}

/// [`send_to_kernel`] on a descriptor number (from a signal handler, which
/// cannot borrow one). A number that is no socket, or no longer one, fails
/// with the kernel's errno (`EBADF`, `ENOTSOCK`).
pub(crate) fn send_to_kernel_raw(fd: rustix::fd::RawFd, datagram: &[u8]) -> Result<usize, Errno> {
    let address = SockaddrNl::port(0);
    // SAFETY: the data pointer and length describe `datagram`, which the
    // kernel only reads; the address points to a `sockaddr_nl` on our stack
    // whose exact size is passed; both outlive the call. The descriptor is a
    // plain number the kernel checks.
    let ret = unsafe {
        raw::syscall(
            nr::__NR_sendto,
            [
                fd as usize,
                datagram.as_ptr() as usize,
                datagram.len(),
                0,
                core::ptr::addr_of!(address) as usize,
                core::mem::size_of::<SockaddrNl>(),
            ],
        )
    };
    check(ret)
}

/// One received datagram as a receive call reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Datagram {
    /// Bytes written to the buffer.
    pub len: usize,
    /// The datagram's own length (larger than `len` when the buffer cut it).
    pub full_len: usize,
    /// Source port (0 = the kernel; `u32::MAX` when no netlink address came).
    pub source_port: u32,
}

/// `recv(2)` on a socket connected to the kernel (whose datagrams come only
/// from it: source port 0), with `flags` and `MSG_TRUNC` as [`recv_from`].
pub(crate) fn recv(fd: impl AsFd, buf: &mut [u8], flags: u32) -> Result<Datagram, Errno> {
    let fd = fd.as_fd();
    // SAFETY: `fd` is live; the data pointer and length describe `buf`,
    // borrowed exclusively, of which the kernel writes at most `buf.len()`
    // bytes; no address (null pointers).
    let full_len = check(unsafe {
        raw::syscall(
            nr::__NR_recvfrom,
            [
                fd.as_raw_fd() as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                (flags | sock::MSG_TRUNC) as usize,
                0,
                0,
            ],
        )
    })?;
    Ok(Datagram {
        len: full_len.min(buf.len()),
        full_len,
        source_port: 0,
    })
}

/// `recvfrom(2)` on a netlink socket with `flags` (`MSG_*`), always adding
/// `MSG_TRUNC` so that a datagram longer than `buf` shows as such; the source
/// address is read as the `sockaddr_nl` it is.
pub(crate) fn recv_from(fd: impl AsFd, buf: &mut [u8], flags: u32) -> Result<Datagram, Errno> {
    let mut source = SockaddrNl::port(u32::MAX);
    source.family = 0;
    let mut source_len = core::mem::size_of::<SockaddrNl>() as u32;
    let fd = fd.as_fd();
    // SAFETY: `fd` is a live descriptor borrowed for the call; the data
    // pointer and length describe `buf`, borrowed exclusively, of which the
    // kernel writes at most `buf.len()` bytes; the address pointer and its
    // length describe a `sockaddr_nl` and a `socklen_t` on our stack (exact
    // sizes), which the kernel fills. All of them outlive the call.
    let ret = unsafe {
        raw::syscall(
            nr::__NR_recvfrom,
            [
                fd.as_raw_fd() as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                (flags | sock::MSG_TRUNC) as usize,
                core::ptr::addr_of_mut!(source) as usize,
                core::ptr::addr_of_mut!(source_len) as usize,
            ],
        )
    };
    let full_len = check(ret)?;
    Ok(Datagram {
        len: full_len.min(buf.len()),
        full_len,
        source_port: source.source_port(source_len as usize),
    })
}

/// Most datagrams one [`recv_datagrams`] call takes (its arrays live on the
/// stack).
pub(crate) const RECVMMSG_MAX: usize = 16;

/// `recvmmsg(2)` on a netlink socket: receives up to `out.len()` datagrams
/// (at most [`RECVMMSG_MAX`]), datagram `i` into
/// `storage[i * slot_len..(i + 1) * slot_len]`, and describes each in
/// `out[i]`. With `wait_for_one` it blocks until the first datagram, then
/// takes only what is queued; without, `EAGAIN` when nothing is. Returns how
/// many were received (at least 1).
pub(crate) fn recv_datagrams(
    fd: impl AsFd,
    storage: &mut [u8],
    slot_len: usize,
    out: &mut [Datagram],
    wait_for_one: bool,
) -> Result<usize, Errno> {
    let count = match slot_len {
        0 => 0,
        _ => out.len().min(storage.len() / slot_len).min(RECVMMSG_MAX),
    };
    if count == 0 {
        return Err(Errno::INVAL);
    }
    let mut names = [SockaddrNl::port(u32::MAX); RECVMMSG_MAX];
    let mut iovs = [IoVec {
        base: core::ptr::null_mut(),
        len: 0,
    }; RECVMMSG_MAX];
    let mut headers = [EMPTY_MMSG; RECVMMSG_MAX];
    for (iov, slot) in iovs.iter_mut().zip(storage.chunks_exact_mut(slot_len)) {
        iov.base = slot.as_mut_ptr();
        iov.len = slot.len();
    }
    for ((header, name), iov) in headers.iter_mut().zip(&mut names).zip(&mut iovs) {
        header.hdr.name = name;
        header.hdr.name_len = core::mem::size_of::<SockaddrNl>() as i32;
        header.hdr.iov = iov;
        header.hdr.iov_len = 1;
    }
    let flags = if wait_for_one {
        MSG_WAITFORONE
    } else {
        sock::MSG_DONTWAIT
    };
    let fd = fd.as_fd();
    // SAFETY: `fd` is a live descriptor borrowed for the call. The first
    // `count` headers point to their own `sockaddr_nl` (with its exact size)
    // and to one iovec each, which covers a distinct `slot_len`-byte chunk of
    // `storage` (`count` chunks fit in it); all of these outlive the call and
    // nothing else accesses them during it. The timeout pointer is null.
    let ret = unsafe {
        raw::syscall(
            nr::__NR_recvmmsg,
            [
                fd.as_raw_fd() as usize,
                headers.as_mut_ptr() as usize,
                count,
                flags as usize,
                0,
                0,
            ],
        )
    };
    let received = check(ret)?.min(count);
    for ((slot, header), name) in out.iter_mut().zip(&headers).zip(&names).take(received) {
        let len = (header.len as usize).min(slot_len);
        let truncated = header.hdr.flags & sock::MSG_TRUNC != 0;
        *slot = Datagram {
            len,
            full_len: if truncated { slot_len + 1 } else { len },
            source_port: name.source_port(header.hdr.name_len as usize),
        };
    }
    Ok(received)
}

/// Ends the process at once with `code`: `exit_group(2)`, no destructors, no
/// `atexit` handlers — what a signal handler may do.
#[cfg(feature = "std")]
pub(crate) fn exit_now(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes a plain integer and does not return.
        unsafe {
            raw::syscall(nr::__NR_exit_group, [code as usize, 0, 0, 0, 0, 0]);
        }
    }
}

/// Runs `action` in the signal handler of `signal` (after any handler
/// installed before). `action` must be async-signal-safe: atomics and system
/// calls only, no locks, no allocation.
#[cfg(feature = "std")]
pub(crate) fn on_signal(signal: i32, action: fn()) -> std::io::Result<signal_hook_registry::SigId> {
    // SAFETY: the callers pass only async-signal-safe functions (see
    // `termination.rs`: atomic loads and stores, raw system calls, an
    // encoder that writes into a stack buffer).
    unsafe { signal_hook_registry::register(signal, action) }
}

/// The descriptor `fd` borrowed for as long as `owner` is borrowed.
///
/// For a handler whose data socket is owned behind a lock: the descriptor
/// number is read once when the handler is built.
#[cfg(feature = "std")]
pub(crate) fn borrow_fd<T: ?Sized>(
    _owner: &T,
    fd: rustix::fd::RawFd,
) -> rustix::fd::BorrowedFd<'_> {
    // SAFETY: the caller passes a descriptor that `owner` keeps open, and
    // never replaces, for as long as `owner` lives; the borrow is tied to
    // `owner`'s.
    unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) }
}

/// Registers `owner`'s descriptor (read-ready) with the current tokio
/// reactor.
///
/// `owner` must own the descriptor `as_raw_fd` returns for as long as it
/// lives and never replace it (a `Handler` and its data socket do).
#[cfg(feature = "tokio")]
pub(crate) fn register_with_tokio<T: std::os::fd::AsRawFd>(
    owner: T,
) -> std::io::Result<tokio::io::unix::AsyncFd<T>> {
    use tokio::io::{unix::AsyncFd, Interest};
    // SAFETY: the caller passes an owner of its descriptor (see above); the
    // `AsyncFd` owns the owner, so the descriptor stays open and the same
    // while registered.
    unsafe { AsyncFd::register_with_interest(owner, Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generic_socket() -> OwnedFd {
        open_netlink_socket().expect("netlink socket")
    }

    #[test]
    fn sockets_get_their_own_ports() {
        let a = generic_socket();
        let b = generic_socket();
        let (pa, pb) = (socket_port(&a).unwrap(), socket_port(&b).unwrap());
        assert!(pa != 0 && pb != 0 && pa != pb);
    }

    #[test]
    fn every_option_is_accepted_by_the_kernel() {
        let fd = generic_socket();
        for option in [
            SocketOption::ExtAck,
            SocketOption::CapAck,
            SocketOption::NoEnobufs,
            SocketOption::GetStrictChk,
            SocketOption::RecvBuffer,
            SocketOption::SendBuffer,
        ] {
            set_option(&fd, option, 65536).unwrap_or_else(|e| panic!("{option:?}: {e:?}"));
        }
        // nlctrl's "notify" group always exists (id 0x10); join and leave it.
        set_option(&fd, SocketOption::AddMembership, 0x10).expect("join nlctrl notify");
        set_option(&fd, SocketOption::DropMembership, 0x10).expect("leave nlctrl notify");
    }

    #[test]
    fn an_invalid_value_reports_the_errno() {
        let fd = generic_socket();
        // Group 0 is not a valid membership.
        let err = set_option(&fd, SocketOption::AddMembership, 0).unwrap_err();
        assert_eq!(err, Errno::INVAL);
    }

    #[test]
    fn a_request_to_the_kernel_is_answered_from_port_zero() {
        let fd = generic_socket();
        // An empty request of family 0x7ff0 (none such): an error answer.
        let mut request = [0u8; 16];
        request[..4].copy_from_slice(&16u32.to_ne_bytes());
        request[4..6].copy_from_slice(&0x7ff0u16.to_ne_bytes());
        request[6..8].copy_from_slice(&1u16.to_ne_bytes());
        assert_eq!(send_to_kernel(&fd, &request), Ok(16));
        let mut buf = [0u8; 8];
        let got = recv_from(&fd, &mut buf, 0).unwrap();
        assert_eq!(got.source_port, 0);
        assert_eq!((got.len, got.full_len > 8), (8, true), "cut, and says so");
        assert_eq!(
            recv_from(&fd, &mut buf, sock::MSG_DONTWAIT),
            Err(Errno::AGAIN)
        );
        assert_eq!(
            recv_datagrams(
                &fd,
                &mut [0u8; 64],
                64,
                &mut [Datagram::default(); 2],
                false
            ),
            Err(Errno::AGAIN)
        );
    }
}
