//! ipcon-specific helpers shared by the tests: receiving with a deadline,
//! expecting silence, reading kernel events, module parameters.

use std::time::Duration;

use ipcon_linux::Wait;
use ipcon_linux::{Error, ErrorKind, Handler, Kevent, KeventMonitor, Message, MessageKind};

use crate::harness::Context;

/// How long a test waits for something that should arrive at once (the VM
/// is slow: TCG).
pub const SOON: Duration = Duration::from_secs(5);

/// How long a test waits to conclude that nothing arrives.
pub const QUIET: Duration = Duration::from_millis(300);

/// Receives the next message within [`SOON`].
pub fn receive(handler: &Handler, msg: &mut Message) -> Result<(), String> {
    handler.receive(msg, Wait::Timeout(SOON)).ctx("receive")
}

/// Receives the next message, which must be of `kind`, and returns its payload as text.
pub fn receive_kind(
    handler: &Handler,
    msg: &mut Message,
    kind: MessageKind,
) -> Result<String, String> {
    receive(handler, msg)?;
    if msg.kind() != kind {
        return Err(format!("expected a {kind:?} message, got {msg:?}"));
    }
    Ok(String::from_utf8_lossy(msg.payload()).into_owned())
}

/// Fails unless nothing arrives within [`QUIET`].
pub fn expect_silence(handler: &Handler, what: &str) -> Result<(), String> {
    let mut msg = Message::new();
    match handler.receive(&mut msg, Wait::Timeout(QUIET)) {
        Err(e) if e.kind() == ErrorKind::Timeout => Ok(()),
        Err(e) => Err(format!("{what}: expected nothing, receive failed: {e}")),
        Ok(()) => Err(format!(
            "{what}: expected nothing, got {msg:?} payload {:?}",
            msg.payload_str()
        )),
    }
}

/// The next kernel event on `monitor` within [`SOON`].
pub fn next_kevent(monitor: &KeventMonitor) -> Result<Kevent, String> {
    let mut msg = Message::new();
    monitor
        .receive(&mut msg, Wait::Timeout(SOON))
        .ctx("receive a kernel event")?;
    if msg.kevents_missed() != 0 {
        return Err(format!("{} kernel events were lost", msg.kevents_missed()));
    }
    msg.kevent().copied().ctx("kernel event")
}

/// The next `n` kernel events, checking their sequence numbers rise by one.
pub fn kevents(monitor: &KeventMonitor, n: usize) -> Result<Vec<Kevent>, String> {
    let mut out: Vec<Kevent> = Vec::with_capacity(n);
    for i in 0..n {
        let event = next_kevent(monitor).map_err(|e| format!("event {} of {n}: {e}", i + 1))?;
        if let Some(previous) = out.last() {
            if event.seq != previous.seq + 1 {
                return Err(format!(
                    "kevent seq not +1: {} after {} ({event})",
                    event.seq, previous.seq
                ));
            }
        }
        out.push(event);
    }
    Ok(out)
}

/// Fails unless `result` is an error of `kind` with errno `errno`.
pub fn expect_error<T: std::fmt::Debug>(
    result: Result<T, Error>,
    kind: ErrorKind,
    errno: Option<i32>,
    what: &str,
) -> Result<Error, String> {
    match result {
        Ok(value) => Err(format!(
            "{what}: expected {kind:?}, it succeeded ({value:?})"
        )),
        Err(e) if e.kind() == kind && (errno.is_none() || e.errno() == errno) => Ok(e),
        Err(e) => Err(format!(
            "{what}: expected {kind:?} (errno {errno:?}), got {:?} errno {:?}: {e}",
            e.kind(),
            e.errno()
        )),
    }
}

/// A module parameter from sysfs.
pub fn module_param(name: &str) -> Result<u32, String> {
    let path = format!("/sys/module/ipcon/parameters/{name}");
    let text = std::fs::read_to_string(&path).ctx(&format!("read {path}"))?;
    text.trim().parse().ctx(&format!("parse {path}"))
}

/// This process's effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid(2) cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// Waits for a helper's `result ok` / `result fail: WHY` line.
pub fn helper_outcome(helper: &crate::harness::Helper, limit: Duration) -> Result<(), String> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = helper.next_line(left)?;
        if line == "result ok" {
            return Ok(());
        }
        if let Some(why) = line.strip_prefix("result fail: ") {
            return Err(format!("in the helper: {why}"));
        }
        if let Some(why) = line.strip_prefix("error ") {
            return Err(format!("helper failed: {why}"));
        }
    }
}
