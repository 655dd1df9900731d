//! The D-Bus broker for the "dbus" implementation: Debian's `dbus-daemon`,
//! started once for the whole invocation when the VM has it (`cargo xtask
//! bench` puts it there with its configuration and shared libraries),
//! stopped at the end (see [`Broker`]).
//!
//! The daemon and its measuring program (`dbus-perf`, see [`DBUS_PROGRAM`])
//! are dynamically linked: the VM's initramfs takes only static executables
//! as such, so they and glibc's loader arrive as plain files and are made
//! executable here. Their clients learn the bus address and the daemon's
//! pid from the environment they inherit: the address to connect to, the
//! pid to count the broker's CPU time with the publisher's.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::broker::Broker;
use crate::error::{Context, Result};
use crate::role::DBUS_PROGRAM;

/// The broker's binary in the VM.
const DAEMON: &str = "/usr/libexec/ipcon-perf/dbus-daemon";
/// Its configuration (bench/dbus/bench-bus.conf).
const CONFIG: &str = "/etc/ipcon-perf/bench-bus.conf";
/// Where the configuration makes it listen.
const SOCKET: &str = "/tmp/ipcon-perf-dbus.sock";
/// glibc's loader, which the two programs name as their interpreter.
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// Whether the VM has D-Bus (the daemon, its configuration, the measuring
/// program and the loader).
pub fn available() -> bool {
    [DAEMON, CONFIG, DBUS_PROGRAM, LOADER]
        .iter()
        .all(|file| Path::new(file).exists())
}

/// Starts the daemon and tells its future clients where it is.
pub fn start() -> Result<Broker> {
    for file in [DAEMON, DBUS_PROGRAM, LOADER] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("make {file} executable"))?;
    }
    let args = [format!("--config-file={CONFIG}"), "--nofork".into()];
    let broker = Broker::start(DAEMON, &args, SOCKET)?;
    std::env::set_var("DBUS_PERF_ADDRESS", format!("unix:path={SOCKET}"));
    std::env::set_var("DBUS_PERF_DAEMON_PID", broker.pid().to_string());
    Ok(broker)
}
