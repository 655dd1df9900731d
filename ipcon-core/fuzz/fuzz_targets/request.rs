//! Requests as the kernel side would parse them; whatever parses re-emits identically.
#![no_main]
use ipcon_core::wire::ipcon::Request;
use ipcon_core::wire::netlink::{Messages, NetlinkHeaderRepr, NetlinkPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for packet in Messages::new(data).flatten() {
        if let Ok(req) = Request::parse(&packet) {
            let hdr = NetlinkHeaderRepr::parse(&packet);
            let mut buf = vec![0u8; req.buffer_len()];
            let n = req.emit(&hdr, &mut buf).unwrap();
            assert_eq!(
                Request::parse(&NetlinkPacket::new_checked(&buf[..n]).unwrap()).unwrap(),
                req
            );
        }
    }
});
