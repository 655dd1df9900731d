//! Every request of `kmod/ipcon.yaml`, refused on raw sockets the way the spec says: an
//! attribute its policy does not list, a malformed value, a missing required attribute
//! (reported with the kernel's missing-attribute extended ACK where the kernel has it,
//! and named in the text on every kernel), and the semantic errors of each operation;
//! each with its errno, its extended-ACK text and the offending attribute's offset.

use ipcon_core::spec::Attr;
use ipcon_linux::Handler;

use crate::harness::{note, Context, Test, TestResult};
use crate::limits::raw_request;
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{
    attr, cmd, Attrs, MsgBuilder, RawSocket, NLM_F_ACK, NLM_F_REQUEST,
};

pub const TESTS: &[Test] = &[
    Test::new(
        "requests_missing_attributes_are_reported",
        missing_attributes,
    ),
    Test::new("requests_policy_errors_name_the_attribute", policy_errors),
    Test::new("requests_semantic_errors_carry_extack", semantic_errors),
];

/// Whether the running kernel is at least `major.minor`.
pub fn kernel_at_least(major: u32, minor: u32) -> Result<bool, String> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ctx("read /proc/sys/kernel/osrelease")?;
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (have_major, have_minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    Ok((have_major, have_minor) >= (major, minor))
}

/// The offset (from the start of the message) of the last attribute of type `ty` in a
/// message built by [`MsgBuilder`]: where the kernel points its extended ACK.
fn offset_of(msg: &[u8], ty: u16) -> Option<u32> {
    const ATTRS_AT: usize = 20;
    let mut at = ATTRS_AT;
    let mut found = None;
    for (t, value) in Attrs(&msg[ATTRS_AT..]).iter() {
        if t == ty {
            found = Some(at as u32);
        }
        at += (4 + value.len() + 3) & !3;
    }
    found
}

/// One request and what the kernel must answer.
struct Case {
    what: &'static str,
    command: u8,
    attrs: Vec<(u16, Vec<u8>)>,
    /// Sent without `NLM_F_ACK` (a posted request): errors must come all the same.
    posted: bool,
    errno: i32,
    /// Text the extended ACK must contain.
    text: &'static str,
    /// The attribute the extended ACK must point at.
    offending: Option<u16>,
    /// The attribute the kernel must report missing (Linux 6.0+).
    missing: Option<Attr>,
}

fn name(text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    bytes
}

fn u32_value(value: u32) -> Vec<u8> {
    value.to_ne_bytes().to_vec()
}

impl Case {
    fn new(what: &'static str, command: u8, attrs: Vec<(u16, Vec<u8>)>) -> Self {
        Case {
            what,
            command,
            attrs,
            posted: false,
            errno: libc::EINVAL,
            text: "",
            offending: None,
            missing: None,
        }
    }

    fn missing(mut self, attr: Attr, text: &'static str) -> Self {
        self.missing = Some(attr);
        self.text = text;
        self
    }

    fn refused(mut self, errno: i32, text: &'static str, offending: Option<u16>) -> Self {
        self.errno = errno;
        self.text = text;
        self.offending = offending;
        self
    }

    fn posted(mut self) -> Self {
        self.posted = true;
        self
    }

    /// Sends the request on `socket` and checks the answer.
    fn check(&self, socket: &RawSocket, family: u16, seq: u32, misses: bool) -> TestResult {
        let flags = if self.posted {
            NLM_F_REQUEST
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let mut builder = MsgBuilder::new();
        builder.begin(family, flags, seq, self.command, 1);
        for (ty, value) in &self.attrs {
            builder.attr(*ty, value);
        }
        let msg = builder.finish();
        let ack = socket.request(msg, seq, |_, _| {})?;
        let what = self.what;
        ensure_eq!(ack.errno, self.errno, "{what}: errno ({:?})", ack.message);
        ensure!(
            ack.message
                .as_deref()
                .is_some_and(|m| m.contains(self.text)),
            "{what}: extended ACK {:?} lacks {:?}",
            ack.message,
            self.text
        );
        let offset = self.offending.and_then(|ty| offset_of(msg, ty));
        ensure_eq!(ack.offset, offset, "{what}: offending attribute offset");
        let missing = self
            .missing
            .filter(|_| misses)
            .map(|a| u32::from(a.to_raw()));
        ensure_eq!(ack.missing, missing, "{what}: missing-attribute report");
        Ok(())
    }
}

fn missing_attributes() -> TestResult {
    // Required attributes are checked before anything else: an unregistered
    // socket gets the report too, and so does a posted request.
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let misses = kernel_at_least(6, 0)?;
    note(&format!(
        "missing-attribute reports (NLMSGERR_ATTR_MISS_TYPE) expected: {misses}"
    ));
    let g = (attr::GROUP_NAME, name("g"));
    let p = (attr::PEER_NAME, name("e2e_r_nobody"));
    let payload = (attr::PAYLOAD, b"x".to_vec());
    let cases = [
        Case::new("peer-attach", cmd::PEER_ATTACH, vec![])
            .missing(Attr::Cookie, "missing attribute cookie"),
        Case::new("peer-get", cmd::PEER_GET, vec![])
            .missing(Attr::PeerName, "missing attribute peer-name or port"),
        Case::new(
            "unicast without a target",
            cmd::UNICAST,
            vec![payload.clone()],
        )
        .missing(Attr::PeerName, "missing attribute peer-name or port"),
        Case::new("unicast without payload", cmd::UNICAST, vec![p.clone()])
            .missing(Attr::Payload, "missing attribute payload or pack"),
        Case::new(
            "posted unicast without payload",
            cmd::UNICAST,
            vec![p.clone(), (attr::TICKET, u32_value(5))],
        )
        .posted()
        .missing(Attr::Payload, "missing attribute payload or pack"),
        Case::new("group-register", cmd::GROUP_REGISTER, vec![])
            .missing(Attr::GroupName, "missing attribute group-name"),
        Case::new(
            "group-register access gid",
            cmd::GROUP_REGISTER,
            vec![g.clone(), (attr::ACCESS, u32_value(3))],
        )
        .missing(Attr::Gid, "access gid needs a gid"),
        Case::new("group-unregister", cmd::GROUP_UNREGISTER, vec![])
            .missing(Attr::GroupName, "missing attribute group-name"),
        Case::new("group-join without owner", cmd::GROUP_JOIN, vec![g.clone()])
            .missing(Attr::PeerName, "missing attribute peer-name"),
        Case::new("group-join without group", cmd::GROUP_JOIN, vec![p.clone()])
            .missing(Attr::GroupName, "missing attribute group-name"),
        Case::new(
            "group-leave without owner",
            cmd::GROUP_LEAVE,
            vec![g.clone()],
        )
        .missing(Attr::PeerName, "missing attribute peer-name"),
        Case::new(
            "group-leave without group",
            cmd::GROUP_LEAVE,
            vec![p.clone()],
        )
        .missing(Attr::GroupName, "missing attribute group-name"),
        Case::new("group-get without owner", cmd::GROUP_GET, vec![g.clone()])
            .missing(Attr::PeerName, "missing attribute peer-name"),
        Case::new("group-get without group", cmd::GROUP_GET, vec![p.clone()])
            .missing(Attr::GroupName, "missing attribute group-name"),
        Case::new(
            "multicast without group",
            cmd::MULTICAST,
            vec![payload.clone()],
        )
        .missing(Attr::GroupName, "missing attribute group-name"),
        Case::new("multicast without payload", cmd::MULTICAST, vec![g.clone()])
            .missing(Attr::Payload, "missing attribute payload or pack"),
        Case::new(
            "posted multicast without payload",
            cmd::MULTICAST,
            vec![g, (attr::TICKET, u32_value(6))],
        )
        .posted()
        .missing(Attr::Payload, "missing attribute payload or pack"),
    ];
    for (seq, case) in (1..).zip(&cases) {
        case.check(&raw, family, seq, misses)?;
    }
    note(&format!(
        "{} requests without a required attribute",
        cases.len()
    ));
    Ok(())
}

fn policy_errors() -> TestResult {
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let unlisted = (Attr::Subscribers.to_raw(), u32_value(1));
    let mut cases = Vec::new();
    // An attribute outside every request's policy, for each request (and dump).
    for (what, command) in [
        ("peer-register", cmd::PEER_REGISTER),
        ("peer-attach", cmd::PEER_ATTACH),
        ("peer-unregister", cmd::PEER_UNREGISTER),
        ("peer-get", cmd::PEER_GET),
        ("unicast", cmd::UNICAST),
        ("group-register", cmd::GROUP_REGISTER),
        ("group-unregister", cmd::GROUP_UNREGISTER),
        ("group-join", cmd::GROUP_JOIN),
        ("group-leave", cmd::GROUP_LEAVE),
        ("group-get", cmd::GROUP_GET),
        ("multicast", cmd::MULTICAST),
    ] {
        cases.push(Case::new(what, command, vec![unlisted.clone()]).refused(
            libc::EINVAL,
            "Unsupported attribute",
            Some(unlisted.0),
        ));
    }
    // An attribute another request takes is still refused: policies are per request.
    cases.push(
        Case::new(
            "peer-register with cookie",
            cmd::PEER_REGISTER,
            vec![(attr::COOKIE, 7u64.to_ne_bytes().to_vec())],
        )
        .refused(libc::EINVAL, "Unsupported attribute", Some(attr::COOKIE)),
    );
    cases.push(
        Case::new(
            "group-join with payload",
            cmd::GROUP_JOIN,
            vec![(attr::PAYLOAD, b"x".to_vec())],
        )
        .refused(libc::EINVAL, "Unsupported attribute", Some(attr::PAYLOAD)),
    );
    // Malformed values.
    let too_long = name(&"n".repeat(32));
    cases.push(
        Case::new(
            "32-byte peer-name",
            cmd::PEER_REGISTER,
            vec![(attr::PEER_NAME, too_long.clone())],
        )
        .refused(
            libc::EINVAL,
            "Attribute failed policy validation",
            Some(attr::PEER_NAME),
        ),
    );
    cases.push(
        Case::new(
            "32-byte group-name",
            cmd::GROUP_UNREGISTER,
            vec![(attr::GROUP_NAME, too_long)],
        )
        .refused(
            libc::EINVAL,
            "Attribute failed policy validation",
            Some(attr::GROUP_NAME),
        ),
    );
    for (what, command, ty) in [
        ("empty peer-name", cmd::PEER_REGISTER, attr::PEER_NAME),
        ("empty group-name", cmd::GROUP_REGISTER, attr::GROUP_NAME),
        ("empty peer-name lookup", cmd::PEER_GET, attr::PEER_NAME),
    ] {
        cases.push(Case::new(what, command, vec![(ty, vec![0])]).refused(
            libc::EINVAL,
            "string shorter than its minimum length 1",
            Some(ty),
        ));
    }
    cases.push(
        Case::new(
            "peer-name without NUL",
            cmd::PEER_GET,
            vec![(attr::PEER_NAME, b"abc".to_vec())],
        )
        .refused(
            libc::EINVAL,
            "Attribute failed policy validation",
            Some(attr::PEER_NAME),
        ),
    );
    for access in [0u32, 4] {
        cases.push(
            Case::new(
                "access outside group-access",
                cmd::GROUP_REGISTER,
                vec![
                    (attr::GROUP_NAME, name("g")),
                    (attr::ACCESS, u32_value(access)),
                ],
            )
            .refused(libc::ERANGE, "integer out of range", Some(attr::ACCESS)),
        );
    }
    cases.push(
        Case::new(
            "a 2-byte port",
            cmd::PEER_GET,
            vec![(attr::PORT, vec![1, 0])],
        )
        .refused(libc::EINVAL, "invalid attribute length", Some(attr::PORT)),
    );
    for (seq, case) in (1..).zip(&cases) {
        case.check(&raw, family, seq, false)?;
    }
    note(&format!("{} requests refused by their policy", cases.len()));
    Ok(())
}

fn semantic_errors() -> TestResult {
    let target = Handler::new("e2e_r_target").ctx("register target")?;
    target.register_group("tg").ctx("target group")?;
    let raw = RawSocket::open().ctx("raw socket")?;
    let family = raw.ipcon_family()?;
    let stranger = RawSocket::open().ctx("unregistered socket")?;
    let ack = raw_request(&raw, family, 1, cmd::PEER_REGISTER, |b| {
        b.attr_str(attr::PEER_NAME, "e2e_r_raw")
    })?;
    ensure_eq!(ack.errno, 0, "raw register ({:?})", ack.message);
    let ack = raw_request(&raw, family, 2, cmd::GROUP_REGISTER, |b| {
        b.attr_str(attr::GROUP_NAME, "rg")
    })?;
    ensure_eq!(ack.errno, 0, "raw group ({:?})", ack.message);
    let p = |n: &str| (attr::PEER_NAME, name(n));
    let g = |n: &str| (attr::GROUP_NAME, name(n));
    let payload = (attr::PAYLOAD, b"x".to_vec());
    let cases = [
        Case::new("peer-register bad name", cmd::PEER_REGISTER, vec![p("a/b")]).refused(
            libc::EINVAL,
            "peer name must be 1..31 bytes",
            Some(attr::PEER_NAME),
        ),
        Case::new(
            "peer-register twice",
            cmd::PEER_REGISTER,
            vec![p("e2e_r_other")],
        )
        .refused(libc::EALREADY, "socket is already used by a peer", None),
        Case::new(
            "peer-attach from a peer's socket",
            cmd::PEER_ATTACH,
            vec![(attr::COOKIE, 1u64.to_ne_bytes().to_vec())],
        )
        .refused(libc::EALREADY, "socket is already used by a peer", None),
        Case::new(
            "peer-get name and port",
            cmd::PEER_GET,
            vec![p("e2e_r_target"), (attr::PORT, u32_value(target.port()))],
        )
        .refused(
            libc::EINVAL,
            "give exactly one of peer-name or port",
            Some(attr::PORT),
        ),
        Case::new("peer-get unknown", cmd::PEER_GET, vec![p("e2e_r_nobody")]).refused(
            libc::ENOENT,
            "no such peer",
            Some(attr::PEER_NAME),
        ),
        Case::new(
            "unicast unknown",
            cmd::UNICAST,
            vec![p("e2e_r_nobody"), payload.clone()],
        )
        .refused(libc::ENOENT, "no such peer", Some(attr::PEER_NAME)),
        Case::new(
            "unicast to a control port",
            cmd::UNICAST,
            vec![(attr::PORT, u32_value(0)), payload.clone()],
        )
        .refused(libc::ENOENT, "no such peer", Some(attr::PORT)),
        Case::new("group-register taken", cmd::GROUP_REGISTER, vec![g("rg")]).refused(
            libc::EEXIST,
            "group exists",
            Some(attr::GROUP_NAME),
        ),
        Case::new(
            "group-register bad name",
            cmd::GROUP_REGISTER,
            vec![g("a/b")],
        )
        .refused(
            libc::EINVAL,
            "name must be 1..31 bytes",
            Some(attr::GROUP_NAME),
        ),
        Case::new(
            "group-register gid without access gid",
            cmd::GROUP_REGISTER,
            vec![g("rg2"), (attr::GID, u32_value(5))],
        )
        .refused(
            libc::EINVAL,
            "gid is only valid with access gid",
            Some(attr::GID),
        ),
        Case::new(
            "group-unregister unknown",
            cmd::GROUP_UNREGISTER,
            vec![g("nope")],
        )
        .refused(
            libc::ENOENT,
            "no such group of this peer",
            Some(attr::GROUP_NAME),
        ),
        Case::new(
            "group-join unknown owner",
            cmd::GROUP_JOIN,
            vec![p("e2e_r_nobody"), g("tg")],
        )
        .refused(libc::ENOENT, "no such peer", Some(attr::PEER_NAME)),
        Case::new(
            "group-join unknown group",
            cmd::GROUP_JOIN,
            vec![p("e2e_r_target"), g("nope")],
        )
        .refused(libc::ENOENT, "no such group", Some(attr::GROUP_NAME)),
        Case::new(
            "group-leave not a member",
            cmd::GROUP_LEAVE,
            vec![p("e2e_r_target"), g("tg")],
        )
        .refused(libc::ENOENT, "not a member of this group", None),
        Case::new(
            "group-get unknown group",
            cmd::GROUP_GET,
            vec![p("e2e_r_target"), g("nope")],
        )
        .refused(libc::ENOENT, "no such group", Some(attr::GROUP_NAME)),
        Case::new(
            "multicast unknown group",
            cmd::MULTICAST,
            vec![g("nope"), payload.clone()],
        )
        .refused(
            libc::ENOENT,
            "no such group of this peer",
            Some(attr::GROUP_NAME),
        ),
        Case::new(
            "multicast sync with ticket",
            cmd::MULTICAST,
            vec![
                g("rg"),
                payload.clone(),
                (attr::SYNC, Vec::new()),
                (attr::TICKET, u32_value(1)),
            ],
        )
        .refused(
            libc::EINVAL,
            "sync cannot be combined with ticket",
            Some(attr::SYNC),
        ),
    ];
    for (seq, case) in (10..).zip(&cases) {
        case.check(&raw, family, seq, false)?;
    }
    // What only an unregistered socket meets.
    let unregistered = [
        Case::new("peer-unregister", cmd::PEER_UNREGISTER, vec![]).refused(
            libc::ENOTCONN,
            "socket is not a registered peer",
            None,
        ),
        Case::new(
            "unicast",
            cmd::UNICAST,
            vec![p("e2e_r_target"), payload.clone()],
        )
        .refused(libc::ENOTCONN, "socket is not a registered peer", None),
        Case::new(
            "peer-attach unknown cookie",
            cmd::PEER_ATTACH,
            vec![(attr::COOKIE, 1u64.to_ne_bytes().to_vec())],
        )
        .refused(libc::ENOENT, "no peer with this cookie", Some(attr::COOKIE)),
    ];
    for (seq, case) in (50..).zip(&unregistered) {
        case.check(&stranger, family, seq, false)?;
    }
    // A name taken by another peer (on a socket of its own: the checks above need
    // `stranger` unregistered).
    let fresh = RawSocket::open().ctx("fresh socket")?;
    Case::new(
        "peer-register taken name",
        cmd::PEER_REGISTER,
        vec![p("e2e_r_target")],
    )
    .refused(libc::EEXIST, "peer name is taken", Some(attr::PEER_NAME))
    .check(&fresh, family, 60, false)?;
    note(&format!(
        "{} refused requests, each with its extended ACK",
        cases.len() + unregistered.len() + 1
    ));
    Ok(())
}
