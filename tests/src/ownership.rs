//! Ownership and flooding (issue 17, phase 2), over raw generic netlink so
//! that each request is exactly what the protocol says: the administrator's
//! policy reserving peer names (the squatting scenarios), who may send to a
//! peer, `expect-uid` on unicast and join, the overrun report naming the
//! sender that filled a queue, and the flood measurement.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcon_core::spec::{Attr, Command, GroupAccess};

use crate::common::helper_outcome;
use crate::harness::{note, Context, Helper, Test, TestResult};
use crate::rawnl::{split_attrs, split_messages, Ack, MsgBuilder, RawSocket, GENL_HDRLEN};
use crate::rawnl::{NLM_F_ACK, NLM_F_REQUEST};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("security_policy_reserves_names", policy_reserves_names).timeout(120),
    Test::new("security_policy_load_is_checked", policy_load_is_checked),
    Test::new("security_peer_send_access", peer_send_access).timeout(120),
    Test::new("security_expect_uid", expect_uid).timeout(120),
    Test::new(
        "security_overrun_names_the_flooder",
        overrun_names_the_flooder,
    )
    .timeout(120),
    Test::new("security_flood_refused_sender_below_1pct", flood_refused).timeout(300),
    Test::new("security_library_expect_uid", library_expect_uid).timeout(120),
    Test::new("security_library_overrun_report", library_overrun_report).timeout(120),
    Test::new("security_library_send_access", library_send_access).timeout(120),
    Test::new("cli_policy_load_and_expect_uid", cli_policy).timeout(120),
];

const USER: u32 = 1000;
const OTHER_USER: u32 = 1001;
const TEAM_GID: u32 = 4242;

/// A raw ipcon socket: requests with ACKs, one sequence number each.
struct Raw {
    sock: RawSocket,
    family: u16,
    seq: std::cell::Cell<u32>,
}

/// Attributes of a request being built.
type Attrs<'a> = &'a [(Attr, Value<'a>)];

#[derive(Clone, Copy)]
enum Value<'a> {
    Str(&'a str),
    U32(u32),
    Bytes(&'a [u8]),
    Flag,
}

impl Raw {
    fn open() -> Result<Self, String> {
        let sock = RawSocket::open().ctx("open socket")?;
        let family = sock.ipcon_family()?;
        Ok(Self {
            sock,
            family,
            seq: std::cell::Cell::new(100),
        })
    }

    fn message(&self, cmd: Command, flags: u16, attrs: Attrs) -> (Vec<u8>, u32) {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        let version = ipcon_core::spec::VERSION;
        let mut msg = MsgBuilder::new(self.family, flags, seq, cmd.to_raw(), version);
        for (attr, value) in attrs {
            msg = match value {
                Value::Str(s) => msg.attr_str(attr.to_raw(), s),
                Value::U32(v) => msg.attr(attr.to_raw(), &v.to_ne_bytes()),
                Value::Bytes(b) => msg.attr(attr.to_raw(), b),
                Value::Flag => msg.attr(attr.to_raw(), &[]),
            };
        }
        (msg.finish(), seq)
    }

    /// Sends a request and returns its ACK.
    fn request(&self, cmd: Command, attrs: Attrs) -> Result<Ack, String> {
        let (msg, seq) = self.message(cmd, NLM_F_REQUEST | NLM_F_ACK, attrs);
        self.sock.request(&msg, seq, |_, _| {})
    }

    /// Sends a request and returns its ACK with the deliveries queued before
    /// it (a join's replay).
    fn request_collect(&self, cmd: Command, attrs: Attrs) -> Result<(Ack, Vec<Delivery>), String> {
        let (msg, seq) = self.message(cmd, NLM_F_REQUEST | NLM_F_ACK, attrs);
        self.sock.send(&msg).ctx("send")?;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let len = self
                .sock
                .recv(&mut buf, Some(Duration::from_secs(5)))
                .ctx("recv")?
                .ok_or("no answer within 5s")?;
            for (kind, flags, msg_seq, payload) in split_messages(&buf[..len]) {
                if kind == crate::rawnl::NLMSG_ERROR && msg_seq == seq {
                    let ack = crate::rawnl::parse_ack(flags, payload).ok_or("short ACK")?;
                    return Ok((ack, got));
                }
                if let Some(delivery) = self.delivery(kind, payload) {
                    got.push(delivery);
                }
            }
        }
    }

    /// A unicast or group message's attributes.
    fn delivery(&self, kind: u16, payload: &[u8]) -> Option<Delivery> {
        let cmd = *payload.first()?;
        let is_msg = cmd == Command::UnicastMsg.to_raw() || cmd == Command::GroupMsg.to_raw();
        if kind != self.family || !is_msg || payload.len() < GENL_HDRLEN {
            return None;
        }
        Some(
            split_attrs(&payload[GENL_HDRLEN..])
                .into_iter()
                .map(|(ty, v)| (ty, v.to_vec()))
                .collect(),
        )
    }

    /// Sends a request without waiting (errors come back as messages).
    fn post(&self, cmd: Command, attrs: Attrs) -> Result<(), String> {
        let (msg, _) = self.message(cmd, NLM_F_REQUEST, attrs);
        self.sock.send(&msg).ctx("send")
    }

    /// Registers this socket as a peer, named or anonymous, with an access
    /// rule for who may send to it.
    fn register(&self, name: Option<&str>, access: &[(Attr, Value)]) -> Result<Ack, String> {
        let mut attrs = Vec::new();
        if let Some(name) = name {
            attrs.push((Attr::PeerName, Value::Str(name)));
        }
        attrs.extend_from_slice(access);
        self.request(Command::PeerRegister, &attrs)
    }

    /// The deliveries (unicast or group messages) queued now or within
    /// `limit`, as attribute lists.
    fn deliveries(&self, limit: Duration) -> Result<Vec<Delivery>, String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut wait = Some(limit);
        while let Some(len) = self.sock.recv(&mut buf, wait).ctx("recv")? {
            wait = Some(Duration::from_millis(50));
            for (kind, _, _, payload) in split_messages(&buf[..len]) {
                out.extend(self.delivery(kind, payload));
            }
        }
        Ok(out)
    }
}

/// A delivery's attributes, (type, value).
type Delivery = Vec<(u16, Vec<u8>)>;

fn attr_u32(attrs: &[(u16, Vec<u8>)], attr: Attr) -> Option<u32> {
    attrs
        .iter()
        .find(|(ty, _)| *ty == attr.to_raw())
        .and_then(|(_, v)| v.as_slice().try_into().ok().map(u32::from_ne_bytes))
}

fn attr_bytes(attrs: &[(u16, Vec<u8>)], attr: Attr) -> Option<&[u8]> {
    attrs
        .iter()
        .find(|(ty, _)| *ty == attr.to_raw())
        .map(|(_, v)| v.as_slice())
}

/// An ACK that must be the refusal `errno` with a text containing `text`.
fn refused(ack: &Ack, errno: i32, text: &str, what: &str) -> TestResult {
    ensure!(
        ack.errno == errno && ack.message.as_deref().is_some_and(|m| m.contains(text)),
        "{what}: expected errno {errno} with {text:?}, got {ack:?}"
    );
    Ok(())
}

fn accepted(ack: &Ack, what: &str) -> TestResult {
    ensure!(ack.errno == 0, "{what}: refused: {ack:?}");
    Ok(())
}

/// One rule of a policy: pattern, uid, gid.
type Rule<'a> = (&'a str, Option<u32>, Option<u32>);

/// Loads `rules` as the namespace's policy from `raw` (an administrator).
fn load_policy(raw: &Raw, rules: &[Rule]) -> Result<Vec<Ack>, String> {
    let count = rules.len() as u32;
    if rules.is_empty() {
        return Ok(vec![raw.request(
            Command::PolicyLoad,
            &[(Attr::RuleCount, Value::U32(0))],
        )?]);
    }
    let mut acks = Vec::new();
    for (index, (pattern, uid, gid)) in rules.iter().enumerate() {
        let mut attrs = vec![
            (Attr::RuleCount, Value::U32(count)),
            (Attr::RuleIndex, Value::U32(index as u32)),
            (Attr::NamePattern, Value::Str(pattern)),
        ];
        if let Some(uid) = uid {
            attrs.push((Attr::Uid, Value::U32(*uid)));
        }
        if let Some(gid) = gid {
            attrs.push((Attr::Gid, Value::U32(*gid)));
        }
        acks.push(raw.request(Command::PolicyLoad, &attrs)?);
    }
    Ok(acks)
}

/// Removes the namespace's policy when dropped, so that a failing test
/// leaves the others a namespace without reservations.
struct PolicyGuard(Raw);

impl Drop for PolicyGuard {
    fn drop(&mut self) {
        let _ = load_policy(&self.0, &[]);
    }
}

fn install(rules: &[Rule]) -> Result<PolicyGuard, String> {
    let admin = Raw::open()?;
    for (i, ack) in load_policy(&admin, rules)?.iter().enumerate() {
        accepted(ack, &format!("policy rule {i}"))?;
    }
    Ok(PolicyGuard(admin))
}

const SVC: &str = "e2e_pol_svc";

/// The policy of the squatting tests: `svc` for root, a team's names for
/// its gid, an exception, and everything else of the prefix for root.
const POLICY: &[Rule] = &[
    (SVC, Some(0), None),
    ("e2e_pol_team.*", None, Some(TEAM_GID)),
    ("e2e_pol_free?", None, None),
    ("e2e_pol_*", Some(0), None),
];

/// `__child security squat UID GID`: what a user may register under POLICY
/// (run while root's `svc` is not registered).
pub fn squatter(uid: u32, gid: u32) -> TestResult {
    crate::roles::drop_privileges(uid, gid)?;
    let reserved = "peer name is reserved for other users";
    for name in [SVC, "e2e_pol_other"] {
        let raw = Raw::open()?;
        refused(
            &raw.register(Some(name), &[])?,
            libc::EACCES,
            reserved,
            name,
        )?;
    }
    let raw = Raw::open()?;
    accepted(&raw.register(Some("e2e_pol_free1"), &[])?, "the exception")?;
    let raw = Raw::open()?;
    let team = raw.register(Some("e2e_pol_team.a"), &[])?;
    if gid == TEAM_GID {
        accepted(&team, "a team member's name")?;
    } else {
        refused(&team, libc::EACCES, reserved, "the team's name")?;
    }
    // Names no rule matches stay free; anonymous peers are never judged.
    accepted(
        &Raw::open()?.register(Some("e2e_unreserved"), &[])?,
        "a free name",
    )?;
    accepted(&Raw::open()?.register(None, &[])?, "anonymous")?;
    // Not an administrator: the policy cannot be changed.
    let ack = Raw::open()?.request(Command::PolicyLoad, &[(Attr::RuleCount, Value::U32(0))])?;
    ensure_eq!(ack.errno, libc::EPERM, "policy-load by uid {uid}: {ack:?}");
    Ok(())
}

fn policy_reserves_names() -> TestResult {
    let guard = install(POLICY)?;
    // Before the service starts: the squatter is refused.
    let helper = Helper::start("security", &["squat", &USER.to_string(), &USER.to_string()])?;
    helper_outcome(&helper, Duration::from_secs(30)).map_err(|e| format!("uid {USER}: {e}"))?;
    let helper = Helper::start(
        "security",
        &["squat", &OTHER_USER.to_string(), &TEAM_GID.to_string()],
    )?;
    helper_outcome(&helper, Duration::from_secs(30))
        .map_err(|e| format!("uid {OTHER_USER} in the team: {e}"))?;

    // The service runs, publishes, and goes: its name is not free for others.
    let svc = Raw::open()?;
    accepted(&svc.register(Some(SVC), &[])?, "root registers svc")?;
    accepted(
        &svc.request(
            Command::GroupRegister,
            &[(Attr::GroupName, Value::Str("events"))],
        )?,
        "svc's group",
    )?;
    accepted(
        &svc.request(Command::PeerUnregister, &[])?,
        "svc unregisters",
    )?;
    let helper = Helper::start("security", &["squat", &USER.to_string(), &USER.to_string()])?;
    helper_outcome(&helper, Duration::from_secs(30))
        .map_err(|e| format!("uid {USER} after svc went: {e}"))?;

    // A reload replaces the policy only with its last rule.
    let admin = &guard.0;
    let first = admin.request(
        Command::PolicyLoad,
        &[
            (Attr::RuleCount, Value::U32(2)),
            (Attr::RuleIndex, Value::U32(0)),
            (Attr::NamePattern, Value::Str("e2e_nothing")),
        ],
    )?;
    accepted(&first, "rule 0 of 2")?;
    let helper = Helper::start("security", &["squat", &USER.to_string(), &USER.to_string()])?;
    helper_outcome(&helper, Duration::from_secs(30))
        .map_err(|e| format!("uid {USER} during a reload: {e}"))?;
    // Without a policy, the name is anyone's again (a single-user device).
    accepted(&load_policy(admin, &[])?[0], "remove the policy")?;
    let helper = Helper::start("security", &["free", &USER.to_string()])?;
    helper_outcome(&helper, Duration::from_secs(30))
        .map_err(|e| format!("uid {USER} without a policy: {e}"))?;
    Ok(())
}

/// `__child security free UID`: without a policy, a user registers `svc`.
pub fn free_without_policy(uid: u32) -> TestResult {
    crate::roles::drop_privileges(uid, uid)?;
    accepted(
        &Raw::open()?.register(Some(SVC), &[])?,
        "svc without policy",
    )
}

fn policy_load_is_checked() -> TestResult {
    let _guard = install(&[])?;
    let admin = Raw::open()?;
    let rule = |count: u32, index: u32, pattern: &'static str| {
        vec![
            (Attr::RuleCount, Value::U32(count)),
            (Attr::RuleIndex, Value::U32(index)),
            (Attr::NamePattern, Value::Str(pattern)),
        ]
    };
    refused(
        &admin.request(Command::PolicyLoad, &rule(2, 1, "a"))?,
        libc::EINVAL,
        "rule out of order",
        "rule 1 first",
    )?;
    refused(
        &admin.request(Command::PolicyLoad, &rule(2, 2, "a"))?,
        libc::EINVAL,
        "below rule-count",
        "index past count",
    )?;
    refused(
        &admin.request(Command::PolicyLoad, &rule(1, 0, "a/b"))?,
        libc::EINVAL,
        "name pattern",
        "a pattern with '/'",
    )?;
    let mut bad_uid = rule(1, 0, "a");
    bad_uid.push((Attr::Uid, Value::U32(u32::MAX)));
    refused(
        &admin.request(Command::PolicyLoad, &bad_uid)?,
        libc::EINVAL,
        "uid is not mapped",
        "uid -1",
    )?;
    refused(
        &admin.request(Command::PolicyLoad, &rule(0, 0, "a"))?,
        libc::EINVAL,
        "rule-count 0 has no rules",
        "rule-count 0 with a rule",
    )?;
    let missing = admin.request(Command::PolicyLoad, &[])?;
    ensure_eq!(missing.errno, libc::EINVAL, "no rule-count: {missing:?}");
    // A closed socket's load ends with it: sockets opened after it, which
    // the allocator may place at its address, cannot continue it.
    {
        let closing = Raw::open()?;
        accepted(
            &closing.request(Command::PolicyLoad, &rule(2, 0, "c"))?,
            "rule 0 from a socket that then closes",
        )?;
    }
    for attempt in 0..64 {
        refused(
            &Raw::open()?.request(Command::PolicyLoad, &rule(2, 1, "d"))?,
            libc::EINVAL,
            "rule out of order",
            &format!("rule 1 from socket {attempt} opened after the loader closed"),
        )?;
    }
    // Another socket cannot continue this socket's load.
    accepted(
        &admin.request(Command::PolicyLoad, &rule(2, 0, "a"))?,
        "rule 0",
    )?;
    refused(
        &Raw::open()?.request(Command::PolicyLoad, &rule(2, 1, "b"))?,
        libc::EINVAL,
        "rule out of order",
        "rule 1 from another socket",
    )?;
    accepted(
        &admin.request(Command::PolicyLoad, &rule(2, 1, "b"))?,
        "rule 1",
    )?;
    Ok(())
}

const RECEIVER: &str = "e2e_sa_recv";
const TEAM_RECEIVER: &str = "e2e_sa_team";

/// `__child security sender UID GID`: sends to the receivers of
/// `peer_send_access` and checks who takes it.
pub fn restricted_sender(uid: u32, gid: u32) -> TestResult {
    crate::roles::drop_privileges(uid, gid)?;
    let raw = Raw::open()?;
    accepted(&raw.register(None, &[])?, "register")?;
    let send = |to: &str| {
        raw.request(
            Command::Unicast,
            &[
                (Attr::PeerName, Value::Str(to)),
                (Attr::Payload, Value::Bytes(b"hi")),
            ],
        )
    };
    refused(
        &send(RECEIVER)?,
        libc::EACCES,
        "receiver does not accept messages from this user",
        "same-uid receiver",
    )?;
    let team = send(TEAM_RECEIVER)?;
    if gid == TEAM_GID {
        accepted(&team, "a team member to the team's receiver")
    } else {
        refused(&team, libc::EACCES, "does not accept", "gid receiver")
    }
}

fn peer_send_access() -> TestResult {
    let receiver = Raw::open()?;
    let same_uid = [(Attr::Access, Value::U32(GroupAccess::SameUid.to_raw()))];
    accepted(&receiver.register(Some(RECEIVER), &same_uid)?, "receiver")?;
    let team = Raw::open()?;
    let gid_rule = [
        (Attr::Access, Value::U32(GroupAccess::Gid.to_raw())),
        (Attr::Gid, Value::U32(TEAM_GID)),
    ];
    accepted(
        &team.register(Some(TEAM_RECEIVER), &gid_rule)?,
        "team receiver",
    )?;
    refused(
        &Raw::open()?.register(
            Some("e2e_sa_bad"),
            &[(Attr::Access, Value::U32(GroupAccess::Gid.to_raw()))],
        )?,
        libc::EINVAL,
        "access gid needs a gid",
        "access gid without gid",
    )?;
    for (uid, gid) in [(USER, USER), (USER, TEAM_GID)] {
        let helper = Helper::start("security", &["sender", &uid.to_string(), &gid.to_string()])?;
        helper_outcome(&helper, Duration::from_secs(30))
            .map_err(|e| format!("uid {uid} gid {gid}: {e}"))?;
    }
    // Root (the same uid) is taken; the team receiver got the member's.
    let root = Raw::open()?;
    accepted(&root.register(None, &[])?, "root sender")?;
    accepted(
        &root.request(
            Command::Unicast,
            &[
                (Attr::PeerName, Value::Str(RECEIVER)),
                (Attr::Payload, Value::Bytes(b"root")),
            ],
        )?,
        "root to the same-uid receiver",
    )?;
    let got = receiver.deliveries(Duration::from_secs(2))?;
    ensure_eq!(got.len(), 1, "deliveries to the same-uid receiver");
    ensure_eq!(attr_u32(&got[0], Attr::Uid), Some(0), "sender uid");
    let got = team.deliveries(Duration::from_secs(2))?;
    ensure_eq!(got.len(), 1, "deliveries to the team receiver");
    ensure_eq!(attr_u32(&got[0], Attr::Uid), Some(USER), "team sender uid");
    // peer-get shows the rule.
    let mut shown = None;
    let (msg, seq) = root.message(
        Command::PeerGet,
        NLM_F_REQUEST | NLM_F_ACK,
        &[(Attr::PeerName, Value::Str(TEAM_RECEIVER))],
    );
    let ack = root.sock.request(&msg, seq, |_, payload| {
        let attrs: Vec<(u16, Vec<u8>)> = split_attrs(&payload[GENL_HDRLEN..])
            .into_iter()
            .map(|(t, v)| (t, v.to_vec()))
            .collect();
        shown = Some((attr_u32(&attrs, Attr::Access), attr_u32(&attrs, Attr::Gid)));
    })?;
    accepted(&ack, "peer-get")?;
    ensure_eq!(
        shown,
        Some((Some(GroupAccess::Gid.to_raw()), Some(TEAM_GID))),
        "peer-get's access and gid"
    );
    Ok(())
}

const FAKE: &str = "e2e_eu_fake";

/// `__child security fake UID`: a user's peer under a name a client might
/// trust, with a group holding a forged last message; prints `ready`.
pub fn fake_service(uid: u32) -> TestResult {
    crate::roles::drop_privileges(uid, uid)?;
    let raw = Raw::open()?;
    accepted(&raw.register(Some(FAKE), &[])?, "fake register")?;
    accepted(
        &raw.request(
            Command::GroupRegister,
            &[(Attr::GroupName, Value::Str("events"))],
        )?,
        "fake group",
    )?;
    accepted(
        &raw.request(
            Command::Multicast,
            &[
                (Attr::GroupName, Value::Str("events")),
                (Attr::Payload, Value::Bytes(b"forged shutdown")),
            ],
        )?,
        "forged publish",
    )?;
    println!("ready");
    // Registered until the test kills it: reading deliveries until the
    // first lull would end it between two of the test's sends on a slow VM
    // (a send by port then found no peer). Its queue holds the few it gets.
    std::thread::sleep(Duration::from_secs(60));
    drop(raw);
    Ok(())
}

fn expect_uid() -> TestResult {
    let mut fake = Helper::start("security", &["fake", &USER.to_string()])?;
    fake.expect("ready", Duration::from_secs(20))?;
    let client = Raw::open()?;
    accepted(&client.register(None, &[])?, "client")?;
    let unicast = |uid: u32| {
        client.request(
            Command::Unicast,
            &[
                (Attr::PeerName, Value::Str(FAKE)),
                (Attr::Payload, Value::Bytes(b"secret")),
                (Attr::ExpectUid, Value::U32(uid)),
            ],
        )
    };
    refused(
        &unicast(0)?,
        libc::EPERM,
        "not owned by the expected uid",
        "unicast expecting root",
    )?;
    let join = |uid: u32| {
        client.request_collect(
            Command::GroupJoin,
            &[
                (Attr::PeerName, Value::Str(FAKE)),
                (Attr::GroupName, Value::Str("events")),
                (Attr::RcvLastMsg, Value::Flag),
                (Attr::ExpectUid, Value::U32(uid)),
            ],
        )
    };
    let (ack, replayed) = join(0)?;
    refused(
        &ack,
        libc::EPERM,
        "not owned by the expected uid",
        "join expecting root",
    )?;
    ensure!(
        replayed.is_empty() && client.deliveries(Duration::from_millis(300))?.is_empty(),
        "the forged replay reached a client that expected root"
    );
    // Expecting the right uid works.
    accepted(&unicast(USER)?, "unicast expecting the fake's uid")?;
    let (ack, got) = join(USER)?;
    accepted(&ack, "join expecting the fake's uid")?;
    ensure_eq!(got.len(), 1, "replay after a join expecting uid {USER}");
    ensure_eq!(
        attr_bytes(&got[0], Attr::Payload),
        Some(&b"forged shutdown"[..]),
        "replayed payload"
    );
    fake.kill();
    Ok(())
}

/// `__child security flood NAME SECONDS`: as uid 1000, unicasts to NAME as
/// fast as it can for SECONDS (no ACKs asked; refusals are drained); prints
/// `ready` when registered, `flooded N` (sends so far) about every 100 ms
/// and `done N` at the end.
pub fn flood(name: &str, seconds: u64) -> TestResult {
    crate::roles::drop_privileges(USER, USER)?;
    let raw = Raw::open()?;
    accepted(&raw.register(None, &[])?, "flooder register")?;
    println!("ready");
    let payload = [0x55u8; 256];
    let attrs = [
        (Attr::PeerName, Value::Str(name)),
        (Attr::Payload, Value::Bytes(&payload)),
    ];
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut sent = 0u64;
    let mut told = Instant::now();
    while Instant::now() < end {
        for _ in 0..64 {
            raw.post(Command::Unicast, &attrs)?;
            sent += 1;
        }
        raw.sock.drain();
        if told.elapsed() >= Duration::from_millis(100) {
            println!("flooded {sent}");
            told = Instant::now();
        }
    }
    println!("done {sent}");
    Ok(())
}

fn overrun_names_the_flooder() -> TestResult {
    const VICTIM: &str = "e2e_or_victim";
    let victim = Raw::open()?;
    accepted(&victim.register(Some(VICTIM), &[])?, "victim")?;
    let mut flooder = Helper::start("security", &["flood", VICTIM, "3"])?;
    flooder.expect("ready", Duration::from_secs(20))?;
    let flooded = flooder.expect("done ", Duration::from_secs(30))?;
    // The victim's queue is full of the flood: root's message is refused.
    let root = Raw::open()?;
    accepted(&root.register(None, &[])?, "root sender")?;
    let send = || {
        root.request(
            Command::Unicast,
            &[
                (Attr::PeerName, Value::Str(VICTIM)),
                (Attr::Payload, Value::Bytes(b"mine")),
            ],
        )
    };
    ensure_eq!(
        send()?.errno,
        libc::EAGAIN,
        "root's send into the full queue"
    );
    let queued = victim.deliveries(Duration::from_secs(2))?;
    ensure!(!queued.is_empty(), "the victim got nothing of the flood");
    // The next delivery reports the overrun and who caused it.
    accepted(&send()?, "root's send after the victim read")?;
    let got = victim.deliveries(Duration::from_secs(2))?;
    ensure_eq!(got.len(), 1, "deliveries after reading");
    let report = &got[0];
    let refused = attr_u32(report, Attr::Overrun).ctx("no overrun attribute")?;
    ensure!(refused >= 1, "overrun {refused}");
    ensure_eq!(
        attr_u32(report, Attr::OverrunUid),
        Some(USER),
        "overrun-uid"
    );
    let flooder_port = attr_u32(&queued[0], Attr::Port).ctx("flood port")?;
    ensure_eq!(
        attr_u32(report, Attr::OverrunPort),
        Some(flooder_port),
        "overrun-port"
    );
    ensure_eq!(
        attr_u32(report, Attr::Uid),
        Some(0),
        "the report's own sender"
    );
    // Told once: the following delivery is plain.
    accepted(&send()?, "a third send")?;
    let got = victim.deliveries(Duration::from_secs(2))?;
    ensure!(
        got.len() == 1 && attr_u32(&got[0], Attr::Overrun).is_none(),
        "the overrun was reported twice: {got:?}"
    );
    note(&format!(
        "flood of {flooded} sends: {} queued, {refused} refused and reported with uid {USER}",
        queued.len()
    ));
    flooder.kill();
    Ok(())
}

/// What serving one message costs the receiver of the flood measurement (a
/// service does something with what it reads).
const SERVICE_TIME: Duration = Duration::from_micros(200);

/// Root's messages the flood measurement keeps queued at most (the receiver's
/// queue holds about 200 of them): the sender alone never fills the queue, so
/// a failure means somebody else filled it.
const WINDOW: u64 = 16;

/// Root's failure rate sending `total` messages to `to` (at most [`WINDOW`]
/// waiting in its queue), served one by one by a thread, while two uid-1000
/// processes flood `to`: (failed, flood sends).
fn failure_rate_under_flood(
    to: &str,
    access: &[(Attr, Value)],
    total: u32,
) -> Result<(u32, u64), String> {
    let receiver = Raw::open()?;
    accepted(&receiver.register(Some(to), access)?, "receiver")?;
    let sender = Raw::open()?;
    accepted(&sender.register(None, &[])?, "sender")?;
    let sender_port = sender.sock.port();
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, served) = (Arc::clone(&stop), Arc::clone(&served));
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while !stop.load(Ordering::Relaxed) {
                let wait = Some(Duration::from_millis(20));
                let Ok(Some(len)) = receiver.sock.recv(&mut buf, wait) else {
                    continue;
                };
                std::thread::sleep(SERVICE_TIME);
                for (kind, _, _, body) in split_messages(&buf[..len]) {
                    let delivery = receiver.delivery(kind, body).unwrap_or_default();
                    if attr_u32(&delivery, Attr::Port) == Some(sender_port) {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    let seconds = 30;
    let mut flooders = Vec::new();
    for _ in 0..2 {
        let helper = Helper::start("security", &["flood", to, &seconds.to_string()])?;
        helper.expect("ready", Duration::from_secs(20))?;
        flooders.push(helper);
    }
    let payload = [0xaau8; 256];
    let attrs = [
        (Attr::PeerName, Value::Str(to)),
        (Attr::Payload, Value::Bytes(&payload)),
    ];
    let (mut failed, mut queued) = (0, 0u64);
    for _ in 0..total {
        let deadline = Instant::now() + Duration::from_secs(10);
        while queued - served.load(Ordering::Relaxed) >= WINDOW {
            ensure!(Instant::now() < deadline, "the receiver stopped serving");
            std::thread::sleep(Duration::from_micros(100));
        }
        let ack = sender.request(Command::Unicast, &attrs)?;
        match ack.errno {
            0 => queued += 1,
            libc::EAGAIN => failed += 1,
            _ => return Err(format!("legitimate send refused: {ack:?}")),
        }
    }
    let mut flood_sends = 0;
    for mut helper in flooders {
        flood_sends += helper
            .drain()
            .iter()
            .filter_map(|l| {
                l.strip_prefix("flooded ")
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .max()
            .unwrap_or(0);
        helper.kill();
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().map_err(|_| "reader panicked")?;
    Ok((failed, flood_sends))
}

fn flood_refused() -> TestResult {
    const TOTAL: u32 = 1000;
    let open = failure_rate_under_flood("e2e_fl_open", &[], TOTAL)?;
    let same_uid = [(Attr::Access, Value::U32(GroupAccess::SameUid.to_raw()))];
    let closed = failure_rate_under_flood("e2e_fl_closed", &same_uid, TOTAL)?;
    let pct = |failed: u32| 100.0 * failed as f64 / TOTAL as f64;
    note(&format!(
        "root's send failure rate under a uid {USER} flood (2 processes, {TOTAL} sends, \
         at most {WINDOW} waiting, receiver serving a message in {SERVICE_TIME:?}): \
         {:.2}% to a peer open to all ({} flood sends), {:.2}% to a peer that refuses \
         the flooder ({} flood sends)",
        pct(open.0),
        open.1,
        pct(closed.0),
        closed.1
    ));
    ensure!(
        closed.0 * 100 <= TOTAL,
        "the flooder pushed the failure rate to {:.2}% (> 1%)",
        pct(closed.0)
    );
    Ok(())
}

fn library_expect_uid() -> TestResult {
    use ipcon_linux::{ErrorKind, Handler, Message, Replay, Wait};
    let mut fake = Helper::start("security", &["fake", &USER.to_string()])?;
    fake.expect("ready", Duration::from_secs(20))?;
    let client = Handler::anonymous().ctx("client")?;
    let err = client
        .send_unicast_expecting(FAKE, 0, b"secret")
        .err()
        .ctx("a send expecting root reached uid 1000's peer")?;
    ensure_eq!(err.kind(), ErrorKind::UnexpectedOwner, "send error ({err})");
    let err = client
        .join_group_expecting(FAKE, "events", Replay::LastMessage, 0)
        .err()
        .ctx("a join expecting root joined uid 1000's group")?;
    ensure_eq!(err.kind(), ErrorKind::UnexpectedOwner, "join error ({err})");
    let mut msg = Message::new();
    let nothing = client.receive(&mut msg, Wait::Timeout(Duration::from_millis(300)));
    ensure!(
        nothing.is_err(),
        "the forged replay reached the client: {msg:?}"
    );
    // The right uid passes, to the name and to the port.
    client
        .send_unicast_expecting(FAKE, USER, b"hello")
        .ctx("send expecting uid 1000")?;
    let port = client.directory().peer(FAKE).ctx("peer-get")?.peer.port;
    client
        .send_unicast_to_port_expecting(port, USER, b"by port")
        .ctx("send by port expecting uid 1000")?;
    let err = client
        .send_unicast_to_port_expecting(port, 0, b"by port")
        .err()
        .ctx("a send by port expecting root")?;
    ensure_eq!(err.kind(), ErrorKind::UnexpectedOwner, "by port ({err})");
    fake.kill();
    Ok(())
}

/// The overrun report as the library gives it: `Message::overrun` names the
/// flooder's port and uid and counts root's refused send.
fn library_overrun_report() -> TestResult {
    use ipcon_linux::{ErrorKind, Handler, Message, Wait};
    const VICTIM: &str = "e2e_or_lib_victim";
    let victim = Handler::new(VICTIM).ctx("victim")?;
    let mut flooder = Helper::start("security", &["flood", VICTIM, "3"])?;
    flooder.expect("ready", Duration::from_secs(20))?;
    flooder.expect("done ", Duration::from_secs(30))?;
    let root = Handler::anonymous().ctx("root sender")?;
    let err = root
        .send_unicast(VICTIM, b"mine")
        .err()
        .ctx("root's send into the full queue was accepted")?;
    ensure_eq!(err.kind(), ErrorKind::QueueFull, "root's send ({err})");
    let mut msg = Message::new();
    let mut flood_port = None;
    let mut queued = 0u32;
    while victim
        .receive(&mut msg, Wait::Timeout(Duration::from_millis(200)))
        .is_ok()
    {
        queued += 1;
        flood_port.get_or_insert(msg.sender().port);
        ensure!(
            msg.overrun().is_none(),
            "a queued message reports an overrun"
        );
    }
    let flood_port = flood_port.ctx("the victim got nothing of the flood")?;
    root.send_unicast(VICTIM, b"mine")
        .ctx("root's send after the victim read")?;
    victim
        .receive(&mut msg, Wait::Timeout(Duration::from_secs(2)))
        .ctx("the report")?;
    ensure_eq!(msg.payload(), b"mine", "the reporting delivery");
    let overrun = msg.overrun().ctx("no overrun report")?;
    ensure!(overrun.refused >= 1, "refused {}", overrun.refused);
    let culprit = overrun.filled_by.ctx("no culprit")?;
    ensure_eq!(
        (culprit.port, culprit.uid),
        (flood_port, USER),
        "who filled the queue"
    );
    root.send_unicast(VICTIM, b"again").ctx("a third send")?;
    victim
        .receive(&mut msg, Wait::Timeout(Duration::from_secs(2)))
        .ctx("the third")?;
    ensure!(msg.overrun().is_none(), "the overrun was reported twice");
    note(&format!(
        "{queued} flood messages queued; reported: {} refused, port {} uid {}",
        overrun.refused, culprit.port, culprit.uid
    ));
    flooder.kill();
    Ok(())
}

/// `__child security register UID NAME`: whether user UID may register NAME
/// (prints `registered` or `refused ERRNO TEXT`).
pub fn try_register(uid: u32, name: &str) -> TestResult {
    crate::roles::drop_privileges(uid, uid)?;
    let ack = Raw::open()?.register(Some(name), &[])?;
    match ack.errno {
        0 => println!("registered"),
        errno => println!("refused {errno} {}", ack.message.unwrap_or_default()),
    }
    Ok(())
}

fn register_as(uid: u32, name: &str) -> Result<String, String> {
    let helper = Helper::start("security", &["register", &uid.to_string(), name])?;
    let line = helper.next_line(Duration::from_secs(20))?;
    Ok(line)
}

fn cli_policy() -> TestResult {
    use crate::harness::shell;
    const FILE: &str = "/tmp/e2e-policy.conf";
    let policy = "# e2e\nname e2e_cli_svc user 0   # root's service\n\
                  name e2e_cli_free* anyone\nname e2e_cli_* user 0\n";
    std::fs::write(FILE, policy).ctx("write the policy file")?;
    let (code, out) = shell(&format!("/bin/ipcon policy load {FILE}"))?;
    ensure_eq!(code, 0, "ipcon policy load ({out})");
    ensure!(out.contains("policy: 3 rules loaded"), "output: {out}");
    let clear = || shell("/bin/ipcon policy clear");
    let outcome = (|| {
        let line = register_as(USER, "e2e_cli_svc")?;
        ensure!(
            line.starts_with(&format!("refused {} ", libc::EACCES)) && line.contains("reserved"),
            "uid {USER} registering e2e_cli_svc: {line}"
        );
        ensure_eq!(
            register_as(USER, "e2e_cli_free1")?,
            "registered",
            "the exception"
        );
        // A mistake names its line and leaves the loaded policy alone.
        std::fs::write(FILE, "name ok anyone\nname bad/name anyone\n").ctx("write")?;
        let (code, out) = shell(&format!("/bin/ipcon policy load {FILE}"))?;
        ensure!(
            code == 1 && out.contains("line 2"),
            "a bad file: exit {code}, {out}"
        );
        ensure!(
            register_as(USER, "e2e_cli_svc")?.starts_with("refused"),
            "a bad file changed the policy"
        );
        let (code, out) = clear()?;
        ensure!(code == 0 && out.contains("0 rules"), "policy clear: {out}");
        ensure_eq!(
            register_as(USER, "e2e_cli_svc")?,
            "registered",
            "without a policy"
        );
        // ipcon send --expect-uid.
        let receiver = Raw::open()?;
        accepted(&receiver.register(Some("e2e_cli_recv"), &[])?, "receiver")?;
        let (code, out) = shell("/bin/ipcon send --expect-uid 1000 e2e_cli_recv hi")?;
        ensure!(
            code == 1 && out.contains("another user"),
            "send expecting uid 1000 to root's peer: exit {code}, {out}"
        );
        let (code, out) = shell("/bin/ipcon send --expect-uid 0 e2e_cli_recv hi")?;
        ensure_eq!(code, 0, "send expecting root ({out})");
        ensure_eq!(
            receiver.deliveries(Duration::from_secs(2))?.len(),
            1,
            "deliveries of the expecting sends"
        );
        Ok(())
    })();
    let _ = clear();
    let _ = std::fs::remove_file(FILE);
    outcome
}

/// `PeerOptions::senders`: the receivers of `peer_send_access`, opened
/// through the library.
fn library_send_access() -> TestResult {
    use ipcon_linux::{Message, PeerOptions, Wait};
    let receiver = PeerOptions::named(RECEIVER)
        .ctx("name")?
        .senders(GroupAccess::SameUid, None)
        .open()
        .ctx("same-uid receiver")?;
    let team = PeerOptions::named(TEAM_RECEIVER)
        .ctx("name")?
        .senders(GroupAccess::Gid, Some(TEAM_GID))
        .open()
        .ctx("team receiver")?;
    for (uid, gid) in [(USER, USER), (USER, TEAM_GID)] {
        let helper = Helper::start("security", &["sender", &uid.to_string(), &gid.to_string()])?;
        helper_outcome(&helper, Duration::from_secs(30))
            .map_err(|e| format!("uid {uid} gid {gid}: {e}"))?;
    }
    let mut msg = Message::new();
    team.receive(&mut msg, Wait::Timeout(Duration::from_secs(2)))
        .ctx("the team member's message")?;
    ensure_eq!(msg.sender().uid, USER, "team sender");
    ensure!(
        receiver
            .receive(&mut msg, Wait::Timeout(Duration::from_millis(300)))
            .is_err(),
        "the same-uid receiver got another user's message"
    );
    Ok(())
}
