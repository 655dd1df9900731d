//! The sample programs and the `ipcon` CLI, run as a user would.

use std::time::Duration;

use ipcon_linux::KeventKind;
use ipcon_linux::Replay;
use ipcon_linux::{Handler, KeventMonitor, Message, MessageKind, RemoveReason};

use crate::common::{receive_kind, SOON};
use crate::harness::{shell, Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("samples_server_subscriber_sender", server_subscriber_sender).timeout(40),
    Test::new("samples_subscriber_replay", subscriber_replay).timeout(30),
    Test::new(
        "samples_server_sigterm_unregisters",
        server_sigterm_unregisters,
    )
    .timeout(30),
    Test::new("cli_peers_groups_send_listen", cli_commands).timeout(30),
    Test::new("cli_monitor", cli_monitor).timeout(30),
    Test::new("cli_help_and_usage_errors", help_and_usage).timeout(30),
];

const LONG: Duration = Duration::from_secs(10);

fn server_subscriber_sender() -> TestResult {
    let server = Helper::program(
        "/bin/ipcon-server",
        &["--name", "e2e_s_srv", "--group", "e2e_str"],
    )?;
    let started = server.expect("server: e2e_s_srv port=", LONG)?;
    ensure!(
        started.ends_with("serving group e2e_str"),
        "server banner: {started}"
    );
    let mut subscriber = Helper::program(
        "/bin/ipcon-subscriber",
        &[
            "--server",
            "e2e_s_srv",
            "--group",
            "e2e_str",
            "--count",
            "3",
        ],
    )?;
    subscriber.expect("subscriber: joined e2e_s_srv/e2e_str", LONG)?;

    let (code, out) = shell("/bin/ipcon-cmd e2e_s_srv hello")?;
    ensure_eq!(code, 0, "ipcon-cmd exit ({out})");
    let line = subscriber.expect("subscriber: group e2e_s_srv/e2e_str ", LONG)?;
    ensure!(line.ends_with(": hello"), "subscriber line: {line}");
    ensure!(line.contains("uid=0"), "subscriber line stamps: {line}");
    let line = server.expect("server: from ", LONG)?;
    ensure!(
        line.starts_with("port:") && line.ends_with(": hello"),
        "server line: {line}"
    );
    let line = server.expect("server: forwarded to e2e_str ", LONG)?;
    ensure_eq!(line, "delivered=1 dropped=0", "server's forward report");

    // The repeating sender waits for the server and sends COUNT times.
    let (code, out) = shell("/bin/ipcon-sender --to e2e_s_srv --interval-ms 20 --count 2 world")?;
    ensure_eq!(code, 0, "ipcon-sender exit ({out})");
    for n in 0..2 {
        let line = subscriber.expect("subscriber: group e2e_s_srv/e2e_str ", LONG)?;
        ensure!(line.ends_with(": world"), "subscriber line {n}: {line}");
    }
    let status = subscriber.wait(LONG)?;
    ensure!(
        status.success(),
        "subscriber with --count 3 exited {status}"
    );

    // A library peer talks to the sample server too.
    let me = Handler::anonymous().ctx("register")?;
    me.join_group("e2e_s_srv", "e2e_str", Replay::Skip)
        .ctx("join the server's group")?;
    me.send_unicast("e2e_s_srv", b"from the library")
        .ctx("unicast to the server")?;
    let mut msg = Message::new();
    let text = receive_kind(&me, &mut msg, MessageKind::Group)?;
    ensure_eq!(text, "from the library", "forwarded payload");

    let (code, out) = shell("/bin/ipcon-cmd e2e_s_nobody hello")?;
    ensure!(code != 0, "ipcon-cmd to a missing peer exited 0");
    ensure!(out.contains("not found"), "ipcon-cmd error text: {out}");
    Ok(())
}

fn subscriber_replay() -> TestResult {
    let owner = Handler::new("e2e_s_state").ctx("register")?;
    owner.register_group("st").ctx("group")?;
    owner.send_multicast("st", b"current").ctx("publish")?;
    let replaying = Helper::program(
        "/bin/ipcon-subscriber",
        &["--server", "e2e_s_state", "--group", "st", "--count", "2"],
    )?;
    replaying.expect("subscriber: joined", LONG)?;
    let line = replaying.expect("subscriber: group e2e_s_state/st ", LONG)?;
    ensure!(
        line.contains(" replayed") && line.ends_with(": current"),
        "replay line: {line}"
    );
    let plain = Helper::program(
        "/bin/ipcon-subscriber",
        &[
            "--server",
            "e2e_s_state",
            "--group",
            "st",
            "--count",
            "1",
            "--no-replay",
        ],
    )?;
    plain.expect("subscriber: joined", LONG)?;
    owner.send_multicast("st", b"next").ctx("publish again")?;
    let line = plain.expect("subscriber: group e2e_s_state/st ", LONG)?;
    ensure!(
        !line.contains("replayed") && line.ends_with(": next"),
        "--no-replay line: {line}"
    );
    let line = replaying.expect("subscriber: group e2e_s_state/st ", LONG)?;
    ensure!(
        !line.contains("replayed") && line.ends_with(": next"),
        "live line: {line}"
    );
    Ok(())
}

fn cli_commands() -> TestResult {
    let owner = Handler::new("e2e_s_cli").ctx("register")?;
    owner.register_group("news").ctx("group")?;
    owner.send_multicast("news", b"12345").ctx("publish")?;
    let (code, out) = shell("/bin/ipcon peers")?;
    ensure_eq!(code, 0, "ipcon peers exit ({out})");
    let line = out
        .lines()
        .find(|l| l.starts_with("peer name=e2e_s_cli "))
        .ctx("e2e_s_cli in `ipcon peers`")?;
    ensure!(
        line.contains(&format!("port={}", owner.port())),
        "peers line: {line}"
    );
    ensure!(line.contains("groups=1"), "peers line: {line}");
    let (code, out) = shell("/bin/ipcon groups e2e_s_cli")?;
    ensure_eq!(code, 0, "ipcon groups exit ({out})");
    let line = out.lines().next().ctx("a group line")?;
    ensure!(
        line.starts_with("group e2e_s_cli/news ")
            && line.contains("access=open")
            && line.contains("tx=1")
            && line.ends_with("last=5"),
        "groups line: {line}"
    );

    let listen = Helper::program(
        "/bin/ipcon",
        &[
            "listen",
            "--name",
            "e2e_s_listen",
            "--join",
            "e2e_s_cli/news",
            "--count",
            "3",
        ],
    )?;
    listen.expect("listen: e2e_s_listen port=", LONG)?;
    // The join replayed the last message.
    let line = listen.expect("listen: ", LONG)?;
    ensure!(
        line.contains("replayed") && line.ends_with(": 12345"),
        "replayed line: {line}"
    );
    let (code, out) = shell("/bin/ipcon send e2e_s_listen ping")?;
    ensure_eq!(code, 0, "ipcon send exit ({out})");
    let line = listen.expect("listen: ", LONG)?;
    ensure!(
        line.starts_with("from port:") && line.ends_with(": ping"),
        "listen line: {line}"
    );
    owner.send_multicast("news", b"extra").ctx("publish")?;
    let line = listen.expect("listen: ", LONG)?;
    ensure!(
        line.starts_with("group e2e_s_cli/news") && line.ends_with(": extra"),
        "listen line: {line}"
    );
    let (code, out) = shell("/bin/ipcon send e2e_s_nobody x")?;
    ensure!(
        code != 0 && out.contains("not found"),
        "ipcon send to a missing peer: {code} {out}"
    );
    Ok(())
}

fn cli_monitor() -> TestResult {
    let ipcon = Helper::program("/bin/ipcon", &["monitor", "--count", "2"])?;
    let mut sample = Helper::program("/bin/ipcon-monitor", &["--count", "2"])?;
    // Both subscribe before the events happen: give them a moment (a
    // static binary starts in well under 100 ms even under TCG).
    std::thread::sleep(Duration::from_millis(1000));
    let peer = Handler::new("e2e_s_mon").ctx("register")?;
    let port = peer.port();
    drop(peer);
    for (what, helper) in [("ipcon monitor", &ipcon), ("ipcon-monitor", &sample)] {
        let add = helper.expect("kevent #", SOON)?;
        ensure!(
            add.contains(&format!("peer-add name=e2e_s_mon port={port} ")),
            "{what}: {add}"
        );
        let remove = helper.expect("kevent #", SOON)?;
        ensure!(
            remove.contains(&format!("peer-remove name=e2e_s_mon port={port} "))
                && remove.ends_with("reason=unregistered"),
            "{what}: {remove}"
        );
    }
    let status = sample.wait(SOON)?;
    ensure!(status.success(), "ipcon-monitor --count 2 exited {status}");
    Ok(())
}

fn help_and_usage() -> TestResult {
    for program in [
        "/bin/ipcon-server",
        "/bin/ipcon-subscriber",
        "/bin/ipcon-sender",
        "/bin/ipcon-cmd",
        "/bin/ipcon-monitor",
        "/bin/ipcon",
        "/bin/ipcon peers",
        "/bin/ipcon groups",
        "/bin/ipcon send",
        "/bin/ipcon listen",
        "/bin/ipcon monitor",
    ] {
        let (code, out) = shell(&format!("{program} --help"))?;
        ensure_eq!(code, 0, "{program} --help exit");
        ensure!(out.starts_with("Usage: "), "{program} --help: {out}");
    }
    for (command, needle) in [
        ("/bin/ipcon", "missing COMMAND"),
        ("/bin/ipcon frobnicate", "unknown command"),
        ("/bin/ipcon-cmd", "missing PEER"),
        ("/bin/ipcon-cmd peer_only", "missing MESSAGE"),
        ("/bin/ipcon send", "missing PEER"),
        ("/bin/ipcon-subscriber --count many", "invalid count"),
    ] {
        let (code, out) = shell(command)?;
        ensure_eq!(code, 2, "{command} exit code ({out})");
        ensure!(
            out.contains(needle) && out.contains("--help"),
            "{command}: {out}"
        );
    }
    Ok(())
}

fn server_sigterm_unregisters() -> TestResult {
    // A service stopped by its init system (SIGTERM) leaves as
    // "unregistered", not "closed".
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let mut server = Helper::program(
        "/bin/ipcon-server",
        &["--name", "e2e_s_term", "--group", "tg"],
    )?;
    let banner = server.expect("server: e2e_s_term port=", LONG)?;
    let port: u32 = banner
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .ctx("port in the banner")?;
    // SAFETY: kill(2) with a child's pid and a signal number.
    if unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) } != 0 {
        return Err(format!("kill: {}", std::io::Error::last_os_error()));
    }
    let status = server.wait(LONG)?;
    ensure_eq!(
        status.code(),
        Some(0),
        "ipcon-server exit on SIGTERM ({status})"
    );
    let mut removals = Vec::new();
    while removals.len() < 2 {
        let event = crate::common::next_kevent(&monitor)?;
        if event.peer().map(|p| p.port).unwrap_or_default() == port
            && !matches!(
                event.kind,
                KeventKind::PeerAdd(..) | KeventKind::GroupAdd { .. }
            )
        {
            removals.push(event);
        }
    }
    ensure!(
        matches!(
            removals[0].kind,
            KeventKind::GroupRemove {
                reason: RemoveReason::Unregistered,
                ..
            }
        ),
        "first removal: {}",
        removals[0]
    );
    ensure!(
        matches!(
            removals[1].kind,
            KeventKind::PeerRemove {
                reason: RemoveReason::Unregistered,
                ..
            }
        ),
        "second removal: {}",
        removals[1]
    );
    Ok(())
}
