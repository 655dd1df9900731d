//! What one invocation measures, in which order, with how many messages.
//!
//! Every run measures every shape with every implementation, one after the
//! other, so the ratios of one run compare measurements taken under the
//! same conditions (under emulation, absolute numbers vary between boots).

use std::io::Write;

use crate::error::Result;
use crate::output::{self, Measurement};
use crate::role::{Impl, Role, RoleArgs};
use crate::{measure, sched};

/// `--help`.
pub const USAGE: &str = "\
usage: ipcon-perf [--runs N] [--quick] [--only unicast|rtt|fanout]
  --runs N      repeat every measurement N times (default 3)
  --quick       one run with about a tenth of the messages (a smoke test)
  --only SHAPE  measure one shape only
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
    /// Runs of every measurement.
    pub runs: u32,
    /// Fewer messages, one run.
    pub quick: bool,
    /// Only this shape.
    pub only: Option<Shape>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            runs: 3,
            quick: false,
            only: None,
        }
    }
}

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

/// Message counts, calibrated so one measurement takes roughly 0.5–1.5 s
/// in the emulated (TCG) VM with one vCPU: shorter ones (0.1 s) moved by
/// 2x between runs on a busy host.
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
        unicast_small: 30_000,
        unicast_large: 15_000,
        rtt: 4_000,
        rtt_warmup: 100,
        fanout_deliveries: 30_000,
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

/// The implementations of each shape.
fn impls(shape: Shape) -> &'static [Impl] {
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
fn print_context(options: &Options, runs: u32, counts: &Counts) {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    let vcpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let fanout: Vec<String> = SUBSCRIBERS
        .iter()
        .map(|&n| format!("{n}:{}", counts.fanout_messages(n)))
        .collect();
    for (key, value) in [
        ("kernel", kernel),
        ("vcpus", vcpus.to_string()),
        ("runs", runs.to_string()),
        ("quick", options.quick.to_string()),
        ("unicast_messages_64", counts.unicast_small.to_string()),
        ("unicast_messages_2048", counts.unicast_large.to_string()),
        ("rtt_round_trips", counts.rtt.to_string()),
        ("rtt_warmup", counts.rtt_warmup.to_string()),
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

/// The measurements of run `run`, in order: by shape, then by payload size
/// or subscriber count, then by implementation, so the implementations
/// compared with each other are measured back to back (a change of the
/// host's load then hits them alike). Every second run takes the
/// implementations in reverse order, so a drift during a run does not
/// always favour the same one. The tags are left to fill in.
fn schedule(shapes: &[Shape], counts: &Counts, run: u32) -> Vec<(Shape, RoleArgs)> {
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
    let mut jobs = Vec::new();
    for &shape in shapes {
        let configs: Vec<RoleArgs> = match shape {
            Shape::Unicast => UNICAST_SIZES
                .iter()
                .map(|&size| RoleArgs {
                    size,
                    count: if size == SMALL {
                        counts.unicast_small
                    } else {
                        counts.unicast_large
                    },
                    ..base.clone()
                })
                .collect(),
            Shape::Rtt => vec![RoleArgs {
                count: counts.rtt,
                warmup: counts.rtt_warmup,
                ..base.clone()
            }],
            Shape::Fanout => SUBSCRIBERS
                .iter()
                .map(|&n| RoleArgs {
                    count: counts.fanout_messages(n),
                    subscribers: n,
                    ..base.clone()
                })
                .collect(),
        };
        for config in configs {
            let mut order = impls(shape).to_vec();
            if run % 2 == 0 {
                order.reverse();
            }
            for imp in order {
                jobs.push((
                    shape,
                    RoleArgs {
                        imp,
                        ..config.clone()
                    },
                ));
            }
        }
    }
    jobs
}

/// Runs everything `options` asks for and prints the results.
pub fn run_all(options: &Options) -> Result<()> {
    let runs = if options.quick { 1 } else { options.runs };
    let counts = Counts::new(options.quick);
    print_context(options, runs, &counts);
    let shapes: Vec<Shape> = match options.only {
        Some(shape) => vec![shape],
        None => Shape::ALL.to_vec(),
    };
    let mut measured = 0u32;
    let mut printed = 0usize;
    let mut print = |measurements: &[Measurement]| {
        for m in measurements {
            emit(&m.line());
        }
        printed += measurements.len();
    };
    for run in 1..=runs {
        for (shape, mut args) in schedule(&shapes, &counts, run) {
            // Peer, group and socket names unique to the measurement.
            measured += 1;
            args.tag = format!("p{}m{measured}", std::process::id());
            let imp = args.imp;
            match shape {
                Shape::Unicast => {
                    let outcome = measure::unicast(&args, run)?;
                    let what = format!("unicast {}", args.size);
                    print_diagnostics(&what, imp, run, &outcome);
                    print(&outcome.measurements);
                }
                Shape::Rtt => print(&measure::round_trip(&args, run)?),
                Shape::Fanout => {
                    let outcome = measure::fanout(&args, run)?;
                    let what = format!("fanout {}", args.subscribers);
                    print_diagnostics(&what, imp, run, &outcome);
                    print(&outcome.measurements);
                }
            }
        }
    }
    emit(&output::end_line(runs, printed));
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
    fn compared_implementations_run_back_to_back_alternating_order() {
        let counts = Counts::new(false);
        let label = |jobs: &[(Shape, RoleArgs)]| -> Vec<String> {
            jobs.iter()
                .map(|(shape, a)| {
                    format!(
                        "{} {} {} {}",
                        shape.name(),
                        a.size,
                        a.subscribers,
                        a.imp.name()
                    )
                })
                .collect()
        };
        let odd = schedule(&[Shape::Unicast, Shape::Rtt], &counts, 1);
        assert_eq!(
            label(&odd),
            [
                "unicast 64 1 ipcon",
                "unicast 64 1 ipcon-batch",
                "unicast 64 1 ipcon-post",
                "unicast 64 1 raw-netlink",
                "unicast 64 1 uds-seqpacket",
                "unicast 2048 1 ipcon",
                "unicast 2048 1 ipcon-batch",
                "unicast 2048 1 ipcon-post",
                "unicast 2048 1 raw-netlink",
                "unicast 2048 1 uds-seqpacket",
                "rtt 64 1 ipcon",
                "rtt 64 1 ipcon-post",
                "rtt 64 1 ipcon-call",
                "rtt 64 1 raw-netlink",
                "rtt 64 1 uds-seqpacket",
                "rtt 64 1 pipe",
            ]
        );
        assert_eq!(odd[5].1.count, counts.unicast_large);
        assert_eq!(odd[10].1.warmup, counts.rtt_warmup);
        let even = schedule(&[Shape::Fanout], &counts, 2);
        assert_eq!(even.len(), SUBSCRIBERS.len() * 4);
        assert_eq!(
            label(&even[..4]),
            [
                "fanout 64 1 uds-seqpacket",
                "fanout 64 1 ipcon-post",
                "fanout 64 1 ipcon-batch",
                "fanout 64 1 ipcon",
            ]
        );
        assert_eq!(even[4].1.subscribers, 4);
        assert_eq!(even[4].1.count, counts.fanout_messages(4));
    }

    #[test]
    fn shapes_by_name() {
        for shape in Shape::ALL {
            assert_eq!(Shape::from_name(shape.name()), Some(shape));
        }
        assert_eq!(Shape::from_name("pipe"), None);
    }
}
