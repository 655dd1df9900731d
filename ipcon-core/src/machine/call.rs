//! The pending-call table: calls (request/response, docs/protocol.md "Calls") waiting for
//! their reply, each with a call id, the peer it went to and a deadline.
//!
//! Fixed capacity, storage lent by the caller (an array, or a boxed slice of
//! [`CallSlot::EMPTY`]), no allocation, no clock: `now` in milliseconds comes from the
//! caller. A call id names its slot, so a reply finds its call in O(1); the slot's next
//! call gets another id, so a late reply to an earlier call never reaches a later one.
//!
//! A call is *pending* until something settles it — its reply, its deadline, a
//! cancellation, the kernel saying its peer is gone, or the failure of its send — and
//! then *settled* with a [`CallOutcome`] until its owner [`releases`](PendingCalls::release)
//! it. A reply that finds its call settled or released is dropped and counted
//! ([`CallStats::late_replies`]); a reply from another peer than the one called is
//! dropped and counted ([`CallStats::misdirected_replies`]), the call stays pending.
use core::fmt;
use core::num::NonZeroU32;

use crate::kevent::PeerIdentity;
use crate::spec::CallStatus;
use crate::wire::ipcon::{PeerRef, Sender};

/// A pending call's id: nonzero, unique among the calls of one table until the table has
/// reused its slot some 2^32 / capacity times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CallId(NonZeroU32);

impl CallId {
    /// The id of a wire call id (`None` for 0, which no call has).
    pub const fn new(raw: u32) -> Option<Self> {
        match NonZeroU32::new(raw) {
            Some(id) => Some(Self(id)),
            None => None,
        }
    }

    /// The number the call header carries.
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallOutcome {
    /// Its reply arrived, with this status (the reply's payload is the caller's to keep).
    Replied(CallStatus),
    /// Its deadline passed first.
    TimedOut,
    /// It was cancelled.
    Cancelled,
    /// The peer it went to is gone (the kernel's peer-remove event).
    PeerGone,
    /// Its request was not delivered: the kernel's errno (e.g. `ENOENT`: no such peer).
    Undeliverable(i32),
}

/// Why a call could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CallTableError {
    /// Every slot holds a call (pending, or settled and not yet released).
    Full,
}

impl fmt::Display for CallTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full => f.write_str("too many calls in flight"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CallTableError {}

/// What a table saw since it was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CallStats {
    /// Calls started.
    pub started: u64,
    /// Calls settled by their reply.
    pub replied: u64,
    /// Calls whose deadline passed.
    pub timed_out: u64,
    /// Calls cancelled (also released while pending).
    pub cancelled: u64,
    /// Calls failed because their peer is gone.
    pub peer_gone: u64,
    /// Calls whose request was not delivered.
    pub undeliverable: u64,
    /// Replies dropped because their call was already settled (cancelled, expired,
    /// failed) or released, or never existed.
    pub late_replies: u64,
    /// Replies dropped because they came from another peer than the one called.
    pub misdirected_replies: u64,
}

/// What became of a reply handed to [`PendingCalls::on_reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReplyMatch {
    /// It settled call `id` (slot `slot`): keep its payload for the caller.
    Accepted {
        /// The call.
        id: CallId,
        /// Its slot (an index into the storage: where to keep the payload).
        slot: usize,
    },
    /// Dropped and counted: no pending call has that id.
    Late,
    /// Dropped and counted: the call went to another peer.
    Misdirected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Free { next: Option<u32> },
    Pending,
    Settled(CallOutcome),
}

/// One entry of the table's storage; fill the storage with [`CallSlot::EMPTY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSlot {
    /// The id of the slot's current (or last) call; 0 before its first.
    id: u32,
    target: PeerRef,
    /// The posted request's ticket (0: none).
    ticket: u32,
    /// In milliseconds of the caller's clock; `u64::MAX`: none.
    deadline: u64,
    state: SlotState,
}

impl CallSlot {
    /// An unused slot.
    pub const EMPTY: Self = Self {
        id: 0,
        target: PeerRef::Port(0),
        ticket: 0,
        deadline: u64::MAX,
        state: SlotState::Free { next: None },
    };
}

/// The pending-call table over storage `S` (`[CallSlot; N]`, `Box<[CallSlot]>`, ...):
/// as many calls at once as it has slots (at most 2^32 - 1).
#[derive(Debug, Clone)]
pub struct PendingCalls<S> {
    slots: S,
    free: Option<u32>,
    pending: usize,
    in_use: usize,
    /// Never later than the earliest deadline of a pending call.
    earliest: u64,
    stats: CallStats,
}

/// Whether `sender` is the peer `target` names (a reply must come from the peer called).
fn is_target(target: &PeerRef, sender: &Sender) -> bool {
    match target {
        PeerRef::Port(port) => sender.port == *port,
        PeerRef::Name(name) => sender.name.as_ref() == Some(name),
    }
}

/// Whether the peer a kernel event describes is the one `target` names.
fn is_same_peer(target: &PeerRef, peer: &PeerIdentity) -> bool {
    match target {
        PeerRef::Port(port) => peer.port == *port,
        PeerRef::Name(name) => peer.name.as_ref() == Some(name),
    }
}

impl<S: AsRef<[CallSlot]> + AsMut<[CallSlot]>> PendingCalls<S> {
    /// A table over `slots` (their content is reset; at most `u32::MAX - 1` slots are
    /// used).
    pub fn new(mut slots: S) -> Self {
        let storage = slots.as_mut();
        let used = storage.len().min(u32::MAX as usize - 1);
        for (i, slot) in storage.iter_mut().enumerate().take(used) {
            let next = if i + 1 < used {
                u32::try_from(i + 1).ok()
            } else {
                None
            };
            *slot = CallSlot {
                state: SlotState::Free { next },
                ..CallSlot::EMPTY
            };
        }
        Self {
            slots,
            free: if used > 0 { Some(0) } else { None },
            pending: 0,
            in_use: 0,
            earliest: u64::MAX,
            stats: CallStats::default(),
        }
    }

    fn capacity_u32(&self) -> u32 {
        // `new` uses at most u32::MAX - 1 slots.
        u32::try_from(self.slots.as_ref().len()).unwrap_or(u32::MAX - 1)
    }

    /// How many calls the table holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity_u32() as usize
    }

    /// Calls waiting for their reply.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Slots taken: pending calls and settled ones not yet released.
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// What the table saw so far.
    pub fn stats(&self) -> CallStats {
        self.stats
    }

    fn index_of(&self, id: CallId) -> Option<usize> {
        let index = ((id.get() - 1) % self.capacity_u32().max(1)) as usize;
        let slot = self.slots.as_ref().get(index)?;
        (slot.id == id.get() && !matches!(slot.state, SlotState::Free { .. })).then_some(index)
    }

    /// Starts a call to `target`; it expires at `now_ms + timeout_ms` (`None`: never).
    /// Returns its id, to put in the request's call header.
    pub fn begin(
        &mut self,
        target: PeerRef,
        now_ms: u64,
        timeout_ms: Option<u64>,
    ) -> Result<CallId, CallTableError> {
        let index = self.free.ok_or(CallTableError::Full)?;
        let capacity = self.capacity_u32();
        let slot = &mut self.slots.as_mut()[index as usize];
        let SlotState::Free { next } = slot.state else {
            return Err(CallTableError::Full);
        };
        // Each slot's ids are its index + 1 plus multiples of the capacity: the id
        // names the slot, and moves on with every call the slot holds.
        let id = match slot.id.checked_add(capacity) {
            Some(id) if slot.id != 0 => id,
            _ => index + 1,
        };
        let deadline = timeout_ms.map_or(u64::MAX, |t| now_ms.saturating_add(t));
        *slot = CallSlot {
            id,
            target,
            ticket: 0,
            deadline,
            state: SlotState::Pending,
        };
        self.free = next;
        self.pending += 1;
        self.in_use += 1;
        self.earliest = self.earliest.min(deadline);
        self.stats.started += 1;
        CallId::new(id).ok_or(CallTableError::Full)
    }

    /// Notes the ticket of the posted request of call `id`, so that the kernel's
    /// send-failed notice for it fails the call ([`PendingCalls::on_send_failed`]).
    pub fn set_ticket(&mut self, id: CallId, ticket: u32) {
        if let Some(i) = self.index_of(id) {
            self.slots.as_mut()[i].ticket = ticket;
        }
    }

    fn settle(&mut self, index: usize, outcome: CallOutcome) {
        let slot = &mut self.slots.as_mut()[index];
        if slot.state != SlotState::Pending {
            return;
        }
        slot.state = SlotState::Settled(outcome);
        self.pending -= 1;
        let counter = match outcome {
            CallOutcome::Replied(_) => &mut self.stats.replied,
            CallOutcome::TimedOut => &mut self.stats.timed_out,
            CallOutcome::Cancelled => &mut self.stats.cancelled,
            CallOutcome::PeerGone => &mut self.stats.peer_gone,
            CallOutcome::Undeliverable(_) => &mut self.stats.undeliverable,
        };
        *counter += 1;
    }

    fn pending_index(&self, id: CallId) -> Option<usize> {
        self.index_of(id)
            .filter(|&i| self.slots.as_ref()[i].state == SlotState::Pending)
    }

    /// A reply with call id `id` and `status` arrived from `sender` (the kernel's stamp).
    pub fn on_reply(&mut self, sender: &Sender, id: u32, status: CallStatus) -> ReplyMatch {
        let Some((id, index)) = CallId::new(id).and_then(|id| Some((id, self.pending_index(id)?)))
        else {
            self.stats.late_replies += 1;
            log_debug!("ipcon: dropped a late reply to call {}", id);
            return ReplyMatch::Late;
        };
        if !is_target(&self.slots.as_ref()[index].target, sender) {
            self.stats.misdirected_replies += 1;
            log_warn!(
                "ipcon: dropped a reply to call {} from port {}, not the peer called",
                id.get(),
                sender.port
            );
            return ReplyMatch::Misdirected;
        }
        self.settle(index, CallOutcome::Replied(status));
        ReplyMatch::Accepted { id, slot: index }
    }

    /// The kernel says `peer` is gone: every call pending to it fails at once with
    /// [`CallOutcome::PeerGone`]; `settled` is told each. Returns how many.
    pub fn on_peer_removed(
        &mut self,
        peer: &PeerIdentity,
        mut settled: impl FnMut(CallId, usize),
    ) -> usize {
        let mut count = 0;
        for index in 0..self.slots.as_ref().len() {
            let slot = self.slots.as_ref()[index];
            if slot.state == SlotState::Pending && is_same_peer(&slot.target, peer) {
                self.settle(index, CallOutcome::PeerGone);
                if let Some(id) = CallId::new(slot.id) {
                    settled(id, index);
                }
                count += 1;
            }
        }
        count
    }

    /// The kernel's send-failed notice for the posted request with `ticket`: its call
    /// fails with [`CallOutcome::Undeliverable`] (`errno`). Returns the call and its slot.
    pub fn on_send_failed(&mut self, ticket: u32, errno: i32) -> Option<(CallId, usize)> {
        if ticket == 0 {
            return None;
        }
        let index = self
            .slots
            .as_ref()
            .iter()
            .position(|s| s.state == SlotState::Pending && s.ticket == ticket)?;
        self.settle(index, CallOutcome::Undeliverable(errno));
        Some((CallId::new(self.slots.as_ref()[index].id)?, index))
    }

    /// Settles call `id` as undeliverable (its send failed before a ticket existed).
    pub fn fail_send(&mut self, id: CallId, errno: i32) -> bool {
        self.settle_pending(id, CallOutcome::Undeliverable(errno))
    }

    fn settle_pending(&mut self, id: CallId, outcome: CallOutcome) -> bool {
        match self.pending_index(id) {
            Some(index) => {
                self.settle(index, outcome);
                true
            }
            None => false,
        }
    }

    /// Cancels call `id` if it is pending: it settles as [`CallOutcome::Cancelled`] and
    /// its reply, if one comes, is dropped and counted. Returns whether it was pending.
    pub fn cancel(&mut self, id: CallId) -> bool {
        self.settle_pending(id, CallOutcome::Cancelled)
    }

    /// Times call `id` out if it is still pending at `now_ms` past its deadline.
    pub fn expire_call(&mut self, id: CallId, now_ms: u64) -> bool {
        match self.pending_index(id) {
            Some(i) if self.slots.as_ref()[i].deadline <= now_ms => {
                self.settle(i, CallOutcome::TimedOut);
                true
            }
            _ => false,
        }
    }

    /// Times out every pending call whose deadline is at or before `now_ms`; `settled`
    /// is told each. Returns how many.
    pub fn expire(&mut self, now_ms: u64, mut settled: impl FnMut(CallId, usize)) -> usize {
        if now_ms < self.earliest {
            return 0;
        }
        let mut count = 0;
        let mut earliest = u64::MAX;
        for index in 0..self.slots.as_ref().len() {
            let slot = self.slots.as_ref()[index];
            if slot.state != SlotState::Pending {
                continue;
            }
            if slot.deadline <= now_ms {
                self.settle(index, CallOutcome::TimedOut);
                if let Some(id) = CallId::new(slot.id) {
                    settled(id, index);
                }
                count += 1;
            } else {
                earliest = earliest.min(slot.deadline);
            }
        }
        self.earliest = earliest;
        count
    }

    /// When [`PendingCalls::expire`] should run next: never later than the earliest
    /// deadline of a pending call (it may be earlier, after calls settled).
    pub fn next_deadline(&self) -> Option<u64> {
        (self.pending > 0 && self.earliest != u64::MAX).then_some(self.earliest)
    }

    /// The deadline of pending call `id` (`None`: none, or not pending).
    pub fn deadline(&self, id: CallId) -> Option<u64> {
        let slot = &self.slots.as_ref()[self.pending_index(id)?];
        (slot.deadline != u64::MAX).then_some(slot.deadline)
    }

    /// How call `id` ended; `None` while it is pending (or if the table does not hold it).
    pub fn outcome(&self, id: CallId) -> Option<CallOutcome> {
        match self.slots.as_ref()[self.index_of(id)?].state {
            SlotState::Settled(outcome) => Some(outcome),
            _ => None,
        }
    }

    /// Whether call `id` is pending.
    pub fn is_pending(&self, id: CallId) -> bool {
        self.pending_index(id).is_some()
    }

    /// The slot of call `id` (pending or settled).
    pub fn slot(&self, id: CallId) -> Option<usize> {
        self.index_of(id)
    }

    /// Frees call `id`'s slot and returns how it ended; a call still pending is
    /// cancelled first (its reply will be late).
    pub fn release(&mut self, id: CallId) -> Option<CallOutcome> {
        let index = self.index_of(id)?;
        self.settle(index, CallOutcome::Cancelled);
        let slot = &mut self.slots.as_mut()[index];
        let SlotState::Settled(outcome) = slot.state else {
            return None;
        };
        slot.state = SlotState::Free { next: self.free };
        self.free = u32::try_from(index).ok();
        self.in_use -= 1;
        Some(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::spec::{PeerFlags, RemoveReason};
    use crate::KeventKind;

    fn name(s: &str) -> Name {
        Name::new(s).unwrap()
    }

    fn sender(n: &str, port: u32) -> Sender {
        Sender {
            name: Name::new(n).ok(),
            port,
            pid: 1,
            uid: 0,
        }
    }

    fn identity(n: &str, port: u32) -> PeerIdentity {
        PeerIdentity {
            name: Name::new(n).ok(),
            port,
            pid: 1,
            uid: 0,
            flags: PeerFlags::empty(),
        }
    }

    fn table<const N: usize>() -> PendingCalls<[CallSlot; N]> {
        PendingCalls::new([CallSlot::EMPTY; N])
    }

    #[test]
    fn a_reply_settles_its_call_once() {
        let mut t = table::<4>();
        let srv = PeerRef::Name(name("srv"));
        let a = t.begin(srv, 0, Some(100)).unwrap();
        let b = t.begin(srv, 0, Some(100)).unwrap();
        assert_ne!(a, b);
        assert_eq!((t.pending(), t.in_use()), (2, 2));
        assert_eq!(
            t.on_reply(&sender("srv", 9), b.get(), CallStatus::Ok),
            ReplyMatch::Accepted {
                id: b,
                slot: t.slot(b).unwrap()
            }
        );
        assert_eq!(t.outcome(b), Some(CallOutcome::Replied(CallStatus::Ok)));
        assert_eq!(t.outcome(a), None);
        // Twice: late.
        assert_eq!(
            t.on_reply(&sender("srv", 9), b.get(), CallStatus::Ok),
            ReplyMatch::Late
        );
        assert_eq!(t.release(b), Some(CallOutcome::Replied(CallStatus::Ok)));
        assert_eq!(t.release(b), None);
        assert_eq!(
            t.on_reply(&sender("srv", 9), 0, CallStatus::Ok),
            ReplyMatch::Late
        );
        assert_eq!(t.stats().late_replies, 2);
        assert_eq!(t.stats().replied, 1);
        assert_eq!((t.pending(), t.in_use()), (1, 1));
    }

    #[test]
    fn replies_from_another_peer_never_settle_a_call() {
        let mut t = table::<2>();
        let by_name = t.begin(PeerRef::Name(name("srv")), 0, None).unwrap();
        let by_port = t.begin(PeerRef::Port(77), 0, None).unwrap();
        assert_eq!(
            t.on_reply(&sender("other", 9), by_name.get(), CallStatus::Ok),
            ReplyMatch::Misdirected
        );
        assert_eq!(
            t.on_reply(&sender("srv", 78), by_port.get(), CallStatus::Ok),
            ReplyMatch::Misdirected
        );
        assert!(t.is_pending(by_name) && t.is_pending(by_port));
        assert_eq!(t.stats().misdirected_replies, 2);
        assert!(matches!(
            t.on_reply(&sender("x", 77), by_port.get(), CallStatus::Busy),
            ReplyMatch::Accepted { .. }
        ));
        assert_eq!(
            t.outcome(by_port),
            Some(CallOutcome::Replied(CallStatus::Busy))
        );
    }

    #[test]
    fn a_reused_slot_gets_a_new_id_and_old_replies_are_late() {
        let mut t = table::<2>();
        let srv = PeerRef::Port(5);
        let first = t.begin(srv, 0, None).unwrap();
        let slot = t.slot(first).unwrap();
        assert!(t.cancel(first));
        assert_eq!(t.release(first), Some(CallOutcome::Cancelled));
        let second = t.begin(srv, 0, None).unwrap();
        assert_eq!(t.slot(second), Some(slot));
        assert_ne!(first, second);
        assert_eq!(
            t.on_reply(&sender("s", 5), first.get(), CallStatus::Ok),
            ReplyMatch::Late
        );
        assert!(t.is_pending(second));
        assert_eq!(t.stats().cancelled, 1);
    }

    #[test]
    fn capacity_is_fixed_and_released_slots_come_back() {
        let mut t = table::<3>();
        let ids: [CallId; 3] =
            core::array::from_fn(|_| t.begin(PeerRef::Port(1), 0, None).unwrap());
        assert_eq!(
            t.begin(PeerRef::Port(1), 0, None),
            Err(CallTableError::Full)
        );
        // Settled but not released: still taken.
        t.cancel(ids[1]);
        assert_eq!(
            t.begin(PeerRef::Port(1), 0, None),
            Err(CallTableError::Full)
        );
        t.release(ids[1]);
        assert!(t.begin(PeerRef::Port(1), 0, None).is_ok());
        // An empty table holds nothing and never panics.
        let mut empty = PendingCalls::new([CallSlot::EMPTY; 0]);
        assert_eq!(
            empty.begin(PeerRef::Port(1), 0, None),
            Err(CallTableError::Full)
        );
        assert_eq!(
            empty.on_reply(&sender("s", 1), 1, CallStatus::Ok),
            ReplyMatch::Late
        );
    }

    #[test]
    fn deadlines_expire_pending_calls_only() {
        let mut t = table::<4>();
        let a = t.begin(PeerRef::Port(1), 100, Some(10)).unwrap();
        let b = t.begin(PeerRef::Port(1), 100, Some(50)).unwrap();
        let c = t.begin(PeerRef::Port(1), 100, None).unwrap();
        assert_eq!(t.next_deadline(), Some(110));
        assert_eq!(t.deadline(c), None);
        assert_eq!(t.expire(109, |_, _| panic!("nothing is due")), 0);
        let mut expired = [None; 4];
        let mut n = 0;
        assert_eq!(
            t.expire(110, |id, _| {
                expired[n] = Some(id);
                n += 1;
            }),
            1
        );
        assert_eq!(expired[0], Some(a));
        assert_eq!(t.outcome(a), Some(CallOutcome::TimedOut));
        assert_eq!(t.next_deadline(), Some(150));
        // The reply to an expired call is late, never delivered.
        assert_eq!(
            t.on_reply(&sender("s", 1), a.get(), CallStatus::Ok),
            ReplyMatch::Late
        );
        assert!(!t.expire_call(b, 149));
        assert!(t.expire_call(b, 150));
        assert!(!t.expire_call(c, u64::MAX - 1));
        // Early is allowed (a spurious wake-up), late never; a scan makes it exact.
        assert_eq!(t.next_deadline(), Some(150));
        assert_eq!(t.expire(150, |_, _| panic!("b is settled")), 0);
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.stats().timed_out, 2);
    }

    #[test]
    fn peer_removal_fails_every_call_to_that_peer_at_once() {
        let mut t = table::<8>();
        let srv_a = t.begin(PeerRef::Name(name("srv")), 0, Some(1000)).unwrap();
        let srv_b = t.begin(PeerRef::Port(42), 0, None).unwrap();
        let other = t.begin(PeerRef::Name(name("other")), 0, None).unwrap();
        let done = t.begin(PeerRef::Name(name("srv")), 0, None).unwrap();
        t.on_reply(&sender("srv", 42), done.get(), CallStatus::Ok);
        let kevent = crate::Kevent {
            seq: 1,
            kind: KeventKind::PeerRemove {
                peer: identity("srv", 42),
                reason: RemoveReason::Closed,
            },
        };
        let mut failed = 0;
        let gone = kevent.peer().unwrap();
        assert_eq!(t.on_peer_removed(gone, |_, _| failed += 1), 2);
        assert_eq!(failed, 2);
        assert_eq!(t.outcome(srv_a), Some(CallOutcome::PeerGone));
        assert_eq!(t.outcome(srv_b), Some(CallOutcome::PeerGone));
        assert!(t.is_pending(other));
        assert_eq!(t.outcome(done), Some(CallOutcome::Replied(CallStatus::Ok)));
        assert_eq!(t.stats().peer_gone, 2);
    }

    #[test]
    fn a_send_failure_fails_its_call() {
        let mut t = table::<4>();
        let a = t.begin(PeerRef::Name(name("nobody")), 0, None).unwrap();
        t.set_ticket(a, 17);
        assert_eq!(t.on_send_failed(16, 2), None);
        assert_eq!(t.on_send_failed(0, 2), None);
        assert_eq!(t.on_send_failed(17, 2), Some((a, t.slot(a).unwrap())));
        assert_eq!(t.outcome(a), Some(CallOutcome::Undeliverable(2)));
        let b = t.begin(PeerRef::Port(3), 0, None).unwrap();
        assert!(t.fail_send(b, 90));
        assert!(!t.fail_send(b, 90));
        assert_eq!(t.stats().undeliverable, 2);
    }

    #[test]
    fn releasing_a_pending_call_cancels_it() {
        let mut t = table::<2>();
        let a = t.begin(PeerRef::Port(3), 0, Some(5)).unwrap();
        assert_eq!(t.release(a), Some(CallOutcome::Cancelled));
        assert_eq!((t.pending(), t.in_use()), (0, 0));
        assert_eq!(t.expire(1000, |_, _| panic!("released")), 0);
    }

    #[test]
    fn ids_wrap_without_zero_and_keep_naming_their_slot() {
        let mut t = table::<3>();
        for _ in 0..5 {
            let id = t.begin(PeerRef::Port(1), 0, None).unwrap();
            t.release(id);
        }
        // Force the wrap: the slot's last id near u32::MAX.
        let index = t.free.unwrap() as usize;
        t.slots[index].id = u32::MAX - 1;
        let id = t.begin(PeerRef::Port(1), 0, None).unwrap();
        assert_eq!(id.get() as usize, index + 1);
        assert_eq!(t.slot(id), Some(index));
    }

    #[test]
    fn many_calls_in_boxed_storage() {
        let storage = std::vec![CallSlot::EMPTY; 10_000].into_boxed_slice();
        let mut t = PendingCalls::new(storage);
        let mut ids = std::vec::Vec::new();
        for _ in 0..10_000 {
            ids.push(t.begin(PeerRef::Port(7), 0, Some(10)).unwrap());
        }
        assert_eq!(t.pending(), 10_000);
        for id in ids.iter().rev() {
            assert!(matches!(
                t.on_reply(&sender("s", 7), id.get(), CallStatus::Ok),
                ReplyMatch::Accepted { .. }
            ));
            t.release(*id);
        }
        assert_eq!((t.pending(), t.in_use(), t.stats().replied), (0, 0, 10_000));
    }
}
