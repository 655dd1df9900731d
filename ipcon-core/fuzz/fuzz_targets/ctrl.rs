//! The nlctrl family lookup: GETFAMILY requests and NEWFAMILY replies.
#![no_main]
use ipcon_core::wire::ctrl::{FamilyRepr, GetFamilyRequest};
use ipcon_core::wire::netlink::{Messages, NetlinkPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for packet in Messages::new(data).flatten() {
        if let Ok(f) = FamilyRepr::parse(&packet) {
            let _ = f.mcast_group_id("ipcon_kevent");
            let mut buf = vec![0u8; f.buffer_len()];
            let hdr = ipcon_core::wire::netlink::NetlinkHeaderRepr::parse(&packet);
            let n = f.emit(&hdr, &mut buf).unwrap();
            assert_eq!(
                FamilyRepr::parse(&NetlinkPacket::new_checked(&buf[..n]).unwrap()).unwrap(),
                f
            );
        }
        let _ = GetFamilyRequest::parse(&packet);
    }
});
