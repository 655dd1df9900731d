//! Logging shim: the crate logs through `log` or `defmt` when one of those features is on,
//! and the macros compile to nothing (while still type-checking their arguments) otherwise.
//!
//! The macros (`log_debug!`, `log_warn!`) are visible crate-wide through `#[macro_use]`.
//! Format strings must stay in the common subset of both crates: `{}` and `{:?}` only.

#[cfg(all(feature = "log", feature = "defmt"))]
compile_error!("ipcon-core: the `log` and `defmt` features are mutually exclusive");

#[cfg(feature = "log")]
macro_rules! log_debug {
    ($($arg:tt)+) => { ::log::debug!($($arg)+) };
}
#[cfg(feature = "defmt")]
macro_rules! log_debug {
    ($($arg:tt)+) => { ::defmt::debug!($($arg)+) };
}
#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! log_debug {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}

#[cfg(feature = "log")]
macro_rules! log_warn {
    ($($arg:tt)+) => { ::log::warn!($($arg)+) };
}
#[cfg(feature = "defmt")]
macro_rules! log_warn {
    ($($arg:tt)+) => { ::defmt::warn!($($arg)+) };
}
#[cfg(not(any(feature = "log", feature = "defmt")))]
macro_rules! log_warn {
    ($fmt:literal $(, $arg:expr)* $(,)?) => {{ $( let _ = &$arg; )* }};
}
