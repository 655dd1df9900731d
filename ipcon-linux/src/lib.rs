//! ipcon for Linux: packet-based IPC between local processes over the
//! `ipcon` generic netlink family.
//!
//! The crate has two layers.
//!
//! - **The engine** ([`engine`]; `no_std`, no allocation, no threads): ipcon-core's
//!   sans-IO machines (family resolution, the peer's session, request tracking with
//!   deadlines, the receiving inbox) driven over rustix raw netlink sockets, with
//!   fixed-size buffers and a clock the caller provides. A peer is two halves, each used
//!   through `&mut` and independent of the other — [`engine::Control`] (requests, sends,
//!   posts, look-ups) and [`engine::Receiver`] (receives, kernel event subscription) — so
//!   one thread may receive while another sends, each half behind its own lock. Build it
//!   alone with `default-features = false`: it then links no Rust standard library and,
//!   on x86_64, aarch64, arm and riscv64 (where rustix's `linux_raw` backend serves),
//!   no C library crate either. It is what `libipcon`, the C library, links.
//! - **The std layer** (feature `std`, on by default): [`Handler`] (`Send + Sync`, the
//!   halves behind locks), [`Directory`], [`KeventMonitor`], [`AsyncHandler`] (feature
//!   `tokio`), `std::error::Error`, and daemon helpers: [`Directory::wait_for_peer`] /
//!   [`Directory::wait_for_group`] (driven by kernel events) and
//!   [`Handler::unregister_on_termination`]. It adds threads-safety and conveniences,
//!   no protocol: every kernel exchange goes through the engine.
//!
//! Why here and not behind a `linux` feature of ipcon-core: ipcon-core stays free of any
//! operating system, of rustix and of `unsafe` (it builds for bare-metal targets and is
//! fuzzed as pure code), while everything that touches Linux — the sockets, the few
//! system calls rustix lacks (in `sys.rs`, the crate's only `unsafe`), the engine and
//! its conveniences — is one crate whose one [`Error`] type serves both layers.
//!
//! ```no_run
//! use ipcon_linux::{Handler, Message, MessageKind, Replay, Wait};
//!
//! let server = Handler::new("string_service")?;       // named peer (Handler::anonymous())
//! server.register_group("str_msg")?;
//! server.unregister_on_termination()?;                 // SIGTERM/SIGINT: leave cleanly
//!
//! let subscriber = Handler::anonymous()?;
//! subscriber.join_group("string_service", "str_msg", Replay::LastMessage)?;
//!
//! let client = Handler::anonymous()?;
//! client.directory().wait_for_peer("string_service", Wait::Forever)?;
//! client.send_unicast("string_service", b"Hello world!")?;
//!
//! let mut msg = Message::new();                        // fixed size, reused
//! server.receive(&mut msg, Wait::Forever)?;
//! if msg.kind() == MessageKind::Unicast {
//!     let report = server.send_multicast_sync("str_msg", msg.payload())?;
//!     println!("delivered to {} subscribers", report.delivered);
//! }
//! subscriber.receive(&mut msg, Wait::Forever)?;
//! println!("{}: {:?}", msg.group().unwrap(), msg.payload_str());
//! # Ok::<(), ipcon_linux::Error>(())
//! ```
//!
//! The kernel module must be loaded (`modprobe ipcon`); without it every
//! constructor fails with [`ErrorKind::ModuleNotLoaded`].
//!
//! ## The public surface
//!
//! Defined here: [`Error`], [`ErrorKind`], [`Result`], [`Wait`], [`Replay`],
//! [`PeerOptions`], [`Batch`], [`MulticastReport`], the constants, the [`engine`] module
//! (`Control`, `Receiver`, `Clock`, `MonotonicClock`, `open_kevent_monitor`, and
//! ipcon-core's `Received` and `Delivery` for routing), and with
//! `std`: [`Handler`], [`Directory`], [`KeventMonitor`], [`BatchReport`],
//! [`BatchFailure`], [`AsyncHandler`] (feature `tokio`).
//!
//! Taken from ipcon-core, the one definition of each concept (not a blanket re-export):
//! [`Name`] and [`NameError`]; [`Message`], [`MessageKind`] and [`Ticket`]; [`Kevent`],
//! [`KeventKind`] and [`PeerIdentity`]; [`Sender`] (the kernel's stamp) and [`PeerRef`]
//! (a peer by name or port); [`PeerInfo`] and [`GroupInfo`] (look-up replies);
//! [`GroupAccess`], [`PeerFlags`], [`RemoveReason`]; [`InboxStats`] (what a receiver
//! dropped); [`Family`]; [`MAX_NAME_LEN`], [`MAX_PAYLOAD_LEN`].
//!
//! ## Features
//! - `std` (default): the std layer above.
//! - `tokio`: [`AsyncHandler`].
//! - `log`: log dropped datagrams and protocol surprises through the `log` crate.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
// Without `std` the error keeps its details inline (no allocation), which
// makes it larger than clippy's threshold; with `std` it is 32 bytes.
#![cfg_attr(not(feature = "std"), allow(clippy::result_large_err))]

#[cfg(all(test, feature = "std"))]
mod alloc_check;
mod batch;
mod clock;
mod control;
mod error;
mod exchange;
mod peer;
mod receiver;
mod socket;
mod sys;

#[cfg(feature = "tokio")]
mod async_call;
#[cfg(feature = "std")]
mod call;
#[cfg(feature = "std")]
mod directory;
#[cfg(feature = "std")]
mod event_loop;
#[cfg(feature = "std")]
mod handler;
#[cfg(feature = "std")]
mod monitor;
#[cfg(feature = "std")]
mod service;
#[cfg(feature = "std")]
mod termination;
#[cfg(feature = "tokio")]
mod tokio_io;

/// The `no_std` engine: the two halves of a peer, the clock they wait with,
/// and the kernel event monitor. See the crate documentation.
///
/// ```no_run
/// use ipcon_linux::engine::{Delivery, MonotonicClock};
/// use ipcon_linux::{Message, MessageKind, Name, PeerOptions, PeerRef, Wait};
///
/// // Each half is used through `&mut`; put each behind its own lock to share
/// // them between threads (one receiving, others sending).
/// let (mut control, mut receiver) =
///     PeerOptions::named("engine_peer")?.open_halves(MonotonicClock)?;
/// control.send_unicast(PeerRef::Name(Name::new("server")?), b"hello")?;
/// let mut msg: Message = Message::new(); // or Message::<256>: smaller payloads
/// receiver.receive(&mut msg, Wait::Forever)?;
/// // Or route each delivery, still in the receive buffer, by kind:
/// let was_event = receiver.receive_with(Wait::Never, |received| {
///     Some(matches!(received.delivery, Delivery::Kevent(_)))
/// })?;
/// # let _ = was_event;
/// # Ok::<(), ipcon_linux::Error>(())
/// ```
pub mod engine {
    pub use crate::clock::{Clock, MonotonicClock};
    pub use crate::control::Control;
    pub use crate::peer::open_kevent_monitor;
    pub use crate::receiver::{Receiver, DELIVERY_BUF_LEN, RECEIVE_MANY_STORAGE};
    pub use ipcon_core::machine::Received;
    pub use ipcon_core::wire::ipcon::Delivery;
}

pub use batch::{Batch, BatchStorage, MAX_BATCH_BYTES};
pub use clock::Wait;
pub use control::{MulticastReport, PolicyRule, Replay};
pub use error::{Error, ErrorKind, Result, KERNEL_MESSAGE_CAPACITY};
pub use exchange::MAX_BATCH_MESSAGES;
pub use peer::{PeerOptions, DEFAULT_RECV_BUFFER, DEFAULT_REQUEST_TIMEOUT};

pub use ipcon_core::machine::{Family, InboxStats};
/// The ownership policy file an administrator loads ([`Directory::load_policy`]).
pub use ipcon_core::policy;
pub use ipcon_core::spec::{
    GroupAccess, PeerFlags, RemoveReason, MAX_DELIVERY_LEN, MAX_NAME_LEN, MAX_PACK, MAX_PAYLOAD_LEN,
};
pub use ipcon_core::wire::ipcon::{Overrun, OverrunSender, PeerRef, Sender};
pub use ipcon_core::{
    Kevent, KeventKind, Message, MessageKind, Name, NameError, PeerIdentity, Ticket,
    IPCON_KERNEL_GROUP,
};

/// A registered peer as a look-up describes it (name, port, pid, uid, flags,
/// counters). `Display`: `peer name=srv port=12 pid=42 uid=0 groups=1 tx=3 rx=4 dropped=0`.
pub type PeerInfo = ipcon_core::wire::ipcon::PeerInfo<'static>;

/// A registered group as a look-up describes it (owner, name, access,
/// subscribers, counters, cached last message). `Display`:
/// `group srv/str_msg port=12 access=open subscribers=2 tx=5 last=6`.
pub type GroupInfo = ipcon_core::wire::ipcon::GroupInfo<'static>;

#[cfg(feature = "tokio")]
pub use async_call::AsyncClient;
#[cfg(feature = "std")]
pub use call::{Client, ClientStats, MethodInfo, PendingCall, DEFAULT_CALL_CAPACITY, LIST_METHODS};
#[cfg(feature = "std")]
pub use directory::Directory;
#[cfg(feature = "std")]
pub use event_loop::{Event, EventLoop, Interest, SwitchTarget, Token};
#[cfg(feature = "std")]
pub use handler::{BatchFailure, BatchReport, Handler};
pub use ipcon_core::machine::{CallId, CallOutcome, CallStats};
pub use ipcon_core::spec::CallStatus;
#[cfg(feature = "std")]
pub use monitor::KeventMonitor;
#[cfg(feature = "std")]
pub use service::{Request, Responder, Service, ServiceBuilder, ServiceStats};
#[cfg(feature = "tokio")]
pub use tokio_io::AsyncHandler;
