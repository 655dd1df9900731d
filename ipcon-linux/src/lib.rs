//! ipcon for Linux: packet-based IPC between local processes over the
//! `ipcon` generic netlink family.
//!
//! A [`Handler`] is one peer: it registers a name (or stays anonymous),
//! sends unicast messages to other peers by name or port, owns groups and
//! multicasts to their subscribers, joins other peers' groups, and learns of
//! peers and groups coming and going from kernel events. A [`Directory`]
//! looks peers and groups up without registering.
//!
//! ```no_run
//! use ipcon_linux::{Handler, Message, MessageKind};
//!
//! let sender = Handler::new("message_sender")?;
//! if sender.is_peer_present("string_service")? {
//!     sender.send_unicast("string_service", b"Hello world!")?;
//! }
//!
//! let subscriber = Handler::anonymous()?;
//! subscriber.join_group("string_service", "str_msg", true)?;
//! let mut msg = Message::new();
//! subscriber.receive(&mut msg)?;
//! if msg.kind() == MessageKind::Group {
//!     println!("{}: {:?}", msg.group().unwrap(), msg.payload_str());
//! }
//! # Ok::<(), ipcon_linux::Error>(())
//! ```
//!
//! The kernel module must be loaded (`modprobe ipcon`); without it every
//! constructor fails with [`ErrorKind::ModuleNotLoaded`].

#![deny(missing_docs)]
#![deny(unsafe_code)]

#[cfg(test)]
#[allow(unsafe_code)]
mod alloc_check;
mod batch;
mod channel;
mod control;
mod directory;
mod error;
mod handler;
mod info;
mod message;
mod monitor;
mod receiver;
mod socket;
mod sys;
#[cfg(feature = "tokio")]
mod tokio_io;

pub use batch::{Batch, BatchFailure, BatchReport, MAX_BATCH_BYTES, MAX_BATCH_MESSAGES};
pub use directory::Directory;
pub use error::{Error, ErrorKind, Result};
pub use handler::{
    Handler, HandlerOptions, MulticastReport, DEFAULT_RECV_BUFFER, DEFAULT_REQUEST_TIMEOUT,
};
pub use info::{GroupInfo, JoinAccess, PeerInfo};
pub use ipcon_core;
pub use ipcon_core::spec::{MAX_NAME_LEN, MAX_PAYLOAD_LEN};
pub use ipcon_core::IPCON_KERNEL_GROUP;
pub use ipcon_core::{GroupAccess, Name, PeerFlags, RemoveReason};
pub use message::{Kevent, Message, MessageKind, PeerRef, Sender, Ticket};
pub use monitor::KeventMonitor;
pub use socket::Wait;
#[cfg(feature = "tokio")]
pub use tokio_io::AsyncHandler;
