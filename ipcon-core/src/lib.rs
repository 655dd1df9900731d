//! # ipcon-core
//!
//! The operating-system independent heart of ipcon (packet IPC over the generic netlink
//! family `ipcon`): `#![no_std]`, no allocation, no `unsafe`, no panic on untrusted bytes.
//!
//! - [`spec`]: every constant, enum, attribute and command of `kmod/ipcon.yaml` (generated,
//!   checked by `cargo xtask spec-check`).
//! - [`Name`]: a validated 1..=31 byte peer or group name, stored inline.
//! - [`wire`]: netlink, generic netlink, attributes, `NLMSG_ERROR` with extended ACK,
//!   `NLMSG_DONE`, the `nlctrl` family lookup, and every ipcon message: zero-copy views
//!   plus validated representations with `parse`/`emit`/`buffer_len`.
//!   Sending: build a [`wire::ipcon::Request`], then
//!   `req.emit(&req.header(family_id, seq, port_id), &mut buf)`.
//!   Receiving: iterate a datagram with [`wire::netlink::Messages`] and classify each
//!   message with [`wire::ipcon::parse_incoming`] into ACK / error / done / reply / delivery.
//! - [`Message`]: a fixed-capacity received message filled in place from a delivery;
//!   [`Ticket`] names a posted send.
//! - [`Kevent`]: kernel events with their sequence number; [`KeventSeq`] counts gaps.
//! - [`machine`]: sans-IO state machines (family resolution, request tracking, peer session,
//!   receiving). They never read a clock: the caller passes `now` in milliseconds.
//! - One-line `Display`s of kernel events and of look-up replies
//!   ([`wire::ipcon::PeerInfo`], [`wire::ipcon::GroupInfo`]), as the CLI prints them.
//!
//! ## Example: one request out, one delivery in
//!
//! ```
//! use ipcon_core::wire::ipcon::{parse_incoming, Delivery, Incoming, PeerRef, Request};
//! use ipcon_core::wire::netlink::Messages;
//! use ipcon_core::{Message, MessageKind, Name};
//!
//! # fn main() -> Result<(), ipcon_core::WireError> {
//! let family_id = 0x1a; // from machine::FamilyResolver
//! let server = Name::new("server").unwrap();
//! let request = Request::Unicast { to: PeerRef::Name(server), payload: b"hello" };
//! let mut buf = [0u8; 128];
//! let len = request.emit(&request.header(family_id, 1, 4242), &mut buf)?;
//! // ... send(&buf[..len]) on the control socket; later, on the data socket:
//! # let datagram = {
//! #     use ipcon_core::wire::ipcon::{Sender, UnicastDelivery};
//! #     use ipcon_core::wire::netlink::{NetlinkFlags, NetlinkHeaderRepr};
//! #     let d = Delivery::Unicast(UnicastDelivery {
//! #         sender: Sender { name: Name::new("client").ok(), port: 4242, pid: 1, uid: 0 },
//! #         payload: b"hello",
//! #         missed: 0,
//! #     });
//! #     let hdr = NetlinkHeaderRepr { message_type: family_id, flags: NetlinkFlags::empty(), seq: 0, port_id: 0 };
//! #     let n = d.emit(&hdr, &mut buf)?;
//! #     buf[..n].to_vec()
//! # };
//! let mut message: Message = Message::new();
//! for packet in Messages::new(&datagram) {
//!     if let Incoming::Delivery(delivery) = parse_incoming(&packet?, family_id)? {
//!         message.fill(&delivery)?;
//!     }
//! }
//! assert_eq!(message.kind(), MessageKind::Unicast);
//! assert_eq!(message.sender().name.as_ref().map(Name::as_str), Some("client"));
//! assert_eq!(message.payload(), b"hello");
//! # let _ = len;
//! # Ok(())
//! # }
//! ```
//!
//! ## Features
//! - `std`: implements `std::error::Error` for the error types. (`core::error::Error` is
//!   stable only since Rust 1.81; the MSRV is 1.75.)
//! - `log` / `defmt` (mutually exclusive): log through that crate; without either, logging
//!   compiles to nothing.
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(feature = "std", test))]
extern crate std;

#[macro_use]
mod fmt;

pub mod error;
mod info;
pub mod kevent;
pub mod machine;
pub mod message;
pub mod name;
pub mod spec;
pub mod wire;

pub use error::{NameError, WireError};
pub use kevent::{Kevent, KeventKind, KeventSeq, PeerIdentity};
pub use message::{Message, MessageKind, Ticket};
pub use name::Name;
pub use spec::{GroupAccess, PeerFlags, RemoveReason};
