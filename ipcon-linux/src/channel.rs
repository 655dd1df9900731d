//! Request/acknowledgement exchanges with the kernel over one socket, and
//! generic netlink family resolution through `nlctrl`.

use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};
use crate::proto::ctrl;
use crate::socket::{NetlinkSocket, Wait};
use crate::wire::{
    get_str, get_u16, get_u32, parse_done, parse_error, Attrs, GenlMessage, Messages,
    RequestBuilder, NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};

/// Room for the largest request: a full payload, two names and the headers.
pub(crate) const REQUEST_BUF_LEN: usize = crate::proto::spec::MAX_PAYLOAD_LEN + 256;

/// Receive buffer for replies; a dump datagram holds up to 32 KiB.
pub(crate) const REPLY_BUF_LEN: usize = 32 * 1024;

/// Whether a request is a single `do` or a `dump`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestKind {
    /// One reply (optional) then the ACK.
    Do,
    /// Many replies ended by `NLMSG_DONE`.
    Dump,
}

/// One request's identity: what it is for (error messages), where it goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    pub operation: &'static str,
    pub family: u16,
    pub version: u8,
    pub cmd: u8,
    pub kind: RequestKind,
}

/// A socket used for requests, with its sequence counter and reply buffer
/// (allocated once, so requests in steady state do not allocate).
#[derive(Debug)]
pub(crate) struct Channel {
    socket: NetlinkSocket,
    seq: u32,
    replies: Box<[u8]>,
    timeout: Duration,
}

impl Channel {
    /// Wraps `socket`; requests fail with `Timeout` when the kernel does not
    /// answer within `timeout`.
    pub fn new(socket: NetlinkSocket, timeout: Duration) -> Self {
        Self {
            socket,
            seq: 0,
            replies: vec![0u8; REPLY_BUF_LEN].into_boxed_slice(),
            timeout,
        }
    }

    /// Gives the socket back (after registering on it).
    pub fn into_socket(self) -> NetlinkSocket {
        self.socket
    }

    /// Sends a request built by `build` and feeds every reply message to
    /// `on_reply` until the kernel's ACK (or `NLMSG_DONE` for a dump).
    ///
    /// An error from `on_reply` is returned after the exchange completed, so
    /// the socket is left clean for the next request.
    pub fn request(
        &mut self,
        req: Request,
        build: impl FnOnce(&mut RequestBuilder<'_>),
        mut on_reply: impl FnMut(GenlMessage<'_>) -> Result<()>,
    ) -> Result<()> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let seq = self.seq;
        let flags = match req.kind {
            RequestKind::Do => NLM_F_REQUEST | NLM_F_ACK,
            RequestKind::Dump => NLM_F_REQUEST | NLM_F_DUMP,
        };
        let mut out = [0u8; REQUEST_BUF_LEN];
        let mut builder =
            RequestBuilder::new(&mut out, req.family, flags, seq, req.cmd, req.version);
        build(&mut builder);
        let datagram = builder
            .finish()
            .map_err(|_| Error::new(req.operation, ErrorKind::TooBig))?;
        self.socket
            .send(datagram)
            .map_err(|e| Error::from_io(req.operation, &e))?;

        let mut deferred: Option<Error> = None;
        loop {
            let got = self
                .socket
                .recv(&mut self.replies, Wait::Timeout(self.timeout))
                .map_err(|e| Error::from_io(req.operation, &e))?;
            if got.source_port != 0 {
                continue;
            }
            if got.truncated {
                return Err(Error::protocol(req.operation));
            }
            for msg in Messages::new(&self.replies[..got.len]) {
                let msg = msg.map_err(|_| Error::protocol(req.operation))?;
                if msg.seq != seq {
                    // An answer to an earlier request that timed out.
                    continue;
                }
                match msg.kind {
                    NLMSG_ERROR => {
                        let ack = parse_error(msg.payload, msg.flags)
                            .map_err(|_| Error::protocol(req.operation))?;
                        if ack.errno != 0 {
                            return Err(Error::from_errno(req.operation, ack.errno)
                                .with_kernel_message(ack.message.unwrap_or("")));
                        }
                        return deferred.map_or(Ok(()), Err);
                    }
                    NLMSG_DONE if req.kind == RequestKind::Dump => {
                        let done = parse_done(msg.payload, msg.flags);
                        if done.errno != 0 {
                            return Err(Error::from_errno(req.operation, done.errno)
                                .with_kernel_message(done.message.unwrap_or("")));
                        }
                        return deferred.map_or(Ok(()), Err);
                    }
                    kind if kind < NLMSG_MIN_TYPE => {}
                    kind if kind == req.family => {
                        let result = GenlMessage::parse(msg.payload)
                            .map_err(|_| Error::protocol(req.operation))
                            .and_then(&mut on_reply);
                        if let Err(e) = result {
                            deferred.get_or_insert(e);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A resolved generic netlink family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    /// Its dynamic id (the netlink message type of its messages).
    pub id: u16,
    /// The version the kernel side registered.
    pub version: u32,
    /// The id of the multicast group asked for, if the family has it.
    pub group: Option<u32>,
}

/// Asks `nlctrl` for family `name` and the id of its multicast group
/// `group`. A missing family is `NotFound`.
pub(crate) fn resolve_family(channel: &mut Channel, name: &str, group: &str) -> Result<Family> {
    let mut family = None;
    channel.request(
        Request {
            operation: "resolve family",
            family: ctrl::FAMILY_ID,
            version: ctrl::VERSION,
            cmd: ctrl::CMD_GETFAMILY,
            kind: RequestKind::Do,
        },
        |b| {
            b.attr_str(ctrl::ATTR_FAMILY_NAME, name);
        },
        |reply| {
            let mut id = None;
            let mut version = 0;
            let mut group_id = None;
            for (ty, v) in reply.attrs.iter() {
                match ty {
                    ctrl::ATTR_FAMILY_ID => id = get_u16(v),
                    ctrl::ATTR_VERSION => version = get_u32(v).unwrap_or(0),
                    ctrl::ATTR_MCAST_GROUPS => {
                        group_id = group_id.or_else(|| find_group(Attrs::new(v), group));
                    }
                    _ => {}
                }
            }
            let id = id.ok_or_else(|| Error::protocol("resolve family"))?;
            family = Some(Family {
                id,
                version,
                group: group_id,
            });
            Ok(())
        },
    )?;
    family.ok_or_else(|| Error::protocol("resolve family"))
}

/// Finds `name` in a nested `CTRL_ATTR_MCAST_GROUPS` list.
fn find_group(groups: Attrs<'_>, name: &str) -> Option<u32> {
    groups.iter().find_map(|(_, entry)| {
        let mut id = None;
        let mut matches = false;
        for (ty, v) in Attrs::new(entry).iter() {
            match ty {
                ctrl::ATTR_MCAST_GRP_NAME => matches = get_str(v) == Some(name),
                ctrl::ATTR_MCAST_GRP_ID => id = get_u32(v),
                _ => {}
            }
        }
        id.filter(|_| matches)
    })
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
        let family = resolve_family(&mut ch, "nlctrl", "notify").unwrap();
        assert_eq!(family.id, ctrl::FAMILY_ID);
        assert!(family.version >= 1);
        assert_eq!(family.group, Some(0x10));
        // The channel stays usable: a second request works too.
        let again = resolve_family(&mut ch, "nlctrl", "no-such-group").unwrap();
        assert_eq!(again.group, None);
    }

    #[test]
    fn a_missing_family_is_not_found() {
        let mut ch = channel();
        let err = resolve_family(&mut ch, "no_such_fam", "g").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.errno(), Some(libc::ENOENT));
    }

    #[test]
    fn a_dump_of_all_families_ends_with_done() {
        let mut ch = channel();
        let mut names = Vec::new();
        ch.request(
            Request {
                operation: "dump families",
                family: ctrl::FAMILY_ID,
                version: ctrl::VERSION,
                cmd: ctrl::CMD_GETFAMILY,
                kind: RequestKind::Dump,
            },
            |_| {},
            |reply| {
                for (ty, v) in reply.attrs.iter() {
                    if ty == ctrl::ATTR_FAMILY_NAME {
                        names.push(get_str(v).unwrap_or("?").to_owned());
                    }
                }
                Ok(())
            },
        )
        .unwrap();
        assert!(names.iter().any(|n| n == "nlctrl"), "{names:?}");
    }

    #[test]
    fn an_invalid_request_reports_the_errno() {
        let mut ch = channel();
        // nlctrl has no command 200: the kernel answers EOPNOTSUPP.
        let err = ch
            .request(
                Request {
                    operation: "bogus",
                    family: ctrl::FAMILY_ID,
                    version: ctrl::VERSION,
                    cmd: 200,
                    kind: RequestKind::Do,
                },
                |_| {},
                |_| Ok(()),
            )
            .unwrap_err();
        assert!(err.errno().is_some(), "{err}");
    }
}
