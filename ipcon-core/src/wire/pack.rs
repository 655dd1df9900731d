//! Packs: several messages to one destination in one unicast or multicast request, the
//! `pack` attribute (an indexed array of `pack-entry` nests, one payload each).
//!
//! A receiver that registered `packed` gets the messages of a pack in one datagram, all
//! or none, each a complete delivery; the module refuses a pack whose datagram could
//! exceed [`MAX_DELIVERY_LEN`](crate::spec::MAX_DELIVERY_LEN). [`delivered_len_max`] is what one message of a pack can
//! take there, whatever the sender's name, so a sender that keeps the sum of its
//! messages' [`delivered_len_max`] and [`REPORT_RESERVE`] within `MAX_DELIVERY_LEN`
//! is never refused for size.
use crate::error::WireError;
use crate::spec::{PackEntryAttr, MAX_NAME_LEN};
use crate::wire::attr::{attr_size, AttrWriter, Attributes};
use crate::wire::{genl, netlink};

/// Bytes one message adds to a request's `pack` attribute: its entry, a nest around its
/// payload.
pub const fn entry_len(payload_len: usize) -> usize {
    attr_size(attr_size(payload_len))
}

/// Writes the entry of one message (entry number `index`) at the start of `buf`;
/// returns its length, [`entry_len`] of the payload's.
pub fn emit_entry(index: u16, payload: &[u8], buf: &mut [u8]) -> Result<usize, WireError> {
    let mut writer = AttrWriter::new(buf);
    let nest = writer.begin_nested(index)?;
    writer.put_bytes(PackEntryAttr::Payload.to_raw(), payload)?;
    writer.end_nested(nest)?;
    Ok(writer.len())
}

/// Most bytes one message of `payload_len` bytes takes in a delivered datagram: its
/// netlink and generic netlink headers, the longest sender name, port, pid and uid, the
/// longest group name for a group message, and the payload.
pub const fn delivered_len_max(group: bool, payload_len: usize) -> usize {
    let name = attr_size(MAX_NAME_LEN);
    netlink::HEADER_LEN
        + genl::HEADER_LEN
        + name
        + 3 * attr_size(4)
        + if group { name } else { 0 }
        + attr_size(payload_len)
}

/// Room a delivery's report takes at most, carried by its first message: missed,
/// overrun, and the overrun's sender port and uid.
pub const REPORT_RESERVE: usize = 4 * attr_size(4);

/// The payloads of a `pack` attribute's value, in order. An entry that is not a nest
/// holding exactly one payload yields [`WireError::Malformed`] and ends the iteration.
#[derive(Debug, Clone)]
pub struct PackPayloads<'a> {
    entries: Attributes<'a>,
}

impl<'a> PackPayloads<'a> {
    /// Iterates over the entries of `pack`, the value of a `pack` attribute.
    pub fn new(pack: &'a [u8]) -> Self {
        Self {
            entries: Attributes::new(pack),
        }
    }
}

impl<'a> Iterator for PackPayloads<'a> {
    type Item = Result<&'a [u8], WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = match self.entries.next()? {
            Ok(entry) => entry,
            Err(e) => return Some(Err(e)),
        };
        let mut inner = entry.nested();
        let payload = match (inner.next(), inner.next()) {
            (Some(Ok(payload)), None) if payload.kind() == PackEntryAttr::Payload.to_raw() => {
                payload.value()
            }
            _ => {
                self.entries = Attributes::new(&[]);
                return Some(Err(WireError::Malformed));
            }
        };
        Some(Ok(payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{MAX_DELIVERY_LEN, MAX_PAYLOAD_LEN};

    #[test]
    fn entries_round_trip_in_order() {
        let mut buf = [0u8; 128];
        let mut len = 0;
        for (i, payload) in [&b"one"[..], b"", b"three!!"].iter().enumerate() {
            let n = emit_entry(i as u16, payload, &mut buf[len..]).unwrap();
            assert_eq!(n, entry_len(payload.len()));
            len += n;
        }
        let got: Result<std::vec::Vec<&[u8]>, _> = PackPayloads::new(&buf[..len]).collect();
        assert_eq!(got.unwrap(), [&b"one"[..], b"", b"three!!"]);
    }

    #[test]
    fn an_entry_without_exactly_one_payload_is_malformed() {
        let mut buf = [0u8; 64];
        let mut writer = AttrWriter::new(&mut buf);
        let nest = writer.begin_nested(0).unwrap();
        writer
            .put_bytes(PackEntryAttr::Payload.to_raw(), b"a")
            .unwrap();
        writer
            .put_bytes(PackEntryAttr::Payload.to_raw(), b"b")
            .unwrap();
        writer.end_nested(nest).unwrap();
        let len = writer.len();
        let mut payloads = PackPayloads::new(&buf[..len]);
        assert_eq!(payloads.next(), Some(Err(WireError::Malformed)));
        assert_eq!(payloads.next(), None);
    }

    #[test]
    fn the_delivery_budget_holds_a_full_payload() {
        // One message of the largest payload, with a report, always fits.
        assert!(REPORT_RESERVE + delivered_len_max(true, MAX_PAYLOAD_LEN) <= MAX_DELIVERY_LEN);
        // 64-byte group messages: a dozen per datagram at least.
        assert!(REPORT_RESERVE + 12 * delivered_len_max(true, 64) <= MAX_DELIVERY_LEN);
    }
}
