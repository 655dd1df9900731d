//! The one error type of the crate, with and without `std`.
//!
//! An [`Error`] says what was being done (the operation), to which peer or
//! group, what went wrong ([`ErrorKind`], the errno behind it) and the
//! kernel's own explanation (the extended ACK's text). It never allocates
//! without `std`; with `std`, only an error that names a peer or group or
//! carries a text allocates (one box), so the errors of a steady loop —
//! `WouldBlock`, `Timeout` — do not.

use core::fmt;

use heapless::String;
use ipcon_core::machine::FamilyOutcome;
use ipcon_core::spec::VERSION;
use ipcon_core::wire::ipcon::PeerRef;
use ipcon_core::{Message, MessageKind, Name, NameError, WireError};
use linux_raw_sys::errno as e;

/// Room for the kernel's extended-ACK text; a longer one (the kernel's own
/// limit for formatted texts is 80 bytes) is cut at a character boundary.
pub const KERNEL_MESSAGE_CAPACITY: usize = 96;

/// What went wrong, in terms an application can act on.
///
/// Matched with [`Error::kind`]. New kinds may be added, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A call with a time limit saw nothing in time.
    Timeout,
    /// A call that may not wait found nothing to do (`EAGAIN` on receive).
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
    /// Answers or messages were lost because a receive queue overflowed
    /// (`ENOBUFS`).
    Overrun,
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
    /// The handler's peer is no longer registered (`ENOTCONN`, or unregistered
    /// by this handler).
    NotRegistered,
    /// The kernel sent something this library cannot make sense of (`EPROTO`).
    Protocol,
    /// The loaded ipcon module speaks another protocol version than this
    /// library (the family check refused it): install a module and a library
    /// of the same version.
    IncompatibleModule {
        /// The module's protocol version (the generic netlink family's).
        module: u32,
        /// This library's.
        library: u32,
    },
    /// Any other operating-system error.
    Os,
    /// A batch holds as many messages or bytes as one system call may carry:
    /// send it first.
    BatchFull,
    /// The peer a call went to is gone (the kernel's peer-remove event: it
    /// exited, was killed or unregistered) before it replied.
    PeerGone,
    /// The call was cancelled.
    Cancelled,
    /// The called peer answered with a status other than `ok`
    /// ([`Error::call_status`]: unknown method, bad request, busy, failed); its
    /// text is [`Error::kernel_message`].
    CallFailed,
    /// The peer (or the group's owner) belongs to another user than the one
    /// the request expected (`EPERM` to a request with an expected uid):
    /// nothing was delivered or joined.
    UnexpectedOwner,
    /// A pack of messages (a [`Batch`](crate::Batch) with packing on) went to
    /// a receiver that takes one message per datagram (`EOPNOTSUPP` on
    /// unicast): none of them was queued. Every receiver of this library
    /// takes packs; send to this one without packing.
    NotPacked,
}

/// What an error is about, besides the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Nothing,
    Peer(PeerRef),
    Group { owner: Option<Name>, group: Name },
}

/// The library's own explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Note {
    Nothing,
    Name(NameError),
    Wire(WireError),
    Family(FamilyOutcome),
    Text(&'static str),
    // Only calls (the std API) answer with a status.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Status(ipcon_core::spec::CallStatus),
}

/// What not every error has: kept out of line with `std`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    subject: Subject,
    note: Note,
    kernel_message: String<KERNEL_MESSAGE_CAPACITY>,
}

const NO_DETAILS: Details = Details {
    subject: Subject::Nothing,
    note: Note::Nothing,
    kernel_message: String::new(),
};

/// What an error without details shows.
#[cfg(feature = "std")]
static EMPTY_DETAILS: Details = NO_DETAILS;

#[cfg(feature = "std")]
type DetailsSlot = Option<std::boxed::Box<Details>>;
#[cfg(not(feature = "std"))]
type DetailsSlot = Details;

/// An error of the ipcon library: what was being done (and to which peer or
/// group), what went wrong, the errno behind it (if any) and the kernel's
/// extended-ACK text (if it sent one).
///
/// `Display` is one line for a log or a user:
///
/// ```
/// use ipcon_linux::{Error, ErrorKind};
/// let err = Error::from_errno("join group", 2);
/// assert_eq!(err.kind(), ErrorKind::NotFound);
/// assert_eq!(err.to_string(), "join group: not found (ENOENT)");
/// ```
///
/// `Debug` (`{:?}`) is the same line, so that `main() -> Result<(), Error>`
/// prints `Error: join group "srv/news": not found (ENOENT): no such group`;
/// `{:#?}` shows the fields.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    /// Positive errno; 0 for none.
    errno: i32,
    operation: &'static str,
    details: DetailsSlot,
}

/// The result type of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// An error of `kind` while doing `operation`, with no errno behind it.
    pub fn new(operation: &'static str, kind: ErrorKind) -> Self {
        Self {
            kind,
            errno: 0,
            operation,
            #[cfg(feature = "std")]
            details: None,
            #[cfg(not(feature = "std"))]
            details: NO_DETAILS,
        }
    }

    /// The error the kernel (or a system call) reported with errno `errno`
    /// (positive) while doing `operation`.
    pub fn from_errno(operation: &'static str, errno: i32) -> Self {
        Self {
            errno,
            ..Self::new(operation, kind_of_errno(errno))
        }
    }

    /// The error of a failed system call.
    pub(crate) fn from_os(operation: &'static str, errno: rustix::io::Errno) -> Self {
        match errno.raw_os_error() {
            x if x == e::ETIMEDOUT as i32 => Self::new(operation, ErrorKind::Timeout),
            x => Self::from_errno(operation, x),
        }
    }

    /// A protocol error: the kernel's answer did not make sense.
    pub(crate) fn protocol(operation: &'static str) -> Self {
        Self::new(operation, ErrorKind::Protocol)
    }

    /// A wire-format failure while doing `operation`.
    pub(crate) fn from_wire(operation: &'static str, err: WireError) -> Self {
        match err {
            WireError::PayloadTooLarge => Self::new(operation, ErrorKind::TooBig),
            WireError::BadName(name) => {
                Self::new(operation, ErrorKind::InvalidName).with_note(Note::Name(name))
            }
            _ => Self::protocol(operation).with_note(Note::Wire(err)),
        }
    }

    /// The failure of the family look-up.
    pub(crate) fn from_family(operation: &'static str, outcome: FamilyOutcome) -> Self {
        match outcome {
            FamilyOutcome::NotLoaded => Self::new(operation, ErrorKind::ModuleNotLoaded),
            FamilyOutcome::TimedOut => Self::new(operation, ErrorKind::Timeout),
            FamilyOutcome::Failed(errno) => Self::from_errno(operation, errno),
            // The kind names both versions: no note repeating them.
            FamilyOutcome::VersionMismatch { kernel } => Self::new(
                operation,
                ErrorKind::IncompatibleModule {
                    module: kernel,
                    library: u32::from(VERSION),
                },
            ),
            _ => Self::protocol(operation).with_note(Note::Family(outcome)),
        }
    }

    fn details_mut(&mut self) -> &mut Details {
        #[cfg(feature = "std")]
        return self
            .details
            .get_or_insert_with(|| std::boxed::Box::new(NO_DETAILS));
        #[cfg(not(feature = "std"))]
        return &mut self.details;
    }

    fn details(&self) -> &Details {
        #[cfg(feature = "std")]
        return self.details.as_deref().unwrap_or(&EMPTY_DETAILS);
        #[cfg(not(feature = "std"))]
        return &self.details;
    }

    fn with_note(mut self, note: Note) -> Self {
        self.details_mut().note = note;
        self
    }

    /// Says which peer the operation was about.
    pub(crate) fn about_peer(mut self, peer: PeerRef) -> Self {
        self.details_mut().subject = Subject::Peer(peer);
        self
    }

    /// Says which group (of `owner`, or of this peer) the operation was about.
    pub(crate) fn about_group(mut self, owner: Option<Name>, group: Name) -> Self {
        self.details_mut().subject = Subject::Group { owner, group };
        self
    }

    /// Attaches the library's own explanation.
    pub(crate) fn with_text(self, text: &'static str) -> Self {
        self.with_note(Note::Text(text))
    }

    /// Attaches the kernel's extended-ACK text (cut to
    /// [`KERNEL_MESSAGE_CAPACITY`] at a character boundary).
    pub(crate) fn with_kernel_message(mut self, text: &str) -> Self {
        if !text.is_empty() {
            let kept = &mut self.details_mut().kernel_message;
            kept.clear();
            for c in text.chars() {
                if kept.push(c).is_err() {
                    break;
                }
            }
        }
        self
    }

    /// Sets what the library was doing.
    #[cfg(feature = "std")]
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
        (self.errno != 0).then_some(self.errno)
    }

    /// What the library was doing.
    pub fn operation(&self) -> &'static str {
        self.operation
    }

    /// The error of a call the called peer answered with `status` (not `ok`)
    /// and the text `text` (its reply's payload, cut to
    /// [`KERNEL_MESSAGE_CAPACITY`] bytes at a character boundary).
    #[cfg(feature = "std")]
    pub(crate) fn from_call_status(
        operation: &'static str,
        status: ipcon_core::spec::CallStatus,
        text: &[u8],
    ) -> Self {
        let text = match core::str::from_utf8(text) {
            Ok(text) => text,
            Err(e) => core::str::from_utf8(&text[..e.valid_up_to()]).unwrap_or(""),
        };
        Self::new(operation, ErrorKind::CallFailed)
            .with_note(Note::Status(status))
            .with_kernel_message(text)
    }

    /// For [`ErrorKind::CallFailed`]: the status the called peer answered.
    pub fn call_status(&self) -> Option<ipcon_core::spec::CallStatus> {
        match self.details().note {
            Note::Status(status) => Some(status),
            _ => None,
        }
    }

    /// The kernel's extended-ACK text, if it sent one; for
    /// [`ErrorKind::CallFailed`], the called peer's text.
    pub fn kernel_message(&self) -> Option<&str> {
        let text = self.details().kernel_message.as_str();
        (!text.is_empty()).then_some(text)
    }

    /// Why a posted send failed, for a [`MessageKind::SendFailed`] message:
    /// the error its waiting counterpart (`send_unicast`, `send_multicast`)
    /// would have returned — e.g. [`ErrorKind::QueueFull`],
    /// [`ErrorKind::NotFound`] or [`ErrorKind::TooBig`] — naming the
    /// destination, with the kernel's text. `None` for other messages.
    pub fn from_send_failed<const N: usize>(msg: &Message<N>) -> Option<Self> {
        if msg.kind() != MessageKind::SendFailed {
            return None;
        }
        let operation = if msg.group().is_some() {
            "post multicast"
        } else if msg.target().is_some() {
            "post unicast"
        } else {
            // An error ACK: refused before the module saw its destination.
            "post"
        };
        let errno = i32::try_from(msg.errno()).unwrap_or(i32::MAX);
        let mut error = Self::from_errno(operation, errno);
        // A posted send never waits, so EAGAIN can only mean a full
        // receiver queue.
        if msg.errno() == e::EAGAIN {
            error = error.with_kind(ErrorKind::QueueFull);
        }
        if let Some(target) = msg.target() {
            error = error.about_peer(*target);
        } else if let Some(group) = msg.group() {
            error = error.about_group(None, *group);
        }
        Some(error.with_kernel_message(msg.error_message()))
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
    match u32::try_from(errno).unwrap_or(0) {
        e::ETIMEDOUT => ErrorKind::Timeout,
        e::EAGAIN => ErrorKind::WouldBlock,
        e::ENOENT | e::ESRCH => ErrorKind::NotFound,
        e::EEXIST | e::EALREADY => ErrorKind::AlreadyExists,
        e::EACCES | e::EPERM => ErrorKind::PermissionDenied,
        e::EMSGSIZE => ErrorKind::TooBig,
        e::ENOBUFS => ErrorKind::Overrun,
        e::ENOSPC => ErrorKind::LimitReached,
        e::EINVAL => ErrorKind::InvalidName,
        e::ENOTCONN => ErrorKind::NotRegistered,
        e::EPROTO | e::EBADMSG | e::EOPNOTSUPP => ErrorKind::Protocol,
        _ => ErrorKind::Os,
    }
}

/// Symbolic names of the errnos ipcon meets, for messages operators can grep.
fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match u32::try_from(errno).ok()? {
        e::ENOENT => "ENOENT",
        e::EEXIST => "EEXIST",
        e::EALREADY => "EALREADY",
        e::EACCES => "EACCES",
        e::EPERM => "EPERM",
        e::EMSGSIZE => "EMSGSIZE",
        e::EAGAIN => "EAGAIN",
        e::ENOBUFS => "ENOBUFS",
        e::ENOSPC => "ENOSPC",
        e::EINVAL => "EINVAL",
        e::ENOTCONN => "ENOTCONN",
        e::EPROTO => "EPROTO",
        e::ETIMEDOUT => "ETIMEDOUT",
        e::ESRCH => "ESRCH",
        e::ECONNREFUSED => "ECONNREFUSED",
        e::EOPNOTSUPP => "EOPNOTSUPP",
        e::EBADMSG => "EBADMSG",
        e::ENOMEM => "ENOMEM",
        e::EBADF => "EBADF",
        _ => return None,
    })
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timed out",
            Self::WouldBlock => "no message ready",
            Self::NotFound => "not found",
            Self::AlreadyExists => "already exists",
            Self::PermissionDenied => "permission denied",
            Self::TooBig => "message too big",
            Self::QueueFull => "receiver's queue is full",
            Self::Overrun => "receive queue overrun, answers or messages lost",
            Self::LimitReached => "ipcon limit reached",
            Self::ModuleNotLoaded => "ipcon kernel module not loaded (try: modprobe ipcon)",
            Self::ModuleReloaded => {
                "ipcon kernel module was reloaded since this handler was created (create a new one)"
            }
            Self::IncompatibleModule { module, library } => {
                return write!(
                    f,
                    "the ipcon kernel module speaks protocol version {module}, this library \
                     version {library} (install a module and a library of the same version)"
                );
            }
            Self::InvalidName => "invalid name or argument",
            Self::NotRegistered => "peer not registered",
            Self::Protocol => "protocol error",
            Self::Os => "system error",
            Self::BatchFull => "batch is full",
            Self::PeerGone => "the peer is gone",
            Self::Cancelled => "cancelled",
            Self::CallFailed => "the call failed",
            Self::UnexpectedOwner => "the peer belongs to another user than expected",
            Self::NotPacked => "the receiver takes one message per datagram, not packs",
        })
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nothing => Ok(()),
            Self::Peer(PeerRef::Name(name)) => write!(f, " \"{name}\""),
            Self::Peer(PeerRef::Port(port)) => write!(f, " port:{port}"),
            Self::Group {
                owner: Some(owner),
                group,
            } => write!(f, " \"{owner}/{group}\""),
            Self::Group { owner: None, group } => write!(f, " \"{group}\""),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details = self.details();
        write!(f, "{}{}: {}", self.operation, details.subject, self.kind)?;
        if let Some(errno) = self.errno() {
            match errno_name(errno) {
                Some(name) => write!(f, " ({name})")?,
                None => write!(f, " (errno {errno})")?,
            }
        }
        match details.note {
            Note::Nothing => {}
            Note::Name(e) => write!(f, " ({e})")?,
            Note::Wire(e) => write!(f, " ({e})")?,
            Note::Family(outcome) => write!(f, " ({outcome})")?,
            Note::Text(text) => write!(f, " ({text})")?,
            Note::Status(status) => write!(f, " (status {status})")?,
        }
        if let Some(text) = self.kernel_message() {
            write!(f, ": {text}")?;
        }
        Ok(())
    }
}

/// `{:?}` is the `Display` line (what `main() -> Result<(), Error>` prints);
/// `{:#?}` lists the fields.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !f.alternate() {
            return fmt::Display::fmt(self, f);
        }
        let details = self.details();
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("errno", &self.errno())
            .field("operation", &self.operation)
            .field("subject", &details.subject)
            .field("note", &details.note)
            .field("kernel_message", &self.kernel_message())
            .finish()
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

impl From<NameError> for Error {
    fn from(err: NameError) -> Self {
        Self::new("check name", ErrorKind::InvalidName).with_note(Note::Name(err))
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(err: Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind {
            ErrorKind::Timeout => Io::TimedOut,
            ErrorKind::WouldBlock | ErrorKind::QueueFull => Io::WouldBlock,
            ErrorKind::NotFound | ErrorKind::ModuleNotLoaded => Io::NotFound,
            ErrorKind::AlreadyExists => Io::AlreadyExists,
            ErrorKind::PermissionDenied => Io::PermissionDenied,
            ErrorKind::InvalidName | ErrorKind::TooBig => Io::InvalidInput,
            ErrorKind::NotRegistered | ErrorKind::ModuleReloaded => Io::NotConnected,
            ErrorKind::Protocol | ErrorKind::IncompatibleModule { .. } => Io::InvalidData,
            _ => Io::Other,
        };
        std::io::Error::new(kind, err)
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use std::string::ToString;

    fn name(text: &str) -> Name {
        Name::new(text).unwrap()
    }

    #[test]
    fn errnos_map_to_kinds() {
        let cases = [
            (e::ENOENT, ErrorKind::NotFound),
            (e::EEXIST, ErrorKind::AlreadyExists),
            (e::EALREADY, ErrorKind::AlreadyExists),
            (e::EACCES, ErrorKind::PermissionDenied),
            (e::EMSGSIZE, ErrorKind::TooBig),
            (e::ENOSPC, ErrorKind::LimitReached),
            (e::ENOTCONN, ErrorKind::NotRegistered),
            (e::EPROTO, ErrorKind::Protocol),
            (e::EAGAIN, ErrorKind::WouldBlock),
            (e::ENOBUFS, ErrorKind::Overrun),
            (e::EIO, ErrorKind::Os),
        ];
        for (errno, kind) in cases {
            let err = Error::from_errno("op", errno as i32);
            assert_eq!(err.kind(), kind, "errno {errno}");
            assert_eq!(err.errno(), Some(errno as i32));
        }
        assert_eq!(Error::new("op", ErrorKind::Timeout).errno(), None);
    }

    #[test]
    fn display_names_the_operation_the_subject_and_the_kernel_text() {
        let err = Error::from_errno("join group", e::ENOENT as i32)
            .about_group(Some(name("srv")), name("news"))
            .with_kernel_message("no such group");
        assert_eq!(
            err.to_string(),
            "join group \"srv/news\": not found (ENOENT): no such group"
        );
        assert_eq!(err.kernel_message(), Some("no such group"));
        let err = Error::from_errno("send unicast", e::EAGAIN as i32)
            .with_kind(ErrorKind::QueueFull)
            .about_peer(PeerRef::Port(77));
        assert_eq!(
            err.to_string(),
            "send unicast port:77: receiver's queue is full (EAGAIN)"
        );
        let err = Error::from_errno("register group", e::ENOSPC as i32)
            .about_group(None, name("g"))
            .with_kernel_message("max_groups_per_peer reached");
        assert_eq!(
            err.to_string(),
            "register group \"g\": ipcon limit reached (ENOSPC): max_groups_per_peer reached"
        );
    }

    #[test]
    fn debug_is_the_display_line_so_main_prints_it_readably() {
        let err = Error::from_errno("send unicast", e::ENOENT as i32)
            .about_peer(PeerRef::Name(name("srv")));
        let main_prints = std::format!("Error: {err:?}");
        assert_eq!(
            main_prints,
            "Error: send unicast \"srv\": not found (ENOENT)"
        );
        let fields = std::format!("{err:#?}");
        assert!(fields.contains("kind: NotFound") && fields.contains("errno: Some("));
    }

    #[test]
    fn name_errors_say_what_is_wrong() {
        let err = Error::from(Name::new(&"x".repeat(40)).unwrap_err());
        assert_eq!(err.kind(), ErrorKind::InvalidName);
        assert_eq!(
            err.to_string(),
            "check name: invalid name or argument (name is longer than 31 bytes)"
        );
    }

    #[test]
    fn family_outcomes_become_kinds() {
        let err = Error::from_family("open ipcon", FamilyOutcome::NotLoaded);
        assert_eq!(
            err.to_string(),
            "open ipcon: ipcon kernel module not loaded (try: modprobe ipcon)"
        );
        let err = Error::from_family("open ipcon", FamilyOutcome::VersionMismatch { kernel: 9 });
        assert_eq!(
            err.kind(),
            ErrorKind::IncompatibleModule {
                module: 9,
                library: u32::from(VERSION)
            }
        );
        // The versions are said once, by the kind.
        assert_eq!(err.to_string().matches("version 9").count(), 1, "{err}");
    }

    #[test]
    fn long_kernel_texts_are_cut_at_a_character_boundary() {
        let long = "é".repeat(KERNEL_MESSAGE_CAPACITY);
        let err = Error::new("op", ErrorKind::Os).with_kernel_message(&long);
        let kept = err.kernel_message().unwrap();
        assert!(kept.len() <= KERNEL_MESSAGE_CAPACITY && kept.chars().all(|c| c == 'é'));
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
    fn the_error_is_small_and_the_common_ones_do_not_allocate() {
        assert!(core::mem::size_of::<Error>() <= 40);
        assert!(Error::new("receive", ErrorKind::WouldBlock)
            .details
            .is_none());
        let io: std::io::Error = Error::new("receive", ErrorKind::Timeout).into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        assert!(Error::new("send", ErrorKind::QueueFull).is_transient());
        assert!(!Error::new("send", ErrorKind::NotFound).is_transient());
    }
}
