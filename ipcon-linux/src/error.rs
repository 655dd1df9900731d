//! The one error type of the library.

use std::fmt;
use std::io;

/// What went wrong, in terms an application can act on.
///
/// Matched with [`Error::kind`]. New kinds may be added, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A receive with a timeout saw nothing in time.
    Timeout,
    /// A nonblocking call found nothing to do (`EAGAIN` on receive).
    WouldBlock,
    /// The peer, group or cookie does not exist (`ENOENT`).
    NotFound,
    /// The name is taken, or the socket or membership already exists
    /// (`EEXIST`, `EALREADY`).
    AlreadyExists,
    /// Access was denied (`EACCES`, `EPERM`).
    PermissionDenied,
    /// The payload exceeds the largest one the module accepts (`EMSGSIZE`).
    TooBig,
    /// The receiver's queue is full; the message was not queued (`EAGAIN` on
    /// unicast).
    QueueFull,
    /// Messages were lost because a receive queue overflowed.
    Overrun {
        /// How many messages were lost, when known (0 = unknown).
        missed: u64,
    },
    /// A module limit (peers, groups, subscriptions) was reached (`ENOSPC`).
    LimitReached,
    /// The generic netlink family `ipcon` does not exist: the module is not
    /// loaded.
    ModuleNotLoaded,
    /// The module was unloaded and loaded again since this handler was
    /// created, and the family has another id now: the handler's peer is
    /// gone. Create a new handler.
    ModuleReloaded,
    /// A peer or group name is empty, too long, or has a '/' or a control
    /// character (`EINVAL` from the kernel, or caught before sending).
    InvalidName,
    /// The handler's peer is no longer registered (`ENOTCONN`).
    NotRegistered,
    /// The kernel sent something this library cannot make sense of (`EPROTO`).
    Protocol,
    /// The loaded ipcon module speaks another protocol version than this
    /// library: install a module and a library of the same version.
    IncompatibleModule {
        /// The module's protocol version (the generic netlink family's).
        module: u32,
        /// This library's.
        library: u32,
    },
    /// Any other operating-system error.
    Os,
    /// A [`Batch`](crate::Batch) holds as many messages or bytes as one
    /// system call may carry ([`MAX_BATCH_MESSAGES`](crate::MAX_BATCH_MESSAGES),
    /// [`MAX_BATCH_BYTES`](crate::MAX_BATCH_BYTES)): send it first.
    BatchFull,
}

/// An error of the ipcon library: a kind, the errno behind it (if any), what
/// was being done, and the kernel's extended-ACK text (if it sent one).
///
/// ```
/// use ipcon_linux::{Error, ErrorKind};
/// let err = Error::from_errno("join group", libc::ENOENT);
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(err.to_string(), "join group: not found (ENOENT)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    errno: Option<i32>,
    operation: &'static str,
    kernel_message: Option<Box<str>>,
    detail: Option<Box<str>>,
}

/// The result type of this library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` while doing `operation`, with no errno behind it.
    pub fn new(operation: &'static str, kind: ErrorKind) -> Self {
        Self {
            kind,
            errno: None,
            operation,
            kernel_message: None,
            detail: None,
        }
    }

    /// The error the kernel (or a system call) reported with errno `errno`
    /// (positive) while doing `operation`.
    pub fn from_errno(operation: &'static str, errno: i32) -> Self {
        Self {
            kind: kind_of_errno(errno),
            errno: Some(errno),
            operation,
            kernel_message: None,
            detail: None,
        }
    }

    /// The error from a failed system call.
    pub fn from_io(operation: &'static str, err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(errno) => Self::from_errno(operation, errno),
            None if err.kind() == io::ErrorKind::TimedOut => {
                Self::new(operation, ErrorKind::Timeout)
            }
            None if err.kind() == io::ErrorKind::WouldBlock => {
                Self::new(operation, ErrorKind::WouldBlock)
            }
            None => Self::new(operation, ErrorKind::Os),
        }
    }

    /// A protocol error: the kernel's answer did not parse.
    pub(crate) fn protocol(operation: &'static str) -> Self {
        Self::new(operation, ErrorKind::Protocol)
    }

    /// Attaches the kernel's extended-ACK text.
    pub(crate) fn with_kernel_message(mut self, text: &str) -> Self {
        if !text.is_empty() {
            self.kernel_message = Some(text.into());
        }
        self
    }

    /// Attaches the library's own explanation (e.g. why a name is invalid).
    pub(crate) fn with_detail_text(mut self, detail: impl fmt::Display) -> Self {
        self.detail = Some(detail.to_string().into());
        self
    }

    /// Sets what the library was doing.
    pub(crate) fn in_operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// Replaces the kind (for errnos whose meaning depends on the request).
    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The errno behind the error (positive), if there was one.
    pub fn errno(&self) -> Option<i32> {
        self.errno
    }

    /// What the library was doing.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The kernel's extended-ACK text, if it sent one.
    pub fn kernel_message(&self) -> Option<&str> {
        self.kernel_message.as_deref()
    }

    /// Whether waiting and retrying may help (timeout, would-block, full queue).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Timeout | ErrorKind::WouldBlock | ErrorKind::QueueFull
        )
    }
}

/// The errno's meaning for an ipcon request; request-specific exceptions are
/// applied by the caller with `with_kind`.
fn kind_of_errno(errno: i32) -> ErrorKind {
    match errno {
        libc::ETIMEDOUT => ErrorKind::Timeout,
        libc::EAGAIN => ErrorKind::WouldBlock,
        libc::ENOENT | libc::ESRCH => ErrorKind::NotFound,
        libc::EEXIST | libc::EALREADY => ErrorKind::AlreadyExists,
        libc::EACCES | libc::EPERM => ErrorKind::PermissionDenied,
        libc::EMSGSIZE => ErrorKind::TooBig,
        libc::ENOBUFS => ErrorKind::Overrun { missed: 0 },
        libc::ENOSPC => ErrorKind::LimitReached,
        libc::EINVAL => ErrorKind::InvalidName,
        libc::ENOTCONN => ErrorKind::NotRegistered,
        libc::EPROTO | libc::EBADMSG | libc::EOPNOTSUPP => ErrorKind::Protocol,
        _ => ErrorKind::Os,
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out"),
            Self::WouldBlock => f.write_str("no message ready"),
            Self::NotFound => f.write_str("not found"),
            Self::AlreadyExists => f.write_str("already exists"),
            Self::PermissionDenied => f.write_str("permission denied"),
            Self::TooBig => f.write_str("message too big"),
            Self::QueueFull => f.write_str("receiver's queue is full"),
            Self::Overrun { missed: 0 } => f.write_str("receive queue overrun, messages lost"),
            Self::Overrun { missed } => {
                write!(f, "receive queue overrun, {missed} messages lost")
            }
            Self::LimitReached => f.write_str("ipcon limit reached"),
            Self::ModuleNotLoaded => {
                f.write_str("ipcon kernel module not loaded (try: modprobe ipcon)")
            }
            Self::ModuleReloaded => f.write_str(
                "ipcon kernel module was reloaded since this handler was created (create a new one)",
            ),
            Self::InvalidName => f.write_str("invalid name or argument"),
            Self::NotRegistered => f.write_str("peer not registered"),
            Self::Protocol => f.write_str("protocol error"),
            Self::IncompatibleModule { module, library } => write!(
                f,
                "the ipcon kernel module speaks protocol version {module}, this library \
                 version {library} (install a module and a library of the same version)"
            ),
            Self::Os => f.write_str("system error"),
            Self::BatchFull => f.write_str("batch is full"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.kind)?;
        if let Some(errno) = self.errno {
            let code = rustix::io::Errno::from_raw_os_error(errno);
            match errno_name(errno) {
                Some(name) => write!(f, " ({name})")?,
                None => write!(f, " ({code})")?,
            }
        }
        if let Some(text) = &self.detail {
            write!(f, " ({text})")?;
        }
        if let Some(text) = &self.kernel_message {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

/// Symbolic names of the errnos ipcon uses, for messages operators can grep.
fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::ENOENT => "ENOENT",
        libc::EEXIST => "EEXIST",
        libc::EALREADY => "EALREADY",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EAGAIN => "EAGAIN",
        libc::ENOBUFS => "ENOBUFS",
        libc::ENOSPC => "ENOSPC",
        libc::EINVAL => "EINVAL",
        libc::ENOTCONN => "ENOTCONN",
        libc::EPROTO => "EPROTO",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ESRCH => "ESRCH",
        _ => return None,
    })
}

impl std::error::Error for Error {}

impl From<ipcon_core::NameError> for Error {
    fn from(err: ipcon_core::NameError) -> Self {
        Self::new("check name", ErrorKind::InvalidName).with_detail_text(err)
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        let kind = match err.kind {
            ErrorKind::Timeout => io::ErrorKind::TimedOut,
            ErrorKind::WouldBlock | ErrorKind::QueueFull => io::ErrorKind::WouldBlock,
            ErrorKind::NotFound | ErrorKind::ModuleNotLoaded => io::ErrorKind::NotFound,
            ErrorKind::AlreadyExists => io::ErrorKind::AlreadyExists,
            ErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
            ErrorKind::InvalidName | ErrorKind::TooBig => io::ErrorKind::InvalidInput,
            ErrorKind::NotRegistered | ErrorKind::ModuleReloaded => io::ErrorKind::NotConnected,
            ErrorKind::Protocol | ErrorKind::IncompatibleModule { .. } => {
                io::ErrorKind::InvalidData
            }
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_map_to_kinds() {
        let cases = [
            (libc::ENOENT, ErrorKind::NotFound),
            (libc::EEXIST, ErrorKind::AlreadyExists),
            (libc::EALREADY, ErrorKind::AlreadyExists),
            (libc::EACCES, ErrorKind::PermissionDenied),
            (libc::EMSGSIZE, ErrorKind::TooBig),
            (libc::ENOSPC, ErrorKind::LimitReached),
            (libc::ENOTCONN, ErrorKind::NotRegistered),
            (libc::EPROTO, ErrorKind::Protocol),
            (libc::EAGAIN, ErrorKind::WouldBlock),
            (libc::EIO, ErrorKind::Os),
        ];
        for (errno, kind) in cases {
            assert_eq!(Error::from_errno("op", errno).kind(), kind, "errno {errno}");
        }
    }

    #[test]
    fn display_shows_the_kernel_text() {
        let err = Error::from_errno("register group", libc::ENOSPC)
            .with_kernel_message("max_groups_per_peer reached");
        assert_eq!(
            err.to_string(),
            "register group: ipcon limit reached (ENOSPC): max_groups_per_peer reached"
        );
        assert_eq!(err.kernel_message(), Some("max_groups_per_peer reached"));
    }

    #[test]
    fn name_errors_say_what_is_wrong() {
        let err = Error::from(ipcon_linux_name_error());
        assert_eq!(err.kind(), ErrorKind::InvalidName);
        assert_eq!(
            err.to_string(),
            "check name: invalid name or argument (name is longer than 31 bytes)"
        );
    }

    fn ipcon_linux_name_error() -> ipcon_core::NameError {
        ipcon_core::Name::new(&"x".repeat(40)).unwrap_err()
    }

    #[test]
    fn module_not_loaded_says_how_to_load_it() {
        let err = Error::new("create handler", ErrorKind::ModuleNotLoaded);
        assert_eq!(
            err.to_string(),
            "create handler: ipcon kernel module not loaded (try: modprobe ipcon)"
        );
    }

    #[test]
    fn an_incompatible_module_names_both_versions() {
        let err = Error::new(
            "open ipcon",
            ErrorKind::IncompatibleModule {
                module: 3,
                library: 2,
            },
        );
        assert_eq!(
            err.to_string(),
            "open ipcon: the ipcon kernel module speaks protocol version 3, this library \
             version 2 (install a module and a library of the same version)"
        );
    }

    #[test]
    fn overrun_counts_and_io_conversion() {
        let err = Error::new("receive", ErrorKind::Overrun { missed: 3 });
        assert_eq!(
            err.to_string(),
            "receive: receive queue overrun, 3 messages lost"
        );
        let io: io::Error = Error::new("receive", ErrorKind::Timeout).into();
        assert_eq!(io.kind(), io::ErrorKind::TimedOut);
        assert!(Error::new("send", ErrorKind::QueueFull).is_transient());
        assert!(!Error::new("send", ErrorKind::NotFound).is_transient());
    }
}
