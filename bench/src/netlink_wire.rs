//! Netlink and generic netlink messages written and read by hand, for the
//! raw loop: the bytes ipcon-linux puts on the wire, without ipcon-core's
//! emitters and parsers (only its numeric constants).
//!
//! A message is a `nlmsghdr` (length, type, flags, sequence, port: 16
//! bytes), a `genlmsghdr` (command, version, reserved: 4 bytes) and
//! attributes (`nlattr`: length, type, value), each padded to 4 bytes.

/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct genlmsghdr)`.
pub const GENL_HDRLEN: usize = 4;
/// `sizeof(struct nlattr)`.
pub const NLA_HDRLEN: usize = 4;

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLMSG_ERROR`: an error or (error 0) an acknowledgement.
pub const NLMSG_ERROR: u16 = 0x2;

/// Rounds `len` up to netlink's 4-byte alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Builds one request in a reusable buffer.
#[derive(Debug, Default)]
pub struct RequestBuf {
    bytes: Vec<u8>,
}

impl RequestBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a generic netlink request to `family` with `NLM_F_REQUEST |
    /// NLM_F_ACK` (the length is written by [`RequestBuf::finish`]).
    pub fn begin(&mut self, family: u16, seq: u32, command: u8, version: u8) {
        self.bytes.clear();
        self.bytes.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len
        self.bytes.extend_from_slice(&family.to_ne_bytes());
        self.bytes
            .extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        self.bytes.extend_from_slice(&seq.to_ne_bytes());
        self.bytes.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel fills it in
        self.bytes.extend_from_slice(&[command, version, 0, 0]);
    }

    /// Appends an attribute with `value` (padded).
    pub fn attr(&mut self, kind: u16, value: &[u8]) {
        let len = u16::try_from(NLA_HDRLEN + value.len()).expect("attribute fits a u16 length");
        self.bytes.extend_from_slice(&len.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(value);
        self.bytes.resize(align(self.bytes.len()), 0);
    }

    /// Appends a NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, text: &str) {
        let len = u16::try_from(NLA_HDRLEN + text.len() + 1).expect("string fits a u16 length");
        self.bytes.extend_from_slice(&len.to_ne_bytes());
        self.bytes.extend_from_slice(&kind.to_ne_bytes());
        self.bytes.extend_from_slice(text.as_bytes());
        self.bytes.push(0);
        self.bytes.resize(align(self.bytes.len()), 0);
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
            seq: u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]),
            body: &rest[NLMSG_HDRLEN..len],
        };
        rest = rest.get(align(len)..).unwrap_or(&[]);
        Some(packet)
    })
}

/// An attribute stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attrs<'a>(&'a [u8]);

impl<'a> Attrs<'a> {
    /// The value of the first attribute of type `kind` (nested and
    /// byte-order flags masked off).
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

#[cfg(test)]
mod tests {
    use super::*;
    use ipcon_core::spec::{Attr, Command, VERSION};
    use ipcon_core::wire::ipcon::{PeerRef, Request};
    use ipcon_core::Name;

    /// The hand-written unicast request is byte for byte what ipcon-linux
    /// sends (ipcon-core's emitter is the reference, used only here).
    #[test]
    fn unicast_by_name_matches_the_library() {
        let payload: Vec<u8> = (0..61u8).collect(); // odd length: padding
        let mut buf = RequestBuf::new();
        buf.begin(0x1c, 77, Command::Unicast.to_raw(), VERSION);
        buf.attr_str(Attr::PeerName.to_raw(), "perf_rx");
        buf.attr(Attr::Payload.to_raw(), &payload);
        let ours = buf.finish().to_vec();

        let request = Request::Unicast {
            to: PeerRef::Name(Name::new("perf_rx").unwrap()),
            payload: &payload,
        };
        let mut theirs = vec![0u8; request.buffer_len()];
        let len = request
            .emit(&request.header(0x1c, 77, 0), &mut theirs)
            .unwrap();
        assert_eq!(ours, theirs[..len]);
    }

    #[test]
    fn unicast_by_port_and_attach_match_the_library() {
        let mut buf = RequestBuf::new();
        buf.begin(0x1c, 3, Command::Unicast.to_raw(), VERSION);
        buf.attr(Attr::Port.to_raw(), &4242u32.to_ne_bytes());
        buf.attr(Attr::Payload.to_raw(), &[9; 64]);
        let ours = buf.finish().to_vec();
        let request = Request::Unicast {
            to: PeerRef::Port(4242),
            payload: &[9; 64],
        };
        let mut theirs = vec![0u8; request.buffer_len()];
        request
            .emit(&request.header(0x1c, 3, 0), &mut theirs)
            .unwrap();
        assert_eq!(ours, theirs);

        buf.begin(0x1c, 4, Command::PeerAttach.to_raw(), VERSION);
        buf.attr(
            Attr::Cookie.to_raw(),
            &0x0123_4567_89ab_cdefu64.to_ne_bytes(),
        );
        let ours = buf.finish().to_vec();
        let request = Request::PeerAttach {
            cookie: 0x0123_4567_89ab_cdef,
        };
        let mut theirs = vec![0u8; request.buffer_len()];
        request
            .emit(&request.header(0x1c, 4, 0), &mut theirs)
            .unwrap();
        assert_eq!(ours, theirs);
    }

    fn ack(seq: u32, errno: i32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&36u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&99u32.to_ne_bytes());
        m.extend_from_slice(&(-errno).to_ne_bytes());
        m.extend_from_slice(&[0; 16]); // the request's header, echoed
        m
    }

    #[test]
    fn acks_and_errors_are_read() {
        let mut datagram = ack(5, 0);
        datagram.extend(ack(6, 11));
        let got: Vec<_> = packets(&datagram).map(|p| (p.seq, p.ack_errno())).collect();
        assert_eq!(got, [(5, Some(0)), (6, Some(11))]);
        // A truncated second message is not read.
        assert_eq!(packets(&datagram[..50]).count(), 1);
    }

    #[test]
    fn attributes_of_a_delivery_are_found() {
        // A delivery as the kernel builds it: name, port, pid, uid, payload, missed.
        let mut buf = RequestBuf::new();
        buf.begin(0x1c, 0, Command::Unicast.to_raw(), VERSION);
        buf.attr_str(Attr::PeerName.to_raw(), "tx");
        buf.attr(Attr::Port.to_raw(), &7u32.to_ne_bytes());
        buf.attr(Attr::Pad.to_raw(), &[]);
        buf.attr(Attr::Cookie.to_raw(), &9u64.to_ne_bytes());
        buf.attr(Attr::Payload.to_raw(), b"hello");
        buf.attr(Attr::Missed.to_raw(), &3u32.to_ne_bytes());
        let datagram = buf.finish().to_vec();
        let packet = packets(&datagram).next().unwrap();
        assert_eq!(packet.kind, 0x1c);
        assert_eq!(packet.ack_errno(), None);
        let (command, attrs) = packet.genl().unwrap();
        assert_eq!(command, Command::Unicast.to_raw());
        assert_eq!(attrs.get(Attr::Payload.to_raw()), Some(&b"hello"[..]));
        assert_eq!(attrs.u32(Attr::Port.to_raw()), Some(7));
        assert_eq!(attrs.u64(Attr::Cookie.to_raw()), Some(9));
        assert_eq!(attrs.u32(Attr::Missed.to_raw()), Some(3));
        assert_eq!(attrs.get(Attr::Replayed.to_raw()), None);
    }
}
