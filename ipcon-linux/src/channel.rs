//! Request/acknowledgement exchanges with the kernel over one socket,
//! driving `ipcon-core`'s request tracker, and generic netlink family
//! look-ups through `nlctrl`.

use std::time::{Duration, Instant};

use ipcon_core::machine::request::{RequestTracker, Tracked};
use ipcon_core::wire::ctrl::{FamilyRepr, GetFamilyRequest, GENL_ID_CTRL};
use ipcon_core::wire::ipcon::{parse_incoming, Incoming, Reply, Request};
use ipcon_core::wire::netlink::{Messages, NetlinkPacket};
use ipcon_core::WireError;

use crate::error::{Error, ErrorKind, Result};
use crate::socket::{NetlinkSocket, Wait};

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

/// A socket used for requests, with its request tracker and its answer
/// buffer (allocated once: requests in steady state do not allocate).
#[derive(Debug)]
pub(crate) struct Channel {
    socket: NetlinkSocket,
    tracker: RequestTracker<1>,
    answers: Box<[u8]>,
    timeout: Duration,
    epoch: Instant,
}

impl Channel {
    /// Wraps `socket`; requests fail with `Timeout` when the kernel does not
    /// answer within `timeout`.
    pub fn new(socket: NetlinkSocket, timeout: Duration) -> Self {
        Self {
            socket,
            tracker: RequestTracker::new(),
            answers: vec![0u8; REPLY_BUF_LEN].into_boxed_slice(),
            timeout,
            epoch: Instant::now(),
        }
    }

    /// Gives the socket back (after registering on it).
    pub fn into_socket(self) -> NetlinkSocket {
        self.socket
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
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
        let mut out = [0u8; REQUEST_BUF_LEN];
        let len = request
            .emit(&request.header(family, seq, 0), &mut out)
            .map_err(|e| self.abandon(seq, wire_error(operation, e)))?;
        self.send(operation, seq, &out[..len])?;
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
        self.send(OPERATION, seq, &out[..len])?;
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
        let now = self.now_ms();
        let timeout = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        // A request that timed out earlier is forgotten: its late answer is stale.
        while self.tracker.expire(u64::MAX).is_some() {}
        self.tracker
            .begin(dump, now, timeout)
            .map_err(|_| Error::protocol(operation))
    }

    fn abandon(&mut self, seq: u32, err: Error) -> Error {
        self.tracker.cancel(seq);
        err
    }

    fn send(&mut self, operation: &'static str, seq: u32, datagram: &[u8]) -> Result<()> {
        self.socket
            .send(datagram)
            .map_err(|e| self.abandon(seq, Error::from_io(operation, &e)))
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
        let deadline = self.tracker.next_deadline().unwrap_or(0);
        loop {
            let left = deadline.saturating_sub(self.now_ms());
            let got = match self.socket.recv(
                &mut self.answers,
                Wait::Timeout(Duration::from_millis(left)),
            ) {
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    self.tracker.cancel(seq);
                    return Err(Error::new(operation, ErrorKind::Timeout));
                }
                Err(e) => return Err(self.abandon(seq, Error::from_io(operation, &e))),
            };
            if got.source_port != 0 {
                continue;
            }
            if got.truncated {
                deferred.get_or_insert(Error::protocol(operation));
                continue;
            }
            for packet in Messages::new(&self.answers[..got.len]) {
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
}
