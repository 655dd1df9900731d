//! A brokered baseline's daemon (ubusd, dbus-daemon): started once for the
//! whole invocation, awaited until its socket exists, stopped when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{bail, Context, Result};

/// How long a daemon may take to create its socket.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running daemon; stopped when dropped.
#[derive(Debug)]
pub struct Broker {
    child: Child,
}

impl Broker {
    /// Starts `program` with `args` and waits until `socket` exists.
    pub fn start(program: &str, args: &[String], socket: &str) -> Result<Self> {
        let _ = std::fs::remove_file(socket);
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("start {program}"))?;
        let mut broker = Broker { child };
        let deadline = Instant::now() + START_TIMEOUT;
        while !Path::new(socket).exists() {
            if let Some(status) = broker.child.try_wait().context(program)? {
                bail!("{program} exited at start ({status})");
            }
            if Instant::now() > deadline {
                bail!("{program} did not create {socket} in time");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(broker)
    }

    /// The daemon's pid (its clients count its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
