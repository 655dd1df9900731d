//! The two-socket protocol on raw sockets: what an unregistered socket may
//! do, register and cookie attach rules, requests on the control socket
//! acting for the peer, deliveries to the data socket, and a closed control
//! socket removing the peer.

use ipcon_linux::KeventKind;
use ipcon_linux::{Directory, Handler, KeventMonitor, Message, MessageKind, RemoveReason};

use crate::common::{expect_silence, next_kevent, receive_kind};
use crate::harness::{Context, Test, TestResult};
use crate::limits::raw_request;
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{self, attr, cmd, packets, RawSocket, GENL_HDRLEN};

/// Attributes of a request: (type, value).
type Attrs = &'static [(u16, &'static [u8])];

pub const TESTS: &[Test] = &[
    Test::new("protocol_unregistered_socket_enotconn", unregistered_socket),
    Test::new("protocol_register_and_cookie_attach", register_and_attach),
];

fn unregistered_socket() -> TestResult {
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let _peer = Handler::new("e2e_p_exists").ctx("register a peer to aim at")?;
    let cases: [(&str, u8, Attrs); 5] = [
        (
            "unicast",
            cmd::UNICAST,
            &[(attr::PEER_NAME, b"e2e_p_exists\0"), (attr::PAYLOAD, b"x")],
        ),
        (
            "group register",
            cmd::GROUP_REGISTER,
            &[(attr::GROUP_NAME, b"g\0")],
        ),
        (
            "group join",
            cmd::GROUP_JOIN,
            &[
                (attr::PEER_NAME, b"e2e_p_exists\0"),
                (attr::GROUP_NAME, b"g\0"),
            ],
        ),
        (
            "multicast",
            cmd::MULTICAST,
            &[(attr::GROUP_NAME, b"g\0"), (attr::PAYLOAD, b"x")],
        ),
        ("peer unregister", cmd::PEER_UNREGISTER, &[]),
    ];
    for (seq, (what, command, attrs)) in cases.iter().enumerate() {
        let ack = raw_request(&raw, family, seq as u32 + 1, *command, |b| {
            for (ty, value) in attrs.iter() {
                b.attr(*ty, value);
            }
            b
        })?;
        ensure_eq!(
            ack.errno,
            libc::ENOTCONN,
            "{what} from an unregistered socket ({:?})",
            ack.message
        );
    }
    // Look-ups need no registration.
    let mut found = false;
    let ack = {
        let msg = ipcon_test_support::rawnl::MsgBuilder::new()
            .begin(
                family,
                ipcon_test_support::rawnl::NLM_F_REQUEST | ipcon_test_support::rawnl::NLM_F_ACK,
                20,
                cmd::PEER_GET,
                1,
            )
            .attr_str(attr::PEER_NAME, "e2e_p_exists")
            .finish()
            .to_vec();
        raw.request(&msg, 20, |kind, _| found |= kind == family)?
    };
    ensure_eq!(ack.errno, 0, "peer-get from an unregistered socket");
    ensure!(found, "peer-get sent no reply");
    Ok(())
}

/// Register reply: (port, cookie).
fn register(raw: &RawSocket, family: u16, name: &str, seq: u32) -> Result<(u32, u64), String> {
    let msg = ipcon_test_support::rawnl::MsgBuilder::new()
        .begin(
            family,
            ipcon_test_support::rawnl::NLM_F_REQUEST | ipcon_test_support::rawnl::NLM_F_ACK,
            seq,
            cmd::PEER_REGISTER,
            1,
        )
        .attr_str(attr::PEER_NAME, name)
        .finish()
        .to_vec();
    let (mut port, mut cookie, mut echoed) = (None, None, None);
    let ack = raw.request(&msg, seq, |kind, payload| {
        if kind != family || payload.len() < GENL_HDRLEN {
            return;
        }
        for (ty, value) in rawnl::Attrs(&payload[GENL_HDRLEN..]).iter() {
            match ty {
                attr::PORT if value.len() == 4 => {
                    port = Some(u32::from_ne_bytes(value.try_into().unwrap_or_default()))
                }
                attr::COOKIE if value.len() == 8 => {
                    cookie = Some(u64::from_ne_bytes(value.try_into().unwrap_or_default()))
                }
                attr::PEER_NAME => echoed = Some(String::from_utf8_lossy(value).into_owned()),
                _ => {}
            }
        }
    })?;
    ensure_eq!(ack.errno, 0, "register {name} ({:?})", ack.message);
    ensure_eq!(
        echoed,
        Some(format!("{name}\0")),
        "name in the register reply"
    );
    Ok((
        port.ctx("port in the register reply")?,
        cookie.ctx("cookie in the register reply")?,
    ))
}

fn attach(raw: &RawSocket, family: u16, seq: u32, cookie: Option<u64>) -> Result<i32, String> {
    let ack = raw_request(raw, family, seq, cmd::PEER_ATTACH, |b| match cookie {
        Some(c) => b.attr(attr::COOKIE, &c.to_ne_bytes()),
        None => b,
    })?;
    Ok(ack.errno)
}

fn register_and_attach() -> TestResult {
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let data = RawSocket::open().ctx("data socket")?;
    let control = RawSocket::open().ctx("control socket")?;
    let other = RawSocket::open().ctx("third socket")?;
    let family = data.ipcon_family()?;

    let (port, cookie) = register(&data, family, "e2e_p_peer", 1)?;
    ensure_eq!(port, data.port(), "the peer's port is its data socket's");
    ensure!(cookie != 0, "cookie is 0");
    let ack = raw_request(&data, family, 2, cmd::PEER_REGISTER, |b| b)?;
    ensure_eq!(ack.errno, libc::EALREADY, "register twice on one socket");
    // The genetlink header's version is not checked (the kernel's YNL tools
    // send 1): compatibility is settled when user space resolves the family.
    let ynl_like = RawSocket::open().ctx("fourth socket")?;
    let mut msg = rawnl::MsgBuilder::new();
    for version in [1, ipcon_core::spec::VERSION] {
        msg.begin(
            family,
            rawnl::NLM_F_REQUEST | rawnl::NLM_F_ACK,
            3,
            cmd::PEER_REGISTER,
            version,
        );
        let ack = ynl_like.request(msg.finish(), 3, |_, _| {})?;
        ensure_eq!(ack.errno, 0, "register with header version {version}");
        let ack = raw_request(&ynl_like, family, 4, cmd::PEER_UNREGISTER, |b| b)?;
        ensure_eq!(ack.errno, 0, "unregister after version {version}");
    }
    ensure_eq!(
        attach(&control, family, 4, Some(cookie ^ 1))?,
        libc::ENOENT,
        "attach with a wrong cookie"
    );
    ensure_eq!(
        attach(&control, family, 5, None)?,
        libc::EINVAL,
        "attach without a cookie"
    );
    ensure_eq!(
        attach(&control, family, 6, Some(cookie))?,
        0,
        "attach with the cookie"
    );
    ensure_eq!(
        attach(&other, family, 7, Some(cookie))?,
        libc::EALREADY,
        "a second control socket"
    );
    ensure_eq!(
        attach(&data, family, 8, Some(cookie))?,
        libc::EALREADY,
        "attach the data socket"
    );

    // Requests on the control socket act for the peer.
    let receiver = Handler::new("e2e_p_recv").ctx("register receiver")?;
    let ack = raw_request(&control, family, 9, cmd::UNICAST, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_p_recv")
            .attr(attr::PAYLOAD, b"via control")
    })?;
    ensure_eq!(
        ack.errno,
        0,
        "unicast on the control socket ({:?})",
        ack.message
    );
    let mut msg = Message::new();
    ensure_eq!(
        receive_kind(&receiver, &mut msg, MessageKind::Unicast)?,
        "via control",
        "payload"
    );
    ensure_eq!(msg.sender().port, port, "stamped with the data port");
    ensure_eq!(
        msg.sender().name.map(|n| n.to_string()),
        Some("e2e_p_peer".into()),
        "stamped name"
    );
    let ack = raw_request(&control, family, 10, cmd::GROUP_REGISTER, |b| {
        b.attr_str(attr::GROUP_NAME, "pg")
    })?;
    ensure_eq!(ack.errno, 0, "group register on the control socket");
    let dir = Directory::open().ctx("directory")?;
    let group = dir
        .group("e2e_p_peer", "pg")
        .ctx("look up")?
        .ctx("group pg")?;
    ensure_eq!(group.owner_port, port, "group owner port");

    // Deliveries go to the data socket, from the kernel.
    receiver
        .send_unicast("e2e_p_peer", b"to data")
        .ctx("unicast to the raw peer")?;
    let mut buf = vec![0u8; 8192];
    let len = data
        .recv(&mut buf, Some(crate::common::SOON))
        .ctx("data socket receive")?
        .ctx("a delivery on the data socket")?;
    let delivered: Vec<_> = packets(&buf[..len]).collect();
    ensure_eq!(delivered.len(), 1, "messages in the delivery datagram");
    let (kind, payload) = (delivered[0].kind, delivered[0].body);
    ensure_eq!(kind, family, "delivery type");
    ensure_eq!(
        payload.first().copied(),
        Some(cmd::UNICAST_MSG),
        "delivery command"
    );
    let attrs: Vec<(u16, &[u8])> = rawnl::Attrs(&payload[GENL_HDRLEN..]).iter().collect();
    ensure!(
        attrs
            .iter()
            .any(|(ty, v)| *ty == attr::PAYLOAD && *v == b"to data"),
        "delivery without the payload: {attrs:?}"
    );
    ensure!(
        control
            .recv(&mut buf, None)
            .ctx("control receive")?
            .is_none(),
        "the control socket got a delivery"
    );

    // Closing the control socket removes the peer, reason closed.
    drop(control);
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let event = next_kevent(&monitor)?;
        if event.peer().map(|p| p.port).unwrap_or_default() == port {
            seen.push(event);
        }
    }
    let shape: Vec<String> = seen.iter().map(ToString::to_string).collect();
    ensure!(
        matches!(seen[0].kind, KeventKind::PeerAdd(..)),
        "events: {shape:?}"
    );
    ensure!(
        matches!(seen[1].kind, KeventKind::GroupAdd { .. }),
        "events: {shape:?}"
    );
    ensure!(
        matches!(
            seen[2].kind,
            KeventKind::GroupRemove {
                reason: RemoveReason::Closed,
                ..
            }
        ),
        "events: {shape:?}"
    );
    ensure!(
        matches!(
            seen[3].kind,
            KeventKind::PeerRemove {
                reason: RemoveReason::Closed,
                ..
            }
        ),
        "events: {shape:?}"
    );
    ensure!(
        !dir.is_peer_present("e2e_p_peer").ctx("look up")?,
        "peer present after its control socket closed"
    );
    let ack = raw_request(&data, family, 11, cmd::UNICAST, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_p_recv")
            .attr(attr::PAYLOAD, b"orphan")
    })?;
    ensure_eq!(ack.errno, libc::ENOTCONN, "the orphaned data socket sends");
    expect_silence(&receiver, "nothing from the orphaned data socket")?;
    // The data socket may register again, as a new peer.
    let (again, new_cookie) = register(&data, family, "e2e_p_peer", 12)?;
    ensure_eq!(again, port, "same socket, same port");
    ensure!(new_cookie != cookie, "a new registration reuses the cookie");
    Ok(())
}
