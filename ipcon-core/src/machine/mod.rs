//! Sans-IO state machines the Linux engine drives: they emit and consume messages but
//! never touch a socket or a clock; time comes from the caller as `now` in milliseconds
//! (any monotonic origin).
//!
//! - [`FamilyResolver`]: find the ipcon family (or learn the module is missing or
//!   incompatible).
//! - [`PeerSession`]: a peer's life cycle (register, attach, close).
//! - [`RequestTracker`]: sequence numbers, answers and deadlines of requests in flight.
//! - [`Inbox`]: what a received datagram delivers, what is dropped and counted, and gaps
//!   in the kernel events' sequence.
pub mod family;
pub mod inbox;
pub mod peer;
pub mod request;

pub use family::{Family, FamilyOutcome, FamilyResolver};
pub use inbox::{Inbox, InboxStats, Received};
pub use peer::{PeerEvent, PeerSession, PeerState, TransitionError};
pub use request::{RequestError, RequestTracker, Tracked};
