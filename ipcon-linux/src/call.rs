//! Calls: request/response over unicasts, each matched to its reply by a call
//! id (docs/protocol.md, "Calls"), with a deadline, cancellation, and a
//! distinct error as soon as the called peer is gone.
//!
//! The pending calls live in ipcon-core's [`PendingCalls`] behind one lock.
//! Threads waiting for replies take turns receiving (leader and followers):
//! the one receiving routes each reply to its call and wakes its waiter, so a
//! single caller receives its own reply with no thread in between.

use core::time::Duration;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::vec::Vec;

use ipcon_core::machine::{
    CallId, CallOutcome, CallSlot, CallStats, PendingCalls, Received, ReplyMatch,
};
use ipcon_core::spec::{CallStatus, MAX_PAYLOAD_LEN};
use ipcon_core::wire::call::{CallPacket, CallRepr};
use ipcon_core::wire::ipcon::{Delivery, PeerRef};
use ipcon_core::{KeventKind, Name};

use crate::clock::{ms_rounded_up, Clock, MonotonicClock, Wait};
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::peer::PeerOptions;

/// Calls a [`Client`] holds at once unless told otherwise.
pub const DEFAULT_CALL_CAPACITY: usize = 1024;

/// The method every [`Service`](crate::Service) answers with the list of its
/// methods (one `name\tsummary` line each).
pub const LIST_METHODS: &str = ".methods";

/// A payload that wakes the receiving thread (sent to this peer's own port):
/// not a call, never counted.
const WAKE: &[u8] = b"\0ipcon-wake";

const OPERATION: &str = "call";

/// A method of a service, as [`Client::methods`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodInfo {
    /// Its name.
    pub name: String,
    /// What it does, in one line (may be empty).
    pub summary: String,
}

/// What a [`Client`] saw: its pending-call table's counters and the
/// deliveries that were not replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// The pending-call table's counters (late and misdirected replies
    /// included).
    pub calls: CallStats,
    /// Deliveries that were neither replies nor kernel events (plain
    /// unicasts, group messages, requests): a client does not serve them.
    pub ignored: u64,
    /// Calls pending now.
    pub pending: usize,
}

struct Shared {
    table: PendingCalls<Box<[CallSlot]>>,
    /// Each slot's reply payload (allocated on the slot's first reply, then
    /// reused).
    replies: Vec<Vec<u8>>,
    /// A thread is receiving.
    receiving: bool,
    /// The call the receiving thread waits for.
    receiving_for: Option<CallId>,
    ignored: u64,
}

impl Shared {
    /// How call `id` ended once it settled (a reply's payload copied into
    /// `reply`), its slot released; `None` while it is pending. Only table
    /// work: the caller makes the error once the lock is released.
    fn take_outcome(&mut self, id: CallId, reply: &mut Vec<u8>) -> Option<CallOutcome> {
        let outcome = self.table.outcome(id)?;
        if let (CallOutcome::Replied(_), Some(slot)) = (outcome, self.table.slot(id)) {
            reply.clear();
            reply.extend_from_slice(&self.replies[slot]);
        }
        self.table.release(id);
        Some(outcome)
    }
}

struct Inner {
    handler: Handler,
    shared: Mutex<Shared>,
    settled: Condvar,
}

/// The calling side: sends requests to services and waits for their replies.
///
/// `Send + Sync` and cheap to clone (one peer shared): many threads may call
/// at once, each call with its own deadline. Every call fails with
/// [`ErrorKind::PeerGone`] as soon as the kernel reports its peer gone (the
/// client subscribes to kernel events), with [`ErrorKind::NotFound`] at once
/// if there is no such peer, [`ErrorKind::Timeout`] at its deadline,
/// [`ErrorKind::Cancelled`] when cancelled, and [`ErrorKind::CallFailed`]
/// when the service answers with another status than `ok`
/// ([`Error::call_status`], its text in [`Error::kernel_message`]).
///
/// ```no_run
/// use std::time::Duration;
/// use ipcon_linux::Client;
///
/// let client = Client::new()?;
/// let reply = client.call("clock", "now", b"", Some(Duration::from_secs(1)))?;
/// println!("{}", String::from_utf8_lossy(&reply));
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
///
/// A client's peer is for calls: other deliveries (plain unicasts, group
/// messages, requests) are dropped and counted ([`ClientStats::ignored`]).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
            .field("port", &self.inner.handler.port())
            .field("stats", &self.stats())
            .finish()
    }
}

/// A call in flight: [`wait`](PendingCall::wait) for its reply, or
/// [`cancel`](PendingCall::cancel) it. Dropping it cancels the call if it is
/// still pending (its reply, if one comes, is dropped and counted).
#[derive(Debug)]
pub struct PendingCall<'c> {
    client: &'c Client,
    id: CallId,
    peer: PeerRef,
    done: bool,
}

fn now_ms() -> u64 {
    MonotonicClock.now_ms()
}

impl Client {
    /// A client on a new anonymous peer, holding up to
    /// [`DEFAULT_CALL_CAPACITY`] calls at once.
    pub fn new() -> Result<Self> {
        Self::with_options(PeerOptions::anonymous(), DEFAULT_CALL_CAPACITY)
    }

    /// A client on a new peer registered as `options` say (kernel events are
    /// always on), holding up to `capacity` calls at once (the table is
    /// allocated here, once).
    pub fn with_options(options: PeerOptions, capacity: usize) -> Result<Self> {
        let handler = options.kevents(true).open()?;
        let table = PendingCalls::new(vec![CallSlot::EMPTY; capacity].into_boxed_slice());
        let mut replies = Vec::with_capacity(capacity);
        replies.resize_with(capacity, Vec::new);
        Ok(Self {
            inner: Arc::new(Inner {
                handler,
                shared: Mutex::new(Shared {
                    table,
                    replies,
                    receiving: false,
                    receiving_for: None,
                    ignored: 0,
                }),
                settled: Condvar::new(),
            }),
        })
    }

    /// The client's peer (its port, directory, ...).
    pub fn handler(&self) -> &Handler {
        &self.inner.handler
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.inner.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the client saw so far.
    pub fn stats(&self) -> ClientStats {
        let shared = self.shared();
        ClientStats {
            calls: shared.table.stats(),
            ignored: shared.ignored,
            pending: shared.table.pending(),
        }
    }

    /// Calls `method` of peer `peer` with `payload` and waits for the result,
    /// at most `timeout` (`None`: until the reply or the peer's end).
    pub fn call(
        &self,
        peer: &str,
        method: &str,
        payload: &[u8],
        timeout: Option<Duration>,
    ) -> Result<Vec<u8>> {
        let mut reply = Vec::new();
        self.call_into(
            PeerRef::Name(Name::new(peer)?),
            method,
            payload,
            timeout,
            &mut reply,
        )?;
        Ok(reply)
    }

    /// [`call`](Self::call) to a peer by name or port, the result into
    /// `reply` (cleared first; no allocation once it has room for it).
    pub fn call_into(
        &self,
        peer: PeerRef,
        method: &str,
        payload: &[u8],
        timeout: Option<Duration>,
        reply: &mut Vec<u8>,
    ) -> Result<()> {
        self.start(peer, method, payload, timeout)?.wait(reply)
    }

    /// Sends the request of a call and returns at once; the call's deadline
    /// runs from now. Fails at once with [`ErrorKind::LimitReached`] when
    /// the client holds as many calls as its capacity.
    pub fn start(
        &self,
        peer: PeerRef,
        method: &str,
        payload: &[u8],
        timeout: Option<Duration>,
    ) -> Result<PendingCall<'_>> {
        let method = Name::new(method).map_err(|e| Error::from(e).in_operation(OPERATION))?;
        // Rounded up, so the call never ends before its timeout.
        let timeout_ms = timeout.map(ms_rounded_up);
        let start_ms = MonotonicClock.start_ms();
        let mut buf = [0u8; MAX_PAYLOAD_LEN];
        // The lock is held until the ticket is noted, so a send-failed
        // notice routed by a receiving thread finds its call.
        let mut shared = self.shared();
        let id = shared
            .table
            .begin(peer, start_ms, timeout_ms)
            .map_err(|_| Error::new(OPERATION, ErrorKind::LimitReached).about_peer(peer))?;
        let request = CallRepr::Request {
            id: id.get(),
            method,
            timeout_ms: timeout_ms.map_or(0, |t| u32::try_from(t).unwrap_or(u32::MAX).max(1)),
            payload,
        };
        let sent = request
            .emit(&mut buf)
            .map_err(|e| Error::from_wire(OPERATION, e))
            .and_then(|len| self.inner.handler.post_to(peer, &buf[..len]));
        match sent {
            Ok(ticket) => shared.table.set_ticket(id, ticket.get()),
            Err(e) => {
                shared.table.release(id);
                return Err(e.in_operation(OPERATION).about_peer(peer));
            }
        }
        Ok(PendingCall {
            client: self,
            id,
            peer,
            done: false,
        })
    }

    /// Cancels call `id` (from any thread): its waiter returns
    /// [`ErrorKind::Cancelled`]. Returns whether it was pending.
    pub fn cancel(&self, id: CallId) -> bool {
        let mut shared = self.shared();
        if !shared.table.cancel(id) {
            return false;
        }
        let wake_receiver = shared.receiving_for == Some(id);
        drop(shared);
        self.inner.settled.notify_all();
        if wake_receiver {
            // The waiter is blocked receiving: a message to itself wakes it.
            let port = self.inner.handler.port();
            let _ = self.inner.handler.post_to(PeerRef::Port(port), WAKE);
        }
        true
    }

    /// The methods of service `peer` (its answer to [`LIST_METHODS`]).
    pub fn methods(&self, peer: &str, timeout: Option<Duration>) -> Result<Vec<MethodInfo>> {
        let reply = self.call(peer, LIST_METHODS, b"", timeout)?;
        Ok(parse_method_list(&reply))
    }

    /// Call `id`'s result if it settled (or its deadline passed): the reply
    /// into `reply`, the slot released. `None` while it is pending.
    #[cfg(feature = "tokio")]
    pub(crate) fn finish(
        &self,
        id: CallId,
        peer: PeerRef,
        reply: &mut Vec<u8>,
    ) -> Option<Result<()>> {
        let mut shared = self.shared();
        if shared.table.deadline(id).is_some_and(|d| d <= now_ms()) {
            shared.table.expire_call(id, now_ms());
        }
        let outcome = shared.take_outcome(id, reply);
        drop(shared);
        outcome.map(|outcome| call_result(outcome, peer, reply))
    }

    /// How long until call `id`'s deadline (`None`: none, or not pending).
    #[cfg(feature = "tokio")]
    pub(crate) fn time_left(&self, id: CallId) -> Option<Duration> {
        let deadline = self.shared().table.deadline(id)?;
        Some(Duration::from_millis(deadline).saturating_sub(MonotonicClock.now()))
    }

    /// Receives and routes one queued delivery without waiting; whether one
    /// settled a call (`Err` `WouldBlock` when nothing was queued).
    #[cfg(feature = "tokio")]
    pub(crate) fn route_one(&self) -> Result<bool> {
        self.inner
            .handler
            .receive_with(Wait::Never, |delivery| Some(self.route(delivery)))
    }

    /// Routes one delivery: a reply to its call, a kernel event to the calls
    /// it ends, a send failure to its call. Returns whether a call settled.
    fn route(&self, received: Received<'_>) -> bool {
        let own_port = self.inner.handler.port();
        let mut shared = self.shared();
        let shared = &mut *shared;
        match received.delivery {
            Delivery::Unicast(u) if CallPacket::<&[u8]>::is_call(u.payload) => {
                match CallRepr::parse(u.payload) {
                    Ok(CallRepr::Reply {
                        id,
                        status,
                        payload,
                    }) => {
                        if let ReplyMatch::Accepted { slot, .. } =
                            shared.table.on_reply(&u.sender, id, status)
                        {
                            let kept = &mut shared.replies[slot];
                            kept.clear();
                            kept.extend_from_slice(payload);
                            return true;
                        }
                        false
                    }
                    _ => {
                        shared.ignored += 1;
                        false
                    }
                }
            }
            Delivery::Unicast(u) if u.sender.port == own_port && u.payload == WAKE => false,
            Delivery::Kevent(event) => match event.kind {
                KeventKind::PeerRemove { peer, .. } => {
                    // Every call to the peer settles in this one pass, and
                    // one broadcast wakes all their waiters now (not once
                    // this thread has returned from receiving).
                    let failed = shared.table.on_peer_removed(&peer, |_, _| {}) > 0;
                    if failed {
                        self.inner.settled.notify_all();
                    }
                    failed
                }
                _ => false,
            },
            Delivery::SendFailed(failure) => {
                let errno = i32::try_from(failure.errno).unwrap_or(i32::MAX);
                shared.table.on_send_failed(failure.ticket, errno).is_some()
            }
            Delivery::Unicast(_) | Delivery::Group(_) => {
                shared.ignored += 1;
                false
            }
        }
    }

    /// Waits until call `id` settles, receiving in turns with the other
    /// waiting threads; the reply's payload goes into `reply`.
    fn wait_for(&self, id: CallId, peer: PeerRef, reply: &mut Vec<u8>) -> Result<()> {
        let mut shared = self.shared();
        loop {
            if let Some(outcome) = shared.take_outcome(id, reply) {
                // The error (it may allocate) is made outside the lock.
                drop(shared);
                return call_result(outcome, peer, reply);
            }
            let left = shared.table.deadline(id).map(|deadline| {
                Duration::from_millis(deadline).saturating_sub(MonotonicClock.now())
            });
            if left == Some(Duration::ZERO) {
                shared.table.expire_call(id, now_ms());
                continue;
            }
            if shared.receiving {
                shared = match left {
                    Some(left) => {
                        self.inner
                            .settled
                            .wait_timeout(shared, left)
                            .unwrap_or_else(|e| e.into_inner())
                            .0
                    }
                    None => self
                        .inner
                        .settled
                        .wait(shared)
                        .unwrap_or_else(|e| e.into_inner()),
                };
                continue;
            }
            shared.receiving = true;
            shared.receiving_for = Some(id);
            drop(shared);
            let wait = left.map_or(Wait::Forever, Wait::Timeout);
            let received = self
                .inner
                .handler
                .receive_with(wait, |delivery| Some(self.route(delivery)));
            shared = self.shared();
            shared.receiving = false;
            shared.receiving_for = None;
            // Another waiter takes over receiving, or finds its call settled.
            self.inner.settled.notify_all();
            match received {
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::WouldBlock) => {}
                Err(e) => {
                    shared.table.release(id);
                    drop(shared);
                    return Err(e.in_operation(OPERATION).about_peer(peer));
                }
            }
        }
    }
}

/// The result a settled call to `peer` gives its caller.
fn call_result(outcome: CallOutcome, peer: PeerRef, reply: &[u8]) -> Result<()> {
    outcome_result(outcome, reply).map_err(|e| e.about_peer(peer))
}

/// The result a settled call gives its caller.
fn outcome_result(outcome: CallOutcome, reply: &[u8]) -> Result<()> {
    match outcome {
        CallOutcome::Replied(CallStatus::Ok) => Ok(()),
        CallOutcome::Replied(status) => Err(Error::from_call_status(OPERATION, status, reply)),
        CallOutcome::TimedOut => Err(Error::new(OPERATION, ErrorKind::Timeout)),
        CallOutcome::Cancelled => Err(Error::new(OPERATION, ErrorKind::Cancelled)),
        CallOutcome::PeerGone => Err(Error::new(OPERATION, ErrorKind::PeerGone)),
        CallOutcome::Undeliverable(errno) => {
            let err = Error::from_errno(OPERATION, errno);
            if errno == linux_raw_sys::errno::EAGAIN as i32 {
                Err(err.with_kind(ErrorKind::QueueFull))
            } else {
                Err(err)
            }
        }
    }
}

/// `name\tsummary` lines (the answer to [`LIST_METHODS`]).
pub(crate) fn parse_method_list(reply: &[u8]) -> Vec<MethodInfo> {
    String::from_utf8_lossy(reply)
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (name, summary) = line.split_once('\t').unwrap_or((line, ""));
            MethodInfo {
                name: name.into(),
                summary: summary.into(),
            }
        })
        .collect()
}

impl PendingCall<'_> {
    /// The call's id (what [`Client::cancel`] takes).
    pub fn id(&self) -> CallId {
        self.id
    }

    /// Waits for the call's result (into `reply`, cleared first).
    pub fn wait(mut self, reply: &mut Vec<u8>) -> Result<()> {
        self.done = true;
        self.client.wait_for(self.id, self.peer, reply)
    }

    /// Cancels the call; its reply, if one comes, is dropped and counted.
    pub fn cancel(self) {
        // Drop does it.
    }
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.client.shared().table.release(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_lists_parse_with_and_without_summaries() {
        let list = parse_method_list(b"echo\treturns its argument\n.methods\t\nbare\n\n");
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].name, "echo");
        assert_eq!(list[0].summary, "returns its argument");
        assert_eq!(list[2].name, "bare");
        assert_eq!(list[2].summary, "");
    }

    #[test]
    fn outcomes_become_typed_errors() {
        assert!(outcome_result(CallOutcome::Replied(CallStatus::Ok), b"").is_ok());
        let err = outcome_result(
            CallOutcome::Replied(CallStatus::UnknownMethod),
            b"no such method",
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CallFailed);
        assert_eq!(err.call_status(), Some(CallStatus::UnknownMethod));
        assert_eq!(err.kernel_message(), Some("no such method"));
        assert_eq!(
            err.to_string(),
            "call: the call failed (status unknown-method): no such method"
        );
        let gone = outcome_result(CallOutcome::PeerGone, b"").unwrap_err();
        assert_eq!(gone.kind(), ErrorKind::PeerGone);
        let absent = outcome_result(CallOutcome::Undeliverable(2), b"").unwrap_err();
        assert_eq!(absent.kind(), ErrorKind::NotFound);
        let full = outcome_result(CallOutcome::Undeliverable(11), b"").unwrap_err();
        assert_eq!(full.kind(), ErrorKind::QueueFull);
        assert_eq!(
            outcome_result(CallOutcome::Cancelled, b"")
                .unwrap_err()
                .kind(),
            ErrorKind::Cancelled
        );
        assert_eq!(
            outcome_result(CallOutcome::TimedOut, b"")
                .unwrap_err()
                .kind(),
            ErrorKind::Timeout
        );
        // Invalid UTF-8 in a status text keeps its valid prefix.
        let err =
            outcome_result(CallOutcome::Replied(CallStatus::Failed), b"ok\xffno").unwrap_err();
        assert_eq!(err.kernel_message(), Some("ok"));
    }
}
