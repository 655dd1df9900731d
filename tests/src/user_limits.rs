//! Per-user limits: what one user holds through the module (peers, groups,
//! subscriptions, cached message bytes) is limited over all network
//! namespaces together; a user at every limit gets ENOSPC with a kernel text
//! naming the parameter, while other users still register, publish and
//! join; and one user can no longer take all of a namespace's `max_peers`,
//! not even from network namespaces (and a user namespace) of its own.

use std::time::Duration;

use ipcon_linux::{Handler, Replay};

use crate::common::{helper_outcome, module_param};
use crate::harness::{note, Context, Helper, Test, TestResult};
use crate::limits::raw_request;
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{attr, cmd, Ack, RawSocket};

pub const TESTS: &[Test] = &[
    Test::new(
        "security_user_at_every_limit_others_unaffected",
        every_limit,
    )
    .timeout(240),
    Test::new(
        "security_one_user_cannot_fill_a_namespace",
        cannot_fill_a_namespace,
    )
    .timeout(240),
];

const USER: u32 = 1000;
const OTHER_USER: u32 = 1001;

/// Lets this process hold `count` sockets (before dropping privileges).
fn allow_files(count: u64) -> TestResult {
    let rlimit = libc::rlimit {
        rlim_cur: count,
        rlim_max: count,
    };
    // SAFETY: setrlimit reads one valid rlimit.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) };
    ensure!(ret == 0, "setrlimit: {}", std::io::Error::last_os_error());
    Ok(())
}

/// Fails unless `ack` is ENOSPC naming module parameter `param`.
fn expect_limit(ack: &Ack, param: &str, what: &str) -> TestResult {
    ensure!(
        ack.errno == libc::ENOSPC && ack.message.as_deref().is_some_and(|m| m.contains(param)),
        "{what}: expected ENOSPC naming {param}, got errno {} ({:?})",
        ack.errno,
        ack.message
    );
    Ok(())
}

/// Registers peers on new raw sockets (named `PREFIX{i}`, or anonymous)
/// until the kernel refuses one or `cap` are registered; the sockets and
/// the refusal.
fn register_until_refused(
    family: u16,
    prefix: Option<&str>,
    cap: usize,
) -> Result<(Vec<RawSocket>, Option<Ack>), String> {
    let mut peers = Vec::new();
    while peers.len() < cap {
        let socket = RawSocket::open().ctx(&format!("socket {}", peers.len()))?;
        let name = prefix.map(|p| format!("{p}{}", peers.len()));
        let ack = raw_request(&socket, family, 1, cmd::PEER_REGISTER, |b| match &name {
            Some(name) => b.attr_str(attr::PEER_NAME, name),
            None => b,
        })?;
        if ack.errno != 0 {
            return Ok((peers, Some(ack)));
        }
        peers.push(socket);
    }
    Ok((peers, None))
}

/// `__child security at-limits UID`: as user UID, reaches every per-user
/// limit (checking each refusal), says `at-limits` and holds everything.
pub fn user_at_every_limit(uid: u32) -> TestResult {
    // A module without per-user limits lets the user go on to max_peers.
    let max_peers =
        module_param("max_peers_per_user").or_else(|_| module_param("max_peers"))? as usize;
    let per_peer_groups = module_param("max_groups_per_peer")? as usize;
    let per_peer_subs = module_param("max_subscriptions_per_peer")? as usize;
    let payload = vec![0x77u8; module_param("max_payload")? as usize];
    allow_files(max_peers as u64 + 64)?;
    crate::roles::drop_privileges(uid, uid)?;
    let family = RawSocket::open().ctx("socket")?.ipcon_family()?;

    let (peers, refusal) = register_until_refused(family, Some("e2e_s_u"), max_peers + 1)?;
    expect_limit(
        &refusal.ctx("refusal")?,
        "max_peers_per_user",
        "one peer too many",
    )?;
    ensure_eq!(peers.len(), max_peers, "peers registered before the limit");
    let max_groups = module_param("max_groups_per_user")? as usize;
    let max_subs = module_param("max_subscriptions_per_user")? as usize;
    let max_cached = module_param("max_cached_bytes_per_user")? as usize;

    // Groups, filling peer after peer.
    let mut groups = Vec::new();
    let refusal = 'groups: {
        for (p, socket) in peers.iter().enumerate() {
            for g in 0..per_peer_groups {
                let ack = raw_request(socket, family, 2, cmd::GROUP_REGISTER, |b| {
                    b.attr_str(attr::GROUP_NAME, &format!("g{g}"))
                })?;
                if ack.errno != 0 {
                    break 'groups ack;
                }
                groups.push((p, g));
            }
        }
        return Err("the group limit was never reached".into());
    };
    ensure_eq!(
        groups.len(),
        max_groups,
        "groups registered before the limit"
    );
    expect_limit(&refusal, "max_groups_per_user", "one group too many")?;

    // Subscriptions to its own groups, joiner after joiner.
    let mut subs = 0;
    let refusal = 'subs: {
        for socket in &peers {
            for (p, g) in groups.iter().take(per_peer_subs) {
                let ack = raw_request(socket, family, 3, cmd::GROUP_JOIN, |b| {
                    b.attr_str(attr::PEER_NAME, &format!("e2e_s_u{p}"))
                        .attr_str(attr::GROUP_NAME, &format!("g{g}"))
                })?;
                if ack.errno != 0 {
                    break 'subs ack;
                }
                subs += 1;
            }
        }
        return Err("the subscription limit was never reached".into());
    };
    ensure_eq!(subs, max_subs, "subscriptions before the limit");
    expect_limit(&refusal, "max_subscriptions_per_user", "one join too many")?;

    // Cached last messages of the largest size, group after group (of the
    // groups nobody joined: deliveries would fill the requesting sockets).
    let mut cached = 0;
    let refusal = 'cached: {
        for (p, g) in groups.iter().skip(per_peer_subs) {
            let ack = raw_request(&peers[*p], family, 4, cmd::MULTICAST, |b| {
                b.attr_str(attr::GROUP_NAME, &format!("g{g}"))
                    .attr(attr::PAYLOAD, &payload)
            })?;
            if ack.errno != 0 {
                break 'cached ack;
            }
            cached += payload.len();
        }
        return Err("the cached bytes limit was never reached".into());
    };
    ensure!(
        cached <= max_cached && cached >= max_cached / 2,
        "{cached} bytes cached before the limit of {max_cached}"
    );
    expect_limit(
        &refusal,
        "max_cached_bytes_per_user",
        "one cached message too many",
    )?;
    println!("at-limits {} {} {subs} {cached}", peers.len(), groups.len());
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// `__child security unaffected UID`: as user UID, registers, registers a
/// group, publishes to it, joins a group of the user at its limits.
pub fn user_unaffected(uid: u32) -> TestResult {
    crate::roles::drop_privileges(uid, uid)?;
    let me = Handler::new("e2e_s_other").ctx("register")?;
    me.register_group("mine").ctx("register a group")?;
    me.send_multicast("mine", b"cached").ctx("publish")?;
    me.join_group("e2e_s_u0", "g0", Replay::LastMessage)
        .ctx("join a group of the user at its limits")?;
    Ok(())
}

fn every_limit() -> TestResult {
    let user = USER.to_string();
    let limited = Helper::start("security", &["at-limits", &user])?;
    let figures = loop {
        let line = limited.next_line(Duration::from_secs(200))?;
        if let Some(figures) = line.strip_prefix("at-limits ") {
            break figures.to_owned();
        }
        if let Some(why) = line.strip_prefix("error ") {
            return Err(format!("uid {USER}: {why}"));
        }
    };
    note(&format!(
        "uid {USER} at its limits (peers, groups, subscriptions, cached bytes): {figures}"
    ));
    let other = OTHER_USER.to_string();
    let unaffected = Helper::start("security", &["unaffected", &other])?;
    helper_outcome(&unaffected, Duration::from_secs(20))
        .map_err(|e| format!("uid {OTHER_USER}: {e}"))?;
    // Root too.
    let root = Handler::new("e2e_s_root").ctx("root registers")?;
    root.register_group("g").ctx("root registers a group")?;
    root.send_multicast("g", b"x").ctx("root publishes")?;
    root.join_group("e2e_s_u1", "g0", Replay::Skip)
        .ctx("root joins a group of the user at its limits")?;
    drop(limited);
    Ok(())
}

/// `__child security fill CAP [own-namespaces]`: as user 1000 (in a user and
/// network namespace of its own when asked), registers anonymous peers until
/// refused or CAP; prints `registered N ERRNO TEXT` and holds them.
pub fn fill(cap: usize, own_namespaces: bool) -> TestResult {
    allow_files(cap as u64 + 64)?;
    crate::roles::drop_privileges(USER, USER)?;
    if own_namespaces {
        // SAFETY: unshare(2) takes a flag word and touches no memory.
        let ret = unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) };
        ensure!(
            ret == 0,
            "unshare(CLONE_NEWUSER | CLONE_NEWNET) as uid {USER}: {}",
            std::io::Error::last_os_error()
        );
    }
    let family = RawSocket::open().ctx("socket")?.ipcon_family()?;
    let (peers, refusal) = register_until_refused(family, None, cap)?;
    let (errno, text) = refusal.map_or((0, None), |ack| (ack.errno, ack.message));
    println!(
        "registered {} {errno} {}",
        peers.len(),
        text.unwrap_or_default()
    );
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

/// Starts `fill` and returns it with how many peers it got and its refusal.
fn start_fill(cap: usize, own: bool) -> Result<(Helper, usize, String), String> {
    let cap_arg = cap.to_string();
    let mut args = vec!["fill", cap_arg.as_str()];
    if own {
        args.push("own-namespaces");
    }
    let helper = Helper::start("security", &args)?;
    let line = helper.expect("registered ", Duration::from_secs(200))?;
    let (count, refusal) = line.split_once(' ').unwrap_or((&line, ""));
    let count = count.parse().ctx("count")?;
    Ok((helper, count, refusal.to_owned()))
}

fn cannot_fill_a_namespace() -> TestResult {
    let max_peers = module_param("max_peers")? as usize;
    ensure!(
        max_peers <= 4096,
        "max_peers={max_peers} is too many to reach"
    );
    allow_files(256)?;
    // The scenario: one user registers all it can.
    let (first, held, refusal) = start_fill(max_peers, false)?;
    ensure!(
        held < max_peers,
        "uid {USER} took all {max_peers} peers of the namespace"
    );
    ensure!(
        refusal.contains(&libc::ENOSPC.to_string()) && refusal.contains("max_peers_per_user"),
        "uid {USER} was refused after {held} peers with {refusal:?}"
    );
    let root = Handler::anonymous().ctx("root registers after uid 1000 got all it could")?;
    // Namespaces of its own do not give it more.
    let mut total = held;
    let mut more = Vec::new();
    for _ in 0..2 {
        let (helper, count, refusal) = start_fill(max_peers, true)?;
        ensure!(
            count == 0 && refusal.contains("max_peers_per_user"),
            "in namespaces of its own uid {USER} registered {count} more (refused: {refusal:?})"
        );
        total += count;
        more.push(helper);
    }
    note(&format!(
        "uid {USER} holds {total} peers over three network namespaces (max_peers {max_peers}); \
         root still registered"
    ));
    drop((root, more, first));
    Ok(())
}
