//! `ipcon-perf`: ipcon against the IPC a user would pick instead, measured
//! inside the VM (`cargo xtask bench`).
//!
//! ```text
//! ipcon-perf [--runs N] [--quick] [--only unicast|rtt|fanout]
//! ```
//!
//! Every measurement runs its sender and receiver (client and server,
//! publisher and subscribers) as separate processes: this program
//! re-executed with a hidden `--role`. It prints one `PERF {...}` line per
//! value, `PERF-INFO` lines for context, and `PERF-END` last; a failure
//! prints `PERF-ERROR <text>` and exits 1. Under emulation only the ratios
//! between implementations within one run mean anything.

mod broker;
mod call;
mod clock;
mod dbus;
mod error;
mod genl_floor;
mod handshake;
mod ipcon;
mod measure;
mod output;
mod payload;
mod pipe;
mod plan;
mod raw_netlink;
mod role;
mod rtt;
mod sched;
mod spawn;
mod spread;
mod stats;
mod stream;
mod ubus;
mod uds;

use std::process::ExitCode;

use error::{bail, Context, Result};
use handshake::{say, Line};
use plan::{Options, Shape};
use role::{Impl, Role, RoleArgs};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--role") {
        return child(&args);
    }
    match Options::parse(&args) {
        Ok(None) => {
            println!("{}", plan::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Some(options)) => match plan::run_all(&options) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("{}", output::error_line(&e.to_string()));
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            println!("{}", output::error_line(&e.to_string()));
            eprintln!("{}", plan::USAGE);
            ExitCode::FAILURE
        }
    }
}

/// A process of a measurement: plays its role, reports a failure to the
/// orchestrator (the pipe echo, whose stdout is the data pipe, to stderr).
fn child(args: &[String]) -> ExitCode {
    let parsed = RoleArgs::parse(args);
    let echo = matches!(&parsed, Ok(a) if a.role == Role::PipeEcho);
    match parsed.and_then(|a| role::run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if echo || say(&Line::Error(e.to_string())).is_err() {
                eprintln!("ipcon-perf: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

impl Options {
    /// Reads the command line; `None` for `--help`.
    fn parse(args: &[String]) -> Result<Option<Self>> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--runs" => {
                    let n = args.next().context("--runs")?;
                    let n = n.parse().context("--runs")?;
                    if n == 0 {
                        bail!("--runs must be at least 1");
                    }
                    options.runs = n;
                }
                "--quick" => options.quick = true,
                "--only" => {
                    let shape = args.next().context("--only")?;
                    options.only = Some(
                        Shape::from_name(shape)
                            .ok_or_else(|| error::Error::new(format!("no shape {shape:?}")))?,
                    );
                }
                "--impl" => {
                    let names = args.next().context("--impl")?;
                    for name in names.split(',') {
                        options.impls.push(Impl::from_name(name).ok_or_else(|| {
                            error::Error::new(format!("no implementation {name:?}"))
                        })?);
                    }
                }
                "--size" => {
                    let size = args.next().context("--size")?;
                    options.size = Some(size.parse().context("--size")?);
                }
                "--subscribers" => {
                    let n = args.next().context("--subscribers")?;
                    options.subscribers = Some(n.parse().context("--subscribers")?);
                }
                "-h" | "--help" => return Ok(None),
                other => bail!("unknown argument {other:?}"),
            }
        }
        Ok(Some(options))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Options::parse(&args)
    }

    #[test]
    fn the_command_line() {
        let o = parse(&[]).unwrap().unwrap();
        assert_eq!((o.runs, o.quick, o.only), (5, false, None));
        let o = parse(&["--quick", "--runs", "5", "--only", "fanout"])
            .unwrap()
            .unwrap();
        assert_eq!((o.runs, o.quick, o.only), (5, true, Some(Shape::Fanout)));
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--runs"]).is_err());
        assert!(parse(&["--only", "multicast"]).is_err());
        assert!(parse(&["--fast"]).is_err());
        let o = parse(&["--impl", "ipcon-post,uds-seqpacket", "--size", "64"])
            .unwrap()
            .unwrap();
        assert_eq!(o.impls, [Impl::IpconPost, Impl::UdsSeqpacket]);
        assert_eq!(o.size, Some(64));
        let o = parse(&["--subscribers", "16"]).unwrap().unwrap();
        assert_eq!(o.subscribers, Some(16));
        assert!(parse(&["--impl", "ipcon,grpc"]).is_err());
        assert!(parse(&["--size", "big"]).is_err());
    }
}
