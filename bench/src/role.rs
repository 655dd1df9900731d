//! The processes of a measurement: which role this program plays when
//! re-executed (`ipcon-perf --role ...`), with which implementation, and
//! what each role does between `READY` and `DONE`.

use crate::call::{IpconCallClient, IpconCallServer};
use crate::error::{bail, Context, Error, Result};
use crate::genl_floor::{Dispatch, FloorClient, FloorServer};
use crate::handshake::{await_close, await_go, say, Fields, Line};
use crate::ipcon::{
    IpconBatchReceiver, IpconBatchSender, IpconClient, IpconPostClient, IpconPostSender,
    IpconPostServer, IpconReceiver, IpconSender, IpconServer, Target,
};
use crate::payload::{END_MARKER, WARM_UP_END};
use crate::raw_netlink::{RawClient, RawReceiver, RawSender, RawServer, Sending};
use crate::sched::voluntary_switches;
use crate::stream::{receive_stream, send_stream, Consume, Publish};
use crate::uds::{UdsClient, UdsReceiver, UdsSender, UdsServer};
use crate::{ipcon, pipe, rtt, sched, uds};

/// What is measured: one of the implementations compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// ipcon-linux, one call per message.
    Ipcon,
    /// ipcon-linux's batch API.
    IpconBatch,
    /// ipcon-linux's posted sends (no wait for the kernel's verdict).
    IpconPost,
    /// Hand-written netlink system calls against the module.
    RawNetlink,
    /// Unix domain sockets, `SOCK_SEQPACKET`.
    UdsSeqpacket,
    /// Two pipes (round trips only).
    Pipe,
    /// Calls: ipcon-linux's `Client` and `Service` (round trips only).
    IpconCall,
    /// OpenWrt's ubus (ubusd + libubus): a separate program,
    /// [`UBUS_PROGRAM`], plays its roles.
    Ubus,
    /// D-Bus (dbus-daemon + libdbus-1): a separate program,
    /// [`DBUS_PROGRAM`], plays its roles.
    Dbus,
    /// Hand-written netlink system calls posting round trips as ipcon-post
    /// does (round trips only).
    RawPost,
    /// The floor of a generic netlink forwarder (round trips only, where
    /// its module is loaded): requests validated by generic netlink.
    GenlFloor,
    /// The same floor without generic netlink's attribute table and
    /// policy walk.
    GenlFloorBare,
}

/// The program that plays ubus's roles (bench/ubus/ubus-perf.c), with the
/// same arguments and handshake as this one.
pub const UBUS_PROGRAM: &str = "/bin/ubus-perf";

/// The program that plays D-Bus's roles (bench/dbus/dbus-perf.c), with the
/// same arguments and handshake. Dynamically linked, so not in `/bin` (the
/// VM's initramfs takes only static executables there): see
/// [`crate::dbus`].
pub const DBUS_PROGRAM: &str = "/usr/libexec/ipcon-perf/dbus-perf";

impl Impl {
    /// Every implementation, in report order.
    pub const ALL: [Impl; 12] = [
        Impl::Ipcon,
        Impl::IpconBatch,
        Impl::IpconPost,
        Impl::RawNetlink,
        Impl::RawPost,
        Impl::UdsSeqpacket,
        Impl::Pipe,
        Impl::IpconCall,
        Impl::Ubus,
        Impl::Dbus,
        Impl::GenlFloor,
        Impl::GenlFloorBare,
    ];

    /// The name in `PERF` lines.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Ipcon => "ipcon",
            Impl::IpconBatch => "ipcon-batch",
            Impl::IpconPost => "ipcon-post",
            Impl::RawNetlink => "raw-netlink",
            Impl::RawPost => "raw-post",
            Impl::UdsSeqpacket => "uds-seqpacket",
            Impl::Pipe => "pipe",
            Impl::IpconCall => "ipcon-call",
            Impl::Ubus => "ubus",
            Impl::Dbus => "dbus",
            Impl::GenlFloor => "genl-floor",
            Impl::GenlFloorBare => "genl-floor-bare",
        }
    }

    /// The program that plays this implementation's roles: this one, or
    /// ubus's or D-Bus's own.
    pub fn program(self) -> Result<std::path::PathBuf> {
        match self {
            Impl::Ubus => Ok(UBUS_PROGRAM.into()),
            Impl::Dbus => Ok(DBUS_PROGRAM.into()),
            _ => std::env::current_exe().context("locate this program"),
        }
    }

    /// Whether its one-way receivers must exist before the sender: every
    /// implementation but ubus, whose receivers subscribe to the sender's
    /// object.
    pub fn receiver_first(self) -> bool {
        self != Impl::Ubus
    }

    /// Whether it may lose messages without telling anyone (ubusd drops
    /// for a client whose queue is full, dbus-daemon for one whose queue
    /// exceeds its limit): its receivers count the gaps in the sequence
    /// numbers, reported as loss instead of failing the run.
    pub fn loses_silently(self) -> bool {
        matches!(self, Impl::Ubus | Impl::Dbus)
    }

    /// Whether it measures `shape`: the floors only round trips.
    pub fn measures(self, shape: crate::plan::Shape) -> bool {
        match self {
            Impl::GenlFloor | Impl::GenlFloorBare => shape == crate::plan::Shape::Rtt,
            _ => true,
        }
    }

    /// The implementation called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.name() == name)
    }
}

/// What a process does in a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends a unicast stream.
    Sender,
    /// Receives a unicast stream.
    Receiver,
    /// Publishes to the subscribers.
    Publisher,
    /// One subscriber of a fan-out.
    Subscriber,
    /// Makes timed round trips.
    Client,
    /// Answers round trips.
    Server,
    /// The pipe client's echo process.
    PipeEcho,
}

impl Role {
    const ALL: [Role; 7] = [
        Role::Sender,
        Role::Receiver,
        Role::Publisher,
        Role::Subscriber,
        Role::Client,
        Role::Server,
        Role::PipeEcho,
    ];

    fn name(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Receiver => "receiver",
            Role::Publisher => "publisher",
            Role::Subscriber => "subscriber",
            Role::Client => "client",
            Role::Server => "server",
            Role::PipeEcho => "pipe-echo",
        }
    }
}

/// Everything a process of a measurement needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArgs {
    /// Its role.
    pub role: Role,
    /// The implementation measured.
    pub imp: Impl,
    /// Payload bytes.
    pub size: usize,
    /// Messages of the stream, or timed round trips.
    pub count: u64,
    /// Untimed round trips first; for one-way streams, the messages of the
    /// untimed warm-up stream sent before the timed one.
    pub warmup: u64,
    /// Unique to the measurement: names peers, groups and socket addresses.
    pub tag: String,
    /// Which subscriber this is (from 0).
    pub index: usize,
    /// How many subscribers the fan-out has.
    pub subscribers: usize,
    /// Fan-out pacing: messages per burst.
    pub burst: usize,
}

impl RoleArgs {
    /// The command line that starts a process in this role.
    pub fn to_args(&self) -> Vec<String> {
        [
            ("--role", self.role.name().to_string()),
            ("--impl", self.imp.name().to_string()),
            ("--size", self.size.to_string()),
            ("--count", self.count.to_string()),
            ("--warmup", self.warmup.to_string()),
            ("--tag", self.tag.clone()),
            ("--index", self.index.to_string()),
            ("--subscribers", self.subscribers.to_string()),
            ("--burst", self.burst.to_string()),
        ]
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect()
    }

    /// Reads the command line of [`RoleArgs::to_args`].
    pub fn parse(args: &[String]) -> Result<Self> {
        let value = |flag: &str| -> Result<&str> {
            args.iter()
                .position(|a| a == flag)
                .and_then(|i| args.get(i + 1))
                .map(String::as_str)
                .ok_or_else(|| Error::new(format!("role arguments lack {flag}")))
        };
        let number = |flag: &str| -> Result<u64> {
            let text = value(flag)?;
            text.parse().with_context(|| format!("{flag} {text}"))
        };
        let role = value("--role")?;
        let imp = value("--impl")?;
        Ok(Self {
            role: Role::ALL
                .into_iter()
                .find(|r| r.name() == role)
                .ok_or_else(|| Error::new(format!("no role {role:?}")))?,
            imp: Impl::from_name(imp)
                .ok_or_else(|| Error::new(format!("no implementation {imp:?}")))?,
            size: usize::try_from(number("--size")?).context("--size")?,
            count: number("--count")?,
            warmup: number("--warmup")?,
            tag: value("--tag")?.to_string(),
            index: usize::try_from(number("--index")?).context("--index")?,
            subscribers: usize::try_from(number("--subscribers")?).context("--subscribers")?,
            burst: usize::try_from(number("--burst")?).context("--burst")?,
        })
    }

    /// The same measurement in another role.
    pub fn as_role(&self, role: Role) -> Self {
        Self {
            role,
            ..self.clone()
        }
    }

    /// The unicast receiver's (and round-trip server's) peer name.
    fn receiver_name(&self) -> String {
        format!("{}_rx", self.tag)
    }

    /// The publisher's peer name (the group's owner).
    fn publisher_name(&self) -> String {
        format!("{}_pub", self.tag)
    }

    /// The fan-out group.
    fn group_name(&self) -> String {
        format!("{}_grp", self.tag)
    }

    /// Subscriber `index`'s peer name.
    fn subscriber_name(&self, index: usize) -> String {
        format!("{}_s{index}", self.tag)
    }

    /// The abstract Unix socket address of the listening side.
    fn socket_name(&self) -> String {
        format!("ipcon-perf/{}", self.tag)
    }
}

/// Says `DONE` with `fields`, then waits until the orchestrator closes
/// stdin, which it does once every process of the measurement has
/// reported. The caller's sockets stay open meanwhile: closing one is work
/// in the kernel (for ipcon, removing a peer, its memberships and groups,
/// with their events) that would take the one CPU from the receivers still
/// timed.
fn report_done(fields: Fields) -> Result<()> {
    say(&Line::Done(fields))?;
    await_close();
    Ok(())
}

/// Plays the role of `args` (in a child process), reporting on stdout;
/// every role but the pipe echo returns only after the orchestrator closed
/// its stdin.
pub fn run(args: &RoleArgs) -> Result<()> {
    match args.role {
        Role::Sender | Role::Publisher => {
            let mut sink = open_sender(args)?;
            say(&Line::Ready)?;
            await_go()?;
            if args.warmup > 0 {
                send_stream(
                    sink.as_mut(),
                    args.warmup,
                    args.size,
                    args.burst,
                    WARM_UP_END,
                )?;
                say(&Line::Warm)?;
                await_go()?;
            }
            let sent = send_stream(sink.as_mut(), args.count, args.size, args.burst, END_MARKER)?;
            report_done(Fields::from_pairs(&[
                ("sent", sent.sent),
                ("retries", sent.retries),
                ("start_ns", sent.start_ns),
                ("end_ns", sent.end_ns),
                ("cpu_ns", sent.cpu_ns),
            ]))
        }
        Role::Receiver | Role::Subscriber => {
            // Throughput shapes: a woken receiver waits for its sender to
            // yield or block instead of preempting it (see crate::sched).
            sched::become_batch()?;
            let mut source = open_receiver(args)?;
            say(&Line::Ready)?;
            if args.warmup > 0 {
                receive_stream(source.as_mut(), args.warmup, args.size, WARM_UP_END)?;
                say(&Line::Warm)?;
            }
            let waits_before = voluntary_switches();
            let tally = receive_stream(source.as_mut(), args.count, args.size, END_MARKER)?;
            let waits = voluntary_switches()
                .zip(waits_before)
                .map_or(0, |(after, before)| after.saturating_sub(before));
            report_done(Fields::from_pairs(&[
                ("received", tally.received),
                ("missed", tally.missed),
                ("last_ns", tally.last_ns),
                ("waits", waits),
            ]))
        }
        Role::Client => {
            let mut client: Box<dyn rtt::Request> = match args.imp {
                Impl::Ipcon => Box::new(IpconClient::open(&args.receiver_name())?),
                Impl::IpconPost => Box::new(IpconPostClient::open(&args.receiver_name())?),
                Impl::IpconCall => Box::new(IpconCallClient::open(&args.receiver_name())?),
                Impl::RawNetlink => {
                    Box::new(RawClient::open(&args.receiver_name(), Sending::Acked)?)
                }
                Impl::RawPost => Box::new(RawClient::open(&args.receiver_name(), Sending::Posted)?),
                Impl::UdsSeqpacket => Box::new(UdsClient::connect(&args.socket_name())?),
                Impl::Pipe => Box::new(pipe::PipeClient::start(
                    &args.as_role(Role::PipeEcho).to_args(),
                )?),
                Impl::GenlFloor => {
                    Box::new(FloorClient::open(&args.receiver_name(), Dispatch::Policed)?)
                }
                Impl::GenlFloorBare => {
                    Box::new(FloorClient::open(&args.receiver_name(), Dispatch::Bare)?)
                }
                Impl::IpconBatch => bail!("round trips have no batch variant"),
                Impl::Ubus => bail!("ubus runs as {UBUS_PROGRAM}"),
                Impl::Dbus => bail!("D-Bus runs as {DBUS_PROGRAM}"),
            };
            say(&Line::Ready)?;
            await_go()?;
            let trips = rtt::client_loop(client.as_mut(), args.count, args.warmup, args.size)?;
            report_done(Fields::from_pairs(&[
                ("trips", trips.trips),
                ("median_ns", trips.median_ns.round() as u64),
                ("p99_ns", trips.p99_ns),
            ]))
        }
        Role::Server => {
            let mut server: Box<dyn rtt::Respond> = match args.imp {
                Impl::Ipcon => Box::new(IpconServer::open(&args.receiver_name())?),
                Impl::IpconPost => Box::new(IpconPostServer::open(&args.receiver_name())?),
                Impl::IpconCall => Box::new(IpconCallServer::open(&args.receiver_name())?),
                Impl::RawNetlink => {
                    Box::new(RawServer::open(&args.receiver_name(), Sending::Acked)?)
                }
                Impl::RawPost => Box::new(RawServer::open(&args.receiver_name(), Sending::Posted)?),
                Impl::UdsSeqpacket => Box::new(UdsServer::listen(&args.socket_name())?),
                Impl::GenlFloor => {
                    Box::new(FloorServer::open(&args.receiver_name(), Dispatch::Policed)?)
                }
                Impl::GenlFloorBare => {
                    Box::new(FloorServer::open(&args.receiver_name(), Dispatch::Bare)?)
                }
                Impl::Pipe | Impl::IpconBatch | Impl::Ubus | Impl::Dbus => {
                    bail!("{} has no server role here", args.imp.name())
                }
            };
            say(&Line::Ready)?;
            let served = rtt::server_loop(server.as_mut())?;
            report_done(Fields::from_pairs(&[("served", served)]))
        }
        Role::PipeEcho => pipe::echo(args.size),
    }
}

fn open_sender(args: &RoleArgs) -> Result<Box<dyn Publish>> {
    let fanout = args.role == Role::Publisher;
    let target = || {
        if fanout {
            Target::Group {
                group: args.group_name(),
                subscribers: (0..args.subscribers)
                    .map(|i| args.subscriber_name(i))
                    .collect(),
            }
        } else {
            Target::Peer(args.receiver_name())
        }
    };
    let handler = || -> Result<ipcon_linux::Handler> {
        if fanout {
            ipcon::register_publisher(&args.publisher_name(), &args.group_name())
        } else {
            ipcon_linux::Handler::anonymous().context("register the sender")
        }
    };
    Ok(match (args.imp, fanout) {
        (Impl::Ipcon, _) => Box::new(IpconSender::new(handler()?, target())),
        (Impl::IpconBatch, _) => Box::new(IpconBatchSender::new(handler()?, target())),
        (Impl::IpconPost, _) => Box::new(IpconPostSender::new(handler()?, target())),
        (Impl::RawNetlink, false) => Box::new(RawSender::open(&args.receiver_name())?),
        (Impl::UdsSeqpacket, false) => {
            Box::new(UdsSender::Unicast(uds::connect_to(&args.socket_name())?))
        }
        (Impl::UdsSeqpacket, true) => {
            Box::new(UdsSender::publisher(&args.socket_name(), args.subscribers)?)
        }
        (imp, _) => bail!("{} has no {} role", imp.name(), args.role.name()),
    })
}

fn open_receiver(args: &RoleArgs) -> Result<Box<dyn Consume>> {
    let fanout = args.role == Role::Subscriber;
    let handler = || -> Result<ipcon_linux::Handler> {
        if fanout {
            ipcon::register_subscriber(
                &args.subscriber_name(args.index),
                &args.publisher_name(),
                &args.group_name(),
            )
        } else {
            ipcon_linux::Handler::new(&args.receiver_name()).context("register the receiver")
        }
    };
    Ok(match (args.imp, fanout) {
        // Posting changes the sender only: its receivers are ipcon's.
        (Impl::Ipcon | Impl::IpconPost, _) => Box::new(IpconReceiver::new(handler()?)),
        (Impl::IpconBatch, _) => Box::new(IpconBatchReceiver::new(handler()?)),
        (Impl::RawNetlink, false) => Box::new(RawReceiver::open(&args.receiver_name())?),
        (Impl::UdsSeqpacket, false) => Box::new(UdsReceiver::Listening(uds::listen_on(
            &args.socket_name(),
            1,
        )?)),
        (Impl::UdsSeqpacket, true) => Box::new(UdsReceiver::subscriber(&args.socket_name())?),
        (imp, _) => bail!("{} has no {} role", imp.name(), args.role.name()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arguments_round_trip() {
        let args = RoleArgs {
            role: Role::Subscriber,
            imp: Impl::UdsSeqpacket,
            size: 64,
            count: 20_000,
            warmup: 0,
            tag: "p42m7".into(),
            index: 63,
            subscribers: 64,
            burst: 128,
        };
        assert_eq!(RoleArgs::parse(&args.to_args()).unwrap(), args);
        let echo = args.as_role(Role::PipeEcho);
        assert_eq!(
            RoleArgs::parse(&echo.to_args()).unwrap().role,
            Role::PipeEcho
        );
        for imp in Impl::ALL {
            assert_eq!(Impl::from_name(imp.name()), Some(imp));
        }
    }

    #[test]
    fn every_name_fits_ipcon_and_is_unique_per_measurement() {
        let args = RoleArgs {
            role: Role::Publisher,
            imp: Impl::Ipcon,
            size: 64,
            count: 1,
            warmup: 0,
            tag: "p4194304m9999".into(),
            index: 0,
            subscribers: 64,
            burst: 1,
        };
        let mut names = vec![
            args.receiver_name(),
            args.publisher_name(),
            args.group_name(),
        ];
        names.extend((0..64).map(|i| args.subscriber_name(i)));
        for name in &names {
            ipcon_core::Name::new(name).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
        let distinct: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
    }

    #[test]
    fn bad_role_arguments_say_what_is_wrong() {
        let err = RoleArgs::parse(&["--role".into(), "dancer".into()]).unwrap_err();
        assert!(err.to_string().contains("--impl"), "{err}");
    }
}
