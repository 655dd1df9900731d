//! The hot path of every receive: a unicast or group message filled straight into a
//! [`Message`] in one pass over its attributes.
//!
//! The general path ([`parse_incoming`](crate::wire::ipcon::parse_incoming), then
//! [`Message::fill`]) builds the generated message struct, then a [`Delivery`], then an
//! `Incoming`, each moved into the next (a group message's is over 100 bytes with its two
//! names); under emulation that was most of what a received message cost in user space.
//! Here the attributes land in locals and the message is written once. Both paths use the
//! same conversions (names, required attributes, payload bound, overrun report) in the
//! same order, so they accept, refuse and fill alike: the property test
//! `data_fill_agrees_with_the_general_path` and the fuzz target `incoming` hold them to it.
//!
//! [`Delivery`]: crate::wire::ipcon::Delivery
use super::{Message, MessageKind};
use crate::error::WireError;
use crate::name::Name;
use crate::spec::{Attr, Command};
use crate::wire::attr::{Attribute, Attributes};
use crate::wire::ipcon::{self, Overrun, Sender};
use crate::wire::netlink::{message_type, NetlinkPacket};

// Attribute numbers as patterns: matched directly, not through `Attr::from_raw`.
const PEER_NAME: u16 = Attr::PeerName.to_raw();
const GROUP_NAME: u16 = Attr::GroupName.to_raw();
const PAYLOAD: u16 = Attr::Payload.to_raw();
const PORT: u16 = Attr::Port.to_raw();
const PID: u16 = Attr::Pid.to_raw();
const UID: u16 = Attr::Uid.to_raw();
const REPLAYED: u16 = Attr::Replayed.to_raw();
const MISSED: u16 = Attr::Missed.to_raw();
const OVERRUN: u16 = Attr::Overrun.to_raw();
const OVERRUN_PORT: u16 = Attr::OverrunPort.to_raw();
const OVERRUN_UID: u16 = Attr::OverrunUid.to_raw();

impl<const N: usize> Message<N> {
    /// Fills the message from `packet` if it is a unicast or group message of the family
    /// `family_id`; `None` for anything else (to be taken by the general path). An error
    /// is what the general path would return, and leaves the message as it was; or, for a
    /// payload over `N` bytes, [`WireError::PayloadTooLarge`] with the message cleared.
    pub(crate) fn fill_data_delivery(
        &mut self,
        packet: &NetlinkPacket<&[u8]>,
        family_id: u16,
    ) -> Option<Result<(), WireError>> {
        let ty = packet.message_type();
        if ty != family_id || ty < message_type::MIN_RESERVED {
            return None;
        }
        let (cmd, attrs) = ipcon::split(packet).ok()?;
        let group = match Command::from_raw(cmd) {
            Command::UnicastMsg => false,
            Command::GroupMsg => true,
            _ => return None,
        };
        Some(self.fill_data_attrs(group, attrs))
    }

    fn fill_data_attrs(&mut self, group: bool, attrs: &[u8]) -> Result<(), WireError> {
        let mut peer_name = None;
        let mut group_name = None;
        let mut payload = None;
        let (mut port, mut pid, mut uid) = (None, None, None);
        let mut missed = None;
        let mut replayed = false;
        let (mut overrun, mut overrun_port, mut overrun_uid) = (None, None, None);
        // The attributes of `unicast-msg` and `group-msg` (the generated
        // `UnicastMsgNtf`/`GroupMsgNtf`): the last occurrence wins, every
        // occurrence must fit its type, others are skipped.
        for attr in Attributes::new(attrs) {
            let attr = attr?;
            match attr.kind() {
                PEER_NAME => peer_name = Some(attr),
                PORT => port = Some(attr.as_u32()?),
                PID => pid = Some(attr.as_u32()?),
                UID => uid = Some(attr.as_u32()?),
                PAYLOAD => payload = Some(attr.value()),
                MISSED => missed = Some(attr.as_u32()?),
                OVERRUN => overrun = Some(attr.as_u32()?),
                OVERRUN_PORT => overrun_port = Some(attr.as_u32()?),
                OVERRUN_UID => overrun_uid = Some(attr.as_u32()?),
                GROUP_NAME if group => group_name = Some(attr),
                REPLAYED if group => replayed = true,
                _ => {}
            }
        }
        // The conversions of `UnicastDelivery`/`GroupDelivery::from_wire`
        // (`Sender::from_attrs`, `required_name`, `payload`), in their order.
        let sender_name = match peer_name {
            Some(attr) => Some(name_of(attr, self.sender.name)?),
            None => None,
        };
        let sender = Sender {
            name: sender_name,
            port: port.ok_or(WireError::MissingAttribute(Attr::Port.to_raw()))?,
            pid: pid.unwrap_or(0),
            uid: uid.unwrap_or(0),
        };
        let group_name = if group {
            let attr = group_name.ok_or(WireError::MissingAttribute(Attr::GroupName.to_raw()))?;
            Some(name_of(attr, self.group)?)
        } else {
            None
        };
        let payload = ipcon::payload(payload)?;
        // What `Message::fill` does with the delivery.
        self.clear();
        if self.payload.set(payload).is_err() {
            return Err(WireError::PayloadTooLarge);
        }
        self.kind = if group {
            MessageKind::Group
        } else {
            MessageKind::Unicast
        };
        self.sender = sender;
        self.group = group_name;
        self.missed = missed.unwrap_or(0);
        self.replayed = replayed;
        self.overrun = Overrun::from_attrs(overrun, overrun_port, overrun_uid);
        Ok(())
    }
}

/// A name attribute's value as a name. A receiver's messages mostly come from one sender
/// and one group, and a message is mostly refilled from the next one: when the value is
/// the name the message already `held` (valid, as every [`Name`] is) and its NUL, that
/// name is taken after a comparison; otherwise the value is read up to its first NUL
/// and validated.
fn name_of(attr: Attribute<'_>, held: Option<Name>) -> Result<Name, WireError> {
    if let Some(held) = held {
        if let Some((0, name)) = attr.value().split_last() {
            if name == held.as_bytes() {
                return Ok(held);
            }
        }
    }
    Name::from_bytes(attr.as_cstr_bytes()).map_err(WireError::BadName)
}
