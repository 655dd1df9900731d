//! The receive/data half of a peer (or of a kernel event monitor): the data
//! socket, its receive buffer, and ipcon-core's [`Inbox`] deciding what each
//! datagram delivers and counting what it drops.
//!
//! A datagram may carry several deliveries: those not handed out yet wait in
//! the receiver, in order, and every receive takes them before it reads the
//! socket again.
//!
//! Every method takes `&mut self`; the send/control half
//! ([`Control`](crate::engine::Control)) is a separate value, so one thread
//! may receive while another sends.

use core::ops::Range;

use ipcon_core::machine::{Inbox, InboxStats, Received};
use ipcon_core::spec::MAX_DELIVERY_LEN;
use ipcon_core::Message;
use rustix::fd::{AsFd, BorrowedFd};

use crate::clock::{Clock, Deadline, MonotonicClock, Wait};
use crate::error::{Error, Result};
use crate::socket::NetlinkSocket;
use crate::sys::{Datagram, SocketOption, RECVMMSG_MAX};

/// Receive buffer of one datagram: the module sends none longer
/// ([`MAX_DELIVERY_LEN`], a pack of deliveries included; one full payload
/// with two names and a few numbers is well under it).
pub const DELIVERY_BUF_LEN: usize = MAX_DELIVERY_LEN;

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
    /// Where the messages of received datagrams not handed out yet are:
    /// this range of `buf`, or of `stash` when `unread_in_stash`.
    unread: Range<usize>,
    unread_in_stash: bool,
    /// Messages [`Receiver::receive_many`] took from the socket that neither
    /// its `msgs` nor `buf` could hold: allocated the first time that
    /// happens, kept for the next.
    #[cfg(feature = "std")]
    stash: std::vec::Vec<u8>,
    clock: C,
}

/// Where a receiver's unread messages are held: its own buffer or the stash
/// (a macro, so that the borrow is of those fields alone).
macro_rules! held {
    ($receiver:expr) => {{
        #[cfg(feature = "std")]
        let held: &[u8] = if $receiver.unread_in_stash {
            &$receiver.stash
        } else {
            &$receiver.buf
        };
        #[cfg(not(feature = "std"))]
        let held: &[u8] = &$receiver.buf;
        held
    }};
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
            unread: 0..0,
            unread_in_stash: false,
            #[cfg(feature = "std")]
            stash: std::vec::Vec::new(),
            clock,
        }
    }

    /// Whether messages of datagrams already taken from the socket wait in
    /// the receiver: a receive returns one without the socket being readable.
    pub fn has_unread(&self) -> bool {
        !self.unread.is_empty()
    }

    /// The next delivery of the datagrams received but not handed out yet.
    fn take_unread(&mut self) -> Option<Received<'_>> {
        if self.unread.is_empty() {
            return None;
        }
        let held = held!(self);
        let mut rest = &held[self.unread.clone()];
        let got = self.inbox.next(&mut rest);
        self.unread.start = self.unread.end - rest.len();
        got
    }

    /// The next delivery of the datagrams received but not handed out yet,
    /// straight into `msg` ([`Inbox::next_into`]); whether there was one.
    fn take_unread_into<const N: usize>(&mut self, msg: &mut Message<N>) -> bool {
        if self.unread.is_empty() {
            return false;
        }
        let held = held!(self);
        let mut rest = &held[self.unread.clone()];
        let got = self.inbox.next_into(&mut rest, msg);
        self.unread.start = self.unread.end - rest.len();
        got
    }

    /// Keeps `first` (what is left of one datagram) and the datagrams of
    /// `later` for the next receives: in `buf` when they fit, else in the
    /// stash. Each part starts 4-byte aligned, as netlink messages do.
    fn keep_unread<'a>(
        &mut self,
        first: &'a [u8],
        later: impl Iterator<Item = (&'a Datagram, &'a [u8])>,
    ) {
        let mut parts: [&[u8]; RECVMMSG_MAX + 1] = [&[]; RECVMMSG_MAX + 1];
        parts[0] = first;
        let mut count = 1;
        for (datagram, slot) in later {
            if let Some(messages) = self.inbox.open(
                datagram.source_port,
                datagram.full_len,
                &slot[..datagram.len],
            ) {
                parts[count] = messages;
                count += 1;
            }
        }
        let parts = &parts[..count];
        let len = parts.iter().fold(0, |at, part| {
            ipcon_core::wire::netlink::align(at) + part.len()
        });
        #[cfg(feature = "std")]
        let (held, in_stash): (&mut [u8], bool) = if len <= self.buf.len() {
            (&mut self.buf, false)
        } else {
            self.stash.clear();
            self.stash.resize(len, 0);
            (&mut self.stash, true)
        };
        // Without std at most one datagram is taken per receive_many: what
        // is left of it fits.
        #[cfg(not(feature = "std"))]
        let (held, in_stash): (&mut [u8], bool) = {
            debug_assert!(len <= self.buf.len());
            (&mut self.buf, false)
        };
        let mut at = 0;
        for part in parts {
            let start = ipcon_core::wire::netlink::align(at);
            held[at..start].fill(0);
            held[start..start + part.len()].copy_from_slice(part);
            at = start + part.len();
        }
        self.unread = 0..at;
        self.unread_in_stash = in_stash;
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
        let mut deadline = Deadline::of_wait(wait);
        loop {
            if let Some(received) = self.take_unread() {
                match route(received) {
                    Some(routed) => return Ok(routed),
                    None => self.inbox.count_malformed(),
                }
                continue;
            }
            self.receive_datagram(wait, &mut deadline)?;
        }
    }

    /// Receives one datagram into the own buffer as `wait` (within
    /// `deadline`) says; its messages become the unread ones, unless the
    /// inbox drops it.
    fn receive_datagram(&mut self, wait: Wait, deadline: &mut Option<Deadline>) -> Result<()> {
        let got = match deadline.as_mut() {
            Some(deadline) => self
                .socket
                .recv_before(&mut self.buf, deadline, &self.clock),
            None => self.socket.recv(&mut self.buf, wait, &self.clock),
        }
        .map_err(|e| Error::from_os("receive", e))?;
        let datagram = &self.buf[..got.len];
        if self
            .inbox
            .open(got.source_port, got.full_len, datagram)
            .is_some()
        {
            self.unread = 0..got.len;
            self.unread_in_stash = false;
        }
        Ok(())
    }

    /// Receives the next message into `msg` as `wait` says (see
    /// [`Receiver::receive_with`]). A delivery whose payload does not fit
    /// `msg` (`N` bytes) is dropped and counted. On error `msg` is left as it
    /// was.
    pub fn receive<const N: usize>(&mut self, msg: &mut Message<N>, wait: Wait) -> Result<()> {
        let mut deadline = Deadline::of_wait(wait);
        loop {
            if self.take_unread_into(msg) {
                return Ok(());
            }
            self.receive_datagram(wait, &mut deadline)?;
        }
    }

    /// Fills up to `msgs.len()` messages with queued deliveries, taking
    /// several datagrams per system call (`recvmmsg`) into `storage` (one
    /// [`DELIVERY_BUF_LEN`] slot per datagram, at most 16:
    /// [`RECEIVE_MANY_STORAGE`]); waits as `wait` says for the first message
    /// only. Returns how many of `msgs` were filled, in arrival order (at
    /// least 1; 0 only for an empty `msgs`). Every datagram goes through the
    /// checks of [`Receiver::receive_with`].
    ///
    /// Deliveries taken from the socket that do not fit `msgs` (a datagram
    /// may carry several) wait in the receiver for the next receive, in
    /// order; `storage` holds nothing between calls. The first time they
    /// fit neither `msgs` nor the receiver's own buffer, a stash of at most
    /// the datagrams of one call is allocated, and kept. Without `std` one
    /// datagram is taken per call, so its rest always fits the own buffer.
    pub fn receive_many<const N: usize>(
        &mut self,
        msgs: &mut [Message<N>],
        storage: &mut [u8],
        wait: Wait,
    ) -> Result<usize> {
        let mut filled = 0;
        // What earlier datagrams left comes first.
        while filled < msgs.len() && self.take_unread_into(&mut msgs[filled]) {
            filled += 1;
        }
        if filled == msgs.len() {
            return Ok(filled);
        }
        let slots = (storage.len() / DELIVERY_BUF_LEN).min(if cfg!(feature = "std") {
            RECVMMSG_MAX
        } else {
            1
        });
        if slots == 0 {
            // No room for a slot: one at a time, through the own buffer.
            if filled > 0 {
                return Ok(filled);
            }
            return self.receive(&mut msgs[0], wait).map(|()| 1);
        }
        let mut got = [Datagram::default(); RECVMMSG_MAX];
        let mut deadline = Deadline::of_wait(wait);
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
            let mut datagrams = got[..received]
                .iter()
                .zip(storage.chunks_exact(DELIVERY_BUF_LEN));
            while let Some((datagram, slot)) = datagrams.next() {
                let Some(mut unread) = self.inbox.open(
                    datagram.source_port,
                    datagram.full_len,
                    &slot[..datagram.len],
                ) else {
                    continue;
                };
                while !unread.is_empty() {
                    if filled == msgs.len() {
                        self.keep_unread(unread, datagrams);
                        return Ok(filled);
                    }
                    if !self.inbox.next_into(&mut unread, &mut msgs[filled]) {
                        break;
                    }
                    filled += 1;
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
/// One datagram may carry several messages, and a receive takes one: once
/// the socket is readable, receive with [`Wait::Never`] until it says
/// `WouldBlock` before waiting again.
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

    fn unicast(payload: &[u8]) -> Delivery<'_> {
        Delivery::Unicast(UnicastDelivery {
            sender: Sender {
                name: Name::new("srv").ok(),
                port: 9,
                pid: 42,
                uid: 1000,
            },
            payload,
            missed: 0,
            overrun: None,
        })
    }

    /// `payloads` as unicasts back to back in one datagram of the family.
    fn datagram(payloads: &[&[u8]]) -> std::vec::Vec<u8> {
        let hdr = ipcon_core::wire::netlink::NetlinkHeaderRepr {
            message_type: 0x20,
            flags: ipcon_core::wire::netlink::NetlinkFlags::empty(),
            seq: 0,
            port_id: 0,
        };
        let mut out = std::vec::Vec::new();
        for payload in payloads {
            out.resize(ipcon_core::wire::netlink::align(out.len()), 0);
            let at = out.len();
            let delivery = unicast(payload);
            out.resize(at + delivery.buffer_len(), 0);
            let len = delivery.emit(&hdr, &mut out[at..]).unwrap();
            out.truncate(at + len);
        }
        out
    }

    /// Hands `datagrams` to the receiver as `receive_many` does with what
    /// did not fit: `first` the rest of one, then the later ones.
    fn keep(receiver: &mut Receiver, first: &[u8], later: &[(u32, &[u8])]) {
        let slots: std::vec::Vec<(Datagram, &[u8])> = later
            .iter()
            .map(|&(source_port, bytes)| {
                (
                    Datagram {
                        len: bytes.len(),
                        full_len: bytes.len(),
                        source_port,
                    },
                    bytes,
                )
            })
            .collect();
        receiver.keep_unread(first, slots.iter().map(|(d, b)| (d, *b)));
    }

    fn payloads_of(msgs: &[Message<2048>]) -> std::vec::Vec<std::vec::Vec<u8>> {
        msgs.iter().map(|m| m.payload().to_vec()).collect()
    }

    #[test]
    fn every_delivery_of_a_kept_datagram_is_received_in_order() {
        let mut receiver = receiver();
        let bytes = datagram(&[b"one", b"two", b"three"]);
        keep(&mut receiver, &bytes, &[]);
        assert!(receiver.has_unread());
        let mut msg = Message::<16>::new();
        for want in [&b"one"[..], b"two", b"three"] {
            receiver.receive(&mut msg, Wait::Never).unwrap();
            assert_eq!(msg.payload(), want);
        }
        assert!(!receiver.has_unread());
        let err = receiver.receive(&mut msg, Wait::Never).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::WouldBlock);
        assert_eq!(receiver.stats(), InboxStats::default());
    }

    #[test]
    fn a_delivery_the_route_cannot_hold_is_counted_and_the_next_follows() {
        let mut receiver = receiver();
        let bytes = datagram(&[b"this one is too long", b"ok"]);
        keep(&mut receiver, &bytes, &[]);
        let mut msg = Message::<4>::new();
        receiver.receive(&mut msg, Wait::Never).unwrap();
        assert_eq!(msg.payload(), b"ok");
        assert_eq!(receiver.stats().malformed_dropped, 1);
    }

    #[test]
    fn receive_many_hands_out_what_was_kept_across_calls() {
        let mut receiver = receiver();
        // The rest of one datagram and two later ones, one of them foreign
        // (counted, not kept), all in the own buffer.
        let first = datagram(&[b"a", b"b", b"c"]);
        let foreign = datagram(&[b"x"]);
        let last = datagram(&[b"d", b"e"]);
        keep(&mut receiver, &first, &[(7, &foreign), (0, &last)]);
        assert!(!receiver.unread_in_stash);
        assert_eq!(receiver.stats().foreign_dropped, 1);
        let mut storage = std::vec![0u8; RECEIVE_MANY_STORAGE];
        let mut msgs = [Message::<2048>::new(), Message::new()];
        let mut got = std::vec::Vec::new();
        loop {
            match receiver.receive_many(&mut msgs, &mut storage, Wait::Never) {
                Ok(n) => got.extend(payloads_of(&msgs[..n])),
                Err(e) if e.kind() == crate::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        let want: std::vec::Vec<std::vec::Vec<u8>> = [b"a", b"b", b"c", b"d", b"e"]
            .iter()
            .map(|p| p.to_vec())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn what_outgrows_the_own_buffer_waits_in_the_stash() {
        let mut receiver = receiver();
        let big = [7u8; 2000];
        let first = datagram(&[&big, b"after big"]);
        let second = datagram(&[&big]);
        let third = datagram(&[b"last"]);
        keep(&mut receiver, &first, &[(0, &second), (0, &third)]);
        assert!(receiver.unread_in_stash);
        let mut msg = Message::<2048>::new();
        let mut got = std::vec::Vec::new();
        while receiver.has_unread() {
            receiver.receive(&mut msg, Wait::Never).unwrap();
            got.push(msg.payload().len());
        }
        assert_eq!(got, [2000, 9, 2000, 4]);
        // The stash is kept for the next time, with nothing left in it.
        let err = receiver.receive(&mut msg, Wait::Never).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::WouldBlock);
        assert_eq!(receiver.stats(), InboxStats::default());
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
