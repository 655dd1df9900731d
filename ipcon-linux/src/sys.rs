//! The netlink socket options rustix does not wrap (`SOL_NETLINK` level).
//!
//! This is the only module of the crate allowed to use `unsafe`: each option
//! is a plain `setsockopt(2)` call with an `int` value.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};

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
