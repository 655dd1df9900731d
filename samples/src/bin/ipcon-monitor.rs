//! Prints kernel events: peers and groups coming and going.

use std::process::ExitCode;

use ipcon_linux::{KeventMonitor, Message};
use ipcon_samples::{parse_count, print_kevent, run};

const HELP: &str = "\
Usage: ipcon-monitor [--count N]

Prints one line per ipcon kernel event, e.g.
  kevent #3 peer-add name=ipcon_server port=1234 pid=42 uid=0
A line `kevent missed=N` says N events were lost before the next one.

Options:
  --count N   exit after N events
  -h, --help  show this help
";

fn main() -> ExitCode {
    run("ipcon-monitor", || {
        use lexopt::prelude::*;
        let mut count = None;
        let mut parser = lexopt::Parser::from_env();
        while let Some(arg) = parser.next()? {
            match arg {
                Long("count") => count = Some(parse_count(parser.value()?)?),
                Short('h') | Long("help") => {
                    print!("{HELP}");
                    return Ok(());
                }
                _ => return Err(arg.unexpected().into()),
            }
        }
        let monitor = KeventMonitor::open()?;
        // Tells scripts the subscription is in place.
        eprintln!("ipcon-monitor: watching kernel events");
        let mut msg = Message::new();
        let mut seen = 0u64;
        while count.map_or(true, |n| seen < n) {
            monitor.receive(&mut msg)?;
            print_kevent(&msg);
            seen += 1;
        }
        Ok(())
    })
}
