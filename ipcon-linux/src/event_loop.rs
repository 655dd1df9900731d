//! The event loop: one [`EventLoop::wait`] that reports, one event at a
//! time, what happened on ipcon handlers (messages, kernel events, failed
//! posts), timers, foreign descriptors (readable, writable, hung up: libIPC's
//! EXTERNAL), signals, and switches that relay between a descriptor and a peer
//! or group (libIPC's SWITCH_RX/TX); services added to it are served inside
//! `wait`.
//!
//! Built on rustix's `epoll` and `timerfd` (already the engine's system call
//! crate, and usable without `std`), not on calloop, polling or mio: those
//! need `std` (and mio brings libc), while the loop's primitives must also
//! serve `libipcon`, which links no Rust standard library; and the whole loop
//! is a few hundred lines over three system calls.

use core::time::Duration;
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::vec::Vec;

use ipcon_core::spec::MAX_PAYLOAD_LEN;
use ipcon_core::wire::ipcon::PeerRef;
use ipcon_core::{Message, MessageKind, Name};
use rustix::event::epoll;
use rustix::time::{Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec};

use crate::clock::Wait;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::service::Service;

/// Names a source added to an [`EventLoop`]; events carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub usize);

/// What a foreign descriptor is watched for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interest {
    /// Readable (and hang-up).
    Read,
    /// Writable (and hang-up).
    Write,
    /// Both.
    ReadWrite,
}

/// Where a switch relays what it reads from its descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchTarget {
    /// Unicasts to this peer; unicasts from it are written to the descriptor.
    Peer(PeerRef),
    /// Multicasts to this group of the switch's handler (registered by it);
    /// unicasts to the switch's handler are written to the descriptor.
    Group(Name),
}

/// One event of [`EventLoop::wait`].
#[derive(Debug)]
pub enum Event<'a> {
    /// A handler received a message (a unicast, group message, kernel event
    /// or failed post: [`Message::kind`]).
    Message {
        /// The handler.
        token: Token,
        /// What arrived (valid until the next `wait`).
        message: &'a Message,
    },
    /// A timer fired `expirations` times since it was last reported.
    Timer {
        /// The timer.
        token: Token,
        /// Expirations (more than 1 when the loop was late).
        expirations: u64,
    },
    /// A foreign descriptor is readable (libIPC's EXTERNAL): read it.
    Readable {
        /// The descriptor's source.
        token: Token,
    },
    /// A foreign descriptor is writable.
    Writable {
        /// The descriptor's source.
        token: Token,
    },
    /// A foreign descriptor hung up (or failed); the loop stopped watching it.
    HangUp {
        /// The descriptor's source.
        token: Token,
    },
    /// A signal arrived (one event per arrival the loop saw; arrivals of one
    /// signal between two waits may merge).
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// A switch relayed `bytes` read from its descriptor to its peer or group
    /// (libIPC's SWITCH_RX).
    SwitchRx {
        /// The switch.
        token: Token,
        /// Bytes relayed (one message).
        bytes: usize,
    },
    /// A switch wrote a message of `bytes` to its descriptor (SWITCH_TX).
    SwitchTx {
        /// The switch.
        token: Token,
        /// Bytes written.
        bytes: usize,
    },
    /// A switch's descriptor reached its end or failed: the switch is
    /// removed (its descriptor closed, its handler dropped).
    SwitchClosed {
        /// The switch.
        token: Token,
    },
}

struct Switch {
    fd: OwnedFd,
    handler: Arc<Handler>,
    target: SwitchTarget,
}

enum Source {
    Handler(Arc<Handler>),
    Service(Service),
    Timer(OwnedFd),
    Foreign(RawFd),
    /// The descriptor side of a switch.
    SwitchFd(Switch),
    /// The ipcon side of switch `Token` (its handler's data socket).
    SwitchPeer(Token),
    Signals {
        read: OwnedFd,
        ids: Vec<signal_hook_registry::SigId>,
    },
}

/// A libIPC-style loop over ipcon handlers, services, timers, foreign
/// descriptors, signals and switches. Single-threaded: one thread waits.
///
/// ```no_run
/// use std::time::Duration;
/// use ipcon_linux::{Event, EventLoop, Handler};
///
/// let mut ev = EventLoop::new()?;
/// let peer = ev.add_handler(Handler::new("looper")?.into())?;
/// let tick = ev.add_timer(Duration::from_secs(1), true)?;
/// loop {
///     match ev.wait(None)? {
///         Event::Message { message, .. } => println!("{:?}", message.payload_str()),
///         Event::Timer { token, .. } if token == tick => println!("tick"),
///         other => println!("{other:?}"),
///     }
/// }
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
pub struct EventLoop {
    epoll: OwnedFd,
    sources: Vec<Option<Source>>,
    /// Ready sources not handled yet: (token, epoll flags).
    ready: VecDeque<(usize, epoll::EventFlags)>,
    message: Box<Message>,
    buf: Box<[u8; MAX_PAYLOAD_LEN]>,
    signals: Option<Token>,
    signal_write: Option<Arc<OwnedFd>>,
}

impl core::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EventLoop")
            .field("sources", &self.sources.iter().flatten().count())
            .finish()
    }
}

fn os(operation: &'static str) -> impl Fn(rustix::io::Errno) -> Error {
    move |e| Error::from_os(operation, e)
}

fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(d.subsec_nanos()),
    }
}

/// Writes all of `bytes` to `fd`, waiting for room when it is non-blocking.
fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> rustix::io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::AGAIN) => {
                let mut poll = [rustix::event::PollFd::new(
                    &fd,
                    rustix::event::PollFlags::OUT,
                )];
                rustix::event::poll(&mut poll, None)?;
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl EventLoop {
    /// An empty loop.
    pub fn new() -> Result<Self> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC).map_err(os("create event loop"))?;
        Ok(Self {
            epoll,
            sources: Vec::new(),
            ready: VecDeque::new(),
            message: Box::new(Message::new()),
            buf: Box::new([0; MAX_PAYLOAD_LEN]),
            signals: None,
            signal_write: None,
        })
    }

    /// Registers `fd` under a free slot and returns the slot; the caller
    /// fills it at once.
    fn register(&mut self, fd: BorrowedFd<'_>, flags: epoll::EventFlags) -> Result<usize> {
        let index = match self.sources.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                self.sources.push(None);
                self.sources.len() - 1
            }
        };
        epoll::add(
            &self.epoll,
            fd,
            epoll::EventData::new_u64(index as u64),
            flags,
        )
        .map_err(os("add to event loop"))?;
        Ok(index)
    }

    fn add(
        &mut self,
        fd: BorrowedFd<'_>,
        flags: epoll::EventFlags,
        source: Source,
    ) -> Result<Token> {
        let index = self.register(fd, flags)?;
        self.sources[index] = Some(source);
        Ok(Token(index))
    }

    /// Watches `handler`: its messages come as [`Event::Message`].
    pub fn add_handler(&mut self, handler: Arc<Handler>) -> Result<Token> {
        let index = self.register(handler.as_fd(), epoll::EventFlags::IN)?;
        self.sources[index] = Some(Source::Handler(handler));
        Ok(Token(index))
    }

    /// Serves `service` inside [`EventLoop::wait`] (its methods run on the
    /// loop's thread; no event is reported for the requests).
    pub fn add_service(&mut self, service: Service) -> Result<Token> {
        let index = self.register(service.handler().as_fd(), epoll::EventFlags::IN)?;
        self.sources[index] = Some(Source::Service(service));
        Ok(Token(index))
    }

    /// A timer (`CLOCK_MONOTONIC` timerfd) firing after `after`, and then
    /// every `after` if `periodic`.
    pub fn add_timer(&mut self, after: Duration, periodic: bool) -> Result<Token> {
        let fd = rustix::time::timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK,
        )
        .map_err(os("create timer"))?;
        // A zero it_value disarms: fire at once instead.
        let first = after.max(Duration::from_nanos(1));
        let spec = Itimerspec {
            it_interval: timespec(if periodic { first } else { Duration::ZERO }),
            it_value: timespec(first),
        };
        rustix::time::timerfd_settime(&fd, TimerfdTimerFlags::empty(), &spec)
            .map_err(os("set timer"))?;
        let index = self.register(fd.as_fd(), epoll::EventFlags::IN)?;
        self.sources[index] = Some(Source::Timer(fd));
        Ok(Token(index))
    }

    /// Watches a descriptor the caller owns and keeps open until it removes
    /// it ([`EventLoop::remove`]) or the loop reports [`Event::HangUp`].
    /// Level-triggered: a readable descriptor is reported again until read.
    pub fn add_fd(&mut self, fd: BorrowedFd<'_>, interest: Interest) -> Result<Token> {
        let flags = epoll::EventFlags::RDHUP
            | match interest {
                Interest::Read => epoll::EventFlags::IN,
                Interest::Write => epoll::EventFlags::OUT,
                Interest::ReadWrite => epoll::EventFlags::IN | epoll::EventFlags::OUT,
            };
        self.add(fd, flags, Source::Foreign(fd.as_raw_fd()))
    }

    /// Reports `signal` as [`Event::Signal`] (its handler writes the signal
    /// number to a pipe the loop watches; other handlers of the signal still
    /// run, and its default action no longer does).
    pub fn add_signal(&mut self, signal: i32) -> Result<()> {
        if self.signals.is_none() {
            let (read, write) = rustix::pipe::pipe_with(
                rustix::pipe::PipeFlags::CLOEXEC | rustix::pipe::PipeFlags::NONBLOCK,
            )
            .map_err(os("create signal pipe"))?;
            let index = self.register(read.as_fd(), epoll::EventFlags::IN)?;
            self.sources[index] = Some(Source::Signals {
                read,
                ids: Vec::new(),
            });
            self.signals = Some(Token(index));
            self.signal_write = Some(Arc::new(write));
        }
        let (Some(Token(index)), Some(write)) = (self.signals, self.signal_write.clone()) else {
            return Err(Error::new("add signal", ErrorKind::Os));
        };
        let invalid = || Error::from_errno("add signal", linux_raw_sys::errno::EINVAL as i32);
        let byte = u8::try_from(signal).map_err(|_| invalid())?;
        let id = crate::sys::on_signal_with(signal, move || {
            // write(2) is async-signal-safe; a full pipe already says the
            // signal is pending.
            let _ = rustix::io::write(&*write, &[byte]);
        })
        .map_err(|_| invalid())?;
        if let Some(Source::Signals { ids, .. }) = self.sources[index].as_mut() {
            ids.push(id);
        }
        Ok(())
    }

    /// Relays between `fd` (a stream: a TCP connection, a pipe, a terminal)
    /// and `target`, through `handler`. Framing: what one read(2) of `fd`
    /// returns (at most 2048 bytes, the protocol's payload maximum) becomes
    /// one message, in order — a stream's byte order is kept, its chunking
    /// is whatever read returned; each message for the switch is written to
    /// `fd` whole, in order, with nothing added. The switch owns `fd` and
    /// `handler` (a handler of its own: every message it receives is
    /// relayed, after the [`SwitchTarget`]'s filter).
    pub fn add_switch(
        &mut self,
        fd: OwnedFd,
        handler: Arc<Handler>,
        target: SwitchTarget,
    ) -> Result<Token> {
        let index = self.register(fd.as_fd(), epoll::EventFlags::IN | epoll::EventFlags::RDHUP)?;
        let token = Token(index);
        // The slot is filled before the next registration looks for a free one.
        self.sources[index] = Some(Source::SwitchFd(Switch {
            fd,
            handler: Arc::clone(&handler),
            target,
        }));
        match self.register(handler.as_fd(), epoll::EventFlags::IN) {
            Ok(peer) => {
                self.sources[peer] = Some(Source::SwitchPeer(token));
                Ok(token)
            }
            Err(e) => {
                self.remove(token);
                Err(e)
            }
        }
    }

    /// Stops watching `token`'s source (a switch: both sides; its descriptor
    /// is closed). Returns whether there was one.
    pub fn remove(&mut self, token: Token) -> bool {
        let Some(source) = self.sources.get_mut(token.0).and_then(Option::take) else {
            return false;
        };
        self.ready.retain(|(i, _)| *i != token.0);
        let fd = match &source {
            Source::Handler(h) => h.as_raw_fd(),
            Source::Service(s) => s.handler().as_raw_fd(),
            Source::Timer(fd) => fd.as_raw_fd(),
            Source::Foreign(fd) => *fd,
            Source::SwitchFd(s) => {
                if let Some(peer) = self
                    .sources
                    .iter()
                    .position(|s| matches!(s, Some(Source::SwitchPeer(t)) if *t == token))
                {
                    self.sources[peer] = None;
                    self.ready.retain(|(i, _)| *i != peer);
                    let data = s.handler.as_raw_fd();
                    let _ = epoll::delete(&self.epoll, crate::sys::borrow_fd(&*s.handler, data));
                }
                s.fd.as_raw_fd()
            }
            Source::SwitchPeer(_) => return true,
            Source::Signals { read, .. } => read.as_raw_fd(),
        };
        let _ = epoll::delete(&self.epoll, crate::sys::borrow_fd(&source, fd));
        true
    }

    /// Waits for the next event, at most `timeout` (`None`: forever);
    /// [`ErrorKind::Timeout`] when none came in time.
    pub fn wait(&mut self, timeout: Option<Duration>) -> Result<Event<'_>> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            while let Some((index, flags)) = self.ready.pop_front() {
                if let Some(found) = self.handle(index, flags)? {
                    return self.event(found);
                }
            }
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            if left == Some(Duration::ZERO) && timeout != Some(Duration::ZERO) {
                return Err(Error::new("wait for events", ErrorKind::Timeout));
            }
            let mut events = [epoll::Event {
                flags: epoll::EventFlags::empty(),
                data: epoll::EventData::new_u64(0),
            }; 32];
            let spec = left.map(timespec);
            let n = match epoll::wait(&self.epoll, &mut events[..], spec.as_ref()) {
                Ok(ready) => ready,
                Err(rustix::io::Errno::INTR) => 0,
                Err(e) => return Err(Error::from_os("wait for events", e)),
            };
            for event in &events[..n] {
                let index = usize::try_from(event.data.u64()).unwrap_or(usize::MAX);
                self.ready.push_back((index, event.flags));
            }
            if n == 0 && left.is_some() && timeout == Some(Duration::ZERO) {
                return Err(Error::new("wait for events", ErrorKind::Timeout));
            }
        }
    }

    /// Turns a handled source into its event (borrowing the loop's message).
    fn event(&self, found: Found) -> Result<Event<'_>> {
        Ok(match found {
            Found::Message(token) => Event::Message {
                token,
                message: &self.message,
            },
            Found::Event(event) => event,
        })
    }

    /// Handles one ready source; `None` when there is nothing to report.
    fn handle(&mut self, index: usize, flags: epoll::EventFlags) -> Result<Option<Found>> {
        let token = Token(index);
        let hang_up = flags
            .intersects(epoll::EventFlags::HUP | epoll::EventFlags::ERR | epoll::EventFlags::RDHUP);
        let Some(source) = self.sources.get(index).and_then(Option::as_ref) else {
            return Ok(None);
        };
        match source {
            Source::Handler(handler) => match handler.receive(&mut self.message, Wait::Never) {
                Ok(()) => {
                    // More may be queued: look again before sleeping.
                    self.ready.push_back((index, flags));
                    Ok(Some(Found::Message(token)))
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
                Err(e) => Err(e),
            },
            Source::Service(service) => match service.serve_ready(Wait::Never) {
                Ok(()) => {
                    self.ready.push_back((index, flags));
                    Ok(None)
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
                Err(e) => Err(e),
            },
            Source::Timer(fd) => {
                let mut count = [0u8; 8];
                match rustix::io::read(fd, &mut count) {
                    Ok(8) => Ok(Some(Found::Event(Event::Timer {
                        token,
                        expirations: u64::from_ne_bytes(count),
                    }))),
                    _ => Ok(None),
                }
            }
            Source::Foreign(_) => {
                // Readable first (the data before a hang-up), then the rest.
                let rest = flags & !epoll::EventFlags::IN;
                if flags.contains(epoll::EventFlags::IN) {
                    if !rest.is_empty() {
                        self.ready.push_back((index, rest));
                    }
                    return Ok(Some(Found::Event(Event::Readable { token })));
                }
                if hang_up {
                    self.remove(token);
                    return Ok(Some(Found::Event(Event::HangUp { token })));
                }
                if flags.contains(epoll::EventFlags::OUT) {
                    return Ok(Some(Found::Event(Event::Writable { token })));
                }
                Ok(None)
            }
            Source::Signals { read, .. } => {
                let mut byte = [0u8; 1];
                match rustix::io::read(read, &mut byte) {
                    Ok(1) => {
                        self.ready.push_back((index, flags));
                        Ok(Some(Found::Event(Event::Signal {
                            signal: i32::from(byte[0]),
                        })))
                    }
                    _ => Ok(None),
                }
            }
            Source::SwitchFd(switch) => {
                let got = match rustix::io::read(&switch.fd, &mut self.buf[..]) {
                    Ok(0) => None,
                    Ok(n) => Some(n),
                    Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return Ok(None),
                    Err(_) => None,
                };
                let Some(n) = got else {
                    self.remove(token);
                    return Ok(Some(Found::Event(Event::SwitchClosed { token })));
                };
                let payload = &self.buf[..n];
                let sent = match switch.target {
                    SwitchTarget::Peer(to) => switch.handler.post_to(to, payload).map(drop),
                    SwitchTarget::Group(group) => {
                        switch.handler.send_multicast(group.as_str(), payload)
                    }
                };
                sent.map_err(|e| e.in_operation("switch"))?;
                Ok(Some(Found::Event(Event::SwitchRx { token, bytes: n })))
            }
            Source::SwitchPeer(switch_token) => {
                let switch_token = *switch_token;
                let Some(Source::SwitchFd(switch)) =
                    self.sources.get(switch_token.0).and_then(Option::as_ref)
                else {
                    return Ok(None);
                };
                match switch.handler.receive(&mut self.message, Wait::Never) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                    Err(e) => return Err(e),
                }
                self.ready.push_back((index, flags));
                let from_target = match switch.target {
                    SwitchTarget::Peer(PeerRef::Port(port)) => self.message.sender().port == port,
                    SwitchTarget::Peer(PeerRef::Name(name)) => {
                        self.message.sender().name == Some(name)
                    }
                    SwitchTarget::Group(_) => true,
                };
                if self.message.kind() != MessageKind::Unicast || !from_target {
                    return Ok(None);
                }
                let payload = self.message.payload();
                match write_all(switch.fd.as_fd(), payload) {
                    Ok(()) => Ok(Some(Found::Event(Event::SwitchTx {
                        token: switch_token,
                        bytes: payload.len(),
                    }))),
                    Err(_) => {
                        self.remove(switch_token);
                        Ok(Some(Found::Event(Event::SwitchClosed {
                            token: switch_token,
                        })))
                    }
                }
            }
        }
    }
}

/// What handling a source found.
enum Found {
    Message(Token),
    Event(Event<'static>),
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        for source in self.sources.iter().flatten() {
            if let Source::Signals { ids, .. } = source {
                for id in ids {
                    signal_hook_registry::unregister(*id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn timers_fire_once_or_periodically() {
        let mut ev = EventLoop::new().unwrap();
        let once = ev.add_timer(Duration::from_millis(5), false).unwrap();
        let tick = ev.add_timer(Duration::from_millis(2), true).unwrap();
        let (mut once_fired, mut ticks) = (0, 0);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(50) {
            match ev.wait(Some(Duration::from_millis(20))) {
                Ok(Event::Timer { token, .. }) if token == once => once_fired += 1,
                Ok(Event::Timer { token, expirations }) if token == tick => ticks += expirations,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => assert_eq!(e.kind(), ErrorKind::Timeout),
            }
        }
        assert_eq!(once_fired, 1);
        assert!(ticks >= 10, "{ticks} ticks of 2 ms in 50 ms");
        assert!(ev.remove(tick));
        assert!(!ev.remove(tick));
    }

    #[test]
    fn a_foreign_fd_reports_data_then_its_hang_up() {
        let mut ev = EventLoop::new().unwrap();
        let (reader, mut writer) = UnixStream::pair().unwrap();
        let token = ev.add_fd(reader.as_fd(), Interest::Read).unwrap();
        assert_eq!(
            ev.wait(Some(Duration::ZERO)).unwrap_err().kind(),
            ErrorKind::Timeout
        );
        writer.write_all(b"x").unwrap();
        drop(writer);
        let first = ev.wait(Some(Duration::from_secs(1))).unwrap();
        assert!(
            matches!(first, Event::Readable { token: t } if t == token),
            "{first:?}"
        );
        let second = ev.wait(Some(Duration::from_secs(1))).unwrap();
        assert!(
            matches!(second, Event::HangUp { token: t } if t == token),
            "{second:?}"
        );
        assert!(!ev.remove(token), "a hung-up fd is no longer watched");
    }
}
