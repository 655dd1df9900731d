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
//! - [`Message`]: a fixed-capacity received message filled in place from a delivery.
//! - [`Kevent`]: kernel events with their sequence number; [`KeventSeq`] counts gaps.
//! - [`machine`]: sans-IO state machines (family resolution, request tracking, peer session,
//!   group memberships). They never read a clock: the caller passes `now` in milliseconds.
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
pub mod kevent;
pub mod machine;
pub mod message;
pub mod name;
pub mod spec;
pub mod wire;

pub use error::{NameError, WireError};
pub use kevent::{Kevent, KeventKind, KeventSeq, PeerIdentity};
pub use message::{Message, MessageKind};
pub use name::Name;
pub use spec::{GroupAccess, PeerFlags, RemoveReason};
