//! Sans-IO state machines the Linux library drives: they emit and consume messages but
//! never touch a socket or a clock; time comes from the caller as `now` in milliseconds
//! (any monotonic origin).
pub mod family;
pub mod membership;
pub mod peer;
pub mod request;

pub use family::{Family, FamilyOutcome, FamilyResolver};
pub use membership::{Membership, MembershipError, Memberships};
pub use peer::{PeerEvent, PeerSession, PeerState, TransitionError};
pub use request::{RequestError, RequestTracker, Tracked};
