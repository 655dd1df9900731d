//! NLMSG_ERROR (with extended ACK) and NLMSG_DONE.
#![no_main]
use ipcon_core::wire::ack::{DoneRepr, ErrorRepr};
use ipcon_core::wire::netlink::Messages;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for packet in Messages::new(data).flatten() {
        if let Ok(e) = ErrorRepr::parse(&packet) {
            let _ = (e.is_ack(), e.errno());
            let mut buf = vec![0u8; e.buffer_len()];
            // Anything parsed can be emitted again and parses to the same thing.
            let n = e.emit(&mut buf).unwrap();
            let again = ipcon_core::wire::netlink::NetlinkPacket::new_checked(&buf[..n]).unwrap();
            assert_eq!(ErrorRepr::parse(&again).unwrap(), e);
        }
        let _ = DoneRepr::parse(&packet);
    }
});
