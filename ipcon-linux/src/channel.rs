//! Request/acknowledgement exchanges with the kernel over one socket,
//! driving `ipcon-core`'s request tracker, and generic netlink family
//! look-ups through `nlctrl`.

use std::time::Duration;

use ipcon_core::machine::request::{RequestTracker, Tracked};
use ipcon_core::wire::ctrl::{FamilyRepr, GetFamilyRequest, GENL_ID_CTRL};
use ipcon_core::wire::ipcon::{parse_incoming, Incoming, Reply, Request};
use ipcon_core::wire::netlink::{align, Messages, NetlinkFlags, NetlinkPacket};
use ipcon_core::WireError;

use crate::batch::MAX_BATCH_MESSAGES;
use crate::error::{Error, ErrorKind, Result};
use crate::socket::{Deadline, NetlinkSocket};

/// Room for the largest request: a full payload, two names and the headers.
pub(crate) const REQUEST_BUF_LEN: usize = ipcon_core::spec::MAX_PAYLOAD_LEN + 256;

/// Receive buffer for answers; a dump datagram holds up to 32 KiB.
pub(crate) const REPLY_BUF_LEN: usize = 32 * 1024;

/// An answer the caller of [`Channel::request`] gets to see.
#[derive(Debug)]
pub(crate) enum Answer<'a> {
    /// A reply of the ipcon family.
    Ipcon(Reply<'a>),
    /// A reply of `nlctrl` (for family look-ups).
    Ctrl(&'a NetlinkPacket<&'a [u8]>),
}

/// The tracker's own deadlines are not used: the channel keeps the time
/// limit of an exchange itself ([`Deadline`], which reads the clock only
/// when an answer is not there yet). Every entry gets this one, and
/// `expire(u64::MAX)` forgets them all.
const UNUSED_TRACKER_DEADLINE: (u64, u64) = (0, u64::MAX);

/// A socket used for requests, with its request tracker and its request and
/// answer buffers (allocated once: requests in steady state do not
/// allocate, nor clear a buffer).
#[derive(Debug)]
pub(crate) struct Channel {
    socket: NetlinkSocket,
    /// Room for one request, or for every request of one batch.
    tracker: RequestTracker<MAX_BATCH_MESSAGES>,
    request: Box<[u8]>,
    answers: Box<[u8]>,
    timeout: Duration,
}

impl Channel {
    /// Wraps `socket`; requests fail with `Timeout` when the kernel's
    /// answers do not come within `timeout` once sent.
    pub fn new(socket: NetlinkSocket, timeout: Duration) -> Self {
        Self {
            socket,
            tracker: RequestTracker::new(),
            request: vec![0u8; REQUEST_BUF_LEN].into_boxed_slice(),
            answers: vec![0u8; REPLY_BUF_LEN].into_boxed_slice(),
            timeout,
        }
    }

    /// Gives the socket back (after registering on it).
    pub fn into_socket(self) -> NetlinkSocket {
        self.socket
    }

    /// Sends `request` to the ipcon family `family` and feeds every reply to
    /// `on_reply` until the kernel's ACK (or `NLMSG_DONE` for a dump).
    pub fn request(
        &mut self,
        operation: &'static str,
        family: u16,
        request: &Request<'_>,
        mut on_reply: impl FnMut(&Reply<'_>) -> Result<()>,
    ) -> Result<()> {
        let seq = self.begin(operation, request.is_dump())?;
        let len = match request.emit(&request.header(family, seq, 0), &mut self.request) {
            Ok(len) => len,
            Err(e) => return Err(self.abandon(seq, wire_error(operation, e))),
        };
        if let Err(e) = self.socket.send(&self.request[..len]) {
            return Err(self.abandon(seq, Error::from_io(operation, &e)));
        }
        self.await_completion(operation, seq, family, |answer| match answer {
            Answer::Ipcon(reply) => on_reply(&reply),
            Answer::Ctrl(_) => Ok(()),
        })
    }

    /// Looks a generic netlink family up by name ([`ErrorKind::NotFound`]
    /// when there is none).
    pub fn lookup_family(&mut self, name: &str) -> Result<FamilyRepr> {
        const OPERATION: &str = "look up generic netlink family";
        let seq = self.begin(OPERATION, false)?;
        let mut out = [0u8; 64];
        let request = GetFamilyRequest { name };
        let len = request
            .emit(&GetFamilyRequest::header(seq, 0), &mut out)
            .map_err(|e| self.abandon(seq, wire_error(OPERATION, e)))?;
        if let Err(e) = self.socket.send(&out[..len]) {
            return Err(self.abandon(seq, Error::from_io(OPERATION, &e)));
        }
        let mut found = None;
        self.await_completion(OPERATION, seq, GENL_ID_CTRL, |answer| {
            if let Answer::Ctrl(packet) = answer {
                found = Some(FamilyRepr::parse(packet).map_err(|e| wire_error(OPERATION, e))?);
            }
            Ok(())
        })?;
        found.ok_or_else(|| Error::protocol(OPERATION))
    }

    fn begin(&mut self, operation: &'static str, dump: bool) -> Result<u32> {
        let mut seq = [0u32; 1];
        self.begin_many(operation, dump, &mut seq)?;
        Ok(seq[0])
    }

    /// Starts tracking one request per entry of `seqs` and writes their
    /// sequence numbers there.
    fn begin_many(&mut self, operation: &'static str, dump: bool, seqs: &mut [u32]) -> Result<()> {
        let (now, timeout) = UNUSED_TRACKER_DEADLINE;
        // A request that timed out earlier is forgotten: its late answer is stale.
        while self.tracker.expire(u64::MAX).is_some() {}
        for i in 0..seqs.len() {
            match self.tracker.begin(dump, now, timeout) {
                Ok(seq) => seqs[i] = seq,
                Err(_) => {
                    self.cancel_all(&seqs[..i]);
                    return Err(Error::protocol(operation));
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

    fn abandon(&mut self, seq: u32, err: Error) -> Error {
        self.tracker.cancel(seq);
        err
    }

    /// Receives the next datagram of answers into the answer buffer before
    /// `deadline`: its length, or `None` for one to skip (not from the
    /// kernel; or truncated, which `deferred` notes as a protocol error).
    fn next_answers(
        &mut self,
        operation: &'static str,
        deadline: &mut Deadline,
        deferred: &mut Option<Error>,
    ) -> std::io::Result<Option<usize>> {
        let got = self.socket.recv_before(&mut self.answers, deadline)?;
        if got.source_port != 0 {
            return Ok(None);
        }
        if got.truncated {
            deferred.get_or_insert(Error::protocol(operation));
            return Ok(None);
        }
        Ok(Some(got.len))
    }

    /// Receives until request `seq` completed, failed or timed out.
    ///
    /// An error from `on_answer` is returned once the exchange is over, so
    /// the socket is left clean for the next request.
    fn await_completion(
        &mut self,
        operation: &'static str,
        seq: u32,
        family: u16,
        mut on_answer: impl FnMut(Answer<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut deferred: Option<Error> = None;
        let mut deadline = Deadline::after(self.timeout);
        loop {
            let len = match self.next_answers(operation, &mut deadline, &mut deferred) {
                Ok(Some(len)) => len,
                Ok(None) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    self.tracker.cancel(seq);
                    return Err(Error::new(operation, ErrorKind::Timeout));
                }
                Err(e) => return Err(self.abandon(seq, Error::from_io(operation, &e))),
            };
            for packet in Messages::new(&self.answers[..len]) {
                let Ok(packet) = packet else {
                    deferred.get_or_insert(Error::protocol(operation));
                    break;
                };
                if packet.message_type() == GENL_ID_CTRL
                    && family == GENL_ID_CTRL
                    && packet.seq() == seq
                {
                    if let Err(e) = on_answer(Answer::Ctrl(&packet)) {
                        deferred.get_or_insert(e);
                    }
                    continue;
                }
                let incoming = match parse_incoming(&packet, family) {
                    Ok(incoming) => incoming,
                    Err(e) => {
                        if packet.seq() == seq {
                            deferred.get_or_insert(wire_error(operation, e));
                        }
                        continue;
                    }
                };
                match self.tracker.handle(&incoming) {
                    Tracked::Reply { .. } => {
                        if let Incoming::Reply { reply, .. } = incoming {
                            if let Err(e) = on_answer(Answer::Ipcon(reply)) {
                                deferred.get_or_insert(e);
                            }
                        }
                    }
                    Tracked::Completed { .. } => return deferred.map_or(Ok(()), Err),
                    Tracked::Failed { errno, .. } => {
                        let mut err = Error::from_errno(operation, errno);
                        if let Incoming::Error { ext, .. } = incoming {
                            err = err.with_kernel_message(ext.message.unwrap_or(""));
                        }
                        return Err(err);
                    }
                    Tracked::Stale { .. } | Tracked::Unsolicited | Tracked::Ignored => {}
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
    pub fn request_batch(
        &mut self,
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
        self.begin_many(operation, false, seqs)?;
        if let Err(e) = stamp_batch(datagram, family, seqs) {
            self.cancel_all(seqs);
            return Err(wire_error(operation, e));
        }
        if let Err(e) = self.socket.send(datagram) {
            self.cancel_all(seqs);
            return Err(Error::from_io(operation, &e));
        }
        let outcome = self.await_batch(operation, family, seqs, on_failure);
        // The messages that got no answer succeeded; and after an error the
        // remaining answers are stale.
        self.cancel_all(seqs);
        outcome
    }

    /// Receives the answers to a batch until the last message's one.
    fn await_batch(
        &mut self,
        operation: &'static str,
        family: u16,
        seqs: &[u32],
        mut on_failure: impl FnMut(usize, i32, &str),
    ) -> Result<()> {
        let mut deferred: Option<Error> = None;
        let mut deadline = Deadline::after(self.timeout);
        loop {
            let len = match self.next_answers(operation, &mut deadline, &mut deferred) {
                Ok(Some(len)) => len,
                Ok(None) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    return Err(Error::new(operation, ErrorKind::Timeout));
                }
                // The kernel could not queue some answers: keep reading to
                // the end of the batch so the socket is clean, then fail.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    deferred.get_or_insert(Error::from_io(operation, &e).with_detail_text(
                        "answers were lost; which messages were queued is unknown",
                    ));
                    continue;
                }
                Err(e) => return Err(Error::from_io(operation, &e)),
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
                    deferred.get_or_insert(wire_error(operation, e));
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
fn stamp_batch(datagram: &mut [u8], family: u16, seqs: &[u32]) -> Result<(), WireError> {
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

/// A wire-format failure while doing `operation`.
pub(crate) fn wire_error(operation: &'static str, err: WireError) -> Error {
    match err {
        WireError::PayloadTooLarge => Error::new(operation, ErrorKind::TooBig),
        WireError::BadName(e) => Error::from(e).in_operation(operation),
        _ => Error::protocol(operation).with_detail_text(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> Channel {
        Channel::new(NetlinkSocket::open().unwrap(), Duration::from_secs(2))
    }

    #[test]
    fn resolves_nlctrl_itself_and_its_notify_group() {
        let mut ch = channel();
        let family = ch.lookup_family("nlctrl").unwrap();
        assert_eq!(family.id, GENL_ID_CTRL);
        assert!(family.version >= 1);
        assert_eq!(family.mcast_group_id("notify"), Some(0x10));
        // The channel stays usable: a second request works too.
        let again = ch.lookup_family("nlctrl").unwrap();
        assert_eq!(again.mcast_group_id("no-such-group"), None);
    }

    #[test]
    fn a_missing_family_is_not_found() {
        let mut ch = channel();
        let err = ch.lookup_family("no_such_fam").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.errno(), Some(libc::ENOENT));
        // And the next request still gets its own answer.
        assert_eq!(ch.lookup_family("nlctrl").unwrap().id, GENL_ID_CTRL);
    }

    #[test]
    fn an_overlong_family_name_fails_before_sending() {
        let mut ch = channel();
        let err = ch.lookup_family("a_name_longer_than_15").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert_eq!(ch.lookup_family("nlctrl").unwrap().id, GENL_ID_CTRL);
    }

    #[test]
    fn a_request_to_a_missing_family_is_rejected_by_the_kernel() {
        let mut ch = channel();
        // 0x7ff0 is no registered generic netlink family: the kernel answers
        // with an errno, which must come back as the error of this request.
        let err = ch
            .request("peer dump", 0x7ff0, &Request::PeerDump, |_| Ok(()))
            .unwrap_err();
        assert!(err.errno().is_some(), "{err}");
    }

    #[test]
    fn an_unanswered_request_times_out_and_is_forgotten() {
        let mut ch = Channel::new(NetlinkSocket::open().unwrap(), Duration::from_millis(50));
        // Tracked but never sent: nothing will answer it.
        let seq = ch.begin("wait for nothing", false).unwrap();
        let start = std::time::Instant::now();
        let err = ch
            .await_completion("wait for nothing", seq, 0x7ff0, |_| Ok(()))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert!(ch.tracker.is_empty());
        // The channel still works afterwards.
        assert_eq!(ch.lookup_family("nlctrl").unwrap().id, GENL_ID_CTRL);
    }

    #[test]
    fn requests_encode_the_same_into_a_used_buffer() {
        use ipcon_core::wire::ipcon::PeerRef;
        use ipcon_core::Name;
        // The channel encodes every request into one buffer it never clears:
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
        let mut used = vec![0xffu8; REQUEST_BUF_LEN];
        long.emit(&long.header(0x20, 1, 7), &mut used).unwrap();
        let used_len = short.emit(&short.header(0x20, 2, 7), &mut used).unwrap();
        let mut clean = vec![0u8; REQUEST_BUF_LEN];
        let clean_len = short.emit(&short.header(0x20, 2, 7), &mut clean).unwrap();
        assert_eq!(used[..used_len], clean[..clean_len]);
    }

    /// An `NLMSG_ERROR` answer as the kernel sends it to a request socket
    /// (capped, with the extended-ACK text): `errno` 0 is an ACK.
    fn answer(seq: u32, errno: i32, text: Option<&'static str>) -> Vec<u8> {
        use ipcon_core::wire::ack::{ErrorRepr, ExtAck};
        use ipcon_core::wire::netlink::NetlinkHeaderRepr;
        let repr = ErrorRepr {
            error: -errno,
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
        let mut buf = vec![0u8; repr.buffer_len()];
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
        let mut failures = Vec::new();
        let mut deferred = None;
        let mut feed = |tracker: &mut RequestTracker<MAX_BATCH_MESSAGES>, datagram: &[u8]| {
            match_batch_answers(
                tracker,
                "op",
                0x20,
                &seqs,
                datagram,
                &mut deferred,
                &mut |index, errno, text: &str| failures.push((index, errno, text.to_owned())),
            )
        };
        // An answer to a request that timed out before: not ours.
        assert!(!feed(&mut tracker, &answer(3, libc::ENOENT, None)));
        assert!(!feed(
            &mut tracker,
            &answer(11, libc::ENOENT, Some("no such peer"))
        ));
        assert!(!feed(&mut tracker, &answer(12, libc::EAGAIN, None)));
        // The ACK of the last message ends the batch.
        assert!(feed(&mut tracker, &answer(13, 0, None)));
        assert!(deferred.is_none());
        assert_eq!(
            failures,
            vec![
                (1, libc::ENOENT, "no such peer".to_owned()),
                (2, libc::EAGAIN, String::new())
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
            &answer(11, libc::ENOENT, None),
            &mut deferred,
            &mut on_failure,
        );
        assert!(finished);
        assert_eq!(failures, vec![(1, libc::ENOENT)]);
        assert_eq!(deferred.map(|e| e.kind()), Some(ErrorKind::Protocol));
    }

    #[test]
    fn batch_headers_get_family_seqs_and_one_ack_on_the_last() {
        let mut batch = crate::Batch::new();
        batch.unicast("a", b"1").unwrap();
        batch.multicast("g", b"22").unwrap();
        batch.unicast_to_port(9, b"333").unwrap();
        let (encoded, count) = batch.encoded_mut();
        stamp_batch(encoded, 0x1b, &[7, 8, 9][..count]).unwrap();
        let stamped: Vec<(u16, u32, NetlinkFlags)> = Messages::new(encoded)
            .map(|p| {
                let p = p.unwrap();
                (p.message_type(), p.seq(), p.flags())
            })
            .collect();
        let plain = NetlinkFlags::REQUEST;
        assert_eq!(
            stamped,
            vec![
                (0x1b, 7, plain),
                (0x1b, 8, plain),
                (0x1b, 9, plain | NetlinkFlags::ACK)
            ]
        );
        // A count that does not match the encoded messages is refused.
        assert!(stamp_batch(encoded, 0x1b, &[1, 2]).is_err());
        assert!(stamp_batch(encoded, 0x1b, &[1, 2, 3, 4]).is_err());
    }
}
