//! Attribute streams: iteration, typed accessors, nesting and the generated messages'
//! one-pass parsers.
#![no_main]
use ipcon_core::wire::attr::{Attribute, Attributes};
use ipcon_core::wire::messages as m;
use libfuzzer_sys::fuzz_target;

fn walk(attrs: Attributes<'_>, depth: u32) {
    for a in attrs {
        let Ok(a): Result<Attribute<'_>, _> = a else {
            return;
        };
        let _ = (
            a.as_u8(),
            a.as_u16(),
            a.as_u32(),
            a.as_u64(),
            a.as_cstr_bytes(),
            a.kind(),
            a.is_nested(),
        );
        if depth < 4 {
            walk(a.nested(), depth + 1);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    walk(Attributes::new(data), 0);
    // A message parses only if its whole stream is well formed.
    let whole = Attributes::new(data).all(|a| a.is_ok());
    for parsed in [
        m::GroupMsgNtf::parse(data).map(drop),
        m::KeventNtf::parse(data).map(drop),
        m::PeerRegisterRequest::parse(data).map(drop),
        m::MulticastRequest::parse(data).map(drop),
        m::PeerGetReply::parse(data).map(drop),
    ] {
        assert!(whole || parsed.is_err());
    }
});
