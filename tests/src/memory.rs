//! Kernel memory a user makes the module allocate is charged to that user's
//! memory cgroup, and a group's cached last message costs what the message
//! needs, not the largest payload. Also measures what each kind of object
//! costs (the figures in the notes).

use std::path::Path;
use std::time::{Duration, Instant};

use ipcon_linux::{Handler, Replay};

use crate::common::module_param;
use crate::harness::{note, Context, Helper, Test, TestResult};
use crate::limits::raw_request;
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{cmd, RawSocket};

pub const TESTS: &[Test] = &[
    Test::new("security_memcg_charges_module_memory", memcg_charges).timeout(60),
    Test::new("security_memory_per_object", memory_per_object).timeout(120),
];

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const CGROUP: &str = "/sys/fs/cgroup/ipcon-e2e";
/// Files the test creates to let the helper go on (`1`, `2`).
const GO: &str = "/tmp/ipcon-e2e-memcg-go";

/// Mounts cgroup v2 (if needed) and makes a child group with the memory
/// controller.
fn memory_cgroup() -> Result<(), String> {
    if !Path::new(CGROUP_ROOT).join("cgroup.controllers").exists() {
        let (source, target, kind) = (b"none\0", b"/sys/fs/cgroup\0", b"cgroup2\0");
        // SAFETY: NUL-terminated strings; no data argument.
        let ret = unsafe {
            libc::mount(
                source.as_ptr().cast(),
                target.as_ptr().cast(),
                kind.as_ptr().cast(),
                0,
                std::ptr::null(),
            )
        };
        ensure!(
            ret == 0,
            "mount cgroup2: {}",
            std::io::Error::last_os_error()
        );
    }
    let controllers = std::fs::read_to_string(Path::new(CGROUP_ROOT).join("cgroup.controllers"))
        .ctx("read cgroup.controllers")?;
    ensure!(
        controllers.split_whitespace().any(|c| c == "memory"),
        "no memory controller: {controllers:?}"
    );
    std::fs::write(
        Path::new(CGROUP_ROOT).join("cgroup.subtree_control"),
        "+memory",
    )
    .ctx("enable the memory controller")?;
    if !Path::new(CGROUP).exists() {
        std::fs::create_dir(CGROUP).ctx("create the cgroup")?;
    }
    Ok(())
}

fn memory_current() -> Result<u64, String> {
    let text =
        std::fs::read_to_string(Path::new(CGROUP).join("memory.current")).ctx("memory.current")?;
    text.trim().parse().ctx("parse memory.current")
}

fn wait_for_file(path: &str) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !Path::new(path).exists() {
        ensure!(Instant::now() < deadline, "{path} never appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// `__child security memcg-user GROUPS PAYLOAD`: two peers, then (when told)
/// GROUPS groups, each with a PAYLOAD-byte last message and a member; holds
/// them until killed.
pub fn memcg_user(groups: usize, payload: usize) -> TestResult {
    println!("ready");
    wait_for_file(&format!("{GO}1"))?;
    let owner = Handler::new("e2e_s_mem_owner").ctx("register owner")?;
    let member = Handler::anonymous().ctx("register member")?;
    let names: Vec<String> = (0..groups).map(|i| format!("g{i}")).collect();
    let message = vec![0x5a; payload];
    println!("base");
    wait_for_file(&format!("{GO}2"))?;
    for name in &names {
        owner.register_group(name).ctx("register group")?;
        owner.send_multicast(name, &message).ctx("publish")?;
        member
            .join_group("e2e_s_mem_owner", name, Replay::Skip)
            .ctx("join")?;
    }
    println!("done");
    loop {
        std::thread::sleep(Duration::from_secs(60));
    }
}

fn memcg_charges() -> TestResult {
    memory_cgroup()?;
    let _ = std::fs::remove_file(format!("{GO}1"));
    let _ = std::fs::remove_file(format!("{GO}2"));
    let groups = module_param("max_groups_per_peer")?.min(64) as usize;
    let payload = module_param("max_payload")?.min(2000) as usize;
    let helper = Helper::start(
        "security",
        &["memcg-user", &groups.to_string(), &payload.to_string()],
    )?;
    helper.ready()?;
    std::fs::write(
        Path::new(CGROUP).join("cgroup.procs"),
        helper.pid().to_string(),
    )
    .ctx("move the helper into the cgroup")?;
    std::fs::write(format!("{GO}1"), "").ctx("go 1")?;
    helper.expect("base", Duration::from_secs(10))?;
    let before = memory_current()?;
    std::fs::write(format!("{GO}2"), "").ctx("go 2")?;
    helper.expect("done", Duration::from_secs(30))?;
    let after = memory_current()?;
    let grown = after.saturating_sub(before);
    note(&format!(
        "{groups} groups, each with a {payload}-byte last message and a member: the user's \
         memory cgroup grew by {grown} bytes ({} per group)",
        grown / groups as u64
    ));
    // The cached messages alone are groups * payload bytes of kernel memory.
    let cached = (groups * payload) as u64;
    ensure!(
        grown >= cached * 3 / 4,
        "the module's allocations were not charged to the user's memory cgroup: it grew by \
         {grown} bytes for {cached} bytes of cached messages alone"
    );
    drop(helper);
    Ok(())
}

/// `SUnreclaim` of /proc/meminfo, in bytes.
fn unreclaimable_slab() -> Result<i64, String> {
    let text = std::fs::read_to_string("/proc/meminfo").ctx("read /proc/meminfo")?;
    let line = text
        .lines()
        .find(|l| l.starts_with("SUnreclaim:"))
        .ctx("SUnreclaim")?;
    let kib: i64 = line
        .split_whitespace()
        .nth(1)
        .ctx("SUnreclaim value")?
        .parse()
        .ctx("parse SUnreclaim")?;
    Ok(kib * 1024)
}

/// Slab bytes per object made by `make` (`count` objects).
fn per_object(count: usize, make: impl FnOnce() -> TestResult) -> Result<i64, String> {
    std::thread::sleep(Duration::from_millis(200));
    let before = unreclaimable_slab()?;
    make()?;
    std::thread::sleep(Duration::from_millis(200));
    Ok((unreclaimable_slab()? - before) / count as i64)
}

fn memory_per_object() -> TestResult {
    let rlimit = libc::rlimit {
        rlim_cur: 4096,
        rlim_max: 4096,
    };
    // SAFETY: setrlimit reads one valid rlimit.
    let ret = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) };
    ensure!(ret == 0, "setrlimit: {}", std::io::Error::last_os_error());
    let family = RawSocket::open().ctx("raw socket")?.ipcon_family()?;
    let count = 256usize;
    let mut sockets = Vec::with_capacity(count);
    let per_socket = per_object(count, || {
        for _ in 0..count {
            sockets.push(RawSocket::open().ctx("socket")?);
        }
        Ok(())
    })?;
    let per_peer = per_object(count, || {
        for socket in &sockets {
            let ack = raw_request(socket, family, 1, cmd::PEER_REGISTER, |b| b)?;
            ensure_eq!(ack.errno, 0, "register");
        }
        Ok(())
    })?;
    let per_owner = module_param("max_groups_per_peer")?.clamp(1, 64) as usize;
    let owners = (0..count.div_ceil(per_owner))
        .map(|i| Handler::new(&format!("e2e_s_obj{i}")))
        .collect::<Result<Vec<_>, _>>()
        .ctx("owners")?;
    let per_group = per_object(owners.len() * per_owner, || {
        for owner in &owners {
            for g in 0..per_owner {
                let name = format!("g{g}");
                owner.register_group(&name).ctx("register group")?;
                owner.send_multicast(&name, b"x").ctx("publish one byte")?;
            }
        }
        Ok(())
    })?;
    let joins =
        (owners.len() * per_owner).min(module_param("max_subscriptions_per_peer")? as usize);
    let member = Handler::anonymous().ctx("member")?;
    let per_subscription = per_object(joins, || {
        for i in 0..joins {
            let owner = format!("e2e_s_obj{}", i / per_owner);
            member
                .join_group(&owner, &format!("g{}", i % per_owner), Replay::Skip)
                .ctx("join")?;
        }
        Ok(())
    })?;
    note(&format!(
        "unreclaimable slab per object: netlink socket {per_socket} B, peer {per_peer} B, \
         group with a 1-byte last message {per_group} B, subscription {per_subscription} B"
    ));
    // A 1-byte last message used to cost a max_payload-sized buffer.
    ensure!(
        per_group < 2048,
        "a group with a 1-byte last message costs {per_group} bytes"
    );
    drop(sockets);
    Ok(())
}
