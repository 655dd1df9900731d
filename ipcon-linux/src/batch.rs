//! Batches: several unicast/multicast messages sent with one system call
//! ([`Control::send_batch`](crate::engine::Control::send_batch),
//! [`Handler::send_batch`](crate::Handler::send_batch)).
//!
//! A netlink datagram may carry several netlink messages; the kernel handles
//! them one after the other inside the sender's `sendmsg`, and a failed one
//! does not stop the next. A [`Batch`] encodes the requests back to back in
//! storage it keeps from one batch to the next.
//!
//! With packing on ([`Batch::packed`]), consecutive messages to the same
//! destination travel as one request, a pack: the receiver gets them in one
//! datagram, all or none, and takes them with one system call.

use ipcon_core::spec::{MAX_DELIVERY_LEN, MAX_PACK, MAX_PAYLOAD_LEN};
use ipcon_core::wire::ipcon::{PeerRef, Request};
use ipcon_core::wire::netlink::{align, NetlinkFlags, NetlinkHeaderRepr};
use ipcon_core::wire::pack::{delivered_len_max, emit_entry, entry_len, REPORT_RESERVE};
use ipcon_core::Name;

use crate::error::{Error, ErrorKind, Result};
use crate::exchange::MAX_BATCH_MESSAGES;

/// Most bytes of encoded requests one batch may hold (headers included, about
/// 60 bytes per message besides its payload): netlink refuses a datagram
/// larger than the socket's send buffer. A batch of full-size payloads
/// ([`MAX_PAYLOAD_LEN`]) holds 46 messages (47 with short names).
pub const MAX_BATCH_BYTES: usize = 96 * 1024;

/// Where a [`Batch`] keeps its encoded messages by default: with `std`, a
/// boxed buffer of [`MAX_BATCH_BYTES`] ([`Batch::new`]); without, storage
/// the caller lends ([`Batch::with_storage`]).
#[cfg(feature = "std")]
pub type BatchStorage = std::boxed::Box<[u8]>;
/// Where a [`Batch`] keeps its encoded messages by default: with `std`, a
/// boxed buffer of [`MAX_BATCH_BYTES`] ([`Batch::new`]); without, storage
/// the caller lends ([`Batch::with_storage`]).
#[cfg(not(feature = "std"))]
pub type BatchStorage = &'static mut [u8];

/// Where the messages of a batch go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Peer(PeerRef),
    Group(Name),
}

/// The last request of a packed batch, while more messages may join it.
#[derive(Debug, Clone, Copy)]
struct OpenPack {
    target: Target,
    /// Offset of the request's netlink header, and of its `pack` attribute
    /// (the request's last attribute).
    start: usize,
    pack_at: usize,
    entries: usize,
    /// The most bytes its delivered datagram can take.
    delivered: usize,
}

/// Which messages the requests of a batch carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLayout {
    count: usize,
    requests: usize,
    firsts: [u8; MAX_BATCH_MESSAGES],
    unicast: u64,
}

impl BatchLayout {
    /// Whether request `request` is a unicast.
    pub(crate) fn is_unicast(&self, request: usize) -> bool {
        request < self.requests && self.unicast & (1 << request) != 0
    }

    /// The indexes of the messages request `request` carries.
    pub(crate) fn messages_of(&self, request: usize) -> core::ops::Range<usize> {
        if request >= self.requests {
            return 0..0;
        }
        let first = usize::from(self.firsts[request]);
        let end = if request + 1 < self.requests {
            usize::from(self.firsts[request + 1])
        } else {
            self.count
        };
        first..end
    }
}

/// Messages to send with one system call.
///
/// Appending checks the name and the payload size at once (the errors the
/// per-message calls would give: [`ErrorKind::InvalidName`],
/// [`ErrorKind::TooBig`]), and [`ErrorKind::BatchFull`] when the message
/// would exceed [`MAX_BATCH_MESSAGES`](crate::MAX_BATCH_MESSAGES), the
/// storage or [`MAX_BATCH_BYTES`].
///
/// The storage is kept when the batch is sent or cleared: batches do not
/// allocate.
///
/// ```no_run
/// use ipcon_linux::{Batch, Handler};
/// let handler = Handler::new("sensor")?;
/// let mut batch = Batch::new();
/// for reading in [b"21.5", b"21.7", b"21.6"] {
///     batch.unicast("logger", reading)?;
/// }
/// let report = handler.send_batch(&mut batch)?;
/// for failure in &report.failures {
///     eprintln!("message {}: {}", failure.index, failure.error);
/// }
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Batch<B = BatchStorage> {
    /// The requests, each at a 4-byte aligned offset, with placeholders for
    /// the family id and sequence number (filled in when sent).
    storage: B,
    /// Bytes of `storage` in use.
    used: usize,
    /// Messages, and the requests carrying them (fewer with packs).
    count: usize,
    requests: usize,
    /// The index of the first message of each request.
    firsts: [u8; MAX_BATCH_MESSAGES],
    /// Bit `i` set: request `i` is a unicast (for which `EAGAIN` means the
    /// receiver's queue is full).
    unicast: u64,
    packing: bool,
    open: Option<OpenPack>,
}

// The unicast mask has one bit per request, a message index fits a byte.
const _: () = assert!(MAX_BATCH_MESSAGES <= u64::BITS as usize);
const _: () = assert!(MAX_BATCH_MESSAGES <= u8::MAX as usize + 1);

#[cfg(feature = "std")]
impl Batch {
    /// An empty batch with room for [`MAX_BATCH_BYTES`] (allocated now, once).
    pub fn new() -> Self {
        Self::with_storage(std::vec![0u8; MAX_BATCH_BYTES].into_boxed_slice())
    }
}

#[cfg(feature = "std")]
impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Batch<B> {
    /// An empty batch encoding into `storage` (at most [`MAX_BATCH_BYTES`]
    /// of it are used).
    pub fn with_storage(storage: B) -> Self {
        Self {
            storage,
            used: 0,
            count: 0,
            requests: 0,
            firsts: [0; MAX_BATCH_MESSAGES],
            unicast: 0,
            packing: false,
            open: None,
        }
    }

    /// Turns packing on: from now on, a message to the same destination as
    /// the message appended before it joins that one's pack (up to
    /// [`MAX_PACK`](ipcon_core::spec::MAX_PACK) messages, and as many as one
    /// delivered datagram of
    /// [`MAX_DELIVERY_LEN`](ipcon_core::spec::MAX_DELIVERY_LEN) holds). The
    /// receiver gets a pack in one datagram, all or none: a unicast pack to a
    /// full queue fails as a whole, every message of it with
    /// [`ErrorKind::QueueFull`]. Every receiver of this library takes packs;
    /// a unicast pack to one that does not fails with
    /// [`ErrorKind::NotPacked`], and a group's subscribers that do not get
    /// the messages one by one.
    pub fn packed(mut self) -> Self {
        self.packing = true;
        self
    }

    /// Appends a unicast of `payload` to the peer named `peer`.
    pub fn unicast(&mut self, peer: &str, payload: &[u8]) -> Result<()> {
        let peer = Name::new(peer)?;
        self.push("send unicast", Target::Peer(PeerRef::Name(peer)), payload)
    }

    /// Appends a unicast of `payload` to the peer at `port`.
    pub fn unicast_to_port(&mut self, port: u32, payload: &[u8]) -> Result<()> {
        self.push("send unicast", Target::Peer(PeerRef::Port(port)), payload)
    }

    /// Appends a publication of `payload` to this peer's group `group`
    /// (without a fan-out report, as a plain multicast).
    pub fn multicast(&mut self, group: &str, payload: &[u8]) -> Result<()> {
        let group = Name::new(group)?;
        self.push("send multicast", Target::Group(group), payload)
    }

    /// How many messages the batch holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the batch holds no message.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// How many requests carry the messages (fewer than the messages when
    /// they are packed).
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Removes every message (the storage and the packing are kept).
    pub fn clear(&mut self) {
        self.used = 0;
        self.count = 0;
        self.requests = 0;
        self.unicast = 0;
        self.open = None;
    }

    /// The encoded requests and how many there are, for sending.
    pub(crate) fn encoded_mut(&mut self) -> (&mut [u8], usize) {
        let used = self.used;
        (&mut self.storage.as_mut()[..used], self.requests)
    }

    /// Which messages each request carries, for naming failed messages.
    pub(crate) fn layout(&self) -> BatchLayout {
        BatchLayout {
            count: self.count,
            requests: self.requests,
            firsts: self.firsts,
            unicast: self.unicast,
        }
    }

    fn room(&self) -> usize {
        self.storage.as_ref().len().min(MAX_BATCH_BYTES)
    }

    fn push(&mut self, operation: &'static str, target: Target, payload: &[u8]) -> Result<()> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(Error::new(operation, ErrorKind::TooBig));
        }
        if self.count >= MAX_BATCH_MESSAGES {
            return Err(Error::new(operation, ErrorKind::BatchFull));
        }
        if !self.packing {
            let request = match target {
                Target::Peer(to) => Request::Unicast { to, payload },
                Target::Group(group) => Request::Multicast {
                    group,
                    payload,
                    sync: false,
                },
            };
            return self.push_request(operation, &request, target).map(|_| {
                self.count += 1;
            });
        }
        let delivered = delivered_len_max(matches!(target, Target::Group(_)), payload.len());
        let joins = self.open.filter(|open| {
            open.target == target
                && open.entries < MAX_PACK
                && open.delivered + delivered <= MAX_DELIVERY_LEN
        });
        let open = match joins {
            Some(open) => open,
            None => self.open_pack(operation, target)?,
        };
        let end = self.used + entry_len(payload.len());
        if end > self.room() {
            if open.entries == 0 {
                // The pack opened for this message stays closed: take it back.
                self.drop_request(open.start);
            }
            return Err(Error::new(operation, ErrorKind::BatchFull));
        }
        let index = u16::try_from(open.entries).unwrap_or(u16::MAX);
        let written = emit_entry(index, payload, &mut self.storage.as_mut()[self.used..end])
            .map_err(|e| Error::from_wire(operation, e))?;
        debug_assert_eq!(written, end - self.used);
        // The pack is the request's last attribute: both grow by the entry.
        let bytes = self.storage.as_mut();
        let pack_len = u16::from_ne_bytes([bytes[open.pack_at], bytes[open.pack_at + 1]]);
        let pack_len = usize::from(pack_len) + written;
        let request_len = end - open.start;
        let (Ok(pack_len), Ok(request_len)) = (u16::try_from(pack_len), u32::try_from(request_len))
        else {
            return Err(Error::new(operation, ErrorKind::BatchFull));
        };
        bytes[open.pack_at..open.pack_at + 2].copy_from_slice(&pack_len.to_ne_bytes());
        bytes[open.start..open.start + 4].copy_from_slice(&request_len.to_ne_bytes());
        self.used = end;
        self.count += 1;
        self.open = Some(OpenPack {
            entries: open.entries + 1,
            delivered: open.delivered + delivered,
            ..open
        });
        Ok(())
    }

    /// Starts a pack request to `target` with no entry yet.
    fn open_pack(&mut self, operation: &'static str, target: Target) -> Result<OpenPack> {
        let request = match target {
            Target::Peer(to) => Request::UnicastPack { to, pack: &[] },
            Target::Group(group) => Request::MulticastPack {
                group,
                pack: &[],
                sync: false,
            },
        };
        let start = self.push_request(operation, &request, target)?;
        // An empty pack attribute ends the request: its 4-byte header.
        let open = OpenPack {
            target,
            start,
            pack_at: self.used - 4,
            entries: 0,
            delivered: REPORT_RESERVE,
        };
        self.open = Some(open);
        Ok(open)
    }

    /// Encodes `request` after the others; returns its offset.
    fn push_request(
        &mut self,
        operation: &'static str,
        request: &Request<'_>,
        target: Target,
    ) -> Result<usize> {
        let start = self.used;
        let end = start + align(request.buffer_len());
        if self.requests >= MAX_BATCH_MESSAGES || end > self.room() {
            return Err(Error::new(operation, ErrorKind::BatchFull));
        }
        // Type and sequence number are the exchange's to fill in when sending.
        let header = NetlinkHeaderRepr {
            message_type: 0,
            flags: NetlinkFlags::REQUEST,
            seq: 0,
            port_id: 0,
        };
        let slot = &mut self.storage.as_mut()[start..end];
        let written = request
            .emit(&header, slot)
            .map_err(|e| Error::from_wire(operation, e))?;
        // The padding after an odd length is the aligned gap: zero it.
        slot[written..].fill(0);
        if matches!(target, Target::Peer(_)) {
            self.unicast |= 1 << self.requests;
        } else {
            self.unicast &= !(1 << self.requests);
        }
        self.firsts[self.requests] = u8::try_from(self.count).unwrap_or(u8::MAX);
        self.used = end;
        self.requests += 1;
        self.open = None;
        Ok(start)
    }

    /// Removes the last request, which starts at `start`.
    fn drop_request(&mut self, start: usize) {
        self.used = start;
        self.requests -= 1;
        self.open = None;
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use ipcon_core::wire::netlink::{Messages, NetlinkPacket};
    use ipcon_core::wire::pack::{delivered_len_max, REPORT_RESERVE};
    use std::format;
    use std::vec::Vec;

    #[test]
    fn messages_are_encoded_back_to_back_and_aligned() {
        let mut batch = Batch::new();
        batch.unicast("server", b"abc").unwrap();
        batch.multicast("news", b"hello").unwrap();
        batch.unicast_to_port(77, &[]).unwrap();
        assert_eq!(batch.len(), 3);
        let layout = batch.layout();
        assert_eq!(
            (0..4).map(|r| layout.is_unicast(r)).collect::<Vec<_>>(),
            [true, false, true, false]
        );
        assert_eq!(layout.messages_of(1), 1..2);
        let (encoded, count) = batch.encoded_mut();
        assert_eq!(count, 3);
        assert_eq!(encoded.len() % 4, 0);
        let mut offset = 0;
        let mut requests = Vec::new();
        for packet in Messages::new(encoded) {
            let packet = packet.unwrap();
            assert_eq!(packet.flags(), NetlinkFlags::REQUEST);
            offset += align(packet.length() as usize);
            let packet = NetlinkPacket::new_unchecked(packet.message());
            requests.push(format!("{:?}", Request::parse(&packet).unwrap()));
        }
        assert_eq!(offset, encoded.len());
        assert_eq!(requests.len(), 3);
        assert!(requests[0].contains("server") && requests[0].contains("Unicast"));
        assert!(requests[1].contains("news") && requests[1].contains("Multicast"));
        assert!(requests[2].contains("Port(77)"));
    }

    #[test]
    fn bad_input_is_refused_and_leaves_the_batch_as_it_was() {
        let mut batch = Batch::new();
        batch.unicast("server", b"x").unwrap();
        let before = batch.encoded_mut().0.to_vec();
        let err = batch.unicast("a/b", b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidName);
        let err = batch
            .multicast("news", &[0; MAX_PAYLOAD_LEN + 1])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooBig);
        assert_eq!(err.operation(), "send multicast");
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.encoded_mut().0, &before[..]);
    }

    #[test]
    fn the_message_limit_is_enforced() {
        let mut batch = Batch::new();
        for _ in 0..MAX_BATCH_MESSAGES {
            batch.unicast_to_port(5, b"m").unwrap();
        }
        let err = batch.unicast_to_port(5, b"m").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BatchFull);
        assert_eq!(batch.len(), MAX_BATCH_MESSAGES);
        batch.clear();
        assert!(batch.is_empty());
        assert!(batch.encoded_mut().0.is_empty());
        batch.unicast_to_port(5, b"m").unwrap();
        assert!(batch.layout().is_unicast(0));
    }

    #[test]
    fn the_byte_limit_is_enforced() {
        let mut batch = Batch::new();
        let payload = [7u8; MAX_PAYLOAD_LEN];
        let longest_name = "n".repeat(ipcon_core::spec::MAX_NAME_LEN - 1);
        while batch.unicast(&longest_name, &payload).is_ok() {}
        let (encoded, count) = batch.encoded_mut();
        assert!(encoded.len() <= MAX_BATCH_BYTES);
        assert!(encoded.len() + encoded.len() / count > MAX_BATCH_BYTES);
        assert!(count < MAX_BATCH_MESSAGES);
        assert_eq!(count, 46, "the documented figure");
    }

    #[test]
    fn lent_storage_bounds_the_batch() {
        let mut storage = [0u8; 128];
        let mut batch = Batch::with_storage(&mut storage[..]);
        batch.unicast_to_port(5, &[1; 40]).unwrap();
        let err = batch.unicast_to_port(5, &[1; 40]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BatchFull);
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn a_reused_batch_does_not_allocate() {
        let mut batch = Batch::new();
        let allocations = crate::alloc_check::allocations_in(|| {
            for _ in 0..8 {
                batch.multicast("news", &[1; 512]).unwrap();
            }
            batch.clear();
        });
        assert_eq!(allocations, 0);
    }

    /// The requests of `batch`, parsed, with the payloads of packs.
    fn requests_of<B: AsRef<[u8]> + AsMut<[u8]>>(
        batch: &mut Batch<B>,
    ) -> Vec<(std::string::String, Vec<Vec<u8>>)> {
        let (encoded, requests) = batch.encoded_mut();
        let mut out = Vec::new();
        for packet in Messages::new(encoded) {
            let packet = packet.unwrap();
            let packet = NetlinkPacket::new_unchecked(packet.message());
            let request = Request::parse(&packet).unwrap();
            let payloads = match request {
                Request::UnicastPack { pack, .. } | Request::MulticastPack { pack, .. } => {
                    ipcon_core::wire::pack::PackPayloads::new(pack)
                        .map(|p| p.unwrap().to_vec())
                        .collect()
                }
                Request::Unicast { payload, .. } | Request::Multicast { payload, .. } => {
                    std::vec![payload.to_vec()]
                }
                other => panic!("unexpected {other:?}"),
            };
            let target = match request {
                Request::UnicastPack { to, .. } | Request::Unicast { to, .. } => format!("{to:?}"),
                Request::MulticastPack { group, .. } | Request::Multicast { group, .. } => {
                    format!("group {}", group.as_str())
                }
                _ => unreachable!(),
            };
            out.push((target, payloads));
        }
        assert_eq!(out.len(), requests);
        out
    }

    #[test]
    fn consecutive_messages_to_one_destination_are_packed() {
        let mut batch = Batch::new().packed();
        batch.unicast("srv", b"a").unwrap();
        batch.unicast("srv", b"bb").unwrap();
        batch.unicast("srv", b"").unwrap();
        batch.multicast("news", b"n1").unwrap();
        batch.multicast("news", b"n2").unwrap();
        batch.unicast("srv", b"c").unwrap();
        batch.unicast_to_port(9, b"p").unwrap();
        assert_eq!((batch.len(), batch.requests()), (7, 4));
        let layout = batch.layout();
        let ranges: Vec<_> = (0..4).map(|r| layout.messages_of(r)).collect();
        assert_eq!(ranges, [0..3, 3..5, 5..6, 6..7]);
        assert!(layout.is_unicast(0) && !layout.is_unicast(1) && layout.is_unicast(3));
        let requests = requests_of(&mut batch);
        let bytes = |list: &[&[u8]]| list.iter().map(|p| p.to_vec()).collect::<Vec<_>>();
        assert_eq!(requests[0].1, bytes(&[b"a", b"bb", b""]));
        assert!(requests[0].0.contains("srv"));
        assert_eq!(requests[1], ("group news".into(), bytes(&[b"n1", b"n2"])));
        assert_eq!(requests[2].1, bytes(&[b"c"]));
        assert_eq!(requests[3].0, "Port(9)");
        // The encoded requests are whole and aligned.
        let (encoded, _) = batch.encoded_mut();
        assert_eq!(encoded.len() % 4, 0);
    }

    #[test]
    fn a_pack_ends_where_one_delivered_datagram_would() {
        let mut batch = Batch::new().packed();
        for i in 0..MAX_BATCH_MESSAGES {
            batch.unicast_to_port(5, &[i as u8]).unwrap();
        }
        // One-byte unicasts: the datagram ends a pack before MAX_PACK does.
        let per_pack = (MAX_DELIVERY_LEN - REPORT_RESERVE) / delivered_len_max(false, 1);
        assert!(per_pack < MAX_PACK);
        let sizes: Vec<usize> = requests_of(&mut batch).iter().map(|r| r.1.len()).collect();
        assert_eq!(sizes[0], per_pack);
        assert_eq!(sizes.iter().sum::<usize>(), MAX_BATCH_MESSAGES);
        // 64-byte group messages: as many as one delivered datagram holds.
        batch.clear();
        for _ in 0..40 {
            batch.multicast("g", &[7; 64]).unwrap();
        }
        let per_pack = (MAX_DELIVERY_LEN - REPORT_RESERVE) / delivered_len_max(true, 64);
        let sizes: Vec<usize> = requests_of(&mut batch).iter().map(|r| r.1.len()).collect();
        assert_eq!(sizes[0], per_pack);
        assert_eq!(sizes.iter().sum::<usize>(), 40);
        assert!(sizes.iter().all(|&n| n <= per_pack));
        // Two full payloads never share a datagram.
        batch.clear();
        batch.unicast("srv", &[1; MAX_PAYLOAD_LEN]).unwrap();
        batch.unicast("srv", &[2; MAX_PAYLOAD_LEN]).unwrap();
        assert_eq!(batch.requests(), 2);
    }

    #[test]
    fn a_full_packed_batch_is_left_as_it_was() {
        let mut storage = [0u8; 160];
        let mut batch = Batch::with_storage(&mut storage[..]).packed();
        batch.unicast_to_port(5, &[1; 40]).unwrap();
        batch.unicast_to_port(5, &[2; 40]).unwrap();
        let before = batch.encoded_mut().0.to_vec();
        let err = batch.unicast_to_port(5, &[3; 40]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BatchFull);
        // A new pack that cannot hold its first message is taken back.
        let err = batch.multicast("g", &[4; 40]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BatchFull);
        assert_eq!((batch.len(), batch.requests()), (2, 1));
        assert_eq!(batch.encoded_mut().0, &before[..]);
    }

    #[test]
    fn batch_headers_get_family_seqs_and_one_ack_on_the_last() {
        let mut batch = Batch::new();
        batch.unicast("a", b"1").unwrap();
        batch.multicast("g", b"22").unwrap();
        batch.unicast_to_port(9, b"333").unwrap();
        let (encoded, count) = batch.encoded_mut();
        crate::exchange::stamp_batch(encoded, 0x1b, &[7, 8, 9][..count]).unwrap();
        let stamped: Vec<(u16, u32, NetlinkFlags)> = Messages::new(encoded)
            .map(|p| {
                let p = p.unwrap();
                (p.message_type(), p.seq(), p.flags())
            })
            .collect();
        let plain = NetlinkFlags::REQUEST;
        assert_eq!(
            stamped,
            std::vec![
                (0x1b, 7, plain),
                (0x1b, 8, plain),
                (0x1b, 9, plain | NetlinkFlags::ACK)
            ]
        );
        // A count that does not match the encoded messages is refused.
        assert!(crate::exchange::stamp_batch(encoded, 0x1b, &[1, 2]).is_err());
        assert!(crate::exchange::stamp_batch(encoded, 0x1b, &[1, 2, 3, 4]).is_err());
    }
}
