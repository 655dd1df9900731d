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
    Test::new("cli_monitor_explains", cli_monitor_explains).timeout(30),
    Test::new("cli_help_and_usage_errors", help_and_usage).timeout(30),
    Test::new("cli_missing_names_are_errors", missing_names).timeout(30),
    Test::new("cli_json_has_the_documented_fields", cli_json).timeout(40),
    Test::new("cli_version", cli_version).timeout(10),
    Test::new("readme_quick_start_runs", quick_start).timeout(20),
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
    ensure_eq!(code, 1, "ipcon-cmd to a missing peer ({out})");
    ensure_eq!(
        out.trim(),
        "ipcon-cmd: peer \"e2e_s_nobody\" not found",
        "ipcon-cmd error text"
    );
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

/// Peer `name` with group `news`, whose last message is `12345`.
fn news_publisher(name: &str) -> Result<Handler, String> {
    let owner = Handler::new(name).ctx("register")?;
    owner.register_group("news").ctx("group")?;
    owner.send_multicast("news", b"12345").ctx("publish")?;
    Ok(owner)
}

fn cli_commands() -> TestResult {
    let owner = news_publisher("e2e_s_cli")?;
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
        code == 1 && out.trim() == "ipcon: peer \"e2e_s_nobody\" not found",
        "ipcon send to a missing peer: {code} {out}"
    );
    Ok(())
}

/// A peer or group named on the command line that does not exist is an
/// error (exit 1) that names it.
fn missing_names() -> TestResult {
    let owner = Handler::new("e2e_s_names").ctx("register")?;
    owner.register_group("here").ctx("group")?;
    for (command, expected) in [
        (
            "/bin/ipcon groups e2e_s_nobody",
            "ipcon: peer \"e2e_s_nobody\" not found",
        ),
        (
            "/bin/ipcon --json groups e2e_s_nobody",
            "ipcon: peer \"e2e_s_nobody\" not found",
        ),
        (
            "/bin/ipcon listen --join e2e_s_names/absent --count 1",
            "ipcon: peer \"e2e_s_names\" has no group \"absent\"",
        ),
        (
            "/bin/ipcon listen --join e2e_s_nobody/news --count 1",
            "ipcon: peer \"e2e_s_nobody\" not found (so neither is its group \"news\")",
        ),
    ] {
        let (code, out) = shell(command)?;
        let last = out.lines().last().unwrap_or_default();
        ensure!(
            code == 1 && last == expected,
            "{command}: exit {code}: {out}"
        );
    }
    // An owner that exists but has no groups lists nothing, successfully.
    let _lonely = Handler::new("e2e_s_lonely").ctx("register")?;
    let (code, out) = shell("/bin/ipcon groups e2e_s_lonely")?;
    ensure!(
        code == 0 && out.is_empty(),
        "groups of a peer without any: {code} {out}"
    );
    let (code, out) = shell("/bin/ipcon groups e2e_s_names")?;
    ensure!(
        code == 0 && out.starts_with("group e2e_s_names/here "),
        "groups e2e_s_names: {code} {out}"
    );
    Ok(())
}

/// The field names a command's `--help` documents for its `--json` output:
/// the `    NAME  meaning` lines (four spaces in) after "these fields".
fn documented_fields(command: &str) -> Result<Vec<String>, String> {
    let (code, help) = shell(&format!("{command} --help"))?;
    ensure_eq!(code, 0, "{command} --help");
    let fields: Vec<String> = help
        .lines()
        .skip_while(|line| !line.contains("these fields"))
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        // Wrapped meanings continue further in.
        .filter(|line| !line[4..].starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    ensure!(fields.len() >= 5, "{command} --help lists fields: {help}");
    Ok(fields)
}

/// Checks `line` is one JSON object with every field of `fields`.
fn has_fields(line: &str, fields: &[String]) -> TestResult {
    ensure!(
        line.starts_with('{') && line.ends_with('}'),
        "not one JSON object: {line}"
    );
    for field in fields {
        ensure!(
            line.contains(&format!("\"{field}\":")),
            "no field {field:?} in {line}"
        );
    }
    Ok(())
}

fn cli_json() -> TestResult {
    let owner = news_publisher("e2e_s_json")?;
    let port = owner.port();

    let fields = documented_fields("/bin/ipcon peers")?;
    let (code, out) = shell("/bin/ipcon peers --json")?;
    ensure_eq!(code, 0, "ipcon peers --json ({out})");
    for line in out.lines() {
        has_fields(line, &fields)?;
    }
    let line = out
        .lines()
        .find(|l| l.starts_with(r#"{"name":"e2e_s_json","#))
        .ctx("e2e_s_json in ipcon peers --json")?;
    ensure!(
        line.contains(&format!(r#""port":{port},"#)) && line.contains(r#""groups":1,"#),
        "peer object: {line}"
    );

    let fields = documented_fields("/bin/ipcon groups")?;
    let (code, out) = shell("/bin/ipcon --json groups e2e_s_json")?;
    ensure_eq!(code, 0, "ipcon --json groups ({out})");
    let line = out.lines().next().ctx("a group object")?;
    has_fields(line, &fields)?;
    ensure_eq!(
        line,
        format!(
            r#"{{"owner":"e2e_s_json","owner_port":{port},"group":"news","access":"open","gid":null,"subscribers":0,"tx":1,"last_len":5}}"#
        ),
        "group object"
    );

    let fields = documented_fields("/bin/ipcon listen")?;
    let listen = Helper::program(
        "/bin/ipcon",
        &[
            "listen",
            "--json",
            "--name",
            "e2e_s_jlisten",
            "--join",
            "e2e_s_json/news",
            "--count",
            "2",
        ],
    )?;
    let ready = listen.next_line(LONG)?;
    ensure!(
        ready.starts_with(r#"{"type":"ready","name":"e2e_s_jlisten","port":"#),
        "ready object: {ready}"
    );
    let replayed = listen.next_line(LONG)?;
    has_fields(&replayed, &fields)?;
    ensure!(
        replayed.starts_with(&format!(
            r#"{{"type":"group","from":"e2e_s_json","port":{port},"#
        )) && replayed.contains(
            r#""group":"news","replayed":true,"missed":0,"payload":"12345","payload_hex":null}"#
        ),
        "replayed object: {replayed}"
    );
    let (code, out) = shell(r#"/bin/ipcon send e2e_s_jlisten 'say "hi"'"#)?;
    ensure_eq!(code, 0, "ipcon send ({out})");
    let unicast = listen.next_line(LONG)?;
    has_fields(&unicast, &fields)?;
    ensure!(
        unicast.starts_with(r#"{"type":"unicast","from":null,"#)
            && unicast.ends_with(r#""group":null,"replayed":false,"missed":0,"payload":"say \"hi\"","payload_hex":null}"#),
        "unicast object: {unicast}"
    );

    let fields = documented_fields("/bin/ipcon monitor")?;
    // The monitor below runs with its stderr merged into the stdout the test
    // reads (to wait for its "watching" notice), where a notice printed on
    // stdout would pass unseen: stdout alone carries events only.
    let (code, out) = shell("{ /bin/ipcon --json monitor --count 0 2>/dev/null; }")?;
    ensure_eq!(
        (code, out.as_str()),
        (0, ""),
        "ipcon --json monitor's stdout without events"
    );
    let monitor = start_monitor("/bin/ipcon --json monitor --explain --count 2")?;
    watching(&monitor, "ipcon monitor")?;
    let peer = Handler::new("e2e_s_jmon").ctx("register")?;
    let port = peer.port();
    drop(peer);
    let add = monitor.next_line(SOON)?;
    has_fields(&add, &fields)?;
    ensure!(
        add.contains(&format!(
            r#""event":"peer-add","name":"e2e_s_jmon","port":{port},"#
        )) && add.contains(r#""group":null,"reason":null,"meaning":"peer \"e2e_s_jmon\" (port "#),
        "peer-add object: {add}"
    );
    let remove = monitor.next_line(SOON)?;
    ensure!(
        remove.contains(r#""event":"peer-remove","#)
            && remove.contains(r#""reason":"unregistered","meaning":"#),
        "peer-remove object: {remove}"
    );
    Ok(())
}

fn cli_monitor_explains() -> TestResult {
    let ipcon = start_monitor("/bin/ipcon monitor --explain --count 4")?;
    let sample = start_monitor("/bin/ipcon-monitor --explain --count 4")?;
    watching(&ipcon, "ipcon monitor")?;
    watching(&sample, "ipcon-monitor")?;
    let owner = Handler::new("e2e_s_explain").ctx("register")?;
    let (port, pid) = (owner.port(), std::process::id());
    owner.register_group("g").ctx("group")?;
    owner.unregister_group("g").ctx("unregister group")?;
    drop(owner);
    let who = format!("peer \"e2e_s_explain\" (port {port}, pid {pid}, uid 0)");
    for helper in [&ipcon, &sample] {
        for expected in [
            format!("{who} registered; others can now send to it"),
            format!("{who} registered group \"g\"; peers can now join it"),
            format!(
                "{who} unregistered its group \"g\"; its subscribers get no more messages from it"
            ),
            format!("{who} unregistered itself"),
        ] {
            let line = helper.expect("kevent #", SOON)?;
            let (_, meaning) = line.split_once(": ").ctx("kevent #N: meaning")?;
            ensure_eq!(meaning, expected, "explained event");
        }
    }
    Ok(())
}

fn cli_version() -> TestResult {
    for command in [
        "/bin/ipcon --version",
        "/bin/ipcon -V",
        "/bin/ipcon version",
    ] {
        let (code, out) = shell(command)?;
        ensure!(
            code == 0
                && out.starts_with(&format!(
                    "ipcon {} (protocol version ",
                    env!("CARGO_PKG_VERSION")
                ))
                && out.lines().count() == 1,
            "{command}: {code} {out}"
        );
    }
    Ok(())
}

/// The README's quick start (samples/examples/quickstart.rs) does what the
/// README says.
fn quick_start() -> TestResult {
    let (code, out) = shell("/bin/quickstart")?;
    ensure_eq!(code, 0, "quickstart ({out})");
    let pid_part = out
        .strip_prefix("\"hi from the quick start\" from pid ")
        .ctx(&format!("quickstart output: {out}"))?;
    ensure!(pid_part.ends_with(" (uid 0)\n"), "quickstart output: {out}");
    Ok(())
}

/// Starts a monitor command line with its stderr merged into the stdout the
/// test reads, so that its "watching" notice can be waited for. `exec`: the
/// helper is the monitor itself, not a shell.
fn start_monitor(command: &str) -> Result<Helper, String> {
    Helper::program("/bin/sh", &["-c", &format!("exec {command} 2>&1")])
}

/// Waits for the notice `who` prints once subscribed to kernel events: the
/// events that follow reach it, however slowly it started. The notice is
/// its first line, so no event line is skipped on the way.
fn watching(monitor: &Helper, who: &str) -> TestResult {
    monitor
        .expect(&format!("{who}: watching kernel events"), LONG)
        .map(drop)
}

fn cli_monitor() -> TestResult {
    let ipcon = start_monitor("/bin/ipcon monitor --count 2")?;
    let mut sample = start_monitor("/bin/ipcon-monitor --count 2")?;
    watching(&ipcon, "ipcon monitor")?;
    watching(&sample, "ipcon-monitor")?;
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
        "/bin/ipcon policy",
    ] {
        let (code, out) = shell(&format!("{program} --help"))?;
        ensure_eq!(code, 0, "{program} --help exit");
        ensure!(out.starts_with("Usage: "), "{program} --help: {out}");
        if program.starts_with("/bin/ipcon ") || program == "/bin/ipcon-monitor" {
            ensure!(
                out.contains("\nExample"),
                "{program} --help has no example: {out}"
            );
        }
    }
    for (command, needle) in [
        ("/bin/ipcon", "missing COMMAND"),
        ("/bin/ipcon frobnicate", "unknown command"),
        ("/bin/ipcon-cmd", "missing PEER"),
        ("/bin/ipcon-cmd peer_only", "missing MESSAGE"),
        ("/bin/ipcon send", "missing PEER"),
        ("/bin/ipcon policy", "missing load FILE or clear"),
        ("/bin/ipcon policy load", "missing FILE"),
        ("/bin/ipcon send --expect-uid root p m", "invalid uid"),
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
