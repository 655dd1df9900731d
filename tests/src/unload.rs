//! Module unload with live peers (runs last): `rmmod` must succeed while
//! processes hold peers, groups, subscriptions and blocked receives; the
//! tools must say the module is missing; a reload must work from scratch.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcon_linux::{
    Directory, Error, ErrorKind, Handler, KeventMonitor, Message, MessageKind, PeerOptions,
};
use ipcon_linux::{Replay, Wait};

use crate::common::{next_kevent, receive_kind};
use crate::harness::{shell, wait_deadline, Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("module_unload_with_live_peers", unload_with_live_peers).timeout(60),
    Test::new("module_unload_under_stress", unload_under_stress).timeout(120),
];

pub const MODULE: &str = "/lib/modules/ipcon.ko";
const NOT_LOADED: &str = "ipcon kernel module not loaded (try: modprobe ipcon)";

/// The running module's parameters, to load it again the same way.
pub fn current_params() -> Result<Vec<String>, String> {
    let mut params = Vec::new();
    for name in [
        "max_peers",
        "max_groups_per_peer",
        "max_subscriptions_per_peer",
        "max_payload",
        "max_peers_per_user",
        "max_groups_per_user",
        "max_subscriptions_per_user",
        "max_cached_bytes_per_user",
    ] {
        params.push(format!("{name}={}", crate::common::module_param(name)?));
    }
    Ok(params)
}

/// Runs a module tool with a deadline; its exit code.
pub fn run_tool(program: &str, args: &[String]) -> Result<i32, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .ctx(&format!("start {program}"))?;
    let status = wait_deadline(&mut child, Duration::from_secs(20))
        .ok_or_else(|| format!("{program} {args:?} hung for 20s"))?;
    Ok(status.code().unwrap_or(-1))
}

fn unload_with_live_peers() -> TestResult {
    let params = current_params()?;
    let mut owner = Helper::start("hold", &["e2e_ul_owner", "g"])?;
    owner.ready()?;
    let mut subscriber = Helper::start("subscribe", &["e2e_ul_owner", "g"])?;
    subscriber.ready()?;
    let mut anonymous = Helper::start("hold", &["-"])?;
    anonymous.ready()?;
    let mut monitor = Helper::program("/bin/ipcon", &["monitor"])?;
    std::thread::sleep(Duration::from_millis(300));
    // A thread of this process blocked in receive, too.
    let local = Arc::new(Handler::new("e2e_ul_local").ctx("register local peer")?);
    local
        .join_group("e2e_ul_owner", "g", Replay::LastMessage)
        .ctx("local join")?;
    let (tx, blocked_result) = mpsc::channel();
    {
        let local = Arc::clone(&local);
        std::thread::spawn(move || {
            let mut msg = Message::new();
            let _ = tx.send(local.receive(&mut msg, Wait::Forever).map(|()| msg.kind()));
        });
    }
    std::thread::sleep(Duration::from_millis(200));

    let code = run_tool("/bin/rmmod", &["ipcon".to_owned()])?;
    ensure_eq!(code, 0, "rmmod ipcon with live peers");
    ensure!(
        !std::path::Path::new("/sys/module/ipcon").exists(),
        "/sys/module/ipcon still exists after rmmod"
    );

    // Blocked receivers either woke with an error or stay harmlessly
    // blocked; either way they can be killed at once.
    match blocked_result.recv_timeout(Duration::from_millis(500)) {
        Ok(Ok(kind)) => {
            ensure!(
                kind != MessageKind::Empty,
                "the blocked receive returned an empty message"
            );
        }
        Ok(Err(e)) => crate::harness::note(&format!("the blocked receive woke with: {e}")),
        Err(_) => crate::harness::note("the blocked receive is still waiting (harmless)"),
    }
    for (what, helper) in [
        ("owner", &mut owner),
        ("subscriber", &mut subscriber),
        ("anonymous", &mut anonymous),
        ("monitor", &mut monitor),
    ] {
        for line in helper.drain() {
            crate::harness::note(&format!("{what} said {line:?}"));
        }
        helper.kill();
    }

    // Without the module: clear errors, no hangs.
    let err = Directory::open()
        .err()
        .ctx("Directory::open without the module")?;
    ensure_eq!(
        err.kind(),
        ErrorKind::ModuleNotLoaded,
        "kind without the module ({err})"
    );
    ensure!(err.to_string().contains(NOT_LOADED), "error text: {err}");
    let err = Handler::new("e2e_ul_none")
        .err()
        .ctx("Handler::new without the module")?;
    ensure_eq!(
        err.kind(),
        ErrorKind::ModuleNotLoaded,
        "handler without the module ({err})"
    );
    // A handler from before the unload learns that the module is gone (not
    // a bare "not found": generic netlink's ENOENT for an unknown family).
    let err = local
        .send_unicast("e2e_ul_owner", b"x")
        .err()
        .ctx("a send succeeded without the module")?;
    ensure_eq!(
        err.kind(),
        ErrorKind::ModuleNotLoaded,
        "a live handler's send after rmmod ({err})"
    );
    for command in [
        "/bin/ipcon peers",
        "/bin/ipcon-cmd somebody hello",
        "/bin/ipcon monitor --count 1",
        "/bin/ipcon-server",
    ] {
        let (code, out) = shell(command)?;
        ensure_eq!(code, 1, "{command} without the module (output {out:?})");
        ensure!(
            out.contains(NOT_LOADED),
            "{command} without the module says: {out}"
        );
    }

    let mut insmod_args = vec![MODULE.to_owned()];
    insmod_args.extend(params);
    let code = run_tool("/bin/insmod", &insmod_args)?;
    ensure_eq!(code, 0, "insmod {insmod_args:?}");

    // A fresh module: fresh state, working round trip.
    let monitor = KeventMonitor::open().ctx("monitor after reload")?;
    let dir = Directory::open().ctx("directory after reload")?;
    ensure!(
        dir.peers().ctx("list")?.is_empty(),
        "peers survived the reload"
    );
    let receiver = Handler::new("e2e_ul_owner").ctx("register a name from before the unload")?;
    let first = next_kevent(&monitor)?;
    ensure_eq!(first.seq, 1, "kevent seq of a fresh module ({first})");
    let sender = Handler::anonymous().ctx("sender after reload")?;
    sender
        .send_unicast("e2e_ul_owner", b"reloaded")
        .ctx("unicast after reload")?;
    let mut msg = Message::new();
    ensure_eq!(
        receive_kind(&receiver, &mut msg, MessageKind::Unicast)?,
        "reloaded",
        "round trip"
    );
    // A handler from before the unload is no peer of the new module.
    // The new module may have the old family id (then the stale handler's
    // socket is simply no peer of it) or another one (then the family the
    // handler resolved is gone).
    match local.send_unicast("e2e_ul_owner", b"stale") {
        Ok(()) => return Err("a handler from before the reload could still send".into()),
        Err(e) => {
            crate::harness::note(&format!("a stale handler after reload: {e}"));
            ensure!(
                matches!(
                    e.kind(),
                    ErrorKind::NotRegistered | ErrorKind::ModuleReloaded
                ),
                "a stale handler after reload: {e} ({:?})",
                e.kind()
            );
        }
    }
    crate::common::expect_silence(&receiver, "nothing from the stale handler")?;
    Ok(())
}

/// One worker of the stress: runs `step` until it fails (the module went) or
/// `stop` is set; how many steps it made and how it ended.
fn worker(
    name: &'static str,
    stop: Arc<AtomicBool>,
    mut step: impl FnMut(u64) -> Result<(), Error> + Send + 'static,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = step(n) {
                return format!("{name}: {n} steps, then {e}");
            }
            n += 1;
        }
        format!("{name}: {n} steps, stopped")
    })
}

/// `rmmod` in the middle of everything at once — publishing, joining and
/// leaving, unicast into a full queue, registration churn, dumps, a kernel
/// event listener: the module goes, every worker's next call fails cleanly
/// (no hang, no oops), and it loads again.
fn unload_under_stress() -> TestResult {
    let params = current_params()?;
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = Handler::new("e2e_us_pub").ctx("publisher")?;
    publisher.register_group("g").ctx("group")?;
    let _sink = PeerOptions::named("e2e_us_sink")
        .ctx("name")?
        .recv_buffer(4096)
        .open()
        .ctx("sink")?;
    let sender = Handler::anonymous().ctx("sender")?;
    let dir = Directory::open().ctx("directory")?;
    let events = KeventMonitor::open().ctx("monitor")?;
    let mut workers = vec![
        worker("publisher", stop.clone(), move |_| {
            publisher.send_multicast("g", b"stress")
        }),
        worker("unicast", stop.clone(), move |_| {
            match sender.send_unicast("e2e_us_sink", b"into a full queue") {
                Err(e) if e.kind() == ErrorKind::QueueFull => Ok(()),
                other => other,
            }
        }),
        worker("churn", stop.clone(), |n| {
            let peer = Handler::new(&format!("e2e_us_churn{}", n % 4))?;
            peer.register_group("c")
        }),
        worker("dumps", stop.clone(), move |_| {
            dir.peers()?;
            dir.groups(None).map(drop)
        }),
    ];
    for _ in 0..2 {
        workers.push(worker("subscriber", stop.clone(), |_| {
            let sub = Handler::anonymous()?;
            sub.join_group("e2e_us_pub", "g", Replay::LastMessage)?;
            let mut msg = Message::new();
            let _ = sub.receive(&mut msg, Wait::Timeout(Duration::from_millis(5)));
            sub.leave_group("e2e_us_pub", "g")
        }));
    }
    let mut last_seq = 0;
    workers.push(worker("listener", stop.clone(), move |_| {
        let mut msg = Message::new();
        match events.receive(&mut msg, Wait::Timeout(Duration::from_millis(100))) {
            // A monitor is no peer: nothing tells it the module went, its
            // events just stop.
            Err(e) if e.kind() == ErrorKind::Timeout => {
                if std::path::Path::new("/sys/module/ipcon").exists() {
                    return Ok(());
                }
                return Err(Error::new("listen", ErrorKind::ModuleNotLoaded));
            }
            other => other?,
        }
        let seq = msg.kevent().map_or(0, |k| k.seq);
        if seq <= last_seq {
            return Err(Error::new("kernel event order", ErrorKind::Protocol));
        }
        last_seq = seq;
        Ok(())
    }));
    std::thread::sleep(Duration::from_secs(3));

    // The netlink core holds a module reference for each dump in flight, and
    // the dumper dumps back to back: rmmod (which never waits) may need a few
    // tries.
    let mut refusals = 0;
    while run_tool("/bin/rmmod", &["ipcon".to_owned()])? != 0 {
        refusals += 1;
        ensure!(refusals < 100, "rmmod refused 100 times under stress");
        std::thread::sleep(Duration::from_millis(100));
    }
    crate::harness::note(&format!("rmmod under stress after {refusals} refusals"));
    ensure!(
        !std::path::Path::new("/sys/module/ipcon").exists(),
        "/sys/module/ipcon still exists after rmmod under stress"
    );
    // Every worker's calls now fail: each ends by itself, none hangs.
    let deadline = Instant::now() + Duration::from_secs(20);
    while workers.iter().any(|w| !w.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        ensure!(w.is_finished(), "a stress worker hung after rmmod");
        crate::harness::note(&w.join().map_err(|_| "a stress worker panicked")?);
    }

    let mut insmod_args = vec![MODULE.to_owned()];
    insmod_args.extend(params);
    ensure_eq!(
        run_tool("/bin/insmod", &insmod_args)?,
        0,
        "insmod after the stress"
    );
    let receiver = Handler::new("e2e_us_after").ctx("register after the stress")?;
    Handler::anonymous()
        .ctx("sender after the stress")?
        .send_unicast("e2e_us_after", b"again")
        .ctx("unicast after the stress")?;
    let mut msg = Message::new();
    ensure_eq!(
        receive_kind(&receiver, &mut msg, MessageKind::Unicast)?,
        "again",
        "round trip after the stress"
    );
    Ok(())
}
