//! Host micro-benchmarks of the wire code on ipcon's hot paths: what
//! ipcon-linux emits for every unicast, what it parses for every answer and
//! delivery, and what the kernel side (tests, fuzzing) parses back.
//!
//! `cargo bench -p ipcon-core` runs them (divan); `cargo xtask bench` runs
//! them too and records the median time per operation in its results.
use divan::{black_box, Bencher};

use ipcon_core::machine::Inbox;
use ipcon_core::spec::PeerFlags;
use ipcon_core::wire::ack::{ErrorRepr, ExtAck};
use ipcon_core::wire::ipcon::{
    parse_incoming, Delivery, GroupDelivery, Incoming, PeerRef, PeerRegistered, Reply, Request,
    Sender, UnicastDelivery,
};
use ipcon_core::wire::netlink::{Messages, NetlinkFlags, NetlinkHeaderRepr, NetlinkPacket};
use ipcon_core::{Kevent, KeventKind, Message, Name, PeerIdentity, RemoveReason};

/// A dynamic generic netlink family id, as the kernel would assign one.
const FAMILY_ID: u16 = 0x1a;
/// The payload sizes `cargo xtask bench` measures in the VM.
const PAYLOAD_SIZES: [usize; 2] = [64, 2048];
/// Room for the largest message here (2048-byte payload plus headers).
const BUFFER_LEN: usize = 4096;

/// Iterations per sample, unless `--sample-size` says otherwise. Left to
/// itself, divan 0.1.16 calibrates the first benchmark of each group to one
/// iteration per sample, where the timer's own cost doubles the figure
/// (`parse_ack` read 31 ns instead of 7).
const SAMPLE_SIZE: u32 = 1000;

fn main() {
    divan::Divan::default()
        .sample_size(SAMPLE_SIZE)
        .config_with_args()
        .main();
}

fn name(text: &str) -> Name {
    Name::new(text).expect("a valid benchmark name")
}

/// What ipcon-linux's `send_unicast` emits for `payload`.
fn unicast_request(payload: &[u8]) -> Request<'_> {
    Request::Unicast {
        to: PeerRef::Name(name("bench-server")),
        payload,
    }
}

/// The kernel's header on a delivery.
fn delivery_header() -> NetlinkHeaderRepr {
    NetlinkHeaderRepr {
        message_type: FAMILY_ID,
        flags: NetlinkFlags::empty(),
        seq: 0,
        port_id: 0,
    }
}

/// One datagram holding `delivery`, as the kernel sends it.
fn delivery_datagram(delivery: &Delivery<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; BUFFER_LEN];
    let len = delivery
        .emit(&delivery_header(), &mut buf)
        .expect("the delivery fits");
    buf.truncate(len);
    buf
}

fn peer(port: u32) -> PeerIdentity {
    PeerIdentity {
        name: Some(name("bench-client")),
        port,
        pid: 4242,
        uid: 1000,
        flags: PeerFlags::empty(),
    }
}

#[divan::bench(args = PAYLOAD_SIZES)]
fn emit_unicast_request(bencher: Bencher, size: usize) {
    let payload = vec![0x5a_u8; size];
    let mut buf = vec![0u8; BUFFER_LEN];
    bencher.bench_local(|| {
        let request = unicast_request(black_box(&payload));
        let header = request.header(FAMILY_ID, black_box(7), 4242);
        request.emit(&header, black_box(&mut buf)).unwrap()
    });
}

#[divan::bench(args = PAYLOAD_SIZES)]
fn parse_unicast_request(bencher: Bencher, size: usize) {
    let payload = vec![0x5a_u8; size];
    let request = unicast_request(&payload);
    let mut buf = vec![0u8; BUFFER_LEN];
    let len = request
        .emit(&request.header(FAMILY_ID, 7, 4242), &mut buf)
        .unwrap();
    let bytes = &buf[..len];
    bencher.bench_local(|| {
        let packet = NetlinkPacket::new_checked(black_box(bytes)).unwrap();
        match Request::parse(&packet).unwrap() {
            Request::Unicast { payload, .. } => payload.len(),
            _ => unreachable!("a unicast request was emitted"),
        }
    });
}

/// The receive path of ipcon-linux: frame the datagram, classify the
/// message, copy the delivery into a `Message`.
#[divan::bench(args = PAYLOAD_SIZES)]
fn parse_unicast_delivery(bencher: Bencher, size: usize) {
    let payload = vec![0x5a_u8; size];
    let datagram = delivery_datagram(&Delivery::Unicast(UnicastDelivery {
        sender: Sender {
            name: Some(name("bench-client")),
            port: 4242,
            pid: 4242,
            uid: 1000,
        },
        payload: &payload,
        missed: 0,
        overrun: None,
    }));
    let mut message: Message = Message::new();
    bencher.bench_local(|| {
        for packet in Messages::new(black_box(&datagram)) {
            if let Incoming::Delivery(delivery) =
                parse_incoming(&packet.unwrap(), FAMILY_ID).unwrap()
            {
                message.fill(&delivery).unwrap();
            }
        }
        message.payload().len()
    });
}

/// Messages in the pack of the two pack benchmarks.
const PACK: usize = 16;

/// One datagram of a packed fan-out subscriber: a pack of 16 group messages
/// of 64 bytes (about 2.2 KiB, under `MAX_DELIVERY_LEN`).
fn group_pack_datagram() -> Vec<u8> {
    let payload = [0x5a_u8; 64];
    let delivery = Delivery::Group(GroupDelivery {
        sender: Sender {
            name: Some(name("bench-publisher")),
            port: 4242,
            pid: 4242,
            uid: 1000,
        },
        group: name("bench-group"),
        payload: &payload,
        missed: 0,
        replayed: false,
        overrun: None,
    });
    delivery_datagram(&delivery).repeat(PACK)
}

/// The general way through a pack: each message framed, classified into a
/// `Delivery` and copied into a `Message`. One iteration is the whole
/// datagram. Compare with `receive_group_pack_of_16`.
#[divan::bench]
fn parse_group_pack_of_16(bencher: Bencher) {
    let datagram = group_pack_datagram();
    let mut messages: Vec<Message> = vec![Message::new(); PACK];
    bencher.bench_local(|| {
        let mut filled = 0;
        for packet in Messages::new(black_box(&datagram)) {
            if let Incoming::Delivery(delivery) =
                parse_incoming(&packet.unwrap(), FAMILY_ID).unwrap()
            {
                messages[filled].fill(&delivery).unwrap();
                filled += 1;
            }
        }
        filled
    });
}

/// What a packed fan-out subscriber does with one datagram
/// (`Receiver::receive_many`): `Inbox::next_into`, each message filled in
/// one pass, into messages refilled from one datagram to the next.
#[divan::bench]
fn receive_group_pack_of_16(bencher: Bencher) {
    let datagram = group_pack_datagram();
    let mut messages: Vec<Message> = vec![Message::new(); PACK];
    let mut inbox = Inbox::new(FAMILY_ID);
    bencher.bench_local(|| {
        let mut unread = black_box(&datagram[..]);
        let mut filled = 0;
        while filled < PACK && inbox.next_into(&mut unread, &mut messages[filled]) {
            filled += 1;
        }
        filled
    });
}

/// The answer ipcon-linux waits for after every request sent with NLM_F_ACK.
#[divan::bench]
fn parse_ack(bencher: Bencher) {
    let ack = ErrorRepr {
        error: 0,
        request: NetlinkHeaderRepr {
            message_type: FAMILY_ID,
            flags: NetlinkFlags::REQUEST | NetlinkFlags::ACK,
            seq: 7,
            port_id: 4242,
        },
        ext: ExtAck::default(),
    };
    let mut buf = vec![0u8; BUFFER_LEN];
    let len = ack.emit(&mut buf).unwrap();
    let datagram = &buf[..len];
    bencher.bench_local(|| {
        let mut acked = 0;
        for packet in Messages::new(black_box(datagram)) {
            if let Incoming::Ack { seq } = parse_incoming(&packet.unwrap(), FAMILY_ID).unwrap() {
                acked = seq;
            }
        }
        acked
    });
}

/// A reply with attributes: the answer to `peer-register`.
#[divan::bench]
fn parse_register_reply(bencher: Bencher) {
    let reply = Reply::PeerRegistered(PeerRegistered::new(
        Some(name("bench-client")),
        4242,
        0x0123_4567_89ab_cdef,
    ));
    let header = NetlinkHeaderRepr {
        message_type: FAMILY_ID,
        flags: NetlinkFlags::empty(),
        seq: 7,
        port_id: 4242,
    };
    let mut buf = vec![0u8; BUFFER_LEN];
    let len = reply.emit(&header, &mut buf).unwrap();
    let datagram = &buf[..len];
    bencher.bench_local(|| {
        let mut cookie = 0;
        for packet in Messages::new(black_box(datagram)) {
            if let Incoming::Reply {
                reply: Reply::PeerRegistered(registered),
                ..
            } = parse_incoming(&packet.unwrap(), FAMILY_ID).unwrap()
            {
                cookie = registered.cookie;
            }
        }
        cookie
    });
}

#[divan::bench]
fn parse_kevent(bencher: Bencher) {
    let datagram = delivery_datagram(&Delivery::Kevent(Kevent {
        seq: 1_000_001,
        kind: KeventKind::GroupRemove {
            owner: peer(4242),
            group: name("bench-group"),
            reason: RemoveReason::Closed,
        },
    }));
    bencher.bench_local(|| {
        let mut seq = 0;
        for packet in Messages::new(black_box(&datagram)) {
            if let Incoming::Delivery(Delivery::Kevent(event)) =
                parse_incoming(&packet.unwrap(), FAMILY_ID).unwrap()
            {
                seq = event.seq;
            }
        }
        seq
    });
}

/// Validation of a peer or group name (every call that takes a name).
#[divan::bench(args = ["a", "bench-server", "a-thirty-one-byte-long-name-xyz"])]
fn name_new(text: &str) -> Name {
    Name::new(black_box(text)).unwrap()
}
