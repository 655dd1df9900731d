//! The wire format: netlink, generic netlink, attributes, acknowledgements, the `nlctrl`
//! family lookup and every ipcon message ([`messages`] is generated from `kmod/ipcon.yaml`).
//!
//! Each layer follows one pattern: a zero-copy view (`*Packet<T: AsRef<[u8]>>` with
//! `new_checked`/`check_len`, or an iterator) that never panics on any input, and a
//! validated representation (`*Repr`, or a typed message) with `parse`, `emit` and
//! `buffer_len`. Numbers are in host byte order, as netlink requires.
pub mod ack;
pub mod attr;
pub mod call;
pub mod ctrl;
pub mod genl;
pub mod ipcon;
pub mod messages;
pub mod netlink;
pub mod pack;
