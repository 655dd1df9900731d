//! Name validation: whatever is accepted keeps the rules and round-trips.
#![no_main]
use ipcon_core::Name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(name) = Name::from_bytes(data) {
        assert_eq!(name.as_bytes(), data);
        assert!((1..=31).contains(&name.len()));
        assert!(!name.as_str().contains(['\0', '/']));
        assert!(!name.as_str().chars().any(char::is_control));
        assert_eq!(Name::new(name.as_str()), Ok(name));
    }
});
