//! Batches: several unicast/multicast messages sent with one system call
//! ([`Control::send_batch`](crate::engine::Control::send_batch),
//! [`Handler::send_batch`](crate::Handler::send_batch)).
//!
//! A netlink datagram may carry several netlink messages; the kernel handles
//! them one after the other inside the sender's `sendmsg`, and a failed one
//! does not stop the next. A [`Batch`] encodes the requests back to back in
//! storage it keeps from one batch to the next.

use ipcon_core::spec::MAX_PAYLOAD_LEN;
use ipcon_core::wire::ipcon::{PeerRef, Request};
use ipcon_core::wire::netlink::{align, NetlinkFlags, NetlinkHeaderRepr};
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
    count: usize,
    /// Bit `i` set: message `i` is a unicast (for which `EAGAIN` means the
    /// receiver's queue is full).
    unicast: u64,
}

// The unicast mask has one bit per message.
const _: () = assert!(MAX_BATCH_MESSAGES <= u64::BITS as usize);

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
    /// An empty batch encoding into `storage` (up to [`MAX_BATCH_BYTES`] of it).
    pub fn with_storage(storage: B) -> Self {
        Self {
            storage,
            used: 0,
            count: 0,
            unicast: 0,
        }
    }

    /// Appends a unicast of `payload` to the peer named `peer`.
    pub fn unicast(&mut self, peer: &str, payload: &[u8]) -> Result<()> {
        let peer = Name::new(peer)?;
        self.push(
            "send unicast",
            &Request::Unicast {
                to: PeerRef::Name(peer),
                payload,
            },
        )
    }

    /// Appends a unicast of `payload` to the peer at `port`.
    pub fn unicast_to_port(&mut self, port: u32, payload: &[u8]) -> Result<()> {
        self.push(
            "send unicast",
            &Request::Unicast {
                to: PeerRef::Port(port),
                payload,
            },
        )
    }

    /// Appends a publication of `payload` to this peer's group `group`
    /// (without a fan-out report, as a plain multicast).
    pub fn multicast(&mut self, group: &str, payload: &[u8]) -> Result<()> {
        let group = Name::new(group)?;
        self.push(
            "send multicast",
            &Request::Multicast {
                group,
                payload,
                sync: false,
            },
        )
    }

    /// How many messages the batch holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the batch holds no message.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Removes every message (the storage is kept).
    pub fn clear(&mut self) {
        self.used = 0;
        self.count = 0;
        self.unicast = 0;
    }

    /// The encoded requests and how many there are, for sending.
    pub(crate) fn encoded_mut(&mut self) -> (&mut [u8], usize) {
        let used = self.used;
        (&mut self.storage.as_mut()[..used], self.count)
    }

    /// Bit `i` set: message `i` is a unicast.
    pub(crate) fn unicast_mask(&self) -> u64 {
        self.unicast
    }

    fn push(&mut self, operation: &'static str, request: &Request<'_>) -> Result<()> {
        if let Request::Unicast { payload, .. } | Request::Multicast { payload, .. } = request {
            if payload.len() > MAX_PAYLOAD_LEN {
                return Err(Error::new(operation, ErrorKind::TooBig));
            }
        }
        let start = self.used;
        let end = start + align(request.buffer_len());
        let room = self.storage.as_ref().len().min(MAX_BATCH_BYTES);
        if self.count >= MAX_BATCH_MESSAGES || end > room {
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
        if matches!(request, Request::Unicast { .. }) {
            self.unicast |= 1 << self.count;
        }
        self.used = end;
        self.count += 1;
        Ok(())
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use ipcon_core::wire::netlink::{Messages, NetlinkPacket};
    use std::format;
    use std::vec::Vec;

    #[test]
    fn messages_are_encoded_back_to_back_and_aligned() {
        let mut batch = Batch::new();
        batch.unicast("server", b"abc").unwrap();
        batch.multicast("news", b"hello").unwrap();
        batch.unicast_to_port(77, &[]).unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.unicast_mask(), 0b101);
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
        assert_eq!(batch.unicast_mask(), 1);
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
