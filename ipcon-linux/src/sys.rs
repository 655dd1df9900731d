//! The system calls rustix does not wrap: the `SOL_NETLINK` socket options
//! and `recvmmsg(2)`; and `sendto`/`recvfrom` with the netlink address as a
//! plain `sockaddr_nl`, cheaper per call than rustix's any-family address
//! (which counts on the per-message path under emulation).
//!
//! This is the only module of the crate allowed to use `unsafe`: each option
//! is a plain `setsockopt(2)` call with an `int` value; `recvmmsg` fills
//! caller-owned buffers described by arrays on the stack.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use rustix::io::Errno;

/// One `SOL_NETLINK` option that takes an `int`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetlinkOption {
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
}

impl NetlinkOption {
    fn name(self) -> libc::c_int {
        match self {
            Self::AddMembership => libc::NETLINK_ADD_MEMBERSHIP,
            Self::DropMembership => libc::NETLINK_DROP_MEMBERSHIP,
            Self::ExtAck => libc::NETLINK_EXT_ACK,
            Self::CapAck => libc::NETLINK_CAP_ACK,
            Self::NoEnobufs => libc::NETLINK_NO_ENOBUFS,
            Self::GetStrictChk => libc::NETLINK_GET_STRICT_CHK,
        }
    }
}

/// `setsockopt(fd, SOL_NETLINK, option, &value, sizeof(int))`.
pub(crate) fn set_netlink_option(
    fd: impl AsFd,
    option: NetlinkOption,
    value: u32,
) -> io::Result<()> {
    let value = value as libc::c_int;
    let fd = fd.as_fd();
    // SAFETY: `fd` is a live descriptor borrowed for the call, and the option
    // value points to an `int` on our stack whose exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_NETLINK,
            option.name(),
            std::ptr::addr_of!(value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The kernel's netlink address (port 0, no groups).
fn kernel_address() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is a plain C struct for which all-zero bytes are a
    // valid value (port 0, no groups, zero padding).
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    address
}

/// `sendto(2)` of one datagram to the kernel, with the address built here as
/// the `sockaddr_nl` it is. Returns the bytes sent.
pub(crate) fn send_to_kernel(fd: impl AsFd, datagram: &[u8]) -> Result<usize, Errno> {
    let address = kernel_address();
    let fd = fd.as_fd();
    // SAFETY: `fd` is a live descriptor borrowed for the call; the data
    // pointer and length describe `datagram`, which the kernel only reads;
    // the address points to a `sockaddr_nl` on our stack whose exact size is
    // passed. All of them outlive the call.
    let rc = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            datagram.as_ptr().cast(),
            datagram.len(),
            0,
            std::ptr::addr_of!(address).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    usize::try_from(rc).map_err(|_| last_errno())
}

/// `recvfrom(2)` on a netlink socket, the source address read as the
/// `sockaddr_nl` it is. Returns the length the kernel reports (with
/// `MSG_TRUNC`: the datagram's full length, even when `buf` is shorter) and
/// the sender's port (`u32::MAX` when no netlink address came with it).
pub(crate) fn recv_from(
    fd: impl AsFd,
    buf: &mut [u8],
    flags: libc::c_int,
) -> Result<(usize, u32), Errno> {
    // SAFETY: sockaddr_nl is a plain C struct for which all-zero bytes are a
    // valid value.
    let mut source: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut source_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    let fd = fd.as_fd();
    // SAFETY: `fd` is a live descriptor borrowed for the call; the data
    // pointer and length describe `buf`, borrowed exclusively, of which the
    // kernel writes at most `buf.len()` bytes; the address pointer and its
    // length describe a `sockaddr_nl` on our stack (exact size), which the
    // kernel fills and shortens the length of. All of them outlive the call.
    let rc = unsafe {
        libc::recvfrom(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            std::ptr::addr_of_mut!(source).cast(),
            &mut source_len,
        )
    };
    let len = usize::try_from(rc).map_err(|_| last_errno())?;
    let named = source_len as usize >= std::mem::size_of::<libc::sockaddr_nl>()
        && libc::c_int::from(source.nl_family) == libc::AF_NETLINK;
    Ok((len, if named { source.nl_pid } else { u32::MAX }))
}

/// The calling thread's `errno` after a failed call.
fn last_errno() -> Errno {
    Errno::from_raw_os_error(
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Most datagrams one [`recv_datagrams`] call takes (its arrays live on the
/// stack).
pub(crate) const RECVMMSG_MAX: usize = 16;

/// How [`recv_datagrams`] waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecvMode {
    /// Block until the first datagram, then take only what is queued
    /// (`MSG_WAITFORONE`).
    WaitForOne,
    /// Take only what is queued; `EAGAIN` if nothing is (`MSG_DONTWAIT`).
    DontWait,
}

/// `recvmmsg(2)` on a netlink socket: receives up to `out.len()` datagrams
/// (at most [`RECVMMSG_MAX`]), datagram `i` into
/// `storage[i * slot_len..(i + 1) * slot_len]`, and describes each in
/// `out[i]`. Returns how many were received (at least 1).
pub(crate) fn recv_datagrams(
    fd: impl AsFd,
    storage: &mut [u8],
    slot_len: usize,
    out: &mut [crate::socket::Datagram],
    mode: RecvMode,
) -> io::Result<usize> {
    if slot_len == 0 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    let count = out.len().min(storage.len() / slot_len).min(RECVMMSG_MAX);
    if count == 0 {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    // SAFETY: sockaddr_nl, iovec and mmsghdr are plain C structs for which
    // all-zero bytes are a valid value (null pointers, zero lengths).
    let (mut names, mut iovs, mut headers) = unsafe {
        (
            std::mem::zeroed::<[libc::sockaddr_nl; RECVMMSG_MAX]>(),
            std::mem::zeroed::<[libc::iovec; RECVMMSG_MAX]>(),
            std::mem::zeroed::<[libc::mmsghdr; RECVMMSG_MAX]>(),
        )
    };
    for (iov, slot) in iovs.iter_mut().zip(storage.chunks_exact_mut(slot_len)) {
        iov.iov_base = slot.as_mut_ptr().cast();
        iov.iov_len = slot.len();
    }
    for ((header, name), iov) in headers.iter_mut().zip(&mut names).zip(&mut iovs) {
        header.msg_hdr.msg_name = std::ptr::addr_of_mut!(*name).cast();
        header.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        header.msg_hdr.msg_iov = iov;
        header.msg_hdr.msg_iovlen = 1;
    }
    let flags = match mode {
        RecvMode::WaitForOne => libc::MSG_WAITFORONE,
        RecvMode::DontWait => libc::MSG_DONTWAIT,
    };
    let fd = fd.as_fd();
    // SAFETY: `fd` is a live descriptor borrowed for the call. The first
    // `count` headers point to their own `sockaddr_nl` (with its exact size)
    // and to one iovec each, which covers a distinct `slot_len`-byte chunk of
    // `storage` (`count` chunks fit in it); all of these outlive the call and
    // nothing else accesses them during it. The timeout pointer is null.
    let rc = unsafe {
        libc::recvmmsg(
            fd.as_raw_fd(),
            headers.as_mut_ptr(),
            count as libc::c_uint,
            flags as _,
            std::ptr::null_mut(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let received = usize::try_from(rc).unwrap_or(0).min(count);
    for ((slot, header), name) in out.iter_mut().zip(&headers).zip(&names).take(received) {
        let named = header.msg_hdr.msg_namelen as usize >= std::mem::size_of::<libc::sockaddr_nl>()
            && libc::c_int::from(name.nl_family) == libc::AF_NETLINK;
        *slot = crate::socket::Datagram {
            len: (header.msg_len as usize).min(slot_len),
            source_port: if named { name.nl_pid } else { u32::MAX },
            truncated: header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        };
    }
    Ok(received)
}

/// Registers `handler`'s data socket with the current tokio reactor.
#[cfg(feature = "tokio")]
pub(crate) fn register_with_tokio(
    handler: crate::Handler,
) -> io::Result<tokio::io::unix::AsyncFd<crate::Handler>> {
    use tokio::io::{unix::AsyncFd, Interest};
    // SAFETY: a `Handler` owns its data socket (an `OwnedFd`) for as long as
    // it lives, never replaces it, and `as_raw_fd` always returns that
    // descriptor; the `AsyncFd` owns the handler, so the descriptor stays
    // open and the same while registered.
    unsafe { AsyncFd::register_with_interest(handler, Interest::READABLE) }
        .map_err(|e| e.into_parts().1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{netlink, socket_with, AddressFamily, SocketFlags, SocketType};

    fn generic_socket() -> std::os::fd::OwnedFd {
        socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(netlink::GENERIC),
        )
        .expect("netlink socket")
    }

    #[test]
    fn every_option_is_accepted_by_the_kernel() {
        let fd = generic_socket();
        for option in [
            NetlinkOption::ExtAck,
            NetlinkOption::CapAck,
            NetlinkOption::NoEnobufs,
            NetlinkOption::GetStrictChk,
        ] {
            set_netlink_option(&fd, option, 1).unwrap_or_else(|e| panic!("{option:?}: {e}"));
        }
        // nlctrl's "notify" group always exists (id 0x10); join and leave it.
        set_netlink_option(&fd, NetlinkOption::AddMembership, 0x10).expect("join nlctrl notify");
        set_netlink_option(&fd, NetlinkOption::DropMembership, 0x10).expect("leave nlctrl notify");
    }

    #[test]
    fn an_invalid_value_reports_the_os_error() {
        let fd = generic_socket();
        // Group 0 is not a valid membership.
        let err = set_netlink_option(&fd, NetlinkOption::AddMembership, 0).unwrap_err();
        assert!(err.raw_os_error().is_some());
    }
}
