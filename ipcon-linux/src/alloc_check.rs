//! Host proof that the request and receive paths do not allocate once
//! running: a counting global allocator for this crate's unit tests that
//! counts only on the thread that asked for it (tests run in parallel).
//!
//! The same claim against the real module (unicast, multicast, sync
//! multicast) is checked in the VM by `ipcon-bench`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use ipcon_core::wire::ctrl::GENL_ID_CTRL;
use ipcon_core::wire::ipcon::{Delivery, GroupDelivery, Sender};
use ipcon_core::wire::netlink::{NetlinkFlags, NetlinkHeaderRepr};
use ipcon_core::Name;

use crate::channel::Channel;
use crate::message::{Message, MessageKind};
use crate::receiver::Receiver;
use crate::socket::{NetlinkSocket, Wait};

struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the thread-locals may be gone while a thread exits.
    let counting = COUNTING.try_with(Cell::get).unwrap_or(false);
    if counting {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counting touches only const-initialised thread-locals, never the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller's contract for `layout` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Runs `work` counting this thread's allocations.
pub(crate) fn allocations_in(work: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    work();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn the_counter_counts() {
    let n = allocations_in(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(n, 1);
}

#[test]
fn requests_and_answers_do_not_allocate() {
    let mut channel = Channel::new(NetlinkSocket::open().unwrap(), Duration::from_secs(2));
    for _ in 0..10 {
        assert_eq!(channel.lookup_family("nlctrl").unwrap().id, GENL_ID_CTRL);
    }
    let n = allocations_in(|| {
        for _ in 0..200 {
            let family = channel.lookup_family("nlctrl").unwrap();
            assert_eq!(family.id, GENL_ID_CTRL);
        }
    });
    assert_eq!(n, 0, "allocations in 200 request/answer exchanges");
}

#[test]
fn filling_messages_and_idle_receives_do_not_allocate() {
    let receiver = Receiver::new(NetlinkSocket::open().unwrap(), 0x20);
    let delivery = Delivery::Group(GroupDelivery {
        sender: Sender {
            name: Some(Name::new("srv").unwrap()),
            port: 9,
            pid: 42,
            uid: 0,
        },
        group: Name::new("g").unwrap(),
        payload: &[7u8; 1024],
        missed: 0,
        replayed: false,
    });
    let mut datagram = [0u8; 2048];
    let header = NetlinkHeaderRepr {
        message_type: 0x20,
        flags: NetlinkFlags::empty(),
        seq: 0,
        port_id: 0,
    };
    let len = delivery.emit(&header, &mut datagram).unwrap();
    let mut msg = Message::new();
    // A thread's first receive allocates its receive buffer, once.
    let _ = receiver.receive(&mut msg, Wait::Never);
    let n = allocations_in(|| {
        for _ in 0..1000 {
            let mut core_msg = ipcon_core::wire::netlink::Messages::new(&datagram[..len]);
            let packet = core_msg.next().unwrap().unwrap();
            let incoming = ipcon_core::wire::ipcon::parse_incoming(&packet, 0x20).unwrap();
            let ipcon_core::wire::ipcon::Incoming::Delivery(d) = incoming else {
                panic!("not a delivery");
            };
            msg.fill(&d, 0).unwrap();
            // Nothing queued: the would-block error must not allocate either.
            let err = receiver.receive(&mut msg, Wait::Never).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::WouldBlock);
        }
    });
    assert_eq!(n, 0, "allocations in 1000 fills and idle receives");
    // A failed receive leaves the last message as it was.
    assert_eq!(msg.kind(), MessageKind::Group);
    assert_eq!(msg.payload(), &[7u8; 1024]);
}
