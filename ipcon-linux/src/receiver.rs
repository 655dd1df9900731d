//! The receive/data half of a peer (or of a kernel event monitor): the data
//! socket, its receive buffer, and ipcon-core's [`Inbox`] deciding what each
//! datagram delivers and counting what it drops.
//!
//! Every method takes `&mut self`; the send/control half
//! ([`Control`](crate::engine::Control)) is a separate value, so one thread
//! may receive while another sends.

use ipcon_core::machine::{Inbox, InboxStats, Received};
use ipcon_core::spec::MAX_PAYLOAD_LEN;
use ipcon_core::Message;
use rustix::fd::{AsFd, BorrowedFd};

use crate::clock::{Clock, Deadline, MonotonicClock, Wait};
use crate::error::{Error, Result};
use crate::socket::NetlinkSocket;
use crate::sys::{Datagram, SocketOption, RECVMMSG_MAX};

/// Receive buffer of one delivery: a full payload plus two names and a few
/// numbers, well under this.
pub const DELIVERY_BUF_LEN: usize = MAX_PAYLOAD_LEN + 512;

/// Storage [`Receiver::receive_many`] needs to take the most datagrams one
/// system call may (16): one [`DELIVERY_BUF_LEN`] slot per datagram.
pub const RECEIVE_MANY_STORAGE: usize = RECVMMSG_MAX * DELIVERY_BUF_LEN;

/// The receive/data half of a peer, or a kernel event monitor.
#[derive(Debug)]
pub struct Receiver<C: Clock = MonotonicClock> {
    socket: NetlinkSocket,
    inbox: Inbox,
    kevent_group: u32,
    buf: [u8; DELIVERY_BUF_LEN],
    clock: C,
}

impl<C: Clock> Receiver<C> {
    /// Receives on `socket` deliveries of family `family_id`; kernel events
    /// once it joins `kevent_group`.
    pub(crate) fn new(socket: NetlinkSocket, family_id: u16, kevent_group: u32, clock: C) -> Self {
        Self {
            socket,
            inbox: Inbox::new(family_id),
            kevent_group,
            buf: [0; DELIVERY_BUF_LEN],
            clock,
        }
    }

    /// The data socket (to register on).
    pub(crate) fn socket(&self) -> &NetlinkSocket {
        &self.socket
    }

    /// The socket's port: the peer's identity.
    pub fn port(&self) -> u32 {
        self.socket.port()
    }

    /// What was dropped (not from the kernel, malformed, too big for the
    /// message) and how many kernel events were missed, since the start.
    pub fn stats(&self) -> InboxStats {
        self.inbox.stats()
    }

    /// Starts receiving kernel events (`Kevent` messages); their sequence
    /// check starts over.
    pub fn subscribe_kevents(&mut self) -> Result<()> {
        self.inbox.restart_kevents();
        self.socket
            .set_option(SocketOption::AddMembership, self.kevent_group)
            .map_err(|e| Error::from_os("subscribe kernel events", e))
    }

    /// Stops receiving kernel events (some may still be queued).
    pub fn unsubscribe_kevents(&mut self) -> Result<()> {
        self.socket
            .set_option(SocketOption::DropMembership, self.kevent_group)
            .map_err(|e| Error::from_os("unsubscribe kernel events", e))
    }

    /// Receives the next delivery as `wait` says and hands it, still in the
    /// receive buffer, to `route`: the hook for code that dispatches by kind
    /// (a reply to a pending call, a kernel event ending a peer's calls, a
    /// message for the application) before, or instead of, copying it into a
    /// [`Message`].
    ///
    /// `route` returning `None` means it could not hold the delivery: it is
    /// counted as dropped ([`InboxStats::malformed_dropped`]) and the receive
    /// goes on. Datagrams not from the kernel, cut short or malformed are
    /// dropped and counted; kernel events are checked for sequence gaps. No
    /// allocation.
    pub fn receive_with<R>(
        &mut self,
        wait: Wait,
        mut route: impl FnMut(Received<'_>) -> Option<R>,
    ) -> Result<R> {
        let mut deadline = match wait {
            Wait::Timeout(limit) => Some(Deadline::after(limit)),
            _ => None,
        };
        loop {
            let got = match deadline.as_mut() {
                Some(deadline) => self
                    .socket
                    .recv_before(&mut self.buf, deadline, &self.clock),
                None => self.socket.recv(&mut self.buf, wait, &self.clock),
            }
            .map_err(|e| Error::from_os("receive", e))?;
            let datagram = &self.buf[..got.len];
            if let Some(received) = self.inbox.accept(got.source_port, got.full_len, datagram) {
                match route(received) {
                    Some(routed) => return Ok(routed),
                    None => self.inbox.count_malformed(),
                }
            }
        }
    }

    /// Receives the next message into `msg` as `wait` says (see
    /// [`Receiver::receive_with`]). A delivery whose payload does not fit
    /// `msg` (`N` bytes) is dropped and counted. On error `msg` is left as it
    /// was.
    pub fn receive<const N: usize>(&mut self, msg: &mut Message<N>, wait: Wait) -> Result<()> {
        self.receive_with(wait, |received| msg.fill_received(&received).ok())
    }

    /// Fills up to `msgs.len()` messages with queued deliveries, taking
    /// several datagrams per system call (`recvmmsg`) into `storage` (one
    /// [`DELIVERY_BUF_LEN`] slot per datagram, at most 16:
    /// [`RECEIVE_MANY_STORAGE`]); waits as `wait` says for the first message
    /// only. Returns how many of `msgs` were filled, in arrival order (at
    /// least 1; 0 only for an empty `msgs`). Every datagram goes through the
    /// checks of [`Receiver::receive_with`].
    pub fn receive_many<const N: usize>(
        &mut self,
        msgs: &mut [Message<N>],
        storage: &mut [u8],
        wait: Wait,
    ) -> Result<usize> {
        let slots = (storage.len() / DELIVERY_BUF_LEN).min(RECVMMSG_MAX);
        if slots == 0 {
            // No room for a slot: one at a time, through the own buffer.
            return match msgs.first_mut() {
                Some(msg) => self.receive(msg, wait).map(|()| 1),
                None => Ok(0),
            };
        }
        let mut got = [Datagram::default(); RECVMMSG_MAX];
        let mut filled = 0;
        let mut deadline = match wait {
            Wait::Timeout(limit) => Some(Deadline::after(limit)),
            _ => None,
        };
        while filled < msgs.len() {
            // Once something arrived, only take what is already queued.
            let this_wait = match (filled, deadline.as_mut()) {
                (1.., _) => Wait::Never,
                (0, Some(deadline)) => Wait::Timeout(deadline.left(&self.clock)),
                _ => wait,
            };
            let want = (msgs.len() - filled).min(slots);
            let received = match self.socket.recv_many(
                storage,
                DELIVERY_BUF_LEN,
                &mut got[..want],
                this_wait,
                &self.clock,
            ) {
                Ok(n) => n,
                // What was received is returned; a lasting error shows
                // again on the next call.
                Err(_) if filled > 0 => break,
                Err(e) => return Err(Error::from_os("receive", e)),
            };
            for (datagram, slot) in got[..received]
                .iter()
                .zip(storage.chunks_exact(DELIVERY_BUF_LEN))
            {
                let bytes = &slot[..datagram.len];
                let Some(received) =
                    self.inbox
                        .accept(datagram.source_port, datagram.full_len, bytes)
                else {
                    continue;
                };
                if msgs[filled].fill_received(&received).is_ok() {
                    filled += 1;
                } else {
                    self.inbox.count_malformed();
                }
            }
            // A short read means the queue is empty.
            if filled > 0 && received < want {
                break;
            }
        }
        Ok(filled)
    }
}

/// The data socket, for `poll`/`epoll`: readable when a message is queued.
impl<C: Clock> AsFd for Receiver<C> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::socket::tests::send_foreign;
    use core::time::Duration;
    use ipcon_core::wire::ipcon::{Delivery, Sender, UnicastDelivery};
    use ipcon_core::{MessageKind, Name};
    use std::boxed::Box;

    fn receiver() -> Box<Receiver> {
        Box::new(Receiver::new(
            NetlinkSocket::open().unwrap(),
            0x20,
            0,
            MonotonicClock,
        ))
    }

    #[test]
    fn foreign_datagrams_are_dropped_and_counted() {
        let mut receiver = receiver();
        let sender = NetlinkSocket::open().unwrap();
        if !send_foreign(&sender, &receiver.socket, 24) {
            return;
        }
        let mut msg = Message::<16>::new();
        let err = receiver
            .receive(&mut msg, Wait::Timeout(Duration::from_millis(100)))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Timeout);
        assert_eq!(receiver.stats().foreign_dropped, 1);
        assert_eq!(msg.kind(), MessageKind::Empty);
    }

    #[test]
    fn nothing_queued_would_block_and_leaves_the_message_alone() {
        let mut receiver = receiver();
        let mut msg: Message = Message::new();
        let delivery = Delivery::Unicast(UnicastDelivery {
            sender: Sender {
                name: Name::new("srv").ok(),
                port: 9,
                pid: 42,
                uid: 1000,
            },
            payload: b"hi",
            missed: 0,
            overrun: None,
        });
        msg.fill(&delivery).unwrap();
        let err = receiver.receive(&mut msg, Wait::Never).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::WouldBlock);
        assert_eq!(msg.payload(), b"hi");
        let mut msgs = [Message::<16>::new(), Message::new()];
        let mut storage = std::vec![0u8; RECEIVE_MANY_STORAGE];
        let err = receiver
            .receive_many(&mut msgs, &mut storage, Wait::Never)
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::WouldBlock);
        let err = receiver
            .receive_many(
                &mut msgs,
                &mut storage,
                Wait::Timeout(Duration::from_millis(20)),
            )
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Timeout);
    }

    #[test]
    fn idle_receives_do_not_allocate() {
        let mut receiver = receiver();
        let mut msg: Message = Message::new();
        let n = crate::alloc_check::allocations_in(|| {
            for _ in 0..1000 {
                let err = receiver.receive(&mut msg, Wait::Never).unwrap_err();
                assert_eq!(err.kind(), crate::ErrorKind::WouldBlock);
            }
        });
        assert_eq!(n, 0, "allocations in 1000 idle receives");
    }
}
