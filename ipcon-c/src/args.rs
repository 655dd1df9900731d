//! C arguments made safe before any system call: names (NULL, too long,
//! forbidden bytes) and payloads (NULL, over the limit) become errors.

use core::ffi::{c_char, c_void};

use ipcon_core::{Name, NameError};
use ipcon_linux::{Error, ErrorKind};
use linux_raw_sys::errno as e;

use crate::abi::{MAX_NAME_LEN, MAX_PAYLOAD_LEN};

/// `EINVAL` for a NULL pointer where one is required.
pub fn null(operation: &'static str) -> Error {
    Error::from_errno(operation, e::EINVAL as i32)
}

/// A name argument. Reads at most `LIBIPCON_MAX_NAME_LEN` bytes, never past
/// the NUL: an over-long name is refused without reading all of it.
///
/// # Safety
/// `name` is NULL or points to a NUL-terminated string, or to at least
/// `LIBIPCON_MAX_NAME_LEN` readable bytes.
pub unsafe fn name(operation: &'static str, name: *const c_char) -> Result<Name, Error> {
    if name.is_null() {
        return Err(null(operation));
    }
    let mut bytes = [0u8; MAX_NAME_LEN];
    for (index, slot) in bytes.iter_mut().enumerate() {
        // SAFETY: every byte up to and including the NUL is readable, and
        // the loop stops at the NUL.
        let byte = unsafe { *name.add(index) } as u8;
        if byte == 0 {
            return Name::from_bytes(&bytes[..index]).map_err(Error::from);
        }
        *slot = byte;
    }
    Err(Error::from(NameError::TooLong))
}

/// A payload argument: `size` bytes at `buf` (NULL only with `size` 0);
/// over `LIBIPCON_MAX_PAYLOAD_LEN` is `EMSGSIZE` before `buf` is touched.
///
/// # Safety
/// `buf` is NULL or points to `size` readable bytes that outlive the call.
pub unsafe fn payload<'a>(
    operation: &'static str,
    buf: *const c_void,
    size: usize,
) -> Result<&'a [u8], Error> {
    if size > MAX_PAYLOAD_LEN {
        return Err(Error::new(operation, ErrorKind::TooBig));
    }
    if size == 0 {
        return Ok(&[]);
    }
    if buf.is_null() {
        return Err(null(operation));
    }
    // SAFETY: the caller promises `size` readable bytes at `buf`.
    Ok(unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), size) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_without_reading_past_the_limit() {
        // SAFETY: C strings, and a 40-byte buffer without a NUL of which
        // only the first 32 bytes may be read.
        unsafe {
            assert_eq!(name("t", b"srv\0".as_ptr().cast()).unwrap().as_str(), "srv");
            assert_eq!(
                name("t", core::ptr::null()).unwrap_err().kind(),
                ErrorKind::InvalidName
            );
            assert_eq!(
                name("t", b"\0".as_ptr().cast()).unwrap_err().kind(),
                ErrorKind::InvalidName
            );
            assert_eq!(
                name("t", b"a/b\0".as_ptr().cast()).unwrap_err().kind(),
                ErrorKind::InvalidName
            );
            let long = [b'x'; 40];
            assert_eq!(
                name("t", long.as_ptr().cast()).unwrap_err().kind(),
                ErrorKind::InvalidName
            );
            let mut longest = [b'y'; 32];
            longest[31] = 0;
            assert_eq!(name("t", longest.as_ptr().cast()).unwrap().len(), 31);
        }
    }

    #[test]
    fn payloads_over_the_limit_or_null_are_refused() {
        // SAFETY: NULL with sizes (never read), and a real buffer.
        unsafe {
            let big = payload("t", core::ptr::null(), MAX_PAYLOAD_LEN + 1).unwrap_err();
            assert_eq!(big.kind(), ErrorKind::TooBig);
            assert_eq!(payload("t", core::ptr::null(), 0).unwrap(), b"");
            let null = payload("t", core::ptr::null(), 1).unwrap_err();
            assert_eq!(null.errno(), Some(e::EINVAL as i32));
            let data = [1u8, 2, 3];
            assert_eq!(payload("t", data.as_ptr().cast(), 3).unwrap(), &data);
        }
    }
}
