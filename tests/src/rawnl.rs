//! A raw generic netlink socket and a message builder, independent of the
//! library: for what the library will not send (oversized payloads,
//! malformed messages, datagrams to another socket's port).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
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

/// ipcon command numbers (`kmod/ipcon.yaml`, through the generated spec).
pub mod cmd {
    use ipcon_linux::ipcon_core::spec::Command;

    pub const PEER_REGISTER: u8 = Command::PeerRegister.to_raw();
    pub const PEER_ATTACH: u8 = Command::PeerAttach.to_raw();
    pub const PEER_UNREGISTER: u8 = Command::PeerUnregister.to_raw();
    pub const PEER_GET: u8 = Command::PeerGet.to_raw();
    pub const UNICAST: u8 = Command::Unicast.to_raw();
    pub const GROUP_REGISTER: u8 = Command::GroupRegister.to_raw();
    pub const GROUP_UNREGISTER: u8 = Command::GroupUnregister.to_raw();
    pub const GROUP_JOIN: u8 = Command::GroupJoin.to_raw();
    pub const GROUP_LEAVE: u8 = Command::GroupLeave.to_raw();
    pub const GROUP_GET: u8 = Command::GroupGet.to_raw();
    pub const MULTICAST: u8 = Command::Multicast.to_raw();
    pub const UNICAST_MSG: u8 = Command::UnicastMsg.to_raw();
    pub const GROUP_MSG: u8 = Command::GroupMsg.to_raw();
}

/// ipcon attribute numbers (`kmod/ipcon.yaml`, through the generated spec).
pub mod attr {
    use ipcon_linux::ipcon_core::spec::Attr;

    pub const PEER_NAME: u16 = Attr::PeerName.to_raw();
    pub const GROUP_NAME: u16 = Attr::GroupName.to_raw();
    pub const PAYLOAD: u16 = Attr::Payload.to_raw();
    pub const PORT: u16 = Attr::Port.to_raw();
    pub const GID: u16 = Attr::Gid.to_raw();
    pub const COOKIE: u16 = Attr::Cookie.to_raw();
    pub const SYNC: u16 = Attr::Sync.to_raw();
    pub const ACCESS: u16 = Attr::Access.to_raw();
    pub const TICKET: u16 = Attr::Ticket.to_raw();
    pub const MAX: u16 = Attr::MAX;
}

/// Appends netlink attributes and finishes one generic netlink message.
#[derive(Debug)]
pub struct MsgBuilder {
    buf: Vec<u8>,
}

impl MsgBuilder {
    /// A message of netlink type `kind` with generic netlink `cmd`/`version`.
    pub fn new(kind: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&[cmd, version, 0, 0]);
        Self { buf }
    }

    /// Appends an attribute (padded to 4 bytes).
    pub fn attr(mut self, ty: u16, value: &[u8]) -> Self {
        let len = (4 + value.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(value);
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
        self
    }

    /// Appends a NUL-terminated string attribute.
    pub fn attr_str(self, ty: u16, value: &str) -> Self {
        let mut bytes = value.as_bytes().to_vec();
        bytes.push(0);
        self.attr(ty, &bytes)
    }

    /// Appends raw bytes (for malformed messages).
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.buf.extend_from_slice(bytes);
        self
    }

    /// The message with its length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
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

/// A bound `NETLINK_GENERIC` socket.
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
    /// Opens and binds a socket (the kernel picks the port), with extended
    /// ACKs on and short error messages.
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
    /// handing any other message of that sequence to `on_reply`.
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
            for (kind, flags, msg_seq, payload) in split_messages(&buf[..len]) {
                if msg_seq != seq {
                    continue;
                }
                if kind == NLMSG_ERROR {
                    return parse_ack(flags, payload).ok_or_else(|| "short error message".into());
                }
                on_reply(kind, payload);
            }
        }
    }

    /// Resolves a generic netlink family id by name (`None` if absent).
    pub fn family_id(&self, name: &str) -> Result<Option<u16>, String> {
        let msg = MsgBuilder::new(
            GENL_ID_CTRL,
            NLM_F_REQUEST | NLM_F_ACK,
            1,
            CTRL_CMD_GETFAMILY,
            2,
        )
        .attr_str(CTRL_ATTR_FAMILY_NAME, name)
        .finish();
        let mut id = None;
        let ack = self.request(&msg, 1, |kind, payload| {
            if kind == GENL_ID_CTRL && payload.len() >= GENL_HDRLEN {
                for (ty, value) in split_attrs(&payload[GENL_HDRLEN..]) {
                    if ty == CTRL_ATTR_FAMILY_ID && value.len() >= 2 {
                        id = Some(u16::from_ne_bytes([value[0], value[1]]));
                    }
                }
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

/// Splits a datagram into (type, flags, seq, payload) per netlink message.
pub fn split_messages(mut data: &[u8]) -> Vec<(u16, u16, u32, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        if len < NLMSG_HDRLEN || len > data.len() {
            break;
        }
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        let flags = u16::from_ne_bytes([data[6], data[7]]);
        let seq = u32::from_ne_bytes([data[8], data[9], data[10], data[11]]);
        out.push((kind, flags, seq, &data[NLMSG_HDRLEN..len]));
        let aligned = (len + 3) & !3;
        data = &data[aligned.min(data.len())..];
    }
    out
}

/// Splits netlink attributes into (type, value).
pub fn split_attrs(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        if len < 4 || len > data.len() {
            break;
        }
        let ty = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        out.push((ty, &data[4..len]));
        let aligned = (len + 3) & !3;
        data = &data[aligned.min(data.len())..];
    }
    out
}

/// Parses an `NLMSG_ERROR` payload: the errno and the extended-ACK text.
pub fn parse_ack(flags: u16, payload: &[u8]) -> Option<Ack> {
    if payload.len() < 4 + NLMSG_HDRLEN {
        return None;
    }
    let errno = -i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let echoed = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        u32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]) as usize
    };
    let (mut message, mut offset, mut missing) = (None, None, None);
    if flags & NLM_F_ACK_TLVS != 0 {
        let tlvs = payload.get(4 + ((echoed + 3) & !3)..).unwrap_or(&[]);
        let u32_of = |value: &[u8]| value.try_into().ok().map(u32::from_ne_bytes);
        for (ty, value) in split_attrs(tlvs) {
            match ty {
                NLMSGERR_ATTR_MSG => {
                    let text = value.split(|&b| b == 0).next().unwrap_or(&[]);
                    message = Some(String::from_utf8_lossy(text).into_owned());
                }
                NLMSGERR_ATTR_OFFS => offset = u32_of(value),
                NLMSGERR_ATTR_MISS_TYPE => missing = u32_of(value),
                _ => {}
            }
        }
    }
    Some(Ack {
        errno,
        message,
        offset,
        missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_messages_split_back() {
        let msg = MsgBuilder::new(0x20, NLM_F_REQUEST, 7, cmd::UNICAST, 1)
            .attr_str(attr::PEER_NAME, "abc")
            .attr(attr::PAYLOAD, b"hello")
            .finish();
        assert_eq!(msg.len() % 4, 0);
        let mut two = msg.clone();
        two.extend_from_slice(&msg);
        let split = split_messages(&two);
        assert_eq!(split.len(), 2);
        let (kind, flags, seq, payload) = split[0];
        assert_eq!((kind, flags, seq), (0x20, NLM_F_REQUEST, 7));
        assert_eq!(payload[0], cmd::UNICAST);
        let attrs = split_attrs(&payload[GENL_HDRLEN..]);
        assert_eq!(
            attrs,
            vec![
                (attr::PEER_NAME, &b"abc\0"[..]),
                (attr::PAYLOAD, &b"hello"[..])
            ]
        );
    }

    #[test]
    fn splitting_garbage_stops_cleanly() {
        assert!(split_messages(&[0xff; 15]).is_empty());
        assert!(split_messages(&[0xff; 64]).is_empty());
        assert!(split_attrs(&[3, 0, 1, 0]).is_empty());
    }

    #[test]
    fn ack_with_extended_text() {
        // errno -90, capped echo of a 16-byte header, then NLMSGERR_ATTR_MSG.
        let mut payload = (-90i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&16u32.to_ne_bytes());
        payload.extend_from_slice(&[0; 12]);
        payload.extend_from_slice(&8u16.to_ne_bytes());
        payload.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        payload.extend_from_slice(b"big\0");
        for (ty, value) in [(NLMSGERR_ATTR_OFFS, 20u32), (NLMSGERR_ATTR_MISS_TYPE, 3)] {
            payload.extend_from_slice(&8u16.to_ne_bytes());
            payload.extend_from_slice(&ty.to_ne_bytes());
            payload.extend_from_slice(&value.to_ne_bytes());
        }
        let ack = parse_ack(NLM_F_CAPPED | NLM_F_ACK_TLVS, &payload).unwrap();
        assert_eq!(ack.errno, 90);
        assert_eq!(ack.message.as_deref(), Some("big"));
        assert_eq!((ack.offset, ack.missing), (Some(20), Some(3)));
        let plain = parse_ack(NLM_F_CAPPED, &payload).unwrap();
        assert_eq!(plain.message, None);
        assert!(parse_ack(0, &payload[..10]).is_none());
    }
}
