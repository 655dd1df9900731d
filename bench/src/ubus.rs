//! The ubus broker for the "ubus" implementation: `ubusd`, started once for
//! the whole invocation when the VM has it (`cargo xtask bench` builds it
//! from OpenWrt's sources), stopped at the end (see [`Broker`]).
//!
//! Its clients (`ubus-perf`, see [`UBUS_PROGRAM`]) learn its socket and pid
//! from the environment they inherit: the socket to connect to, the pid to
//! count the broker's CPU time with the publisher's.

use std::path::Path;

use crate::broker::Broker;
use crate::error::{Context, Result};
use crate::role::UBUS_PROGRAM;

/// The broker's binary in the VM.
const UBUSD: &str = "/bin/ubusd";
/// Where it listens.
const SOCKET: &str = "/tmp/ipcon-perf-ubus.sock";

/// Whether the VM has ubus (the broker and its measuring program).
pub fn available() -> bool {
    Path::new(UBUSD).exists() && Path::new(UBUS_PROGRAM).exists()
}

/// Starts the broker and tells its future clients where it is.
pub fn start() -> Result<Broker> {
    // ubusd looks every client's uid and gid up by name (its ACLs):
    // the minimal VM has no account files.
    for (file, line) in [
        ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
        ("/etc/group", "root:x:0:\n"),
    ] {
        if !Path::new(file).exists() {
            std::fs::create_dir_all("/etc").context("create /etc")?;
            std::fs::write(file, line).with_context(|| format!("write {file}"))?;
        }
    }
    let broker = Broker::start(UBUSD, &["-s".into(), SOCKET.into()], SOCKET)?;
    std::env::set_var("UBUS_PERF_SOCKET", SOCKET);
    std::env::set_var("UBUS_PERF_UBUSD_PID", broker.pid().to_string());
    Ok(broker)
}
