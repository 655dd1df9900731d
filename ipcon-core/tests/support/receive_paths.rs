//! The check that a receive's one-pass path agrees with the general one, shared by the
//! property tests (`tests/properties.rs`) and the fuzz target `incoming`.
use ipcon_core::machine::Inbox;
use ipcon_core::Message;

/// Takes every delivery of `datagram` both ways, into messages of `N` bytes: with
/// [`Inbox::next_into`] (one pass for unicast and group messages) and with
/// [`Inbox::next`] then [`Message::fill_received`]. They must fill the same messages,
/// count the same drops and leave the same rest unread, step by step; panics where they
/// differ.
pub fn receive_paths_agree<const N: usize>(datagram: &[u8], family: u16) {
    let (mut fast_inbox, mut general_inbox) = (Inbox::new(family), Inbox::new(family));
    let (mut fast_unread, mut general_unread) = (datagram, datagram);
    // The messages are refilled, as a receiver's are: a name equal to the one a message
    // holds is taken without validation.
    let mut fast: Message<N> = Message::new();
    let mut general: Message<N> = Message::new();
    loop {
        let fast_got = fast_inbox.next_into(&mut fast_unread, &mut fast);
        let general_got = loop {
            match general_inbox.next(&mut general_unread) {
                None => break false,
                Some(r) if general.fill_received(&r).is_ok() => break true,
                Some(_) => general_inbox.count_malformed(),
            }
        };
        assert_eq!(fast_got, general_got);
        assert_eq!(fast_inbox.stats(), general_inbox.stats());
        assert_eq!(fast_unread.len(), general_unread.len());
        assert_eq!(&fast, &general);
        if !fast_got {
            return;
        }
    }
}
