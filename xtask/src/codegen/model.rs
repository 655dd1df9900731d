//! The protocol as the generators see it: `kmod/ipcon.yaml` read with serde_yaml,
//! checked, with every value resolved (attribute and command numbers, enum values,
//! limits, the checks an enum implies).
//!
//! The kernel's YNL schema (`genetlink-legacy.yaml`) says what a spec may contain; the
//! `ynl` step validates against it. This reader accepts the subset the generators
//! implement and refuses everything else by name (unknown keys included), so a spec
//! feature is never silently ignored.
use serde::Deserialize;

use super::SPEC_PATH;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    protocol: Option<String>,
    doc: String,
    #[serde(default)]
    definitions: Vec<RawDefinition>,
    #[serde(rename = "attribute-sets")]
    attribute_sets: Vec<RawAttrSet>,
    operations: RawOperations,
    #[serde(rename = "mcast-groups", default)]
    mcast_groups: Option<RawMcastGroups>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefinition {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    doc: Option<String>,
    #[serde(default)]
    value: Option<serde_yaml::Value>,
    #[serde(rename = "value-start", default)]
    value_start: Option<u64>,
    #[serde(default)]
    entries: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawEntry {
    Name(String),
    Full(RawEntryFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntryFull {
    name: String,
    #[serde(default)]
    value: Option<u64>,
    #[serde(default)]
    doc: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttrSet {
    name: String,
    #[serde(default)]
    doc: Option<String>,
    attributes: Vec<RawAttr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttr {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    doc: Option<String>,
    #[serde(default)]
    value: Option<u16>,
    #[serde(rename = "enum", default)]
    enum_name: Option<String>,
    #[serde(rename = "enum-as-flags", default)]
    enum_as_flags: bool,
    #[serde(default)]
    checks: Option<RawChecks>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    #[serde(rename = "min-len", default)]
    min_len: Option<serde_yaml::Value>,
    #[serde(rename = "max-len", default)]
    max_len: Option<serde_yaml::Value>,
    #[serde(default)]
    min: Option<serde_yaml::Value>,
    #[serde(default)]
    max: Option<serde_yaml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperations {
    list: Vec<RawOp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOp {
    name: String,
    doc: String,
    #[serde(default)]
    value: Option<u8>,
    #[serde(rename = "attribute-set", default)]
    attribute_set: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(rename = "do", default)]
    do_: Option<RawSub>,
    #[serde(default)]
    dump: Option<RawSub>,
    #[serde(default)]
    event: Option<RawList>,
    #[serde(default)]
    mcgrp: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSub {
    #[serde(default)]
    request: Option<RawList>,
    #[serde(default)]
    reply: Option<RawList>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    #[serde(default)]
    attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMcastGroups {
    list: Vec<RawMcastGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMcastGroup {
    name: String,
}

/// The value of a `const` definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstValue {
    Int(u64),
    Str(String),
}

#[derive(Debug, Clone)]
pub struct Const {
    pub name: String,
    pub doc: String,
    pub value: ConstValue,
}

#[derive(Debug, Clone)]
pub struct EnumEntry {
    pub name: String,
    pub doc: String,
    /// The entry's number; for flags the bit number.
    pub raw: u64,
    /// Whether the uapi header spells the value out (it is not the previous one + 1).
    pub explicit: bool,
}

/// An `enum` or `flags` definition.
#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub doc: String,
    pub flags: bool,
    pub entries: Vec<EnumEntry>,
}

impl EnumDef {
    /// The wire value of an entry (a mask for flags).
    pub fn value(&self, entry: &EnumEntry) -> u64 {
        if self.flags {
            1 << entry.raw
        } else {
            entry.raw
        }
    }

    /// Every flag of a flags definition.
    pub fn mask(&self) -> u64 {
        self.entries.iter().map(|e| self.value(e)).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrKind {
    String,
    Binary,
    U32,
    U64,
    Flag,
    Pad,
}

/// Kernel-side validation of an attribute, all limits resolved to numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checks {
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    pub min: Option<u64>,
    pub max: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Attr {
    pub name: String,
    pub value: u16,
    pub kind: AttrKind,
    pub doc: String,
    /// The enum or flags definition its values come from.
    pub enum_name: Option<String>,
    /// The values are a mask of the flags definition.
    pub as_flags: bool,
    /// The checks of the spec, plus the range an enum implies.
    pub checks: Checks,
    /// The flags mask the kernel accepts, for an attribute of a flags definition.
    pub mask: Option<u64>,
}

/// One `do` or `dump`: its request and reply attributes (`None`: no such message).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sub {
    pub request: Option<Vec<String>>,
    pub reply: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpFlag {
    AdminPerm,
    UnsAdminPerm,
}

#[derive(Debug, Clone)]
pub struct Op {
    pub name: String,
    pub value: u8,
    pub doc: String,
    pub flags: Vec<OpFlag>,
    pub do_: Option<Sub>,
    pub dump: Option<Sub>,
    /// A notification's attributes.
    pub event: Option<Vec<String>>,
    /// The multicast group a notification is sent to.
    pub mcgrp: Option<String>,
}

impl Op {
    /// The request attributes the kernel accepts: do and dump requests are equal (see
    /// [`Spec::parse`]), so either one.
    pub fn request(&self) -> Option<&[String]> {
        [&self.do_, &self.dump]
            .into_iter()
            .flatten()
            .find_map(|sub| sub.request.as_deref())
    }

    /// Whether user space may send the command (it has a do or a dump).
    pub fn is_request(&self) -> bool {
        self.do_.is_some() || self.dump.is_some()
    }
}

/// The checked protocol.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The SPDX expression of the spec's first line (the generated files carry it).
    pub license: String,
    pub name: String,
    /// The generic netlink family version.
    pub version: u32,
    pub doc: String,
    /// Definitions in spec order (consts, enums and flags interleaved as written).
    pub consts: Vec<Const>,
    pub enums: Vec<EnumDef>,
    /// The order of `definitions` by kind and index, for the uapi header.
    pub definition_order: Vec<Definition>,
    pub attr_set_doc: String,
    pub attrs: Vec<Attr>,
    pub ops: Vec<Op>,
    pub mcast_groups: Vec<String>,
}

/// Where a definition of the spec went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Definition {
    Const(usize),
    Enum(usize),
}

fn fail<T>(message: impl std::fmt::Display) -> Result<T, String> {
    Err(format!("{SPEC_PATH}: {message}"))
}

/// Names become C and Rust identifiers: the schema's own pattern.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        fail(format!(
            "{what} name {name:?} must match ^[0-9a-z-]+$ and start with a letter"
        ))
    }
}

impl Spec {
    /// Reads and checks the spec text.
    pub fn parse(text: &str) -> Result<Spec, String> {
        let license = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# SPDX-License-Identifier: "))
            .map(|l| l.trim().to_owned())
            .ok_or_else(|| format!("{SPEC_PATH}: the first line must be an SPDX license tag"))?;
        let raw: RawSpec = serde_yaml::from_str(text).map_err(|e| format!("{SPEC_PATH}: {e}"))?;
        check_name("family", &raw.name)?;
        match raw.protocol.as_deref() {
            None | Some("genetlink") | Some("genetlink-legacy") => {}
            Some(other) => return fail(format!("protocol {other} is not supported")),
        }
        if raw.version.is_some() && raw.protocol.as_deref() != Some("genetlink-legacy") {
            return fail("`version` needs protocol genetlink-legacy");
        }

        let mut consts = Vec::new();
        let mut enums = Vec::new();
        let mut definition_order = Vec::new();
        for d in raw.definitions {
            check_name("definition", &d.name)?;
            match d.kind.as_str() {
                "const" => {
                    let value = match d.value {
                        Some(serde_yaml::Value::Number(n)) => match n.as_u64() {
                            Some(v) => ConstValue::Int(v),
                            None => return fail(format!("const {}: not a u64", d.name)),
                        },
                        Some(serde_yaml::Value::String(s)) => ConstValue::Str(s),
                        _ => return fail(format!("const {}: needs a number or string", d.name)),
                    };
                    definition_order.push(Definition::Const(consts.len()));
                    consts.push(Const {
                        name: d.name,
                        doc: d.doc.unwrap_or_default(),
                        value,
                    });
                }
                "enum" | "flags" => {
                    let mut entries: Vec<EnumEntry> = Vec::new();
                    for entry in d.entries {
                        let (name, value, doc) = match entry {
                            RawEntry::Name(name) => (name, None, None),
                            RawEntry::Full(f) => (f.name, f.value, f.doc),
                        };
                        check_name("enum entry", &name)?;
                        let next = entries
                            .last()
                            .map_or(d.value_start.unwrap_or(0), |e| e.raw + 1);
                        let raw_value = value.unwrap_or(next);
                        let explicit = d.kind == "flags"
                            || match entries.last() {
                                Some(prev) => raw_value != prev.raw + 1,
                                None => raw_value != 0,
                            };
                        if entries.iter().any(|e| e.raw == raw_value) {
                            return fail(format!("{} {name}: value {raw_value} repeats", d.name));
                        }
                        entries.push(EnumEntry {
                            name,
                            doc: doc.unwrap_or_default(),
                            raw: raw_value,
                            explicit,
                        });
                    }
                    if entries.is_empty() {
                        return fail(format!("{} {} has no entries", d.kind, d.name));
                    }
                    if d.kind == "flags" && entries.iter().any(|e| e.raw >= 32) {
                        return fail(format!("flags {}: bit numbers must be below 32", d.name));
                    }
                    definition_order.push(Definition::Enum(enums.len()));
                    enums.push(EnumDef {
                        name: d.name,
                        doc: d.doc.unwrap_or_default(),
                        flags: d.kind == "flags",
                        entries,
                    });
                }
                other => return fail(format!("definition type {other} is not supported")),
            }
        }

        let [set] = <[RawAttrSet; 1]>::try_from(raw.attribute_sets).map_err(|_| {
            format!("{SPEC_PATH}: exactly one attribute set is supported (nests are not)")
        })?;
        if set.name != raw.name {
            return fail("the attribute set must be named like the family");
        }
        let mut attrs: Vec<Attr> = Vec::new();
        for a in set.attributes {
            check_name("attribute", &a.name)?;
            let kind = match a.kind.as_str() {
                "string" => AttrKind::String,
                "binary" => AttrKind::Binary,
                "u32" => AttrKind::U32,
                "u64" => AttrKind::U64,
                "flag" => AttrKind::Flag,
                "pad" => AttrKind::Pad,
                other => {
                    return fail(format!(
                        "attribute {}: type {other} is not supported by the generators yet",
                        a.name
                    ))
                }
            };
            let value = match (a.value, attrs.last()) {
                (Some(v), Some(prev)) if v <= prev.value => {
                    return fail(format!("attribute {}: values must increase", a.name))
                }
                (Some(v), _) => v,
                (None, Some(prev)) => prev.value + 1,
                (None, None) => 1,
            };
            if value == 0 || value > 0x3fff {
                return fail(format!("attribute {}: value {value} out of range", a.name));
            }
            let raw_checks = a.checks.unwrap_or_default();
            let limit = |v: &Option<serde_yaml::Value>| -> Result<Option<u64>, String> {
                match v {
                    None => Ok(None),
                    Some(serde_yaml::Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                        format!("{SPEC_PATH}: attribute {}: negative limit", a.name)
                    }),
                    Some(serde_yaml::Value::String(s)) => {
                        match consts.iter().find(|c| &c.name == s).map(|c| &c.value) {
                            Some(ConstValue::Int(v)) => Ok(Some(*v)),
                            _ => Err(format!(
                                "{SPEC_PATH}: attribute {}: limit {s:?} is not a numeric const",
                                a.name
                            )),
                        }
                    }
                    Some(other) => Err(format!(
                        "{SPEC_PATH}: attribute {}: bad limit {other:?}",
                        a.name
                    )),
                }
            };
            let mut checks = Checks {
                min_len: limit(&raw_checks.min_len)?,
                max_len: limit(&raw_checks.max_len)?,
                min: limit(&raw_checks.min)?,
                max: limit(&raw_checks.max)?,
            };
            let lengths = checks.min_len.is_some() || checks.max_len.is_some();
            let bounds = checks.min.is_some() || checks.max.is_some();
            match kind {
                AttrKind::String | AttrKind::Binary if bounds => {
                    return fail(format!("attribute {}: min/max apply to integers", a.name))
                }
                AttrKind::U32 | AttrKind::U64 | AttrKind::Flag | AttrKind::Pad if lengths => {
                    return fail(format!(
                        "attribute {}: min-len/max-len apply to strings and binaries",
                        a.name
                    ))
                }
                AttrKind::Binary if checks.min_len.is_some() => {
                    return fail(format!(
                        "attribute {}: min-len of a binary is not supported yet",
                        a.name
                    ))
                }
                _ => {}
            }
            if let (Some(min), Some(max)) = (checks.min_len, checks.max_len) {
                if min > max {
                    return fail(format!("attribute {}: min-len above max-len", a.name));
                }
            }
            let mut mask = None;
            if let Some(enum_name) = &a.enum_name {
                let Some(def) = enums.iter().find(|e| &e.name == enum_name) else {
                    return fail(format!("attribute {}: no enum {enum_name}", a.name));
                };
                if kind != AttrKind::U32 {
                    return fail(format!("attribute {}: enums need type u32", a.name));
                }
                if def.flags || a.enum_as_flags {
                    let bits = if def.flags {
                        def.mask()
                    } else {
                        def.entries.iter().map(|e| 1u64 << e.raw).sum()
                    };
                    mask = Some(bits);
                } else {
                    // An enum admits exactly its values (the kernel's YNL generator
                    // derives the same range).
                    let low = def.entries.iter().map(|e| e.raw).min().unwrap_or(0);
                    let high = def.entries.iter().map(|e| e.raw).max().unwrap_or(0);
                    if high - low + 1 != def.entries.len() as u64 {
                        return fail(format!(
                            "attribute {}: enum {enum_name} has gaps; sparse enums are not \
                             supported yet",
                            a.name
                        ));
                    }
                    if checks.min.is_none() && low != 0 {
                        checks.min = Some(low);
                    }
                    if checks.max.is_none() {
                        checks.max = Some(high);
                    }
                }
            } else if a.enum_as_flags {
                return fail(format!("attribute {}: enum-as-flags without enum", a.name));
            }
            if let (Some(min), Some(max)) = (checks.min, checks.max) {
                if min > max {
                    return fail(format!("attribute {}: min above max", a.name));
                }
            }
            if checks.min.into_iter().chain(checks.max).any(|v| v > 32767) {
                return fail(format!(
                    "attribute {}: limits above 32767 need a full-range policy, not supported \
                     yet",
                    a.name
                ));
            }
            if attrs.iter().any(|x| x.name == a.name) {
                return fail(format!("attribute {} is defined twice", a.name));
            }
            attrs.push(Attr {
                name: a.name,
                value,
                kind,
                doc: a.doc.unwrap_or_default(),
                enum_name: a.enum_name,
                as_flags: a.enum_as_flags,
                checks,
                mask,
            });
        }

        let mcast_groups: Vec<String> = raw
            .mcast_groups
            .map(|g| g.list.into_iter().map(|g| g.name).collect())
            .unwrap_or_default();
        for g in &mcast_groups {
            check_name("multicast group", g)?;
        }

        let mut ops: Vec<Op> = Vec::new();
        for o in raw.operations.list {
            check_name("operation", &o.name)?;
            let value = match (o.value, ops.last()) {
                (Some(v), Some(prev)) if v <= prev.value => {
                    return fail(format!("operation {}: values must increase", o.name))
                }
                (Some(v), _) => v,
                (None, Some(prev)) => prev.value.checked_add(1).ok_or_else(|| {
                    format!("{SPEC_PATH}: operation {}: too many operations", o.name)
                })?,
                (None, None) => 1,
            };
            if o.attribute_set.as_deref().is_some_and(|s| s != set.name) {
                return fail(format!("operation {}: unknown attribute set", o.name));
            }
            let flags = o
                .flags
                .iter()
                .map(|f| match f.as_str() {
                    "admin-perm" => Ok(OpFlag::AdminPerm),
                    "uns-admin-perm" => Ok(OpFlag::UnsAdminPerm),
                    other => Err(format!("{SPEC_PATH}: operation {}: flag {other}", o.name)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sub = |s: Option<RawSub>| {
                s.map(|s| Sub {
                    request: s.request.map(|l| l.attributes),
                    reply: s.reply.map(|l| l.attributes),
                })
            };
            let op = Op {
                name: o.name,
                value,
                doc: o.doc,
                flags,
                do_: sub(o.do_),
                dump: sub(o.dump),
                event: o.event.map(|l| l.attributes),
                mcgrp: o.mcgrp,
            };
            // The kernel's YNL files an operation with an event as a notification:
            // one that also had a do or dump could not be called.
            if op.event.is_some() == op.is_request() {
                return fail(format!(
                    "operation {}: needs do and/or dump (a request) or event (a \
                     notification), not both",
                    op.name
                ));
            }
            if op.mcgrp.is_some() && op.event.is_none() {
                return fail(format!("operation {}: mcgrp needs an event", op.name));
            }
            if let Some(g) = &op.mcgrp {
                if !mcast_groups.contains(g) {
                    return fail(format!("operation {}: no multicast group {g}", op.name));
                }
            }
            if !op.flags.is_empty() && !op.is_request() {
                return fail(format!("operation {}: flags need a request", op.name));
            }
            let lists = [
                op.do_.as_ref().and_then(|s| s.request.as_ref()),
                op.do_.as_ref().and_then(|s| s.reply.as_ref()),
                op.dump.as_ref().and_then(|s| s.request.as_ref()),
                op.dump.as_ref().and_then(|s| s.reply.as_ref()),
                op.event.as_ref(),
            ];
            for list in lists.into_iter().flatten() {
                for (i, name) in list.iter().enumerate() {
                    match attrs.iter().find(|a| &a.name == name) {
                        None => return fail(format!("operation {}: no attribute {name}", op.name)),
                        Some(a) if a.kind == AttrKind::Pad => {
                            return fail(format!("operation {}: lists pad {name}", op.name))
                        }
                        Some(_) => {}
                    }
                    if list[..i].contains(name) {
                        return fail(format!("operation {}: {name} listed twice", op.name));
                    }
                }
            }
            // Kernels before 6.2 have one policy per command for do and dump: a dump
            // must accept what the do accepts (as filters), so every kernel validates a
            // dump request alike and no attribute is accepted and then ignored.
            if let (Some(d), Some(u)) = (&op.do_, &op.dump) {
                if d.request.as_deref().unwrap_or_default()
                    != u.request.as_deref().unwrap_or_default()
                {
                    return fail(format!(
                        "operation {}: the dump request must list the do request's attributes \
                         (kernels before 6.2 validate both with one policy); honour them as \
                         filters",
                        op.name
                    ));
                }
            }
            if ops.iter().any(|x| x.name == op.name) {
                return fail(format!("operation {} is defined twice", op.name));
            }
            ops.push(op);
        }
        if ops.is_empty() {
            return fail("no operations");
        }
        for (i, g) in mcast_groups.iter().enumerate() {
            if mcast_groups[..i].contains(g) {
                return fail(format!("multicast group {g} is defined twice"));
            }
        }

        let version = raw.version.unwrap_or(1);
        match consts
            .iter()
            .find(|c| c.name == "version")
            .map(|c| &c.value)
        {
            Some(ConstValue::Int(v)) if *v == u64::from(version) => {}
            Some(_) => return fail("const version must equal the family version"),
            None => return fail("a const named version (the family version) is required"),
        }
        if version > 255 {
            return fail("the family version must fit the generic netlink header (u8)");
        }

        Ok(Spec {
            license,
            name: raw.name,
            version,
            doc: raw.doc,
            consts,
            enums,
            definition_order,
            attr_set_doc: set.doc.unwrap_or_default(),
            attrs,
            ops,
            mcast_groups,
        })
    }

    pub fn attr(&self, name: &str) -> &Attr {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .expect("attribute names are checked by Spec::parse")
    }

    pub fn enum_def(&self, name: &str) -> &EnumDef {
        self.enums
            .iter()
            .find(|e| e.name == name)
            .expect("enum names are checked by Spec::parse")
    }

    /// Attributes some request carries, in attribute order.
    pub fn request_attrs(&self) -> Vec<&Attr> {
        self.attrs
            .iter()
            .filter(|a| {
                self.ops
                    .iter()
                    .filter_map(Op::request)
                    .any(|list| list.contains(&a.name))
            })
            .collect()
    }

    /// The highest attribute number.
    pub fn max_attr(&self) -> u16 {
        self.attrs.last().map_or(0, |a| a.value)
    }

    /// The highest command number.
    pub fn max_op(&self) -> u8 {
        self.ops.last().map_or(0, |o| o.value)
    }
}

/// `peer-name` → `PEER_NAME`.
pub fn upper(name: &str) -> String {
    name.replace('-', "_").to_ascii_uppercase()
}

/// `peer-name` → `peer_name`.
pub fn lower(name: &str) -> String {
    name.replace('-', "_").to_ascii_lowercase()
}

/// `peer-name` → `PeerName`.
pub fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "# SPDX-License-Identifier: MIT\n\
        name: fam\nprotocol: genetlink-legacy\nversion: 3\ndoc: d\n\
        definitions:\n  - {type: const, name: version, value: 3}\n\
        attribute-sets:\n  - name: fam\n    attributes:\n\
        \x20     - {name: a, type: u32}\n      - {name: b, type: string, checks: {max-len: 7}}\n\
        operations:\n  list:\n\
        \x20   - {name: get, doc: g, do: {request: {attributes: [a]}}, dump: {request: {attributes: [a]}}}\n";

    #[test]
    fn a_minimal_spec_reads() {
        let spec = Spec::parse(MINIMAL).unwrap();
        assert_eq!((spec.name.as_str(), spec.version), ("fam", 3));
        assert_eq!(spec.attrs[1].value, 2);
        assert_eq!(spec.attrs[1].checks.max_len, Some(7));
        assert_eq!(spec.ops[0].request(), Some(&["a".to_owned()][..]));
    }

    fn refused(text: &str, expected: &str) {
        match Spec::parse(text) {
            Ok(_) => panic!("accepted a spec that must fail with {expected:?}"),
            Err(e) => assert!(e.contains(expected), "{e:?} lacks {expected:?}"),
        }
    }

    #[test]
    fn what_the_generators_cannot_do_is_refused() {
        refused(
            &MINIMAL.replace("dump: {request: {attributes: [a]}}", "dump: {}"),
            "the dump request must list",
        );
        refused(
            &MINIMAL.replace("do: {request", "event: {attributes: [a]}, do: {request"),
            "not both",
        );
        refused(
            &MINIMAL.replace("type: u32", "type: s8"),
            "type s8 is not supported",
        );
        refused(
            &MINIMAL.replace("max-len: 7", "exact-len: 7"),
            "unknown field",
        );
        refused(&MINIMAL.replace("name: a,", "name: A_x,"), "must match");
        refused(
            &MINIMAL.replace("value: 3}", "value: 2}"),
            "must equal the family version",
        );
        refused(
            &MINIMAL.replace("[a]}}, dump", "[zz]}}, dump"),
            "no attribute zz",
        );
    }
}
