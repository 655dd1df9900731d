//! libipcon from C: the C programs (`samples/c`, `tests/c`) built by
//! `cargo xtask` against the installed header, static (musl: `/bin/NAME`)
//! and dynamic (glibc and `libipcon.so.0`: `/usr/libexec/ipcon-c/NAME`),
//! alone and together with the Rust samples and library. On x86_64 also
//! built with gcc's AddressSanitizer (`/usr/libexec/ipcon-c/asan/NAME`):
//! the API test and the samples run under it, and any leak (a handler never
//! freed: libipcon allocates through the C allocator, which ASan replaces)
//! or memory error fails the test.

use std::time::Duration;

use ipcon_linux::{Handler, KeventKind, KeventMonitor, RemoveReason, Replay};

use crate::common::{next_kevent, receive};
use crate::harness::{shell, Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

/// The tests, with `$extra` after the common ones.
macro_rules! c_tests {
    ($($extra:expr,)*) => {
        &[
            Test::new("c_api_error_and_good_paths_static", api_static).timeout(60),
            Test::new("c_api_error_and_good_paths_dynamic", api_dynamic).timeout(60),
            Test::new("c_samples_tutorial_static", tutorial_static).timeout(60),
            Test::new("c_samples_tutorial_dynamic", tutorial_dynamic).timeout(60),
            Test::new("c_server_with_rust_peers", c_server_rust_peers).timeout(60),
            Test::new("rust_server_with_c_peers", rust_server_c_peers).timeout(60),
            Test::new("c_peer_sigkill_is_seen_as_closed", c_peer_sigkill).timeout(60),
            Test::new("c_kevent_monitor", c_kevent_monitor).timeout(60),
            $($extra,)*
        ]
    };
}

/// On x86_64 also the AddressSanitizer runs. Not on aarch64: the sanitized
/// builds are x86_64 only (gcc's arm64 libasan would be one more cross
/// runtime in that VM).
#[cfg(target_arch = "x86_64")]
pub const TESTS: &[Test] = c_tests![
    Test::new("c_api_under_asan", asan::api_under_asan).timeout(90),
    Test::new("c_samples_under_asan", asan::samples_under_asan).timeout(180),
    Test::new("c_asan_reports_a_leaked_handler", asan::catches_a_leak).timeout(60),
];
#[cfg(not(target_arch = "x86_64"))]
pub const TESTS: &[Test] = c_tests![];

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
    kevent_monitor(&static_program("ipcon_kevent"))
}

fn kevent_monitor(program: &str) -> TestResult {
    let mut monitor = Helper::program(program, &["4"])?;
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

/// The sanitized runs (x86_64).
#[cfg(target_arch = "x86_64")]
mod asan {
    use ipcon_linux::Handler;

    use super::{api, kevent_monitor, tutorial, LONG};
    use crate::harness::{note, shell, Context, Helper, TestResult};
    use crate::{ensure, ensure_eq};

    /// The AddressSanitizer builds of the C programs (x86_64; xtask's
    /// `libipcon::build_sanitized`), against the same `libipcon.so.0`.
    const ASAN_DIR: &str = "/usr/libexec/ipcon-c/asan";
    /// Where the sanitizer writes its reports (`report.PID`), instead of the
    /// programs' stderr: so that a helper's report reaches the failure reason.
    const ASAN_REPORTS: &str = "/tmp/ipcon-asan";

    /// Prepares this test process's children for the sanitizer: an empty
    /// report directory, `ASAN_OPTIONS` (leak check at exit, stop at the first
    /// error, exit status 86 on any report, whole stacks for allocations:
    /// libipcon has no frame pointers, so the fast unwinder would stop in
    /// it), the programs executable.
    fn asan_setup() -> TestResult {
        let _ = std::fs::remove_dir_all(ASAN_REPORTS);
        std::fs::create_dir_all(ASAN_REPORTS).ctx("create the report directory")?;
        // Each test is a process of its own, started without threads.
        std::env::set_var(
            "ASAN_OPTIONS",
            format!(
                "detect_leaks=1:halt_on_error=1:exitcode=86:fast_unwind_on_malloc=0:\
             log_path={ASAN_REPORTS}/report"
            ),
        );
        let (code, out) = shell(&format!(
            "chmod 755 {ASAN_DIR}/* /lib64/ld-linux-x86-64.so.2 && test -x {ASAN_DIR}/ipcon_c_api"
        ))?;
        ensure_eq!(code, 0, "the sanitized programs are there ({out})");
        Ok(())
    }

    fn asan_program(name: &str) -> Result<String, String> {
        let program = format!("{ASAN_DIR}/{name}");
        ensure!(
            std::path::Path::new(&program).exists(),
            "no sanitized {program}"
        );
        Ok(program)
    }

    /// The reports the sanitizer wrote so far: (file, text).
    fn asan_reports() -> Result<Vec<(String, String)>, String> {
        let mut reports = Vec::new();
        for entry in std::fs::read_dir(ASAN_REPORTS).ctx("the report directory")? {
            let path = entry.ctx("a report")?.path();
            let text = std::fs::read_to_string(&path).ctx("read a report")?;
            reports.push((path.display().to_string(), text));
        }
        reports.sort();
        Ok(reports)
    }

    /// Fails with the first report's gist (its ERROR and SUMMARY lines and the
    /// top frames) if the sanitizer wrote any.
    fn no_asan_reports() -> TestResult {
        let reports = asan_reports()?;
        let Some((file, text)) = reports.first() else {
            return Ok(());
        };
        let gist: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.contains("ERROR:")
                    || l.starts_with("SUMMARY:")
                    || ["#0 ", "#1 ", "#2 ", "#3 "]
                        .iter()
                        .any(|f| l.trim_start().starts_with(f))
            })
            .take(8)
            .collect();
        Err(format!(
            "{} sanitizer report(s); {file}: {}",
            reports.len(),
            gist.join(" | ")
        ))
    }

    /// The API test (every function's error and good paths, 50 handler lives)
    /// under AddressSanitizer: all checks pass, and no leak or memory error is
    /// reported at any point or at exit.
    pub(super) fn api_under_asan() -> TestResult {
        asan_setup()?;
        let result = api(&asan_program("ipcon_c_api")?);
        no_asan_reports()?;
        result?;
        note("ipcon_c_api under AddressSanitizer: no leak, no memory error reported");
        Ok(())
    }

    /// The samples under AddressSanitizer: the tutorial (server, subscriber,
    /// sender), the kernel event monitor, the calculator service and its
    /// client (a good and a failed call, an absent peer), the event loop.
    /// Every program exits normally, so that its leak check at exit runs, and
    /// nothing is reported.
    pub(super) fn samples_under_asan() -> TestResult {
        asan_setup()?;
        tutorial(&asan_program, "a")?;
        no_asan_reports()?;
        kevent_monitor(&asan_program("ipcon_kevent")?)?;
        no_asan_reports()?;

        let calc = asan_program("ipcon_calc")?;
        let mut server = Helper::program(&calc, &["serve", "c_acalc", "-n", "3"])?;
        server.expect("calc: serving c_acalc", LONG)?;
        let (code, out) = shell(&format!("{calc} call c_acalc add '2 40'"))?;
        ensure!(code == 0 && out.contains("calc: ok 2: 42"), "add: {out}");
        let (code, out) = shell(&format!("{calc} call c_acalc div '1 0'"))?;
        ensure!(
            code == 1 && out.contains("division by zero"),
            "div by zero: {out}"
        );
        let (code, out) = shell(&format!("{calc} call c_acalc nosuch x"))?;
        ensure_eq!(code, 1, "unknown method ({out})");
        let (code, out) = shell(&format!("{calc} call c_acalc_nobody add '1 1' 1000"))?;
        ensure_eq!(code, 1, "absent peer ({out})");
        ensure!(
            server.wait(LONG)?.success(),
            "calc server exit after 3 calls"
        );
        no_asan_reports()?;

        let mut looping = Helper::program(&asan_program("ipcon_loop")?, &["c_aloop"])?;
        looping.expect("loop: ready c_aloop", LONG)?;
        looping.expect("loop: tick 1", LONG)?;
        let sender = Handler::anonymous().ctx("sender")?;
        sender
            .send_unicast("c_aloop", b"hello loop")
            .ctx("send to the loop")?;
        looping.expect("loop: message from ", LONG)?;
        sender.send_unicast("c_aloop", b"close").ctx("close")?;
        looping.expect("loop: pipe hangup", LONG)?;
        sender.send_unicast("c_aloop", b"quit").ctx("quit")?;
        ensure!(looping.wait(LONG)?.success(), "the loop exits 0 on quit");
        no_asan_reports()?;

        // The loop's switches (fd <-> peer, fd <-> group) on TCP, to the
        // program's exit on the hang-up.
        let switch = asan_program("ipcon_c_switch")?;
        crate::c_services::switch_tcp_to_peer(&switch).ctx("switch to a peer")?;
        no_asan_reports()?;
        crate::c_services::switch_tcp_to_group(&switch).ctx("switch to a group")?;
        no_asan_reports()?;
        note("samples under AddressSanitizer: server, user, sender, kevent, calc, loop, both switches; nothing reported");
        Ok(())
    }

    /// The check can fail: a program that drops its handler without
    /// `ipcon_free_handler` (tests/c/asan/ipcon_c_leak.c, exit status 0 of its
    /// own) is reported by LeakSanitizer, the report naming
    /// `ipcon_create_handler`, and exits 86. The same program freeing the
    /// handler is not reported.
    pub(super) fn catches_a_leak() -> TestResult {
        asan_setup()?;
        let program = asan_program("ipcon_c_leak")?;
        let (code, out) = shell(&format!("{program} free"))?;
        ensure!(
            code == 0 && out.contains("leak: handler freed"),
            "control run: {out}"
        );
        no_asan_reports()?;

        let (code, out) = shell(&program)?;
        ensure!(out.contains("leak: handler dropped"), "leaking run: {out}");
        ensure_eq!(
            code,
            86,
            "the leaking run's exit status, set by the sanitizer ({out})"
        );
        let reports = asan_reports()?;
        ensure_eq!(reports.len(), 1, "one report: {reports:?}");
        let text = &reports[0].1;
        ensure!(
            text.contains("ERROR: LeakSanitizer: detected memory leaks"),
            "a leak report: {text}"
        );
        ensure!(
            text.contains("ipcon_create_handler"),
            "the leak is the handler ipcon_create_handler allocated: {text}"
        );
        // The whole stack, through the library (built without frame
        // pointers: the slow unwinder, with its unwind tables) to the caller.
        ensure!(
            text.contains("in main ") && text.contains("ipcon_c_leak.c:"),
            "the report names the C caller's line: {text}"
        );
        for line in text.lines().filter(|l| {
            l.starts_with("Direct leak")
                || l.contains("in ipcon_create_handler")
                || l.contains("in main ")
                || l.starts_with("SUMMARY:")
        }) {
            note(line.trim());
        }
        Ok(())
    }
}
