//! The malformed-input test: 100,000 random and mutated generic netlink
//! messages to the ipcon family from raw sockets (fixed seed, so a failure
//! reproduces), then the module must still work and the kernel log must be
//! free of warnings. The VM harness also judges the console.

use std::time::{Duration, Instant};

use ipcon_linux::{Handler, Message, MessageKind};
use ipcon_linux::{Replay, Wait};

use crate::common::{helper_outcome, receive_kind};
use crate::harness::{shell, Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};
use ipcon_test_support::rawnl::{
    attr, cmd, MsgBuilder, RawSocket, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};

pub const TESTS: &[Test] = &[Test::new("malformed_input_fuzz_100k", malformed_input).timeout(300)];

const SEED: u64 = 0x1bc0_2026_f00d_5eed;
const MESSAGES: u32 = 100_000;
const SOCKETS: usize = 4;
/// What the unprivileged helper sends, concurrently, with its own seed.
pub const USER_SEED: u64 = 0x0bad_cafe_1000_0001;
const USER_MESSAGES: u32 = 10_000;

/// xorshift64*: small, fast, reproducible.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Random bytes, fewer than `max`.
    fn some_bytes(&mut self, max: u64) -> Vec<u8> {
        let len = self.below(max) as usize;
        self.bytes(len)
    }

    /// A name: usually valid, sometimes one of the targets, sometimes bad.
    fn name(&mut self) -> Vec<u8> {
        let mut name = match self.below(6) {
            0 => b"e2e_f_target".to_vec(),
            1 => b"g".to_vec(),
            2 => b"fg".to_vec(),
            3 => {
                let len = self.below(40) as usize;
                self.bytes(len)
            }
            _ => {
                let len = 1 + self.below(31) as usize;
                (0..len).map(|_| b'a' + self.below(26) as u8).collect()
            }
        };
        if !self.chance(10) {
            name.push(0);
        }
        name
    }
}

/// Context the generator aims at: real ports and the family id.
#[derive(Debug)]
struct Targets {
    family: u16,
    target_port: u32,
}

fn flags(rng: &mut Rng) -> u16 {
    match rng.below(16) {
        0 => rng.next() as u16,
        1 => NLM_F_REQUEST | NLM_F_DUMP,
        2 => NLM_F_REQUEST,
        3 => NLM_F_ACK,
        _ => NLM_F_REQUEST | NLM_F_ACK,
    }
}

/// A well-formed request of a random ipcon command.
fn valid(rng: &mut Rng, t: &Targets, seq: u32) -> Vec<u8> {
    let command = 1 + rng.below(u64::from(cmd::GROUP_MSG)) as u8;
    let version = if rng.chance(20) { rng.next() as u8 } else { 1 };
    let mut b = MsgBuilder::new();
    b.begin(t.family, flags(rng), seq, command, version);
    let payload_len = match rng.below(10) {
        0 => 2048,
        1 => 2049 + rng.below(2000) as usize,
        _ => rng.below(300) as usize,
    };
    match command {
        cmd::PEER_REGISTER if rng.chance(2) => {
            b.attr(attr::PEER_NAME, &rng.name());
        }
        2 => {
            b.attr(9, &rng.next().to_ne_bytes());
        }
        cmd::PEER_GET | cmd::UNICAST => {
            if rng.chance(2) {
                b.attr(attr::PEER_NAME, &rng.name());
            } else {
                let port = if rng.chance(2) {
                    t.target_port
                } else {
                    rng.next() as u32
                };
                b.attr(attr::PORT, &port.to_ne_bytes());
            }
            if command == cmd::UNICAST {
                b.attr(attr::PAYLOAD, &rng.bytes(payload_len));
            }
        }
        cmd::GROUP_REGISTER => {
            b.attr(attr::GROUP_NAME, &rng.name());
            if rng.chance(2) {
                b.attr(16, &(rng.below(5) as u32).to_ne_bytes());
            }
            if rng.chance(3) {
                b.attr(7, &(rng.next() as u32).to_ne_bytes());
            }
        }
        8..=10 => {
            b.attr(attr::PEER_NAME, &rng.name())
                .attr(attr::GROUP_NAME, &rng.name());
            if rng.chance(2) {
                b.attr(11, &[]);
            }
        }
        cmd::MULTICAST => {
            b.attr(attr::GROUP_NAME, &rng.name())
                .attr(attr::PAYLOAD, &rng.bytes(payload_len));
            if rng.chance(2) {
                b.attr(10, &[]);
            }
        }
        _ => {
            if rng.chance(2) {
                b.attr(attr::GROUP_NAME, &rng.name());
            }
        }
    }
    b.finish().to_vec()
}

/// Random attributes under a random command, with odd type bits.
fn random_attrs(rng: &mut Rng, t: &Targets, seq: u32) -> Vec<u8> {
    let mut b = MsgBuilder::new();
    b.begin(t.family, flags(rng), seq, rng.below(16) as u8, 1);
    for _ in 0..rng.below(8) {
        let mut ty = rng.below(u64::from(attr::MAX) + 6) as u16;
        if rng.chance(8) {
            ty |= 0x8000; // NLA_F_NESTED
        }
        if rng.chance(16) {
            ty |= 0x4000; // NLA_F_NET_BYTEORDER
        }
        let len = match rng.below(8) {
            0 => 0,
            1 => 4,
            2 => 8,
            _ => rng.below(48) as usize,
        };
        let value = if ty & 0x8000 != 0 && rng.chance(2) {
            // Bad nesting: inner attributes with lying lengths.
            let mut inner = Vec::new();
            for _ in 0..1 + rng.below(3) {
                inner.extend_from_slice(&(rng.below(64) as u16).to_ne_bytes());
                inner.extend_from_slice(&(rng.below(30) as u16).to_ne_bytes());
                inner.extend_from_slice(&rng.some_bytes(12));
            }
            inner
        } else {
            rng.bytes(len)
        };
        b.attr(ty, &value);
    }
    b.finish().to_vec()
}

fn flip_bytes(rng: &mut Rng, mut msg: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(msg.len() as u64) as usize;
        msg[at] ^= 1 << rng.below(8);
        if rng.chance(4) {
            msg[at] = rng.next() as u8;
        }
    }
    msg
}

fn truncate(rng: &mut Rng, mut msg: Vec<u8>) -> Vec<u8> {
    let cut = rng.below(msg.len() as u64 + 1) as usize;
    msg.truncate(cut);
    if msg.len() >= 4 && rng.chance(2) {
        // Make the header agree with the cut, so the attributes are what is short.
        let len = msg.len() as u32;
        msg[..4].copy_from_slice(&len.to_ne_bytes());
    }
    msg
}

/// Attribute lengths that overrun the message, or names without room.
fn oversized(rng: &mut Rng, t: &Targets, seq: u32) -> Vec<u8> {
    let command = 1 + rng.below(11) as u8;
    let mut builder = MsgBuilder::new();
    let b = builder.begin(t.family, NLM_F_REQUEST | NLM_F_ACK, seq, command, 1);
    match rng.below(4) {
        0 => {
            // An attribute header claiming more than is there.
            let claimed = 8 + rng.below(4000) as u16;
            let mut raw = claimed.to_ne_bytes().to_vec();
            raw.extend_from_slice(&(1 + rng.below(attr::MAX as u64) as u16).to_ne_bytes());
            raw.extend_from_slice(&rng.some_bytes(16));
            b.raw(&raw).finish().to_vec()
        }
        1 => b
            .attr(attr::PAYLOAD, &{
                let len = 2049 + rng.below(6000) as usize;
                rng.bytes(len)
            })
            .attr(attr::PEER_NAME, b"e2e_f_target\0")
            .finish()
            .to_vec(),
        2 => {
            let len = 32 + rng.below(200) as usize;
            let name: Vec<u8> = (0..len).map(|_| b'x').collect();
            b.attr(1 + rng.below(2) as u16, &name).finish().to_vec()
        }
        _ => {
            // An attribute length below its own header.
            let mut raw = (rng.below(4) as u16).to_ne_bytes().to_vec();
            raw.extend_from_slice(&(rng.below(30) as u16).to_ne_bytes());
            raw.extend_from_slice(&rng.bytes(8));
            b.raw(&raw).finish().to_vec()
        }
    }
}

/// One datagram and how many netlink messages were put in it.
fn generate(rng: &mut Rng, t: &Targets, seq: u32) -> (Vec<u8>, u32) {
    let single = match rng.below(13) {
        0 | 1 => valid(rng, t, seq),
        2 | 3 => {
            let msg = valid(rng, t, seq);
            flip_bytes(rng, msg)
        }
        4 | 5 => random_attrs(rng, t, seq),
        6 => {
            let msg = valid(rng, t, seq);
            truncate(rng, msg)
        }
        7 => oversized(rng, t, seq),
        8..=11 => {
            // Several messages in one datagram, some broken (the kernel
            // answers each; one sendmsg for many keeps TCG time down).
            let parts = 2 + rng.below(5) as u32;
            let mut all = Vec::new();
            for _ in 0..parts {
                let mut msg = if rng.chance(2) {
                    valid(rng, t, seq)
                } else {
                    random_attrs(rng, t, seq)
                };
                if rng.chance(3) {
                    msg = flip_bytes(rng, msg);
                }
                all.extend_from_slice(&msg);
            }
            return (all, parts);
        }
        _ => {
            // Header-level nonsense: lying nlmsg_len, odd types, junk.
            let mut msg = valid(rng, t, seq);
            match rng.below(4) {
                0 => {
                    let len = rng.next() as u32;
                    msg[..4].copy_from_slice(&len.to_ne_bytes());
                }
                1 => msg[16..20].copy_from_slice(&rng.bytes(4)),
                2 => msg = rng.some_bytes(64),
                _ => {
                    let kind = t.family.wrapping_add(1 + rng.below(3) as u16);
                    msg[4..6].copy_from_slice(&kind.to_ne_bytes());
                }
            }
            msg
        }
    };
    (single, 1)
}

/// Opens a fuzzing socket; some register as peers (with a group) so that
/// commands get past the "not a peer" check.
fn fuzz_socket(index: usize, name: &str, family: u16) -> Result<RawSocket, String> {
    let socket = RawSocket::open().ctx("raw socket")?;
    let mut b = MsgBuilder::new();
    b.begin(family, NLM_F_REQUEST | NLM_F_ACK, 1, cmd::PEER_REGISTER, 1);
    match index {
        0 => {
            b.attr_str(attr::PEER_NAME, name);
        }
        1 => {}
        _ => return Ok(socket),
    }
    let ack = socket.request(b.finish(), 1, |_, _| {})?;
    ensure_eq!(ack.errno, 0, "register fuzzing socket {index}");
    b.begin(family, NLM_F_REQUEST | NLM_F_ACK, 2, cmd::GROUP_REGISTER, 1)
        .attr_str(attr::GROUP_NAME, "fg");
    let ack = socket.request(b.finish(), 2, |_, _| {})?;
    ensure_eq!(ack.errno, 0, "group of fuzzing socket {index}");
    Ok(socket)
}

/// What a fuzzing run sent.
#[derive(Debug, Clone, Copy)]
pub struct FuzzStats {
    /// Netlink messages sent.
    pub messages: u32,
    /// Datagrams (sendmsg calls) they went in.
    pub datagrams: u32,
    /// Datagrams sendmsg refused outright.
    pub refused: u32,
}

/// Sends at least `count` generated netlink messages from rotating raw
/// sockets (peers named `PREFIX<n>`), calling `tick` every 1000 datagrams.
pub fn fuzz_run(
    seed: u64,
    count: u32,
    target_port: u32,
    prefix: &str,
    mut tick: impl FnMut(),
) -> Result<FuzzStats, String> {
    let family = RawSocket::open().ctx("raw socket")?.ipcon_family()?;
    let targets = Targets {
        family,
        target_port,
    };
    let mut sockets: Vec<RawSocket> = (0..SOCKETS)
        .map(|i| fuzz_socket(i, &format!("{prefix}0"), family))
        .collect::<Result<_, _>>()?;
    let mut rng = Rng(seed);
    let mut stats = FuzzStats {
        messages: 0,
        datagrams: 0,
        refused: 0,
    };
    while stats.messages < count {
        let n = stats.datagrams;
        let which = rng.below(SOCKETS as u64) as usize;
        let (bytes, messages) = generate(&mut rng, &targets, n + 10);
        if sockets[which].send(&bytes).is_err() {
            stats.refused += 1;
        }
        stats.messages += messages;
        stats.datagrams += 1;
        if n % 8 == 7 {
            for socket in &sockets {
                socket.drain();
            }
        }
        if n % 1000 == 999 {
            tick();
        }
        if n % 5000 == 4999 {
            // Close one socket with whatever state the fuzz gave it.
            let index = rng.below(SOCKETS as u64) as usize;
            sockets[index] = fuzz_socket(index, &format!("{prefix}{}", n + 1), family)?;
        }
    }
    Ok(stats)
}

fn malformed_input() -> TestResult {
    let target = Handler::new("e2e_f_target").ctx("register target")?;
    target.register_group("g").ctx("target group")?;
    // An unprivileged user fuzzes at the same time (other permission
    // paths, and concurrency inside the module).
    let port = target.port().to_string();
    let user_messages = crate::harness::stress_count(USER_MESSAGES);
    let user_count = user_messages.to_string();
    let user = Helper::start("unpriv", &["1000", "fuzz", &user_count, &port])?;
    let mut msg = Message::new();
    let started = Instant::now();
    let stats = fuzz_run(
        SEED,
        crate::harness::stress_count(MESSAGES),
        target.port(),
        "e2e_f_peer",
        || {
            while target.receive(&mut msg, Wait::Never).is_ok() {}
        },
    )?;
    crate::harness::note(&format!(
        "{} messages in {} datagrams as root (seed {SEED:#x}) in {:.1}s, {} refused by sendmsg",
        stats.messages,
        stats.datagrams,
        started.elapsed().as_secs_f64(),
        stats.refused
    ));
    helper_outcome(&user, Duration::from_secs(120))
        .map_err(|e| format!("unprivileged fuzzing: {e}"))?;
    crate::harness::note(&format!(
        "{user_messages} more as uid 1000 (seed {USER_SEED:#x})"
    ));
    // The module still works.
    let receiver = Handler::new("e2e_f_after").ctx("register after fuzzing")?;
    let sender = Handler::anonymous().ctx("sender after fuzzing")?;
    sender
        .send_unicast("e2e_f_after", b"still alive")
        .ctx("unicast after fuzzing")?;
    ensure_eq!(
        receive_kind(&receiver, &mut msg, MessageKind::Unicast)?,
        "still alive",
        "round trip"
    );
    while target.receive(&mut msg, Wait::Never).is_ok() {}
    receiver
        .join_group("e2e_f_target", "g", Replay::Skip)
        .ctx("join after fuzzing")?;
    let report = target
        .send_multicast_sync("g", b"group alive")
        .ctx("multicast after fuzzing")?;
    ensure!(
        report.delivered >= 1,
        "sync report after fuzzing: {report:?}"
    );
    ensure_eq!(
        receive_kind(&receiver, &mut msg, MessageKind::Group)?,
        "group alive",
        "group round trip"
    );
    // And the kernel said nothing alarming.
    let (_, log) = shell("dmesg")?;
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| {
            [
                "WARNING:",
                "BUG:",
                "Oops",
                "general protection",
                "UBSAN",
                "KASAN",
                "refcount_t",
                "list_add corruption",
                "list_del corruption",
            ]
            .iter()
            .any(|needle| l.contains(needle))
        })
        .collect();
    ensure!(
        bad.is_empty(),
        "kernel log after fuzzing: {}",
        bad.join(" | ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_reproducible_and_never_panics() {
        let targets = Targets {
            family: 0x20,
            target_port: 1234,
        };
        let run = || {
            let mut rng = Rng(SEED);
            let mut digest = 0u64;
            for n in 0..MESSAGES {
                let (msg, _) = generate(&mut rng, &targets, n);
                digest = digest.rotate_left(5)
                    ^ msg.len() as u64
                    ^ u64::from(msg.first().copied().unwrap_or(0));
            }
            digest
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn every_strategy_is_used() {
        let targets = Targets {
            family: 0x20,
            target_port: 1,
        };
        let mut rng = Rng(SEED);
        let (mut oversized, mut short, mut multi) = (0, 0, 0);
        for n in 0..10_000 {
            let (msg, parts) = generate(&mut rng, &targets, n);
            oversized += usize::from(msg.len() > 2100);
            short += usize::from(msg.len() < 20);
            multi += usize::from(parts > 1);
            if parts > 1 {
                // Each part is a whole message: the datagram splits into them
                // unless a flipped length byte hides the rest.
                assert!(ipcon_test_support::rawnl::packets(&msg).count() <= parts as usize);
            }
        }
        assert!(
            oversized > 100 && short > 100 && multi > 100,
            "{oversized} {short} {multi}"
        );
    }
}
