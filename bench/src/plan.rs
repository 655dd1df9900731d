//! What one invocation measures, in which order, with how many messages.
//!
//! Ratios between implementations are what the benchmark reports, and a
//! ratio of two measurements taken minutes apart moves with whatever else
//! the host does. So the implementations of one configuration (shape, size,
//! subscribers) are measured in short rounds, one after the other, and the
//! rounds follow each other at once: A B, B A, A B, ... Each round gives one
//! ratio per pair of implementations taken seconds apart; the host reports
//! their median and spread. A configuration whose checked ratios spread
//! wider than [`SPREAD_LIMIT`] is measured again (once, in the same boot),
//! and the new rounds replace the first ones.

use std::io::Write;

use crate::error::Result;
use crate::output::{self, Measurement};
use crate::role::{Impl, Role, RoleArgs};
use crate::spread::spread;
use crate::{dbus, genl_floor, measure, sched, ubus};

/// `--help`.
pub const USAGE: &str = "\
usage: ipcon-perf [--runs N] [--quick] [--only unicast|rtt|fanout]
                  [--impl NAME[,NAME...]] [--size BYTES]
  --runs N      rounds per configuration (default 5): every implementation
                once per round, rounds back to back in alternating order
  --quick       3 rounds with about a tenth of the messages (a smoke test)
  --only SHAPE  measure one shape only
  --impl NAMES  measure these implementations only (e.g. ipcon-post,uds-seqpacket;
                for a kernel profile of one code path: cargo xtask profile)
  --size BYTES  unicast: this payload size only (64 or 2048)
  --subscribers N  fan-out: this subscriber count only (1, 4, 16 or 64)
Runs as root with the ipcon module loaded; prints PERF lines (see bench/README.md).";

/// A kind of measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One-way unicast throughput.
    Unicast,
    /// Request/response round trips.
    Rtt,
    /// One publisher to many subscribers.
    Fanout,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Unicast, Shape::Rtt, Shape::Fanout];

    fn name(self) -> &'static str {
        match self {
            Shape::Unicast => "unicast",
            Shape::Rtt => "rtt",
            Shape::Fanout => "fanout",
        }
    }

    /// The shape called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Rounds per configuration.
    pub runs: u32,
    /// Fewer messages, one run.
    pub quick: bool,
    /// Only this shape.
    pub only: Option<Shape>,
    /// Only these implementations (all when empty).
    pub impls: Vec<Impl>,
    /// Unicast: only this payload size.
    pub size: Option<usize>,
    /// Fan-out: only this subscriber count.
    pub subscribers: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            runs: DEFAULT_ROUNDS,
            quick: false,
            only: None,
            impls: Vec::new(),
            size: None,
            subscribers: None,
        }
    }
}

/// Rounds per configuration by default: five per-round ratios give a
/// median and an interquartile range.
pub const DEFAULT_ROUNDS: u32 = 5;
/// Rounds of `--quick`.
const QUICK_ROUNDS: u32 = 3;

/// A configuration one of whose checked ratios spreads wider than this (half
/// its interquartile range over the median, i.e. ±10 %) is measured again.
pub const SPREAD_LIMIT: f64 = 0.10;

/// The ratios whose spread decides a re-measurement: (metric, numerator,
/// denominator) within one configuration. They are the ones behind the
/// issue's headline ratios, which `cargo xtask bench` computes (its
/// `TARGETS` and `ratios`; keep the two in step).
const CHECKED_PAIRS: &[(&str, Impl, Impl)] = &[
    ("throughput", Impl::Ipcon, Impl::RawNetlink),
    ("throughput", Impl::IpconBatch, Impl::UdsSeqpacket),
    ("median", Impl::Ipcon, Impl::RawNetlink),
    ("median", Impl::IpconPost, Impl::UdsSeqpacket),
    ("total", Impl::IpconBatch, Impl::UdsSeqpacket),
    ("publisher-cpu", Impl::IpconBatch, Impl::UdsSeqpacket),
    ("throughput", Impl::IpconBatch, Impl::Ubus),
    ("median", Impl::IpconPost, Impl::Ubus),
    ("total", Impl::IpconBatch, Impl::Ubus),
    ("throughput", Impl::IpconBatch, Impl::Dbus),
    ("median", Impl::IpconPost, Impl::Dbus),
    ("total", Impl::IpconBatch, Impl::Dbus),
];

/// Unicast payload sizes.
const UNICAST_SIZES: [usize; 2] = [64, 2048];
/// Round-trip and fan-out payload size.
const SMALL: usize = 64;
/// Fan-out subscriber counts.
const SUBSCRIBERS: [usize; 4] = [1, 4, 16, 64];
/// Pacing of the one-way shapes (unicast and fan-out, every
/// implementation): the sender yields after this many messages. It fits
/// every receiver's queue (ipcon's default 1 MiB holds a few hundred of the
/// largest payloads, [`SUBSCRIBER_RECV_BUFFER`](crate::ipcon::SUBSCRIBER_RECV_BUFFER)
/// many bursts); a UDS sender blocks earlier, at `net.unix.max_dgram_qlen`.
const BURST: usize = 64;

/// The untimed warm-up before every one-way stream (unicast and fan-out,
/// every implementation): two bursts, which every receiver takes in full
/// before the clock starts. A process's first messages cost it more than
/// the rest (its buffers' first use faults their pages in, its first
/// wakeups), and a fan-out subscriber's share of a round is only a few
/// hundred messages. Without the warm-up, fan-out to 16 measured 29 % less
/// for ipcon-batch (138.6k against 195.6k msg/s), 13 % less for Unix
/// sockets and 20 % less for ubus: a one-time cost of a different share
/// for each implementation (each allocates differently).
const STREAM_WARMUP: u64 = 2 * BURST as u64;

/// Message counts of one round, so one measurement takes roughly
/// 0.3–0.8 s in the emulated (TCG) VM with one vCPU: long enough that the
/// start of the processes does not count, short enough that the two sides
/// of a pair see the same host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    /// Unicast messages of 64 bytes.
    unicast_small: u64,
    /// Unicast messages of 2048 bytes.
    unicast_large: u64,
    /// Timed round trips.
    rtt: u64,
    /// Untimed round trips before them.
    rtt_warmup: u64,
    /// Fan-out deliveries (messages × subscribers) per measurement.
    fanout_deliveries: u64,
}

impl Counts {
    const FULL: Counts = Counts {
        unicast_small: 15_000,
        unicast_large: 7_500,
        rtt: 2_000,
        rtt_warmup: 100,
        fanout_deliveries: 15_000,
    };

    fn new(quick: bool) -> Self {
        if quick {
            let c = Self::FULL;
            Counts {
                unicast_small: c.unicast_small / 10,
                unicast_large: c.unicast_large / 10,
                rtt: c.rtt / 10,
                rtt_warmup: c.rtt_warmup / 10,
                fanout_deliveries: c.fanout_deliveries / 10,
            }
        } else {
            Self::FULL
        }
    }

    /// Messages published to `subscribers` (the same deliveries for every
    /// fan-out width, so each takes about as long).
    fn fanout_messages(&self, subscribers: usize) -> u64 {
        (self.fanout_deliveries / subscribers as u64).max(100)
    }
}

/// The implementations of each shape, then the baselines the VM has that
/// measure it (ubus, D-Bus: every shape; the generic netlink floors: round
/// trips).
fn impls(shape: Shape, baselines: &[Impl]) -> Vec<Impl> {
    let mut impls = built_in_impls(shape).to_vec();
    impls.extend(baselines.iter().filter(|imp| imp.measures(shape)));
    impls
}

/// The implementations every VM has.
fn built_in_impls(shape: Shape) -> &'static [Impl] {
    match shape {
        Shape::Unicast => &[
            Impl::Ipcon,
            Impl::IpconBatch,
            Impl::IpconPost,
            Impl::RawNetlink,
            Impl::UdsSeqpacket,
        ],
        Shape::Rtt => &[
            Impl::Ipcon,
            Impl::IpconPost,
            Impl::IpconCall,
            Impl::RawNetlink,
            Impl::RawPost,
            Impl::UdsSeqpacket,
            Impl::Pipe,
        ],
        Shape::Fanout => &[
            Impl::Ipcon,
            Impl::IpconBatch,
            Impl::IpconPost,
            Impl::UdsSeqpacket,
        ],
    }
}

/// Prints one line to stdout at once (the orchestrator's reader sees
/// progress, and a crash loses nothing printed).
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Context for the reader of the results.
fn print_context(options: &Options, rounds: u32, counts: &Counts) {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    let vcpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let fanout: Vec<String> = SUBSCRIBERS
        .iter()
        .map(|&n| format!("{n}:{}", counts.fanout_messages(n)))
        .collect();
    // Whether the layout was fixed (`cargo xtask bench` boots with `nokaslr
    // norandmaps`): under TCG a randomized one moves the figures between
    // boots and processes.
    let randomize_va_space = std::fs::read_to_string("/proc/sys/kernel/randomize_va_space")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    let kaslr = match std::fs::read_to_string("/proc/cmdline") {
        Ok(cmdline) if cmdline.split_whitespace().any(|w| w == "nokaslr") => "off",
        Ok(_) => "on",
        Err(_) => "unknown",
    };
    for (key, value) in [
        ("kernel", kernel),
        ("vcpus", vcpus.to_string()),
        ("randomize_va_space", randomize_va_space),
        ("kaslr", kaslr.to_string()),
        ("rounds", rounds.to_string()),
        ("quick", options.quick.to_string()),
        ("unicast_messages_64", counts.unicast_small.to_string()),
        ("unicast_messages_2048", counts.unicast_large.to_string()),
        ("rtt_round_trips", counts.rtt.to_string()),
        ("rtt_warmup", counts.rtt_warmup.to_string()),
        ("stream_warmup", STREAM_WARMUP.to_string()),
        ("fanout_messages_per_subscriber_count", fanout.join(",")),
        ("burst", BURST.to_string()),
        ("batch_messages", crate::ipcon::BATCH_MESSAGES.to_string()),
        (
            "receiver_policy",
            format!(
                "unicast and fanout receivers {}, senders {}; rtt both sides {}",
                sched::THROUGHPUT_RECEIVER_POLICY,
                sched::ROUND_TRIP_POLICY,
                sched::ROUND_TRIP_POLICY
            ),
        ),
        (
            "note",
            "emulated VM: compare implementations within one run, not absolute numbers".to_string(),
        ),
    ] {
        emit(&output::info_line(key, &value));
    }
}

/// What explains a stream's throughput: sends repeated on a full queue,
/// and how often the receivers blocked per message.
fn print_diagnostics(what: &str, imp: Impl, run: u32, outcome: &measure::Outcome) {
    let name = imp.name();
    emit(&output::info_line(
        &format!("retries {what} {name} run {run}"),
        &outcome.retries.to_string(),
    ));
    emit(&output::info_line(
        &format!("receiver waits per message {what} {name} run {run}"),
        &format!("{:.3}", outcome.waits_per_message),
    ));
}

/// The configurations to measure, in order (by shape, then payload size or
/// subscriber count), each with the implementations compared in it. The
/// implementation and the tag are filled in per measurement.
fn configurations(shapes: &[Shape], counts: &Counts) -> Vec<(Shape, RoleArgs)> {
    let base = RoleArgs {
        role: Role::Sender,
        imp: Impl::Ipcon,
        size: SMALL,
        count: 0,
        warmup: 0,
        tag: String::new(),
        index: 0,
        subscribers: 1,
        burst: BURST,
    };
    let mut configs = Vec::new();
    for &shape in shapes {
        match shape {
            Shape::Unicast => configs.extend(UNICAST_SIZES.iter().map(|&size| {
                let count = if size == SMALL {
                    counts.unicast_small
                } else {
                    counts.unicast_large
                };
                (
                    shape,
                    RoleArgs {
                        size,
                        count,
                        warmup: STREAM_WARMUP,
                        ..base.clone()
                    },
                )
            })),
            Shape::Rtt => configs.push((
                shape,
                RoleArgs {
                    count: counts.rtt,
                    warmup: counts.rtt_warmup,
                    ..base.clone()
                },
            )),
            Shape::Fanout => configs.extend(SUBSCRIBERS.iter().map(|&n| {
                (
                    shape,
                    RoleArgs {
                        count: counts.fanout_messages(n),
                        warmup: STREAM_WARMUP,
                        subscribers: n,
                        ..base.clone()
                    },
                )
            })),
        }
    }
    configs
}

/// The order of the implementations in round `round`: as listed in odd
/// rounds, reversed in even ones, so that no implementation always runs
/// first (or right after the same other one).
fn round_order(shape: Shape, baselines: &[Impl], round: u32) -> Vec<Impl> {
    let mut order = impls(shape, baselines);
    if round % 2 == 0 {
        order.reverse();
    }
    order
}

/// The widest spread of the checked ratios over the rounds of one
/// configuration, with the ratio's name; `None` when none was measured.
fn widest_spread(measurements: &[Measurement]) -> Option<(String, f64)> {
    let value = |metric: &str, imp: Impl, run: u32| {
        measurements
            .iter()
            .find(|m| m.metric == metric && m.implementation == imp.name() && m.run == run)
            .map(|m| m.value)
    };
    let mut runs: Vec<u32> = measurements.iter().map(|m| m.run).collect();
    runs.sort_unstable();
    runs.dedup();
    CHECKED_PAIRS
        .iter()
        .filter_map(|&(metric, numerator, denominator)| {
            let per_round: Vec<f64> = runs
                .iter()
                .filter_map(|&run| {
                    let (n, d) = (
                        value(metric, numerator, run)?,
                        value(metric, denominator, run)?,
                    );
                    (d > 0.0).then_some(n / d)
                })
                .collect();
            let name = format!("{metric} {}/{}", numerator.name(), denominator.name());
            Some((name, spread(&per_round)?))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Measures one implementation of one configuration once.
fn measure_one(shape: Shape, args: &RoleArgs, run: u32) -> Result<Vec<Measurement>> {
    let imp = args.imp;
    Ok(match shape {
        Shape::Unicast => {
            let outcome = measure::unicast(args, run)?;
            print_diagnostics(&format!("unicast {}", args.size), imp, run, &outcome);
            outcome.measurements
        }
        Shape::Rtt => measure::round_trip(args, run)?,
        Shape::Fanout => {
            let outcome = measure::fanout(args, run)?;
            print_diagnostics(&format!("fanout {}", args.subscribers), imp, run, &outcome);
            outcome.measurements
        }
    })
}

/// A configuration's label in `PERF-INFO` keys.
fn label(shape: Shape, args: &RoleArgs) -> String {
    match shape {
        Shape::Fanout => format!("fanout {}", args.subscribers),
        _ => format!("{} {}", shape.name(), args.size),
    }
}

/// Runs everything `options` asks for and prints the results.
pub fn run_all(options: &Options) -> Result<()> {
    let rounds = if options.quick {
        QUICK_ROUNDS
    } else {
        options.runs
    };
    let counts = Counts::new(options.quick);
    print_context(options, rounds, &counts);
    emit(&output::info_line(
        "spread_limit",
        &format!("{SPREAD_LIMIT:.2}"),
    ));
    let shapes: Vec<Shape> = match options.only {
        Some(shape) => vec![shape],
        None => Shape::ALL.to_vec(),
    };
    let broker = if ubus::available() {
        Some(ubus::start()?)
    } else {
        None
    };
    let dbus_broker = if dbus::available() {
        Some(dbus::start()?)
    } else {
        None
    };
    let floor = genl_floor::available();
    let mut baselines = Vec::new();
    for (name, imps, present, what) in [
        (
            "ubus",
            &[Impl::Ubus][..],
            broker.is_some(),
            "ubusd + libubus (OpenWrt), measured",
        ),
        (
            "dbus",
            &[Impl::Dbus][..],
            dbus_broker.is_some(),
            "dbus-daemon + libdbus-1 (Debian), measured",
        ),
        (
            "genl-floor",
            &[Impl::GenlFloor, Impl::GenlFloorBare][..],
            floor,
            "the floor module (bench/floor) loaded: round trips measured",
        ),
    ] {
        if present {
            baselines.extend_from_slice(imps);
        }
        emit(&output::info_line(
            name,
            if present {
                what
            } else {
                "not in this VM, not measured"
            },
        ));
    }
    let mut measured = 0u32;
    let mut printed = 0usize;
    let wanted = |imp: &Impl| options.impls.is_empty() || options.impls.contains(imp);
    let configs =
        configurations(&shapes, &counts)
            .into_iter()
            .filter(|(shape, config)| match shape {
                Shape::Unicast => options.size.map_or(true, |s| s == config.size),
                Shape::Fanout => options
                    .subscribers
                    .map_or(true, |n| n == config.subscribers),
                Shape::Rtt => true,
            });
    for (shape, config) in configs {
        let label = label(shape, &config);
        for attempt in 1..=2 {
            let mut results = Vec::new();
            for round in 1..=rounds {
                for imp in round_order(shape, &baselines, round)
                    .into_iter()
                    .filter(wanted)
                {
                    // Peer, group and socket names unique to the measurement.
                    measured += 1;
                    let args = RoleArgs {
                        imp,
                        tag: format!("p{}m{measured}", std::process::id()),
                        ..config.clone()
                    };
                    for mut m in measure_one(shape, &args, round)? {
                        m.attempt = attempt;
                        emit(&m.line());
                        printed += 1;
                        results.push(m);
                    }
                }
            }
            let widest = widest_spread(&results);
            if let Some((pair, value)) = &widest {
                emit(&output::info_line(
                    &format!("widest spread {label} attempt {attempt}"),
                    &format!("{pair} ±{:.1}%", value * 100.0),
                ));
            }
            match widest {
                Some((_, value)) if value > SPREAD_LIMIT && attempt == 1 => emit(
                    &output::info_line(&format!("remeasured {label}"), "spread above the limit"),
                ),
                _ => break,
            }
        }
    }
    drop(broker);
    drop(dbus_broker);
    emit(&output::end_line(rounds, printed));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_is_a_tenth_and_fanout_keeps_deliveries_about_constant() {
        let full = Counts::new(false);
        let quick = Counts::new(true);
        assert_eq!(quick.unicast_small * 10, full.unicast_small);
        for n in SUBSCRIBERS {
            let messages = full.fanout_messages(n);
            assert!(messages >= 100, "{n}: a stream of at least 100 messages");
            assert!(
                messages * n as u64 * 10 >= full.fanout_deliveries * 9,
                "{n}: deliveries within 10% of the target or above"
            );
        }
        assert_eq!(full.fanout_messages(1), full.fanout_deliveries);
        assert_eq!(quick.fanout_messages(64), 100);
    }

    #[test]
    fn configurations_in_shape_order_rounds_alternate() {
        let counts = Counts::new(false);
        let configs = configurations(&Shape::ALL, &counts);
        let labels: Vec<String> = configs.iter().map(|(s, a)| label(*s, a)).collect();
        assert_eq!(
            labels,
            [
                "unicast 64",
                "unicast 2048",
                "rtt 64",
                "fanout 1",
                "fanout 4",
                "fanout 16",
                "fanout 64"
            ]
        );
        assert_eq!(configs[1].1.count, counts.unicast_large);
        assert_eq!(configs[2].1.warmup, counts.rtt_warmup);
        assert_eq!(configs[6].1.count, counts.fanout_messages(64));
        let names = |round| -> Vec<&str> {
            round_order(Shape::Fanout, &[], round)
                .iter()
                .map(|i| i.name())
                .collect()
        };
        assert_eq!(
            names(1),
            ["ipcon", "ipcon-batch", "ipcon-post", "uds-seqpacket"]
        );
        assert_eq!(
            names(2),
            ["uds-seqpacket", "ipcon-post", "ipcon-batch", "ipcon"]
        );
        assert_eq!(
            impls(Shape::Rtt, &[Impl::Ubus, Impl::Dbus]).last(),
            Some(&Impl::Dbus)
        );
    }

    fn m(metric: &'static str, imp: Impl, run: u32, value: f64) -> Measurement {
        Measurement {
            shape: "unicast",
            metric,
            size: 64,
            subscribers: 1,
            implementation: imp.name(),
            run,
            attempt: 1,
            value,
            unit: "msg/s",
            sent: 1,
            received: 1,
            lost: 0,
        }
    }

    #[test]
    fn the_widest_checked_pair_decides() {
        let mut results = Vec::new();
        for (run, raw, batch) in [(1, 100.0, 200.0), (2, 110.0, 100.0), (3, 90.0, 300.0)] {
            results.push(m("throughput", Impl::Ipcon, run, 100.0));
            results.push(m("throughput", Impl::RawNetlink, run, raw));
            results.push(m("throughput", Impl::IpconBatch, run, batch));
            results.push(m("throughput", Impl::UdsSeqpacket, run, 100.0));
        }
        let (name, value) = widest_spread(&results).unwrap();
        assert_eq!(name, "throughput ipcon-batch/uds-seqpacket");
        // 1, 2, 3: quartiles 1.5 and 2.5 around 2.
        assert!((value - 0.25).abs() < 1e-12, "{value}");
        // Pairs of implementations not measured are not checked.
        results.retain(|m| m.implementation == "ipcon");
        assert_eq!(widest_spread(&results), None);
    }

    #[test]
    fn shapes_by_name() {
        for shape in Shape::ALL {
            assert_eq!(Shape::from_name(shape.name()), Some(shape));
        }
        assert_eq!(Shape::from_name("pipe"), None);
    }
}
