//! Prints kernel events: peers and groups coming and going.

use std::process::ExitCode;

use ipcon_samples::{monitor_help, run, watch_kevents, KeventStyle};

fn main() -> ExitCode {
    run("ipcon-monitor", || {
        watch_kevents(
            &mut lexopt::Parser::from_env(),
            "ipcon-monitor",
            &monitor_help("ipcon-monitor"),
            KeventStyle::default(),
        )
    })
}
