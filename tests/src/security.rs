//! What the security tests share: a generic netlink socket bound to a port
//! the test chooses (the attack of the port-reuse test) and the `__child
//! security ...` helper dispatcher.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::harness::{Context, TestResult};
use ipcon_test_support::rawnl::{packets, Ack, NLMSG_ERROR};

/// A `NETLINK_GENERIC` socket that is bound only when told, to a port the
/// caller picks (`RawSocket` always lets the kernel pick).
#[derive(Debug)]
pub struct PortSocket {
    fd: OwnedFd,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl PortSocket {
    /// An unbound socket (plain: no options, so that the port-reuse race
    /// spends its time racing).
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain socket(2); the descriptor is owned below.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        })?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Self { fd })
    }

    /// Binds to `port` (`EADDRINUSE` while another socket has it).
    pub fn bind(&self, port: u32) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_pid = port;
        // SAFETY: `addr` is a valid sockaddr_nl of the length given.
        check(unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// Sends `bytes` to the kernel.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: `bytes` is valid for its length; no address (connected to
        // nothing, so the kernel is the destination).
        check(unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                bytes.as_ptr() as *const libc::c_void,
                bytes.len(),
                0,
            ) as libc::c_int
        })
        .map(drop)
    }

    /// One datagram, waiting at most `limit`; `None` when nothing came.
    pub fn recv(&self, buf: &mut [u8], limit: Duration) -> io::Result<Option<usize>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = limit.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        if check(unsafe { libc::poll(&mut pfd, 1, ms) })? == 0 {
            return Ok(None);
        }
        // SAFETY: `buf` is writable for its length.
        let got = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if got < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                _ => Err(err),
            };
        }
        Ok(Some(got as usize))
    }

    /// Sends a datagram of `count` requests (sequence numbers 1..=count, each
    /// asking for an ACK) and collects their answers (see [`Self::answers`]).
    pub fn exchange(
        &self,
        datagram: &[u8],
        count: usize,
        others: &mut Vec<(u16, u32, Vec<u8>)>,
    ) -> Result<Vec<Ack>, String> {
        self.send(datagram).ctx("send requests")?;
        self.answers(count, others)
    }

    /// The answers (errno 0 = success, kernel text) to the requests with
    /// sequence numbers 1..=count sent last, in sequence order; every other
    /// message that arrives meanwhile, or is queued behind the last answer,
    /// goes to `others` as (type, seq, payload).
    pub fn answers(
        &self,
        count: usize,
        others: &mut Vec<(u16, u32, Vec<u8>)>,
    ) -> Result<Vec<Ack>, String> {
        let mut acks = vec![None; count];
        let mut buf = vec![0u8; 64 * 1024];
        while acks.iter().any(Option::is_none) {
            let len = self
                .recv(&mut buf, Duration::from_secs(5))
                .ctx("receive answers")?
                .ok_or("no answer from the kernel within 5s")?;
            for packet in packets(&buf[..len]) {
                let slot = (packet.seq as usize)
                    .checked_sub(1)
                    .and_then(|i| acks.get_mut(i));
                match slot {
                    Some(slot) if packet.kind == NLMSG_ERROR => {
                        *slot = Some(packet.ack().ctx("short error message")?);
                    }
                    _ => others.push((packet.kind, packet.seq, packet.body.to_vec())),
                }
            }
        }
        // Whatever else is queued already.
        while let Some(len) = self.recv(&mut buf, Duration::ZERO).ctx("receive")? {
            for packet in packets(&buf[..len]) {
                others.push((packet.kind, packet.seq, packet.body.to_vec()));
            }
        }
        Ok(acks.into_iter().flatten().collect())
    }
}

/// Prints a helper's outcome as the `result ok` / `result fail: WHY` line
/// `common::helper_outcome` waits for.
fn reported(outcome: TestResult) -> TestResult {
    match &outcome {
        Ok(()) => println!("result ok"),
        Err(why) => println!("result fail: {why}"),
    }
    outcome
}

/// `__child security CASE ARGS...`: the helper side of a security test.
pub fn child(args: &[&str]) -> TestResult {
    match args {
        ["pidns"] => crate::stamps::start_in_new_pid_namespace(),
        ["pidns-peer"] => reported(crate::stamps::peer_in_new_pid_namespace()),
        ["memcg-user", groups, payload] => crate::memory::memcg_user(
            groups.parse().ctx("groups")?,
            payload.parse().ctx("payload")?,
        ),
        ["at-limits", uid] => crate::user_limits::user_at_every_limit(uid.parse().ctx("uid")?),
        ["unaffected", uid] => {
            reported(crate::user_limits::user_unaffected(uid.parse().ctx("uid")?))
        }
        ["fill", cap] => crate::user_limits::fill(cap.parse().ctx("cap")?, false),
        ["viewer", uid] => reported(crate::visibility::viewer(uid.parse().ctx("uid")?)),
        ["fill", cap, "own-namespaces"] => crate::user_limits::fill(cap.parse().ctx("cap")?, true),
        _ => Err(format!("unknown security case {args:?}")),
    }
}
