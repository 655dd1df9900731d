//! The Rust side of the spec, for ipcon-core (`no_std`, no allocation):
//!
//! - `ipcon-core/src/spec.rs`: constants, enums and flags, the attribute enums (`Attr`
//!   for the family's set, `<Set>Attr` for each nested set) and the command enum with
//!   what the spec says about each (type, checks, the attribute lists of every
//!   operation, multicast groups);
//! - `ipcon-core/src/wire/messages.rs`: one struct per message (request, reply, dump,
//!   notification) with a field per attribute it may carry, borrowing strings,
//!   binaries and nests (their contents, the raw attribute stream of their entries)
//!   from the received buffer, parsed from and emitted through the hand-written
//!   `wire::attr` (a nest with `NLA_F_NESTED`), each message parsed in one pass over its
//!   attributes; the trait they share, `MessageAttrs`, is written there too.
use std::fmt::Write as _;

use super::model::{camel, lower, upper, Attr, AttrKind, ConstValue, Definition, EnumDef, Spec};
use super::SPEC_PATH;

fn banner(out: &mut String, what: &str) {
    let _ = writeln!(out, "//! {what}");
    out.push_str("//!\n");
    let _ = writeln!(
        out,
        "//! Generated from `{SPEC_PATH}` by `cargo xtask codegen` — do not edit."
    );
    out.push('\n');
}

fn doc_lines(out: &mut String, indent: &str, doc: &str) {
    let doc = doc.trim_end();
    if doc.is_empty() {
        return;
    }
    for line in doc.lines() {
        if line.trim().is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {}", line.trim_end());
        }
    }
}

/// Writes a value enum with an `Unknown(raw)` variant and its conversions.
fn write_enum(
    out: &mut String,
    doc: &str,
    name: &str,
    raw: &str,
    entries: &[(String, String, u64)],
    unknown_doc: &str,
) {
    doc_lines(out, "", doc);
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n");
    out.push_str("#[cfg_attr(feature = \"defmt\", derive(defmt::Format))]\n");
    let _ = writeln!(out, "pub enum {name} {{");
    for (entry, doc, _) in entries {
        doc_lines(out, "    ", doc);
        let _ = writeln!(out, "    {},", camel(entry));
    }
    let _ = writeln!(out, "    /// {unknown_doc}");
    let _ = writeln!(out, "    Unknown({raw}),");
    out.push_str("}\n\n");
    let _ = writeln!(out, "impl {name} {{");
    out.push_str("    /// Every value this version of the protocol knows, in wire order.\n");
    let _ = writeln!(out, "    pub const ALL: [{name}; {}] = [", entries.len());
    for (entry, _, _) in entries {
        let _ = writeln!(out, "        Self::{},", camel(entry));
    }
    out.push_str("    ];\n\n");
    out.push_str("    /// The value of a wire number.\n");
    let _ = writeln!(out, "    pub const fn from_raw(raw: {raw}) -> Self {{");
    out.push_str("        match raw {\n");
    for (entry, _, v) in entries {
        let _ = writeln!(out, "            {v} => Self::{},", camel(entry));
    }
    out.push_str("            other => Self::Unknown(other),\n        }\n    }\n\n");
    out.push_str("    /// The wire number of this value.\n");
    let _ = writeln!(out, "    pub const fn to_raw(self) -> {raw} {{");
    out.push_str("        match self {\n");
    for (entry, _, v) in entries {
        let _ = writeln!(out, "            Self::{} => {v},", camel(entry));
    }
    out.push_str("            Self::Unknown(other) => other,\n        }\n    }\n\n");
    out.push_str("    /// The name the spec gives this value (`None` if unknown).\n");
    out.push_str("    pub const fn name(self) -> Option<&'static str> {\n");
    out.push_str("        match self {\n");
    for (entry, _, _) in entries {
        let _ = writeln!(
            out,
            "            Self::{} => Some({entry:?}),",
            camel(entry)
        );
    }
    out.push_str("            Self::Unknown(_) => None,\n        }\n    }\n}\n\n");
    let _ = writeln!(out, "impl From<{raw}> for {name} {{");
    let _ = writeln!(
        out,
        "    fn from(raw: {raw}) -> Self {{\n        Self::from_raw(raw)\n    }}\n}}\n"
    );
    let _ = writeln!(out, "impl From<{name}> for {raw} {{");
    let _ = writeln!(
        out,
        "    fn from(value: {name}) -> Self {{\n        value.to_raw()\n    }}\n}}\n"
    );
}

fn attr_list(list: &[String]) -> String {
    let items: Vec<String> = list.iter().map(|a| format!("Attr::{}", camel(a))).collect();
    format!("&[{}]", items.join(", "))
}

/// A `match self` over the commands that have a value, with a default arm.
fn command_match(
    out: &mut String,
    doc: &str,
    signature: &str,
    arms: &[(String, String)],
    default: &str,
) {
    let _ = writeln!(out, "    /// {doc}");
    let _ = writeln!(out, "    pub const fn {signature} {{");
    if arms.is_empty() {
        let _ = writeln!(out, "        let _ = self;\n        {default}\n    }}\n");
        return;
    }
    out.push_str("        match self {\n");
    for (variant, value) in arms {
        let _ = writeln!(out, "            Self::{variant} => {value},");
    }
    let _ = writeln!(out, "            _ => {default},\n        }}\n    }}\n");
}

fn enum_entries(def: &EnumDef) -> Vec<(String, String, u64)> {
    def.entries
        .iter()
        .map(|e| (e.name.clone(), e.doc.clone(), def.value(e)))
        .collect()
}

/// The Rust type of a nested set's attributes: `pack-entry` → `PackEntryAttr`.
fn set_type(set: &str) -> String {
    format!("{}Attr", camel(set))
}

/// The attributes that nest `set`, as doc links: "[`Attr::Pack`]".
fn nested_in(spec: &Spec, set: &str) -> String {
    let links: Vec<String> = spec
        .attrs
        .iter()
        .filter(|a| a.nested.as_deref() == Some(set))
        .map(|a| format!("[`Attr::{}`]", camel(&a.name)))
        .collect();
    links.join(", ")
}

/// The enum of one attribute set (`name`) and its `impl`: number, type and checks of
/// every attribute.
fn attr_set_rs(out: &mut String, name: &str, doc: &str, attrs: &[Attr]) {
    let attr_entries: Vec<_> = attrs
        .iter()
        .map(|a| (a.name.clone(), a.doc.clone(), u64::from(a.value)))
        .collect();
    write_enum(
        out,
        doc,
        name,
        "u16",
        &attr_entries,
        "An attribute number this version of the protocol does not know.",
    );
    let _ = writeln!(out, "impl {name} {{");
    out.push_str("    /// The highest attribute number.\n");
    let _ = writeln!(
        out,
        "    pub const MAX: u16 = {};\n",
        attrs.last().map_or(0, |a| a.value)
    );
    out.push_str("    /// How the value is encoded (`None` for an unknown attribute).\n");
    out.push_str("    pub const fn value_type(self) -> Option<AttrType> {\n        match self {\n");
    for a in attrs {
        let t = match a.kind {
            AttrKind::String => "String",
            AttrKind::Binary => "Binary",
            AttrKind::U32 => "U32",
            AttrKind::U64 => "U64",
            AttrKind::Flag => "Flag",
            AttrKind::Pad => "Pad",
            AttrKind::NestArray => "IndexedArray",
        };
        let _ = writeln!(
            out,
            "            Self::{} => Some(AttrType::{t}),",
            camel(&a.name)
        );
    }
    out.push_str("            Self::Unknown(_) => None,\n        }\n    }\n\n");
    type Limit = fn(&Attr) -> Option<String>;
    let limits: [(&str, &str, &str, Limit); 4] = [
        (
            "Smallest value length the kernel accepts (strings: without the NUL).",
            "min_len(self) -> Option<usize>",
            "None",
            |a| a.checks.min_len.map(|m| format!("Some({m})")),
        ),
        (
            "Largest value length the kernel accepts (strings: without the NUL).",
            "max_len(self) -> Option<usize>",
            "None",
            |a| a.checks.max_len.map(|m| format!("Some({m})")),
        ),
        (
            "Inclusive range of values the kernel accepts, where it checks one (an enum \
             attribute admits its values).",
            "range(self) -> Option<(u64, u64)>",
            "None",
            |a| {
                (a.checks.min.is_some() || a.checks.max.is_some()).then(|| {
                    format!(
                        "Some(({}, {}))",
                        a.checks.min.unwrap_or(0),
                        a.checks.max.map_or("u64::MAX".into(), |m| m.to_string())
                    )
                })
            },
        ),
        (
            "The flags the kernel accepts, for an attribute holding a flags mask.",
            "mask(self) -> Option<u32>",
            "None",
            |a| a.mask.map(|m| format!("Some(0x{m:x})")),
        ),
    ];
    for (doc, signature, default, limit) in limits {
        let arms: Vec<(String, String)> = attrs
            .iter()
            .filter_map(|a| limit(a).map(|v| (camel(&a.name), v)))
            .collect();
        command_match(out, doc, signature, &arms, default);
    }
    out.push_str("}\n\n");
}

pub fn spec_rs(spec: &Spec) -> String {
    let mut out = String::new();
    banner(
        &mut out,
        "The ipcon protocol of `kmod/ipcon.yaml`, in Rust: constants, enums, attributes,\n\
         //! commands, the attribute lists of every operation and the multicast groups.",
    );
    out.push_str("/// Name of the generic netlink family.\n///\n");
    doc_lines(&mut out, "", &spec.doc);
    let _ = writeln!(out, "pub const FAMILY_NAME: &str = {:?};\n", spec.name);
    for definition in &spec.definition_order {
        match *definition {
            Definition::Const(i) => {
                let c = &spec.consts[i];
                doc_lines(&mut out, "", &c.doc);
                let (ty, value) = match &c.value {
                    ConstValue::Str(s) => ("&str", format!("{s:?}")),
                    // The version travels in the generic netlink header's u8.
                    ConstValue::Int(v) if c.name == "version" => ("u8", v.to_string()),
                    ConstValue::Int(v) => ("usize", v.to_string()),
                };
                let _ = writeln!(out, "pub const {}: {ty} = {value};\n", upper(&c.name));
            }
            Definition::Enum(i) => {
                let d = &spec.enums[i];
                if d.flags {
                    out.push_str("bitflags::bitflags! {\n");
                    doc_lines(&mut out, "    ", &d.doc);
                    out.push_str(
                        "    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]\n",
                    );
                    let _ = writeln!(out, "    pub struct {}: u32 {{", camel(&d.name));
                    for e in &d.entries {
                        doc_lines(&mut out, "        ", &e.doc);
                        let _ = writeln!(out, "        const {} = {};", upper(&e.name), d.value(e));
                    }
                    out.push_str("    }\n}\n\n");
                } else {
                    write_enum(
                        &mut out,
                        &d.doc,
                        &camel(&d.name),
                        "u32",
                        &enum_entries(d),
                        "A value this version of the protocol does not know.",
                    );
                }
            }
        }
    }
    for g in &spec.mcast_groups {
        let _ = writeln!(out, "/// The generic netlink multicast group `{g}`.");
        let _ = writeln!(out, "pub const MCGRP_{}: &str = {g:?};\n", upper(g));
    }
    out.push_str("/// The generic netlink multicast groups of the family.\n");
    let groups: Vec<String> = spec.mcast_groups.iter().map(|g| format!("{g:?}")).collect();
    let _ = writeln!(
        out,
        "pub const MCAST_GROUPS: [&str; {}] = [{}];\n",
        groups.len(),
        groups.join(", ")
    );

    out.push_str("/// How an attribute's value is encoded.\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n");
    out.push_str("#[cfg_attr(feature = \"defmt\", derive(defmt::Format))]\n");
    out.push_str(
        "pub enum AttrType {\n    /// A NUL-terminated string.\n    String,\n    /// Raw bytes.\n    Binary,\n    \
         /// A native-endian `u32`.\n    U32,\n    /// A native-endian `u64`.\n    U64,\n    \
         /// Present or absent; no value.\n    Flag,\n    /// Alignment padding; carries nothing.\n    Pad,\n    \
         /// A nest (`NLA_F_NESTED`) of entries numbered by their index, each a nest of\n    \
         /// the attributes of a nested set.\n    IndexedArray,\n}\n\n",
    );
    attr_set_rs(&mut out, "Attr", &spec.attr_set_doc, &spec.attrs);
    for set in &spec.nested_sets {
        let doc = format!(
            "{}\n\nThe attribute set `{}`, nested in {}.",
            set.doc.trim_end(),
            set.name,
            nested_in(spec, &set.name)
        );
        attr_set_rs(&mut out, &set_type(&set.name), doc.trim_start(), &set.attrs);
    }

    let cmd_entries: Vec<_> = spec
        .ops
        .iter()
        .map(|o| (o.name.clone(), o.doc.clone(), u64::from(o.value)))
        .collect();
    write_enum(
        &mut out,
        "A generic netlink command of the family (the `cmd` of the generic netlink header).",
        "Command",
        "u8",
        &cmd_entries,
        "A command number this version of the protocol does not know.",
    );
    out.push_str("impl Command {\n");
    out.push_str("    /// The highest command number.\n");
    let _ = writeln!(out, "    pub const MAX: u8 = {};\n", spec.max_op());
    type List = fn(&super::model::Op) -> Option<&Vec<String>>;
    let lists: [(&str, &str, List); 5] = [
        ("Attributes of the request (do).", "request_attrs", |o| {
            o.do_.as_ref().and_then(|d| d.request.as_ref())
        }),
        ("Attributes of the reply (do).", "reply_attrs", |o| {
            o.do_.as_ref().and_then(|d| d.reply.as_ref())
        }),
        (
            "Attributes of the dump request.",
            "dump_request_attrs",
            |o| o.dump.as_ref().and_then(|d| d.request.as_ref()),
        ),
        ("Attributes of each dump reply.", "dump_reply_attrs", |o| {
            o.dump.as_ref().and_then(|d| d.reply.as_ref())
        }),
        (
            "Attributes of the notification the kernel sends with this command.",
            "event_attrs",
            |o| o.event.as_ref(),
        ),
    ];
    for (doc, name, get) in lists {
        let arms: Vec<(String, String)> = spec
            .ops
            .iter()
            .filter_map(|o| {
                get(o)
                    .filter(|l| !l.is_empty())
                    .map(|l| (camel(&o.name), attr_list(l)))
            })
            .collect();
        command_match(
            &mut out,
            doc,
            &format!("{name}(self) -> &'static [Attr]"),
            &arms,
            "&[]",
        );
    }
    type Pick = fn(&super::model::Op) -> bool;
    let flags: [(&str, &str, Pick); 3] = [
        (
            "Whether the command has a do operation (a request user space may send).",
            "has_do",
            |o| o.do_.is_some(),
        ),
        (
            "Whether the command has a dump operation.",
            "has_dump",
            |o| o.dump.is_some(),
        ),
        (
            "Whether the command is a notification (sent by the kernel only).",
            "is_notification",
            |o| o.event.is_some(),
        ),
    ];
    for (doc, name, pick) in flags {
        let variants: Vec<String> = spec
            .ops
            .iter()
            .filter(|o| pick(o))
            .map(|o| format!("Self::{}", camel(&o.name)))
            .collect();
        let _ = writeln!(out, "    /// {doc}");
        let _ = writeln!(out, "    pub const fn {name}(self) -> bool {{");
        if variants.is_empty() {
            out.push_str("        let _ = self;\n        false\n    }\n\n");
        } else {
            let _ = writeln!(
                out,
                "        matches!(self, {})\n    }}\n",
                variants.join(" | ")
            );
        }
    }
    let mcgrp_arms: Vec<(String, String)> = spec
        .ops
        .iter()
        .filter_map(|o| {
            o.mcgrp
                .as_ref()
                .map(|g| (camel(&o.name), format!("Some(MCGRP_{})", upper(g))))
        })
        .collect();
    command_match(
        &mut out,
        "The multicast group a notification is sent to (`None`: sent to one socket).",
        "mcast_group(self) -> Option<&'static str>",
        &mcgrp_arms,
        "None",
    );
    out.push_str("}\n");
    out
}

/// One message of an operation: its struct name and attributes.
struct Message<'s> {
    name: String,
    command: String,
    what: String,
    attrs: Vec<&'s Attr>,
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn",
];

fn field(a: &Attr) -> String {
    let name = lower(&a.name);
    if KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// Whether the struct borrows from the buffer (has a string, binary or nest).
fn borrows(m: &Message<'_>) -> bool {
    m.attrs.iter().any(|a| {
        matches!(
            a.kind,
            AttrKind::String | AttrKind::Binary | AttrKind::NestArray
        )
    })
}

fn field_type(spec: &Spec, a: &Attr) -> String {
    match a.kind {
        // A nest: its contents, the attribute stream of its entries.
        AttrKind::String | AttrKind::Binary | AttrKind::NestArray => "Option<&'a [u8]>".into(),
        AttrKind::U32 => match &a.enum_name {
            Some(e) => format!("Option<{}>", camel(&spec.enum_def(e).name)),
            None => "Option<u32>".into(),
        },
        AttrKind::U64 => "Option<u64>".into(),
        AttrKind::Flag => "bool".into(),
        AttrKind::Pad => unreachable!("messages never list pad (checked by the model)"),
    }
}

/// The value of one occurrence `attr` of `a`, as its field holds it.
fn parse_expr(spec: &Spec, a: &Attr) -> String {
    match a.kind {
        AttrKind::String => "Some(attr.as_cstr_bytes())".into(),
        AttrKind::Binary | AttrKind::NestArray => "Some(attr.value())".into(),
        AttrKind::U32 => match &a.enum_name {
            Some(e) => {
                let def = spec.enum_def(e);
                if def.flags || a.as_flags {
                    format!(
                        "Some({}::from_bits_retain(attr.as_u32()?))",
                        camel(&def.name)
                    )
                } else {
                    format!("Some({}::from_raw(attr.as_u32()?))", camel(&def.name))
                }
            }
            None => "Some(attr.as_u32()?)".into(),
        },
        AttrKind::U64 => "Some(attr.as_u64()?)".into(),
        AttrKind::Flag => "true".into(),
        AttrKind::Pad => unreachable!(),
    }
}

/// (size of the value, the writer call) of a present value `v`.
fn emit_parts(spec: &Spec, a: &Attr) -> (String, String) {
    let kind = format!("Attr::{}.to_raw()", camel(&a.name));
    match a.kind {
        AttrKind::String => ("v.len() + 1".into(), format!("w.put_cstr({kind}, v)")),
        AttrKind::Binary => ("v.len()".into(), format!("w.put_bytes({kind}, v)")),
        AttrKind::NestArray => ("v.len()".into(), format!("w.put_nested({kind}, v)")),
        AttrKind::U32 => {
            let value = match &a.enum_name {
                Some(e) if spec.enum_def(e).flags || a.as_flags => "v.bits()",
                Some(_) => "v.to_raw()",
                None => "v",
            };
            ("4".into(), format!("w.put_u32({kind}, {value})"))
        }
        AttrKind::U64 => ("8".into(), format!("w.put_u64({kind}, v)")),
        AttrKind::Flag => ("0".into(), format!("w.put_flag({kind})")),
        AttrKind::Pad => unreachable!(),
    }
}

fn write_message(out: &mut String, spec: &Spec, m: &Message<'_>) {
    let lifetime = if borrows(m) { "<'a>" } else { "" };
    let _ = writeln!(out, "/// {}", m.what);
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]\n");
    if m.attrs.is_empty() {
        let _ = writeln!(out, "pub struct {};\n", m.name);
    } else {
        let _ = writeln!(out, "pub struct {}{lifetime} {{", m.name);
        for a in &m.attrs {
            let _ = writeln!(
                out,
                "    /// `{}`: {}",
                a.name,
                a.doc.trim().replace('\n', "\n    /// ")
            );
            if let Some(set) = &a.nested {
                let _ = writeln!(
                    out,
                    "    ///\n    /// The value: the nest's contents, its entries (each a nest \
                     numbered by its\n    /// index, holding [`crate::spec::{}`] \
                     attributes); emitted\n    /// with `NLA_F_NESTED`.",
                    set_type(set)
                );
            }
            let _ = writeln!(out, "    pub {}: {},", field(a), field_type(spec, a));
        }
        out.push_str("}\n\n");
    }
    let anon = if borrows(m) { "<'_>" } else { "" };
    let generics = if borrows(m) { "<'a>" } else { "" };
    let _ = writeln!(out, "impl{generics} {}{lifetime} {{", m.name);
    out.push_str("    /// The command the message is sent with.\n");
    let _ = writeln!(
        out,
        "    pub const COMMAND: Command = Command::{};\n",
        m.command
    );
    out.push_str(
        "    /// Reads the message's attributes from `attrs`, its attribute stream, in one\n    \
         /// pass: the last occurrence of an attribute wins, others are ignored. A broken\n    \
         /// stream, or an occurrence of a carried attribute whose value does not fit its\n    \
         /// type, is an error.\n",
    );
    if m.attrs.is_empty() {
        out.push_str("    pub fn parse(attrs: &[u8]) -> Result<Self, WireError> {\n");
        out.push_str(
            "        for attr in Attributes::new(attrs) {\n            attr?;\n        }\n",
        );
        out.push_str("        Ok(Self)\n    }\n}\n\n");
    } else {
        if m.attrs.len() == 1 {
            // One arm and a default: the same shape as every other message's.
            out.push_str("    #[allow(clippy::single_match)]\n");
        }
        let _ = writeln!(
            out,
            "    pub fn parse(attrs: &{table_ref}[u8]) -> Result<Self, WireError> {{",
            table_ref = if borrows(m) { "'a " } else { "" }
        );
        out.push_str("        let mut m = Self::default();\n");
        out.push_str(
            "        for attr in Attributes::new(attrs) {\n            let attr = attr?;\n",
        );
        out.push_str("            match Attr::from_raw(attr.kind()) {\n");
        for a in &m.attrs {
            let _ = writeln!(
                out,
                "                Attr::{} => m.{} = {},",
                camel(&a.name),
                field(a),
                parse_expr(spec, a)
            );
        }
        out.push_str(
            "                _ => {}\n            }\n        }\n        Ok(m)\n    }\n}\n\n",
        );
    }
    let _ = writeln!(out, "impl MessageAttrs for {}{anon} {{", m.name);
    out.push_str("    fn command(&self) -> Command {\n        Self::COMMAND\n    }\n\n");
    out.push_str("    fn attrs_len(&self) -> usize {\n");
    if m.attrs.is_empty() {
        out.push_str("        0\n    }\n\n");
    } else {
        out.push_str("        let mut len = 0;\n");
        for a in &m.attrs {
            let (size, _) = emit_parts(spec, a);
            if a.kind == AttrKind::Flag {
                let _ = writeln!(
                    out,
                    "        if self.{} {{\n            len += attr_size(0);\n        }}",
                    field(a)
                );
            } else if size.contains('v') {
                let _ = writeln!(
                    out,
                    "        if let Some(v) = self.{} {{\n            len += attr_size({size});\n        }}",
                    field(a)
                );
            } else {
                let _ = writeln!(
                    out,
                    "        if self.{}.is_some() {{\n            len += attr_size({size});\n        }}",
                    field(a)
                );
            }
        }
        out.push_str("        len\n    }\n\n");
    }
    let w = if m.attrs.is_empty() { "_w" } else { "w" };
    let _ = writeln!(
        out,
        "    fn emit_attrs(&self, {w}: &mut AttrWriter<'_>) -> Result<(), WireError> {{"
    );
    for a in &m.attrs {
        let (_, call) = emit_parts(spec, a);
        if a.kind == AttrKind::Flag {
            let _ = writeln!(
                out,
                "        if self.{} {{\n            {call}?;\n        }}",
                field(a)
            );
        } else {
            let _ = writeln!(
                out,
                "        if let Some(v) = self.{} {{\n            {call}?;\n        }}",
                field(a)
            );
        }
    }
    out.push_str("        Ok(())\n    }\n}\n\n");
}

pub fn messages_rs(spec: &Spec) -> String {
    let mut out = String::new();
    banner(
        &mut out,
        "The messages of every operation of `kmod/ipcon.yaml`: one struct per request,\n\
         //! reply and notification with a field per attribute it may carry. Strings and\n\
         //! binaries borrow from the received buffer (strings without their NUL); enums and\n\
         //! flags are typed. Parsing ignores attributes a message does not carry; emission\n\
         //! writes the present ones in the spec's order. See [`MessageAttrs`].",
    );
    // The enums and flags the messages' fields are typed with.
    let mut typed: Vec<String> = spec
        .ops
        .iter()
        .flat_map(|o| {
            [
                o.do_.as_ref().and_then(|d| d.request.as_ref()),
                o.do_.as_ref().and_then(|d| d.reply.as_ref()),
                o.dump.as_ref().and_then(|d| d.request.as_ref()),
                o.dump.as_ref().and_then(|d| d.reply.as_ref()),
                o.event.as_ref(),
            ]
        })
        .flatten()
        .flatten()
        .filter_map(|a| spec.attr(a).enum_name.as_deref())
        .map(|e| camel(&spec.enum_def(e).name))
        .collect();
    typed.sort();
    typed.dedup();
    let mut use_line = vec!["Attr".to_owned(), "Command".to_owned()];
    use_line.extend(typed);
    out.push_str("use crate::error::WireError;\n");
    let _ = writeln!(out, "use crate::spec::{{{}}};", use_line.join(", "));
    out.push_str("use crate::wire::attr::{attr_size, AttrWriter, Attributes};\n");
    out.push('\n');
    out.push_str(
        "/// The attributes of one message, generated from the spec for every request, reply \
         and\n/// notification; each also has an associated `COMMAND` and a `parse(attrs)` over \
         its\n/// attribute stream.\n\
         pub trait MessageAttrs {\n    \
         /// The command the message is sent with.\n    \
         fn command(&self) -> Command;\n    \
         /// Bytes the present attributes take, padding included.\n    \
         fn attrs_len(&self) -> usize;\n    \
         /// Writes the present attributes in the spec's order.\n    \
         fn emit_attrs(&self, w: &mut AttrWriter<'_>) -> Result<(), WireError>;\n}\n\n",
    );

    for op in &spec.ops {
        let base = camel(&op.name);
        let attrs = |list: &Option<Vec<String>>| -> Vec<&Attr> {
            list.iter().flatten().map(|n| spec.attr(n)).collect()
        };
        let mut written: Vec<(String, Vec<String>, bool)> = Vec::new();
        let mut emit = |out: &mut String, suffix: &str, what: &str, list: &Option<Vec<String>>| {
            let m = Message {
                name: format!("{base}{suffix}"),
                command: base.clone(),
                what: format!("The `{}` {what}.", op.name),
                attrs: attrs(list),
            };
            let key: Vec<String> = list.clone().unwrap_or_default();
            if let Some((same, _, lifetime)) = written.iter().find(|(_, k, _)| *k == key) {
                let l = if *lifetime { "<'a>" } else { "" };
                let _ = writeln!(out, "/// {} Same attributes as [`{same}`].", m.what);
                let _ = writeln!(out, "pub type {}{l} = {same}{l};\n", m.name);
                return;
            }
            write_message(out, spec, &m);
            written.push((m.name.clone(), key, borrows(&m)));
        };
        if let Some(d) = &op.do_ {
            emit(&mut out, "Request", "request (do)", &d.request);
            if d.reply.is_some() {
                emit(&mut out, "Reply", "reply (do)", &d.reply);
            }
        }
        if let Some(d) = &op.dump {
            emit(&mut out, "DumpRequest", "dump request", &d.request);
            if d.reply.is_some() {
                emit(
                    &mut out,
                    "DumpReply",
                    "reply (each message of a dump)",
                    &d.reply,
                );
            }
        }
        if op.event.is_some() {
            emit(&mut out, "Ntf", "notification", &op.event);
        }
    }
    out
}
