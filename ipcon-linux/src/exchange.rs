//! Request/answer exchanges with the kernel over a socket: ipcon-core's
//! [`RequestTracker`] hands out the sequence numbers, matches ACKs, errors,
//! replies and ends of dumps, and keeps each request's deadline;
//! [`FamilyResolver`] resolves the ipcon family. Requests are built into, and
//! answers received into, buffers owned here: no allocation, no clearing.

use core::time::Duration;

use ipcon_core::machine::{Family, FamilyOutcome, FamilyResolver, RequestTracker, Tracked};
use ipcon_core::spec::MAX_PAYLOAD_LEN;
use ipcon_core::wire::ctrl::GENL_ID_CTRL;
use ipcon_core::wire::ipcon::{parse_incoming, Incoming, Reply, Request};
use ipcon_core::wire::netlink::{align, Messages, NetlinkFlags, NetlinkPacket};
use ipcon_core::WireError;
use rustix::io::Errno;

use crate::clock::{ms_rounded_up, Clock};
use crate::error::{Error, ErrorKind, Result};
use crate::socket::NetlinkSocket;

/// Room for the largest request: a full payload, two names and the headers.
pub(crate) const REQUEST_BUF_LEN: usize = MAX_PAYLOAD_LEN + 256;

/// Receive buffer for answers. The kernel sizes a dump's datagrams by the
/// largest buffer its reader offered (at least a page, at most 32 KiB): a
/// reader that offers 8 KiB gets datagrams that fit in 8 KiB.
pub(crate) const ANSWER_BUF_LEN: usize = 8 * 1024;

/// Most requests in flight at once on one exchange: the messages of one batch.
///
/// Every message of a batch may fail, and each failure is one answer datagram
/// queued to the control socket before the sender reads any: the limit keeps
/// all of them within the socket's receive buffer.
pub const MAX_BATCH_MESSAGES: usize = 64;

/// What an exchange shows the caller of [`Exchange::request`].
pub(crate) enum Answer<'p, 'a> {
    /// A reply of the ipcon family to the request.
    Reply(Reply<'a>),
    /// A message of an `nlctrl` exchange (the family look-up): every one, for
    /// the resolver to judge.
    Ctrl(&'p NetlinkPacket<&'a [u8]>),
}

/// The state of request/answer exchanges: tracker, buffers, time limit.
#[derive(Debug)]
pub(crate) struct Exchange {
    tracker: RequestTracker<MAX_BATCH_MESSAGES>,
    request: [u8; REQUEST_BUF_LEN],
    answers: [u8; ANSWER_BUF_LEN],
    timeout_ms: u64,
}

impl Exchange {
    /// Exchanges whose answers must come within `timeout` once sent.
    pub fn new(timeout: Duration) -> Self {
        Self {
            tracker: RequestTracker::new(),
            request: [0; REQUEST_BUF_LEN],
            answers: [0; ANSWER_BUF_LEN],
            // Rounded up, as the starts are: no answer is given up early.
            timeout_ms: ms_rounded_up(timeout),
        }
    }

    /// The request buffer, e.g. to build a posted request in.
    pub fn request_buffer(&mut self) -> &mut [u8] {
        &mut self.request
    }

    /// Starts tracking `count` requests (sequence numbers written to `seqs`),
    /// each due `timeout` from now.
    fn begin(
        &mut self,
        operation: &'static str,
        dump: bool,
        seqs: &mut [u32],
        clock: &dyn Clock,
    ) -> Result<()> {
        let now = clock.start_ms();
        for i in 0..seqs.len() {
            match self.tracker.begin(dump, now, self.timeout_ms) {
                Ok(seq) => seqs[i] = seq,
                Err(_) => {
                    self.cancel_all(&seqs[..i]);
                    return Err(Error::new(operation, ErrorKind::BatchFull));
                }
            }
        }
        Ok(())
    }

    fn cancel_all(&mut self, seqs: &[u32]) {
        for &seq in seqs {
            self.tracker.cancel(seq);
        }
    }

    /// Sends `request` to the ipcon family `family` on `socket` and feeds
    /// every reply to `on_reply` until the kernel's ACK (or `NLMSG_DONE` for
    /// a dump).
    #[inline]
    pub fn request(
        &mut self,
        socket: &NetlinkSocket,
        clock: &impl Clock,
        operation: &'static str,
        family: u16,
        request: &Request<'_>,
        mut on_reply: impl FnMut(&Reply<'_>) -> Result<()>,
    ) -> Result<()> {
        self.request_dyn(socket, clock, operation, family, request, &mut on_reply)
    }

    /// [`Exchange::request`] compiled once: the clock and the reply handler
    /// behind `dyn` instead of one copy of the whole exchange per caller
    /// (each request costs system calls; an indirect call is nothing next to
    /// them, and the copies were most of the `ipcon` CLI's own code).
    fn request_dyn(
        &mut self,
        socket: &NetlinkSocket,
        clock: &dyn Clock,
        operation: &'static str,
        family: u16,
        request: &Request<'_>,
        on_reply: &mut dyn FnMut(&Reply<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut seq = [0u32];
        self.begin(operation, request.is_dump(), &mut seq, clock)?;
        let [seq] = seq;
        let len = match request.emit(&request.header(family, seq, 0), &mut self.request) {
            Ok(len) => len,
            Err(e) => return Err(self.abandon(seq, Error::from_wire(operation, e))),
        };
        if let Err(e) = socket.send(&self.request[..len]) {
            return Err(self.abandon(seq, Error::from_os(operation, e)));
        }
        self.await_completion_dyn(
            socket,
            clock,
            operation,
            seq,
            family,
            &mut |answer| match answer {
                Answer::Reply(reply) => on_reply(&reply),
                Answer::Ctrl(_) => Ok(()),
            },
        )
    }

    /// Resolves the ipcon family with ipcon-core's [`FamilyResolver`]: a
    /// missing family means the module is not loaded, an incompatible one is
    /// refused.
    pub fn resolve_family(
        &mut self,
        socket: &NetlinkSocket,
        clock: &impl Clock,
        operation: &'static str,
    ) -> Result<Family> {
        let mut seq = [0u32];
        self.begin(operation, false, &mut seq, clock)?;
        let [seq] = seq;
        let mut resolver = FamilyResolver::new();
        let now = clock.start_ms();
        let len = match resolver.start(seq, 0, now, self.timeout_ms, &mut self.request) {
            Ok(len) => len,
            Err(e) => return Err(self.abandon(seq, Error::from_wire(operation, e))),
        };
        if let Err(e) = socket.send(&self.request[..len]) {
            return Err(self.abandon(seq, Error::from_os(operation, e)));
        }
        let exchanged = self.await_completion(socket, clock, operation, seq, GENL_ID_CTRL, |a| {
            if let Answer::Ctrl(packet) = a {
                resolver.handle(packet);
            }
            Ok(())
        });
        let outcome = match &exchanged {
            Err(e) if e.kind() == ErrorKind::Timeout => resolver.poll(u64::MAX),
            _ => resolver.outcome(),
        };
        match (outcome, exchanged) {
            (Some(FamilyOutcome::Resolved(family)), _) => Ok(family),
            (Some(other), _) => Err(Error::from_family(operation, other)),
            (None, Err(e)) => Err(e),
            (None, Ok(())) => Err(Error::protocol(operation).with_text("no family in the answer")),
        }
    }

    fn abandon(&mut self, seq: u32, err: Error) -> Error {
        self.tracker.cancel(seq);
        err
    }

    /// Receives the next datagram of answers into the answer buffer; `None`
    /// for one to skip (not from the kernel; or cut short, which `deferred`
    /// notes as a protocol error). Before waiting, requests past their
    /// deadline are forgotten (their late answers will be stale): if one of
    /// `watched` is among them, the exchange timed out.
    fn next_answers(
        &mut self,
        socket: &NetlinkSocket,
        clock: &dyn Clock,
        operation: &'static str,
        watched: &[u32],
        deferred: &mut Option<Error>,
    ) -> core::result::Result<Option<usize>, Errno> {
        let got = loop {
            match socket.try_recv(&mut self.answers) {
                Err(Errno::AGAIN) => {}
                other => break other?,
            }
            let now = clock.now_ms();
            let mut timed_out = false;
            while let Some(seq) = self.tracker.expire(now) {
                timed_out |= watched.contains(&seq);
            }
            let due = self.tracker.next_deadline();
            if timed_out || due.is_none() {
                return Err(Errno::TIMEDOUT);
            }
            let left = due.unwrap_or(now).saturating_sub(now);
            socket.wait_readable(Duration::from_millis(left))?;
        };
        if got.source_port != 0 {
            return Ok(None);
        }
        if got.full_len > got.len {
            deferred.get_or_insert(Error::protocol(operation).with_text("answer cut short"));
            return Ok(None);
        }
        Ok(Some(got.len))
    }

    /// Receives until request `seq` completed, failed or timed out.
    ///
    /// An error from `on_answer` is returned once the exchange is over, so
    /// the socket is left clean for the next request.
    #[inline]
    fn await_completion(
        &mut self,
        socket: &NetlinkSocket,
        clock: &impl Clock,
        operation: &'static str,
        seq: u32,
        family: u16,
        mut on_answer: impl FnMut(Answer<'_, '_>) -> Result<()>,
    ) -> Result<()> {
        self.await_completion_dyn(socket, clock, operation, seq, family, &mut on_answer)
    }

    fn await_completion_dyn(
        &mut self,
        socket: &NetlinkSocket,
        clock: &dyn Clock,
        operation: &'static str,
        seq: u32,
        family: u16,
        on_answer: &mut dyn FnMut(Answer<'_, '_>) -> Result<()>,
    ) -> Result<()> {
        let mut deferred: Option<Error> = None;
        loop {
            let len = match self.next_answers(socket, clock, operation, &[seq], &mut deferred) {
                Ok(Some(len)) => len,
                Ok(None) => continue,
                Err(e) => return Err(self.abandon(seq, Error::from_os(operation, e))),
            };
            for packet in Messages::new(&self.answers[..len]) {
                let Ok(packet) = packet else {
                    deferred.get_or_insert(Error::protocol(operation));
                    break;
                };
                if family == GENL_ID_CTRL {
                    if let Err(e) = on_answer(Answer::Ctrl(&packet)) {
                        deferred.get_or_insert(e);
                    }
                    if packet.message_type() == GENL_ID_CTRL {
                        continue;
                    }
                }
                let incoming = match parse_incoming(&packet, family) {
                    Ok(incoming) => incoming,
                    Err(e) => {
                        if packet.seq() == seq {
                            deferred.get_or_insert(Error::from_wire(operation, e));
                        }
                        continue;
                    }
                };
                match self.tracker.handle(&incoming) {
                    Tracked::Reply { seq: s } if s == seq => {
                        if let Incoming::Reply { reply, .. } = incoming {
                            if let Err(e) = on_answer(Answer::Reply(reply)) {
                                deferred.get_or_insert(e);
                            }
                        }
                    }
                    Tracked::Completed { seq: s } if s == seq => {
                        return deferred.map_or(Ok(()), Err)
                    }
                    Tracked::Failed { seq: s, errno } if s == seq => {
                        let mut err = Error::from_errno(operation, errno);
                        if let Incoming::Error { ext, .. } = incoming {
                            err = err.with_kernel_message(ext.message.unwrap_or(""));
                        }
                        return Err(err);
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends the `count` ipcon requests encoded back to back in `datagram`
    /// (each at a 4-byte aligned offset; type, flags and sequence number are
    /// filled in here) as ONE datagram, and waits for the kernel's verdict on
    /// all of them.
    ///
    /// The kernel handles the messages of a datagram in order, inside the
    /// `sendmsg`, and answers a message when it failed or asks for an ACK. So
    /// only the last one asks: its answer comes after every other one, and
    /// each error answer before it names a failed message, reported as
    /// `on_failure(index, errno, kernel text)`. Messages without an answer
    /// were done. Lost answers (`ENOBUFS`) fail the whole call.
    #[allow(clippy::too_many_arguments)] // the socket, the clock and what to send
    pub fn request_batch(
        &mut self,
        socket: &NetlinkSocket,
        clock: &impl Clock,
        operation: &'static str,
        family: u16,
        datagram: &mut [u8],
        count: usize,
        on_failure: impl FnMut(usize, i32, &str),
    ) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        let mut seqs = [0u32; MAX_BATCH_MESSAGES];
        let seqs = seqs
            .get_mut(..count)
            .ok_or_else(|| Error::new(operation, ErrorKind::BatchFull))?;
        self.begin(operation, false, seqs, clock)?;
        if let Err(e) = stamp_batch(datagram, family, seqs) {
            self.cancel_all(seqs);
            return Err(Error::from_wire(operation, e));
        }
        if let Err(e) = socket.send(datagram) {
            self.cancel_all(seqs);
            return Err(Error::from_os(operation, e));
        }
        let outcome = self.await_batch(socket, clock, operation, family, seqs, on_failure);
        // The messages that got no answer succeeded; and after an error the
        // remaining answers are stale.
        self.cancel_all(seqs);
        outcome
    }

    /// Receives the answers to a batch until the last message's one.
    fn await_batch(
        &mut self,
        socket: &NetlinkSocket,
        clock: &impl Clock,
        operation: &'static str,
        family: u16,
        seqs: &[u32],
        mut on_failure: impl FnMut(usize, i32, &str),
    ) -> Result<()> {
        let mut deferred: Option<Error> = None;
        loop {
            let len = match self.next_answers(socket, clock, operation, seqs, &mut deferred) {
                Ok(Some(len)) => len,
                Ok(None) => continue,
                // The kernel could not queue some answers: keep reading to
                // the end of the batch so the socket is clean, then fail.
                Err(Errno::NOBUFS) => {
                    deferred.get_or_insert(
                        Error::from_os(operation, Errno::NOBUFS)
                            .with_text("answers were lost; which messages were queued is unknown"),
                    );
                    continue;
                }
                Err(e) => return Err(Error::from_os(operation, e)),
            };
            let finished = match_batch_answers(
                &mut self.tracker,
                operation,
                family,
                seqs,
                &self.answers[..len],
                &mut deferred,
                &mut on_failure,
            );
            if finished {
                return deferred.map_or(Ok(()), Err);
            }
        }
    }
}

/// Matches the answers in one received datagram to the requests of a
/// batch (`seqs`, in batch order): reports each failure of one of them with
/// its index, notes protocol surprises in `deferred`. Returns whether the
/// last request's answer came, which ends the batch.
fn match_batch_answers<const N: usize>(
    tracker: &mut RequestTracker<N>,
    operation: &'static str,
    family: u16,
    seqs: &[u32],
    datagram: &[u8],
    deferred: &mut Option<Error>,
    on_failure: &mut impl FnMut(usize, i32, &str),
) -> bool {
    let last = seqs.last().copied();
    for packet in Messages::new(datagram) {
        let Ok(packet) = packet else {
            deferred.get_or_insert(Error::protocol(operation));
            break;
        };
        let incoming = match parse_incoming(&packet, family) {
            Ok(incoming) => incoming,
            Err(e) => {
                if seqs.contains(&packet.seq()) {
                    deferred.get_or_insert(Error::from_wire(operation, e));
                }
                continue;
            }
        };
        match tracker.handle(&incoming) {
            Tracked::Failed { seq, errno } => {
                if let Some(index) = seqs.iter().position(|&s| s == seq) {
                    let text = match incoming {
                        Incoming::Error { ext, .. } => ext.message.unwrap_or(""),
                        _ => "",
                    };
                    on_failure(index, errno, text);
                }
                if Some(seq) == last {
                    return true;
                }
            }
            Tracked::Completed { seq } if Some(seq) == last => return true,
            // Unicast and multicast requests have no reply content.
            Tracked::Reply { .. } => {
                deferred.get_or_insert(Error::protocol(operation));
            }
            Tracked::Completed { .. }
            | Tracked::Stale { .. }
            | Tracked::Unsolicited
            | Tracked::Ignored => {}
        }
    }
    false
}

/// Fills in the header of every message of a batch: the family, its
/// sequence number, `REQUEST`, and `ACK` on the last one only. The messages
/// must be exactly `seqs.len()` and fill `datagram` exactly.
pub(crate) fn stamp_batch(
    datagram: &mut [u8],
    family: u16,
    seqs: &[u32],
) -> core::result::Result<(), WireError> {
    let mut offset = 0;
    for (i, &seq) in seqs.iter().enumerate() {
        let rest = datagram.get_mut(offset..).ok_or(WireError::Truncated)?;
        let mut packet = NetlinkPacket::new_checked(rest)?;
        let mut flags = NetlinkFlags::REQUEST;
        if i + 1 == seqs.len() {
            flags |= NetlinkFlags::ACK;
        }
        packet.set_message_type(family);
        packet.set_flags(flags);
        packet.set_seq(seq);
        offset += align(packet.length() as usize);
    }
    if offset == datagram.len() {
        Ok(())
    } else {
        Err(WireError::Malformed)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::clock::tests::ManualClock;
    use crate::clock::MonotonicClock;
    use ipcon_core::wire::ctrl::{FamilyRepr, GetFamilyRequest};
    use linux_raw_sys::errno as e;
    use std::boxed::Box;
    use std::string::{String, ToString};
    use std::vec::Vec;

    fn exchange() -> Box<Exchange> {
        Box::new(Exchange::new(Duration::from_secs(2)))
    }

    /// Looks up the generic netlink family `name` with a plain `nlctrl`
    /// request through the exchange (what the resolver does for "ipcon").
    pub(crate) fn look_up(
        ex: &mut Exchange,
        socket: &NetlinkSocket,
        name: &str,
    ) -> Result<FamilyRepr> {
        let clock = MonotonicClock;
        let mut seq = [0u32];
        ex.begin("look up", false, &mut seq, &clock)?;
        let request = GetFamilyRequest { name };
        let len = request
            .emit(&GetFamilyRequest::header(seq[0], 0), &mut ex.request)
            .map_err(|e| Error::from_wire("look up", e))?;
        socket.send(&ex.request[..len]).unwrap();
        let mut found = None;
        ex.await_completion(socket, &clock, "look up", seq[0], GENL_ID_CTRL, |a| {
            if let Answer::Ctrl(packet) = a {
                if packet.message_type() == GENL_ID_CTRL {
                    found = FamilyRepr::parse(packet).ok();
                }
            }
            Ok(())
        })?;
        found.ok_or_else(|| Error::protocol("look up"))
    }

    #[test]
    fn looks_up_nlctrl_itself_and_stays_usable() {
        let socket = NetlinkSocket::open().unwrap();
        let mut ex = exchange();
        let family = look_up(&mut ex, &socket, "nlctrl").unwrap();
        assert_eq!(family.id, GENL_ID_CTRL);
        assert_eq!(family.mcast_group_id("notify"), Some(0x10));
        let err = look_up(&mut ex, &socket, "no_such_fam").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(
            look_up(&mut ex, &socket, "nlctrl").unwrap().id,
            GENL_ID_CTRL
        );
    }

    #[test]
    fn the_resolver_says_the_module_is_missing() {
        let socket = NetlinkSocket::open().unwrap();
        let mut ex = exchange();
        match ex.resolve_family(&socket, &MonotonicClock, "open ipcon") {
            Ok(family) => assert_ne!(family.id, 0), // the module is loaded (in the VM)
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::ModuleNotLoaded);
                assert_eq!(
                    err.to_string(),
                    "open ipcon: ipcon kernel module not loaded (try: modprobe ipcon)"
                );
            }
        }
        assert!(ex.tracker.is_empty());
    }

    #[test]
    fn a_request_to_a_missing_family_is_rejected_by_the_kernel() {
        let socket = NetlinkSocket::open().unwrap();
        let mut ex = exchange();
        let err = ex
            .request(
                &socket,
                &MonotonicClock,
                "peer dump",
                0x7ff0,
                &Request::PeerDump,
                |_| Ok(()),
            )
            .unwrap_err();
        assert!(err.errno().is_some(), "{err}");
    }

    #[test]
    fn an_unanswered_request_times_out_at_its_tracked_deadline_and_is_forgotten() {
        let socket = NetlinkSocket::open().unwrap();
        let mut ex = Box::new(Exchange::new(Duration::from_millis(50)));
        let clock = MonotonicClock;
        // Tracked but never sent: nothing will answer it.
        let mut seq = [0u32];
        ex.begin("wait for nothing", false, &mut seq, &clock)
            .unwrap();
        let start = clock.now();
        let err = ex
            .await_completion(&socket, &clock, "wait for nothing", seq[0], 0x7ff0, |_| {
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(clock.now() - start >= Duration::from_millis(50));
        assert!(ex.tracker.is_empty());
        // The exchange still works afterwards.
        assert_eq!(
            look_up(&mut ex, &socket, "nlctrl").unwrap().id,
            GENL_ID_CTRL
        );
    }

    #[test]
    fn a_stopped_clock_never_times_out_an_answered_request() {
        // The answer is queued before the exchange looks: the clock is read
        // once, when the request begins.
        let socket = NetlinkSocket::open().unwrap();
        let mut ex = exchange();
        let clock = ManualClock::default();
        let err = ex
            .request(
                &socket,
                &clock,
                "peer dump",
                0x7ff0,
                &Request::PeerDump,
                |_| Ok(()),
            )
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::Timeout);
    }

    #[test]
    fn requests_encode_the_same_into_a_used_buffer() {
        use ipcon_core::wire::ipcon::PeerRef;
        use ipcon_core::Name;
        // The exchange encodes every request into one buffer it never clears:
        // a request after a longer one must not carry the older bytes (odd
        // lengths here, so the padding is written too).
        let long = Request::Unicast {
            to: PeerRef::Name(Name::new("a-longer-peer-name").unwrap()),
            payload: &[0xa5; 999],
        };
        let short = Request::Unicast {
            to: PeerRef::Name(Name::new("b").unwrap()),
            payload: b"xyz",
        };
        let mut used = [0xffu8; REQUEST_BUF_LEN];
        long.emit(&long.header(0x20, 1, 7), &mut used).unwrap();
        let used_len = short.emit(&short.header(0x20, 2, 7), &mut used).unwrap();
        let mut clean = [0u8; REQUEST_BUF_LEN];
        let clean_len = short.emit(&short.header(0x20, 2, 7), &mut clean).unwrap();
        assert_eq!(used[..used_len], clean[..clean_len]);
    }

    /// An `NLMSG_ERROR` answer as the kernel sends it to a request socket
    /// (capped, with the extended-ACK text): `errno` 0 is an ACK.
    fn answer(seq: u32, errno: u32, text: Option<&'static str>) -> Vec<u8> {
        use ipcon_core::wire::ack::{ErrorRepr, ExtAck};
        use ipcon_core::wire::netlink::NetlinkHeaderRepr;
        let repr = ErrorRepr {
            error: -(errno as i32),
            request: NetlinkHeaderRepr {
                message_type: 0x20,
                flags: NetlinkFlags::REQUEST,
                seq,
                port_id: 4242,
            },
            ext: ExtAck {
                message: text,
                ..ExtAck::default()
            },
        };
        let mut buf = std::vec![0u8; repr.buffer_len()];
        let len = repr.emit(&mut buf).unwrap();
        buf.truncate(len);
        buf
    }

    /// A tracker with `n` requests of one batch in flight, and their seqs.
    fn batch_in_flight(n: usize) -> (RequestTracker<MAX_BATCH_MESSAGES>, Vec<u32>) {
        let mut tracker = RequestTracker::with_first_seq(10);
        let seqs = (0..n)
            .map(|_| tracker.begin(false, 0, 1000).unwrap())
            .collect();
        (tracker, seqs)
    }

    #[test]
    fn batch_answers_name_failures_by_index_until_the_last_ack() {
        let (mut tracker, seqs) = batch_in_flight(4);
        let mut failures: Vec<(usize, i32, String)> = Vec::new();
        let mut deferred = None;
        let mut feed = |tracker: &mut RequestTracker<MAX_BATCH_MESSAGES>, datagram: &[u8]| {
            match_batch_answers(
                tracker,
                "op",
                0x20,
                &seqs,
                datagram,
                &mut deferred,
                &mut |index, errno, text: &str| failures.push((index, errno, text.to_string())),
            )
        };
        // An answer to a request that timed out before: not ours.
        assert!(!feed(&mut tracker, &answer(3, e::ENOENT, None)));
        assert!(!feed(
            &mut tracker,
            &answer(11, e::ENOENT, Some("no such peer"))
        ));
        assert!(!feed(&mut tracker, &answer(12, e::EAGAIN, None)));
        // The ACK of the last message ends the batch.
        assert!(feed(&mut tracker, &answer(13, 0, None)));
        assert!(deferred.is_none());
        assert_eq!(
            failures,
            std::vec![
                (1, e::ENOENT as i32, "no such peer".to_string()),
                (2, e::EAGAIN as i32, String::new())
            ]
        );
    }

    #[test]
    fn a_failed_last_message_ends_the_batch_and_garbage_is_an_error() {
        let (mut tracker, seqs) = batch_in_flight(2);
        let mut failures = Vec::new();
        let mut deferred = None;
        let mut on_failure = |index, errno, _: &str| failures.push((index, errno));
        // A truncated datagram: the outcome can no longer be trusted.
        let finished = match_batch_answers(
            &mut tracker,
            "op",
            0x20,
            &seqs,
            &[1, 2, 3],
            &mut deferred,
            &mut on_failure,
        );
        assert!(!finished);
        let finished = match_batch_answers(
            &mut tracker,
            "op",
            0x20,
            &seqs,
            &answer(11, e::ENOENT, None),
            &mut deferred,
            &mut on_failure,
        );
        assert!(finished);
        assert_eq!(failures, std::vec![(1, e::ENOENT as i32)]);
        assert_eq!(deferred.map(|e| e.kind()), Some(ErrorKind::Protocol));
    }
}
