//! libipcon from C: the C programs (`samples/c`, `tests/c`) built by
//! `cargo xtask` against the installed header, static (musl: `/bin/NAME`)
//! and dynamic (glibc and `libipcon.so.0`: `/usr/libexec/ipcon-c/NAME`),
//! alone and together with the Rust samples and library.

use std::time::Duration;

use ipcon_linux::{Handler, KeventKind, KeventMonitor, RemoveReason, Replay};

use crate::common::{next_kevent, receive};
use crate::harness::{shell, Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("c_api_error_and_good_paths_static", api_static).timeout(60),
    Test::new("c_api_error_and_good_paths_dynamic", api_dynamic).timeout(60),
    Test::new("c_samples_tutorial_static", tutorial_static).timeout(60),
    Test::new("c_samples_tutorial_dynamic", tutorial_dynamic).timeout(60),
    Test::new("c_server_with_rust_peers", c_server_rust_peers).timeout(60),
    Test::new("rust_server_with_c_peers", rust_server_c_peers).timeout(60),
    Test::new("c_peer_sigkill_is_seen_as_closed", c_peer_sigkill).timeout(60),
    Test::new("c_kevent_monitor", c_kevent_monitor).timeout(60),
];

const LONG: Duration = Duration::from_secs(15);
const DYNAMIC_DIR: &str = "/usr/libexec/ipcon-c";

/// The static build of C program `name`.
pub(crate) fn static_program(name: &str) -> String {
    format!("/bin/{name}")
}

/// The dynamic build of C program `name`, made executable (the initramfs
/// carries only static executables as such).
pub(crate) fn dynamic_program(name: &str) -> Result<String, String> {
    let (code, out) = shell(&format!(
        "chmod 755 {DYNAMIC_DIR}/* /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1 2>/dev/null; \
         test -x {DYNAMIC_DIR}/{name}"
    ))?;
    ensure_eq!(code, 0, "dynamic {name} is there ({out})");
    Ok(format!("{DYNAMIC_DIR}/{name}"))
}

fn api(program: &str) -> TestResult {
    let (code, out) = shell(program)?;
    for line in out
        .lines()
        .filter(|l| l.starts_with("not ok") || l.starts_with('#'))
    {
        crate::harness::note(line);
    }
    let summary = out
        .lines()
        .find(|l| l.starts_with("c-api: "))
        .ctx("the c-api summary line")?;
    ensure!(summary.ends_with(", 0 failed"), "{summary}");
    ensure_eq!(code, 0, "{program} exit ({summary})");
    Ok(())
}

fn api_static() -> TestResult {
    api(&static_program("ipcon_c_api"))
}

fn api_dynamic() -> TestResult {
    let program = dynamic_program("ipcon_c_api")?;
    // It really loads libipcon.so.0 (and no Rust std: it has none to load).
    let (code, out) = shell(&format!("LD_TRACE_LOADED_OBJECTS=1 {program}"))?;
    ensure!(
        code == 0 && out.contains("libipcon.so.0"),
        "{program} links libipcon.so.0: {out}"
    );
    api(&program)
}

/// The tutorial with C programs only: server, subscriber, sender.
fn tutorial(program: &dyn Fn(&str) -> Result<String, String>, tag: &str) -> TestResult {
    let server_name = format!("c_srv_{tag}");
    let group = format!("c_str_{tag}");
    let mut user = Helper::program(
        &program("ipcon_user")?,
        &["-s", &server_name, "-g", &group, "-n", "3"],
    )?;
    let mut server = Helper::program(&program("ipcon_server")?, &[&server_name, &group])?;
    server.expect(
        &format!("server: {server_name} serving group {group}"),
        LONG,
    )?;
    // The subscriber joins when the group appears (kernel event) or at once.
    user.expect(&format!("user: joined {server_name}/{group}"), LONG)?;
    let (code, out) = shell(&format!(
        "{} -t {server_name} -n 2 -i 50 hello",
        program("ipcon_sender")?
    ))?;
    ensure_eq!(code, 0, "sender exit ({out})");
    let line = server.expect("server: from ipcon_sender ", LONG)?;
    ensure!(line.ends_with(": hello"), "server line: {line}");
    ensure!(line.contains(" uid=0"), "server line stamps: {line}");
    for n in 0..2 {
        let line = user.expect(&format!("user: {server_name}/{group} "), LONG)?;
        ensure!(line.ends_with(": hello"), "user line {n}: {line}");
        ensure!(line.contains("pid="), "user line stamps: {line}");
    }
    let (code, out) = shell(&format!(
        "{} -t {server_name} bye",
        program("ipcon_sender")?
    ))?;
    ensure_eq!(code, 0, "sender bye exit ({out})");
    ensure!(user.wait(LONG)?.success(), "subscriber with -n 3 exit");
    ensure!(server.wait(LONG)?.success(), "server exit after bye");
    Ok(())
}

fn tutorial_static() -> TestResult {
    tutorial(&|name| Ok(static_program(name)), "s")
}

fn tutorial_dynamic() -> TestResult {
    tutorial(&dynamic_program, "d")
}

/// A C server; the Rust samples subscribe and send; the Rust library too.
fn c_server_rust_peers() -> TestResult {
    let mut server = Helper::program(&static_program("ipcon_server"), &["c_srv_mix", "c_mix"])?;
    server.expect("server: c_srv_mix serving group c_mix", LONG)?;
    let mut subscriber = Helper::program(
        "/bin/ipcon-subscriber",
        &["--server", "c_srv_mix", "--group", "c_mix", "--count", "2"],
    )?;
    subscriber.expect("subscriber: joined c_srv_mix/c_mix", LONG)?;
    let library = Handler::anonymous().ctx("register")?;
    library
        .join_group("c_srv_mix", "c_mix", Replay::Skip)
        .ctx("join the C server's group")?;

    let (code, out) = shell("/bin/ipcon-cmd c_srv_mix from-rust")?;
    ensure_eq!(code, 0, "ipcon-cmd exit ({out})");
    let line = server.expect("server: from ", LONG)?;
    ensure!(line.ends_with(": from-rust"), "C server line: {line}");
    let line = subscriber.expect("subscriber: group c_srv_mix/c_mix ", LONG)?;
    ensure!(
        line.ends_with(": from-rust"),
        "Rust subscriber line: {line}"
    );
    let mut msg = ipcon_linux::Message::new();
    receive(&library, &mut msg)?;
    ensure_eq!(msg.group().map(|g| g.as_str()), Some("c_mix"), "group");
    ensure_eq!(
        msg.payload().strip_suffix(b"\0").unwrap_or(msg.payload()),
        b"from-rust",
        "payload the C server forwarded"
    );
    ensure_eq!(
        msg.sender().pid,
        server.pid(),
        "the C server's pid, as stamped"
    );

    library
        .send_unicast("c_srv_mix", b"bye\0")
        .ctx("bye from the library")?;
    ensure!(server.wait(LONG)?.success(), "C server exit after bye");
    ensure!(subscriber.wait(LONG)?.success(), "Rust subscriber exit");
    Ok(())
}

/// A Rust server; the C subscriber and sender use it.
fn rust_server_c_peers() -> TestResult {
    let server = Helper::program(
        "/bin/ipcon-server",
        &["--name", "r_srv_mix", "--group", "r_mix"],
    )?;
    server.expect("server: r_srv_mix port=", LONG)?;
    let mut user = Helper::program(
        &static_program("ipcon_user"),
        &["-s", "r_srv_mix", "-g", "r_mix", "-n", "1", "-l"],
    )?;
    user.expect("user: joined r_srv_mix/r_mix", LONG)?;
    let (code, out) = shell(&format!(
        "{} -t r_srv_mix from-c",
        static_program("ipcon_sender")
    ))?;
    ensure_eq!(code, 0, "C sender exit ({out})");
    let line = server.expect("server: ", LONG)?;
    ensure!(line.contains("from-c"), "Rust server line: {line}");
    let line = user.expect("user: r_srv_mix/r_mix ", LONG)?;
    ensure!(line.ends_with(": from-c"), "C subscriber line: {line}");
    ensure!(user.wait(LONG)?.success(), "C subscriber exit");
    Ok(())
}

/// SIGKILL of a C peer: the kernel reports its group and the peer removed
/// as closed; the C subscriber sees its group go, and joins it again when
/// the server comes back.
fn c_peer_sigkill() -> TestResult {
    let monitor = KeventMonitor::open().ctx("monitor")?;
    let mut server = Helper::program(&static_program("ipcon_server"), &["c_srv_kill", "c_kill"])?;
    server.expect("server: c_srv_kill serving group c_kill", LONG)?;
    let user = Helper::program(
        &static_program("ipcon_user"),
        &["-s", "c_srv_kill", "-g", "c_kill"],
    )?;
    user.expect("user: joined c_srv_kill/c_kill", LONG)?;
    let pid = server.pid();
    server.kill();
    let line = user.expect("user: c_srv_kill/c_kill is gone", LONG)?;
    ensure_eq!(line, " (its process ended)", "the C subscriber's view");
    let mut removed_group = false;
    loop {
        let event = next_kevent(&monitor)?;
        match event.kind {
            KeventKind::GroupRemove {
                owner,
                group,
                reason,
            } if group.as_str() == "c_kill" => {
                ensure_eq!(reason, RemoveReason::Closed, "group remove reason");
                ensure_eq!(owner.pid, pid, "owner pid");
                removed_group = true;
            }
            KeventKind::PeerRemove { peer, reason }
                if peer.name.is_some_and(|n| n.as_str() == "c_srv_kill") =>
            {
                ensure!(removed_group, "the group's removal comes first");
                ensure_eq!(reason, RemoveReason::Closed, "peer remove reason");
                break;
            }
            _ => {}
        }
    }
    // The subscriber waits for the server to come back and joins the new
    // group (its old membership went with the old group).
    let server = Helper::program(&static_program("ipcon_server"), &["c_srv_kill", "c_kill"])?;
    server.expect("server: c_srv_kill serving group c_kill", LONG)?;
    user.expect("user: joined c_srv_kill/c_kill", LONG)?;
    let (code, out) = shell(&format!(
        "{} -t c_srv_kill again",
        static_program("ipcon_sender")
    ))?;
    ensure_eq!(code, 0, "sender exit ({out})");
    let line = user.expect("user: c_srv_kill/c_kill ", LONG)?;
    ensure!(
        line.ends_with(": again"),
        "the subscriber after the restart: {line}"
    );
    Ok(())
}

/// The C kernel event monitor reports a Rust peer's life.
fn c_kevent_monitor() -> TestResult {
    let mut monitor = Helper::program(&static_program("ipcon_kevent"), &["4"])?;
    monitor.expect("kevent: watching", LONG)?;
    let peer = Handler::new("c_kev_peer").ctx("register")?;
    peer.register_group("c_kev_grp").ctx("register group")?;
    drop(peer);
    let line = monitor.expect("kevent: peer-add peer=c_kev_peer ", LONG)?;
    ensure!(line.contains(" uid=0"), "peer-add line: {line}");
    let line = monitor.expect("kevent: group-add peer=c_kev_peer ", LONG)?;
    ensure!(line.ends_with(" group=c_kev_grp"), "group-add line: {line}");
    let line = monitor.expect("kevent: group-remove peer=c_kev_peer ", LONG)?;
    ensure!(
        line.ends_with("reason=unregistered"),
        "group-remove line: {line}"
    );
    let line = monitor.expect("kevent: peer-remove peer=c_kev_peer ", LONG)?;
    ensure!(
        line.ends_with("reason=unregistered"),
        "peer-remove line: {line}"
    );
    ensure!(monitor.wait(LONG)?.success(), "monitor exit after 4 events");
    Ok(())
}
