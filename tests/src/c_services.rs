//! Calls from C (`ipcon_call`, `ipcon_serve`; samples/c/ipcon_calc.c) with
//! Rust clients and services: the same call header both ways, the
//! deadline, and the distinct errno of a called peer killed with the call
//! pending.

use std::time::{Duration, Instant};

use ipcon_linux::{CallStatus, Client, Directory, ErrorKind, Handler, Service};

use crate::c_api::{dynamic_program, static_program};
use crate::calls::test_service;
use crate::harness::{shell, Context, Helper, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new("c_calls_c_client_rust_service", c_client_rust_service).timeout(60),
    Test::new("c_calls_rust_client_c_service", rust_client_c_service).timeout(60),
    Test::new("c_calls_deadline", c_call_deadline).timeout(60),
    Test::new("c_calls_peer_sigkill_is_ehostdown", c_call_peer_sigkill).timeout(60),
    Test::new("c_loop_timers_fd_messages_calls", c_loop).timeout(60),
    Test::new("c_loop_switch_fd_to_peer_and_back", c_loop_switch).timeout(60),
    Test::new("c_loop_switch_tcp_to_peer_and_back", c_loop_switch_tcp).timeout(60),
    Test::new("c_loop_switch_tcp_to_group_and_back", c_loop_switch_group).timeout(90),
    Test::new("c_expect_uid_mismatch_is_eperm", c_expect_uid).timeout(60),
    Test::new("c_handler_after_module_unload", c_after_unload).timeout(90),
];

const LONG: Duration = Duration::from_secs(15);
/// EHOSTDOWN, ETIMEDOUT, EOPNOTSUPP, EREMOTEIO on x86_64 and arm64 (the
/// generic errno numbers).
const EHOSTDOWN: i32 = 112;
const ETIMEDOUT: i32 = 110;
const EOPNOTSUPP: i32 = 95;
const EREMOTEIO: i32 = 121;
const EPERM: i32 = 1;

/// `ipcon_calc call ...`: `Ok(reply)` or `Err((errno, text))`.
fn c_call(program: &str, args: &str) -> Result<Result<String, (i32, String)>, String> {
    let (code, out) = shell(&format!("{program} call {args}"))?;
    parse_call(code, &out)
}

fn parse_call(code: i32, out: &str) -> Result<Result<String, (i32, String)>, String> {
    let line = out
        .lines()
        .find(|l| l.starts_with("calc: "))
        .ctx(&format!("a calc: line in {out:?}"))?;
    if let Some(rest) = line.strip_prefix("calc: ok ") {
        ensure_eq!(code, 0, "exit of a call that succeeded ({line})");
        let (len, reply) = rest.split_once(": ").ctx("ok LEN: REPLY")?;
        ensure_eq!(len.parse::<usize>().ok(), Some(reply.len()), "{line}");
        return Ok(Ok(reply.to_owned()));
    }
    let rest = line.strip_prefix("calc: error ").ctx("calc: ok|error")?;
    ensure_eq!(code, 1, "exit of a call that failed ({line})");
    let (errno, rest) = rest.split_once(' ').ctx("error ERRNO ...")?;
    let errno: i32 = errno.parse().ctx("errno")?;
    let text = rest.rsplit_once("): ").map_or("", |(_, t)| t);
    Ok(Err((-errno, text.to_owned())))
}

/// Serves `service` on a thread until dropped.
struct Serving(Service, Option<std::thread::JoinHandle<()>>);

impl Serving {
    fn start(name: &str) -> Result<Self, String> {
        let service = test_service(name)?;
        let serving = service.clone();
        let thread = std::thread::spawn(move || {
            let _ = serving.serve(1);
        });
        Ok(Self(service, Some(thread)))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.stop();
        if let Some(thread) = self.1.take() {
            let _ = thread.join();
        }
    }
}

/// The C client (static and dynamic) calls the Rust test service.
fn c_client_rust_service() -> TestResult {
    let _serving = Serving::start("c_calls_rs")?;
    for program in [static_program("ipcon_calc"), dynamic_program("ipcon_calc")?] {
        let echoed = c_call(&program, "c_calls_rs echo hello-from-c")?;
        ensure_eq!(echoed, Ok("hello-from-c".to_owned()), "{program} echo");
        let failed = c_call(&program, "c_calls_rs fail as-asked")?;
        ensure_eq!(
            failed,
            Err((EREMOTEIO, "as-asked".to_owned())),
            "{program}: a failed status is -EREMOTEIO with the service's text"
        );
        let unknown = c_call(&program, "c_calls_rs nosuch x")?;
        ensure_eq!(
            unknown,
            Err((EOPNOTSUPP, "no such method".to_owned())),
            "{program}: unknown method"
        );
        let missing = c_call(&program, "c_calls_nobody echo x 1000")?;
        ensure_eq!(missing.map_err(|e| e.0), Err(2), "no such peer: -ENOENT");
        // The list has several lines: only its start is on the calc: line.
        let (code, methods) = shell(&format!("{program} call c_calls_rs .methods"))?;
        ensure!(
            code == 0 && methods.contains("calc: ok ") && methods.contains("\necho\t"),
            ".methods: {methods}"
        );
    }
    Ok(())
}

/// The Rust client calls the C service.
fn rust_client_c_service() -> TestResult {
    let mut server = Helper::program(&static_program("ipcon_calc"), &["serve", "c_calc"])?;
    server.expect("calc: serving c_calc", LONG)?;
    let client = Client::new().ctx("client")?;
    let sum = client
        .call("c_calc", "add", b"2 40", Some(LONG))
        .ctx("add")?;
    ensure_eq!(sum, b"42", "2 + 40");
    let product = client
        .call("c_calc", "mul", b"-6 7", Some(LONG))
        .ctx("mul")?;
    ensure_eq!(product, b"-42", "-6 * 7");
    let err = client
        .call("c_calc", "div", b"1 0", Some(LONG))
        .err()
        .ctx("div by zero fails")?;
    ensure_eq!(err.kind(), ErrorKind::CallFailed, "{err}");
    ensure_eq!(err.call_status(), Some(CallStatus::Failed), "{err}");
    ensure_eq!(err.kernel_message(), Some("division by zero"), "{err}");
    let err = client
        .call("c_calc", "add", b"two", Some(LONG))
        .err()
        .ctx("bad arguments fail")?;
    ensure_eq!(err.call_status(), Some(CallStatus::BadRequest), "{err}");
    let err = client
        .call("c_calc", "sqrt", b"4", Some(LONG))
        .err()
        .ctx("unknown method")?;
    ensure_eq!(err.call_status(), Some(CallStatus::UnknownMethod), "{err}");
    let methods = client.methods("c_calc", Some(LONG)).ctx("methods")?;
    let names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
    ensure_eq!(
        names,
        [".methods", "add", "mul", "div", "sleep"],
        "the C service's methods"
    );
    // The caller's stamps reach the C method.
    let slept = client
        .call("c_calc", "sleep", b"1", Some(LONG))
        .ctx("sleep")?;
    ensure_eq!(slept, b"slept 1 for uid 0", "sleep's answer");
    // A C client of the C service, through libipcon.so.0.
    let quotient = c_call(&dynamic_program("ipcon_calc")?, "c_calc div '85 2'")?;
    ensure_eq!(quotient, Ok("42".to_owned()), "C to C");
    server.kill();
    Ok(())
}

/// A call's deadline: -ETIMEDOUT after the timeout, not the method's time.
fn c_call_deadline() -> TestResult {
    let _serving = Serving::start("c_calls_slow")?;
    let started = Instant::now();
    let slow = c_call(&static_program("ipcon_calc"), "c_calls_slow slow 3000 300")?;
    let took = started.elapsed();
    ensure_eq!(
        slow.map_err(|e| e.0),
        Err(ETIMEDOUT),
        "slow call past its deadline"
    );
    // ETIMEDOUT alone proves the deadline ended the call: it comes only from
    // the caller's own deadline, and the method's reply (after 3000 ms, ten
    // times the deadline) would have won had the caller waited for it. The
    // upper bound only catches a call that hangs: sh and the exec of
    // ipcon_calc take seconds on a stalled guest.
    ensure!(
        took >= Duration::from_millis(300) && took < LONG,
        "the deadline ended it: {took:?}"
    );
    // A later call on a fresh handler is not confused by the late reply. The
    // service has one worker: the echo waits for the slow method's end.
    let echoed = c_call(
        &static_program("ipcon_calc"),
        "c_calls_slow echo again 15000",
    )?;
    ensure_eq!(echoed, Ok("again".to_owned()), "the next call");
    Ok(())
}

/// The called peer (a Rust service process) is SIGKILLed with the C call
/// pending and no deadline: -EHOSTDOWN at once.
fn c_call_peer_sigkill() -> TestResult {
    let mut victim = Helper::start("serve", &["c_calls_victim"])?;
    victim.ready()?;
    let client = Helper::program(
        &static_program("ipcon_calc"),
        &["call", "c_calls_victim", "hang", "x"],
    )?;
    // Kill the service once the request is queued to it: killed before, the
    // call would find no such peer (-ENOENT) instead.
    wait_queued("c_calls_victim", 1)?;
    let killed = Instant::now();
    victim.kill();
    let line = client.expect("calc: ", LONG)?;
    let took = killed.elapsed();
    let result = parse_call(1, &format!("calc: {line}"))?;
    ensure_eq!(
        result.as_ref().map_err(|e| e.0),
        Err(EHOSTDOWN),
        "the call ends as peer gone: {line}"
    );
    ensure!(
        line.contains("the called peer is gone"),
        "ipcon_strerror's text: {line}"
    );
    // Without a deadline only the peer's end stops the call; the bound
    // catches a call that waits on, with room for a stalled guest.
    ensure!(took < LONG, "took {took:?} after SIGKILL");
    Ok(())
}

/// Waits until the kernel has queued at least `count` messages to `peer`
/// (its `rx_msgs`, counted when a message is queued), for at most [`LONG`].
fn wait_queued(peer: &str, count: u64) -> TestResult {
    let directory = Directory::open().ctx("open a directory")?;
    let deadline = Instant::now() + LONG;
    loop {
        let queued = directory.peer(peer).ctx(peer)?.rx_msgs;
        if queued >= count {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "{queued} of {count} messages queued to {peer} within {LONG:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// samples/c/ipcon_loop.c: a one-shot and a periodic timer, a pipe (an
/// external fd, readable then hung up), messages and a call, all from one
/// `ipcon_loop_wait`.
fn c_loop() -> TestResult {
    let mut looping = Helper::program(&static_program("ipcon_loop"), &["c_loop"])?;
    looping.expect("loop: ready c_loop", LONG)?;
    looping.expect("loop: once", LONG)?;
    // Every tick writes into the pipe, whose read end is in the loop.
    for n in 1..=2 {
        looping.expect(&format!("loop: tick {n}"), LONG)?;
        looping.expect("loop: pipe ", LONG)?;
    }
    let sender = Handler::anonymous().ctx("sender")?;
    sender
        .send_unicast("c_loop", b"hello loop")
        .ctx("send to the loop")?;
    let line = looping.expect("loop: message from ", LONG)?;
    ensure!(line.ends_with(": hello loop"), "{line}");
    let client = Client::new().ctx("client")?;
    let ticks = client
        .call("c_loop", "ticks", b"", Some(LONG))
        .ctx("call the loop's method")?;
    let ticks: u64 = String::from_utf8_lossy(&ticks).parse().ctx("ticks")?;
    ensure!(ticks >= 2, "ticks {ticks}");
    looping.expect("loop: served a call", LONG)?;
    sender.send_unicast("c_loop", b"close").ctx("close")?;
    looping.expect("loop: pipe hangup", LONG)?;
    // The timer goes on after the fd's removal.
    looping.expect("loop: tick ", LONG)?;
    sender.send_unicast("c_loop", b"quit").ctx("quit")?;
    ensure!(looping.wait(LONG)?.success(), "the loop exits 0 on quit");
    Ok(())
}

/// `ipcon_send_unicast_expect_uid` and `ipcon_join_group_expect_uid`: the
/// expected owner (root, this process) gets the message and the join; any
/// other uid is -EPERM and nothing is delivered or joined.
fn c_expect_uid() -> TestResult {
    let owner = ipcon_linux::PeerOptions::named("c_owned")
        .and_then(ipcon_linux::PeerOptions::open)
        .ctx("register c_owned")?;
    owner.register_group("news").ctx("register group")?;
    let run = |uid: u32| -> Result<(i32, i32), String> {
        let (code, out) = shell(&format!(
            "{} c_owned news {uid}",
            static_program("ipcon_c_owner")
        ))?;
        ensure_eq!(code, 0, "ipcon_c_owner exit ({out})");
        let value = |what: &str| -> Result<i32, String> {
            let line = out
                .lines()
                .find_map(|l| l.strip_prefix(what))
                .ctx(&format!("{what} in {out:?}"))?;
            line.split(' ').next().unwrap_or("").parse().ctx(what)
        };
        Ok((value("owner: send ")?, value("owner: join ")?))
    };
    ensure_eq!(run(4242)?, (-EPERM, -EPERM), "another owner than expected");
    let mut msg = ipcon_linux::Message::new();
    let nothing = owner.receive(
        &mut msg,
        ipcon_linux::Wait::Timeout(Duration::from_millis(200)),
    );
    ensure!(
        nothing.is_err(),
        "nothing was delivered on a mismatch: {:?}",
        msg.payload()
    );
    ensure_eq!(run(0)?, (0, 0), "the expected owner");
    crate::common::receive(&owner, &mut msg)?;
    ensure_eq!(
        msg.payload(),
        b"expected",
        "delivered to the expected owner"
    );
    Ok(())
}

/// A C handler used after `rmmod`: every call returns a negative errno (the
/// first request -ENODEV, as the Rust library's ModuleNotLoaded), a new
/// handler fails with ENODEV, nothing crashes; then the module is loaded
/// again as it was.
fn c_after_unload() -> TestResult {
    use crate::unload::{current_params, run_tool, MODULE};
    const ENODEV: i32 = 19;
    let params = current_params()?;
    let mut program = Helper::program(&static_program("ipcon_c_unload"), &[])?;
    program.expect("unload: ready", LONG)?;
    let code = run_tool("/bin/rmmod", &["ipcon".to_owned()])?;
    let mut insmod_args = vec![MODULE.to_owned()];
    insmod_args.extend(params);
    let checked = (|| -> TestResult {
        ensure_eq!(code, 0, "rmmod ipcon with a C handler live");
        for (what, expected) in [
            ("send", Some(-ENODEV)),
            // One system call that the kernel need not answer: may succeed.
            ("post", Some(i32::MAX)),
            // Once a request learnt the module is gone, the handler is
            // unregistered: -ENOTCONN (or -ENODEV) from then on.
            ("join", None),
            ("register", None),
            ("present", None),
            ("call", None),
            ("serve", None),
            ("rcv_nonblock", None),
            ("loop_add", Some(0)),
            ("loop_wait", None),
            ("create", Some(-ENODEV)),
        ] {
            let line = program.expect(&format!("unload: {what} "), LONG)?;
            let ret: i32 = line
                .split(' ')
                .next()
                .unwrap_or("")
                .parse()
                .ctx(&format!("{what}: {line}"))?;
            match expected {
                Some(i32::MAX) => ensure!(ret <= 0, "{what} after rmmod: {line}"),
                Some(value) => ensure_eq!(ret, value, "{what} after rmmod: {line}"),
                None => ensure!(ret < 0, "{what} after rmmod fails: {line}"),
            }
        }
        program.expect("unload: done", LONG)?;
        ensure!(program.wait(LONG)?.success(), "exit 0, no crash");
        Ok(())
    })();
    let code = run_tool("/bin/insmod", &insmod_args)?;
    ensure_eq!(code, 0, "insmod {insmod_args:?}");
    checked?;
    Handler::new("c_unload_back").ctx("a handler after the reload")?;
    Ok(())
}

/// A switch: a SOCK_SEQPACKET socket pair's end relayed to a Rust peer and
/// back, one message per datagram both ways.
fn c_loop_switch() -> TestResult {
    let far = ipcon_linux::PeerOptions::named("c_sw_far")
        .and_then(ipcon_linux::PeerOptions::open)
        .ctx("register c_sw_far")?;
    let looping = Helper::program(&static_program("ipcon_loop"), &["c_sw_loop", "c_sw_far"])?;
    looping.expect("loop: ready c_sw_loop", LONG)?;
    // The first tick writes "ping" into the pair: the switch sends it here.
    let mut msg = ipcon_linux::Message::new();
    crate::common::receive(&far, &mut msg)?;
    ensure_eq!(msg.payload(), b"ping", "relayed from the fd");
    ensure_eq!(
        msg.sender().name.map(|n| n.as_str().to_owned()),
        Some("c_sw_loop".to_owned()),
        "sent by the loop's handler"
    );
    let line = looping.expect("loop: switch rx ", LONG)?;
    ensure_eq!(line, "4 (ok)", "the rx event");
    for text in ["pong", "second"] {
        far.send_unicast("c_sw_loop", text.as_bytes())
            .ctx("send back")?;
        let line = looping.expect("loop: switch tx ", LONG)?;
        ensure_eq!(line, format!("{} (ok)", text.len()), "the tx event");
        let line = looping.expect("loop: switched back ", LONG)?;
        ensure_eq!(line, text, "one message, one datagram");
    }
    // Messages of other peers still come as messages.
    let other = Handler::anonymous().ctx("other")?;
    other.send_unicast("c_sw_loop", b"quit").ctx("quit")?;
    let mut looping = looping;
    ensure!(looping.wait(LONG)?.success(), "exit 0");
    Ok(())
}

/// tests/c/ipcon_c_switch.c: the C loop's switch on a real TCP connection
/// over the VM's loopback. Bytes written by the TCP client reach a Rust
/// peer from the switch's handler, the peer's messages come back on the
/// connection (one message, one write), and the client's close ends the
/// switch (a hang-up event).
fn c_loop_switch_tcp() -> TestResult {
    switch_tcp_to_peer(&static_program("ipcon_c_switch"))
}

/// [`c_loop_switch_tcp`] with `program`, a build of tests/c/ipcon_c_switch.c.
pub(crate) fn switch_tcp_to_peer(program: &str) -> TestResult {
    use std::io::Write;
    let far = ipcon_linux::PeerOptions::named("c_tcp_far")
        .and_then(ipcon_linux::PeerOptions::open)
        .ctx("register c_tcp_far")?;
    let mut program = Helper::program(program, &["c_tcp_switch", "c_tcp_far"])?;
    let mut tcp = connect_to_switch(&program)?;
    // TCP → peer: a stream, so the bytes may come in more than one message
    // (at most LIBIPCON_MAX_PAYLOAD_LEN bytes each: 5000 take three).
    let mut msg = ipcon_linux::Message::new();
    let long = alphabet_text(5000);
    for text in ["over tcp", long.as_str()] {
        tcp.write_all(text.as_bytes()).ctx("TCP write")?;
        let mut got = Vec::new();
        let mut relayed = 0;
        while got.len() < text.len() {
            crate::common::receive(&far, &mut msg)?;
            ensure_eq!(
                msg.sender().name.map(|n| n.as_str().to_owned()),
                Some("c_tcp_switch".to_owned()),
                "sent by the switch's handler"
            );
            got.extend_from_slice(msg.payload());
            let line = program.expect("switch: rx ", LONG)?;
            let (len, status) = line.split_once(' ').ctx("rx N (STATUS)")?;
            ensure_eq!(status, "(ok)", "the rx event: {line}");
            relayed += len.parse::<usize>().ctx("rx length")?;
        }
        ensure!(
            got == text.as_bytes(),
            "relayed from TCP: {} bytes, {:?}...",
            got.len(),
            String::from_utf8_lossy(&got[..got.len().min(40)])
        );
        ensure_eq!(relayed, text.len(), "bytes the rx events counted");
    }
    // Peer → TCP: each message is one write on the connection.
    // The largest message (LIBIPCON_MAX_PAYLOAD_LEN) too.
    for text in ["back over tcp", &"x".repeat(2048)] {
        unicast_to_tcp(&program, &mut tcp, &far, "c_tcp_switch", text)?;
    }
    hang_up(&mut program, tcp)
}

/// Connects over TCP to tests/c/ipcon_c_switch.c's listening port (the
/// line it prints) and waits until the program has its switch on the
/// connection.
fn connect_to_switch(program: &Helper) -> Result<std::net::TcpStream, String> {
    let port: u16 = program
        .expect("switch: listening ", LONG)?
        .parse()
        .ctx("the listening port")?;
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).ctx("connect over TCP")?;
    tcp.set_nodelay(true).ctx("TCP_NODELAY")?;
    tcp.set_read_timeout(Some(LONG)).ctx("read timeout")?;
    ensure_eq!(program.expect("switch: ", LONG)?, "accepted", "first event");
    Ok(tcp)
}

/// The client closes: the switch hangs up and the program exits 0.
fn hang_up(program: &mut Helper, tcp: std::net::TcpStream) -> TestResult {
    drop(tcp);
    program.expect("switch: hangup", LONG)?;
    ensure!(program.wait(LONG)?.success(), "exit 0 after the hang-up");
    Ok(())
}

/// `len` letters a to z, over and over: a text longer than one message.
fn alphabet_text(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect()
}

/// `sender`'s unicast of `text` to switch handler `to` comes out on `tcp`,
/// one tx event, whole.
fn unicast_to_tcp(
    program: &Helper,
    tcp: &mut std::net::TcpStream,
    sender: &Handler,
    to: &str,
    text: &str,
) -> TestResult {
    use std::io::Read;
    sender
        .send_unicast(to, text.as_bytes())
        .ctx("send to the switch")?;
    ensure_eq!(
        program.expect("switch: tx ", LONG)?,
        format!("{} (ok)", text.len()),
        "the tx event"
    );
    let mut back = vec![0; text.len()];
    tcp.read_exact(&mut back).ctx("TCP read")?;
    ensure!(back == text.as_bytes(), "written to TCP: {text:.40}");
    Ok(())
}

/// tests/c/ipcon_c_switch.c -g: the C loop's group switch on a real TCP
/// connection over the VM's loopback. The add-time failures (a group the
/// handler did not register, a bad fd, a NULL group, a second group switch)
/// come first; then what the TCP client writes reaches every subscriber of
/// the group, in order and whole (several messages, a maximum-size one
/// among them); unicasts to the switch's handler come out on TCP, except
/// those of the peer a peer switch on the same handler takes.
fn c_loop_switch_group() -> TestResult {
    switch_tcp_to_group(&static_program("ipcon_c_switch"))
}

/// [`c_loop_switch_group`] with `program`, a build of tests/c/ipcon_c_switch.c.
pub(crate) fn switch_tcp_to_group(program: &str) -> TestResult {
    use std::io::{Read, Write};
    const ENOENT: i32 = 2;
    const EINVAL: i32 = 22;
    const EBUSY: i32 = 16;
    let paired = ipcon_linux::PeerOptions::named("c_grp_paired")
        .and_then(ipcon_linux::PeerOptions::open)
        .ctx("register c_grp_paired")?;
    let mut program = Helper::program(
        program,
        &["-g", "c_grp_switch", "c_grp_news", "c_grp_paired"],
    )?;
    ensure_eq!(
        program.expect("switch: checks ", LONG)?,
        format!("unregistered=-{ENOENT} badfd=-{EINVAL} nullgroup=-{EINVAL}"),
        "the add-time failures"
    );
    // Two subscribers, one named, one anonymous.
    let named = ipcon_linux::PeerOptions::named("c_grp_sub")
        .and_then(ipcon_linux::PeerOptions::open)
        .ctx("register c_grp_sub")?;
    let anonymous = Handler::anonymous().ctx("anonymous subscriber")?;
    for sub in [&named, &anonymous] {
        sub.join_group("c_grp_switch", "c_grp_news", ipcon_linux::Replay::Skip)
            .ctx("join c_grp_switch/c_grp_news")?;
    }
    let mut tcp = connect_to_switch(&program)?;
    ensure_eq!(
        program.expect("switch: second group switch=", LONG)?,
        format!("-{EBUSY}"),
        "one group switch per handler"
    );
    // TCP → group: a stream, so a text may come in more than one message;
    // each is written after the last one's bytes arrived, so the messages
    // of one text carry it alone, and the subscribers see all, in order.
    let max = "m".repeat(2048);
    let long = alphabet_text(5000);
    let texts = ["first", "second", "third", max.as_str(), "after max", &long];
    let mut msg = ipcon_linux::Message::new();
    for text in texts {
        tcp.write_all(text.as_bytes()).ctx("TCP write")?;
        let mut relayed = 0;
        for (who, sub) in [("named", &named), ("anonymous", &anonymous)] {
            let mut got = Vec::new();
            while got.len() < text.len() {
                crate::common::receive(sub, &mut msg)?;
                ensure_eq!(
                    msg.kind(),
                    ipcon_linux::MessageKind::Group,
                    "{who}: a group message"
                );
                ensure_eq!(
                    msg.group().map(|g| g.as_str().to_owned()),
                    Some("c_grp_news".to_owned()),
                    "{who}: of the switch's group"
                );
                ensure_eq!(
                    msg.sender().name.map(|n| n.as_str().to_owned()),
                    Some("c_grp_switch".to_owned()),
                    "{who}: sent by the switch's handler"
                );
                got.extend_from_slice(msg.payload());
            }
            ensure!(
                got == text.as_bytes(),
                "{who}: relayed from TCP: {} bytes, {:?}...",
                got.len(),
                String::from_utf8_lossy(&got[..got.len().min(40)])
            );
        }
        while relayed < text.len() {
            let line = program.expect("switch: rx ", LONG)?;
            let (len, status) = line.split_once(' ').ctx("rx N (STATUS)")?;
            ensure_eq!(status, "(ok)", "the rx event: {line}");
            relayed += len.parse::<usize>().ctx("rx length")?;
        }
        ensure_eq!(relayed, text.len(), "bytes the rx events counted");
    }
    crate::common::expect_silence(&named, "nothing more for the group")?;
    // Unicasts to the switch's handler → TCP, one write each, from any
    // peer (a maximum-size one too).
    for (sender, text) in [
        (&named, "back over tcp"),
        (&anonymous, "from anyone"),
        (&named, max.as_str()),
    ] {
        unicast_to_tcp(&program, &mut tcp, sender, "c_grp_switch", text)?;
    }
    // The peer a peer switch takes: its unicast goes to that switch's fd,
    // not to TCP.
    paired
        .send_unicast("c_grp_switch", b"to the pair")
        .ctx("send from c_grp_paired")?;
    ensure_eq!(
        program.expect("switch: peer tx ", LONG)?,
        "11 (ok)",
        "the peer switch's tx event"
    );
    ensure_eq!(
        program.expect("switch: pair ", LONG)?,
        "to the pair",
        "came out of the peer switch"
    );
    tcp.set_nonblocking(true).ctx("non-blocking")?;
    let mut stray = [0u8; 64];
    match tcp.read(&mut stray) {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => return Err(format!("nothing more on TCP, got {other:?}")),
    }
    hang_up(&mut program, tcp)
}
