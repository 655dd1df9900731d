//! Attribute streams: iteration, typed accessors, nesting and the ipcon attribute table.
#![no_main]
use ipcon_core::spec::Attr;
use ipcon_core::wire::attr::{Attribute, Attributes};
use ipcon_core::wire::ipcon::AttrTable;
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
    if let Ok(t) = AttrTable::parse(data) {
        for attr in Attr::ALL {
            let _ = (t.u32(attr), t.u64(attr), t.name(attr), t.flag(attr));
            let _ = (t.string(attr), t.binary(attr));
        }
        let _ = t.payload();
    }
});
