//! Classification of everything the kernel sends (ACKs, errors, dumps, replies,
//! deliveries, kernel events) and filling a received Message; a receive's one-pass
//! path (`Inbox::next_into`) fills what the general one does.
#![no_main]
use ipcon_core::wire::ipcon::{parse_incoming, Incoming};
use ipcon_core::wire::netlink::{Messages, NetlinkPacket};
use ipcon_core::Message;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/receive_paths.rs"]
mod receive_paths;
use receive_paths::receive_paths_agree;

fuzz_target!(|data: &[u8]| {
    if let Some(Ok(first)) = Messages::new(data).next() {
        receive_paths_agree::<2048>(data, first.message_type());
        receive_paths_agree::<16>(data, first.message_type());
    }
    let mut message: Message = Message::new();
    let mut small: Message<16> = Message::new();
    for packet in Messages::new(data).flatten() {
        // Try the packet's own type as the family id so the ipcon parsers are reached.
        for family in [packet.message_type(), 0x1a] {
            match parse_incoming(&packet, family) {
                Ok(Incoming::Delivery(d)) => {
                    message.fill(&d).unwrap();
                    let _ = small.fill(&d);
                    let mut buf = vec![0u8; d.buffer_len()];
                    let hdr = ipcon_core::wire::netlink::NetlinkHeaderRepr::parse(&packet);
                    let n = d.emit(&hdr, &mut buf).unwrap();
                    let again =
                        parse_incoming(&NetlinkPacket::new_checked(&buf[..n]).unwrap(), family)
                            .unwrap();
                    assert_eq!(again, Incoming::Delivery(d));
                }
                Ok(Incoming::Reply { reply, .. }) => {
                    let mut buf = vec![0u8; reply.buffer_len()];
                    let hdr = ipcon_core::wire::netlink::NetlinkHeaderRepr::parse(&packet);
                    reply.emit(&hdr, &mut buf).unwrap();
                }
                _ => {}
            }
        }
    }
});
