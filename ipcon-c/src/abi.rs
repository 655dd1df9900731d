//! The C types and constants of `libipcon.h`, defined once here; the header
//! states the same layout and static-asserts it, and the tests below check
//! the header against these definitions (names, values, sizes, offsets).

use core::ffi::{c_char, c_int, c_ulong};

/// `LIBIPCON_MAX_NAME_LEN`: a name's buffer, NUL included (names are 1..=31 bytes).
pub const MAX_NAME_LEN: usize = ipcon_core::spec::MAX_NAME_LEN;
/// `LIBIPCON_MAX_PAYLOAD_LEN`: the largest payload.
pub const MAX_PAYLOAD_LEN: usize = ipcon_core::spec::MAX_PAYLOAD_LEN;

/// `enum libipcon_msg_type`, in the original library's order.
pub const NORMAL_MSG: c_int = 0;
/// A message published to a group this peer joined.
pub const GROUP_MSG: c_int = 1;
/// A kernel event (after joining `IPCON_KERNEL_GROUP`).
pub const KEVENT_MSG: c_int = 2;
/// The header's value for a message that is none of these (the library
/// never produces one).
#[cfg(test)]
pub const INVALID_MSG: c_int = 3;
/// A posted send of this peer failed (ipcon's addition).
pub const SEND_FAILED_MSG: c_int = 4;

/// `enum libipcon_kevent_type`.
pub const EVENT_PEER_ADD: c_int = 0;
/// A peer is gone.
pub const EVENT_PEER_REMOVE: c_int = 1;
/// A group was registered.
pub const EVENT_GRP_ADD: c_int = 2;
/// A group is gone.
pub const EVENT_GRP_REMOVE: c_int = 3;

/// `LIBIPCON_FLG_*` of `ipcon_create_handler`: accepted for the original's
/// programs; ipcon's handlers always have both interfaces and deliver every
/// kernel event.
pub const FLG_DISABLE_KEVENT_FILTER: c_ulong = 1 << 0;
/// The receive interface (always present).
pub const FLG_USE_RCV_IF: c_ulong = 1 << 1;
/// The send interface (always present).
pub const FLG_USE_SND_IF: c_ulong = 1 << 2;
/// Every flag this version knows.
pub const FLG_ALL: c_ulong = FLG_DISABLE_KEVENT_FILTER | FLG_USE_RCV_IF | FLG_USE_SND_IF;

/// `ipcon_msg.flags`: a group message replayed on join.
pub const MSG_REPLAYED: u32 = 1 << 0;
/// `ipcon_msg.flags`: a remove event because the owner's socket closed (the
/// process exited or was killed) rather than an unregister.
pub const MSG_CLOSED: u32 = 1 << 1;

/// `struct libipcon_kevent`'s group member.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KeventGroup {
    /// The group's name.
    pub name: [c_char; MAX_NAME_LEN],
    /// Its owner's name (empty for an anonymous owner).
    pub peer_name: [c_char; MAX_NAME_LEN],
}

/// `struct libipcon_kevent`'s peer member.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct KeventPeer {
    /// The peer's name (empty for an anonymous peer).
    pub name: [c_char; MAX_NAME_LEN],
}

/// The union of `struct libipcon_kevent`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union KeventBody {
    /// Group events.
    pub group: KeventGroup,
    /// Peer events.
    pub peer: KeventPeer,
}

/// `struct libipcon_kevent`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Kevent {
    /// `enum libipcon_kevent_type`.
    pub kind: c_int,
    /// The group or the peer.
    pub body: KeventBody,
}

/// The union of `struct ipcon_msg`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union MsgBody {
    /// The payload (normal and group messages), or the kernel's explanation
    /// of a failed posted send.
    pub buf: [c_char; MAX_PAYLOAD_LEN],
    /// A kernel event.
    pub kevent: Kevent,
}

/// `struct ipcon_msg`: the original's fields first, then ipcon's.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct IpconMsg {
    /// `enum libipcon_msg_type`.
    pub kind: c_int,
    /// The group (group messages, group events, a failed posted multicast).
    pub group: [c_char; MAX_NAME_LEN],
    /// The sender's name (empty: anonymous), or the peer an event is about.
    pub peer: [c_char; MAX_NAME_LEN],
    /// Bytes of `buf`.
    pub len: u32,
    /// Payload or kernel event.
    pub body: MsgBody,
    /// The sender's process id as the kernel stamped it, in the receiver's
    /// pid namespace (0 when the kernel cannot map it).
    pub pid: u32,
    /// The sender's uid as the kernel stamped it.
    pub uid: u32,
    /// The sender's port (its identity, also for anonymous peers).
    pub port: u32,
    /// Messages for this peer dropped before this one (kernel events: events
    /// missed before this one).
    pub missed: u32,
    /// `LIBIPCON_MSG_*` flags.
    pub flags: u32,
    /// A failed posted send: the ticket `ipcon_post_*` returned.
    pub ticket: u32,
    /// A failed posted send: its negative errno.
    pub error: c_int,
    /// Room for later fields without a new soname.
    pub reserved: [u32; 3],
}

/// Sizes and offsets the header static-asserts, by the names the header
/// uses (`offsetof(struct ipcon_msg, buf)` is the union's offset).
#[cfg(test)]
pub fn layout() -> [(&'static str, usize); 16] {
    let msg = core::mem::MaybeUninit::<IpconMsg>::uninit();
    let base = msg.as_ptr() as usize;
    // Field addresses without reading the (uninitialised) value.
    macro_rules! offset {
        ($field:ident) => {
            // SAFETY: addr_of! computes the field's address inside `msg`
            // without creating a reference or reading memory.
            (unsafe { core::ptr::addr_of!((*msg.as_ptr()).$field) } as usize - base)
        };
    }
    [
        ("sizeof(struct ipcon_msg)", core::mem::size_of::<IpconMsg>()),
        (
            "sizeof(struct libipcon_kevent)",
            core::mem::size_of::<Kevent>(),
        ),
        ("offsetof(struct ipcon_msg, type)", offset!(kind)),
        ("offsetof(struct ipcon_msg, group)", offset!(group)),
        ("offsetof(struct ipcon_msg, peer)", offset!(peer)),
        ("offsetof(struct ipcon_msg, len)", offset!(len)),
        ("offsetof(struct ipcon_msg, buf)", offset!(body)),
        ("offsetof(struct ipcon_msg, kevent)", offset!(body)),
        ("offsetof(struct ipcon_msg, pid)", offset!(pid)),
        ("offsetof(struct ipcon_msg, uid)", offset!(uid)),
        ("offsetof(struct ipcon_msg, port)", offset!(port)),
        ("offsetof(struct ipcon_msg, missed)", offset!(missed)),
        ("offsetof(struct ipcon_msg, flags)", offset!(flags)),
        ("offsetof(struct ipcon_msg, ticket)", offset!(ticket)),
        ("offsetof(struct ipcon_msg, error)", offset!(error)),
        ("offsetof(struct ipcon_msg, reserved)", offset!(reserved)),
    ]
}

/// Copies `name` into a C name buffer, NUL-terminated (empty for `None`).
pub fn put_name(to: &mut [c_char; MAX_NAME_LEN], name: Option<&ipcon_core::Name>) {
    *to = [0; MAX_NAME_LEN];
    if let Some(name) = name {
        // A Name is at most 31 bytes: the NUL always fits.
        for (to, &byte) in to.iter_mut().zip(name.as_bytes()) {
            *to = byte as c_char;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    /// The checked-in header.
    pub fn header() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/libipcon.h"))
            .expect("include/libipcon.h")
    }

    /// `#define NAME VALUE` of the header, VALUE as written.
    fn define(header: &str, name: &str) -> String {
        header
            .lines()
            .find_map(|line| {
                let rest = line.strip_prefix("#define ")?;
                let (key, value) = rest.split_once(char::is_whitespace)?;
                let value = value.split("/*").next().unwrap_or("");
                (key == name).then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("libipcon.h does not define {name}"))
    }

    /// The enumerator `name = value` of the header.
    fn enumerator(header: &str, name: &str) -> i64 {
        header
            .lines()
            .find_map(|line| {
                let code = line.split("/*").next()?.trim().trim_end_matches(',');
                let (key, value) = code.split_once(" = ")?;
                (key == name).then(|| value.parse().unwrap())
            })
            .unwrap_or_else(|| panic!("libipcon.h has no enumerator {name} = N"))
    }

    #[test]
    fn the_header_states_the_rust_layout() {
        let header = header();
        let asserted: Vec<(String, usize)> = header
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix("LIBIPCON_ASSERT(")?;
                let (what, rest) = rest.split_once(" == ")?;
                let value = rest.split(',').next()?.trim().parse().ok()?;
                Some((what.to_owned(), value))
            })
            .collect();
        for (what, value) in layout() {
            assert!(
                asserted.contains(&(what.to_owned(), value)),
                "libipcon.h must assert {what} == {value}; it asserts {asserted:?}"
            );
        }
        assert_eq!(
            asserted.len(),
            layout().len(),
            "stale asserts in libipcon.h"
        );
    }

    #[test]
    #[allow(clippy::useless_conversion)] // c_ulong is u32 on 32-bit ARM
    fn the_header_constants_are_the_rust_ones() {
        let header = header();
        let numbers: [(&str, u64); 12] = [
            ("LIBIPCON_MAX_NAME_LEN", MAX_NAME_LEN as u64),
            ("LIBIPCON_MAX_PAYLOAD_LEN", MAX_PAYLOAD_LEN as u64),
            (
                "LIBIPCON_FLG_DISABLE_KEVENT_FILTER",
                u64::from(FLG_DISABLE_KEVENT_FILTER),
            ),
            ("LIBIPCON_FLG_USE_RCV_IF", u64::from(FLG_USE_RCV_IF)),
            ("LIBIPCON_FLG_USE_SND_IF", u64::from(FLG_USE_SND_IF)),
            ("LIBIPCON_MSG_REPLAYED", u64::from(MSG_REPLAYED)),
            ("LIBIPCON_MSG_CLOSED", u64::from(MSG_CLOSED)),
            ("LIBIPCON_MAX_USR_GROUP", 5),
            (
                "IPCON_LOOP_READABLE",
                u64::from(crate::event_loop::READABLE),
            ),
            (
                "IPCON_LOOP_WRITABLE",
                u64::from(crate::event_loop::WRITABLE),
            ),
            ("IPCON_LOOP_HANGUP", u64::from(crate::event_loop::HANGUP)),
            (
                "LIBIPCON_FLG_DEFAULT",
                u64::from(FLG_USE_RCV_IF | FLG_USE_SND_IF),
            ),
        ];
        for (name, value) in numbers {
            let written = define(&header, name);
            let parsed = match written.as_str() {
                "(LIBIPCON_FLG_USE_RCV_IF | LIBIPCON_FLG_USE_SND_IF)" => {
                    u64::from(FLG_USE_RCV_IF | FLG_USE_SND_IF)
                }
                text => {
                    let text = text.trim_start_matches('(').trim_end_matches(')');
                    let text = text.trim_end_matches("UL").trim_end_matches('U');
                    match text.split_once(" << ") {
                        Some((base, shift)) => {
                            let base = base.trim_end_matches("UL").trim_end_matches('U');
                            base.parse::<u64>().unwrap() << shift.parse::<u32>().unwrap()
                        }
                        None => text.parse().unwrap(),
                    }
                }
            };
            assert_eq!(parsed, value, "{name} is {written} in libipcon.h");
        }
        for (name, value) in [
            ("LIBIPCON_NORMAL_MSG", NORMAL_MSG),
            ("LIBIPCON_GROUP_MSG", GROUP_MSG),
            ("LIBIPCON_KEVENT_MSG", KEVENT_MSG),
            ("LIBIPCON_INVALID_MSG", INVALID_MSG),
            ("LIBIPCON_SEND_FAILED_MSG", SEND_FAILED_MSG),
            ("LIBIPCON_EVENT_PEER_ADD", EVENT_PEER_ADD),
            ("LIBIPCON_EVENT_PEER_REMOVE", EVENT_PEER_REMOVE),
            ("LIBIPCON_EVENT_GRP_ADD", EVENT_GRP_ADD),
            ("LIBIPCON_EVENT_GRP_REMOVE", EVENT_GRP_REMOVE),
            ("IPCON_CALL_OK", crate::calls::CALL_OK),
            (
                "IPCON_CALL_UNKNOWN_METHOD",
                crate::calls::CALL_UNKNOWN_METHOD,
            ),
            ("IPCON_CALL_BAD_REQUEST", crate::calls::CALL_BAD_REQUEST),
            ("IPCON_CALL_BUSY", crate::calls::CALL_BUSY),
            ("IPCON_CALL_FAILED", crate::calls::CALL_FAILED),
            ("IPCON_LOOP_MESSAGE", crate::event_loop::EVENT_MESSAGE),
            ("IPCON_LOOP_TIMER", crate::event_loop::EVENT_TIMER),
            ("IPCON_LOOP_FD", crate::event_loop::EVENT_FD),
            ("IPCON_LOOP_ERROR", crate::event_loop::EVENT_ERROR),
            ("IPCON_LOOP_SWITCH_RX", crate::event_loop::EVENT_SWITCH_RX),
            ("IPCON_LOOP_SWITCH_TX", crate::event_loop::EVENT_SWITCH_TX),
        ] {
            assert_eq!(enumerator(&header, name), i64::from(value), "{name}");
        }
        assert_eq!(define(&header, "LIBIPCON_KERNEL_NAME"), "\"ipcon\"");
        assert_eq!(
            define(&header, "LIBIPCON_KERNEL_GROUP_NAME"),
            std::format!("\"{}\"", crate::groups::KERNEL_GROUP)
        );
    }
}
