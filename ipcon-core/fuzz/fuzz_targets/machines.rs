//! The sans-IO machines fed with arbitrary kernel messages and clock readings: family
//! resolution, request tracking and the receiving inbox never panic and keep their
//! invariants.
#![no_main]
use ipcon_core::machine::{FamilyResolver, Inbox, RequestTracker, Tracked};
use ipcon_core::wire::ipcon::{parse_incoming, Delivery};
use ipcon_core::wire::netlink::Messages;
use ipcon_core::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, datagram)) = data.split_first() else {
        return;
    };
    let mut resolver = FamilyResolver::new();
    let mut buf = [0u8; 64];
    resolver
        .start(u32::from(knobs), 1, 0, 100, &mut buf)
        .unwrap();
    let mut tracker: RequestTracker<4> = RequestTracker::with_first_seq(u32::from(knobs) << 24);
    let mut seqs = [0u32; 4];
    for (i, s) in seqs.iter_mut().enumerate() {
        *s = tracker.begin(i % 2 == 0, 0, 10 * i as u64).unwrap();
    }
    let mut inbox = Inbox::new(0x1a);
    let mut message: Message = Message::new();
    let before = inbox.stats();
    if let Some(mut unread) = inbox.open(u32::from(knobs & 1), datagram.len(), datagram) {
        assert_eq!(inbox.stats().foreign_dropped, before.foreign_dropped);
        // Every delivery of the datagram, each call moving on, until none is left.
        while let Some(received) = {
            let left = unread.len();
            let got = inbox.next(&mut unread);
            assert!(got.is_none() || unread.len() < left);
            got
        } {
            if !matches!(received.delivery, Delivery::Kevent(_)) {
                assert_eq!(received.kevents_missed, 0);
            }
            let _ = message.fill_received(&received);
        }
        assert!(unread.is_empty());
        assert!(inbox.stats().malformed_dropped >= before.malformed_dropped);
    }
    for (now, packet) in Messages::new(datagram).flatten().enumerate() {
        let _ = resolver.handle(&packet);
        let _ = resolver.poll(now as u64 * 7);
        if let Ok(incoming) = parse_incoming(&packet, 0x1a) {
            let before = tracker.len();
            match tracker.handle(&incoming) {
                Tracked::Completed { seq } | Tracked::Failed { seq, .. } => {
                    assert!(
                        seqs.contains(&seq)
                            && !tracker.is_pending(seq)
                            && tracker.len() == before - 1
                    )
                }
                Tracked::Reply { seq } => assert!(tracker.is_pending(seq)),
                _ => assert_eq!(tracker.len(), before),
            }
        }
        while let Some(seq) = tracker.expire(now as u64 * 5) {
            assert!(seqs.contains(&seq));
        }
    }
});
