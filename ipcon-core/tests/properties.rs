//! Property tests: every message type survives emit → parse unchanged, no parser panics
//! on arbitrary or mutated bytes, and a receive's fast path fills what the general one does.
use ipcon_core::kevent::{Kevent, KeventKind, PeerIdentity};
use ipcon_core::spec::{GroupAccess, PeerFlags, RemoveReason, MAX_PAYLOAD_LEN};
use ipcon_core::wire::ack::{DoneRepr, ErrorRepr, ExtAck};
use ipcon_core::wire::attr::Attributes;
use ipcon_core::wire::ctrl::{FamilyRepr, GetFamilyRequest, McastGroup, GENL_ID_CTRL};
use ipcon_core::wire::ipcon::{
    parse_incoming, Delivery, GroupDelivery, GroupInfo, Incoming, MulticastOutcome, Overrun,
    OverrunSender, PeerInfo, PeerRef, PeerRegistered, Reply, Request, SendFailure, Sender,
    UnicastDelivery,
};
use ipcon_core::wire::messages;
use ipcon_core::wire::netlink::{Messages, NetlinkFlags, NetlinkHeaderRepr, NetlinkPacket};
use ipcon_core::{Message, Name};
use proptest::prelude::*;

#[path = "support/receive_paths.rs"]
mod receive_paths;
use receive_paths::receive_paths_agree;

const FAMILY: u16 = 0x1c;

fn name() -> impl Strategy<Value = Name> {
    "[ -.0-~]{1,31}".prop_map(|s| Name::new(&s).unwrap())
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..=MAX_PAYLOAD_LEN),
    ]
}

fn peer_ref() -> impl Strategy<Value = PeerRef> {
    prop_oneof![
        name().prop_map(PeerRef::Name),
        any::<u32>().prop_map(PeerRef::Port)
    ]
}

/// A send-failed notice over an owned text (see `as_send_failure`).
#[derive(Debug, Clone)]
struct SendFailureCase {
    ticket: u32,
    errno: u32,
    message: Option<String>,
    peer: Option<PeerRef>,
    group: Option<Name>,
}

impl SendFailureCase {
    fn as_send_failure(&self, missed: u32) -> SendFailure<'_> {
        SendFailure {
            ticket: self.ticket,
            errno: self.errno,
            message: self.message.as_deref(),
            peer: self.peer,
            group: self.group,
            missed,
        }
    }
}

fn send_failure() -> impl Strategy<Value = SendFailureCase> {
    (
        any::<u32>(),
        any::<u32>(),
        proptest::option::of("[ -~]{0,100}"),
        proptest::option::of(peer_ref()),
        proptest::option::of(name()),
    )
        .prop_map(|(ticket, errno, message, peer, group)| SendFailureCase {
            ticket,
            errno,
            message,
            peer,
            group,
        })
}

fn access() -> impl Strategy<Value = GroupAccess> {
    any::<u32>().prop_map(GroupAccess::from_raw)
}

fn reason() -> impl Strategy<Value = RemoveReason> {
    any::<u32>().prop_map(RemoveReason::from_raw)
}

fn identity() -> impl Strategy<Value = PeerIdentity> {
    (
        proptest::option::of(name()),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(name, port, pid, uid, flags)| PeerIdentity {
            name,
            port,
            pid,
            uid,
            flags: PeerFlags::from_bits_retain(flags),
        })
}

fn kevent() -> impl Strategy<Value = Kevent> {
    let kind = prop_oneof![
        identity().prop_map(KeventKind::PeerAdd),
        (identity(), reason()).prop_map(|(peer, reason)| KeventKind::PeerRemove { peer, reason }),
        (identity(), name()).prop_map(|(owner, group)| KeventKind::GroupAdd { owner, group }),
        (identity(), name(), reason()).prop_map(|(owner, group, reason)| KeventKind::GroupRemove {
            owner,
            group,
            reason
        }),
        (5u32..).prop_map(KeventKind::Unknown),
    ];
    (any::<u64>(), kind).prop_map(|(seq, kind)| Kevent { seq, kind })
}

fn sender() -> impl Strategy<Value = Sender> {
    (
        proptest::option::of(name()),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(name, port, pid, uid)| Sender {
            name,
            port,
            pid,
            uid,
        })
}

/// Every request variant, built over an owned payload.
#[derive(Debug, Clone)]
struct RequestCase {
    which: u8,
    a: Name,
    b: Name,
    opt: Option<Name>,
    to: PeerRef,
    payload: Vec<u8>,
    num: u64,
    flag: bool,
    access: Option<GroupAccess>,
    gid: Option<u32>,
}

impl RequestCase {
    fn request(&self) -> Request<'_> {
        match self.which % 15 {
            0 => Request::PeerRegister { name: self.opt },
            1 => Request::PeerAttach { cookie: self.num },
            2 => Request::PeerUnregister,
            3 => Request::PeerGet { peer: self.to },
            4 => Request::PeerDump,
            5 => Request::Unicast {
                to: self.to,
                payload: &self.payload,
            },
            6 => Request::GroupRegister {
                group: self.a,
                access: self.access,
                gid: self.gid,
            },
            7 => Request::GroupUnregister { group: self.a },
            8 => Request::GroupJoin {
                owner: self.a,
                group: self.b,
                replay_last: self.flag,
            },
            9 => Request::GroupLeave {
                owner: self.a,
                group: self.b,
            },
            10 => Request::GroupGet {
                owner: self.a,
                group: self.b,
            },
            11 => Request::GroupDump { owner: self.opt },
            12 => Request::PostUnicast {
                to: self.to,
                payload: &self.payload,
                ticket: self.num as u32,
            },
            13 => Request::PostMulticast {
                group: self.a,
                payload: &self.payload,
                ticket: self.num as u32,
            },
            _ => Request::Multicast {
                group: self.a,
                payload: &self.payload,
                sync: self.flag,
            },
        }
    }
}

fn request_case() -> impl Strategy<Value = RequestCase> {
    (
        any::<u8>(),
        name(),
        name(),
        proptest::option::of(name()),
        peer_ref(),
        payload(),
        any::<u64>(),
        any::<bool>(),
        proptest::option::of(access()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |(which, a, b, opt, to, payload, num, flag, access, gid)| RequestCase {
                which,
                a,
                b,
                opt,
                to,
                payload,
                num,
                flag,
                access,
                gid,
            },
        )
}

fn reply() -> impl Strategy<Value = Reply<'static>> {
    prop_oneof![
        (proptest::option::of(name()), any::<u32>(), any::<u64>())
            .prop_map(|(n, p, c)| Reply::PeerRegistered(PeerRegistered::new(n, p, c))),
        (
            identity(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u32>()
        )
            .prop_map(|(peer, tx, rx, drop, groups)| {
                Reply::Peer(PeerInfo {
                    peer,
                    tx_msgs: tx,
                    rx_msgs: rx,
                    rx_dropped: drop,
                    groups,
                    _borrow: core::marker::PhantomData,
                })
            }),
        (
            proptest::option::of(name()),
            any::<u32>(),
            name(),
            access(),
            proptest::option::of(any::<u32>()),
            any::<u32>(),
            any::<u64>(),
            proptest::option::of(any::<u32>())
        )
            .prop_map(
                |(owner, owner_port, group, access, gid, subscribers, tx_msgs, last_msg_len)| {
                    Reply::Group(GroupInfo {
                        owner,
                        owner_port,
                        group,
                        access,
                        gid,
                        subscribers,
                        tx_msgs,
                        last_msg_len,
                        _borrow: core::marker::PhantomData,
                    })
                }
            ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(d, x)| Reply::Multicast(MulticastOutcome::new(d, x))),
    ]
}

fn header(flags: u16, seq: u32, port_id: u32) -> NetlinkHeaderRepr {
    NetlinkHeaderRepr {
        message_type: FAMILY,
        flags: NetlinkFlags::from_bits_retain(flags),
        seq,
        port_id,
    }
}

fn overrun() -> impl Strategy<Value = Option<Overrun>> {
    proptest::option::of(
        (
            any::<u32>(),
            proptest::option::of((any::<u32>(), any::<u32>())),
        )
            .prop_map(|(refused, by)| Overrun {
                refused,
                filled_by: by.map(|(port, uid)| OverrunSender { port, uid }),
            }),
    )
}

/// Runs every parser over `bytes`; none may panic.
fn parse_everything(bytes: &[u8]) {
    for family in [
        FAMILY,
        Messages::new(bytes)
            .flatten()
            .next()
            .map_or(FAMILY, |p| p.message_type()),
    ] {
        receive_paths_agree::<MAX_PAYLOAD_LEN>(bytes, family);
        receive_paths_agree::<8>(bytes, family);
    }
    let mut message: Message = Message::new();
    for packet in Messages::new(bytes).flatten() {
        for family in [FAMILY, GENL_ID_CTRL, packet.message_type()] {
            if let Ok(Incoming::Delivery(d)) = parse_incoming(&packet, family) {
                let _ = message.fill(&d);
            }
        }
        let _ = Request::parse(&packet);
        let _ = FamilyRepr::parse(&packet);
        let _ = GetFamilyRequest::parse(&packet);
        let _ = ErrorRepr::parse(&packet);
        let _ = DoneRepr::parse(&packet);
        let _ = messages::GroupMsgNtf::parse(packet.payload());
        let _ = messages::KeventNtf::parse(packet.payload());
        let _ = messages::PeerGetReply::parse(packet.payload());
        for a in Attributes::new(packet.payload()).flatten() {
            let _ = (
                a.as_u8(),
                a.as_u16(),
                a.as_u32(),
                a.as_u64(),
                a.as_cstr_bytes(),
            );
            let _ = a.nested().count();
        }
    }
    // Unchecked views of short buffers read zeros instead of panicking.
    let p = NetlinkPacket::new_unchecked(bytes);
    let _ = (
        p.length(),
        p.message_type(),
        p.flags(),
        p.seq(),
        p.port_id(),
        p.payload(),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn requests_round_trip(case in request_case(), seq in any::<u32>(), port in any::<u32>()) {
        let req = case.request();
        let hdr = req.header(FAMILY, seq, port);
        let mut buf = vec![0u8; req.buffer_len()];
        let n = req.emit(&hdr, &mut buf).unwrap();
        prop_assert_eq!(n, buf.len());
        // One byte less never fits.
        prop_assert!(req.emit(&hdr, &mut vec![0u8; n - 1]).is_err());
        let packet = NetlinkPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(NetlinkHeaderRepr::parse(&packet), hdr);
        prop_assert_eq!(Request::parse(&packet).unwrap(), req);
    }

    #[test]
    fn replies_round_trip(reply in reply(), seq in any::<u32>(), multi in any::<bool>()) {
        let hdr = header(if multi { NetlinkFlags::MULTI.bits() } else { 0 }, seq, 0);
        let mut buf = vec![0u8; reply.buffer_len()];
        prop_assert_eq!(reply.emit(&hdr, &mut buf).unwrap(), buf.len());
        let packet = NetlinkPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(parse_incoming(&packet, FAMILY).unwrap(), Incoming::Reply { seq, multi, reply });
    }

    #[test]
    fn deliveries_round_trip(
        sender in sender(),
        group in name(),
        payload in payload(),
        missed in any::<u32>(),
        replayed in any::<bool>(),
        ev in kevent(),
        which in 0u8..5,
        failure in send_failure(),
    ) {
        let delivery = match which {
            0 => Delivery::Unicast(UnicastDelivery { sender, payload: &payload, missed, overrun: None }),
            1 => Delivery::Group(GroupDelivery { sender, group, payload: &payload, missed, replayed, overrun: None }),
            2 => Delivery::SendFailed(failure.as_send_failure(missed)),
            _ => Delivery::Kevent(ev),
        };
        let hdr = header(0, 0, 0);
        let mut buf = vec![0u8; delivery.buffer_len()];
        prop_assert_eq!(delivery.emit(&hdr, &mut buf).unwrap(), buf.len());
        let packet = NetlinkPacket::new_checked(&buf[..]).unwrap();
        let parsed = parse_incoming(&packet, FAMILY).unwrap();
        prop_assert_eq!(parsed, Incoming::Delivery(delivery));
        let mut m: Message = Message::new();
        m.fill(&delivery).unwrap();
        if which < 2 {
            prop_assert_eq!(m.payload(), &payload[..]);
            prop_assert_eq!(m.sender().port, sender.port);
        }
    }

    #[test]
    fn acks_round_trip(
        error in prop_oneof![Just(0i32), -4095i32..0],
        seq in any::<u32>(),
        port in any::<u32>(),
        msg in proptest::option::of("[ -~]{0,80}"),
        offset in proptest::option::of(any::<u32>()),
        missing in proptest::option::of(any::<u32>()),
    ) {
        let ext = ExtAck { message: msg.as_deref(), offset, missing_type: missing };
        let e = ErrorRepr { error, request: header(NetlinkFlags::REQUEST.bits(), seq, port), ext };
        let mut buf = vec![0u8; e.buffer_len()];
        prop_assert_eq!(e.emit(&mut buf).unwrap(), buf.len());
        let packet = NetlinkPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(ErrorRepr::parse(&packet).unwrap(), e);
        let want = if error == 0 { Incoming::Ack { seq } } else { Incoming::Error { seq, errno: -error, ext } };
        prop_assert_eq!(parse_incoming(&packet, FAMILY).unwrap(), want);

        let d = DoneRepr { error, ext };
        let mut buf = vec![0u8; d.buffer_len()];
        d.emit(seq, port, &mut buf).unwrap();
        let packet = NetlinkPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(DoneRepr::parse(&packet).unwrap(), d);
        prop_assert_eq!(parse_incoming(&packet, FAMILY).unwrap(), Incoming::Done { seq, errno: -error });
    }

    #[test]
    fn family_round_trip(
        id in any::<u16>(),
        version in any::<u32>(),
        max_attr in any::<u32>(),
        groups in proptest::collection::vec(("[a-z_]{1,15}", any::<u32>()), 0..8),
    ) {
        let mut f = FamilyRepr {
            id,
            name: heapless::String::try_from("ipcon").unwrap(),
            version,
            max_attr,
            mcast_groups: heapless::Vec::new(),
        };
        for (name, gid) in &groups {
            f.mcast_groups.push(McastGroup { name: heapless::String::try_from(name.as_str()).unwrap(), id: *gid }).unwrap();
        }
        let hdr = NetlinkHeaderRepr { message_type: GENL_ID_CTRL, flags: NetlinkFlags::empty(), seq: 1, port_id: 2 };
        let mut buf = vec![0u8; f.buffer_len()];
        prop_assert_eq!(f.emit(&hdr, &mut buf).unwrap(), buf.len());
        let packet = NetlinkPacket::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(FamilyRepr::parse(&packet).unwrap(), f);
    }

    #[test]
    fn data_fill_agrees_with_the_general_path(
        deliveries in proptest::collection::vec(
            (
                (any::<bool>(), sender(), name(), payload(), any::<u32>(), any::<bool>(), overrun()),
                proptest::option::of((1u16..=40, proptest::collection::vec(any::<u8>(), 0..9))),
            ),
            1..5,
        ),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let mut datagram = Vec::new();
        for ((group, sender, name, payload, missed, replayed, overrun), extra) in &deliveries {
            let missed = *missed % 3;
            let d = if *group {
                Delivery::Group(GroupDelivery { sender: *sender, group: *name, payload, missed, replayed: *replayed, overrun: *overrun })
            } else {
                Delivery::Unicast(UnicastDelivery { sender: *sender, payload, missed, overrun: *overrun })
            };
            let at = datagram.len();
            datagram.resize(at + d.buffer_len(), 0);
            d.emit(&header(0, 0, 0), &mut datagram[at..]).unwrap();
            // One more attribute, of any number and a value of any (maybe wrong) size.
            if let Some((kind, value)) = extra {
                let mut attr = vec![0u8; (4 + value.len() + 3) & !3];
                attr[..2].copy_from_slice(&(4 + value.len() as u16).to_ne_bytes());
                attr[2..4].copy_from_slice(&kind.to_ne_bytes());
                attr[4..4 + value.len()].copy_from_slice(value);
                datagram.extend_from_slice(&attr);
                let len = (datagram.len() - at) as u32;
                datagram[at..at + 4].copy_from_slice(&len.to_ne_bytes());
            }
        }
        receive_paths_agree::<MAX_PAYLOAD_LEN>(&datagram, FAMILY);
        receive_paths_agree::<64>(&datagram, FAMILY);
        for (pos, byte) in flips {
            let len = datagram.len();
            datagram[pos % len] = byte;
        }
        let len = datagram.len();
        receive_paths_agree::<MAX_PAYLOAD_LEN>(&datagram[..cut % (len + 1)], FAMILY);
        receive_paths_agree::<64>(&datagram[..cut % (len + 1)], FAMILY);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_everything(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(
        case in request_case(),
        reply in reply(),
        ev in kevent(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let req = case.request();
        let mut datagram = vec![0u8; req.buffer_len() + reply.buffer_len() + Delivery::Kevent(ev).buffer_len()];
        let mut at = req.emit(&req.header(FAMILY, 1, 2), &mut datagram).unwrap();
        at += reply.emit(&header(0, 1, 0), &mut datagram[at..]).unwrap();
        Delivery::Kevent(ev).emit(&header(0, 0, 0), &mut datagram[at..]).unwrap();
        // Every message is intact before mutation.
        prop_assert_eq!(Messages::new(&datagram).filter(|m| m.is_ok()).count(), 3);
        for (pos, byte) in flips {
            let len = datagram.len();
            datagram[pos % len] = byte;
        }
        let len = datagram.len();
        parse_everything(&datagram[..cut % (len + 1)]);
    }
}
