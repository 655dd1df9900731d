//! A raw `NETLINK_GENERIC` socket talking to the kernel (port 0).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{
    bind, connect, getsockname, recv, send, socket_with, AddressFamily, RecvFlags, SendFlags,
    SocketFlags, SocketType,
};

use crate::sys::{
    recv_datagrams, recv_from, send_to_kernel, set_netlink_option, NetlinkOption, RecvMode,
};

/// How long a receive may wait for a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Until a datagram arrives.
    Forever,
    /// Not at all: return [`ErrorKind::WouldBlock`](crate::ErrorKind::WouldBlock)
    /// when nothing is queued.
    Never,
    /// At most this long: return [`ErrorKind::Timeout`](crate::ErrorKind::Timeout)
    /// when nothing arrived in time.
    Timeout(Duration),
}

/// One received datagram: its length and the port that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Datagram {
    /// Bytes written to the buffer.
    pub len: usize,
    /// Source port (0 = the kernel).
    pub source_port: u32,
    /// The datagram was longer than the buffer and got cut.
    pub truncated: bool,
}

/// A time limit that starts when it is first asked how much time is left:
/// a receive reads the clock only once it has to wait, never for a
/// datagram that is already queued.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    limit: Duration,
    at: Option<Instant>,
}

impl Deadline {
    /// `limit` from the first wait on.
    pub fn after(limit: Duration) -> Self {
        Self { limit, at: None }
    }

    /// The time left; the first call starts the clock and returns the
    /// whole limit.
    fn left(&mut self) -> Duration {
        match self.at {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => {
                self.at = Some(
                    Instant::now()
                        .checked_add(self.limit)
                        .unwrap_or_else(far_future),
                );
                self.limit
            }
        }
    }
}

/// A bound generic netlink socket and its port id.
#[derive(Debug)]
pub(crate) struct NetlinkSocket {
    fd: OwnedFd,
    port: u32,
    /// Connected to the kernel ([`NetlinkSocket::connect_to_kernel`]).
    connected: bool,
}

/// The kernel's address: port 0, no groups.
const KERNEL: SocketAddrNetlink = SocketAddrNetlink::new(0, 0);

impl NetlinkSocket {
    /// Opens a generic netlink socket and lets the kernel pick its port.
    pub fn open() -> io::Result<Self> {
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(netlink::GENERIC),
        )?;
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        let local = SocketAddrNetlink::try_from(getsockname(&fd)?)?;
        Ok(Self {
            fd,
            port: local.pid(),
            connected: false,
        })
    }

    /// The socket's netlink port id.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Sets one `SOL_NETLINK` option.
    pub fn set_option(&self, option: NetlinkOption, value: u32) -> io::Result<()> {
        set_netlink_option(&self.fd, option, value)
    }

    /// Sets the receive buffer size; tries `SO_RCVBUFFORCE` first so a
    /// privileged process may exceed `net.core.rmem_max`.
    pub fn set_recv_buffer(&self, bytes: usize) -> io::Result<()> {
        rustix::net::sockopt::set_socket_recv_buffer_size_force(&self.fd, bytes)
            .or_else(|_| rustix::net::sockopt::set_socket_recv_buffer_size(&self.fd, bytes))?;
        Ok(())
    }

    /// Sets the send buffer size, which bounds the largest datagram
    /// (`SO_SNDBUFFORCE` first, as for the receive buffer).
    pub fn set_send_buffer(&self, bytes: usize) -> io::Result<()> {
        rustix::net::sockopt::set_socket_send_buffer_size_force(&self.fd, bytes)
            .or_else(|_| rustix::net::sockopt::set_socket_send_buffer_size(&self.fd, bytes))?;
        Ok(())
    }

    /// Connects the socket to the kernel: sends then carry no address, and
    /// the kernel refuses datagrams from any other port to this socket
    /// (`netlink_getsockbyportid` answers `ECONNREFUSED` to their sender),
    /// so everything received comes from the kernel.
    pub fn connect_to_kernel(&mut self) -> io::Result<()> {
        connect(&self.fd, &KERNEL)?;
        self.connected = true;
        Ok(())
    }

    /// Sends one datagram to the kernel.
    pub fn send(&self, datagram: &[u8]) -> io::Result<()> {
        loop {
            let sent = if self.connected {
                send(&self.fd, datagram, SendFlags::empty())
            } else {
                send_to_kernel(&self.fd, datagram)
            };
            match sent {
                Ok(n) if n == datagram.len() => return Ok(()),
                Ok(_) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one datagram into `buf`, waiting as `wait` says.
    ///
    /// Errors: `WouldBlock` (for [`Wait::Never`]), `TimedOut` (for
    /// [`Wait::Timeout`]), or the socket's error (e.g. `ENOBUFS`).
    pub fn recv(&self, buf: &mut [u8], wait: Wait) -> io::Result<Datagram> {
        match wait {
            Wait::Forever => Ok(self.recv_once(buf, RecvFlags::TRUNC)?),
            Wait::Never => Ok(self.recv_once(buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT)?),
            Wait::Timeout(limit) => self.recv_before(buf, &mut Deadline::after(limit)),
        }
    }

    /// Receives one datagram into `buf` before `deadline` (`TimedOut`
    /// after it). A datagram already queued is taken at once, without
    /// reading the clock or polling: the kernel answers a request inside the
    /// `sendmsg` that carried it, so its answer is usually there already.
    pub fn recv_before(&self, buf: &mut [u8], deadline: &mut Deadline) -> io::Result<Datagram> {
        loop {
            match self.recv_once(buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
                // Nothing queued, or another thread took the datagram poll
                // announced: wait (again).
                Err(Errno::AGAIN) => {}
                other => return Ok(other?),
            }
            if !self.wait_readable(deadline.left())? {
                return Err(io::ErrorKind::TimedOut.into());
            }
        }
    }

    /// One `recvfrom` (retried when interrupted by a signal). With
    /// `MSG_TRUNC` netlink returns the datagram's full length, so a
    /// datagram longer than `buf` is reported as truncated.
    fn recv_once(&self, buf: &mut [u8], flags: RecvFlags) -> Result<Datagram, Errno> {
        loop {
            // A connected socket only ever receives from the kernel: no
            // source address to ask for.
            let received = if self.connected {
                recv(&self.fd, &mut *buf, flags).map(|(_, full_len)| (full_len, 0))
            } else {
                recv_from(&self.fd, &mut *buf, flags.bits() as libc::c_int)
            };
            match received {
                Ok((full_len, source_port)) => {
                    return Ok(Datagram {
                        len: full_len.min(buf.len()),
                        source_port,
                        truncated: full_len > buf.len(),
                    });
                }
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives up to `out.len()` datagrams with one `recvmmsg` (at most
    /// [`RECVMMSG_MAX`](crate::sys::RECVMMSG_MAX)), datagram `i` into the
    /// `i`-th `slot_len`-byte chunk of `storage`; waits as `wait` says for
    /// the first one only. Returns how many arrived (at least 1); errors as
    /// [`NetlinkSocket::recv`].
    pub fn recv_many(
        &self,
        storage: &mut [u8],
        slot_len: usize,
        out: &mut [Datagram],
        wait: Wait,
    ) -> io::Result<usize> {
        let mut deadline = match wait {
            Wait::Timeout(limit) => Some(Deadline::after(limit)),
            _ => None,
        };
        loop {
            let mode = match wait {
                Wait::Forever => RecvMode::WaitForOne,
                _ => RecvMode::DontWait,
            };
            match recv_datagrams(&self.fd, storage, slot_len, out, mode) {
                Ok(n) => return Ok(n),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                // Nothing queued yet (as for `recv_before`: try before
                // polling), or another thread took what poll announced.
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    let Some(deadline) = deadline.as_mut() else {
                        return Err(e);
                    };
                    if !self.wait_readable(deadline.left())? {
                        return Err(io::ErrorKind::TimedOut.into());
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits until the socket is readable or `timeout` passed; `false` when
    /// the time ran out.
    fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let timespec = Timespec {
            tv_sec: timeout.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: timeout.subsec_nanos().into(),
        };
        match poll(&mut fds, Some(&timespec)) {
            Ok(0) => Ok(false),
            Ok(_) => Ok(true),
            Err(Errno::INTR) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }
}

fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(60 * 60 * 24 * 365 * 100)
}

impl AsFd for NetlinkSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::sendto;

    #[test]
    fn each_socket_gets_its_own_nonzero_port() {
        let a = NetlinkSocket::open().unwrap();
        let b = NetlinkSocket::open().unwrap();
        assert_ne!(a.port(), 0);
        assert_ne!(a.port(), b.port());
    }

    #[test]
    fn nonblocking_receive_on_an_idle_socket_would_block() {
        let s = NetlinkSocket::open().unwrap();
        let mut buf = [0u8; 64];
        let err = s.recv(&mut buf, Wait::Never).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn receive_with_timeout_times_out() {
        let s = NetlinkSocket::open().unwrap();
        let mut buf = [0u8; 64];
        let start = Instant::now();
        let err = s
            .recv(&mut buf, Wait::Timeout(Duration::from_millis(50)))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    #[test]
    fn recv_buffer_is_set() {
        let s = NetlinkSocket::open().unwrap();
        s.set_recv_buffer(256 * 1024).unwrap();
        let got = rustix::net::sockopt::socket_recv_buffer_size(&s).unwrap();
        // The kernel doubles the value (bookkeeping) and caps it at rmem_max
        // without CAP_NET_ADMIN; either way it grew past the tiny default floor.
        assert!(got >= 4096, "got {got}");
    }

    /// Sends `len` bytes from `from` to `to`'s port; false when this process
    /// may not (only root may send to another socket's port).
    fn send_foreign(from: &NetlinkSocket, to: &NetlinkSocket, len: usize) -> bool {
        let mut datagram = vec![0u8; len];
        datagram[..4].copy_from_slice(&u32::try_from(len).unwrap().to_ne_bytes());
        let target = SocketAddrNetlink::new(to.port(), 0);
        sendto(from, &datagram, SendFlags::empty(), &target).is_ok()
    }

    #[test]
    fn a_deadline_starts_on_the_first_wait() {
        let mut deadline = Deadline::after(Duration::from_millis(200));
        assert!(deadline.at.is_none());
        assert_eq!(deadline.left(), Duration::from_millis(200));
        assert!(deadline.at.is_some());
        std::thread::sleep(Duration::from_millis(20));
        let left = deadline.left();
        assert!(left <= Duration::from_millis(180), "{left:?}");
    }

    #[test]
    fn a_queued_datagram_is_taken_without_waiting_or_reading_the_clock() {
        let receiver = NetlinkSocket::open().unwrap();
        let sender = NetlinkSocket::open().unwrap();
        if !send_foreign(&sender, &receiver, 24) {
            return;
        }
        let mut buf = [0u8; 64];
        // No time at all: still taken, as it is already there.
        let mut deadline = Deadline::after(Duration::ZERO);
        let got = receiver.recv_before(&mut buf, &mut deadline).unwrap();
        assert_eq!((got.len, got.source_port), (24, sender.port()));
        assert!(deadline.at.is_none());
        let err = receiver.recv_before(&mut buf, &mut deadline).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        // Likewise with a time limit through `recv`.
        assert!(send_foreign(&sender, &receiver, 100));
        let got = receiver
            .recv(&mut buf, Wait::Timeout(Duration::ZERO))
            .unwrap();
        assert_eq!((got.len, got.truncated), (64, true));
    }

    #[test]
    fn a_socket_connected_to_the_kernel_hears_only_the_kernel() {
        let mut connected = NetlinkSocket::open().unwrap();
        connected.connect_to_kernel().unwrap();
        let other = NetlinkSocket::open().unwrap();
        let mut datagram = [0u8; 16];
        datagram[..4].copy_from_slice(&16u32.to_ne_bytes());
        let target = SocketAddrNetlink::new(connected.port(), 0);
        match sendto(&other, &datagram, SendFlags::empty(), &target) {
            // Only root may send to another socket's port at all.
            Err(Errno::PERM) => {}
            Err(e) => assert_eq!(e, Errno::CONNREFUSED),
            Ok(_) => panic!("the kernel let another port through"),
        }
        // The kernel's answers still arrive (here: the error answer to an
        // empty request of family 0x7ff0, which does not exist).
        let mut request = [0u8; 16];
        request[..4].copy_from_slice(&16u32.to_ne_bytes());
        request[4..6].copy_from_slice(&0x7ff0u16.to_ne_bytes());
        request[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
        connected.send(&request).unwrap();
        let mut buf = [0u8; 256];
        let got = connected.recv(&mut buf, Wait::Never).unwrap();
        assert_eq!(got.source_port, 0);
        assert_eq!(
            u16::from_ne_bytes([buf[4], buf[5]]),
            libc::NLMSG_ERROR as u16
        );
    }

    #[test]
    fn recv_many_takes_several_datagrams_with_their_sources() {
        let receiver = NetlinkSocket::open().unwrap();
        let sender = NetlinkSocket::open().unwrap();
        for len in [20, 24, 40, 100] {
            if !send_foreign(&sender, &receiver, len) {
                return;
            }
        }
        let mut storage = [0u8; 8 * 64];
        let mut out = [Datagram::default(); 8];
        let n = receiver
            .recv_many(
                &mut storage,
                64,
                &mut out,
                Wait::Timeout(Duration::from_secs(1)),
            )
            .unwrap();
        assert_eq!(n, 4);
        let lens: Vec<(usize, bool)> = out[..n].iter().map(|d| (d.len, d.truncated)).collect();
        // The 100-byte one did not fit its 64-byte slot.
        assert_eq!(
            lens,
            vec![(20, false), (24, false), (40, false), (64, true)]
        );
        assert!(out[..n].iter().all(|d| d.source_port == sender.port()));
        assert_eq!(&storage[64..68], &24u32.to_ne_bytes());
        let err = receiver
            .recv_many(&mut storage, 64, &mut out, Wait::Never)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        // At most `out.len()` per call; the rest stays queued.
        for _ in 0..3 {
            assert!(send_foreign(&sender, &receiver, 16));
        }
        let n = receiver
            .recv_many(&mut storage, 64, &mut out[..2], Wait::Forever)
            .unwrap();
        assert_eq!(n, 2);
        let n = receiver
            .recv_many(&mut storage, 64, &mut out, Wait::Never)
            .unwrap();
        assert_eq!(n, 1);
    }
}
