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
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {e}")))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T> {
        self.ok_or_else(|| Error(format!("{what}: missing")))
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
}
