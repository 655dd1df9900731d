//! Netlink and generic netlink messages written and read by hand, without
//! ipcon-core's emitters and parsers — what the end-to-end suite sends that
//! the library will not (oversized payloads, malformed messages, datagrams
//! to another socket's port) and what the benchmark's raw loop puts on the
//! wire — plus a raw socket for the suite.
//!
//! A message is a `nlmsghdr` (length, type, flags, sequence, port: 16
//! bytes), a `genlmsghdr` (command, version, reserved: 4 bytes) and
//! attributes (`nlattr`: length, type, value), each padded to 4 bytes.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct genlmsghdr)`.
pub const GENL_HDRLEN: usize = 4;
/// `sizeof(struct nlattr)`.
pub const NLA_HDRLEN: usize = 4;
/// `NLMSG_ERROR`: an error or (error 0) an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP`.
pub const NLM_F_DUMP: u16 = 0x300;
/// The error message carries extended-ACK attributes.
const NLM_F_ACK_TLVS: u16 = 0x200;
/// The error message echoes only the request's header.
const NLM_F_CAPPED: u16 = 0x100;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_OFFS: u16 = 2;
const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const NETLINK_EXT_ACK: i32 = 11;
const NETLINK_CAP_ACK: i32 = 10;
const NETLINK_NO_ENOBUFS: i32 = 5;

/// ipcon command numbers (`kmod/ipcon.yaml`), written down independently of
/// ipcon-core (`tests/matches_the_library.rs` checks them against its
/// generated spec).
pub mod cmd {
    pub const PEER_REGISTER: u8 = 1;
    pub const PEER_ATTACH: u8 = 2;
    pub const PEER_UNREGISTER: u8 = 3;
    pub const PEER_GET: u8 = 4;
    pub const UNICAST: u8 = 5;
    pub const GROUP_REGISTER: u8 = 6;
    pub const GROUP_UNREGISTER: u8 = 7;
    pub const GROUP_JOIN: u8 = 8;
    pub const GROUP_LEAVE: u8 = 9;
    pub const GROUP_GET: u8 = 10;
    pub const MULTICAST: u8 = 11;
    /// A unicast delivery, as the receiver gets it.
    pub const UNICAST_MSG: u8 = 14;
    /// A group message delivery.
    pub const GROUP_MSG: u8 = 15;
}

/// ipcon attribute numbers (`kmod/ipcon.yaml`).
pub mod attr {
    pub const PEER_NAME: u16 = 1;
    pub const GROUP_NAME: u16 = 2;
    pub const PAYLOAD: u16 = 3;
    pub const PORT: u16 = 4;
    pub const PID: u16 = 5;
    pub const UID: u16 = 6;
    pub const GID: u16 = 7;
    pub const COOKIE: u16 = 9;
    pub const SYNC: u16 = 10;
    pub const ACCESS: u16 = 16;
    pub const PAD: u16 = 26;
    pub const TICKET: u16 = 27;
    pub const ERROR: u16 = 28;
    pub const EXPECT_UID: u16 = 30;
    pub const MISSED: u16 = 13;
    pub const DELIVERED: u16 = 14;
    pub const DROPPED: u16 = 15;
    pub const PEER_FLAGS: u16 = 8;
    pub const PACKED: u16 = 37;
    pub const PACK: u16 = 38;
    pub const STAMP_ROOM: u16 = 39;
    /// The highest attribute number.
    pub const MAX: u16 = 39;
    /// `NLA_F_NESTED`, set on a nest's type.
    pub const F_NESTED: u16 = 0x8000;
    /// The attributes of a `pack-entry` nest.
    pub mod pack_entry {
        pub const PAYLOAD: u16 = 1;
    }
}

/// Rounds `len` up to netlink's 4-byte alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Builds one generic netlink message in a buffer kept from one message to
/// the next (no allocation once grown).
///
/// ```
/// use ipcon_test_support::rawnl::{attr, cmd, MsgBuilder, NLM_F_REQUEST};
/// let bytes = MsgBuilder::new()
///     .begin(0x20, NLM_F_REQUEST, 7, cmd::UNICAST, 1)
///     .attr_str(attr::PEER_NAME, "srv")
///     .attr(attr::PAYLOAD, b"hi")
///     .finish()
///     .to_vec();
/// assert_eq!(bytes.len(), 16 + 4 + 8 + 8);
/// ```
#[derive(Debug, Default, Clone)]
pub struct MsgBuilder {
    bytes: Vec<u8>,
}

impl MsgBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a message of netlink type `kind` (a family id) with `flags`,
    /// `seq` and generic netlink `command`/`version`; the length is written
    /// by [`MsgBuilder::finish`]. Whatever was built before is dropped.
    pub fn begin(
        &mut self,
        kind: u16,
        flags: u16,
        seq: u32,
        command: u8,
        version: u8,
    ) -> &mut Self {
        self.bytes.clear();
        self.bytes.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(&flags.to_ne_bytes());
        self.bytes.extend_from_slice(&seq.to_ne_bytes());
        self.bytes.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel fills it in
        self.bytes.extend_from_slice(&[command, version, 0, 0]);
        self
    }

    /// Appends an attribute with `value` (padded).
    pub fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let len = u16::try_from(NLA_HDRLEN + value.len()).expect("attribute fits a u16 length");
        self.bytes.extend_from_slice(&len.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(value);
        self.bytes.resize(align(self.bytes.len()), 0);
        self
    }

    /// Appends a NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, text: &str) -> &mut Self {
        let len = u16::try_from(NLA_HDRLEN + text.len() + 1).expect("string fits a u16 length");
        self.bytes.extend_from_slice(&len.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(text.as_bytes());
        self.bytes.push(0);
        self.bytes.resize(align(self.bytes.len()), 0);
        self
    }

    /// Appends raw bytes (for malformed messages).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// Writes the total length into the header; the finished message.
    pub fn finish(&mut self) -> &[u8] {
        let len = u32::try_from(self.bytes.len()).expect("message fits a u32 length");
        self.bytes[..4].copy_from_slice(&len.to_ne_bytes());
        &self.bytes
    }
}

/// One netlink message of a received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// `nlmsg_type`: a family id, or `NLMSG_ERROR`/`NLMSG_DONE`.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// What follows the netlink header.
    pub body: &'a [u8],
}

impl<'a> Packet<'a> {
    /// For `NLMSG_ERROR`: the errno (0 for an acknowledgement).
    pub fn ack_errno(&self) -> Option<i32> {
        if self.kind != NLMSG_ERROR {
            return None;
        }
        let error = i32::from_ne_bytes(self.body.get(..4)?.try_into().ok()?);
        Some(-error)
    }

    /// For `NLMSG_ERROR`: the extended-ACK attributes, if the kernel sent
    /// any.
    fn ack_tlvs(&self) -> Option<Attrs<'a>> {
        self.ack_errno()?;
        let echoed = if self.flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            u32::from_ne_bytes(self.body.get(4..8)?.try_into().ok()?) as usize
        };
        if self.flags & NLM_F_ACK_TLVS == 0 {
            return None;
        }
        Some(Attrs(self.body.get(4 + align(echoed)..)?))
    }

    /// For `NLMSG_ERROR`: the extended-ACK text, if the kernel sent one.
    pub fn ack_message(&self) -> Option<&'a str> {
        let text = self.ack_tlvs()?.get(NLMSGERR_ATTR_MSG)?;
        let text = text.split(|&b| b == 0).next().unwrap_or(&[]);
        std::str::from_utf8(text).ok()
    }

    /// For `NLMSG_ERROR`: everything it says (errno, text, offending
    /// attribute's offset, missing attribute).
    pub fn ack(&self) -> Option<Ack> {
        let errno = self.ack_errno()?;
        let tlvs = self.ack_tlvs();
        Some(Ack {
            errno,
            message: self.ack_message().map(str::to_owned),
            offset: tlvs.and_then(|t| t.u32(NLMSGERR_ATTR_OFFS)),
            missing: tlvs.and_then(|t| t.u32(NLMSGERR_ATTR_MISS_TYPE)),
        })
    }

    /// For a generic netlink message: its command and attribute stream.
    pub fn genl(&self) -> Option<(u8, Attrs<'a>)> {
        let command = *self.body.first()?;
        let attrs = self.body.get(GENL_HDRLEN..)?;
        Some((command, Attrs(attrs)))
    }
}

/// Splits a datagram into its netlink messages; stops at the first one
/// whose length does not fit.
pub fn packets(datagram: &[u8]) -> impl Iterator<Item = Packet<'_>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        let len = u32::from_ne_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return None;
        }
        let packet = Packet {
            kind: u16::from_ne_bytes([rest[4], rest[5]]),
            flags: u16::from_ne_bytes([rest[6], rest[7]]),
            seq: u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]),
            body: &rest[NLMSG_HDRLEN..len],
        };
        rest = rest.get(align(len)..).unwrap_or(&[]);
        Some(packet)
    })
}

/// An attribute stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attrs<'a>(pub &'a [u8]);

impl<'a> Attrs<'a> {
    /// Every attribute as (type, value), nested and byte-order flags masked
    /// off; stops at the first one whose length does not fit.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &'a [u8])> {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            let len = usize::from(u16::from_ne_bytes(rest.get(..2)?.try_into().ok()?));
            let kind = u16::from_ne_bytes(rest.get(2..4)?.try_into().ok()?) & 0x3fff;
            if len < NLA_HDRLEN || len > rest.len() {
                return None;
            }
            let value = &rest[NLA_HDRLEN..len];
            rest = rest.get(align(len)..).unwrap_or(&[]);
            Some((kind, value))
        })
    }

    /// The value of the first attribute of type `kind`.
    pub fn get(&self, kind: u16) -> Option<&'a [u8]> {
        let mut rest = self.0;
        while rest.len() >= NLA_HDRLEN {
            let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
            let this = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
            if len < NLA_HDRLEN || len > rest.len() {
                return None;
            }
            if this == kind {
                return Some(&rest[NLA_HDRLEN..len]);
            }
            rest = rest.get(align(len)..).unwrap_or(&[]);
        }
        None
    }

    /// A `u16` attribute.
    pub fn u16(&self, kind: u16) -> Option<u16> {
        Some(u16::from_ne_bytes(
            self.get(kind)?.get(..2)?.try_into().ok()?,
        ))
    }

    /// A `u32` attribute.
    pub fn u32(&self, kind: u16) -> Option<u32> {
        Some(u32::from_ne_bytes(
            self.get(kind)?.get(..4)?.try_into().ok()?,
        ))
    }

    /// A `u64` attribute.
    pub fn u64(&self, kind: u16) -> Option<u64> {
        Some(u64::from_ne_bytes(
            self.get(kind)?.get(..8)?.try_into().ok()?,
        ))
    }
}

/// What the kernel answered to a request with `NLM_F_ACK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// 0 for success, else the (positive) errno.
    pub errno: i32,
    /// The extended-ACK text, if any.
    pub message: Option<String>,
    /// The offending attribute's offset from the start of the request
    /// (`NLMSGERR_ATTR_OFFS`), if the kernel named one.
    pub offset: Option<u32>,
    /// The type of a missing required attribute (`NLMSGERR_ATTR_MISS_TYPE`,
    /// Linux 6.0+), if the kernel reported one.
    pub missing: Option<u32>,
}

/// A bound `NETLINK_GENERIC` socket, with extended ACKs, short error
/// messages and no `ENOBUFS`.
#[derive(Debug)]
pub struct RawSocket {
    fd: OwnedFd,
    port: u32,
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl RawSocket {
    /// Opens and binds a socket (the kernel picks the port).
    pub fn open() -> io::Result<Self> {
        // SAFETY: plain socket(2); the returned descriptor is owned below.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        })?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_nl of `len` bytes.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                len,
            )
        })?;
        let mut got_len = len;
        // SAFETY: `addr` has room for `got_len` bytes.
        check(unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                &mut addr as *mut libc::sockaddr_nl as *mut libc::sockaddr,
                &mut got_len,
            )
        })?;
        let socket = Self {
            fd,
            port: addr.nl_pid,
        };
        socket.set_netlink_option(NETLINK_EXT_ACK, 1)?;
        socket.set_netlink_option(NETLINK_CAP_ACK, 1)?;
        socket.set_netlink_option(NETLINK_NO_ENOBUFS, 1)?;
        Ok(socket)
    }

    /// The socket's netlink port id.
    pub fn port(&self) -> u32 {
        self.port
    }

    fn set_netlink_option(&self, option: i32, value: i32) -> io::Result<()> {
        // SAFETY: `value` is a c_int living across the call.
        check(unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_NETLINK,
                option,
                &value as *const i32 as *const libc::c_void,
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        })
        .map(drop)
    }

    /// Sends `bytes` to port `port` (0 = the kernel).
    pub fn send_to(&self, port: u32, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_pid = port;
        // SAFETY: `bytes` and `addr` are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                bytes.as_ptr() as *const libc::c_void,
                bytes.len(),
                0,
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends `bytes` to the kernel.
    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        self.send_to(0, bytes)
    }

    /// Receives one datagram, waiting at most `limit` (`None` = don't wait);
    /// `Ok(None)` when nothing came.
    pub fn recv(&self, buf: &mut [u8], limit: Option<Duration>) -> io::Result<Option<usize>> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = limit.map_or(0, |d| d.as_millis().min(i32::MAX as u128) as i32);
        // SAFETY: one valid pollfd.
        let ready = check(unsafe { libc::poll(&mut pfd, 1, ms) })?;
        if ready == 0 {
            return Ok(None);
        }
        // SAFETY: `buf` is writable for its length.
        let got = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if got < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(err);
        }
        Ok(Some(got as usize))
    }

    /// Throws away everything queued.
    pub fn drain(&self) {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(Some(_)) = self.recv(&mut buf, None) {}
    }

    /// Sends a request and waits for the ACK of sequence number `seq`,
    /// handing any other message of that sequence to `on_reply` (its type
    /// and body).
    pub fn request(
        &self,
        bytes: &[u8],
        seq: u32,
        mut on_reply: impl FnMut(u16, &[u8]),
    ) -> Result<Ack, String> {
        self.send(bytes).map_err(|e| format!("send: {e}"))?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let len = self
                .recv(&mut buf, Some(Duration::from_secs(5)))
                .map_err(|e| format!("recv: {e}"))?
                .ok_or("no answer from the kernel within 5s")?;
            for packet in packets(&buf[..len]) {
                if packet.seq != seq {
                    continue;
                }
                if let Some(ack) = packet.ack() {
                    return Ok(ack);
                }
                on_reply(packet.kind, packet.body);
            }
        }
    }

    /// Resolves a generic netlink family id by name (`None` if absent).
    pub fn family_id(&self, name: &str) -> Result<Option<u16>, String> {
        let mut msg = MsgBuilder::new();
        msg.begin(
            GENL_ID_CTRL,
            NLM_F_REQUEST | NLM_F_ACK,
            1,
            CTRL_CMD_GETFAMILY,
            2,
        )
        .attr_str(CTRL_ATTR_FAMILY_NAME, name);
        let mut id = None;
        let ack = self.request(msg.finish(), 1, |kind, body| {
            if kind != GENL_ID_CTRL {
                return;
            }
            if let Some(attrs) = body.get(GENL_HDRLEN..) {
                id = id.or(Attrs(attrs).u16(CTRL_ATTR_FAMILY_ID));
            }
        })?;
        match ack.errno {
            0 => Ok(id),
            libc::ENOENT => Ok(None),
            errno => Err(format!("resolving {name}: errno {errno}")),
        }
    }

    /// The ipcon family id; an error when the module is not loaded.
    pub fn ipcon_family(&self) -> Result<u16, String> {
        self.family_id("ipcon")?
            .ok_or_else(|| "the ipcon family is not registered".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_messages_split_back() {
        let mut builder = MsgBuilder::new();
        let msg = builder
            .begin(0x20, NLM_F_REQUEST, 7, cmd::UNICAST, 1)
            .attr_str(attr::PEER_NAME, "abc")
            .attr(attr::PAYLOAD, b"hello")
            .finish()
            .to_vec();
        assert_eq!(msg.len() % 4, 0);
        let mut two = msg.clone();
        two.extend_from_slice(&msg);
        let split: Vec<Packet<'_>> = packets(&two).collect();
        assert_eq!(split.len(), 2);
        let p = split[0];
        assert_eq!((p.kind, p.flags, p.seq), (0x20, NLM_F_REQUEST, 7));
        let (command, attrs) = p.genl().unwrap();
        assert_eq!(command, cmd::UNICAST);
        let all: Vec<(u16, &[u8])> = attrs.iter().collect();
        assert_eq!(
            all,
            vec![
                (attr::PEER_NAME, &b"abc\0"[..]),
                (attr::PAYLOAD, &b"hello"[..])
            ]
        );
        assert_eq!(attrs.get(attr::PAYLOAD), Some(&b"hello"[..]));
        // The builder is reused: a shorter message leaves nothing behind.
        let short = builder.begin(0x20, 0, 8, cmd::PEER_GET, 1).finish();
        assert_eq!(short.len(), NLMSG_HDRLEN + GENL_HDRLEN);
    }

    #[test]
    fn splitting_garbage_stops_cleanly() {
        assert_eq!(packets(&[0xff; 15]).count(), 0);
        assert_eq!(packets(&[0xff; 64]).count(), 0);
        assert_eq!(Attrs(&[3, 0, 1, 0]).iter().count(), 0);
        assert_eq!(Attrs(&[3, 0, 1, 0]).get(1), None);
    }

    fn error_message(seq: u32, errno: i32, flags: u16, text: Option<&str>) -> Vec<u8> {
        error_message_with(seq, errno, flags, text, &[])
    }

    fn error_message_with(
        seq: u32,
        errno: i32,
        flags: u16,
        text: Option<&str>,
        numbers: &[(u16, u32)],
    ) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&99u32.to_ne_bytes());
        m.extend_from_slice(&(-errno).to_ne_bytes());
        m.extend_from_slice(&16u32.to_ne_bytes()); // the request's header, echoed
        m.extend_from_slice(&[0; 12]);
        if let Some(text) = text {
            let len = (4 + text.len() + 1) as u16;
            m.extend_from_slice(&len.to_ne_bytes());
            m.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
            m.extend_from_slice(text.as_bytes());
            m.push(0);
            m.resize(align(m.len()), 0);
        }
        for (kind, value) in numbers {
            m.extend_from_slice(&8u16.to_ne_bytes());
            m.extend_from_slice(&kind.to_ne_bytes());
            m.extend_from_slice(&value.to_ne_bytes());
        }
        let len = m.len() as u32;
        m[..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn acks_errors_and_their_texts_are_read() {
        let mut datagram = error_message(5, 0, NLM_F_CAPPED, None);
        datagram.extend(error_message(
            6,
            90,
            NLM_F_CAPPED | NLM_F_ACK_TLVS,
            Some("big"),
        ));
        let got: Vec<_> = packets(&datagram)
            .map(|p| (p.seq, p.ack_errno(), p.ack_message()))
            .collect();
        assert_eq!(got, [(5, Some(0), None), (6, Some(90), Some("big"))]);
        // A truncated second message is not read.
        assert_eq!(packets(&datagram[..50]).count(), 1);
    }

    #[test]
    fn the_offending_and_the_missing_attribute_are_read() {
        let datagram = error_message_with(
            9,
            22,
            NLM_F_CAPPED | NLM_F_ACK_TLVS,
            Some("bad"),
            &[(NLMSGERR_ATTR_OFFS, 20), (NLMSGERR_ATTR_MISS_TYPE, 3)],
        );
        let ack = packets(&datagram).next().and_then(|p| p.ack()).unwrap();
        assert_eq!(
            ack,
            Ack {
                errno: 22,
                message: Some("bad".into()),
                offset: Some(20),
                missing: Some(3),
            }
        );
        // Without NLM_F_ACK_TLVS the same bytes carry no extended ACK.
        let plain = error_message_with(9, 22, NLM_F_CAPPED, None, &[(NLMSGERR_ATTR_OFFS, 20)]);
        let ack = packets(&plain).next().and_then(|p| p.ack()).unwrap();
        assert_eq!((ack.message, ack.offset, ack.missing), (None, None, None));
    }
}
