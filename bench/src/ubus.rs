//! The ubus broker for the "ubus" implementation: `ubusd`, started once for
//! the whole invocation when the VM has it (`cargo xtask bench` builds it
//! from OpenWrt's sources), stopped at the end.
//!
//! Its clients (`ubus-perf`, see [`UBUS_PROGRAM`]) learn its socket and pid
//! from the environment they inherit: the socket to connect to, the pid to
//! count the broker's CPU time with the publisher's.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{bail, Context, Result};
use crate::role::UBUS_PROGRAM;

/// The broker's binary in the VM.
const UBUSD: &str = "/bin/ubusd";
/// Where it listens.
const SOCKET: &str = "/tmp/ipcon-perf-ubus.sock";

/// A running `ubusd`; stopped when dropped.
#[derive(Debug)]
pub struct Broker {
    child: Child,
}

impl Broker {
    /// Whether the VM has ubus (the broker and its measuring program).
    pub fn available() -> bool {
        Path::new(UBUSD).exists() && Path::new(UBUS_PROGRAM).exists()
    }

    /// Starts the broker and waits for its socket.
    pub fn start() -> Result<Self> {
        // ubusd looks every client's uid and gid up by name (its ACLs):
        // the minimal VM has no account files.
        for (file, line) in [
            ("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            ("/etc/group", "root:x:0:\n"),
        ] {
            if !Path::new(file).exists() {
                std::fs::create_dir_all("/etc").context("create /etc")?;
                std::fs::write(file, line).context(&format!("write {file}"))?;
            }
        }
        let _ = std::fs::remove_file(SOCKET);
        let child = Command::new(UBUSD)
            .args(["-s", SOCKET])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context(&format!("start {UBUSD}"))?;
        let mut broker = Broker { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !Path::new(SOCKET).exists() {
            if let Some(status) = broker.child.try_wait().context("ubusd")? {
                bail!("{UBUSD} exited at start ({status})");
            }
            if Instant::now() > deadline {
                bail!("{UBUSD} did not create {SOCKET} in time");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::env::set_var("UBUS_PERF_SOCKET", SOCKET);
        std::env::set_var("UBUS_PERF_UBUSD_PID", broker.child.id().to_string());
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
