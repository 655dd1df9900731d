//! The event loop: ipcon messages and services next to timers, foreign
//! descriptors (and their hang-up), signals, and a switch carrying TCP
//! traffic (loopback) to a group and back.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipcon_linux::{
    Client, ErrorKind, Event, EventLoop, Handler, Interest, Message, MessageKind, Name, Replay,
    SwitchTarget, Wait,
};

use crate::harness::{note, shell, Context, Test, TestResult};
use crate::{ensure, ensure_eq};

pub const TESTS: &[Test] = &[
    Test::new(
        "loop_messages_timers_and_services",
        messages_timers_services,
    )
    .timeout(60),
    Test::new("loop_foreign_fd_hang_up", foreign_fd_hang_up),
    Test::new("loop_signal", signal),
    Test::new("loop_switch_tcp_to_group", switch_tcp_to_group).timeout(60),
];

const SOON: Option<Duration> = Some(Duration::from_secs(5));

fn messages_timers_services() -> TestResult {
    let mut ev = EventLoop::new().ctx("loop")?;
    let peer = Arc::new(Handler::new("loop_peer").ctx("peer")?);
    let peer_token = ev.add_handler(Arc::clone(&peer)).ctx("add handler")?;
    let service = crate::calls::test_service("loop_srv")?;
    ev.add_service(service).ctx("add service")?;
    let once = ev
        .add_timer(Duration::from_millis(30), false)
        .ctx("timer")?;
    // The periodic timer's expirations are counted from here.
    let armed = Instant::now();
    let tick = ev
        .add_timer(Duration::from_millis(10), true)
        .ctx("periodic")?;
    // A sender floods the peer and a client calls the service from threads
    // while the loop runs: timers must keep firing.
    let flood = std::thread::spawn(|| -> Result<u32, String> {
        let sender = Handler::anonymous().map_err(|e| e.to_string())?;
        let mut sent = 0;
        for i in 0..300 {
            match sender.send_unicast("loop_peer", format!("m{i}").as_bytes()) {
                Ok(()) => sent += 1,
                Err(e) if e.kind() == ErrorKind::QueueFull => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(sent)
    });
    let caller = std::thread::spawn(|| -> Result<Vec<u8>, String> {
        let client = Client::new().map_err(|e| e.to_string())?;
        client
            .call("loop_srv", "echo", b"via loop", SOON)
            .map_err(|e| e.to_string())
    });
    let (mut flood, mut sent) = (Some(flood), None);
    let start = Instant::now();
    let (mut messages, mut ticks, mut once_fired) = (0u32, 0u64, 0);
    // At least 600 ms, then until the flood is over and the queue drained.
    loop {
        let quiet = match ev.wait(Some(Duration::from_millis(200))) {
            Ok(Event::Message { token, message }) => {
                ensure_eq!(token, peer_token, "message token");
                ensure_eq!(message.kind(), MessageKind::Unicast, "message kind");
                messages += 1;
                false
            }
            Ok(Event::Timer { token, expirations }) if token == tick => {
                ticks += expirations;
                false
            }
            Ok(Event::Timer { token, .. }) if token == once => {
                once_fired += 1;
                false
            }
            Ok(other) => return Err(format!("unexpected {other:?}")),
            Err(e) if e.kind() == ErrorKind::Timeout => true,
            Err(e) => return Err(e.to_string()),
        };
        let elapsed = start.elapsed();
        ensure!(
            elapsed < Duration::from_secs(30),
            "the loop never went quiet"
        );
        if sent.is_none() && flood.as_ref().is_some_and(|f| f.is_finished()) {
            let done = flood.take().ok_or("flood")?.join();
            sent = Some(done.map_err(|_| "flood panicked")??);
        }
        if elapsed >= Duration::from_millis(600) && sent == Some(messages) && caller.is_finished() {
            break;
        }
        ensure!(
            !quiet || sent.is_none() || sent == Some(messages),
            "messages lost"
        );
    }
    let sent = sent.unwrap_or(0);
    let elapsed = armed.elapsed();
    let reply = caller.join().map_err(|_| "caller panicked")??;
    ensure_eq!(
        reply,
        b"via loop".to_vec(),
        "the service's reply through the loop"
    );
    ensure_eq!(messages, sent, "messages received through the loop");
    ensure_eq!(once_fired, 1, "one-shot timer");
    let expected = elapsed.as_millis() as u64 / 10;
    ensure!(
        ticks + 25 >= expected && ticks <= expected + 1,
        "periodic timer: {ticks} expirations in {elapsed:?}"
    );
    note(&format!(
        "loop: {messages} messages, {ticks} ticks of 10 ms in {elapsed:?}"
    ));
    Ok(())
}

fn foreign_fd_hang_up() -> TestResult {
    let mut ev = EventLoop::new().ctx("loop")?;
    let (mut reader, writer) = std::os::unix::net::UnixStream::pair().ctx("socketpair")?;
    let token = ev.add_fd(reader.as_fd(), Interest::Read).ctx("add fd")?;
    (&writer).write_all(b"x").ctx("write")?;
    match ev.wait(SOON).ctx("wait")? {
        Event::Readable { token: t } => ensure_eq!(t, token, "token"),
        other => return Err(format!("expected readable, got {other:?}")),
    }
    let mut byte = [0u8; 1];
    reader.read_exact(&mut byte).ctx("read")?;
    drop(writer);
    let start = Instant::now();
    loop {
        match ev.wait(SOON).ctx("wait for the hang-up")? {
            Event::HangUp { token: t } => {
                ensure_eq!(t, token, "token");
                break;
            }
            Event::Readable { .. } => {
                // End of file is readable too: read it.
                let _ = reader.read(&mut byte);
            }
            other => return Err(format!("expected hang-up, got {other:?}")),
        }
        ensure!(start.elapsed() < Duration::from_secs(2), "no hang-up");
    }
    // No longer watched: nothing more comes.
    let err = ev.wait(Some(Duration::from_millis(100))).unwrap_err();
    ensure_eq!(err.kind(), ErrorKind::Timeout, "after the hang-up");
    let writable = ev
        .add_fd(reader.as_fd(), Interest::Write)
        .ctx("add for write")?;
    match ev.wait(SOON).ctx("wait writable")? {
        Event::Writable { token } | Event::HangUp { token } => {
            ensure_eq!(token, writable, "token")
        }
        other => return Err(format!("expected writable, got {other:?}")),
    }
    Ok(())
}

fn signal() -> TestResult {
    let mut ev = EventLoop::new().ctx("loop")?;
    ev.add_signal(libc::SIGUSR1).ctx("add signal")?;
    let (code, out) = shell(&format!("kill -USR1 {}", std::process::id()))?;
    ensure_eq!(code, 0, "kill: {out}");
    match ev.wait(SOON).ctx("wait")? {
        Event::Signal { signal } => ensure_eq!(signal, libc::SIGUSR1, "signal"),
        other => return Err(format!("expected a signal, got {other:?}")),
    }
    Ok(())
}

fn loopback_listener() -> Result<TcpListener, String> {
    if let Ok(listener) = TcpListener::bind("127.0.0.1:0") {
        return Ok(listener);
    }
    let _ = shell("ip link set lo up || ifconfig lo 127.0.0.1 up");
    TcpListener::bind("127.0.0.1:0").ctx("listen on loopback")
}

fn switch_tcp_to_group() -> TestResult {
    let listener = loopback_listener()?;
    let address = listener.local_addr().ctx("address")?;
    let mut tcp_client = TcpStream::connect(address).ctx("connect")?;
    let (accepted, _) = listener.accept().ctx("accept")?;
    let switch_peer = Arc::new(Handler::new("loop_switch").ctx("switch peer")?);
    switch_peer.register_group("tcp_in").ctx("group")?;
    let subscriber = Handler::anonymous().ctx("subscriber")?;
    subscriber
        .join_group("loop_switch", "tcp_in", Replay::Skip)
        .ctx("join")?;
    let mut ev = EventLoop::new().ctx("loop")?;
    let token = ev
        .add_switch(
            OwnedFd::from(accepted),
            switch_peer,
            SwitchTarget::Group(Name::new("tcp_in").ctx("name")?),
        )
        .ctx("add switch")?;
    // TCP → group.
    tcp_client.write_all(b"hello over tcp").ctx("tcp write")?;
    let mut relayed = 0;
    while relayed < 14 {
        match ev.wait(SOON).ctx("wait rx")? {
            Event::SwitchRx { token: t, bytes } if t == token => relayed += bytes,
            other => return Err(format!("expected switch rx, got {other:?}")),
        }
    }
    let mut msg = Message::new();
    let mut got = Vec::new();
    while got.len() < 14 {
        subscriber
            .receive(&mut msg, Wait::Timeout(Duration::from_secs(5)))
            .ctx("subscriber receive")?;
        ensure_eq!(msg.kind(), MessageKind::Group, "kind");
        got.extend_from_slice(msg.payload());
    }
    ensure_eq!(got, b"hello over tcp".to_vec(), "group payload");
    // A unicast to the switch's peer → TCP.
    let answer = Handler::anonymous().ctx("answerer")?;
    answer
        .send_unicast("loop_switch", b"back to tcp")
        .ctx("unicast to switch")?;
    match ev.wait(SOON).ctx("wait tx")? {
        Event::SwitchTx { token: t, bytes } => {
            ensure_eq!((t, bytes), (token, 11), "switch tx")
        }
        other => return Err(format!("expected switch tx, got {other:?}")),
    }
    let mut back = [0u8; 11];
    tcp_client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .ctx("timeout")?;
    tcp_client.read_exact(&mut back).ctx("tcp read")?;
    ensure_eq!(&back, b"back to tcp", "tcp payload");
    // The TCP side closes: the switch ends.
    drop(tcp_client);
    match ev.wait(SOON).ctx("wait close")? {
        Event::SwitchClosed { token: t } => ensure_eq!(t, token, "closed switch"),
        other => return Err(format!("expected switch closed, got {other:?}")),
    }
    Ok(())
}
