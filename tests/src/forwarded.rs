//! Forwarded unicasts: a posted unicast with a stamp-room is queued to the
//! receiver as itself, rewritten in place by the module (kmod/deliver.c,
//! "Forwarding"). What the receiver gets must be a delivery like a built one:
//! the module's stamp, never the sender's words (whatever it wrote into the
//! room or its other attributes), and the request's header no longer the
//! sender's. Requests the module cannot forward (not alone in their datagram,
//! asking for an ACK) are delivered as before.

use ipcon_linux::{Handler, Message, MessageKind};

use crate::common::{euid, receive_kind, QUIET, SOON};
use crate::harness::{Context, Test, TestResult};
use crate::limits::raw_request;
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{
    align, attr, cmd, packets, Attrs, MsgBuilder, RawSocket, GENL_HDRLEN, NLA_HDRLEN, NLMSG_HDRLEN,
    NLM_F_ACK, NLM_F_REQUEST,
};

pub const TESTS: &[Test] = &[
    Test::new(
        "forwarded_post_is_stamped_by_the_module",
        stamped_by_the_module,
    ),
    Test::new("forwarded_stamp_room_exact_size", room_size),
    Test::new("forwarded_not_alone_or_acked_is_built", built_instead),
    Test::new("forwarded_and_built_read_the_same", library_view),
    Test::new("forwarded_off_by_module_parameter", off_by_parameter),
    Test::new("forwarded_one_payload_within_max_delivery_len", bounded),
];

/// `max-delivery-len` (`kmod/ipcon.yaml`).
const MAX_DELIVERY_LEN: usize = 2560;

/// The writable module parameter that turns forwarding on and off.
const FORWARD_PARAM: &str = "/sys/module/ipcon/parameters/forward_unicast";

/// `stamp-room-len` (`kmod/ipcon.yaml`).
const ROOM_LEN: usize = 60;

/// A registered raw peer: the socket, the family, its port.
struct RawPeer {
    socket: RawSocket,
    family: u16,
}

impl RawPeer {
    fn register(name: &str) -> Result<Self, String> {
        let socket = RawSocket::open().ctx("raw socket")?;
        let family = socket.ipcon_family()?;
        let ack = raw_request(&socket, family, 1, cmd::PEER_REGISTER, |b| {
            b.attr_str(attr::PEER_NAME, name)
        })?;
        ensure_eq!(ack.errno, 0, "register {name} ({:?})", ack.message);
        Ok(Self { socket, family })
    }

    /// The next datagram, within [`SOON`].
    fn datagram(&self, what: &str) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; 8192];
        let len = self
            .socket
            .recv(&mut buf, Some(SOON))
            .ctx(what)?
            .ok_or_else(|| format!("{what}: nothing arrived"))?;
        buf.truncate(len);
        Ok(buf)
    }

    fn expect_nothing(&self, what: &str) -> TestResult {
        let mut buf = [0u8; 512];
        match self.socket.recv(&mut buf, Some(QUIET)).ctx(what)? {
            None => Ok(()),
            Some(len) => Err(format!("{what}: got {:?}", &buf[..len])),
        }
    }
}

/// Room content that would claim another identity if the module let it
/// through: a name, port 1, pid 1 and uid 0, then a pad to fill the room.
fn forged_room() -> Vec<u8> {
    let name = "forged";
    let claims = align(NLA_HDRLEN + name.len() + 1) + 3 * (NLA_HDRLEN + 4);
    let mut room = MsgBuilder::new();
    room.begin(0, 0, 0, 0, 0)
        .attr_str(attr::PEER_NAME, name)
        .attr(attr::PORT, &1u32.to_ne_bytes())
        .attr(attr::PID, &1u32.to_ne_bytes())
        .attr(attr::UID, &0u32.to_ne_bytes())
        .attr(attr::PAD, &vec![0xee; ROOM_LEN - claims - NLA_HDRLEN]);
    let bytes = room.finish()[NLMSG_HDRLEN + GENL_HDRLEN..].to_vec();
    assert_eq!(bytes.len(), ROOM_LEN);
    bytes
}

/// A posted unicast by hand to `to`, with `room` as its stamp-room.
fn post(family: u16, flags: u16, seq: u32, to: &str, payload: &[u8], room: &[u8]) -> Vec<u8> {
    let euid = euid();
    MsgBuilder::new()
        .begin(family, flags, seq, cmd::UNICAST, 1)
        .attr_str(attr::PEER_NAME, to)
        .attr(attr::EXPECT_UID, &euid.to_ne_bytes())
        .attr(attr::STAMP_ROOM, room)
        .attr(attr::PAYLOAD, payload)
        .attr(attr::TICKET, &seq.to_ne_bytes())
        .finish()
        .to_vec()
}

/// What a delivery datagram says: its netlink header's flags, seq and port,
/// the generic netlink command and version, and its attributes other than
/// pad, sorted by type.
#[derive(Debug, PartialEq)]
struct Seen {
    flags: u16,
    seq: u32,
    port: u32,
    command: u8,
    version: u8,
    attrs: Vec<(u16, Vec<u8>)>,
    pads: usize,
}

fn seen(datagram: &[u8]) -> Result<Seen, String> {
    let all: Vec<_> = packets(datagram).collect();
    ensure_eq!(all.len(), 1, "messages in the datagram");
    let packet = &all[0];
    ensure!(packet.body.len() >= GENL_HDRLEN, "short delivery");
    let mut attrs = Vec::new();
    let mut pads = 0;
    for (kind, value) in Attrs(&packet.body[GENL_HDRLEN..]).iter() {
        if kind == attr::PAD {
            pads += 1;
        } else {
            attrs.push((kind, value.to_vec()));
        }
    }
    attrs.sort();
    Ok(Seen {
        flags: packet.flags,
        seq: packet.seq,
        port: u32::from_ne_bytes(datagram[12..16].try_into().unwrap()),
        command: packet.body[0],
        version: packet.body[1],
        attrs,
        pads,
    })
}

/// The attributes a unicast delivery from `name` at `port` carries.
fn stamp_of(name: &str, port: u32, payload: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut name_bytes = name.as_bytes().to_vec();
    name_bytes.push(0);
    let euid = euid();
    let mut attrs = vec![
        (attr::PEER_NAME, name_bytes),
        (attr::PAYLOAD, payload.to_vec()),
        (attr::PORT, port.to_ne_bytes().to_vec()),
        (attr::PID, std::process::id().to_ne_bytes().to_vec()),
        (attr::UID, euid.to_ne_bytes().to_vec()),
    ];
    attrs.sort();
    attrs
}

/// Receives at `rx` a built delivery (no pads) of `payload` from the raw
/// peer `name` at `port`; its length.
fn expect_built(rx: &RawPeer, name: &str, port: u32, payload: &[u8]) -> Result<usize, String> {
    let datagram = rx.datagram("a built delivery")?;
    let got = seen(&datagram)?;
    ensure_eq!(
        (got.attrs, got.pads),
        (stamp_of(name, port, payload), 0),
        "stamp and pads of a built delivery"
    );
    Ok(datagram.len())
}

fn stamped_by_the_module() -> TestResult {
    let rx = RawPeer::register("e2e_f_rx")?;
    let tx = RawPeer::register("e2e_f_tx")?;
    let request = post(
        tx.family,
        NLM_F_REQUEST,
        77,
        "e2e_f_rx",
        b"forwarded",
        &forged_room(),
    );
    tx.socket.send(&request).ctx("post")?;
    let forwarded = rx.datagram("the forwarded delivery")?;
    // The request itself, rewritten: a built delivery is shorter.
    ensure_eq!(forwarded.len(), request.len(), "delivery length");
    let got = seen(&forwarded)?;
    ensure_eq!(
        got.attrs,
        stamp_of("e2e_f_tx", tx.socket.port(), b"forwarded"),
        "attributes besides pad"
    );
    // Destination, expect-uid, ticket, and the rest of the room.
    ensure_eq!(got.pads, 4, "pads");
    ensure_eq!(
        (got.flags, got.seq, got.port, got.command),
        (0, 0, 0, cmd::UNICAST_MSG),
        "header: a kernel message, not the request's"
    );
    tx.expect_nothing("the sender after a successful post")?;

    // The same message sent with an ACK is built: the same stamp, header
    // and version, without pads.
    let ack = raw_request(&tx.socket, tx.family, 78, cmd::UNICAST, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_f_rx")
            .attr(attr::PAYLOAD, b"forwarded")
    })?;
    ensure_eq!(ack.errno, 0, "acked unicast ({:?})", ack.message);
    let built = seen(&rx.datagram("the built delivery")?)?;
    ensure_eq!(
        Seen { pads: 0, ..got },
        built,
        "forwarded and built deliveries"
    );
    Ok(())
}

fn room_size() -> TestResult {
    let rx = RawPeer::register("e2e_f_srx")?;
    let tx = RawPeer::register("e2e_f_stx")?;
    for len in [0, ROOM_LEN - 4, ROOM_LEN - 1, ROOM_LEN + 1, ROOM_LEN + 4] {
        let ack = raw_request(&tx.socket, tx.family, 10 + len as u32, cmd::UNICAST, |b| {
            b.attr_str(attr::PEER_NAME, "e2e_f_srx")
                .attr(attr::PAYLOAD, b"x")
                .attr(attr::STAMP_ROOM, &vec![0; len])
        })?;
        // Longer than the policy's bound: ERANGE from the policy; shorter:
        // EINVAL from the module, which wants the exact size.
        let expected = if len > ROOM_LEN {
            libc::ERANGE
        } else {
            libc::EINVAL
        };
        ensure_eq!(
            ack.errno,
            expected,
            "room of {len} bytes ({:?})",
            ack.message
        );
        if len < ROOM_LEN {
            ensure!(
                ack.message
                    .as_deref()
                    .is_some_and(|m| m.contains("stamp-room")),
                "kernel text for {len} bytes: {:?}",
                ack.message
            );
        }
    }
    rx.expect_nothing("the receiver after the refused requests")?;
    // Exactly the room's size, on a request the module does not forward (it
    // asks for an ACK): accepted, built.
    let ack = raw_request(&tx.socket, tx.family, 99, cmd::UNICAST, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_f_srx")
            .attr(attr::PAYLOAD, b"x")
            .attr(attr::STAMP_ROOM, &[0; ROOM_LEN])
    })?;
    ensure_eq!(ack.errno, 0, "room of {ROOM_LEN} bytes ({:?})", ack.message);
    expect_built(&rx, "e2e_f_stx", tx.socket.port(), b"x")?;
    Ok(())
}

fn built_instead() -> TestResult {
    let rx = RawPeer::register("e2e_f_brx")?;
    let tx = RawPeer::register("e2e_f_btx")?;
    let room = forged_room();
    // Two posts in one datagram: neither is alone in its buffer.
    let mut both = post(tx.family, NLM_F_REQUEST, 5, "e2e_f_brx", b"one", &room);
    let second = post(tx.family, NLM_F_REQUEST, 6, "e2e_f_brx", b"two", &room);
    let single_len = second.len();
    both.extend_from_slice(&second);
    tx.socket.send(&both).ctx("two posts in one datagram")?;
    for payload in [&b"one"[..], b"two"] {
        let len = expect_built(&rx, "e2e_f_btx", tx.socket.port(), payload)?;
        ensure!(len != single_len, "built, not forwarded");
    }
    tx.expect_nothing("the sender after two posts")?;

    // A post asking for an ACK: its header must stay the sender's until the
    // ACK is sent, so it is built; the ACK carries the request's seq.
    let acked = post(
        tx.family,
        NLM_F_REQUEST | NLM_F_ACK,
        7,
        "e2e_f_brx",
        b"three",
        &room,
    );
    tx.socket.send(&acked).ctx("post with NLM_F_ACK")?;
    let answer = tx.datagram("the ACK")?;
    let ack = packets(&answer)
        .next()
        .and_then(|p| p.ack().map(|a| (p.seq, a)));
    let (seq, ack) = ack.ok_or_else(|| format!("not an ACK: {answer:?}"))?;
    ensure_eq!((seq, ack.errno), (7, 0), "ACK of the post");
    expect_built(&rx, "e2e_f_btx", tx.socket.port(), b"three")?;
    Ok(())
}

/// The library posts with a stamp-room and sends with an ACK without one:
/// its receiver reads the same message from both, named or anonymous.
fn library_view() -> TestResult {
    let receiver = Handler::new("e2e_f_lrx").ctx("register receiver")?;
    let named = Handler::new("e2e_f_ltx").ctx("register sender")?;
    let anonymous = Handler::anonymous().ctx("register anonymous sender")?;
    let mut posted = Message::new();
    let mut sent = Message::new();
    for sender in [&named, &anonymous] {
        sender
            .post_unicast("e2e_f_lrx", b"same words")
            .ctx("post")?;
        sender
            .send_unicast("e2e_f_lrx", b"same words")
            .ctx("send")?;
        receive_kind(&receiver, &mut posted, MessageKind::Unicast)?;
        receive_kind(&receiver, &mut sent, MessageKind::Unicast)?;
        ensure_eq!(posted, sent, "posted and sent, as received");
        ensure_eq!(posted.sender().port, sender.port(), "sender port");
        ensure_eq!(
            posted.sender().name.map(|n| n.to_string()),
            sender.name().map(|n| n.to_string()),
            "sender name"
        );
    }
    Ok(())
}

fn set_forwarding(on: bool) -> TestResult {
    std::fs::write(FORWARD_PARAM, if on { "1" } else { "0" }).ctx(&format!("write {FORWARD_PARAM}"))
}

/// With `forward_unicast=0` the same post is built (and charged to the
/// sender's memory cgroup); the parameter is set back whatever happens.
fn off_by_parameter() -> TestResult {
    let rx = RawPeer::register("e2e_f_orx")?;
    let tx = RawPeer::register("e2e_f_otx")?;
    let request = post(
        tx.family,
        NLM_F_REQUEST,
        3,
        "e2e_f_orx",
        b"p",
        &forged_room(),
    );
    set_forwarding(false)?;
    let sent = tx.socket.send(&request).ctx("post");
    set_forwarding(true)?;
    sent?;
    let len = expect_built(&rx, "e2e_f_otx", tx.socket.port(), b"p")?;
    ensure!(len != request.len(), "built, not forwarded");
    // On again: forwarded.
    tx.socket.send(&request).ctx("post again")?;
    ensure_eq!(
        rx.datagram("the forwarded delivery")?.len(),
        request.len(),
        "forwarded length"
    );
    Ok(())
}

/// What the module forwards is a delivery like any other: one payload (the
/// one it checked, the last of duplicates), no longer than max-delivery-len
/// (a request padded beyond it is built instead).
fn bounded() -> TestResult {
    let rx = RawPeer::register("e2e_f_mrx")?;
    let tx = RawPeer::register("e2e_f_mtx")?;
    let euid = euid().to_ne_bytes();
    let decoy = MsgBuilder::new()
        .begin(tx.family, NLM_F_REQUEST, 8, cmd::UNICAST, 1)
        .attr_str(attr::PEER_NAME, "e2e_f_mrx")
        .attr(attr::PAYLOAD, b"decoy")
        .attr(attr::STAMP_ROOM, &[0; ROOM_LEN])
        .attr(attr::PAYLOAD, b"checked")
        .attr(attr::TICKET, &8u32.to_ne_bytes())
        .finish()
        .to_vec();
    tx.socket.send(&decoy).ctx("post with two payloads")?;
    let forwarded = rx.datagram("the forwarded delivery")?;
    ensure_eq!(forwarded.len(), decoy.len(), "forwarded length");
    let got = seen(&forwarded)?;
    ensure_eq!(
        got.attrs,
        stamp_of("e2e_f_mtx", tx.socket.port(), b"checked"),
        "one payload, the checked one"
    );

    // A full payload and enough repeated expect-uid to pass the limit.
    let payload = vec![0x5a; 2048];
    let mut padded = MsgBuilder::new();
    padded
        .begin(tx.family, NLM_F_REQUEST, 9, cmd::UNICAST, 1)
        .attr_str(attr::PEER_NAME, "e2e_f_mrx")
        .attr(attr::STAMP_ROOM, &[0; ROOM_LEN])
        .attr(attr::PAYLOAD, &payload)
        .attr(attr::TICKET, &9u32.to_ne_bytes());
    for _ in 0..64 {
        padded.attr(attr::EXPECT_UID, &euid);
    }
    let padded = padded.finish().to_vec();
    ensure!(
        padded.len() > MAX_DELIVERY_LEN,
        "the request passes the limit"
    );
    tx.socket
        .send(&padded)
        .ctx("post beyond max-delivery-len")?;
    let len = expect_built(&rx, "e2e_f_mtx", tx.socket.port(), &payload)?;
    ensure!(len <= MAX_DELIVERY_LEN, "built delivery of {len} bytes");
    tx.expect_nothing("the sender after both posts")?;
    Ok(())
}
