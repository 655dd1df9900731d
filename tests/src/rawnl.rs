//! `ipcon-test-support`'s raw netlink helpers as the security tests use them: a
//! by-value message builder that yields an owned message, and datagrams split into
//! tuples. Everything else is the support crate's.

pub use ipcon_test_support::rawnl::{
    packets, Ack, Attrs, Packet, RawSocket, GENL_HDRLEN, NLMSG_ERROR, NLM_F_ACK, NLM_F_REQUEST,
};

/// [`ipcon_test_support::rawnl::MsgBuilder`], consumed by each call.
#[derive(Debug)]
pub struct MsgBuilder(ipcon_test_support::rawnl::MsgBuilder);

impl MsgBuilder {
    /// A message of netlink type `kind` with generic netlink `cmd`/`version`.
    pub fn new(kind: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        let mut b = ipcon_test_support::rawnl::MsgBuilder::new();
        b.begin(kind, flags, seq, cmd, version);
        Self(b)
    }

    /// Appends an attribute (padded).
    pub fn attr(mut self, ty: u16, value: &[u8]) -> Self {
        self.0.attr(ty, value);
        self
    }

    /// Appends a NUL-terminated string attribute.
    pub fn attr_str(mut self, ty: u16, value: &str) -> Self {
        self.0.attr_str(ty, value);
        self
    }

    /// The message with its length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        self.0.finish().to_vec()
    }
}

/// A datagram's messages as (type, flags, seq, body).
pub fn split_messages(data: &[u8]) -> Vec<(u16, u16, u32, &[u8])> {
    packets(data)
        .map(|p| (p.kind, p.flags, p.seq, p.body))
        .collect()
}

/// An attribute stream as (type, value).
pub fn split_attrs(data: &[u8]) -> Vec<(u16, &[u8])> {
    Attrs(data).iter().collect()
}

/// An `NLMSG_ERROR` body: the errno and the extended ACK.
pub fn parse_ack(flags: u16, body: &[u8]) -> Option<Ack> {
    Packet {
        kind: NLMSG_ERROR,
        flags,
        seq: 0,
        body,
    }
    .ack()
}
