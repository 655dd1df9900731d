//! Netlink framing: splitting a datagram into messages and reading their headers.
#![no_main]
use ipcon_core::wire::netlink::{Messages, NetlinkHeaderRepr, NetlinkPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut total = 0usize;
    for packet in Messages::new(data) {
        let Ok(packet) = packet else { break };
        let repr = NetlinkHeaderRepr::parse(&packet);
        assert!(packet.message().len() >= 16);
        assert_eq!(packet.message().len(), packet.length() as usize);
        total += packet.message().len();
        // Re-emitting the header of a parsed message reproduces it.
        let mut buf = [0u8; 16];
        repr.emit(packet.payload().len(), &mut buf).unwrap();
        assert_eq!(&buf[..], &packet.message()[..16]);
    }
    assert!(total <= data.len());
    let p = NetlinkPacket::new_unchecked(data);
    let _ = (
        p.length(),
        p.message_type(),
        p.flags(),
        p.seq(),
        p.port_id(),
        p.payload(),
    );
});
