//! `cargo xtask bench`: ipcon against the IPC a user would pick instead.
//!
//! Builds `ipcon-perf` (bench/) static and the module, boots the VM once
//! (1 vCPU, no allocator debugging), runs the program and aggregates its
//! `PERF` lines: the median over rounds of every measurement, the table with
//! the ratios ipcon/baseline, and every named ratio as the median of its
//! per-round ratios (the two implementations measured back to back) with
//! its spread, against the issue's targets; a target ratio whose spread
//! exceeds ±10 % is reported as unreliable rather than as met or not. Also
//! `target/bench/results.json` (+ `results.md` for the README). The host
//! micro-benchmarks of ipcon-core (`cargo bench -p ipcon-core`) run first
//! unless `--no-micro`.
//!
//! Not part of `cargo xtask test`: unmet targets are reported, not failures.
//! The command fails only when the run itself failed (PERF-ERROR, VM or
//! kernel problem, missing output, messages lost without being reported).
//!
//! Everything from "parse the lines" to "render the table" is pure and unit
//! tested below; `command` only adds the builds, the VM and the files.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::initramfs::GuestFile;
use crate::kernel::{Arch, Kernel};
use crate::process;
use crate::vm::{self, Echo, VmRun};
use crate::workspace::{self, Workspace};
use crate::{dbus, kmod, plot, prepare_vm_host, ubus};

/// The program's own measure of spread, so that both judge a ratio alike.
#[path = "../../bench/src/spread.rs"]
mod spread;
use spread::spread;

/// The benchmark program's package (and binary) name.
const PERF_PACKAGE: &str = "ipcon-perf";
/// The VM the numbers come from: one vCPU, so that every process of a
/// measurement shares it as on a small device and no run depends on how the
/// host schedules several emulated CPUs.
const BENCH_VCPUS: u32 = 1;

/// Where the guest finds the generic netlink floor's module (`bench/floor`).
const FLOOR_GUEST: &str = "/lib/modules/ipcon_floor.ko";

/// Loads the floor's module: run before `ipcon-perf`, which then finds its
/// family and measures its round trips beside the others.
pub fn floor_insmod() -> String {
    format!("insmod {FLOOR_GUEST}")
}

/// The generic netlink floor's module, built for `kernel`, as the guest
/// file [`floor_insmod`] loads.
pub fn floor_guest_file(workspace: &Workspace, kernel: &Kernel) -> Result<GuestFile, String> {
    Ok(GuestFile {
        host: kmod::build_floor(workspace, kernel)?,
        guest: FLOOR_GUEST.into(),
        mode: 0o644,
    })
}

/// Shapes, metrics and implementations in the order the table shows them.
const SHAPES: &[&str] = &["unicast", "rtt", "fanout"];
const METRICS: &[&str] = &[
    "throughput",
    "median",
    "p99",
    "total",
    "per-subscriber",
    "publisher-cpu",
];
const IMPLS: &[&str] = &[
    "ipcon",
    "ipcon-batch",
    "raw-netlink",
    "uds-seqpacket",
    "pipe",
    "ubus",
    "dbus",
];
/// Implementations whose fan-out receivers learn how many messages they
/// missed (the module's `missed` count): their `lost` is reported loss.
/// Everywhere else a lost message would have vanished silently.
const LOSS_REPORTING_IMPLS: &[&str] = &["ipcon", "ipcon-batch", "raw-netlink"];
/// Baselines that drop messages without telling sender or receiver (ubusd,
/// for a client whose queue is full; dbus-daemon, for one whose queue is
/// over its limit): their receivers count the gaps in the sequence numbers.
/// Their loss is a finding reported with the figures, not a failed run.
const SILENT_LOSS_BASELINES: &[&str] = &["ubus", "dbus"];
/// The baselines that go through a broker daemon (ubusd, dbus-daemon): each
/// gets the same named ratios against ipcon's variants.
const BROKERED_BASELINES: [&str; 2] = ["ubus", "dbus"];

/// The ratio columns of the table: (heading, numerator, denominator); other
/// ipcon variants get a "<variant>/uds" column after "batch/uds".
const RATIO_COLUMNS: &[(&str, &str, &str)] = &[
    ("ipcon/uds", "ipcon", "uds-seqpacket"),
    ("batch/uds", "ipcon-batch", "uds-seqpacket"),
    ("ipcon/raw", "ipcon", "raw-netlink"),
    ("ipcon/pipe", "ipcon", "pipe"),
    ("batch/ubus", "ipcon-batch", "ubus"),
    ("batch/dbus", "ipcon-batch", "dbus"),
];

/// The issue's targets: (ratio, comparison, limit).
const TARGETS: &[(&str, Bound, f64)] = &[
    ("library_overhead_vs_raw", Bound::AtMost, 0.05),
    ("library_overhead_2048_vs_raw", Bound::AtMost, 0.05),
    ("library_overhead_rtt_vs_raw", Bound::AtMost, 0.05),
    ("unicast_64_vs_uds", Bound::AtLeast, 0.8),
    ("rtt_64_vs_uds", Bound::AtMost, 1.5),
    ("fanout_16_vs_uds_loop", Bound::AtLeast, 2.0),
    ("call_rtt_64_vs_post", Bound::AtMost, 1.1),
    ("fanout_64_publisher_cpu_vs_uds_loop", Bound::AtMost, 0.15),
    ("unicast_64_vs_ubus", Bound::AtLeast, 3.0),
    ("rtt_64_vs_ubus", Bound::AtMost, 0.25),
    ("fanout_16_vs_ubus", Bound::AtLeast, 8.0),
    ("unicast_64_vs_dbus", Bound::AtLeast, 3.0),
    ("rtt_64_vs_dbus", Bound::AtMost, 0.3),
    ("fanout_16_vs_dbus", Bound::AtLeast, 5.0),
];

/// A target ratio whose per-round ratios spread wider than this (half the
/// interquartile range over the median) is unreliable: the program has
/// already measured its configuration a second time.
const SPREAD_LIMIT: f64 = 0.10;

/// Which of ipcon's APIs stands for "ours" in each of the issue's ratios:
/// the one meant for the job (a stream of one-way messages is sent in
/// batches, a request/response goes out posted, one system call like a
/// Unix socket send). The other APIs' ratios are listed too.
const KEY_IMPLEMENTATIONS: &str = "Issue ratios compare: library overhead ipcon vs \
     raw-netlink (both wait for each ACK); unicast ipcon-batch; rtt ipcon-post; fan-out \
     ipcon-batch, total deliveries per second on one CPU, which includes every subscriber's \
     receive (publisher_cpu: the publisher's own CPU per message, ipcon-batch too, whose \
     batches are packed; *_single_* ratios use the per-message API; for ubus the publisher's \
     plus ubusd's). The same ipcon variants stand against ubus: \
     *_vs_ubus use ipcon-batch (one-way, fan-out) and ipcon-post (rtt). ubus: ubus_invoke \
     round trips to an object's method answered with ubus_send_reply; one-way and fan-out by \
     ubus_notify (no timeout) to ubus_subscriber receivers; blobmsg {seq, data}; ubusd's \
     drops are counted from sequence gaps. The same variants stand against D-Bus (*_vs_dbus): \
     Debian's dbus-daemon (session-bus policy and limits) with libdbus-1 clients; round trips \
     are method calls (dbus_connection_send_with_reply_and_block) answered with a method \
     return; one-way is method calls flagged no-reply-expected to the receiver's well-known \
     name; fan-out is signals to subscribers' match rules; arguments (uint32 seq, byte array); \
     the fan-out publisher's CPU includes dbus-daemon's. genl-floor and genl-floor-bare \
     (round trips only): bench/floor's generic netlink family that only forwards a payload \
     to the port a request names, stamped with the sender's port, with no ipcon code in \
     kernel or user space; genl-floor's requests are validated by generic netlink into the \
     attribute table it allocates per request (as ipcon's are), genl-floor-bare's are not.";

const EMULATION_NOTE: &str = "The VM runs under QEMU TCG emulation (no KVM): absolute figures are \
     those of an emulated CPU; only ratios between implementations within one run mean anything.";

// ---------------------------------------------------------------------------------------
// Options.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    quick: bool,
    /// `--runs`; `None`: the program's default.
    runs: Option<u32>,
    only: Option<String>,
    /// `--impl`: only these implementations (ipcon-perf's names, commas).
    impls: Option<String>,
    micro: bool,
    /// Host-side limit for the VM run; `None`: derived from the runs.
    timeout: Option<u32>,
    /// `--random-layout`: boot with address randomization on, to see what
    /// it does to the spreads (the figures are then not the README's kind).
    random_layout: bool,
    /// `--icount`: the guest's clock counts instructions
    /// ([`VmRun::icount`]): deterministic figures of another kind.
    icount: bool,
}

/// ipcon-perf's own default rounds per configuration, always passed
/// explicitly: the rounds PERF-END reports are checked.
const DEFAULT_RUNS: u32 = 5;
/// The rounds of `--quick`.
const QUICK_RUNS: u32 = 3;

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        runs: None,
        only: None,
        impls: None,
        micro: true,
        timeout: None,
        random_layout: false,
        icount: false,
    };
    let mut index = 0;
    while index < args.len() {
        let name = args[index].as_str();
        match name {
            "--quick" => options.quick = true,
            "--no-micro" => options.micro = false,
            "--random-layout" => options.random_layout = true,
            "--icount" => options.icount = true,
            "--runs" => {
                let runs = crate::parse_number(crate::option_value(args, &mut index, name)?, name)?;
                if runs == 0 {
                    return Err("--runs: at least 1".into());
                }
                options.runs = Some(runs);
            }
            "--only" => {
                options.only = Some(crate::option_value(args, &mut index, name)?.to_owned())
            }
            "--impl" => {
                options.impls = Some(crate::option_value(args, &mut index, name)?.to_owned())
            }
            "--timeout" => {
                options.timeout = Some(crate::parse_number(
                    crate::option_value(args, &mut index, name)?,
                    name,
                )?)
            }
            other => return Err(format!("bench: unknown option {other:?}")),
        }
        index += 1;
    }
    if options.quick && options.runs.is_some() {
        return Err("bench: --quick is one short run; it does not take --runs".into());
    }
    Ok(options)
}

impl Options {
    /// How many rounds the program makes per configuration.
    fn runs(&self) -> u32 {
        if self.quick {
            QUICK_RUNS
        } else {
            self.runs.unwrap_or(DEFAULT_RUNS)
        }
    }

    /// The guest command line.
    fn perf_command(&self) -> String {
        let mut command = format!("/bin/{PERF_PACKAGE}");
        if self.quick {
            command.push_str(" --quick");
        } else {
            command.push_str(&format!(" --runs {}", self.runs()));
        }
        if let Some(shape) = &self.only {
            command.push_str(&format!(" --only '{}'", shape.replace('\'', r"'\''")));
        }
        if let Some(impls) = &self.impls {
            command.push_str(&format!(" --impl '{}'", impls.replace('\'', r"'\''")));
        }
        command
    }

    /// A round of every configuration takes about 2 minutes in the TCG
    /// guest, a re-measured configuration twice its rounds: room for twice
    /// that, plus the boot.
    fn vm_timeout(&self) -> Duration {
        let seconds = match self.timeout {
            Some(seconds) => seconds,
            None if self.quick => 600,
            None => 300 + 480 * self.runs(),
        };
        Duration::from_secs(seconds.into())
    }
}

// ---------------------------------------------------------------------------------------
// The program's output.

/// One `PERF` line.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Measurement {
    pub shape: String,
    pub metric: String,
    pub size: u32,
    pub subscribers: u32,
    #[serde(rename(deserialize = "impl", serialize = "implementation"))]
    pub implementation: String,
    pub run: u32,
    /// 2 for the rounds of a configuration measured again.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    pub value: f64,
    pub unit: String,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
}

fn first_attempt() -> u32 {
    1
}

impl Measurement {
    fn key(&self) -> Key {
        Key {
            shape: self.shape.clone(),
            metric: self.metric.clone(),
            size: self.size,
            subscribers: self.subscribers,
            implementation: self.implementation.clone(),
        }
    }

    /// What one run of one implementation of one shape delivered: the
    /// metrics of a run (median and p99, total and per-subscriber) share it.
    fn delivery_key(&self) -> (String, u32, u32, String, u32, u32) {
        (
            self.shape.clone(),
            self.size,
            self.subscribers,
            self.implementation.clone(),
            self.run,
            self.attempt,
        )
    }

    /// The configuration it belongs to: shape, size, subscribers.
    fn configuration(&self) -> (String, u32, u32) {
        (self.shape.clone(), self.size, self.subscribers)
    }

    /// Why the counts do not add up, if they do not: every message sent is
    /// received or counted as lost (for fan-out, `sent` may count the
    /// published messages or the deliveries to all subscribers), and loss
    /// is only acceptable where the receivers are told about it.
    fn unaccounted(&self) -> Option<String> {
        let accounted = self.received.saturating_add(self.lost);
        let expected_fanout = self.sent.saturating_mul(u64::from(self.subscribers));
        let balanced =
            accounted == self.sent || (self.shape == "fanout" && accounted == expected_fanout);
        let label = format!(
            "{} {} B x{} {} run {}",
            self.shape, self.size, self.subscribers, self.implementation, self.run
        );
        if !balanced {
            return Some(format!(
                "{label}: sent {}, received {}, lost {}: messages unaccounted for",
                self.sent, self.received, self.lost
            ));
        }
        let reported =
            self.shape == "fanout" && LOSS_REPORTING_IMPLS.contains(&self.implementation.as_str());
        let baseline = SILENT_LOSS_BASELINES.contains(&self.implementation.as_str());
        if self.lost > 0 && !reported && !baseline {
            return Some(format!(
                "{label}: {} messages lost without any report to sender or receiver",
                self.lost
            ));
        }
        None
    }
}

/// What identifies a measurement across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub shape: String,
    pub metric: String,
    pub size: u32,
    pub subscribers: u32,
    pub implementation: String,
}

/// Everything the program printed that matters here.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PerfOutput {
    pub measurements: Vec<Measurement>,
    /// `PERF-INFO` keys and values, in order.
    pub info: Vec<(String, String)>,
    /// `PERF-END`: (runs, measurements).
    pub end: Option<(u64, u64)>,
    /// `PERF-ERROR` texts.
    pub errors: Vec<String>,
    /// Lines that started like a `PERF` line but did not parse.
    pub malformed: Vec<String>,
}

/// The JSON object that starts `text`; what follows it (a kernel message
/// sharing the console line) is ignored.
fn leading_json<T: for<'de> Deserialize<'de>>(text: &str) -> Option<T> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<T>()
        .next()?
        .ok()
}

/// Reads the program's lines out of the console (kernel messages may share
/// a line: each tag is looked for anywhere in it).
pub fn parse_output(lines: &[String]) -> PerfOutput {
    let mut output = PerfOutput::default();
    for line in lines {
        if let Some(at) = line.find("PERF-ERROR") {
            output
                .errors
                .push(line[at + "PERF-ERROR".len()..].trim().to_owned());
        } else if let Some(at) = line.find("PERF-INFO ") {
            match leading_json::<Value>(&line[at + "PERF-INFO ".len()..]) {
                Some(info) => {
                    let text = |field: &str| match &info[field] {
                        Value::String(text) => text.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    output.info.push((text("key"), text("value")));
                }
                None => output.malformed.push(line.clone()),
            }
        } else if let Some(at) = line.find("PERF-END ") {
            let end = leading_json::<Value>(&line[at + "PERF-END ".len()..])
                .and_then(|end| Some((end["runs"].as_u64()?, end["measurements"].as_u64()?)));
            match end {
                Some(end) => output.end = Some(end),
                None => output.malformed.push(line.clone()),
            }
        } else if let Some(at) = line.find("PERF {") {
            match leading_json::<Measurement>(&line[at + "PERF ".len()..]) {
                Some(measurement) => output.measurements.push(measurement),
                None => output.malformed.push(line.clone()),
            }
        }
    }
    output
}

/// Why the program's output does not make a complete, honest run; empty
/// when it does. Unmet targets are not problems.
pub fn output_problems(output: &PerfOutput) -> Vec<String> {
    let mut problems: Vec<String> = output
        .errors
        .iter()
        .map(|error| format!("PERF-ERROR {error}"))
        .collect();
    for line in &output.malformed {
        problems.push(format!("unreadable line: {line}"));
    }
    match output.end {
        None => problems.push("the program never printed PERF-END".into()),
        Some((_, count)) if count != output.measurements.len() as u64 => problems.push(format!(
            "PERF-END announces {count} measurements, {} were read",
            output.measurements.len()
        )),
        Some(_) => {}
    }
    if output.measurements.is_empty() {
        problems.push("no measurements".into());
    }
    let mut seen = Vec::new();
    for measurement in &output.measurements {
        if !measurement.value.is_finite() || measurement.value < 0.0 {
            problems.push(format!(
                "{:?}: value {} is not a measurement",
                measurement.key(),
                measurement.value
            ));
        }
        // Median and p99 (total and per-subscriber) repeat one run's counts.
        let delivery = measurement.delivery_key();
        if seen.contains(&delivery) {
            continue;
        }
        seen.push(delivery);
        problems.extend(measurement.unaccounted());
    }
    problems
}

/// The program must have done the runs it was asked for (`--quick`: one).
pub fn runs_problem(output: &PerfOutput, expected: u64) -> Option<String> {
    let (runs, _) = output.end?;
    (runs != expected).then(|| format!("asked for {expected} runs, PERF-END reports {runs}"))
}

/// Why the guest's address layout was not the fixed one `bench` boots with
/// (`nokaslr norandmaps`, see [`VmRun::fixed_layout`]); `None` when it was.
/// Figures from a randomized layout are not comparable with the README's.
pub fn layout_problem(output: &PerfOutput, fixed: bool) -> Option<String> {
    let info = |key: &str| {
        output
            .info
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match (info("randomize_va_space"), info("kaslr")) {
        (Some("0"), Some("off")) if fixed => None,
        (Some(va), Some("on")) if !fixed && va != "0" => None,
        (va, kaslr) => Some(format!(
            "the guest's layout was not {}: randomize_va_space {}, kaslr {}",
            if fixed { "fixed" } else { "randomized" },
            va.unwrap_or("not reported"),
            kaslr.unwrap_or("not reported")
        )),
    }
}

/// Messages lost per implementation over every run (each run's counts
/// once, although two metrics print them).
pub fn lost_per_implementation(measurements: &[Measurement]) -> BTreeMap<String, u64> {
    let mut seen = Vec::new();
    let mut lost = BTreeMap::new();
    for measurement in measurements {
        let delivery = measurement.delivery_key();
        if seen.contains(&delivery) {
            continue;
        }
        seen.push(delivery);
        *lost.entry(measurement.implementation.clone()).or_insert(0) += measurement.lost;
    }
    lost
}

// ---------------------------------------------------------------------------------------
// Medians and ratios.

/// The median over runs of one measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Median {
    pub shape: String,
    pub metric: String,
    pub size: u32,
    pub subscribers: u32,
    pub implementation: String,
    pub value: f64,
    pub unit: String,
    pub runs: usize,
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

/// Position of `item` in `order`; unknown items after the known ones.
fn rank(order: &[&str], item: &str) -> usize {
    order
        .iter()
        .position(|known| *known == item)
        .unwrap_or(order.len())
}

/// Table order: shape, size, subscribers, metric, implementation.
fn display_order(key: &Key) -> (usize, String, u32, u32, usize, String, usize, String) {
    (
        rank(SHAPES, &key.shape),
        key.shape.clone(),
        key.size,
        key.subscribers,
        rank(METRICS, &key.metric),
        key.metric.clone(),
        rank(IMPLS, &key.implementation),
        key.implementation.clone(),
    )
}

/// The median over runs of every (shape, metric, size, subscribers,
/// implementation), in table order.
pub fn medians(measurements: &[Measurement]) -> Vec<Median> {
    let mut groups: BTreeMap<Key, (Vec<f64>, String)> = BTreeMap::new();
    for measurement in measurements {
        let entry = groups
            .entry(measurement.key())
            .or_insert_with(|| (Vec::new(), measurement.unit.clone()));
        entry.0.push(measurement.value);
    }
    let mut result: Vec<(Key, Median)> = groups
        .into_iter()
        .filter_map(|(key, (mut values, unit))| {
            let runs = values.len();
            let value = median(&mut values)?;
            let median = Median {
                shape: key.shape.clone(),
                metric: key.metric.clone(),
                size: key.size,
                subscribers: key.subscribers,
                implementation: key.implementation.clone(),
                value,
                unit,
                runs,
            };
            Some((key, median))
        })
        .collect();
    result.sort_by_key(|(key, _)| display_order(key));
    result.into_iter().map(|(_, median)| median).collect()
}

fn lookup(
    medians: &[Median],
    shape: &str,
    metric: &str,
    size: u32,
    subscribers: u32,
    implementation: &str,
) -> Option<f64> {
    medians
        .iter()
        .find(|m| {
            m.shape == shape
                && m.metric == metric
                && m.size == size
                && m.subscribers == subscribers
                && m.implementation == implementation
        })
        .map(|m| m.value)
}

fn quotient(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    match (numerator, denominator) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    }
}

/// The named ratios of the medians; a ratio whose measurements are missing
/// is absent (never zero). In a stable order: the issue's first.
pub fn ratios(medians: &[Median]) -> Vec<(String, f64)> {
    let unicast = |size: u32, implementation: &str| {
        lookup(medians, "unicast", "throughput", size, 1, implementation)
    };
    let rtt =
        |metric: &str, implementation: &str| lookup(medians, "rtt", metric, 64, 1, implementation);
    let fanout = |subscribers: u32, implementation: &str| {
        lookup(medians, "fanout", "total", 64, subscribers, implementation)
    };
    let mut named: Vec<(String, Option<f64>)> = vec![
        (
            "library_overhead_vs_raw".into(),
            quotient(unicast(64, "raw-netlink"), unicast(64, "ipcon")).map(|q| q - 1.0),
        ),
        (
            "unicast_64_vs_uds".into(),
            quotient(unicast(64, "ipcon-batch"), unicast(64, "uds-seqpacket")),
        ),
        (
            "rtt_64_vs_uds".into(),
            quotient(rtt("median", "ipcon-post"), rtt("median", "uds-seqpacket")),
        ),
        (
            "fanout_16_vs_uds_loop".into(),
            quotient(fanout(16, "ipcon-batch"), fanout(16, "uds-seqpacket")),
        ),
        // Calls (issue 16): the call header and the pending-call table over
        // the posted round trip, and a call against a UDS request/response.
        (
            "call_rtt_64_vs_post".into(),
            quotient(rtt("median", "ipcon-call"), rtt("median", "ipcon-post")),
        ),
        (
            "call_rtt_64_vs_uds".into(),
            quotient(rtt("median", "ipcon-call"), rtt("median", "uds-seqpacket")),
        ),
        (
            "rtt_64_wait_vs_uds".into(),
            quotient(rtt("median", "ipcon"), rtt("median", "uds-seqpacket")),
        ),
        (
            "library_overhead_rtt_vs_raw".into(),
            quotient(rtt("median", "ipcon"), rtt("median", "raw-netlink")).map(|q| q - 1.0),
        ),
        (
            "library_overhead_2048_vs_raw".into(),
            quotient(unicast(2048, "raw-netlink"), unicast(2048, "ipcon")).map(|q| q - 1.0),
        ),
        (
            "unicast_64_single_vs_uds".into(),
            quotient(unicast(64, "ipcon"), unicast(64, "uds-seqpacket")),
        ),
        (
            "unicast_2048_vs_uds".into(),
            quotient(unicast(2048, "ipcon-batch"), unicast(2048, "uds-seqpacket")),
        ),
        (
            "unicast_2048_single_vs_uds".into(),
            quotient(unicast(2048, "ipcon"), unicast(2048, "uds-seqpacket")),
        ),
        (
            "rtt_64_vs_pipe".into(),
            quotient(rtt("median", "ipcon"), rtt("median", "pipe")),
        ),
        (
            "rtt_64_raw_vs_uds".into(),
            quotient(rtt("median", "raw-netlink"), rtt("median", "uds-seqpacket")),
        ),
        (
            "rtt_64_p99_vs_uds".into(),
            quotient(rtt("p99", "ipcon"), rtt("p99", "uds-seqpacket")),
        ),
        // The generic netlink floor (bench/floor): where any forwarder on
        // generic netlink stands, and what ipcon adds to it.
        (
            "rtt_64_floor_vs_uds".into(),
            quotient(rtt("median", "genl-floor"), rtt("median", "uds-seqpacket")),
        ),
        (
            "rtt_64_floor_bare_vs_uds".into(),
            quotient(
                rtt("median", "genl-floor-bare"),
                rtt("median", "uds-seqpacket"),
            ),
        ),
        (
            "rtt_64_post_vs_floor".into(),
            quotient(rtt("median", "ipcon-post"), rtt("median", "genl-floor")),
        ),
        (
            "rtt_64_raw_post_vs_floor".into(),
            quotient(rtt("median", "raw-post"), rtt("median", "genl-floor")),
        ),
        (
            "library_overhead_post_vs_raw".into(),
            quotient(rtt("median", "ipcon-post"), rtt("median", "raw-post")).map(|q| q - 1.0),
        ),
        (
            "rtt_64_floor_vs_floor_bare".into(),
            quotient(
                rtt("median", "genl-floor"),
                rtt("median", "genl-floor-bare"),
            ),
        ),
    ];
    // The brokered baselines, against the same ipcon variants.
    for baseline in BROKERED_BASELINES {
        named.extend([
            (
                format!("unicast_64_vs_{baseline}"),
                quotient(unicast(64, "ipcon-batch"), unicast(64, baseline)),
            ),
            (
                format!("rtt_64_vs_{baseline}"),
                quotient(rtt("median", "ipcon-post"), rtt("median", baseline)),
            ),
            (
                format!("fanout_16_vs_{baseline}"),
                quotient(fanout(16, "ipcon-batch"), fanout(16, baseline)),
            ),
            (
                format!("unicast_2048_vs_{baseline}"),
                quotient(unicast(2048, "ipcon-batch"), unicast(2048, baseline)),
            ),
            (
                format!("rtt_64_wait_vs_{baseline}"),
                quotient(rtt("median", "ipcon"), rtt("median", baseline)),
            ),
        ]);
    }
    let mut fanout_sizes: Vec<u32> = medians
        .iter()
        .filter(|m| m.shape == "fanout" && m.metric == "total" && m.size == 64)
        .map(|m| m.subscribers)
        .collect();
    fanout_sizes.sort_unstable();
    fanout_sizes.dedup();
    let publisher_cpu = |subscribers: u32, implementation: &str| {
        lookup(
            medians,
            "fanout",
            "publisher-cpu",
            64,
            subscribers,
            implementation,
        )
    };
    for &subscribers in &fanout_sizes {
        named.push((
            format!("fanout_{subscribers}_single_vs_uds_loop"),
            quotient(
                fanout(subscribers, "ipcon"),
                fanout(subscribers, "uds-seqpacket"),
            ),
        ));
        named.push((
            format!("fanout_{subscribers}_publisher_cpu_vs_uds_loop"),
            quotient(
                publisher_cpu(subscribers, "ipcon-batch"),
                publisher_cpu(subscribers, "uds-seqpacket"),
            ),
        ));
        named.push((
            format!("fanout_{subscribers}_single_publisher_cpu_vs_uds_loop"),
            quotient(
                publisher_cpu(subscribers, "ipcon"),
                publisher_cpu(subscribers, "uds-seqpacket"),
            ),
        ));
        named.push((
            format!("fanout_{subscribers}_batch_vs_uds_loop"),
            quotient(
                fanout(subscribers, "ipcon-batch"),
                fanout(subscribers, "uds-seqpacket"),
            ),
        ));
        for baseline in BROKERED_BASELINES {
            if subscribers != 16 {
                named.push((
                    format!("fanout_{subscribers}_vs_{baseline}"),
                    quotient(
                        fanout(subscribers, "ipcon-batch"),
                        fanout(subscribers, baseline),
                    ),
                ));
            }
            named.push((
                format!("fanout_{subscribers}_publisher_cpu_vs_{baseline}"),
                quotient(
                    publisher_cpu(subscribers, "ipcon-batch"),
                    publisher_cpu(subscribers, baseline),
                ),
            ));
        }
    }
    for variant in other_variants(medians) {
        let suffix = variant.trim_start_matches("ipcon-");
        for size in [64, 2048] {
            named.push((
                format!("unicast_{size}_{suffix}_vs_uds"),
                quotient(unicast(size, &variant), unicast(size, "uds-seqpacket")),
            ));
        }
        named.push((
            format!("rtt_64_{suffix}_vs_uds"),
            quotient(rtt("median", &variant), rtt("median", "uds-seqpacket")),
        ));
        for &subscribers in &fanout_sizes {
            named.push((
                format!("fanout_{subscribers}_{suffix}_vs_uds_loop"),
                quotient(
                    fanout(subscribers, &variant),
                    fanout(subscribers, "uds-seqpacket"),
                ),
            ));
        }
    }
    named
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}

/// Variants of ipcon's API the program measured beyond the agreed ones
/// ("ipcon-post"): their ratios and ratio columns are added by name.
fn other_variants(medians: &[Median]) -> Vec<String> {
    let mut variants: Vec<String> = medians
        .iter()
        .map(|m| m.implementation.clone())
        .filter(|i| i.starts_with("ipcon-") && !IMPLS.contains(&i.as_str()))
        .collect();
    variants.sort();
    variants.dedup();
    variants
}

/// The measurements that count: of a configuration measured twice, the
/// second attempt's rounds only (every attempt still counts for the loss
/// checks).
pub fn final_rounds(measurements: &[Measurement]) -> Vec<Measurement> {
    let mut last: BTreeMap<(String, u32, u32), u32> = BTreeMap::new();
    for m in measurements {
        let attempt = last.entry(m.configuration()).or_insert(m.attempt);
        *attempt = (*attempt).max(m.attempt);
    }
    measurements
        .iter()
        .filter(|m| last.get(&m.configuration()) == Some(&m.attempt))
        .cloned()
        .collect()
}

/// Every ratio computed within each round alone (in round order): the two
/// implementations of a ratio were measured back to back in the round.
pub fn ratios_per_run(measurements: &[Measurement]) -> BTreeMap<String, Vec<f64>> {
    let mut runs: Vec<u32> = measurements.iter().map(|m| m.run).collect();
    runs.sort_unstable();
    runs.dedup();
    let mut per_run: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for run in runs {
        let of_run: Vec<Measurement> = measurements
            .iter()
            .filter(|m| m.run == run)
            .cloned()
            .collect();
        for (name, value) in ratios(&medians(&of_run)) {
            per_run.entry(name).or_default().push(value);
        }
    }
    per_run
}

/// One named ratio over the rounds: the median of its per-round ratios,
/// their spread and range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatioStat {
    pub name: String,
    pub value: f64,
    /// See [`spread`]; `None` with a single round.
    pub spread: Option<f64>,
    pub low: f64,
    pub high: f64,
    pub rounds: usize,
}

impl RatioStat {
    /// Spread within the limit (or not known: a single round).
    pub fn reliable(&self) -> bool {
        self.spread.map_or(true, |s| s <= SPREAD_LIMIT)
    }

    /// "±4.2% (0.95..1.10, 5 rounds)".
    fn spread_text(&self) -> String {
        match self.spread {
            Some(spread) => format!(
                "±{:.1}% ({:.2}..{:.2}, {} rounds)",
                spread * 100.0,
                self.low,
                self.high,
                self.rounds
            ),
            None => String::new(),
        }
    }
}

/// Every named ratio as the median of its per-round ratios, in the order
/// of [`ratios`]. Library overheads are per-round too (raw/ipcon − 1 of
/// the round), so their spread is relative to a figure near 0: it is
/// reported in the ratio's own units over 1 + value instead.
pub fn ratio_stats(measurements: &[Measurement]) -> Vec<RatioStat> {
    let finals = final_rounds(measurements);
    let per_run = ratios_per_run(&finals);
    let order = ratios(&medians(&finals));
    order
        .into_iter()
        .filter_map(|(name, _)| {
            let values = per_run.get(&name)?;
            let mut sorted = values.clone();
            let value = median(&mut sorted)?;
            let overhead = name.starts_with("library_overhead");
            let shifted: Vec<f64> = if overhead {
                values.iter().map(|v| v + 1.0).collect()
            } else {
                values.clone()
            };
            Some(RatioStat {
                value,
                spread: spread(&shifted),
                low: sorted.first().copied()?,
                high: sorted.last().copied()?,
                rounds: values.len(),
                name,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    AtMost,
    AtLeast,
}

impl Bound {
    fn symbol(self) -> &'static str {
        match self {
            Bound::AtMost => "<=",
            Bound::AtLeast => ">=",
        }
    }

    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Bound::AtMost => value <= limit,
            Bound::AtLeast => value >= limit,
        }
    }
}

/// One target and where the run stands.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetCheck {
    pub ratio: &'static str,
    pub bound: &'static str,
    pub limit: f64,
    pub value: Option<f64>,
    /// Its per-round ratios within [`SPREAD_LIMIT`].
    pub reliable: bool,
}

impl TargetCheck {
    /// `Some(true)` met, `Some(false)` not met, `None` not measured.
    pub fn met(&self) -> Option<bool> {
        let bound = if self.bound == Bound::AtMost.symbol() {
            Bound::AtMost
        } else {
            Bound::AtLeast
        };
        self.value.map(|value| bound.holds(value, self.limit))
    }

    fn status(&self) -> &'static str {
        match self.met() {
            _ if !self.reliable => "UNRELIABLE (spread)",
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not measured",
        }
    }
}

pub fn check_targets(ratios: &[RatioStat]) -> Vec<TargetCheck> {
    TARGETS
        .iter()
        .map(|(ratio, bound, limit)| {
            let stat = ratios.iter().find(|stat| stat.name == *ratio);
            TargetCheck {
                ratio,
                bound: bound.symbol(),
                limit: *limit,
                value: stat.map(|stat| stat.value),
                reliable: stat.map_or(true, RatioStat::reliable),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The table.

/// One row: a shape, size, subscriber count and metric, a value per
/// implementation and the ratio columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub shape: String,
    pub size: u32,
    pub subscribers: u32,
    pub metric: String,
    pub unit: String,
    pub values: Vec<Option<f64>>,
    pub ratios: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub implementations: Vec<String>,
    /// (heading, numerator, denominator) of each ratio column.
    pub ratio_columns: Vec<(String, String, String)>,
    pub rows: Vec<Row>,
}

/// The known implementations, always shown (a missing one as "-"), then
/// any other the program measured.
pub fn table(medians: &[Median]) -> Table {
    let mut implementations: Vec<String> = IMPLS.iter().map(|i| (*i).to_owned()).collect();
    for median in medians {
        if !implementations.contains(&median.implementation) {
            implementations.push(median.implementation.clone());
        }
    }
    let mut ratio_columns: Vec<(String, String, String)> = RATIO_COLUMNS
        .iter()
        .map(|(h, n, d)| ((*h).to_owned(), (*n).to_owned(), (*d).to_owned()))
        .collect();
    let after_batch = ratio_columns
        .iter()
        .position(|(_, numerator, _)| numerator == "ipcon-batch")
        .map_or(ratio_columns.len(), |at| at + 1);
    for (offset, variant) in other_variants(medians).into_iter().enumerate() {
        let heading = format!("{}/uds", variant.trim_start_matches("ipcon-"));
        ratio_columns.insert(
            after_batch + offset,
            (heading, variant, "uds-seqpacket".to_owned()),
        );
    }
    let mut rows: Vec<Row> = Vec::new();
    for median in medians {
        let same_row = |row: &Row| {
            row.shape == median.shape
                && row.size == median.size
                && row.subscribers == median.subscribers
                && row.metric == median.metric
        };
        if !rows.iter().any(same_row) {
            let value_of = |implementation: &str| {
                lookup(
                    medians,
                    &median.shape,
                    &median.metric,
                    median.size,
                    median.subscribers,
                    implementation,
                )
            };
            rows.push(Row {
                shape: median.shape.clone(),
                size: median.size,
                subscribers: median.subscribers,
                metric: median.metric.clone(),
                unit: median.unit.clone(),
                values: implementations.iter().map(|i| value_of(i)).collect(),
                ratios: ratio_columns
                    .iter()
                    .map(|(_, numerator, denominator)| {
                        quotient(value_of(numerator), value_of(denominator))
                    })
                    .collect(),
            });
        }
    }
    Table {
        implementations,
        ratio_columns,
        rows,
    }
}

/// A figure with as many digits as it deserves.
fn figure(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(v) if v.abs() >= 1000.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

fn ratio_figure(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

impl Table {
    fn headings(&self) -> Vec<String> {
        let mut headings: Vec<String> = ["shape", "size", "subs", "metric"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        headings.extend(self.implementations.iter().cloned());
        headings.extend(self.ratio_columns.iter().map(|(h, _, _)| h.clone()));
        headings
    }

    fn cells(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|row| {
                let mut cells = vec![
                    row.shape.clone(),
                    format!("{} B", row.size),
                    row.subscribers.to_string(),
                    format!("{} ({})", row.metric, row.unit),
                ];
                cells.extend(row.values.iter().map(|v| figure(*v)));
                cells.extend(row.ratios.iter().map(|r| ratio_figure(*r)));
                cells
            })
            .collect()
    }

    /// Aligned plain text for the terminal (text left, figures right).
    pub fn render_text(&self) -> String {
        let headings = self.headings();
        let cells = self.cells();
        let widths: Vec<usize> = (0..headings.len())
            .map(|column| {
                cells
                    .iter()
                    .map(|row| row[column].chars().count())
                    .chain([headings[column].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |row: &[String]| {
            let fields: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(column, text)| {
                    if column == 0 || column == 3 {
                        format!("{text:<width$}", width = widths[column])
                    } else {
                        format!("{text:>width$}", width = widths[column])
                    }
                })
                .collect();
            fields.join("  ").trim_end().to_owned()
        };
        let mut text = line(&headings);
        text.push('\n');
        for row in &cells {
            text.push_str(&line(row));
            text.push('\n');
        }
        text
    }

    /// A Markdown table (figures right-aligned).
    pub fn render_markdown(&self) -> String {
        let headings = self.headings();
        let mut text = format!("| {} |\n", headings.join(" | "));
        let aligns: Vec<&str> = (0..headings.len())
            .map(|column| {
                if column == 0 || column == 3 {
                    "---"
                } else {
                    "---:"
                }
            })
            .collect();
        text.push_str(&format!("| {} |\n", aligns.join(" | ")));
        for row in self.cells() {
            text.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        text
    }
}

/// Every ratio as (name, value, spread over the rounds, target, status):
/// the targets first (also when not measured), then the other ratios, which
/// have no target. An unreliable target ratio shows no value.
fn ratio_rows(ratios: &[RatioStat], checks: &[TargetCheck]) -> Vec<[String; 5]> {
    let range = |name: &str| {
        ratios
            .iter()
            .find(|stat| stat.name == name)
            .map_or_else(String::new, RatioStat::spread_text)
    };
    let mut rows: Vec<[String; 5]> = checks
        .iter()
        .map(|check| {
            [
                check.ratio.to_owned(),
                if check.reliable {
                    ratio_figure(check.value)
                } else {
                    "-".into()
                },
                range(check.ratio),
                format!("{} {}", check.bound, check.limit),
                check.status().to_owned(),
            ]
        })
        .collect();
    rows.extend(
        ratios
            .iter()
            .filter(|stat| !checks.iter().any(|check| check.ratio == stat.name))
            .map(|stat| {
                [
                    stat.name.clone(),
                    ratio_figure(Some(stat.value)),
                    stat.spread_text(),
                    String::new(),
                    if stat.reliable() {
                        String::new()
                    } else {
                        "wide spread".into()
                    },
                ]
            }),
    );
    rows
}

fn lost_text(lost: &BTreeMap<String, u64>) -> String {
    lost.iter()
        .map(|(implementation, count)| format!("{implementation} {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------
// Micro-benchmarks (divan's table on the host).

/// One micro-benchmark: its path in divan's tree ("emit_unicast_request/64")
/// and times per operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Micro {
    pub name: String,
    pub median_ns: f64,
    pub fastest_ns: f64,
    pub mean_ns: f64,
    pub samples: u64,
    pub iterations: u64,
}

/// "43.86 ns", "1.213 µs" in nanoseconds.
fn duration_ns(text: &str) -> Option<f64> {
    let mut words = text.split_whitespace();
    let number: f64 = words.next()?.parse().ok()?;
    let scale = match words.next()? {
        "ps" => 1e-3,
        "ns" => 1.0,
        "µs" | "μs" | "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    words.next().is_none().then_some(number * scale)
}

/// Reads divan's tree table: a header line with the column names, then one
/// line per node, indented by three characters per level ("│  ", "   ")
/// before the branch ("├─ ", "╰─ "); group nodes have empty columns.
pub fn parse_divan(lines: &[String]) -> Vec<Micro> {
    let mut results = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut in_table = false;
    for line in lines {
        if line.contains("fastest") && line.contains("median") && line.contains('│') {
            in_table = true;
            path.clear();
            continue;
        }
        if !in_table {
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut depth = 0;
        let mut at = 0;
        let mut branch = false;
        while at + 3 <= chars.len() {
            let unit: String = chars[at..at + 3].iter().collect();
            match unit.as_str() {
                "│  " | "   " => {}
                "├─ " | "╰─ " => branch = true,
                _ => break,
            }
            at += 3;
            depth += 1;
            if branch {
                break;
            }
        }
        if !branch {
            // Anything else (a blank line, another program's output) ends the table.
            in_table = false;
            continue;
        }
        let rest: String = chars[at..].iter().collect();
        let columns: Vec<&str> = rest.split('│').map(str::trim).collect();
        let mut first = columns[0].split_whitespace().collect::<Vec<_>>();
        // The first column holds the name and, for a benchmark, its fastest time.
        let fastest = if first.len() >= 3 {
            let unit = first.pop().unwrap_or_default();
            let number = first.pop().unwrap_or_default();
            duration_ns(&format!("{number} {unit}"))
        } else {
            None
        };
        path.truncate(depth - 1);
        path.push(first.join(" "));
        let measured = (|| {
            Some(Micro {
                name: path.join("/"),
                fastest_ns: fastest?,
                median_ns: duration_ns(columns.get(2)?)?,
                mean_ns: duration_ns(columns.get(3)?)?,
                samples: columns.get(4)?.parse().ok()?,
                iterations: columns.get(5)?.parse().ok()?,
            })
        })();
        results.extend(measured);
    }
    results
}

fn run_micro(workspace: &Workspace) -> Result<Vec<Micro>, String> {
    println!("xtask: host micro-benchmarks of ipcon-core (cargo bench -p ipcon-core)");
    let mut cargo = workspace.cargo();
    cargo.args([
        "bench",
        "--quiet",
        "--package",
        "ipcon-core",
        "--bench",
        "wire",
        "--",
        "--color",
        "never",
    ]);
    let captured = process::capture(&mut cargo, true)?;
    if !captured.success {
        return Err(format!(
            "cargo bench -p ipcon-core failed ({})",
            captured.status
        ));
    }
    let micro = parse_divan(&captured.lines);
    if micro.is_empty() {
        return Err("cargo bench -p ipcon-core printed no divan table".into());
    }
    Ok(micro)
}

// ---------------------------------------------------------------------------------------
// Date and machine.

/// "2026-11-29T09:38:21Z" for seconds since the Unix epoch.
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let days = unix_seconds / 86_400;
    let seconds_of_day = unix_seconds % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds_of_day / 3600,
        seconds_of_day % 3600 / 60,
        seconds_of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01, counted in
/// 400-year eras (146 097 days) of years starting on March 1st, so that
/// the leap day is the last day of its year.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // 719 468 days from 0000-03-01 to 1970-01-01.
    let shifted = days + 719_468;
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// The host CPU's model name from /proc/cpuinfo.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|line| line.starts_with("model name"))
        .and_then(|line| line.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

fn host_machine() -> (String, usize, String) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cpu_model(&text))
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|release| release.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    (cpu, cores, kernel)
}

/// The host's 1-minute load average: other work on the host slows the
/// emulated CPU unevenly, so it goes into the results.
fn host_load() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn qemu_version(arch: Arch) -> String {
    process::output(std::process::Command::new(arch.qemu_binary()).arg("--version"))
        .ok()
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

// ---------------------------------------------------------------------------------------
// The report.

/// Everything one `cargo xtask bench` produced, ready to print and write.
#[derive(Debug)]
pub struct Report {
    pub date: String,
    pub machine: Value,
    pub output: PerfOutput,
    pub medians: Vec<Median>,
    pub ratios: Vec<RatioStat>,
    /// Each ratio within each round alone.
    pub ratios_per_run: BTreeMap<String, Vec<f64>>,
    pub targets: Vec<TargetCheck>,
    pub lost: BTreeMap<String, u64>,
    pub micro: Option<Vec<Micro>>,
    pub problems: Vec<String>,
}

impl Report {
    pub fn new(
        date: String,
        machine: Value,
        output: PerfOutput,
        micro: Option<Vec<Micro>>,
    ) -> Self {
        let finals = final_rounds(&output.measurements);
        let medians = medians(&finals);
        let ratios = ratio_stats(&output.measurements);
        let ratios_per_run = ratios_per_run(&finals);
        let targets = check_targets(&ratios);
        let lost = lost_per_implementation(&output.measurements);
        let problems = output_problems(&output);
        Report {
            date,
            machine,
            output,
            medians,
            ratios,
            ratios_per_run,
            targets,
            lost,
            micro,
            problems,
        }
    }

    /// A failed run's figures are printed (they help to find the problem)
    /// but must not be mistaken for results.
    fn failure_banner(&self) -> String {
        if self.problems.is_empty() {
            return String::new();
        }
        format!(
            "**THE RUN FAILED; these figures are incomplete and not results:** {}\n\n",
            self.problems.join("; ")
        )
    }

    fn machine_line(&self) -> String {
        let field = |name: &str| match &self.machine[name] {
            Value::String(text) => text.clone(),
            Value::Null => "?".into(),
            other => other.to_string(),
        };
        format!(
            "host {} ({} cores, Linux {}); guest Linux {}, {} vCPU, {} emulation ({}), address layout {}, clock: {}",
            field("host_cpu"),
            field("host_cores"),
            field("host_kernel"),
            field("guest_kernel"),
            field("vcpus"),
            field("accel").to_uppercase(),
            field("qemu"),
            field("address_layout"),
            field("clock"),
        )
    }

    pub fn to_json(&self) -> Value {
        let ratios: serde_json::Map<String, Value> = self
            .ratios
            .iter()
            .map(|stat| (stat.name.clone(), json!(stat.value)))
            .collect();
        let spreads: serde_json::Map<String, Value> = self
            .ratios
            .iter()
            .map(|stat| {
                let mut entry = json!(stat);
                entry["reliable"] = json!(stat.reliable());
                (stat.name.clone(), entry)
            })
            .collect();
        let targets: serde_json::Map<String, Value> = self
            .targets
            .iter()
            .map(|check| {
                let mut target = json!({
                    "bound": check.bound,
                    "limit": check.limit,
                    "status": check.status(),
                    "reliable": check.reliable,
                });
                if let Some(value) = check.value {
                    target["value"] = json!(value);
                    if check.reliable {
                        target["met"] = json!(check.met());
                    }
                }
                (check.ratio.to_owned(), target)
            })
            .collect();
        let info: serde_json::Map<String, Value> = self
            .output
            .info
            .iter()
            .map(|(key, value)| (key.clone(), json!(value)))
            .collect();
        let mut report = json!({
            "date": self.date,
            "machine": self.machine,
            "note": EMULATION_NOTE,
            "info": info,
            "measurements": self.output.measurements,
            "medians": self.medians,
            "ratios": ratios,
            "ratio_spreads": spreads,
            "spread_limit": SPREAD_LIMIT,
            "ratios_per_run": self.ratios_per_run,
            "targets": targets,
            "lost": self.lost,
            "problems": self.problems,
        });
        if let Some(micro) = &self.micro {
            report["micro"] = json!(micro);
        }
        report
    }

    pub fn render_text(&self) -> String {
        let table = table(&self.medians);
        let mut text = self.failure_banner();
        text.push_str(&format!(
            "ipcon benchmarks, {}\n{}\n",
            self.date,
            self.machine_line()
        ));
        text.push_str(&format!("{EMULATION_NOTE}\n"));
        if let (Some(before), Some(after)) = (
            self.machine["host_load_before"].as_f64(),
            self.machine["host_load_after"].as_f64(),
        ) {
            text.push_str(&format!(
                "Host load average (1 min) before / after the VM run: {before:.2} / {after:.2}.\n"
            ));
        }
        text.push_str(
            "Values: medians over rounds; msg/s (higher is better) or us (lower is better).\n\n",
        );
        text.push_str(&table.render_text());
        text.push_str(&format!(
            "\nRatios: median of the per-round ratios (the two sides measured back to back), \
             ± half the interquartile range, against the targets (spread above ±{:.0}%: \
             unreliable):\n",
            SPREAD_LIMIT * 100.0
        ));
        for [name, value, range, target, status] in ratio_rows(&self.ratios, &self.targets) {
            let line = format!("  {name:<36} {value:>6} {range:<34} {target:<7} {status}");
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text.push_str(KEY_IMPLEMENTATIONS);
        text.push('\n');
        text.push_str(&format!("Messages lost: {}\n", lost_text(&self.lost)));
        if let Some(micro) = &self.micro {
            text.push_str("\nipcon-core on the host (median ns/op):\n");
            for bench in micro {
                text.push_str(&format!("  {:<46} {:>10.1}\n", bench.name, bench.median_ns));
            }
        }
        text
    }

    pub fn render_markdown(&self) -> String {
        let table = table(&self.medians);
        let mut text = format!(
            "Measured {} with `cargo xtask bench` on {}. {EMULATION_NOTE} \
             Medians over rounds; msg/s or µs.\n\n",
            self.date,
            self.machine_line()
        );
        text.insert_str(0, &self.failure_banner());
        if let (Some(before), Some(after)) = (
            self.machine["host_load_before"].as_f64(),
            self.machine["host_load_after"].as_f64(),
        ) {
            text.push_str(&format!(
                "Host load average (1 min) before / after the VM run: {before:.2} / {after:.2} \
                 (the host has {} cores).\n\n",
                self.machine["host_cores"]
            ));
        }
        text.push_str(&table.render_markdown());
        text.push_str(
            "\n| ratio | median of rounds | spread (min..max) | target | status |\n\
             | --- | ---: | ---: | --- | --- |\n",
        );
        for [name, value, range, target, status] in ratio_rows(&self.ratios, &self.targets) {
            text.push_str(&format!(
                "| `{name}` | {value} | {range} | {target} | {status} |\n"
            ));
        }
        text.push_str(&format!("\n{KEY_IMPLEMENTATIONS}\n"));
        text.push_str(&format!("\nMessages lost: {}.\n", lost_text(&self.lost)));
        text
    }
}

// ---------------------------------------------------------------------------------------
// The command.

pub fn command(workspace: &Workspace, args: &[String]) -> Result<(), String> {
    let options = parse_options(args)?;
    let arch = Arch::X86_64;

    let mut failures = Vec::new();
    let micro = if options.micro {
        match run_micro(workspace) {
            Ok(micro) => Some(micro),
            Err(error) => {
                println!("xtask: micro-benchmarks failed: {error}");
                failures.push(error);
                None
            }
        }
    } else {
        None
    };

    let kernel = prepare_vm_host(arch)?;
    let module = kmod::build_ipcon(workspace, &kernel)?;
    let binaries = workspace::build_static_binaries(workspace, arch, &[PERF_PACKAGE])?;
    if !binaries.iter().any(|b| b.ends_with(PERF_PACKAGE)) {
        return Err(format!("the build produced no {PERF_PACKAGE} binary"));
    }
    let floor = floor_guest_file(workspace, &kernel)?;
    let guest_kernel = kernel.release.clone();
    let command = format!("{} && {}", floor_insmod(), options.perf_command());
    let mut run = VmRun::new("bench", kernel, &command);
    run.module = Some(module);
    run.files = binaries.iter().map(|b| GuestFile::binary(b)).collect();
    run.files.push(floor);
    // The ubus baseline where it builds; the rest is measured without it.
    let ubus_note = match ubus::build(workspace) {
        Ok(ubus) => {
            run.files.push(GuestFile::binary(&ubus.ubusd));
            run.files.push(GuestFile::binary(&ubus.perf));
            "built from the vendored OpenWrt snapshots".to_owned()
        }
        Err(error) => {
            println!("xtask: no ubus baseline: {error}");
            format!("not measured: {error}")
        }
    };
    // The D-Bus baseline where the host has it; likewise optional.
    let dbus_note = match dbus::guest_files(workspace) {
        Ok(files) => {
            run.files.extend(files);
            "Debian's dbus-daemon and libdbus-1 (dynamic, with their libraries)".to_owned()
        }
        Err(error) => {
            println!("xtask: no D-Bus baseline: {error}");
            format!("not measured: {error}")
        }
    };
    run.vcpus = BENCH_VCPUS;
    run.slab_debug = false;
    run.fixed_layout = !options.random_layout;
    run.icount = options.icount;
    run.timeout = options.vm_timeout();
    run.echo = Echo::Live;
    let load_before = host_load();
    let outcome = vm::run(&run, &workspace.target_dir)?;
    let load_after = host_load();
    if !outcome.passed() {
        outcome.report_failure();
        failures.extend(outcome.failures());
    }

    let (host_cpu, host_cores, host_kernel) = host_machine();
    let machine = json!({
        "host_cpu": host_cpu,
        "host_cores": host_cores,
        "host_kernel": host_kernel,
        "guest_kernel": guest_kernel,
        "vcpus": BENCH_VCPUS,
        "accel": "tcg",
        "qemu": qemu_version(arch),
        "slab_debug": false,
        "clock": if run.icount {
            format!("guest instructions (-icount {}: 1 ns each)", vm::ICOUNT)
        } else {
            "the emulated CPU's time".to_owned()
        },
        "address_layout": if run.fixed_layout {
            format!("fixed ({})", vm::FIXED_LAYOUT_PARAMS.join(" "))
        } else {
            "randomized (--random-layout)".to_owned()
        },
        "host_load_before": load_before,
        "host_load_after": load_after,
        "ubus": ubus_note,
        "dbus": dbus_note,
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let output = parse_output(outcome.run_lines());
    let expected_runs = options.runs();
    failures.extend(runs_problem(&output, expected_runs.into()));
    failures.extend(layout_problem(&output, run.fixed_layout));
    let mut report = Report::new(utc_timestamp(now), machine, output, micro);
    failures.extend(report.problems.iter().cloned());
    report.problems = failures.clone();

    let directory = workspace.target_dir.join("bench");
    write_file(&directory.join("results.json"), &{
        let mut json = serde_json::to_string_pretty(&report.to_json())
            .map_err(|e| format!("results.json: {e}"))?;
        json.push('\n');
        json
    })?;
    let markdown = report.render_markdown();
    write_file(&directory.join("results.md"), &markdown)?;
    for (file, metric, title, unit) in FANOUT_PLOTS {
        let series = fanout_series(&report.medians, metric);
        if !series.is_empty() {
            let title = format!("{title} ({})", report.date);
            write_file(
                &directory.join(file),
                &plot::fanout_svg(&title, unit, &series),
            )?;
            println!("xtask: wrote {}", directory.join(file).display());
        }
    }

    println!();
    print!("{}", report.render_text());
    println!(
        "\nMarkdown (also in {}):\n",
        directory.join("results.md").display()
    );
    print!("{markdown}");
    println!(
        "\nxtask: wrote {}",
        directory.join("results.json").display()
    );

    if failures.is_empty() {
        Ok(())
    } else {
        for failure in &failures {
            println!("  - {failure}");
        }
        Err(format!(
            "bench: the run failed ({} problems)",
            failures.len()
        ))
    }
}

/// The fan-out plots: (file, metric, title, y axis).
const FANOUT_PLOTS: &[(&str, &str, &str, &str)] = &[
    (
        "fanout.svg",
        "total",
        "Fan-out 64 B: deliveries/s to all subscribers, 1 vCPU",
        "deliveries/s (higher is better)",
    ),
    (
        "fanout-publisher-cpu.svg",
        "publisher-cpu",
        "Fan-out 64 B: publisher CPU per message published",
        "µs per message (lower is better)",
    ),
];

/// One plot line per implementation that has `metric` for 64-byte fan-out:
/// its median at each subscriber count, in table order.
pub fn fanout_series(medians: &[Median], metric: &str) -> Vec<plot::Series> {
    let mut series: Vec<plot::Series> = Vec::new();
    for median in medians
        .iter()
        .filter(|m| m.shape == "fanout" && m.metric == metric && m.size == 64)
    {
        let point = (median.subscribers, median.value);
        match series.iter_mut().find(|s| s.name == median.implementation) {
            Some(line) => line.points.push(point),
            None => series.push(plot::Series {
                name: median.implementation.clone(),
                points: vec![point],
            }),
        }
    }
    for line in &mut series {
        line.points.sort_by_key(|p| p.0);
    }
    series
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    fn perf(
        shape: &str,
        metric: &str,
        size: u32,
        subs: u32,
        imp: &str,
        run: u32,
        value: f64,
    ) -> String {
        let unit = match metric {
            "median" | "p99" => "us",
            _ => "msg/s",
        };
        format!(
            "PERF {{\"shape\":\"{shape}\",\"metric\":\"{metric}\",\"size\":{size},\
             \"subscribers\":{subs},\"impl\":\"{imp}\",\"run\":{run},\"value\":{value},\
             \"unit\":\"{unit}\",\"sent\":1000,\"received\":1000,\"lost\":0}}"
        )
    }

    /// A complete three-run output of every shape and implementation.
    fn full_output() -> Vec<String> {
        let mut out = vec![
            r#"PERF-INFO {"key":"kernel","value":"6.1.0-56-amd64"}"#.to_owned(),
            r#"PERF-INFO {"key":"vcpus","value":"1"}"#.to_owned(),
        ];
        for run in 1..=3 {
            let r = f64::from(run);
            for (imp, v64, v2048) in [
                ("ipcon", 40_000.0, 30_000.0),
                ("ipcon-batch", 90_000.0, 50_000.0),
                ("raw-netlink", 44_000.0, 31_000.0),
                ("uds-seqpacket", 100_000.0, 60_000.0),
            ] {
                out.push(perf("unicast", "throughput", 64, 1, imp, run, v64 + r));
                out.push(perf("unicast", "throughput", 2048, 1, imp, run, v2048 + r));
            }
            for (imp, median, p99) in [
                ("ipcon", 30.0, 60.0),
                ("ipcon-post", 26.0, 55.0),
                ("raw-netlink", 28.0, 50.0),
                ("uds-seqpacket", 20.0, 40.0),
                ("pipe", 10.0, 20.0),
            ] {
                out.push(perf("rtt", "median", 64, 1, imp, run, median + r));
                out.push(perf("rtt", "p99", 64, 1, imp, run, p99 + r));
            }
            for subs in [1, 4, 16, 64] {
                let s = f64::from(subs);
                for (imp, cpu) in [
                    ("ipcon", 5.0),
                    ("ipcon-batch", 20.0),
                    ("uds-seqpacket", 5.0 * s),
                ] {
                    out.push(perf("fanout", "publisher-cpu", 64, subs, imp, run, cpu + r));
                }
                for (imp, total) in [
                    ("ipcon", 50_000.0 * s.sqrt()),
                    ("ipcon-batch", 60_000.0 * s.sqrt()),
                    ("uds-seqpacket", 40_000.0),
                ] {
                    out.push(
                        perf("fanout", "total", 64, subs, imp, run, total + r)
                            .replace("\"sent\":1000", &format!("\"sent\":{}", 1000 / subs))
                            .replace(
                                "\"received\":1000",
                                &format!("\"received\":{}", 1000 / subs * subs),
                            ),
                    );
                    out.push(
                        perf(
                            "fanout",
                            "per-subscriber",
                            64,
                            subs,
                            imp,
                            run,
                            total / s + r,
                        )
                        .replace("\"sent\":1000", &format!("\"sent\":{}", 1000 / subs))
                        .replace(
                            "\"received\":1000",
                            &format!("\"received\":{}", 1000 / subs * subs),
                        ),
                    );
                }
            }
        }
        let count = out.iter().filter(|l| l.starts_with("PERF {")).count();
        out.push(format!("PERF-END {{\"runs\":3,\"measurements\":{count}}}"));
        out
    }

    #[test]
    fn perf_lines_are_read_even_when_the_kernel_shares_the_line() {
        let text = format!(
            "some boot noise\n{}\n[   12.345678] random: crng init done {}\n\
             PERF-INFO {{\"key\":\"messages\",\"value\":20000}}\nPERF-END {{\"runs\":1,\"measurements\":2}}",
            perf("unicast", "throughput", 64, 1, "ipcon", 1, 51234.5),
            perf("rtt", "median", 64, 1, "pipe", 1, 12.5),
        );
        let output = parse_output(&lines(&text));
        assert_eq!(output.measurements.len(), 2);
        assert_eq!(output.measurements[0].implementation, "ipcon");
        assert_eq!(output.measurements[0].value, 51234.5);
        assert_eq!(output.measurements[1].unit, "us");
        assert_eq!(output.info, [("messages".to_owned(), "20000".to_owned())]);
        assert_eq!(output.end, Some((1, 2)));
        assert!(
            output_problems(&output).is_empty(),
            "{:?}",
            output_problems(&output)
        );
    }

    #[test]
    fn trailing_kernel_text_after_the_json_is_ignored() {
        let line = format!(
            "{}[   13.000001] ipcon: something",
            perf("unicast", "throughput", 64, 1, "ipcon", 1, 1.0)
        );
        assert_eq!(parse_output(&[line]).measurements.len(), 1);
    }

    #[test]
    fn errors_truncation_and_missing_end_are_problems() {
        let good = perf("unicast", "throughput", 64, 1, "ipcon", 1, 1.0);
        let cut = &good[..good.len() - 10];
        let text = format!("{good}\n{cut}\nPERF-ERROR fanout: subscriber 3 exited\n");
        let output = parse_output(&lines(&text));
        let problems = output_problems(&output);
        assert_eq!(output.malformed.len(), 1);
        assert!(problems
            .iter()
            .any(|p| p == "PERF-ERROR fanout: subscriber 3 exited"));
        assert!(problems.iter().any(|p| p.starts_with("unreadable line")));
        assert!(problems
            .iter()
            .any(|p| p.contains("never printed PERF-END")));

        let short = format!("{good}\nPERF-END {{\"runs\":1,\"measurements\":3}}");
        let problems = output_problems(&parse_output(&lines(&short)));
        assert_eq!(problems, ["PERF-END announces 3 measurements, 1 were read"]);
    }

    #[test]
    fn a_randomized_guest_layout_is_a_problem() {
        let output = |va: &str, kaslr: &str| {
            let text = format!(
                "PERF-INFO {{\"key\":\"randomize_va_space\",\"value\":\"{va}\"}}\n\
                 PERF-INFO {{\"key\":\"kaslr\",\"value\":\"{kaslr}\"}}"
            );
            parse_output(&lines(&text))
        };
        let with = |va: &str, kaslr: &str| layout_problem(&output(va, kaslr), true);
        // --random-layout expects the opposite.
        assert_eq!(layout_problem(&output("2", "on"), false), None);
        assert!(layout_problem(&output("0", "off"), false).is_some());
        assert_eq!(with("0", "off"), None);
        assert_eq!(
            with("2", "off").as_deref(),
            Some("the guest's layout was not fixed: randomize_va_space 2, kaslr off")
        );
        assert!(with("0", "on").is_some());
        assert_eq!(
            layout_problem(&PerfOutput::default(), true).as_deref(),
            Some("the guest's layout was not fixed: randomize_va_space not reported, kaslr not reported")
        );
    }

    #[test]
    fn the_runs_asked_for_must_be_done() {
        let output = parse_output(&full_output());
        assert_eq!(runs_problem(&output, 3), None);
        assert_eq!(
            runs_problem(&output, 5).as_deref(),
            Some("asked for 5 runs, PERF-END reports 3")
        );
        // No PERF-END at all is output_problems' finding.
        assert_eq!(runs_problem(&PerfOutput::default(), 3), None);
    }

    #[test]
    fn loss_must_be_accounted_for_and_reported() {
        let with =
            |imp: &str, shape: &str, subs: u32, sent: u64, received: u64, lost: u64| Measurement {
                shape: shape.into(),
                metric: "throughput".into(),
                size: 64,
                subscribers: subs,
                implementation: imp.into(),
                run: 1,
                attempt: 1,
                value: 1.0,
                unit: "msg/s".into(),
                sent,
                received,
                lost,
            };
        assert_eq!(with("ipcon", "unicast", 1, 100, 100, 0).unaccounted(), None);
        // Vanished without being counted anywhere.
        assert!(with("ipcon", "unicast", 1, 100, 99, 0)
            .unaccounted()
            .unwrap()
            .contains("unaccounted"));
        // Counted, but nobody was told: silent loss.
        assert!(with("uds-seqpacket", "fanout", 4, 100, 396, 4)
            .unaccounted()
            .unwrap()
            .contains("without any report"));
        assert!(with("ipcon", "unicast", 1, 100, 98, 2)
            .unaccounted()
            .is_some());
        // ipcon fan-out: receivers learn their missed count; `sent` may count
        // the published messages or the deliveries.
        assert_eq!(with("ipcon", "fanout", 4, 100, 396, 4).unaccounted(), None);
        assert_eq!(with("ipcon", "fanout", 4, 400, 396, 4).unaccounted(), None);
        assert!(with("ipcon", "fanout", 4, 100, 390, 4)
            .unaccounted()
            .is_some());
    }

    #[test]
    fn lost_counts_each_run_once() {
        let mut text = String::new();
        for metric in ["total", "per-subscriber"] {
            text.push_str(
                &perf("fanout", metric, 64, 4, "ipcon", 1, 5.0)
                    .replace("\"sent\":1000", "\"sent\":100")
                    .replace(
                        "\"received\":1000,\"lost\":0",
                        "\"received\":397,\"lost\":3",
                    ),
            );
            text.push('\n');
        }
        text.push_str(&perf("rtt", "median", 64, 1, "pipe", 1, 5.0));
        let output = parse_output(&lines(&text));
        let lost = lost_per_implementation(&output.measurements);
        assert_eq!(lost.get("ipcon"), Some(&3));
        assert_eq!(lost.get("pipe"), Some(&0));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&mut [7.0]), Some(7.0));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn medians_group_by_measurement_in_table_order() {
        let output = parse_output(&full_output());
        assert!(
            output_problems(&output).is_empty(),
            "{:?}",
            output_problems(&output)
        );
        let medians = medians(&output.measurements);
        // 2 sizes x 4 impls + 2 metrics x 5 impls + 4 N x 2 metrics x 3
        // impls + 4 N x publisher-cpu x 3 impls.
        assert_eq!(medians.len(), 8 + 10 + 24 + 12);
        assert!(medians.iter().all(|m| m.runs == 3));
        let first = &medians[0];
        assert_eq!(
            (
                first.shape.as_str(),
                first.size,
                first.implementation.as_str()
            ),
            ("unicast", 64, "ipcon")
        );
        // Runs add 1, 2, 3: the median is the second.
        assert_eq!(first.value, 40_002.0);
        let shapes: Vec<&str> = medians.iter().map(|m| m.shape.as_str()).collect();
        assert!(shapes
            .windows(2)
            .all(|w| rank(SHAPES, w[0]) <= rank(SHAPES, w[1])));
        let fanout: Vec<u32> = medians
            .iter()
            .filter(|m| m.shape == "fanout" && m.metric == "total" && m.implementation == "ipcon")
            .map(|m| m.subscribers)
            .collect();
        assert_eq!(fanout, [1, 4, 16, 64]);
    }

    fn ratio(ratios: &[(String, f64)], name: &str) -> Option<f64> {
        ratios.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn ratios_follow_the_issue_definitions() {
        let medians = medians(&parse_output(&full_output()).measurements);
        let ratios = ratios(&medians);
        assert_eq!(ratios[0].0, "library_overhead_vs_raw");
        assert!(close(
            ratio(&ratios, "library_overhead_vs_raw"),
            44_002.0 / 40_002.0 - 1.0
        ));
        assert!(close(
            ratio(&ratios, "unicast_64_vs_uds"),
            90_002.0 / 100_002.0
        ));
        assert!(close(
            ratio(&ratios, "unicast_64_single_vs_uds"),
            40_002.0 / 100_002.0
        ));
        assert!(close(
            ratio(&ratios, "unicast_2048_vs_uds"),
            50_002.0 / 60_002.0
        ));
        assert!(close(
            ratio(&ratios, "unicast_2048_single_vs_uds"),
            30_002.0 / 60_002.0
        ));
        assert!(close(ratio(&ratios, "rtt_64_vs_uds"), 28.0 / 22.0));
        assert!(close(ratio(&ratios, "rtt_64_wait_vs_uds"), 32.0 / 22.0));
        assert!(close(ratio(&ratios, "rtt_64_vs_pipe"), 32.0 / 12.0));
        assert!(close(ratio(&ratios, "rtt_64_raw_vs_uds"), 30.0 / 22.0));
        assert!(close(
            ratio(&ratios, "fanout_16_vs_uds_loop"),
            240_002.0 / 40_002.0
        ));
        assert!(close(
            ratio(&ratios, "fanout_16_single_vs_uds_loop"),
            200_002.0 / 40_002.0
        ));
        assert!(close(
            ratio(&ratios, "fanout_16_publisher_cpu_vs_uds_loop"),
            22.0 / 82.0
        ));
        assert!(close(
            ratio(&ratios, "fanout_16_single_publisher_cpu_vs_uds_loop"),
            7.0 / 82.0
        ));
        for n in [1, 4, 64] {
            assert!(ratio(&ratios, &format!("fanout_{n}_single_vs_uds_loop")).is_some());
            assert!(ratio(&ratios, &format!("fanout_{n}_batch_vs_uds_loop")).is_some());
        }
        // No raw-netlink fan-out was measured: no ratio, rather than a zero.
        assert_eq!(ratio(&ratios, "fanout_16_raw_vs_uds_loop"), None);

        assert!(close(
            ratio(&ratios, "library_overhead_rtt_vs_raw"),
            32.0 / 30.0 - 1.0
        ));

        let stats = ratio_stats(&parse_output(&full_output()).measurements);
        let checks = check_targets(&stats);
        let status: Vec<(&str, Option<bool>)> = checks.iter().map(|c| (c.ratio, c.met())).collect();
        assert_eq!(
            status,
            [
                ("library_overhead_vs_raw", Some(false)),
                ("library_overhead_2048_vs_raw", Some(true)),
                ("library_overhead_rtt_vs_raw", Some(false)),
                ("unicast_64_vs_uds", Some(true)),
                ("rtt_64_vs_uds", Some(true)),
                ("fanout_16_vs_uds_loop", Some(true)),
                ("call_rtt_64_vs_post", None),
                ("fanout_64_publisher_cpu_vs_uds_loop", Some(true)),
                ("unicast_64_vs_ubus", None),
                ("rtt_64_vs_ubus", None),
                ("fanout_16_vs_ubus", None),
                ("unicast_64_vs_dbus", None),
                ("rtt_64_vs_dbus", None),
                ("fanout_16_vs_dbus", None),
            ]
        );
        assert!(checks.iter().all(|c| c.reliable));
    }

    #[test]
    fn ratios_are_medians_of_rounds_and_a_wide_target_is_unreliable() {
        // Five rounds of unicast 64: ipcon-batch/uds 0.82, 0.91, 1.0, 1.09,
        // 1.18 in the first attempt (±9 %), the second attempt 0.5, 1.0, 1.5, 1.0,
        // 1.0 (quartiles 1.0 and 1.0: ±0 %, but a wide range) replaces it.
        let mut text = Vec::new();
        for (attempt, values) in [
            (1, [82.0, 91.0, 100.0, 109.0, 118.0]),
            (2, [50.0, 100.0, 150.0, 100.0, 100.0]),
        ] {
            for (round, batch) in values.iter().enumerate() {
                let run = round as u32 + 1;
                for (imp, value) in [("ipcon-batch", *batch), ("uds-seqpacket", 100.0)] {
                    text.push(
                        perf("unicast", "throughput", 64, 1, imp, run, value)
                            .replace("\"run\"", &format!("\"attempt\":{attempt},\"run\"")),
                    );
                }
            }
        }
        let measurements = parse_output(&text).measurements;
        assert_eq!(final_rounds(&measurements).len(), 10);
        let stats = ratio_stats(&measurements);
        let batch = stats
            .iter()
            .find(|s| s.name == "unicast_64_vs_uds")
            .unwrap();
        assert_eq!((batch.value, batch.low, batch.high), (1.0, 0.5, 1.5));
        assert_eq!((batch.spread, batch.rounds), (Some(0.0), 5));
        assert!(batch.reliable());

        // Only the first attempt: ±9 % is reliable; ±30 % is not.
        let first: Vec<String> = text[..10].to_vec();
        let stats = ratio_stats(&parse_output(&first).measurements);
        assert!(stats[0].reliable());
        let wide: Vec<String> = first
            .iter()
            .map(|l| {
                l.replace("\"value\":109,", "\"value\":130,")
                    .replace("\"value\":91,", "\"value\":70,")
            })
            .collect();
        let stats = ratio_stats(&parse_output(&wide).measurements);
        let checks = check_targets(&stats);
        let check = checks
            .iter()
            .find(|c| c.ratio == "unicast_64_vs_uds")
            .unwrap();
        assert!(!check.reliable);
        assert_eq!(check.status(), "UNRELIABLE (spread)");
        let rows = ratio_rows(&stats, &checks);
        let row = rows.iter().find(|r| r[0] == "unicast_64_vs_uds").unwrap();
        assert_eq!(row[1], "-");
        assert!(row[2].starts_with("±"), "{}", row[2]);
    }

    #[test]
    fn ubus_is_compared_with_the_same_variants_and_may_lose_silently() {
        let mut text = Vec::new();
        for (imp, one_way, rtt) in [
            ("ipcon-batch", 90_000.0, 0.0),
            ("ipcon-post", 0.0, 26.0),
            ("ubus", 20_000.0, 130.0),
        ] {
            if one_way > 0.0 {
                text.push(perf("unicast", "throughput", 64, 1, imp, 1, one_way));
                text.push(perf("fanout", "total", 64, 16, imp, 1, one_way));
            }
            if rtt > 0.0 {
                text.push(perf("rtt", "median", 64, 1, imp, 1, rtt));
            }
        }
        // ubus lost 300 of 1000 one-way messages: counted, not a failure.
        let last = text.len() - 1;
        text[last - 1] = text[last - 1]
            .replace("\"received\":1000", "\"received\":700")
            .replace("\"lost\":0", "\"lost\":300");
        let output = parse_output(&text);
        let unicast = output
            .measurements
            .iter()
            .find(|m| m.implementation == "ubus" && m.shape == "fanout")
            .unwrap();
        assert_eq!(unicast.lost, 300);
        assert_eq!(unicast.unaccounted(), None);
        let stats = ratio_stats(&output.measurements);
        let value = |name: &str| stats.iter().find(|s| s.name == name).map(|s| s.value);
        assert_eq!(value("unicast_64_vs_ubus"), Some(4.5));
        assert_eq!(value("fanout_16_vs_ubus"), Some(4.5));
        assert_eq!(value("rtt_64_vs_ubus"), Some(0.2));
        // The same loss in ipcon's unicast would be silent loss: a failure.
        let ipcon = Measurement {
            implementation: "ipcon".into(),
            ..unicast.clone()
        };
        assert!(ipcon.unaccounted().is_none(), "fan-out loss is reported");
        let silent = Measurement {
            shape: "unicast".into(),
            subscribers: 1,
            ..ipcon
        };
        assert!(silent.unaccounted().is_some());
    }

    #[test]
    fn dbus_is_compared_with_the_same_variants_and_may_lose_silently() {
        let mut text = Vec::new();
        for (imp, one_way, rtt, cpu) in [
            ("ipcon", 0.0, 0.0, 90.0),
            ("ipcon-batch", 60_000.0, 0.0, 30.0),
            ("ipcon-post", 0.0, 30.0, 0.0),
            ("dbus", 10_000.0, 600.0, 120.0),
        ] {
            if one_way > 0.0 {
                text.push(perf("unicast", "throughput", 64, 1, imp, 1, one_way));
                text.push(perf("fanout", "total", 64, 16, imp, 1, one_way / 2.0));
                text.push(perf("fanout", "total", 64, 4, imp, 1, one_way));
            }
            if rtt > 0.0 {
                text.push(perf("rtt", "median", 64, 1, imp, 1, rtt));
            }
            if cpu > 0.0 {
                text.push(perf("fanout", "publisher-cpu", 64, 4, imp, 1, cpu));
            }
        }
        // dbus-daemon dropped 10 of 1000 one-way messages: counted.
        let dbus_unicast = text
            .iter()
            .position(|l| l.contains("\"dbus\"") && l.contains("\"unicast\""))
            .unwrap();
        text[dbus_unicast] = text[dbus_unicast]
            .replace("\"received\":1000", "\"received\":990")
            .replace("\"lost\":0", "\"lost\":10");
        let output = parse_output(&text);
        let lossy = output
            .measurements
            .iter()
            .find(|m| m.implementation == "dbus" && m.shape == "unicast")
            .unwrap();
        assert_eq!(lossy.lost, 10);
        assert_eq!(lossy.unaccounted(), None);
        let stats = ratio_stats(&output.measurements);
        let value = |name: &str| stats.iter().find(|s| s.name == name).map(|s| s.value);
        assert_eq!(value("unicast_64_vs_dbus"), Some(6.0));
        assert_eq!(value("fanout_16_vs_dbus"), Some(6.0));
        assert_eq!(value("fanout_4_vs_dbus"), Some(6.0));
        assert_eq!(value("rtt_64_vs_dbus"), Some(0.05));
        assert_eq!(value("fanout_4_publisher_cpu_vs_dbus"), Some(0.25));
        let checks = check_targets(&stats);
        for name in ["unicast_64_vs_dbus", "rtt_64_vs_dbus", "fanout_16_vs_dbus"] {
            let check = checks.iter().find(|c| c.ratio == name).unwrap();
            assert_eq!(check.met(), Some(true), "{name}");
        }
        let table = table(&medians(&output.measurements));
        let column = table
            .ratio_columns
            .iter()
            .position(|c| c.0 == "batch/dbus")
            .unwrap();
        let unicast = table.rows.iter().find(|r| r.shape == "unicast").unwrap();
        assert_eq!(unicast.ratios[column], Some(6.0));
    }

    #[test]
    fn fanout_plots_have_a_line_per_implementation() {
        let medians = medians(&parse_output(&full_output()).measurements);
        let total = fanout_series(&medians, "total");
        let names: Vec<&str> = total.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["ipcon", "ipcon-batch", "uds-seqpacket"]);
        let subs: Vec<u32> = total[0].points.iter().map(|p| p.0).collect();
        assert_eq!(subs, [1, 4, 16, 64]);
        assert_eq!(fanout_series(&medians, "publisher-cpu").len(), 3);
        assert!(fanout_series(&medians, "throughput").is_empty());
    }

    #[test]
    fn call_ratios_compare_calls_with_posts_and_uds() {
        let text = [
            perf("rtt", "median", 64, 1, "ipcon-post", 1, 20.0),
            perf("rtt", "median", 64, 1, "ipcon-call", 1, 21.0),
            perf("rtt", "median", 64, 1, "uds-seqpacket", 1, 14.0),
        ]
        .join("\n");
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let ratios = ratios(&medians(&parse_output(&lines).measurements));
        assert!(close(ratio(&ratios, "call_rtt_64_vs_post"), 21.0 / 20.0));
        assert!(close(ratio(&ratios, "call_rtt_64_vs_uds"), 21.0 / 14.0));
        let measurements = parse_output(&lines).measurements;
        let call = check_targets(&ratio_stats(&measurements))
            .into_iter()
            .find(|c| c.ratio == "call_rtt_64_vs_post")
            .map(|c| c.met());
        assert_eq!(call, Some(Some(true)));
    }

    #[test]
    fn missing_implementations_leave_ratios_absent_and_cells_empty() {
        let text = [
            perf("unicast", "throughput", 64, 1, "ipcon", 1, 100.0),
            perf("unicast", "throughput", 64, 1, "uds-seqpacket", 1, 200.0),
        ]
        .join("\n");
        let medians = medians(&parse_output(&lines(&text)).measurements);
        let ratios = ratios(&medians);
        assert_eq!(ratios, [("unicast_64_single_vs_uds".to_owned(), 0.5)]);
        let checks = check_targets(&ratio_stats(&parse_output(&lines(&text)).measurements));
        assert!(checks
            .iter()
            .all(|c| c.met().is_none() && c.status() == "not measured"));

        let table = table(&medians);
        assert_eq!(table.rows.len(), 1);
        let row = &table.rows[0];
        assert_eq!(
            row.values,
            [Some(100.0), None, None, Some(200.0), None, None, None]
        );
        assert_eq!(row.ratios, [Some(0.5), None, None, None, None, None]);
        let text = table.render_text();
        let data = text.lines().nth(1).unwrap();
        assert!(data.starts_with("unicast"));
        assert_eq!(data.split_whitespace().filter(|w| *w == "-").count(), 10);
    }

    #[test]
    fn other_ipcon_variants_get_ratios_and_a_column() {
        let text = [
            perf("unicast", "throughput", 64, 1, "ipcon", 1, 100.0),
            perf("unicast", "throughput", 64, 1, "ipcon-post", 1, 300.0),
            perf("unicast", "throughput", 64, 1, "uds-seqpacket", 1, 200.0),
            perf("rtt", "median", 64, 1, "ipcon-post", 1, 30.0),
            perf("rtt", "median", 64, 1, "uds-seqpacket", 1, 20.0),
        ]
        .join("\n");
        let medians = medians(&parse_output(&lines(&text)).measurements);
        let ratios = ratios(&medians);
        assert!(close(ratio(&ratios, "unicast_64_post_vs_uds"), 1.5));
        assert!(close(ratio(&ratios, "rtt_64_post_vs_uds"), 1.5));
        assert_eq!(ratio(&ratios, "unicast_2048_post_vs_uds"), None);
        let table = table(&medians);
        assert_eq!(table.implementations.last().unwrap(), "ipcon-post");
        let headings: Vec<&str> = table.ratio_columns.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(
            headings,
            [
                "ipcon/uds",
                "batch/uds",
                "post/uds",
                "ipcon/raw",
                "ipcon/pipe",
                "batch/ubus",
                "batch/dbus"
            ]
        );
        assert_eq!(table.rows[0].ratios[2], Some(1.5));
    }

    #[test]
    fn table_renders_as_text_and_markdown() {
        let medians = medians(&parse_output(&full_output()).measurements);
        let table = table(&medians);
        // unicast 64/2048, rtt median/p99, fanout 4 N x 3 metrics.
        assert_eq!(table.rows.len(), 2 + 2 + 12);
        let text = table.render_text();
        let header = text.lines().next().unwrap();
        for heading in [
            "shape",
            "ipcon-batch",
            "uds-seqpacket",
            "ipcon/uds",
            "ipcon/pipe",
        ] {
            assert!(header.contains(heading), "{header}");
        }
        let widths: Vec<usize> = text.lines().map(|l| l.chars().count()).collect();
        assert!(
            widths.windows(2).all(|w| w[0] == w[1]),
            "aligned: {widths:?}"
        );
        let markdown = table.render_markdown();
        let mut md = markdown.lines();
        assert!(md
            .next()
            .unwrap()
            .starts_with("| shape | size | subs | metric | ipcon |"));
        assert!(md
            .next()
            .unwrap()
            .starts_with("| --- | ---: | ---: | --- | ---: |"));
        let rtt = markdown
            .lines()
            .find(|l| l.starts_with("| rtt") && l.contains("median"))
            .unwrap();
        assert_eq!(
            rtt,
            "| rtt | 64 B | 1 | median (us) | 32.0 | - | 30.0 | 22.0 | 12.0 | - | - | 28.0 | 1.45 | - | 1.27 | 1.07 | 2.67 | - | - |"
        );
    }

    #[test]
    fn report_json_has_the_agreed_keys() {
        let machine = json!({
            "host_cpu": "cpu",
            "host_cores": 2,
            "vcpus": 1,
            "accel": "tcg",
            "host_load_before": 1.5,
            "host_load_after": 2.25,
        });
        let micro = vec![Micro {
            name: "name_new/a".into(),
            median_ns: 6.9,
            fastest_ns: 6.8,
            mean_ns: 7.3,
            samples: 100,
            iterations: 25_600,
        }];
        let report = Report::new(
            "2026-11-29T09:00:00Z".into(),
            machine,
            parse_output(&full_output()),
            Some(micro),
        );
        assert!(report.problems.is_empty());
        assert!(!report.render_markdown().contains("FAILED"));
        let json = report.to_json();
        for key in [
            "date",
            "machine",
            "measurements",
            "medians",
            "ratios",
            "targets",
            "lost",
            "micro",
        ] {
            assert!(!json[key].is_null(), "{key}");
        }
        let first = &json["measurements"][0];
        for key in [
            "shape",
            "metric",
            "size",
            "subscribers",
            "implementation",
            "run",
            "value",
            "unit",
            "sent",
            "received",
            "lost",
        ] {
            assert!(!first[key].is_null(), "{key}");
        }
        assert_eq!(json["machine"]["accel"], "tcg");
        assert!(json["ratios"]["fanout_16_vs_uds_loop"].is_f64());
        assert_eq!(
            json["targets"]["library_overhead_vs_raw"]["status"],
            "NOT MET"
        );
        assert_eq!(json["targets"]["unicast_64_vs_uds"]["met"], true);
        assert_eq!(json["micro"][0]["median_ns"], 6.9);
        let text = report.render_text();
        assert!(text.contains("TCG"));
        assert!(text.contains("before / after the VM run: 1.50 / 2.25"));
        assert!(text.contains("library_overhead_vs_raw"));
        assert!(text.contains("NOT MET"));
        let markdown = report.render_markdown();
        // Rounds add 1, 2, 3 to every value: per round, rtt_64_vs_uds
        // (ipcon-post) is 27/21, 28/22, 29/23: median 28/22, quartiles
        // halfway to the others.
        assert!(markdown
            .contains("| `rtt_64_vs_uds` | 1.27 | ±0.5% (1.26..1.29, 3 rounds) | <= 1.5 | met |"));
        assert!(markdown.contains("rtt ipcon-post"));
        assert_eq!(
            json["ratios_per_run"]["rtt_64_vs_uds"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        // Ratios without a target are listed too, after the targets.
        let pipe = markdown
            .find("| `rtt_64_vs_pipe` | 2.67 | ±2.6% (2.54..2.82, 3 rounds) |  |  |")
            .unwrap();
        assert!(pipe > markdown.find("| `fanout_16_vs_uds_loop` |").unwrap());
        assert!(text.contains("rtt_64_vs_pipe"));
    }

    #[test]
    fn a_failed_run_is_marked_in_every_rendering() {
        let mut lines = full_output();
        lines.pop(); // no PERF-END: the VM hung
        let report = Report::new("d".into(), json!({}), parse_output(&lines), None);
        assert_eq!(report.problems, ["the program never printed PERF-END"]);
        for text in [report.render_text(), report.render_markdown()] {
            assert!(text.starts_with("**THE RUN FAILED"), "{text}");
        }
    }

    #[test]
    fn divan_table_is_read_with_its_tree_paths() {
        let text = "\
     Running benches/wire.rs (target/release/deps/wire-5a6ac3f9d187c5f7)
Timer precision: 15 ns
wire                                   fastest       │ slowest       │ median        │ mean          │ samples │ iters
├─ emit_unicast_request                              │               │               │               │         │
│  ├─ 64                               43.86 ns      │ 2.255 µs      │ 45.86 ns      │ 69.28 ns      │ 100     │ 100
│  ╰─ 2048                             32.49 ns      │ 110.3 ns      │ 33.36 ns      │ 35.03 ns      │ 100     │ 6400
├─ parse_ack                           30.86 ns      │ 2.844 µs      │ 31.86 ns      │ 60.91 ns      │ 100     │ 100
├─ parse_unicast_delivery                            │               │               │               │         │
│  ╰─ 2048                             1.213 µs      │ 2.79 µs       │ 1.221 µs      │ 1.265 µs      │ 100     │ 200
╰─ parse_unicast_request                             │               │               │               │         │
   ╰─ 64                               34.16 ns      │ 67.47 ns      │ 34.53 ns      │ 35.4 ns       │ 100     │ 6400

done";
        let micro = parse_divan(&lines(text));
        let names: Vec<&str> = micro.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "emit_unicast_request/64",
                "emit_unicast_request/2048",
                "parse_ack",
                "parse_unicast_delivery/2048",
                "parse_unicast_request/64"
            ]
        );
        assert_eq!(micro[0].median_ns, 45.86);
        assert_eq!(micro[0].fastest_ns, 43.86);
        assert_eq!(micro[0].samples, 100);
        assert!((micro[3].median_ns - 1221.0).abs() < 1e-6);
        assert_eq!(micro[2].iterations, 100);
    }

    #[test]
    fn durations_convert_to_nanoseconds() {
        assert_eq!(duration_ns("43.86 ns"), Some(43.86));
        assert_eq!(duration_ns("2 µs"), Some(2000.0));
        assert_eq!(duration_ns("1.5 ms"), Some(1_500_000.0));
        assert_eq!(duration_ns("500 ps"), Some(0.5));
        assert_eq!(duration_ns("12"), None);
        assert_eq!(duration_ns("12 parsecs"), None);
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        // 2000-02-29 (a leap day of a century leap year) and the day after.
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(utc_timestamp(951_868_800), "2000-03-01T00:00:00Z");
        assert_eq!(utc_timestamp(1_798_536_000), "2026-12-29T09:20:00Z");
        assert_eq!(utc_timestamp(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn options_build_the_guest_command() {
        let args = |text: &str| {
            text.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let default = parse_options(&[]).unwrap();
        assert_eq!(default.perf_command(), "/bin/ipcon-perf --runs 5");
        assert!(default.micro);
        assert_eq!(default.vm_timeout(), Duration::from_secs(2700));
        let quick = parse_options(&args("--quick --no-micro --only fanout")).unwrap();
        assert_eq!(
            quick.perf_command(),
            "/bin/ipcon-perf --quick --only 'fanout'"
        );
        assert!(!quick.micro);
        assert_eq!(parse_options(&args("--runs 5")).unwrap().runs(), 5);
        assert!(
            parse_options(&args("--random-layout"))
                .unwrap()
                .random_layout
        );
        assert!(parse_options(&args("--icount")).unwrap().icount);
        assert!(!default.icount);
        assert_eq!(
            parse_options(&args("--only rtt --impl ipcon-post,genl-floor"))
                .unwrap()
                .perf_command(),
            "/bin/ipcon-perf --runs 5 --only 'rtt' --impl 'ipcon-post,genl-floor'"
        );
        assert!(parse_options(&args("--impl")).is_err());
        assert!(!parse_options(&args("")).unwrap().random_layout);
        assert_eq!(quick.runs(), 3);
        assert!(parse_options(&args("--quick --runs 3")).is_err());
        assert!(parse_options(&args("--runs 0")).is_err());
        assert!(parse_options(&args("--quick --runs 5")).is_err());
        assert!(parse_options(&args("--fast")).is_err());
        assert_eq!(
            parse_options(&args("--timeout 60")).unwrap().vm_timeout(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn cpu_model_comes_from_cpuinfo() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            cpu_model(cpuinfo).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        assert_eq!(cpu_model("processor : 0\n"), None);
    }
}
