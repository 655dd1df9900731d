//! ipcon for Linux (skeleton; being written).
