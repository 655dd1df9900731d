//! The hand-written encoder produces byte for byte what ipcon-core emits
//! (and so what ipcon-linux sends), and reads what the kernel sends as
//! ipcon-core's emitters write it: the raw loop of the benchmark measures the
//! same wire traffic as the library.

use ipcon_core::spec::{Attr, Command, VERSION};
use ipcon_core::wire::ipcon::{PeerRef, Request};
use ipcon_core::Name;
use ipcon_test_support::rawnl::{packets, MsgBuilder, NLM_F_ACK, NLM_F_REQUEST};

fn library(request: &Request<'_>, family: u16, seq: u32) -> Vec<u8> {
    let mut bytes = vec![0u8; request.buffer_len()];
    let len = request
        .emit(&request.header(family, seq, 0), &mut bytes)
        .unwrap();
    bytes.truncate(len);
    bytes
}

#[test]
fn unicast_by_name_matches_the_library() {
    let payload: Vec<u8> = (0..61u8).collect(); // odd length: padding
    let mut ours = MsgBuilder::new();
    ours.begin(
        0x1c,
        NLM_F_REQUEST | NLM_F_ACK,
        77,
        Command::Unicast.to_raw(),
        VERSION,
    )
    .attr_str(Attr::PeerName.to_raw(), "perf_rx")
    .attr(Attr::Payload.to_raw(), &payload);
    let request = Request::Unicast {
        to: PeerRef::Name(Name::new("perf_rx").unwrap()),
        payload: &payload,
    };
    assert_eq!(ours.finish(), library(&request, 0x1c, 77));
}

#[test]
fn unicast_by_port_and_attach_match_the_library() {
    let mut ours = MsgBuilder::new();
    ours.begin(
        0x1c,
        NLM_F_REQUEST | NLM_F_ACK,
        3,
        Command::Unicast.to_raw(),
        VERSION,
    )
    .attr(Attr::Port.to_raw(), &4242u32.to_ne_bytes())
    .attr(Attr::Payload.to_raw(), &[9; 64]);
    let request = Request::Unicast {
        to: PeerRef::Port(4242),
        payload: &[9; 64],
    };
    assert_eq!(ours.finish(), library(&request, 0x1c, 3));

    ours.begin(
        0x1c,
        NLM_F_REQUEST | NLM_F_ACK,
        4,
        Command::PeerAttach.to_raw(),
        VERSION,
    )
    .attr(
        Attr::Cookie.to_raw(),
        &0x0123_4567_89ab_cdefu64.to_ne_bytes(),
    );
    let request = Request::PeerAttach {
        cookie: 0x0123_4567_89ab_cdef,
    };
    assert_eq!(ours.finish(), library(&request, 0x1c, 4));
}

#[test]
fn attributes_of_a_delivery_are_found() {
    use ipcon_core::wire::ipcon::{Delivery, Sender, UnicastDelivery};
    use ipcon_core::wire::netlink::{NetlinkFlags, NetlinkHeaderRepr};
    // A delivery as the kernel builds it (ipcon-core's emitter stands in).
    let delivery = Delivery::Unicast(UnicastDelivery {
        sender: Sender {
            name: Name::new("tx").ok(),
            port: 7,
            pid: 8,
            uid: 9,
        },
        payload: b"hello",
        missed: 3,
        overrun: None,
    });
    let header = NetlinkHeaderRepr {
        message_type: 0x1c,
        flags: NetlinkFlags::empty(),
        seq: 0,
        port_id: 0,
    };
    let mut datagram = vec![0u8; delivery.buffer_len()];
    delivery.emit(&header, &mut datagram).unwrap();
    let packet = packets(&datagram).next().unwrap();
    assert_eq!(packet.kind, 0x1c);
    assert_eq!(packet.ack_errno(), None);
    let (command, attrs) = packet.genl().unwrap();
    assert_eq!(command, Command::UnicastMsg.to_raw());
    assert_eq!(attrs.get(Attr::Payload.to_raw()), Some(&b"hello"[..]));
    assert_eq!(attrs.u32(Attr::Port.to_raw()), Some(7));
    assert_eq!(attrs.u32(Attr::Missed.to_raw()), Some(3));
    assert_eq!(attrs.get(Attr::Replayed.to_raw()), None);
}

#[test]
fn command_and_attribute_numbers_are_the_specs() {
    use ipcon_test_support::rawnl::{attr, cmd};
    let commands = [
        (cmd::PEER_REGISTER, Command::PeerRegister),
        (cmd::PEER_ATTACH, Command::PeerAttach),
        (cmd::PEER_UNREGISTER, Command::PeerUnregister),
        (cmd::PEER_GET, Command::PeerGet),
        (cmd::UNICAST, Command::Unicast),
        (cmd::GROUP_REGISTER, Command::GroupRegister),
        (cmd::GROUP_UNREGISTER, Command::GroupUnregister),
        (cmd::GROUP_JOIN, Command::GroupJoin),
        (cmd::GROUP_LEAVE, Command::GroupLeave),
        (cmd::GROUP_GET, Command::GroupGet),
        (cmd::MULTICAST, Command::Multicast),
        (cmd::UNICAST_MSG, Command::UnicastMsg),
        (cmd::GROUP_MSG, Command::GroupMsg),
    ];
    for (ours, spec) in commands {
        assert_eq!(ours, spec.to_raw(), "{spec:?}");
    }
    let attributes = [
        (attr::PEER_NAME, Attr::PeerName),
        (attr::GROUP_NAME, Attr::GroupName),
        (attr::PAYLOAD, Attr::Payload),
        (attr::PORT, Attr::Port),
        (attr::PID, Attr::Pid),
        (attr::UID, Attr::Uid),
        (attr::GID, Attr::Gid),
        (attr::COOKIE, Attr::Cookie),
        (attr::SYNC, Attr::Sync),
        (attr::ACCESS, Attr::Access),
        (attr::PAD, Attr::Pad),
        (attr::TICKET, Attr::Ticket),
        (attr::ERROR, Attr::Error),
        (attr::EXPECT_UID, Attr::ExpectUid),
        (attr::MISSED, Attr::Missed),
        (attr::DELIVERED, Attr::Delivered),
        (attr::DROPPED, Attr::Dropped),
        (attr::PEER_FLAGS, Attr::PeerFlags),
        (attr::PACKED, Attr::Packed),
        (attr::PACK, Attr::Pack),
        (attr::STAMP_ROOM, Attr::StampRoom),
    ];
    for (ours, spec) in attributes {
        assert_eq!(ours, spec.to_raw(), "{spec:?}");
    }
    assert_eq!(attr::MAX, Attr::MAX);
    assert_eq!(
        attr::pack_entry::PAYLOAD,
        ipcon_core::spec::PackEntryAttr::Payload.to_raw()
    );
}
