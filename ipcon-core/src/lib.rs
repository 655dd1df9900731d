//! ipcon protocol core (skeleton; being written).
#![no_std]
#![deny(unsafe_code)]
