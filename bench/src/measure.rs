//! The orchestrator's side of one measurement: start its processes, wait
//! until every one is ready, start the active one, collect the reports,
//! check that every message is accounted for and compute the values.

use std::time::{Duration, Instant};

use crate::clock::rate;
use crate::error::{bail, Error, Result};
use crate::handshake::Fields;
use crate::output::Measurement;
use crate::role::{Impl, Role, RoleArgs};
use crate::spawn::Process;

/// The longest one measurement may take (set-up included) before it counts
/// as hung.
const DEADLINE: Duration = Duration::from_secs(180);

/// What [`unicast`] and [`fanout`] learned besides their values.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The `PERF` values.
    pub measurements: Vec<Measurement>,
    /// Sends repeated because a queue was full.
    pub retries: u64,
    /// The receivers' blocking waits per message received (about 1: woken
    /// for every message; much less: queues drained in batches).
    pub waits_per_message: f64,
}

fn per_message(waits: u64, messages: u64) -> f64 {
    if messages == 0 {
        0.0
    } else {
        waits as f64 / messages as f64
    }
}

/// How long a failed measurement waits for the other processes to say why.
const ERROR_GRACE: Duration = Duration::from_secs(2);

/// `outcome` of the active process; if it failed, with what the passive
/// processes reported (a receiver that died makes its sender fail too).
fn with_causes<T>(outcome: Result<T>, passive: &mut [&mut Process]) -> Result<T> {
    outcome.map_err(|e| {
        let mut text = e.to_string();
        let until = Instant::now() + ERROR_GRACE;
        for process in passive {
            let wait = until.saturating_duration_since(Instant::now());
            if let Some(cause) = process.error_report(wait) {
                text.push_str("; ");
                text.push_str(&cause);
            }
        }
        Error::new(text)
    })
}

fn start(what: String, args: &RoleArgs, deadline: Instant) -> Result<Process> {
    let mut process = Process::spawn(what, &args.imp.program()?, &args.to_args())?;
    process.expect_ready(deadline)?;
    Ok(process)
}

/// The warm-up of a one-way stream, if it has one: `sender` was told `GO`
/// and sends the warm-up stream; once it and every receiver said `WARM`,
/// it is told `GO` again and the timed stream starts. What a process pays
/// once (its buffers' first use, page faults, the first wakeups) is paid
/// here, not in the figures.
fn warm_up(
    args: &RoleArgs,
    sender: &mut Process,
    receivers: &mut [&mut Process],
    deadline: Instant,
) -> Result<()> {
    if args.warmup == 0 {
        return Ok(());
    }
    with_causes(sender.expect_warm(deadline), receivers)?;
    for receiver in receivers.iter_mut() {
        receiver.expect_warm(deadline)?;
    }
    sender.go()
}

/// One-way unicast throughput: a sender process streams `args.count`
/// messages to a receiver process, after `args.warmup` untimed ones. The
/// value is messages received per second from the sender's start to the
/// receiver's last message.
pub fn unicast(args: &RoleArgs, run: u32) -> Result<Outcome> {
    let deadline = Instant::now() + DEADLINE;
    let name = args.imp.name();
    let start_receiver = || {
        start(
            format!("{name} receiver"),
            &args.as_role(Role::Receiver),
            deadline,
        )
    };
    let start_sender = || {
        start(
            format!("{name} sender"),
            &args.as_role(Role::Sender),
            deadline,
        )
    };
    let (mut receiver, mut sender) = if args.imp.receiver_first() {
        let receiver = start_receiver()?;
        (receiver, start_sender()?)
    } else {
        let sender = start_sender()?;
        (start_receiver()?, sender)
    };
    sender.go()?;
    warm_up(args, &mut sender, &mut [&mut receiver], deadline)?;
    let sent = with_causes(sender.expect_done(deadline), &mut [&mut receiver])?;
    let got = receiver.expect_done(deadline)?;
    sender.expect_exit(deadline)?;
    receiver.expect_exit(deadline)?;

    let (count, received, missed) = (sent.get("sent")?, got.get("received")?, got.get("missed")?);
    let silent = args.imp.loses_silently();
    if received + missed != count || (missed != 0 && !silent) {
        bail!(
            "{name} unicast: sent {count}, received {received}, reported missed {missed}: \
             messages lost"
        );
    }
    Ok(Outcome {
        measurements: vec![Measurement {
            shape: "unicast",
            metric: "throughput",
            size: args.size,
            subscribers: 1,
            implementation: name,
            run,
            attempt: 1,
            value: rate(received, sent.get("start_ns")?, got.get("last_ns")?),
            unit: "msg/s",
            sent: count,
            received,
            // Only where the implementation loses silently (ubus's gaps).
            lost: missed,
        }],
        retries: sent.get("retries")?,
        waits_per_message: per_message(got.get("waits")?, received),
    })
}

/// Round trips: a client process times `args.count` request/answer pairs
/// with a server process (for pipes, the client starts its own echo).
pub fn round_trip(args: &RoleArgs, run: u32) -> Result<Vec<Measurement>> {
    let deadline = Instant::now() + DEADLINE;
    let name = args.imp.name();
    let mut server = match args.imp {
        Impl::Pipe => None,
        _ => Some(start(
            format!("{name} server"),
            &args.as_role(Role::Server),
            deadline,
        )?),
    };
    let mut client = start(
        format!("{name} client"),
        &args.as_role(Role::Client),
        deadline,
    )?;
    client.go()?;
    let trips = with_causes(
        client.expect_done(deadline),
        &mut server.iter_mut().collect::<Vec<_>>(),
    )?;
    if let Some(server) = &mut server {
        let served = server.expect_done(deadline)?.get("served")?;
        if served != args.warmup + args.count {
            bail!(
                "{name} server answered {served} requests of {}",
                args.warmup + args.count
            );
        }
    }
    client.expect_exit(deadline)?;
    if let Some(server) = &mut server {
        server.expect_exit(deadline)?;
    }
    let count = trips.get("trips")?;
    let value = |metric: &'static str, ns: u64| Measurement {
        shape: "rtt",
        metric,
        size: args.size,
        subscribers: 1,
        implementation: name,
        run,
        attempt: 1,
        value: ns as f64 / 1000.0,
        unit: "us",
        sent: count,
        received: count,
        lost: 0,
    };
    Ok(vec![
        value("median", trips.get("median_ns")?),
        value("p99", trips.get("p99_ns")?),
    ])
}

/// Fan-out: a publisher process sends `args.count` messages (after
/// `args.warmup` untimed ones) to each of `args.subscribers` subscriber
/// processes. `total` is deliveries per second over all subscribers
/// (publisher start to the last subscriber's last message); `per-subscriber` is the mean of each subscriber's own
/// rate. `sent` counts deliveries (messages × subscribers) and `lost` the
/// messages the kernel reported as missed; a message neither received nor
/// reported missed fails the measurement. `publisher-cpu` is the
/// publisher's own CPU time per published message.
pub fn fanout(args: &RoleArgs, run: u32) -> Result<Outcome> {
    let deadline = Instant::now() + DEADLINE;
    let name = args.imp.name();
    let n = args.subscribers;
    let mut publisher = start(
        format!("{name} publisher"),
        &args.as_role(Role::Publisher),
        deadline,
    )?;
    // Started all at once, then awaited: their set-ups overlap.
    let mut subscribers = (0..n)
        .map(|index| {
            let sub = RoleArgs {
                index,
                ..args.as_role(Role::Subscriber)
            };
            Process::spawn(
                format!("{name} subscriber {index}"),
                &args.imp.program()?,
                &sub.to_args(),
            )
        })
        .collect::<Result<Vec<_>>>()?;
    for sub in &mut subscribers {
        sub.expect_ready(deadline)?;
    }
    publisher.go()?;
    warm_up(
        args,
        &mut publisher,
        &mut subscribers.iter_mut().collect::<Vec<_>>(),
        deadline,
    )?;
    let published = with_causes(
        publisher.expect_done(deadline),
        &mut subscribers.iter_mut().collect::<Vec<_>>(),
    )?;
    let reports = subscribers
        .iter_mut()
        .map(|s| s.expect_done(deadline))
        .collect::<Result<Vec<Fields>>>()?;

    let count = published.get("sent")?;
    let start_ns = published.get("start_ns")?;
    let (mut received, mut missed, mut last_ns, mut rates, mut waits) = (0, 0, 0, 0.0, 0);
    for (index, report) in reports.iter().enumerate() {
        let (got, lost, last) = (
            report.get("received")?,
            report.get("missed")?,
            report.get("last_ns")?,
        );
        if got + lost != count {
            bail!(
                "{name} subscriber {index}: received {got} + missed {lost} of {count} published: \
                 {} messages unaccounted for",
                count as i128 - (got + lost) as i128
            );
        }
        received += got;
        missed += lost;
        waits += report.get("waits")?;
        last_ns = last_ns.max(last);
        rates += rate(got, start_ns, last);
    }
    let value = |metric: &'static str, value: f64| Measurement {
        shape: "fanout",
        metric,
        size: args.size,
        subscribers: n,
        implementation: name,
        run,
        attempt: 1,
        value,
        unit: "msg/s",
        sent: count * n as u64,
        received,
        lost: missed,
    };
    // What the publisher itself spends per message published: fanning out
    // in the kernel (one system call for every subscriber) against one
    // send per subscriber. On one CPU the totals above also carry every
    // subscriber's receive, the same work for every implementation.
    let publisher_cpu = Measurement {
        metric: "publisher-cpu",
        unit: "us/msg",
        value: published.get("cpu_ns")? as f64 / 1e3 / count.max(1) as f64,
        ..value("publisher-cpu", 0.0)
    };
    Ok(Outcome {
        measurements: vec![
            value("total", rate(received, start_ns, last_ns)),
            value("per-subscriber", rates / n as f64),
            publisher_cpu,
        ],
        retries: published.get("retries")?,
        waits_per_message: per_message(waits, received),
    })
}
