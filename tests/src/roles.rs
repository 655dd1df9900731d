//! Helper processes (`ipcon-e2e __child ROLE ARGS`) for multi-process tests.
//! A role prints `ready PORT` once set up; results are printed as lines the
//! test reads (see `harness::Helper`).

use std::io::Write;
use std::time::Duration;

use ipcon_linux::{ErrorKind, Handler, Message, MessageKind, PeerOptions};
use ipcon_linux::{Replay, Wait};

use crate::harness::{Context, TestResult};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs a role; the process exit code.
pub fn run(args: &[String]) -> i32 {
    let role = args.first().map(String::as_str).unwrap_or("");
    let rest: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let result = match role {
        "hold" => hold(&rest),
        "echo" => echo(&rest),
        "subscribe" => subscribe(&rest),
        "send" => send(&rest),
        "unpriv" => unprivileged(&rest),
        "netns" => in_new_netns(&rest),
        "security" => crate::security::child(&rest),
        other => Err(format!("unknown role {other:?}")),
    };
    match result {
        Ok(()) => 0,
        Err(reason) => {
            say(&format!("error {reason}"));
            3
        }
    }
}

fn open(name: &str) -> Result<Handler, String> {
    if name == "-" {
        Handler::anonymous().ctx("register anonymous peer")
    } else {
        PeerOptions::named(name)
            .and_then(PeerOptions::open)
            .ctx(&format!("register {name}"))
    }
}

/// Prints every message received until receiving fails.
fn receive_forever(handler: &Handler) -> TestResult {
    let mut msg = Message::new();
    loop {
        handler.receive(&mut msg, Wait::Forever).ctx("receive")?;
        say(&format!(
            "got {:?} missed={} {}",
            msg.kind(),
            msg.missed(),
            String::from_utf8_lossy(msg.payload())
        ));
    }
}

/// `hold NAME|- [GROUP...]`: a peer owning groups, blocked in receive.
fn hold(args: &[&str]) -> TestResult {
    let name = args.first().ctx("hold: NAME")?;
    let handler = open(name)?;
    for group in &args[1..] {
        handler.register_group(group).ctx("register group")?;
    }
    say(&format!("ready {}", handler.port()));
    receive_forever(&handler)
}

/// `echo NAME`: answers every unicast with `echo:PAYLOAD`, to the sender's port.
fn echo(args: &[&str]) -> TestResult {
    let handler = open(args.first().ctx("echo: NAME")?)?;
    say(&format!("ready {}", handler.port()));
    let mut msg = Message::new();
    loop {
        handler.receive(&mut msg, Wait::Forever).ctx("receive")?;
        if msg.kind() == MessageKind::Unicast {
            let mut reply = b"echo:".to_vec();
            reply.extend_from_slice(msg.payload());
            handler
                .send_unicast_to_port(msg.sender().port, &reply)
                .ctx("reply")?;
        }
    }
}

/// `subscribe OWNER GROUP`: an anonymous subscriber, blocked in receive.
fn subscribe(args: &[&str]) -> TestResult {
    let [owner, group] = args else {
        return Err("subscribe: OWNER GROUP".into());
    };
    let handler = Handler::anonymous().ctx("register")?;
    handler.join_group(owner, group, Replay::Skip).ctx("join")?;
    say(&format!("ready {}", handler.port()));
    receive_forever(&handler)
}

/// `send TARGET COUNT`: COUNT unicasts `PID:I` to TARGET, retrying when the
/// receiver's queue is full; prints `done`.
fn send(args: &[&str]) -> TestResult {
    let [target, count] = args else {
        return Err("send: TARGET COUNT".into());
    };
    let count: u32 = count.parse().ctx("count")?;
    let handler = Handler::anonymous().ctx("register")?;
    say(&format!("ready {}", handler.port()));
    let pid = std::process::id();
    for i in 0..count {
        let payload = format!("{pid}:{i}");
        loop {
            match handler.send_unicast(target, payload.as_bytes()) {
                Ok(()) => break,
                Err(e) if e.kind() == ErrorKind::QueueFull => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => return Err(format!("send {i}: {e}")),
            }
        }
    }
    say("done");
    Ok(())
}

/// Drops root: supplementary groups `[gid]`, then gid, then uid.
pub fn drop_privileges(uid: u32, gid: u32) -> TestResult {
    let groups = [gid as libc::gid_t];
    // SAFETY: setgroups/setgid/setuid take plain values and a valid array.
    unsafe {
        if libc::setgroups(1, groups.as_ptr()) != 0 {
            return Err(format!("setgroups: {}", std::io::Error::last_os_error()));
        }
        if libc::setgid(gid) != 0 {
            return Err(format!("setgid: {}", std::io::Error::last_os_error()));
        }
        if libc::setuid(uid) != 0 {
            return Err(format!("setuid: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// `unpriv UID CASE ARGS...`: runs an access check as an unprivileged user
/// and prints `result ok` or `result fail: REASON`.
fn unprivileged(args: &[&str]) -> TestResult {
    let uid: u32 = args.first().ctx("unpriv: UID")?.parse().ctx("uid")?;
    drop_privileges(uid, uid)?;
    let outcome = crate::access::unprivileged_case(&args[1..]);
    report(outcome);
    Ok(())
}

/// `netns CASE ARGS...`: runs a check in a new network namespace.
fn in_new_netns(args: &[&str]) -> TestResult {
    // SAFETY: unshare(2) takes a flag word and touches no memory.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(format!(
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        ));
    }
    report(crate::netns::in_namespace_case(args));
    Ok(())
}

fn report(outcome: TestResult) {
    match outcome {
        Ok(()) => say("result ok"),
        Err(reason) => say(&format!("result fail: {reason}")),
    }
}
