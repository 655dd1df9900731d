//! Errors as C sees them: negative errno values, `ipcon_strerror`, and the
//! last failure of a handler with the kernel's extended-ACK text.

use core::ffi::{c_char, c_int};
use core::fmt::{self, Write};

use ipcon_linux::{Error, ErrorKind};
use linux_raw_sys::errno as e;

/// What a C entry point returns on failure: a negative errno.
pub type Failure = c_int;

/// The positive errno a C caller sees for `err`: the kernel's or the system
/// call's own where there is one, else the kind's.
pub fn errno_of(err: &Error) -> c_int {
    if let Some(errno) = err.errno() {
        // EAGAIN on a unicast is a full queue; the original library returned
        // it too (its programs retry on -EAGAIN).
        return errno;
    }
    let errno = match err.kind() {
        ErrorKind::Timeout => e::ETIMEDOUT,
        ErrorKind::WouldBlock | ErrorKind::QueueFull => e::EAGAIN,
        ErrorKind::NotFound => e::ENOENT,
        ErrorKind::AlreadyExists => e::EEXIST,
        ErrorKind::PermissionDenied => e::EACCES,
        ErrorKind::TooBig => e::EMSGSIZE,
        ErrorKind::Overrun => e::ENOBUFS,
        ErrorKind::LimitReached | ErrorKind::BatchFull => e::ENOSPC,
        ErrorKind::ModuleNotLoaded => e::ENODEV,
        ErrorKind::ModuleReloaded => e::ESTALE,
        ErrorKind::IncompatibleModule { .. } => e::EPROTONOSUPPORT,
        ErrorKind::InvalidName => e::EINVAL,
        ErrorKind::NotRegistered => e::ENOTCONN,
        ErrorKind::Protocol => e::EPROTO,
        ErrorKind::PeerGone => e::EHOSTDOWN,
        ErrorKind::Cancelled => e::ECANCELED,
        ErrorKind::CallFailed => e::EREMOTEIO,
        ErrorKind::UnexpectedOwner => e::EPERM,
        ErrorKind::NotPacked => e::EOPNOTSUPP,
        _ => e::EIO,
    };
    errno as c_int
}

/// What ipcon means by an errno, where it means something particular.
fn ipcon_meaning(errno: u32) -> Option<&'static [u8]> {
    Some(match errno {
        e::ENODEV => b"ipcon kernel module not loaded (modprobe ipcon)\0",
        e::ESTALE => b"ipcon kernel module was reloaded: create a new handler\0",
        e::EPROTONOSUPPORT => b"the ipcon kernel module speaks another protocol version\0",
        e::ENOTCONN => b"ipcon peer not registered (unregistered, or the module was unloaded)\0",
        e::EMSGSIZE => b"message larger than LIBIPCON_MAX_PAYLOAD_LEN\0",
        e::EAGAIN => b"no message ready, or the receiver's queue is full\0",
        e::ENOENT => b"no such ipcon peer or group\0",
        e::EEXIST => b"ipcon name already taken, or already a member\0",
        e::EALREADY => b"already done\0",
        e::EINVAL => b"invalid argument (NULL pointer, bad flags, or a name that is empty, longer than 31 bytes, or has '/' or a non-printable byte)\0",
        e::ETIMEDOUT => b"timed out\0",
        e::EACCES => b"permission denied by ipcon's access rules\0",
        e::EPERM => b"permission denied by ipcon's access rules, or the peer belongs to another user than expected\0",
        e::ENOSPC => b"ipcon limit reached (peers, groups or subscriptions)\0",
        e::ENOBUFS => b"receive queue overrun: answers or messages were lost\0",
        e::EPROTO => b"ipcon protocol error: the kernel's answer made no sense\0",
        e::EBADF => b"bad handler or file descriptor\0",
        e::EINTR => b"interrupted by a signal\0",
        e::EHOSTDOWN => b"the called peer is gone (exited, was killed or unregistered) before it replied\0",
        e::EOPNOTSUPP => b"the called peer has no such method\0",
        e::EBADMSG => b"the called peer could not parse the request\0",
        e::EBUSY => b"the called peer is busy; try again later\0",
        e::EREMOTEIO => b"the called method failed (its text is the reply)\0",
        e::ERANGE => b"the reply is larger than the reply buffer\0",
        _ => return None,
    })
}

extern "C" {
    /// The C library's message for any other errno.
    fn strerror(errnum: c_int) -> *mut c_char;
}

/// `ipcon_strerror`: a message for `err` (negative or positive errno).
pub fn strerror_of(err: c_int) -> *const c_char {
    let errno = err.unsigned_abs();
    match ipcon_meaning(errno) {
        Some(text) => text.as_ptr().cast(),
        // SAFETY: strerror accepts any int and returns a string the C
        // library owns.
        None => unsafe { strerror(errno as c_int) },
    }
}

/// Formats into a C buffer, cutting what does not fit; always NUL-terminated
/// (unless the buffer is empty).
pub struct CBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> CBuf<'a> {
    /// Writes into `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        if let Some(first) = buf.first_mut() {
            *first = 0;
        }
        Self { buf, len: 0 }
    }
}

impl CBuf<'_> {
    /// Bytes written so far (the NUL not counted).
    pub fn len(&self) -> usize {
        self.len
    }
}

impl Write for CBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Room for the NUL.
        let room = self.buf.len().saturating_sub(self.len + 1);
        let take = s.len().min(room);
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if let Some(nul) = self.buf.get_mut(self.len) {
            *nul = 0;
        }
        Ok(())
    }
}

/// Writes `text` (or an empty string) into the C buffer `buf` of `len`
/// bytes, when both are given.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes.
pub unsafe fn write_c(buf: *mut c_char, len: usize, text: impl fmt::Display) {
    if buf.is_null() || len == 0 {
        return;
    }
    // SAFETY: the caller promises `len` writable bytes at `buf`.
    let bytes = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    let _ = write!(CBuf::new(bytes), "{text}");
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use core::ffi::CStr;

    #[test]
    fn module_states_have_errnos_of_their_own() {
        let not_loaded = Error::new("open ipcon", ErrorKind::ModuleNotLoaded);
        assert_eq!(errno_of(&not_loaded), e::ENODEV as c_int);
        let reloaded = Error::new("send unicast", ErrorKind::ModuleReloaded);
        assert_eq!(errno_of(&reloaded), e::ESTALE as c_int);
        let kernel = Error::from_errno("join group", e::ENOENT as i32);
        assert_eq!(errno_of(&kernel), e::ENOENT as c_int);
        let big = Error::new("send unicast", ErrorKind::TooBig);
        assert_eq!(errno_of(&big), e::EMSGSIZE as c_int);
    }

    #[test]
    fn strerror_takes_either_sign() {
        // SAFETY: strerror_of returns a NUL-terminated static string.
        let text = unsafe { CStr::from_ptr(strerror_of(-(e::ENODEV as c_int))) };
        assert!(text.to_str().unwrap().contains("modprobe ipcon"));
        // SAFETY: as above.
        let same = unsafe { CStr::from_ptr(strerror_of(e::ENODEV as c_int)) };
        assert_eq!(text, same);
        // SAFETY: as above; the C library's text for an errno ipcon has no meaning for.
        let other = unsafe { CStr::from_ptr(strerror_of(-(e::EISDIR as c_int))) };
        assert!(!other.to_bytes().is_empty());
    }

    #[test]
    fn a_c_buffer_is_cut_and_terminated() {
        let mut buf = [0x55u8; 8];
        let _ = CBuf::new(&mut buf).write_str("0123456789");
        assert_eq!(&buf, b"0123456\0");
        let mut empty = [0u8; 0];
        let _ = write!(CBuf::new(&mut empty), "x");
    }
}
