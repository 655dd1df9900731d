//! Identity is the socket: a socket that is given a dying peer's port number
//! (any user may bind any free port, and ports are public) inherits nothing
//! of that peer: it cannot publish to the peer's groups, send as it, run
//! registry requests as it or receive what is sent to it; and it may become a
//! peer of its own, which the dead socket's release does not take away.
//!
//! The victims and the attacker are threads of the test process (the
//! attacker thread alone runs as an unprivileged user), so that each of the
//! 10,000 races costs system calls, not process wakeups.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use ipcon_linux::Handler;

use crate::common::expect_silence;
use crate::harness::{note, Context, Test, TestResult};
use crate::security::PortSocket;
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{attr, cmd, MsgBuilder, RawSocket, NLM_F_ACK, NLM_F_REQUEST};

pub const TESTS: &[Test] =
    &[Test::new("security_port_reuse_race_10k", port_reuse_race).timeout(TIMEOUT_SECS)];

/// The test's deadline (the harness multiplies it by
/// `IPCON_E2E_TIMEOUT_SCALE`).
const TIMEOUT_SECS: u64 = 600;
/// The time the races may take (scaled alike): 10,000 races take about
/// 30 s on x86_64. Well inside the deadline, and inside the 900 s a whole
/// matrix suite gets, so that a run short of hits fails with its own
/// message rather than as a hang.
const RACE_BUDGET_SECS: u64 = 180;

/// Races: a victim registers, the attacker spins on binding its port, the
/// victim closes, the attacker acts as soon as the port is its.
const RACES: u32 = 10_000;
/// Victims registered per round, closed one after the other.
const SLOTS: u32 = 20;
/// Every this many rounds the attacker makes the first port it won a peer of
/// its own.
const OWN_PEER_EVERY: u32 = 8;
/// Victims bind ports from here (neither pids nor the kernel's picks).
const FIRST_PORT: u32 = 0x3e00_0000;
const ATTACKER_UID: u32 = 1000;
const WITNESS: &str = "e2e_s_witness";

/// What the attacker does from a victim's port the moment it holds it:
/// publish to the victim's group, and one of the other things the victim
/// could do (in turn, race after race).
const PROBES: &[&str] = &[
    "multicast",
    "unicast",
    "group-register",
    "group-join",
    "peer-unregister",
];
/// Probes per race: the publish and one of the others.
const PROBES_PER_RACE: usize = 2;

fn victim_name(slot: u32) -> String {
    format!("e2e_s_v{slot}")
}

fn request(family: u16, seq: u32, command: u8) -> MsgBuilder {
    let mut builder = MsgBuilder::new();
    builder.begin(family, NLM_F_REQUEST | NLM_F_ACK, seq, command, 1);
    builder
}

/// The probes against the victim of `slot`, as one datagram:
/// [`PROBES`]`[0]` and [`PROBES`]`[other]` (sequence numbers 1 and 2).
fn probe_datagram(family: u16, slot: u32, other: usize) -> Vec<u8> {
    let victim = victim_name(slot);
    let probe = |seq: u32, which: usize| match which {
        0 => request(family, seq, cmd::MULTICAST)
            .attr_str(attr::GROUP_NAME, "g")
            .attr(attr::PAYLOAD, b"forged")
            .finish()
            .to_vec()
            .to_vec(),
        1 => request(family, seq, cmd::UNICAST)
            .attr_str(attr::PEER_NAME, WITNESS)
            .attr(attr::PAYLOAD, b"forged")
            .finish()
            .to_vec()
            .to_vec(),
        2 => request(family, seq, cmd::GROUP_REGISTER)
            .attr_str(attr::GROUP_NAME, "stolen")
            .finish()
            .to_vec()
            .to_vec(),
        3 => request(family, seq, cmd::GROUP_JOIN)
            .attr_str(attr::PEER_NAME, &victim)
            .attr_str(attr::GROUP_NAME, "g")
            .finish()
            .to_vec()
            .to_vec(),
        _ => request(family, seq, cmd::PEER_UNREGISTER).finish().to_vec(),
    };
    let mut datagram = probe(1, 0);
    datagram.extend(probe(2, other));
    datagram
}

/// Deliveries (unicast or multicast from the kernel) among `others`.
fn deliveries(family: u16, others: &[(u16, u32, Vec<u8>)]) -> u64 {
    others
        .iter()
        .filter(|(kind, seq, payload)| {
            *kind == family
                && *seq == 0
                && matches!(payload.first(), Some(&c) if c == cmd::UNICAST_MSG || c == cmd::GROUP_MSG)
        })
        .count() as u64
}

/// Waits until `counter` reaches `target` (the other side bumps it with
/// [`Race::bump`]); fails when the attacker failed.
fn wait_for(counter: &AtomicU32, target: u32, race: &Race) -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut guard = race.lock.lock().map_err(|_| "poisoned")?;
    while counter.load(Ordering::Acquire) < target {
        if let Some(why) = race.failure.lock().map_err(|_| "poisoned")?.clone() {
            return Err(format!("attacker: {why}"));
        }
        ensure!(Instant::now() < deadline, "the other side stalled for 30s");
        guard = race
            .changed
            .wait_timeout(guard, Duration::from_millis(100))
            .map_err(|_| "poisoned")?
            .0;
    }
    Ok(())
}

/// What the victims' thread and the attacker's share.
#[derive(Debug, Default)]
struct Race {
    /// The round's victims' ports (set before `posted`; empty: the races are over).
    ports: Mutex<Vec<u32>>,
    /// Rounds posted by the victims.
    posted: AtomicU32,
    /// Rounds the attacker is ready for (its sockets exist).
    armed: AtomicU32,
    /// Ports won so far, all rounds.
    won: AtomicU32,
    /// Rounds the attacker has finished (answers read, tally updated).
    finished: AtomicU32,
    tally: Mutex<Tally>,
    failure: Mutex<Option<String>>,
    lock: Mutex<()>,
    changed: Condvar,
}

impl Race {
    /// Sets `counter` to `value` and wakes the other side.
    fn bump(&self, counter: &AtomicU32, value: u32) {
        let _guard = self.lock.lock();
        counter.store(value, Ordering::Release);
        self.changed.notify_all();
    }
}

/// What the races added up to.
#[derive(Debug, Default)]
struct Tally {
    hits: u32,
    sent: u32,
    hijacks: u32,
    examples: Vec<String>,
    stolen: u64,
    own_checked: u32,
    own_failures: Vec<String>,
}

/// Drops this thread's privileges only (the raw system calls change the
/// calling thread's credentials; the C library's wrappers would change every
/// thread's).
fn become_user_in_this_thread(uid: u32) -> TestResult {
    let gid = uid as libc::gid_t;
    // SAFETY: the system calls take plain values and one valid gid array.
    let failed = unsafe {
        libc::syscall(libc::SYS_setgroups, 1, &gid as *const libc::gid_t) != 0
            || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
            || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
    };
    ensure!(
        !failed,
        "dropping privileges: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: geteuid(2) cannot fail; the thread's own credentials.
    let euid = unsafe { libc::syscall(libc::SYS_geteuid) } as u32;
    ensure_eq!(euid, uid, "the attacker thread's euid");
    Ok(())
}

/// The attacker thread, as an unprivileged user: per round it opens a
/// socket per victim port, then binds each port the moment it is free, has
/// its own peer send to the victim by name and fires the probes from the
/// port at once; after the round it reads the answers.
fn attack(race: &Race, family: u16) -> TestResult {
    become_user_in_this_thread(ATTACKER_UID)?;
    let probes: Vec<Vec<Vec<u8>>> = (0..SLOTS)
        .map(|slot| {
            (1..PROBES.len())
                .map(|other| probe_datagram(family, slot, other))
                .collect()
        })
        .collect();
    // A peer of the attacker's own, which sends to each victim by name the
    // moment the attacker holds the victim's port. Its answer tells whether
    // the victim was still registered then (the window was hit): success
    // (queued on a socket still open), or "receiver is gone".
    let legit = PortSocket::new().ctx("attacker's peer socket")?;
    legit.bind(0).ctx("attacker's peer bind")?;
    let ack = legit.exchange(
        request(family, 1, cmd::PEER_REGISTER).finish(),
        1,
        &mut Vec::new(),
    )?;
    ensure_eq!(ack[0].errno, 0, "the attacker's own peer");
    let sends: Vec<Vec<u8>> = (0..SLOTS)
        .map(|slot| {
            request(family, slot + 1, cmd::UNICAST)
                .attr_str(attr::PEER_NAME, &victim_name(slot))
                .attr(attr::PAYLOAD, b"secret")
                .finish()
                .to_vec()
        })
        .collect();
    for round in 0.. {
        wait_for(&race.posted, round + 1, race)?;
        let ports = race.ports.lock().map_err(|_| "poisoned")?.clone();
        if ports.is_empty() {
            break;
        }
        let sockets = ports
            .iter()
            .map(|_| PortSocket::new())
            .collect::<Result<Vec<_>, _>>()
            .ctx("attacker sockets")?;
        // The probe besides the publish, in turn round after round.
        let other = 1 + round as usize % (PROBES.len() - 1);
        race.bump(&race.armed, round + 1);
        for (slot, (port, socket)) in ports.iter().zip(&sockets).enumerate() {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match socket.bind(*port) {
                    Ok(()) => break,
                    Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => {
                        ensure!(
                            Instant::now() < deadline,
                            "port {port} stayed taken for 10s"
                        );
                    }
                    Err(e) => return Err(format!("bind {port}: {e}")),
                }
            }
            legit.send(&sends[slot]).ctx("send to the victim")?;
            socket
                .send(&probes[slot][other - 1])
                .ctx("send the probes")?;
            race.bump(&race.won, round * SLOTS + slot as u32 + 1);
        }
        let mut found = Tally::default();
        for ack in legit.answers(SLOTS as usize, &mut Vec::new())? {
            let gone = ack.message.as_deref().is_some_and(|m| m.contains("gone"));
            found.sent += u32::from(ack.errno == 0);
            found.hits += u32::from(ack.errno == 0 || gone);
        }
        for (slot, socket) in sockets.iter().enumerate() {
            let mut others = Vec::new();
            let acks = socket.answers(PROBES_PER_RACE, &mut others)?;
            let hijacked: Vec<&str> = [PROBES[0], PROBES[other]]
                .iter()
                .zip(&acks)
                .filter(|(_, ack)| ack.errno == 0)
                .map(|(probe, _)| *probe)
                .collect();
            if !hijacked.is_empty() {
                found.hijacks += 1;
                found
                    .examples
                    .push(format!("round {round} slot {slot}: {}", hijacked.join(",")));
            }
            found.stolen += deliveries(family, &others);
        }
        if round % OWN_PEER_EVERY == 0 {
            found.own_checked += 1;
            let own = own_peer_survives(&sockets[0], family, 0)?;
            if own != "ok" {
                found.own_failures.push(format!("round {round}: {own}"));
            }
        }
        let mut tally = race.tally.lock().map_err(|_| "poisoned")?;
        tally.hits += found.hits;
        tally.sent += found.sent;
        tally.hijacks += found.hijacks;
        tally.stolen += found.stolen;
        tally.own_checked += found.own_checked;
        tally.own_failures.extend(found.own_failures);
        let room = 5usize.saturating_sub(tally.examples.len());
        tally.examples.extend(found.examples.into_iter().take(room));
        drop(tally);
        race.bump(&race.finished, round + 1);
    }
    Ok(())
}

/// Registers `socket` (it holds a dead peer's port) as a peer of its own,
/// waits until the victim of `slot` is gone, and checks it is still a peer:
/// `ok`, or what went wrong.
fn own_peer_survives(socket: &PortSocket, family: u16, slot: u32) -> Result<String, String> {
    let mut others = Vec::new();
    let register = request(family, 1, cmd::PEER_REGISTER).finish().to_vec();
    let errno = socket.exchange(&register, 1, &mut others)?[0].errno;
    if errno != 0 {
        return Ok(format!("register-errno-{errno}"));
    }
    let lookup = request(family, 1, cmd::PEER_GET)
        .attr_str(attr::PEER_NAME, &victim_name(slot))
        .finish()
        .to_vec();
    let deadline = Instant::now() + Duration::from_secs(5);
    while socket.exchange(&lookup, 1, &mut others)?[0].errno == 0 {
        if Instant::now() > deadline {
            return Ok("victim-never-removed".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let group = request(family, 1, cmd::GROUP_REGISTER)
        .attr_str(attr::GROUP_NAME, "mine")
        .finish()
        .to_vec();
    let errno = socket.exchange(&group, 1, &mut others)?[0].errno;
    Ok(if errno == 0 {
        "ok".into()
    } else {
        format!("removed-errno-{errno}")
    })
}

/// Registers the victim of `slot` with group `g` on a socket bound to `port`.
fn victim(family: u16, slot: u32, port: u32) -> Result<PortSocket, String> {
    let socket = PortSocket::new().ctx("victim socket")?;
    socket.bind(port).ctx("victim bind")?;
    let mut datagram = request(family, 1, cmd::PEER_REGISTER)
        .attr_str(attr::PEER_NAME, &victim_name(slot))
        .finish()
        .to_vec();
    datagram.extend(
        request(family, 2, cmd::GROUP_REGISTER)
            .attr_str(attr::GROUP_NAME, "g")
            .finish()
            .to_vec(),
    );
    let acks = socket.exchange(&datagram, 2, &mut Vec::new())?;
    ensure!(
        acks.iter().all(|ack| ack.errno == 0),
        "victim register and group-register: {acks:?}"
    );
    Ok(socket)
}

/// Rounds of [`SLOTS`] races run at least: [`RACES`] (as stress-counted).
fn min_rounds() -> u32 {
    crate::harness::stress_count(RACES) / SLOTS
}

/// How long the races may go on: [`RACE_BUDGET_SECS`], scaled as the
/// harness scales the deadline.
fn race_budget() -> Duration {
    Duration::from_secs(RACE_BUDGET_SECS) * crate::harness::timeout_scale()
}

/// Races that must have hit the window (the attacker held the port while
/// its victim was still registered) for the run to prove anything.
fn hits_needed() -> u32 {
    (crate::harness::stress_count(RACES) / 500).max(1)
}

/// The victims' side: per round, registers the victims, lets the attacker
/// arm, closes them one by one as the attacker wins each port. Rounds go on
/// past [`RACES`] while too few races hit the window ([`hits_needed`]): how
/// often a race reaches it depends on the host's load, a proof must not. So
/// no count bounds the rounds, only `budget` (no round starts after it); the
/// caller fails a run that ran out of it first. An empty port list posted
/// tells the attacker the races are over. Returns the rounds run.
fn run_victims(race: &Race, family: u16, budget: Duration) -> Result<u32, String> {
    let started = Instant::now();
    let mut round = 0;
    loop {
        let hits = race.tally.lock().map_err(|_| "poisoned")?.hits;
        if (round >= min_rounds() && hits >= hits_needed()) || started.elapsed() >= budget {
            race.ports.lock().map_err(|_| "poisoned")?.clear();
            race.bump(&race.posted, round + 1);
            return Ok(round);
        }
        let first = FIRST_PORT + round * SLOTS;
        let victims = (0..SLOTS)
            .map(|slot| victim(family, slot, first + slot))
            .collect::<Result<Vec<_>, _>>()
            .ctx(&format!("round {round}"))?;
        *race.ports.lock().map_err(|_| "poisoned")? = (first..first + SLOTS).collect();
        race.bump(&race.posted, round + 1);
        wait_for(&race.armed, round + 1, race)?;
        for (slot, victim) in victims.into_iter().enumerate() {
            drop(victim);
            wait_for(&race.won, round * SLOTS + slot as u32 + 1, race)?;
        }
        wait_for(&race.finished, round + 1, race)?;
        if round % 50 == 49 {
            // Progress, in the test's log.
            println!("{} races done", (round + 1) * SLOTS);
        }
        round += 1;
    }
}

fn port_reuse_race() -> TestResult {
    let family = RawSocket::open().ctx("raw socket")?.ipcon_family()?;
    let witness = Handler::new(WITNESS).ctx("register the witness")?;
    let race = Arc::new(Race::default());
    let attacker = {
        let race = Arc::clone(&race);
        std::thread::spawn(move || {
            let outcome = attack(&race, family);
            if let Err(why) = &outcome {
                if let Ok(mut failure) = race.failure.lock() {
                    *failure = Some(why.clone());
                }
                race.changed.notify_all();
            }
            outcome
        })
    };
    let started = Instant::now();
    let budget = race_budget();
    let rounds = run_victims(&race, family, budget)?;
    attacker.join().map_err(|_| "attacker panicked")??;

    let tally = race.tally.lock().map_err(|_| "poisoned")?;
    let races = rounds * SLOTS;
    note(&format!(
        "{races} races in {:.1}s; the attacker held the port while its victim was still \
         registered in {} ({:.2} %); {} of its unicasts to victims by name were accepted; {} \
         new peers on won ports checked",
        started.elapsed().as_secs_f64(),
        tally.hits,
        f64::from(tally.hits) * 100.0 / f64::from(races.max(1)),
        tally.sent,
        tally.own_checked,
    ));
    ensure!(
        tally.hijacks == 0,
        "{} races let the port's new owner act as the victim, e.g. {:?}",
        tally.hijacks,
        tally.examples
    );
    ensure_eq!(
        tally.stolen,
        0,
        "deliveries to a victim that reached the port's new owner"
    );
    ensure!(
        tally.own_failures.is_empty(),
        "a new peer on a dead peer's port did not survive: {:?}",
        tally.own_failures
    );
    // With fewer races than RACES, or too few of them reaching the window,
    // nothing was proven. The window (netlink_release() to the release
    // notifier) is narrow: from a few races in 10,000 to one in ten reach
    // it, depending on the host's load, hence the rounds of run_victims()
    // until enough did (or its time budget ran out).
    ensure!(
        rounds >= min_rounds(),
        "only {races} races within the {}s budget ({} needed)",
        budget.as_secs(),
        min_rounds() * SLOTS
    );
    ensure!(
        tally.hits >= hits_needed(),
        "the attacker won the port while its victim was registered in only {} of {races} \
         races within the {}s budget ({} needed)",
        tally.hits,
        budget.as_secs(),
        hits_needed()
    );
    expect_silence(&witness, "nothing sent as a victim")
}
