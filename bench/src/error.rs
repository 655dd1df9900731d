//! One error type for the whole benchmark: what failed, in words.
//!
//! A benchmark either measures or stops with `PERF-ERROR <text>`; nothing
//! branches on the cause, so the error is its message plus the context it
//! gathered on the way up.

use std::fmt;

/// A failed step of a measurement.
#[derive(Debug)]
pub struct Error(String);

/// Result of a benchmark step.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Adds what was being done to any displayable error.
pub trait Context<T> {
    /// Prefixes the error with `what` ("what: error").
    fn context(self, what: &str) -> Result<T>;

    /// As [`context`](Context::context), with `what` built only on error:
    /// for a loop that runs per message, where formatting the words on
    /// every call would cost more than the step it describes.
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {e}")))
    }

    fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T> {
        self.ok_or_else(|| Error(format!("{what}: missing")))
    }

    fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.ok_or_else(|| Error(format!("{}: missing", what())))
    }
}

/// Fails with a formatted message (`bail!("... {x}")`).
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::new(format!($($arg)*)))
    };
}
pub(crate) use bail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_prefixes_the_cause() {
        let failed: std::result::Result<(), std::io::Error> =
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        let err = failed.context("send to subscriber 3").unwrap_err();
        assert_eq!(err.to_string(), "send to subscriber 3: broken pipe");
        assert_eq!(
            None::<u8>.context("--runs").unwrap_err().to_string(),
            "--runs: missing"
        );
    }

    #[test]
    fn with_context_builds_its_words_only_on_error() {
        let ok: std::result::Result<u8, std::io::Error> = Ok(7);
        let value = ok
            .with_context(|| panic!("words built for a success"))
            .unwrap();
        assert_eq!(value, 7);
        let failed: std::result::Result<(), std::io::Error> =
            Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        let err = failed
            .with_context(|| format!("receive at {}", "the server"))
            .unwrap_err();
        assert_eq!(err.to_string(), "receive at the server: broken pipe");
        let err = None::<u8>
            .with_context(|| "--size".to_string())
            .unwrap_err();
        assert_eq!(err.to_string(), "--size: missing");
    }
}
