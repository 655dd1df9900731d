//! Classification of everything the kernel sends (ACKs, errors, dumps, replies,
//! deliveries, kernel events) and filling a received Message; a receive's one-pass
//! path (`Inbox::next_into`) fills what the general one does.
#![no_main]
use ipcon_core::machine::Inbox;
use ipcon_core::wire::ipcon::{parse_incoming, Incoming};
use ipcon_core::wire::netlink::{Messages, NetlinkPacket};
use ipcon_core::Message;
use libfuzzer_sys::fuzz_target;

/// Both receive paths over `data`, into messages of `N` bytes.
fn receive_paths_agree<const N: usize>(data: &[u8], family: u16) {
    let (mut fast_inbox, mut general_inbox) = (Inbox::new(family), Inbox::new(family));
    let (mut fast_unread, mut general_unread) = (data, data);
    // The messages are refilled, as a receiver's are: a name equal to the one a message
    // holds is taken without validation.
    let mut fast: Message<N> = Message::new();
    let mut general: Message<N> = Message::new();
    loop {
        let fast_got = fast_inbox.next_into(&mut fast_unread, &mut fast);
        let general_got = loop {
            match general_inbox.next(&mut general_unread) {
                None => break false,
                Some(r) if general.fill_received(&r).is_ok() => break true,
                Some(_) => general_inbox.count_malformed(),
            }
        };
        assert_eq!(fast_got, general_got);
        assert_eq!(fast_inbox.stats(), general_inbox.stats());
        assert_eq!(fast_unread.len(), general_unread.len());
        assert_eq!(&fast, &general);
        if !fast_got {
            return;
        }
    }
}

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
