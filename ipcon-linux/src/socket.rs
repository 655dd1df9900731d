//! A raw `NETLINK_GENERIC` socket talking to the kernel (port 0).

use core::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;

use crate::clock::{Clock, Deadline, Wait};
use crate::error::{Error, Result};
use crate::sys::{self, Datagram, SocketOption};

/// A bound generic netlink socket and its port id.
#[derive(Debug)]
pub(crate) struct NetlinkSocket {
    fd: OwnedFd,
    port: u32,
    /// Connected to the kernel ([`NetlinkSocket::connect_to_kernel`]).
    connected: bool,
}

impl NetlinkSocket {
    /// Opens a generic netlink socket and lets the kernel pick its port.
    pub fn open() -> Result<Self, Errno> {
        let fd = sys::open_netlink_socket()?;
        let port = sys::socket_port(&fd)?;
        Ok(Self {
            fd,
            port,
            connected: false,
        })
    }

    /// A socket with the options every request socket wants: the kernel's
    /// error text, short error messages.
    pub fn open_for_requests() -> Result<Self> {
        let socket = Self::open().map_err(|e| Error::from_os("open socket", e))?;
        for option in [SocketOption::ExtAck, SocketOption::CapAck] {
            socket
                .set_option(option, 1)
                .map_err(|e| Error::from_os("set socket option", e))?;
        }
        // Strict checking is an improvement where the kernel has it (4.20+);
        // older kernels work without it.
        let _ = socket.set_option(SocketOption::GetStrictChk, 1);
        Ok(socket)
    }

    /// A socket to receive on: no `ENOBUFS` (loss shows as `missed` and
    /// kernel event sequence gaps), a receive buffer of `bytes`.
    pub fn open_data(bytes: usize) -> Result<Self> {
        let socket = Self::open_for_requests()?;
        socket
            .set_option(SocketOption::NoEnobufs, 1)
            .map_err(|e| Error::from_os("set socket option", e))?;
        socket
            .set_recv_buffer(bytes)
            .map_err(|e| Error::from_os("set receive buffer", e))?;
        Ok(socket)
    }

    /// A second descriptor of the same socket (same port, same queue): what
    /// one half of a peer sends on while the other half receives.
    pub fn duplicate(&self) -> Result<Self, Errno> {
        Ok(Self {
            fd: rustix::io::fcntl_dupfd_cloexec(&self.fd, 0)?,
            port: self.port,
            connected: self.connected,
        })
    }

    /// The socket's netlink port id.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Sets one socket option.
    pub fn set_option(&self, option: SocketOption, value: u32) -> Result<(), Errno> {
        sys::set_option(&self.fd, option, value)
    }

    /// Sets the receive buffer size; tries `SO_RCVBUFFORCE` first so a
    /// privileged process may exceed `net.core.rmem_max`.
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<(), Errno> {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX >> 1);
        self.set_option(SocketOption::RecvBufferForce, bytes)
            .or_else(|_| self.set_option(SocketOption::RecvBuffer, bytes))
    }

    /// Sets the send buffer size, which bounds the largest datagram
    /// (`SO_SNDBUFFORCE` first, as for the receive buffer).
    pub fn set_send_buffer(&self, bytes: usize) -> Result<(), Errno> {
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX >> 1);
        self.set_option(SocketOption::SendBufferForce, bytes)
            .or_else(|_| self.set_option(SocketOption::SendBuffer, bytes))
    }

    /// Connects the socket to the kernel: sends then carry no address, and
    /// the kernel refuses datagrams from any other port to this socket
    /// (`netlink_getsockbyportid` answers `ECONNREFUSED` to their sender),
    /// so everything received comes from the kernel.
    pub fn connect_to_kernel(&mut self) -> Result<(), Errno> {
        sys::connect_to_kernel(&self.fd)?;
        self.connected = true;
        Ok(())
    }

    /// Sends one datagram to the kernel (retried when a signal interrupts).
    pub fn send(&self, datagram: &[u8]) -> Result<(), Errno> {
        loop {
            let sent = if self.connected {
                sys::send(&self.fd, datagram)
            } else {
                sys::send_to_kernel(&self.fd, datagram)
            };
            match sent {
                Ok(n) if n == datagram.len() => return Ok(()),
                Ok(_) => return Err(Errno::MSGSIZE),
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// One receive of a datagram into `buf` (retried when a signal
    /// interrupts); `dont_wait`: `EAGAIN` when none is queued.
    fn recv_once(&self, buf: &mut [u8], dont_wait: bool) -> Result<Datagram, Errno> {
        let flags = if dont_wait {
            linux_raw_sys::net::MSG_DONTWAIT
        } else {
            0
        };
        loop {
            // A connected socket only ever receives from the kernel: no
            // source address to ask for.
            let received = if self.connected {
                sys::recv(&self.fd, buf, flags)
            } else {
                sys::recv_from(&self.fd, buf, flags)
            };
            match received {
                Err(Errno::INTR) => continue,
                other => return other,
            }
        }
    }

    /// Takes one queued datagram into `buf`; `AGAIN` when none is.
    pub fn try_recv(&self, buf: &mut [u8]) -> Result<Datagram, Errno> {
        self.recv_once(buf, true)
    }

    /// Receives one datagram into `buf`, waiting as `wait` says: `AGAIN`
    /// for [`Wait::Never`] with nothing queued, `TIMEDOUT` when the time ran
    /// out.
    pub fn recv(&self, buf: &mut [u8], wait: Wait, clock: &impl Clock) -> Result<Datagram, Errno> {
        match wait {
            Wait::Forever => self.recv_once(buf, false),
            Wait::Never => self.recv_once(buf, true),
            Wait::Timeout(limit) => self.recv_before(buf, &mut Deadline::after(limit), clock),
        }
    }

    /// Receives one datagram into `buf` before `deadline` (`TIMEDOUT` after
    /// it). A datagram already queued is taken at once, without reading the
    /// clock or polling: the kernel answers a request inside the `sendmsg`
    /// that carried it, so its answer is usually there already.
    pub fn recv_before(
        &self,
        buf: &mut [u8],
        deadline: &mut Deadline,
        clock: &impl Clock,
    ) -> Result<Datagram, Errno> {
        loop {
            match self.recv_once(buf, true) {
                // Nothing queued, or another descriptor of the socket took
                // the datagram poll announced: wait (again).
                Err(Errno::AGAIN) => {}
                other => return other,
            }
            if !self.wait_readable(deadline.left(clock))? {
                return Err(Errno::TIMEDOUT);
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
        clock: &impl Clock,
    ) -> Result<usize, Errno> {
        let mut deadline = Deadline::of_wait(wait);
        loop {
            let wait_for_one = wait == Wait::Forever;
            match sys::recv_datagrams(&self.fd, storage, slot_len, out, wait_for_one) {
                Err(Errno::INTR) => continue,
                // Nothing queued yet (as for `recv_before`: try before
                // polling), or another descriptor took what poll announced.
                Err(Errno::AGAIN) => {
                    let Some(deadline) = deadline.as_mut() else {
                        return Err(Errno::AGAIN);
                    };
                    if !self.wait_readable(deadline.left(clock))? {
                        return Err(Errno::TIMEDOUT);
                    }
                }
                other => return other,
            }
        }
    }

    /// Waits until the socket is readable or `timeout` passed; `false` when
    /// the time ran out.
    pub fn wait_readable(&self, timeout: Duration) -> Result<bool, Errno> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let timespec = Timespec {
            tv_sec: timeout.as_secs().try_into().unwrap_or(i64::MAX),
            tv_nsec: timeout.subsec_nanos().into(),
        };
        match poll(&mut fds, Some(&timespec)) {
            Ok(0) => Ok(false),
            Ok(_) | Err(Errno::INTR) => Ok(true),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for NetlinkSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::MonotonicClock;
    use rustix::net::netlink::SocketAddrNetlink;
    use rustix::net::{sendto, SendFlags};

    /// Sends `len` bytes (a netlink header claiming them, then zeros) from
    /// `from` to `to`'s port; false when this process may not (only root may
    /// send to another socket's port).
    pub(crate) fn send_foreign(from: &NetlinkSocket, to: &NetlinkSocket, len: usize) -> bool {
        let mut datagram = [0u8; 256];
        datagram[..4].copy_from_slice(&u32::try_from(len).unwrap().to_ne_bytes());
        let target = SocketAddrNetlink::new(to.port(), 0);
        sendto(from, &datagram[..len], SendFlags::empty(), &target).is_ok()
    }

    #[test]
    fn each_socket_gets_its_own_nonzero_port_and_a_duplicate_shares_it() {
        let a = NetlinkSocket::open().unwrap();
        let b = NetlinkSocket::open().unwrap();
        assert_ne!(a.port(), 0);
        assert_ne!(a.port(), b.port());
        let twin = a.duplicate().unwrap();
        assert_eq!(twin.port(), a.port());
        if send_foreign(&b, &twin, 20) {
            let mut buf = [0u8; 64];
            let got = a.recv(&mut buf, Wait::Never, &MonotonicClock).unwrap();
            assert_eq!((got.len, got.source_port), (20, b.port()));
        }
    }

    #[test]
    fn nonblocking_receive_on_an_idle_socket_would_block_and_a_limit_times_out() {
        let s = NetlinkSocket::open().unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(
            s.recv(&mut buf, Wait::Never, &MonotonicClock),
            Err(Errno::AGAIN)
        );
        let start = MonotonicClock.now();
        let limit = Duration::from_millis(50);
        assert_eq!(
            s.recv(&mut buf, Wait::Timeout(limit), &MonotonicClock),
            Err(Errno::TIMEDOUT)
        );
        assert!(MonotonicClock.now() - start >= limit);
    }

    #[test]
    fn recv_buffer_is_set() {
        let s = NetlinkSocket::open().unwrap();
        s.set_recv_buffer(256 * 1024).unwrap();
        let got = rustix::net::sockopt::socket_recv_buffer_size(&s.fd).unwrap();
        // The kernel doubles the value (bookkeeping) and caps it at rmem_max
        // without CAP_NET_ADMIN; either way it grew past the tiny default floor.
        assert!(got >= 4096, "got {got}");
    }

    #[test]
    fn a_queued_datagram_is_taken_without_reading_the_clock() {
        let receiver = NetlinkSocket::open().unwrap();
        let sender = NetlinkSocket::open().unwrap();
        if !send_foreign(&sender, &receiver, 24) {
            return;
        }
        let mut buf = [0u8; 64];
        // No time at all: still taken, as it is already there.
        let mut deadline = Deadline::after(Duration::ZERO);
        let clock = crate::clock::tests::ManualClock::default();
        let got = receiver
            .recv_before(&mut buf, &mut deadline, &clock)
            .unwrap();
        assert_eq!((got.len, got.source_port), (24, sender.port()));
        assert_eq!(
            receiver.recv_before(&mut buf, &mut deadline, &clock),
            Err(Errno::TIMEDOUT)
        );
        // A datagram longer than the buffer says so.
        assert!(send_foreign(&sender, &receiver, 100));
        let got = receiver
            .recv(&mut buf, Wait::Timeout(Duration::ZERO), &MonotonicClock)
            .unwrap();
        assert_eq!((got.len, got.full_len), (64, 100));
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
        request[6..8].copy_from_slice(&1u16.to_ne_bytes());
        connected.send(&request).unwrap();
        let mut buf = [0u8; 256];
        let got = connected
            .recv(&mut buf, Wait::Never, &MonotonicClock)
            .unwrap();
        assert_eq!(got.source_port, 0);
        assert_eq!(u16::from_ne_bytes([buf[4], buf[5]]), 2, "NLMSG_ERROR");
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
        let clock = MonotonicClock;
        let n = receiver
            .recv_many(
                &mut storage,
                64,
                &mut out,
                Wait::Timeout(Duration::from_secs(1)),
                &clock,
            )
            .unwrap();
        assert_eq!(n, 4);
        let lens: [(usize, bool); 4] =
            core::array::from_fn(|i| (out[i].len, out[i].full_len > out[i].len));
        // The 100-byte one did not fit its 64-byte slot.
        assert_eq!(lens, [(20, false), (24, false), (40, false), (64, true)]);
        assert!(out[..n].iter().all(|d| d.source_port == sender.port()));
        assert_eq!(&storage[64..68], &24u32.to_ne_bytes());
        assert_eq!(
            receiver.recv_many(&mut storage, 64, &mut out, Wait::Never, &clock),
            Err(Errno::AGAIN)
        );
        // At most `out.len()` per call; the rest stays queued.
        for _ in 0..3 {
            assert!(send_foreign(&sender, &receiver, 16));
        }
        let n = receiver
            .recv_many(&mut storage, 64, &mut out[..2], Wait::Forever, &clock)
            .unwrap();
        assert_eq!(n, 2);
        let n = receiver
            .recv_many(&mut storage, 64, &mut out, Wait::Never, &clock)
            .unwrap();
        assert_eq!(n, 1);
    }
}
