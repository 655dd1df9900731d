//! Services: the serving side of calls. Methods by name, each a handler that
//! gets the request and a [`Responder`] it may move to any thread; requests
//! dispatched on the receiving thread or on N worker threads (the Generic IPC
//! server); the list of methods for introspection.

use core::time::Duration;
use std::boxed::Box;
use std::string::String;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver as Queue, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use std::vec::Vec;

use ipcon_core::spec::{CallStatus, MAX_PAYLOAD_LEN};
use ipcon_core::wire::call::{CallPacket, CallRepr};
use ipcon_core::wire::ipcon::{Delivery, PeerRef, Sender};
use ipcon_core::Name;

use crate::call::LIST_METHODS;
use crate::clock::Wait;
use crate::error::{Error, Result};
use crate::handler::Handler;

/// What a method gets: who called, which call, the arguments.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The caller, as the kernel stamped it.
    pub sender: Sender,
    /// The method called.
    pub method: Name,
    /// The arguments.
    pub payload: &'a [u8],
    /// The call id (the reply carries it back).
    pub id: u32,
    /// When the caller stops waiting (`None`: no limit), measured from the
    /// request's arrival.
    pub deadline: Option<Instant>,
}

type MethodFn = dyn Fn(&Request<'_>, Responder) + Send + Sync;

struct Method {
    name: Name,
    summary: String,
    run: Box<MethodFn>,
}

/// What a [`Service`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    /// Requests handed to a method (the built-in list included).
    pub dispatched: u64,
    /// Replies sent.
    pub replied: u64,
    /// Requests for a method the service does not have (answered
    /// `unknown-method`).
    pub unknown_method: u64,
    /// Requests that did not parse (answered `bad-request` when the call id
    /// was readable).
    pub bad_requests: u64,
    /// Requests refused because every worker was busy and the queue full
    /// (answered `busy`).
    pub busy: u64,
    /// Requests dropped unanswered: their caller had stopped waiting before a
    /// worker took them.
    pub expired: u64,
    /// Replies the kernel could not deliver (the caller is gone, its queue
    /// full): the kernel's send-failed notices.
    pub undelivered: u64,
    /// Deliveries that were not requests (plain unicasts, group messages).
    pub ignored: u64,
}

#[derive(Default)]
struct Counters {
    dispatched: AtomicU64,
    replied: AtomicU64,
    unknown_method: AtomicU64,
    bad_requests: AtomicU64,
    busy: AtomicU64,
    expired: AtomicU64,
    undelivered: AtomicU64,
    ignored: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

struct Inner {
    handler: Handler,
    methods: Vec<Method>,
    counters: Counters,
    stop: AtomicBool,
}

/// A payload that wakes the serving thread (sent to this peer's own port).
const WAKE: &[u8] = b"\0ipcon-service-wake";

/// The serving side of calls: a peer with named methods.
///
/// ```no_run
/// use ipcon_linux::{CallStatus, Handler, Service};
///
/// let service = Service::builder(Handler::new("clock")?)
///     .method("echo", "returns its argument", |req, reply| {
///         let _ = reply.send(req.payload);
///     })
///     .method("fail", "always fails", |_, reply| {
///         let _ = reply.fail(CallStatus::Failed, "as asked");
///     })
///     .build();
/// service.serve(4)?; // 4 worker threads; 0: run methods on the receiving thread
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
///
/// `Send + Sync`, cheap to clone: [`stop`](Service::stop) it from another
/// thread. Every request gets exactly one reply — the method's, or
/// `unknown-method`, `bad-request`, `busy`, or `failed` ("no reply") when a
/// method drops its [`Responder`] unanswered — except requests whose caller
/// stopped waiting before a worker took them (counted, not answered).
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for Service {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.inner.handler.name())
            .field("methods", &self.inner.methods.len())
            .finish()
    }
}

/// Builds a [`Service`]: its methods.
pub struct ServiceBuilder {
    handler: Handler,
    methods: Vec<Method>,
}

impl core::fmt::Debug for ServiceBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServiceBuilder")
            .field("methods", &self.methods.len())
            .finish()
    }
}

impl ServiceBuilder {
    /// Adds method `name` (the rules of a peer name; names starting with `.`
    /// are the library's), described by `summary` (one line), run by `run`.
    /// `run` answers through the [`Responder`], now or later, from any
    /// thread. A second method of the same name replaces the first.
    ///
    /// # Panics
    /// If `name` breaks the name rules (a programming error).
    pub fn method(
        mut self,
        name: &str,
        summary: &str,
        run: impl Fn(&Request<'_>, Responder) + Send + Sync + 'static,
    ) -> Self {
        let name = Name::new(name).expect("a method name follows the peer name rules");
        self.methods.retain(|m| m.name != name);
        self.methods.push(Method {
            name,
            summary: summary.replace(['\n', '\t'], " "),
            run: Box::new(run),
        });
        self
    }

    /// The service.
    pub fn build(self) -> Service {
        Service {
            inner: Arc::new(Inner {
                handler: self.handler,
                methods: self.methods,
                counters: Counters::default(),
                stop: AtomicBool::new(false),
            }),
        }
    }
}

/// Answers one call, once, from any thread. Dropping it unanswered answers
/// `failed` with the text "no reply", so no caller waits for nothing.
#[must_use = "a dropped Responder answers `failed`"]
pub struct Responder {
    service: Arc<Inner>,
    to: u32,
    id: u32,
    answered: bool,
}

impl core::fmt::Debug for Responder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Responder")
            .field("to", &self.to)
            .field("id", &self.id)
            .finish()
    }
}

impl Responder {
    /// Replies `ok` with `payload` (at most
    /// [`MAX_CALL_PAYLOAD_LEN`](ipcon_core::wire::call::MAX_CALL_PAYLOAD_LEN)
    /// bytes is always safe). `Err` when it was not sent (too big: nothing was
    /// sent, the caller still waits; answer again with [`Responder::fail`]).
    pub fn send(mut self, payload: &[u8]) -> Result<()> {
        let sent = self.answer(CallStatus::Ok, payload);
        self.answered = sent.is_ok();
        if sent.is_err() {
            let _ = self.answer(CallStatus::Failed, b"reply too big");
            self.answered = true;
        }
        sent
    }

    /// Replies `status` (not `ok`) with the text `why`.
    pub fn fail(mut self, status: CallStatus, why: &str) -> Result<()> {
        self.answered = true;
        let why = &why.as_bytes()[..why.len().min(MAX_PAYLOAD_LEN / 2)];
        self.answer(status, why)
    }

    /// The caller's port.
    pub fn caller_port(&self) -> u32 {
        self.to
    }

    fn answer(&self, status: CallStatus, payload: &[u8]) -> Result<()> {
        reply(&self.service, self.to, self.id, status, payload)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if !self.answered {
            let _ = self.answer(CallStatus::Failed, b"no reply");
        }
    }
}

/// Posts the reply to call `id` of the peer at port `to`.
fn reply(service: &Inner, to: u32, id: u32, status: CallStatus, payload: &[u8]) -> Result<()> {
    let mut buf = [0u8; MAX_PAYLOAD_LEN];
    let len = CallRepr::Reply {
        id,
        status,
        payload,
    }
    .emit(&mut buf)
    .map_err(|e| Error::from_wire("reply", e))?;
    service
        .handler
        .post_to(PeerRef::Port(to), &buf[..len])
        .map_err(|e| e.in_operation("reply"))?;
    bump(&service.counters.replied);
    Ok(())
}

/// A request copied out of the receive buffer for a worker.
struct Queued {
    sender: Sender,
    method: usize,
    name: Name,
    id: u32,
    deadline: Option<Instant>,
    payload: Vec<u8>,
}

impl Service {
    /// Starts building a service on `handler` (a named peer: callers find it
    /// by name).
    pub fn builder(handler: Handler) -> ServiceBuilder {
        ServiceBuilder {
            handler,
            methods: Vec::new(),
        }
    }

    /// The service's peer.
    pub fn handler(&self) -> &Handler {
        &self.inner.handler
    }

    /// The methods, `name\tsummary` per line (the answer to
    /// [`LIST_METHODS`]), the built-in list first.
    pub fn method_list(&self) -> String {
        let mut list = std::format!("{LIST_METHODS}\tlists the methods of this service\n");
        for m in &self.inner.methods {
            list.push_str(m.name.as_str());
            list.push('\t');
            list.push_str(&m.summary);
            list.push('\n');
        }
        list
    }

    /// What the service counted so far.
    pub fn stats(&self) -> ServiceStats {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServiceStats {
            dispatched: get(&c.dispatched),
            replied: get(&c.replied),
            unknown_method: get(&c.unknown_method),
            bad_requests: get(&c.bad_requests),
            busy: get(&c.busy),
            expired: get(&c.expired),
            undelivered: get(&c.undelivered),
            ignored: get(&c.ignored),
        }
    }

    /// Makes [`serve`](Service::serve) return (from any thread); the requests
    /// already queued to workers are still answered.
    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        let port = self.inner.handler.port();
        let _ = self.inner.handler.post_to(PeerRef::Port(port), WAKE);
    }

    /// Serves requests until [`stop`](Service::stop) or an error of the
    /// receive. With `workers` = 0 methods run on this thread, in arrival
    /// order; with N > 0 on N worker threads fed by a queue of 64 requests
    /// per worker (a request that finds it full is answered `busy`).
    pub fn serve(&self, workers: usize) -> Result<()> {
        self.inner.stop.store(false, Ordering::SeqCst);
        if workers == 0 {
            return self.receive_loop(None);
        }
        let (queue, requests) = sync_channel::<Queued>(workers.saturating_mul(64));
        let requests = Mutex::new(requests);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| self.work(&requests));
            }
            let served = self.receive_loop(Some(&queue));
            drop(queue);
            served
        })
    }

    /// Handles the deliveries that arrive within `wait` (at least one if
    /// any): for an event loop that watches the service's descriptor
    /// ([`Handler`]'s `AsFd`). Methods run on this thread.
    pub fn serve_ready(&self, wait: Wait) -> Result<()> {
        self.inner.handler.receive_with(wait, |received| {
            self.dispatch(received.delivery, None);
            Some(())
        })
    }

    fn receive_loop(&self, queue: Option<&SyncSender<Queued>>) -> Result<()> {
        while !self.inner.stop.load(Ordering::SeqCst) {
            self.inner.handler.receive_with(Wait::Forever, |received| {
                self.dispatch(received.delivery, queue);
                Some(())
            })?;
        }
        Ok(())
    }

    fn work(&self, requests: &Mutex<Queue<Queued>>) {
        loop {
            let next = requests.lock().unwrap_or_else(|e| e.into_inner()).recv();
            let Ok(queued) = next else {
                return;
            };
            if queued.deadline.is_some_and(|d| d <= Instant::now()) {
                bump(&self.inner.counters.expired);
                continue;
            }
            let request = Request {
                sender: queued.sender,
                method: queued.name,
                payload: &queued.payload,
                id: queued.id,
                deadline: queued.deadline,
            };
            self.run(queued.method, &request);
        }
    }

    fn responder(&self, to: u32, id: u32) -> Responder {
        Responder {
            service: Arc::clone(&self.inner),
            to,
            id,
            answered: false,
        }
    }

    fn run(&self, method: usize, request: &Request<'_>) {
        bump(&self.inner.counters.dispatched);
        let responder = self.responder(request.sender.port, request.id);
        (self.inner.methods[method].run)(request, responder);
    }

    fn dispatch(&self, delivery: Delivery<'_>, queue: Option<&SyncSender<Queued>>) {
        let counters = &self.inner.counters;
        let unicast = match delivery {
            Delivery::Unicast(u) => u,
            Delivery::SendFailed(_) => return bump(&counters.undelivered),
            Delivery::Group(_) | Delivery::Kevent(_) => return bump(&counters.ignored),
        };
        if unicast.sender.port == self.inner.handler.port() && unicast.payload == WAKE {
            return;
        }
        if !CallPacket::<&[u8]>::is_call(unicast.payload) {
            return bump(&counters.ignored);
        }
        let to = unicast.sender.port;
        let (id, method, timeout_ms, payload) = match CallRepr::parse(unicast.payload) {
            Ok(CallRepr::Request {
                id,
                method,
                timeout_ms,
                payload,
            }) => (id, method, timeout_ms, payload),
            Ok(CallRepr::Reply { .. }) => return bump(&counters.ignored),
            Err(_) => {
                bump(&counters.bad_requests);
                let packet = CallPacket::new_unchecked(unicast.payload);
                if CallPacket::new_checked(unicast.payload).is_ok() && packet.call_id() != 0 {
                    let _ = reply(
                        &self.inner,
                        to,
                        packet.call_id(),
                        CallStatus::BadRequest,
                        b"malformed call header",
                    );
                }
                return;
            }
        };
        if method.as_str() == LIST_METHODS {
            bump(&counters.dispatched);
            let _ = reply(
                &self.inner,
                to,
                id,
                CallStatus::Ok,
                self.method_list().as_bytes(),
            );
            return;
        }
        let Some(index) = self.inner.methods.iter().position(|m| m.name == method) else {
            bump(&counters.unknown_method);
            let _ = reply(
                &self.inner,
                to,
                id,
                CallStatus::UnknownMethod,
                b"no such method",
            );
            return;
        };
        let deadline = (timeout_ms != 0)
            .then(|| Instant::now() + Duration::from_millis(u64::from(timeout_ms)));
        let Some(queue) = queue else {
            let request = Request {
                sender: unicast.sender,
                method,
                payload,
                id,
                deadline,
            };
            return self.run(index, &request);
        };
        let queued = Queued {
            sender: unicast.sender,
            method: index,
            name: method,
            id,
            deadline,
            payload: payload.to_vec(),
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = queue.try_send(queued) {
            bump(&counters.busy);
            let _ = reply(
                &self.inner,
                to,
                id,
                CallStatus::Busy,
                b"every worker is busy",
            );
        }
    }
}
