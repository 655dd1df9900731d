//! Calls and services: replies matched to their calls, deadlines,
//! cancellation, a dead server failing every pending call at once, a
//! restarted server serving again, introspection.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipcon_linux::{CallStatus, Client, ErrorKind, PeerOptions, PeerRef, Responder, Service};

use ipcon_test_support::alloc_count::allocations;

use crate::harness::{note, shell, Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("calls_round_trip_and_methods", round_trip_and_methods),
    Test::new("calls_absent_peer_fails_at_once", absent_peer).timeout(90),
    Test::new("calls_deadline_and_late_reply", deadline_and_late_reply).timeout(60),
    Test::new(
        "calls_cancel_from_another_thread",
        cancel_from_another_thread,
    )
    .timeout(60),
    Test::new("calls_many_threads_correlated", many_threads).timeout(120),
    Test::new("calls_server_sigkill_fails_pending", server_sigkill).timeout(180),
    Test::new("calls_server_restart", server_restart).timeout(90),
    Test::new("calls_cli_json", cli_call_json).timeout(60),
    Test::new("calls_ten_thousand_in_flight", ten_thousand_in_flight).timeout(180),
    Test::new("calls_async_tokio", async_tokio).timeout(60),
];

/// Responders the `hang` method keeps: those calls never get an answer.
static HUNG: Mutex<Vec<Responder>> = Mutex::new(Vec::new());

/// The test service: `echo` (the argument back), `slow` (sleeps the
/// argument's milliseconds, then `slow:ARG`), `hang` (never answers), `fail`
/// (answers `failed` with the argument as text).
pub fn test_service(name: &str) -> Result<Service, String> {
    let handler = PeerOptions::named(name)
        .and_then(PeerOptions::open)
        .ctx(&format!("register {name}"))?;
    Ok(Service::builder(handler)
        .method("echo", "returns its argument", |req, reply| {
            let _ = reply.send(req.payload);
        })
        .method("slow", "sleeps ARG ms, then answers", |req, reply| {
            let ms: u64 = std::str::from_utf8(req.payload)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            std::thread::sleep(Duration::from_millis(ms));
            let mut answer = b"slow:".to_vec();
            answer.extend_from_slice(req.payload);
            let _ = reply.send(&answer);
        })
        .method("hang", "never answers", |_, reply| {
            HUNG.lock().unwrap_or_else(|e| e.into_inner()).push(reply);
        })
        .method("fail", "answers failed", |req, reply| {
            let text = String::from_utf8_lossy(req.payload).into_owned();
            let _ = reply.fail(CallStatus::Failed, &text);
        })
        .build())
}

/// Serves `service` on a thread with `workers` workers; stopped and joined
/// when the guard drops.
struct Serving {
    service: Service,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Serving {
    fn start(name: &str, workers: usize) -> Result<Self, String> {
        let service = test_service(name)?;
        let serving = service.clone();
        let thread = std::thread::spawn(move || {
            if let Err(e) = serving.serve(workers) {
                eprintln!("serve: {e}");
            }
        });
        Ok(Self {
            service,
            thread: Some(thread),
        })
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.service.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const SECOND: Option<Duration> = Some(Duration::from_secs(5));

/// The deadline of a call that waits behind a slow one on the service's one
/// worker: far longer than that wait, as the guest's vCPU can stall for
/// seconds.
const QUEUED: Option<Duration> = Some(Duration::from_secs(15));

fn round_trip_and_methods() -> TestResult {
    let serving = Serving::start("call_srv", 2)?;
    let client = Client::new().ctx("client")?;
    let reply = client
        .call("call_srv", "echo", b"hello", SECOND)
        .ctx("echo")?;
    ensure_eq!(reply, b"hello".to_vec(), "echo's reply");
    let err = client.call("call_srv", "nope", b"", SECOND).unwrap_err();
    ensure_eq!(err.kind(), ErrorKind::CallFailed, "unknown method: {err}");
    ensure_eq!(err.call_status(), Some(CallStatus::UnknownMethod), "status");
    let err = client
        .call("call_srv", "fail", b"as asked", SECOND)
        .unwrap_err();
    ensure_eq!(err.call_status(), Some(CallStatus::Failed), "fail: {err}");
    ensure_eq!(err.kernel_message(), Some("as asked"), "fail's text");
    let methods = client.methods("call_srv", SECOND).ctx("methods")?;
    let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
    ensure_eq!(
        names,
        vec![".methods", "echo", "slow", "hang", "fail"],
        "method list"
    );
    ensure_eq!(methods[1].summary, "returns its argument", "summary");
    let stats = serving.service.stats();
    ensure!(
        stats.dispatched >= 3 && stats.unknown_method == 1,
        "service stats {stats:?}"
    );
    Ok(())
}

fn absent_peer() -> TestResult {
    let client = Client::new().ctx("client")?;
    let start = Instant::now();
    let err = client
        .call("call_nobody", "echo", b"", Some(Duration::from_secs(60)))
        .unwrap_err();
    let took = start.elapsed();
    ensure_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // Far below the 60 s deadline: the send failed it, not the deadline
    // (loose, as the guest's vCPU can stall for seconds).
    ensure!(took < Duration::from_secs(10), "took {took:?}: not at once");
    ensure!(
        err.to_string()
            .starts_with("call \"call_nobody\": not found"),
        "{err}"
    );
    note(&format!("absent peer: failed after {took:?}"));
    Ok(())
}

fn deadline_and_late_reply() -> TestResult {
    // No workers: methods run on the receiving thread, in arrival order. A
    // worker skips a request whose deadline (100 ms here) passed while it
    // was queued: on a stalled guest no late reply would come.
    let _serving = Serving::start("call_slow", 0)?;
    let client = Client::new().ctx("client")?;
    let start = Instant::now();
    let err = client
        .call(
            "call_slow",
            "slow",
            b"3000",
            Some(Duration::from_millis(100)),
        )
        .unwrap_err();
    let took = start.elapsed();
    ensure_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // The reply would come at 3 s: well before it, the deadline ended the
    // call (loose, as the guest's vCPU can stall for seconds).
    ensure!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(2500),
        "timed out after {took:?}"
    );
    // The next call is served after the slow one, so the late reply arrives
    // first, while it waits: dropped, counted, never taken for its reply.
    let reply = client
        .call("call_slow", "slow", b"1", QUEUED)
        .ctx("second call")?;
    ensure_eq!(reply, b"slow:1".to_vec(), "second call's reply");
    let stats = client.stats();
    ensure_eq!(stats.calls.late_replies, 1, "late replies in {stats:?}");
    ensure_eq!(stats.calls.timed_out, 1, "timeouts");
    ensure_eq!(stats.pending, 0, "pending");
    Ok(())
}

fn cancel_from_another_thread() -> TestResult {
    let _serving = Serving::start("call_cancel", 1)?;
    let client = Client::new().ctx("client")?;
    let to = PeerRef::Name(ipcon_linux::Name::new("call_cancel").ctx("name")?);
    let pending = client.start(to, "slow", b"5000", QUEUED).ctx("start")?;
    let id = pending.id();
    let canceller = client.clone();
    let cancelled = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        canceller.cancel(id)
    });
    let start = Instant::now();
    let mut reply = Vec::new();
    let err = pending.wait(&mut reply).unwrap_err();
    let took = start.elapsed();
    ensure!(
        cancelled.join().unwrap_or(false),
        "cancel found no pending call"
    );
    ensure_eq!(err.kind(), ErrorKind::Cancelled, "{err}");
    // The reply would come at 5 s (the deadline at 15 s): well before it,
    // the cancel ended the wait (loose, as the guest's vCPU can stall for
    // seconds).
    ensure!(took < Duration::from_secs(4), "cancel took {took:?}");
    // The echo waits behind the slow call on the one worker, so the slow
    // call's reply arrives first, while the echo waits: dropped as late.
    let reply = client
        .call("call_cancel", "echo", b"after", QUEUED)
        .ctx("next call")?;
    ensure_eq!(reply, b"after".to_vec(), "next call's reply");
    ensure_eq!(client.stats().calls.late_replies, 1, "late replies");
    ensure_eq!(client.stats().calls.cancelled, 1, "cancelled");
    Ok(())
}

fn many_threads() -> TestResult {
    const THREADS: usize = 8;
    const CALLS: usize = 200;
    let serving = Serving::start("call_many", 3)?;
    let client = Client::new().ctx("client")?;
    let failures = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let client = client.clone();
            let failures = Arc::clone(&failures);
            std::thread::spawn(move || {
                let mut reply = Vec::new();
                let to = PeerRef::Name(ipcon_linux::Name::new("call_many").unwrap());
                for i in 0..CALLS {
                    let arg = format!("{t}:{i}");
                    let outcome = client.call_into(to, "echo", arg.as_bytes(), SECOND, &mut reply);
                    let wrong = match outcome {
                        Ok(()) if reply == arg.as_bytes() => continue,
                        Ok(()) => format!("{arg} got {:?}", String::from_utf8_lossy(&reply)),
                        Err(e) if e.kind() == ErrorKind::QueueFull => continue,
                        Err(e) => format!("{arg}: {e}"),
                    };
                    failures.lock().unwrap().push(wrong);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().map_err(|_| "a calling thread panicked")?;
    }
    let failures = failures.lock().unwrap();
    ensure!(
        failures.is_empty(),
        "{} wrong: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    let stats = client.stats();
    ensure_eq!(
        stats.calls.late_replies + stats.calls.misdirected_replies,
        0,
        "dropped replies"
    );
    ensure_eq!(stats.pending, 0, "pending");
    note(&format!(
        "{} calls from {THREADS} threads: {:?}; service {:?}",
        THREADS * CALLS,
        stats.calls,
        serving.service.stats()
    ));
    Ok(())
}

/// When the kernel's peer-remove event for peer `name` arrived (seen by a
/// kernel event monitor of its own).
fn watch_removal(name: &str) -> Result<std::thread::JoinHandle<Option<Instant>>, String> {
    let monitor = ipcon_linux::KeventMonitor::open().ctx("kernel event monitor")?;
    let name = name.to_owned();
    Ok(std::thread::spawn(move || {
        let mut msg = ipcon_linux::Message::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let wait = ipcon_linux::Wait::Timeout(Duration::from_secs(1));
            if monitor.receive(&mut msg, wait).is_err() {
                continue;
            }
            if let Some(ipcon_linux::Kevent {
                kind: ipcon_linux::KeventKind::PeerRemove { peer, .. },
                ..
            }) = msg.kevent()
            {
                if peer.name.as_ref().map(|n| n.as_str()) == Some(name.as_str()) {
                    return Some(Instant::now());
                }
            }
        }
        None
    }))
}

/// A server killed with calls pending.
#[derive(Clone, Copy, Debug)]
enum Victim {
    /// The `serve` helper: a Rust [`Service`] on two worker threads whose
    /// `hang` method keeps every request unanswered.
    RustService,
    /// The static C sample `ipcon_calc serve`: one thread; `sleep 60000`
    /// holds the first request, the others wait in its socket's queue.
    CCalc,
}

impl Victim {
    fn start(self, name: &str) -> Result<Helper, String> {
        match self {
            Victim::RustService => {
                let helper = Helper::start("serve", &[name])?;
                helper.ready()?;
                Ok(helper)
            }
            Victim::CCalc => {
                let helper = Helper::program(
                    &crate::c_api::static_program("ipcon_calc"),
                    &["serve", name],
                )?;
                helper.expect(&format!("calc: serving {name}"), Duration::from_secs(15))?;
                Ok(helper)
            }
        }
    }

    /// A method and argument that are never answered before the kill.
    fn pending_method(self) -> (&'static str, &'static [u8]) {
        match self {
            Victim::RustService => ("hang", b""),
            Victim::CCalc => ("sleep", b"60000"),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Victim::RustService => "Rust service (2 worker threads)",
            Victim::CCalc => "C ipcon_calc (static, 1 thread)",
        }
    }
}

/// How long after a SIGKILL: the peer-remove event, the last pending call's
/// failure, and the killed process reaped (its teardown done: the floor
/// the event cannot beat, as the socket is released during the teardown).
struct KillTimes {
    event: Option<Duration>,
    all_failed: Duration,
    reaped: Duration,
}

/// Pending calls per kill, and the threads making them.
const KILL_THREADS: usize = 4;
const KILL_CALLS_PER_THREAD: usize = 25;

/// The pending calls' deadline: far beyond the bound on failing them, so
/// only the peer-remove event, not the deadline, can fail them in time.
const KILL_CALL_DEADLINE: Duration = Duration::from_secs(60);

/// Starts 100 never-answered calls to `victim` (peer `name`) from several
/// threads, SIGKILLs it, and returns how long after the kill the kernel's
/// event came and the last call failed (each must fail with `PeerGone`).
fn kill_with_calls_pending(
    client: &Client,
    helper: &mut Helper,
    name: &str,
    victim: Victim,
) -> Result<KillTimes, String> {
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (method, arg) = victim.pending_method();
    let threads: Vec<_> = (0..KILL_THREADS)
        .map(|_| {
            let client = client.clone();
            let started = started_tx.clone();
            let to = PeerRef::Name(ipcon_linux::Name::new(name).ctx("victim name")?);
            Ok(std::thread::spawn(move || -> Vec<(ErrorKind, Instant)> {
                let pending: Vec<_> = (0..KILL_CALLS_PER_THREAD)
                    .map(|_| client.start(to, method, arg, Some(KILL_CALL_DEADLINE)))
                    .collect();
                let _ = started.send(());
                pending
                    .into_iter()
                    .map(|call| {
                        let kind = match call {
                            Ok(call) => match call.wait(&mut Vec::new()) {
                                Ok(()) => ErrorKind::Os,
                                Err(e) => e.kind(),
                            },
                            Err(e) => e.kind(),
                        };
                        (kind, Instant::now())
                    })
                    .collect()
            }))
        })
        .collect::<Result<_, String>>()?;
    for _ in 0..KILL_THREADS {
        started_rx
            .recv_timeout(Duration::from_secs(10))
            .ctx("calls started")?;
    }
    // Let the helper take every request before it dies.
    std::thread::sleep(Duration::from_millis(300));
    let removal = watch_removal(name)?;
    let killed = Instant::now();
    helper.kill();
    let reaped = killed.elapsed();
    let mut last = killed;
    for thread in threads {
        for (kind, at) in thread.join().map_err(|_| "a calling thread panicked")? {
            ensure_eq!(kind, ErrorKind::PeerGone, "a pending call's error");
            last = last.max(at);
        }
    }
    let event = removal
        .join()
        .map_err(|_| "the kernel event watcher panicked")?
        .map(|at| at - killed);
    Ok(KillTimes {
        event,
        all_failed: last - killed,
        reaped,
    })
}

/// Kills per kind of server.
const KILL_ROUNDS: usize = 5;

/// "median M (min A, max B)" of `values`, in milliseconds.
fn spread_ms(mut values: Vec<Duration>) -> String {
    values.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    match (values.first(), values.get(values.len() / 2), values.last()) {
        (Some(min), Some(median), Some(max)) => format!(
            "median {:.1} (min {:.1}, max {:.1})",
            ms(median),
            ms(min),
            ms(max)
        ),
        _ => "none".into(),
    }
}

fn server_sigkill() -> TestResult {
    let client = Client::new().ctx("client")?;
    for victim in [Victim::RustService, Victim::CCalc] {
        let mut rounds = Vec::new();
        for round in 0..KILL_ROUNDS {
            let mut helper = victim.start("call_victim")?;
            let times = kill_with_calls_pending(&client, &mut helper, "call_victim", victim)
                .ctx(&format!("{victim:?}, kill {round}"))?;
            // Far below the calls' 60 s deadline: the event, not the
            // deadline, failed them (the VM is emulated and shared, its
            // vCPU can stall for seconds: the bound is loose).
            ensure!(
                times.all_failed < Duration::from_secs(20),
                "{victim:?}: failing the calls took {:?}",
                times.all_failed
            );
            ensure!(times.event.is_some(), "{victim:?}: no peer-remove event");
            rounds.push(times);
        }
        // The figure of issue 16 (target <= 10 ms), its parts, and the
        // floor (the killed process's teardown until it is reaped), as
        // medians of KILL_ROUNDS kills: reported, not asserted, as on an
        // emulated (TCG) VM on a shared host they vary severalfold.
        note(&format!(
            "{}: sigkill_to_all_calls_failed_ms {}; sigkill_to_peer_remove_event_ms {}; \
             peer_remove_event_to_all_calls_failed_ms {}; sigkill_to_reaped_ms {} \
             ({KILL_ROUNDS} kills, {} calls from {KILL_THREADS} threads each)",
            victim.describe(),
            spread_ms(rounds.iter().map(|t| t.all_failed).collect()),
            spread_ms(rounds.iter().filter_map(|t| t.event).collect()),
            spread_ms(
                rounds
                    .iter()
                    .filter_map(|t| t.event.map(|e| t.all_failed.saturating_sub(e)))
                    .collect()
            ),
            spread_ms(rounds.iter().map(|t| t.reaped).collect()),
            KILL_THREADS * KILL_CALLS_PER_THREAD,
        ));
    }
    let stats = client.stats();
    ensure_eq!(
        stats.calls.peer_gone,
        (2 * KILL_ROUNDS * KILL_THREADS * KILL_CALLS_PER_THREAD) as u64,
        "calls failed as peer gone: {stats:?}"
    );
    ensure_eq!(stats.pending, 0, "pending calls left");
    Ok(())
}

fn server_restart() -> TestResult {
    let mut helper = Victim::RustService.start("call_victim")?;
    let client = Client::new().ctx("client")?;
    kill_with_calls_pending(&client, &mut helper, "call_victim", Victim::RustService)?;
    let helper = Helper::start("serve", &["call_victim"])?;
    helper.ready()?;
    let reply = client
        .call("call_victim", "echo", b"again", SECOND)
        .ctx("call after the restart")?;
    ensure_eq!(reply, b"again".to_vec(), "reply of the restarted server");
    Ok(())
}

fn cli_call_json() -> TestResult {
    let helper = Helper::start("serve", &["call_cli"])?;
    helper.ready()?;
    let (code, out) = shell("/bin/ipcon call --json call_cli echo 'hi \"there\"'")?;
    ensure_eq!(code, 0, "exit status; output {out:?}");
    ensure!(
        out.starts_with(
            r#"{"peer":"call_cli","method":"echo","status":"ok","reply":"hi \"there\"","elapsed_us":"#
        ),
        "json: {out:?}"
    );
    // The CLI's global --json works too.
    let (code, out) = shell("/bin/ipcon --json call call_cli echo x")?;
    ensure!(
        code == 0 && out.contains(r#""reply":"x""#),
        "global --json: {out:?}"
    );
    let (code, out) = shell("/bin/ipcon call call_cli echo plain")?;
    ensure_eq!((code, out.as_str()), (0, "plain\n"), "text output");
    let (code, out) = shell("/bin/ipcon call --json --timeout 0.2 call_cli hang")?;
    ensure_eq!(code, 1, "exit status of a timeout; output {out:?}");
    ensure!(
        out.contains(r#""status":"timeout","error":"call \"call_cli\": timed out""#),
        "{out:?}"
    );
    let (code, out) = shell("/bin/ipcon call --json call_cli nope")?;
    ensure_eq!(code, 1, "exit status of an unknown method");
    ensure!(out.contains(r#""status":"unknown-method""#), "{out:?}");
    let (code, out) = shell("/bin/ipcon call --json call_nobody echo")?;
    ensure!(
        code == 1 && out.contains(r#""status":"not-found""#),
        "{out:?}"
    );
    let (code, out) = shell("/bin/ipcon call --list call_cli")?;
    ensure_eq!(code, 0, "--list exit status");
    ensure!(
        out.contains("echo\treturns its argument\n"),
        "--list: {out:?}"
    );
    let (code, out) = shell("/bin/ipcon call --list --json call_cli")?;
    ensure!(
        code == 0
            && out.starts_with(r#"{"peer":"call_cli","name":".methods","#)
            && out.contains(
                "{\"peer\":\"call_cli\",\"name\":\"hang\",\"summary\":\"never answers\"}\n"
            ),
        "--list --json: {out:?}"
    );
    Ok(())
}

/// 10,000 calls started before the first reply is read: every one gets its
/// own reply (receive buffers big enough to hold them all), and once the
/// table and the reply buffers are warm, calls allocate nothing.
fn ten_thousand_in_flight() -> TestResult {
    // Divided on the kernel matrix (see harness::stress_count).
    let calls = crate::harness::stress_count(10_000) as usize;
    const BUFFER: usize = 64 << 20;
    let handler = PeerOptions::named("call_bulk")
        .ctx("name")?
        .recv_buffer(BUFFER)
        .open()
        .ctx("register the service")?;
    let service = Service::builder(handler)
        .method("echo", "returns its argument", |req, reply| {
            let _ = reply.send(req.payload);
        })
        .build();
    let serving = service.clone();
    let server = std::thread::spawn(move || serving.serve(0));
    let client =
        Client::with_options(PeerOptions::anonymous().recv_buffer(BUFFER), calls).ctx("client")?;
    let to = PeerRef::Name(ipcon_linux::Name::new("call_bulk").ctx("name")?);
    // Equal lengths: a slot's reply buffer grows only for a bigger reply.
    let args: Vec<String> = (0..calls).map(|i| format!("call {i:05}")).collect();
    let start = Instant::now();
    let mut reply = Vec::with_capacity(64);
    for round in 0..2 {
        let mut pending = Vec::with_capacity(calls);
        let before = allocations();
        for arg in &args {
            let call = client.start(to, "echo", arg.as_bytes(), Some(Duration::from_secs(120)));
            pending.push(call.ctx("start a call")?);
        }
        ensure_eq!(client.stats().pending, calls, "calls in flight");
        for (call, arg) in pending.into_iter().zip(&args) {
            call.wait(&mut reply).ctx("a call's reply")?;
            ensure!(
                reply == arg.as_bytes(),
                "{arg} got {:?}",
                String::from_utf8_lossy(&reply)
            );
        }
        let allocated = allocations() - before;
        // The first round allocates each slot's reply buffer once.
        if round == 1 {
            ensure_eq!(allocated, 0, "allocations for {calls} calls in flight");
        }
    }
    let took = start.elapsed();
    service.stop();
    server.join().map_err(|_| "server panicked")?.ctx("serve")?;
    let stats = client.stats();
    ensure_eq!(stats.calls.replied, 2 * calls as u64, "replies: {stats:?}");
    note(&format!(
        "2 x {calls} calls in flight, all answered, in {took:?}"
    ));
    Ok(())
}

/// `AsyncClient`: concurrent calls on one task set, a deadline, and a call
/// whose future is dropped (cancelled; its late reply counted).
fn async_tokio() -> TestResult {
    // One worker: requests are answered in arrival order (the late reply
    // below arrives before the reply of the call after it).
    let _serving = Serving::start("call_async", 1)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ctx("runtime")?;
    runtime.block_on(async {
        let client = Arc::new(ipcon_linux::AsyncClient::new().ctx("client")?);
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let client = Arc::clone(&client);
                tokio::spawn(async move {
                    let arg = format!("async {i}");
                    let reply = client
                        .call("call_async", "echo", arg.as_bytes(), SECOND)
                        .await;
                    (arg, reply)
                })
            })
            .collect();
        for task in tasks {
            let (arg, reply) = task.await.map_err(|e| e.to_string())?;
            ensure_eq!(reply.ctx("async call")?, arg.into_bytes(), "async reply");
        }
        let start = Instant::now();
        let err = client
            .call("call_async", "hang", b"", Some(Duration::from_millis(100)))
            .await
            .unwrap_err();
        ensure_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        // `hang` never answers: the bound only tells the deadline from never
        // (loose, as the guest's vCPU can stall for seconds).
        ensure!(
            start.elapsed() < Duration::from_secs(5),
            "timeout took {:?}",
            start.elapsed()
        );
        // The reply would come at 3 s: the future is dropped long before.
        let dropped = tokio::time::timeout(
            Duration::from_millis(100),
            client.call("call_async", "slow", b"3000", QUEUED),
        )
        .await;
        ensure!(dropped.is_err(), "the slow call finished in 100 ms");
        // The echo waits behind the slow call on the one worker, so the
        // dropped call's reply arrives first, while the echo waits.
        let reply = client
            .call("call_async", "echo", b"after", QUEUED)
            .await
            .ctx("after")?;
        ensure_eq!(reply, b"after".to_vec(), "reply after a dropped call");
        let stats = client.stats();
        ensure_eq!(stats.calls.cancelled, 1, "cancelled: {stats:?}");
        ensure_eq!(stats.calls.late_replies, 1, "late replies: {stats:?}");
        ensure_eq!(stats.pending, 0, "pending");
        Ok(())
    })
}
