//! Prints kernel events: peers and groups coming and going.

use std::process::ExitCode;

use ipcon_samples::{run, watch_kevents};

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
        watch_kevents(&mut lexopt::Parser::from_env(), "ipcon-monitor", HELP)
    })
}
