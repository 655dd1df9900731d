//! The sans-IO machines fed with arbitrary kernel messages and clock readings: family
//! resolution, request tracking and membership bookkeeping never panic and keep their
//! invariants.
#![no_main]
use ipcon_core::machine::{FamilyResolver, Membership, Memberships, RequestTracker, Tracked};
use ipcon_core::wire::ipcon::{parse_incoming, Delivery, Incoming};
use ipcon_core::wire::netlink::Messages;
use ipcon_core::Name;
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
    let mut memberships: Memberships<4> = Memberships::new();
    let name = Name::new("owner").unwrap();
    let _ = memberships.join(Membership {
        owner: name,
        group: name,
    });
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
            if let Incoming::Delivery(Delivery::Kevent(event)) = incoming {
                let before = memberships.len();
                assert_eq!(memberships.apply_kevent(&event), before - memberships.len());
            }
        }
        while let Some(seq) = tracker.expire(now as u64 * 5) {
            assert!(seqs.contains(&seq));
        }
    }
});
