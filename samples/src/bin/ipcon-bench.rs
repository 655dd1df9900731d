//! Checks, against the loaded module, what host tests cannot: steady-state
//! send and receive do no heap allocation, a blocked receive never holds up
//! another thread's requests, the tokio receive really waits asynchronously;
//! and measures message rates.
//!
//! Prints `PASS name` / `FAIL name: reason` per check, then
//! `ipcon-bench: N passed, N failed`; exits 0 only if all passed.

use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use ipcon_linux::{Handler, Message, MessageKind, Replay, Wait};
use ipcon_samples::{out, parse_count, CliError};
use ipcon_test_support::alloc_count::{allocations_in, CountingAllocator};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `work` counting this thread's allocations; its result and the count.
fn count_allocations<T>(work: impl FnOnce() -> T) -> (T, u64) {
    allocations_in(work)
}

const HELP: &str = "\
Usage: ipcon-bench [--count N]

Needs the ipcon module. Checks that steady-state unicast and multicast send
and receive do no heap allocation and that a blocked receive does not hold up
requests from other threads; prints message rates.

Options:
  --count N   messages per measurement (default 10000)
  -h, --help  show this help
";

type Outcome = Result<String, String>;

/// The counter itself works (else "0 allocations" would prove nothing).
fn counter_counts() -> Outcome {
    let (boxed, allocations) = count_allocations(|| std::hint::black_box(Box::new([0u8; 64])));
    drop(boxed);
    if allocations == 0 {
        return Err("a Box::new was not counted".into());
    }
    Ok(format!("one Box::new counted as {allocations}"))
}

fn unicast_no_alloc(count: u64) -> Outcome {
    let rx = Handler::new("bench_rx").map_err(|e| e.to_string())?;
    let tx = Handler::anonymous().map_err(|e| e.to_string())?;
    let payload = [0x5au8; 256];
    let mut msg = Message::new();
    let round = |msg: &mut Message| -> Result<(), ipcon_linux::Error> {
        tx.send_unicast("bench_rx", &payload)?;
        rx.receive(msg, Wait::Forever)
    };
    for _ in 0..100 {
        round(&mut msg).map_err(|e| e.to_string())?;
    }
    let start = Instant::now();
    let (result, allocations) = count_allocations(|| {
        for _ in 0..count {
            round(&mut msg)?;
        }
        Ok::<(), ipcon_linux::Error>(())
    });
    let elapsed = start.elapsed();
    result.map_err(|e| e.to_string())?;
    if msg.kind() != MessageKind::Unicast || msg.payload() != payload {
        return Err("the received message differs from the one sent".into());
    }
    if allocations != 0 {
        return Err(format!(
            "{allocations} heap allocations in {count} send+receive"
        ));
    }
    Ok(format!(
        "{count} unicast send+receive of 256 bytes in {:.1} ms ({:.0} msg/s), 0 allocations",
        elapsed.as_secs_f64() * 1e3,
        count as f64 / elapsed.as_secs_f64()
    ))
}

fn multicast_no_alloc(count: u64) -> Outcome {
    let owner = Handler::new("bench_owner").map_err(|e| e.to_string())?;
    owner.register_group("bench").map_err(|e| e.to_string())?;
    let sub = Handler::anonymous().map_err(|e| e.to_string())?;
    sub.join_group("bench_owner", "bench", Replay::Skip)
        .map_err(|e| e.to_string())?;
    let payload = [0xa5u8; 256];
    let mut msg = Message::new();
    let round = |msg: &mut Message, sync: bool| -> Result<(), String> {
        if sync {
            let report = owner
                .send_multicast_sync("bench", &payload)
                .map_err(|e| e.to_string())?;
            if report.delivered != 1 || report.dropped != 0 {
                return Err(format!("sync multicast reported {report:?}"));
            }
        } else {
            owner
                .send_multicast("bench", &payload)
                .map_err(|e| e.to_string())?;
        }
        sub.receive(msg, Wait::Forever).map_err(|e| e.to_string())
    };
    for i in 0..100 {
        round(&mut msg, i % 2 == 0)?;
    }
    let start = Instant::now();
    let (result, allocations) = count_allocations(|| {
        for i in 0..count {
            round(&mut msg, i % 2 == 0)?;
        }
        Ok::<(), String>(())
    });
    let elapsed = start.elapsed();
    result?;
    if msg.kind() != MessageKind::Group || msg.group().map(|g| g.as_str()) != Some("bench") {
        return Err("the received message is not the group message".into());
    }
    if allocations != 0 {
        return Err(format!(
            "{allocations} heap allocations in {count} publish+receive"
        ));
    }
    Ok(format!(
        "{count} multicast (half sync) publish+receive in {:.1} ms ({:.0} msg/s), 0 allocations",
        elapsed.as_secs_f64() * 1e3,
        count as f64 / elapsed.as_secs_f64()
    ))
}

/// One thread blocks in `receive`; another thread's requests on the same
/// handler must still complete at once.
fn blocked_receive_does_not_block_requests() -> Outcome {
    let handler = Arc::new(Handler::new("bench_blocked").map_err(|e| e.to_string())?);
    let owner = Handler::new("bench_owner2").map_err(|e| e.to_string())?;
    owner.register_group("g").map_err(|e| e.to_string())?;
    let (done_tx, done_rx) = mpsc::channel();
    let receiver = {
        let handler = Arc::clone(&handler);
        std::thread::spawn(move || {
            let mut msg = Message::new();
            let result = handler.receive(&mut msg, Wait::Forever);
            let _ = done_tx.send(result.map(|()| msg.payload().to_vec()));
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let requests = (|| {
        handler.join_group("bench_owner2", "g", Replay::Skip)?;
        handler.leave_group("bench_owner2", "g")?;
        handler.register_group("own")?;
        handler.directory().is_peer_present("bench_owner2")?;
        handler.send_unicast("bench_owner2", b"ping")
    })();
    let elapsed = start.elapsed();
    requests.map_err(|e| e.to_string())?;
    if elapsed > Duration::from_secs(1) {
        return Err(format!(
            "requests took {elapsed:?} while a receive was blocked"
        ));
    }
    owner
        .send_unicast("bench_blocked", b"wake")
        .map_err(|e| e.to_string())?;
    let woke = done_rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|_| "the blocked receive did not return".to_owned())?
        .map_err(|e| e.to_string())?;
    let _ = receiver.join();
    if woke != b"wake" {
        return Err(format!("the blocked receive got {woke:?}"));
    }
    Ok(format!(
        "5 requests in {:.2} ms while another thread was blocked in receive",
        elapsed.as_secs_f64() * 1e3
    ))
}

/// An `AsyncHandler` receive parks the task, not the thread: on a
/// single-threaded runtime a timer task keeps ticking while the receive
/// waits, and the receive completes when a message arrives.
fn async_receive_parks_the_task() -> Outcome {
    use ipcon_linux::AsyncHandler;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let handler = AsyncHandler::new(Handler::new("bench_async").map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let sender = Handler::anonymous().map_err(|e| e.to_string())?;
        let ticks = tokio::spawn(async move {
            let mut ticks = 0u32;
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                ticks += 1;
            }
            // Only now does the message go out.
            sender
                .send_unicast("bench_async", b"async")
                .map(|()| ticks)
                .map_err(|e| e.to_string())
        });
        let mut msg = Message::new();
        let received =
            tokio::time::timeout(Duration::from_secs(5), handler.receive(&mut msg)).await;
        let ticks = ticks
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("send: {e}"))?;
        match received {
            Err(_) => Err("the async receive never completed".to_owned()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(())) if msg.payload() != b"async" => Err(format!("received {:?}", msg.payload())),
            Ok(Ok(())) => Ok(format!(
                "a timer task ticked {ticks} times on the same thread while the receive waited"
            )),
        }
    })
}

fn main() -> ExitCode {
    let mut count = 10_000;
    let parsed = (|| -> Result<bool, CliError> {
        use lexopt::prelude::*;
        let mut parser = lexopt::Parser::from_env();
        while let Some(arg) = parser.next()? {
            match arg {
                Long("count") => count = parse_count(parser.value()?)?,
                Short('h') | Long("help") => {
                    print!("{HELP}");
                    return Ok(false);
                }
                _ => return Err(arg.unexpected().into()),
            }
        }
        Ok(true)
    })();
    match parsed {
        Ok(true) => {}
        Ok(false) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipcon-bench: {e}");
            return ExitCode::from(2);
        }
    }

    let checks: [(&str, &dyn Fn() -> Outcome); 5] = [
        ("allocation-counter", &counter_counts),
        ("unicast-no-alloc", &|| unicast_no_alloc(count)),
        ("multicast-no-alloc", &|| multicast_no_alloc(count)),
        ("blocked-receive", &blocked_receive_does_not_block_requests),
        ("async-receive", &async_receive_parks_the_task),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, check) in checks {
        match check() {
            Ok(detail) => {
                passed += 1;
                out!("PASS {name}: {detail}");
            }
            Err(reason) => {
                failed += 1;
                out!("FAIL {name}: {reason}");
            }
        }
    }
    out!("ipcon-bench: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
