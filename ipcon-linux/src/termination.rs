//! [`Handler::unregister_on_termination`](crate::Handler::unregister_on_termination):
//! on SIGTERM, SIGINT or SIGHUP, the signal handler itself unregisters every
//! watched peer and ends the process with status 0.
//!
//! The handler can only use what is async-signal-safe: atomics, raw system
//! calls, and ipcon-core's encoder writing into a stack buffer. So each
//! watched peer is a slot holding its control socket's descriptor and its
//! family id; the signal handler takes every slot (marking it busy) and sends
//! `peer-unregister` on it. A handler that is dropped first empties its slot
//! before its socket is closed, waiting if the signal handler holds it (the
//! process is then ending anyway), so the signal handler never writes to a
//! descriptor number that was closed and reused.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Once;

use ipcon_core::wire::ipcon::Request;

use crate::error::{Error, ErrorKind, Result};
use crate::sys;

/// How many peers of a process may be watched.
const SLOTS: usize = 32;

/// A slot without a peer.
const EMPTY: i32 = -1;
/// A slot being filled, or taken by the signal handler.
const BUSY: i32 = -2;

/// "No slot", for handlers that did not ask.
pub(crate) const NO_SLOT: usize = usize::MAX;

#[allow(clippy::declare_interior_mutable_const)] // only to initialise the arrays below
const EMPTY_FD: AtomicI32 = AtomicI32::new(EMPTY);
#[allow(clippy::declare_interior_mutable_const)]
const NO_FAMILY: AtomicU32 = AtomicU32::new(0);

/// The control socket of each watched peer.
static FDS: [AtomicI32; SLOTS] = [EMPTY_FD; SLOTS];
/// The family id of each watched peer (written before its descriptor).
static FAMILIES: [AtomicU32; SLOTS] = [NO_FAMILY; SLOTS];

static INSTALL: Once = Once::new();

/// The signals that ask a daemon to stop.
const SIGNALS: [i32; 3] = {
    use linux_raw_sys::general::{SIGHUP, SIGINT, SIGTERM};
    [SIGTERM as i32, SIGINT as i32, SIGHUP as i32]
};

/// The signal handler: unregister every watched peer, then exit 0.
fn on_termination() {
    for (fd, family) in FDS.iter().zip(&FAMILIES) {
        let fd = fd.swap(BUSY, Ordering::Acquire);
        if fd < 0 {
            continue;
        }
        let family = family.load(Ordering::Acquire) as u16;
        let request = Request::PeerUnregister;
        let mut buf = [0u8; 64];
        if let Ok(len) = request.emit(&request.header(family, 0, 0), &mut buf) {
            // Handled by the kernel inside this call: once it returns the
            // peer is unregistered.
            let _ = sys::send_to_kernel_raw(fd, &buf[..len]);
        }
    }
    sys::exit_now(0);
}

/// Watches the peer whose control socket is `fd` (family `family`); returns
/// its slot.
pub(crate) fn watch(fd: i32, family: u16) -> Result<usize> {
    const OPERATION: &str = "unregister on termination";
    let mut installed = Ok(());
    INSTALL.call_once(|| {
        for signal in SIGNALS {
            if let Err(e) = sys::on_signal(signal, on_termination) {
                installed = Err(Error::from_errno(OPERATION, e.raw_os_error().unwrap_or(0)));
            }
        }
    });
    installed?;
    for (slot, (fds, family_slot)) in FDS.iter().zip(&FAMILIES).enumerate() {
        if fds
            .compare_exchange(EMPTY, BUSY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            family_slot.store(u32::from(family), Ordering::Release);
            fds.store(fd, Ordering::Release);
            return Ok(slot);
        }
    }
    Err(Error::new(OPERATION, ErrorKind::LimitReached).with_text("32 handlers already watched"))
}

/// Stops watching `slot` (from [`watch`], or [`NO_SLOT`]).
pub(crate) fn unwatch(slot: usize) {
    let Some(fd) = FDS.get(slot) else {
        return;
    };
    loop {
        let current = fd.load(Ordering::Acquire);
        if current == BUSY {
            // The signal handler is unregistering it and will end the
            // process.
            std::thread::yield_now();
            continue;
        }
        if fd
            .compare_exchange(current, EMPTY, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_taken_and_given_back() {
        let a = watch(1000, 0x20).unwrap();
        let b = watch(1001, 0x20).unwrap();
        assert_ne!(a, b);
        assert_eq!(FDS[a].load(Ordering::Relaxed), 1000);
        assert_eq!(FAMILIES[b].load(Ordering::Relaxed), 0x20);
        unwatch(a);
        unwatch(b);
        assert_eq!(FDS[a].load(Ordering::Relaxed), EMPTY);
        unwatch(NO_SLOT);
    }
}
