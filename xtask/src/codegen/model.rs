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
    #[serde(rename = "sub-type", default)]
    sub_type: Option<String>,
    #[serde(rename = "nested-attributes", default)]
    nested_attributes: Option<String>,
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
    /// `indexed-array` of `sub-type: nest`: entries numbered by their index, each a
    /// nest of the attribute set [`Attr::nested`] names.
    NestArray,
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
    /// The nested attribute set of a [`AttrKind::NestArray`]'s entries.
    pub nested: Option<String>,
}

/// A nested attribute set: the attributes inside the entries of a nest.
#[derive(Debug, Clone)]
pub struct AttrSet {
    pub name: String,
    pub doc: String,
    pub attrs: Vec<Attr>,
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
    /// The attributes of the family's own set (the first one), the space of requests,
    /// replies and notifications.
    pub attrs: Vec<Attr>,
    /// The further attribute sets, in spec order: each one nested in some attribute.
    pub nested_sets: Vec<AttrSet>,
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

/// Reads the attributes of one set: the family's (`nested` `None`) or a nested one.
fn parse_attrs(
    nested: Option<&str>,
    raw: Vec<RawAttr>,
    consts: &[Const],
    enums: &[EnumDef],
) -> Result<Vec<Attr>, String> {
    let mut attrs: Vec<Attr> = Vec::new();
    for a in raw {
        check_name("attribute", &a.name)?;
        // How messages name the attribute: those of nested sets with their set.
        let label = match nested {
            None => format!("attribute {}", a.name),
            Some(set) => format!("attribute {} of set {set}", a.name),
        };
        let kind = match a.kind.as_str() {
            "string" => AttrKind::String,
            "binary" => AttrKind::Binary,
            "u32" => AttrKind::U32,
            "u64" => AttrKind::U64,
            "flag" => AttrKind::Flag,
            "pad" => AttrKind::Pad,
            "indexed-array" if nested.is_some() => {
                return fail(format!(
                    "{label}: nests inside nested sets are not supported by the generators yet"
                ))
            }
            "indexed-array" => AttrKind::NestArray,
            other => {
                return fail(format!(
                    "{label}: type {other} is not supported by the generators yet"
                ))
            }
        };
        let target = if kind == AttrKind::NestArray {
            match a.sub_type.as_deref() {
                Some("nest") => {}
                Some(other) => {
                    return fail(format!(
                        "{label}: indexed-array sub-type {other} is not supported by the \
                         generators yet (only nest)"
                    ))
                }
                None => return fail(format!("{label}: indexed-array needs sub-type: nest")),
            }
            match a.nested_attributes {
                Some(target) => Some(target),
                None => {
                    return fail(format!(
                        "{label}: an indexed-array of nests needs nested-attributes"
                    ))
                }
            }
        } else {
            if a.sub_type.is_some() {
                return fail(format!("{label}: sub-type applies to indexed-array"));
            }
            if a.nested_attributes.is_some() {
                return fail(format!(
                    "{label}: nested-attributes applies to indexed-array (nest is not \
                     supported yet)"
                ));
            }
            None
        };
        let value = match (a.value, attrs.last()) {
            (Some(v), Some(prev)) if v <= prev.value => {
                return fail(format!("{label}: values must increase"))
            }
            (Some(v), _) => v,
            (None, Some(prev)) => prev.value + 1,
            (None, None) => 1,
        };
        if value == 0 || value > 0x3fff {
            return fail(format!("{label}: value {value} out of range"));
        }
        let raw_checks = a.checks.unwrap_or_default();
        let limit = |v: &Option<serde_yaml::Value>| -> Result<Option<u64>, String> {
            match v {
                None => Ok(None),
                Some(serde_yaml::Value::Number(n)) => n
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| format!("{SPEC_PATH}: {label}: negative limit")),
                Some(serde_yaml::Value::String(s)) => {
                    match consts.iter().find(|c| &c.name == s).map(|c| &c.value) {
                        Some(ConstValue::Int(v)) => Ok(Some(*v)),
                        _ => Err(format!(
                            "{SPEC_PATH}: {label}: limit {s:?} is not a numeric const"
                        )),
                    }
                }
                Some(other) => Err(format!("{SPEC_PATH}: {label}: bad limit {other:?}")),
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
                return fail(format!("{label}: min/max apply to integers"))
            }
            AttrKind::U32 | AttrKind::U64 | AttrKind::Flag | AttrKind::Pad if lengths => {
                return fail(format!(
                    "{label}: min-len/max-len apply to strings and binaries"
                ))
            }
            AttrKind::NestArray if lengths || bounds => {
                return fail(format!(
                    "{label}: checks of an indexed-array are not supported yet"
                ))
            }
            AttrKind::Binary if checks.min_len.is_some() => {
                return fail(format!("{label}: min-len of a binary is not supported yet"))
            }
            _ => {}
        }
        if let (Some(min), Some(max)) = (checks.min_len, checks.max_len) {
            if min > max {
                return fail(format!("{label}: min-len above max-len"));
            }
        }
        let mut mask = None;
        if let Some(enum_name) = &a.enum_name {
            let Some(def) = enums.iter().find(|e| &e.name == enum_name) else {
                return fail(format!("{label}: no enum {enum_name}"));
            };
            if kind != AttrKind::U32 {
                return fail(format!("{label}: enums need type u32"));
            }
            if def.flags || a.enum_as_flags {
                let bits = if def.flags {
                    def.mask()
                } else {
                    def.entries.iter().map(|e| 1u64 << e.raw).sum()
                };
                mask = Some(bits);
            } else {
                // An enum admits exactly its values (the kernel's YNL generator derives
                // the same range).
                let low = def.entries.iter().map(|e| e.raw).min().unwrap_or(0);
                let high = def.entries.iter().map(|e| e.raw).max().unwrap_or(0);
                if high - low + 1 != def.entries.len() as u64 {
                    return fail(format!(
                        "{label}: enum {enum_name} has gaps; sparse enums are not supported yet"
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
            return fail(format!("{label}: enum-as-flags without enum"));
        }
        if let (Some(min), Some(max)) = (checks.min, checks.max) {
            if min > max {
                return fail(format!("{label}: min above max"));
            }
        }
        if checks.min.into_iter().chain(checks.max).any(|v| v > 32767) {
            return fail(format!(
                "{label}: limits above 32767 need a full-range policy, not supported yet"
            ));
        }
        if attrs.iter().any(|x| x.name == a.name) {
            return fail(format!("{label} is defined twice"));
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
            nested: target,
        });
    }
    Ok(attrs)
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

        let mut raw_sets = raw.attribute_sets.into_iter();
        let Some(set) = raw_sets.next() else {
            return fail("no attribute set");
        };
        if set.name != raw.name {
            return fail("the first attribute set must be named like the family");
        }
        let raw_nested: Vec<RawAttrSet> = raw_sets.collect();
        for (i, s) in raw_nested.iter().enumerate() {
            check_name("attribute set", &s.name)?;
            if s.name == set.name || raw_nested[..i].iter().any(|x| x.name == s.name) {
                return fail(format!("attribute set {} is defined twice", s.name));
            }
        }
        let set_doc = set.doc.unwrap_or_default();
        let attrs = parse_attrs(None, set.attributes, &consts, &enums)?;
        let mut nested_sets: Vec<AttrSet> = Vec::new();
        for s in raw_nested {
            let attrs = parse_attrs(Some(&s.name), s.attributes, &consts, &enums)?;
            nested_sets.push(AttrSet {
                name: s.name,
                doc: s.doc.unwrap_or_default(),
                attrs,
            });
        }
        for a in &attrs {
            if let Some(target) = &a.nested {
                if *target == set.name {
                    return fail(format!(
                        "attribute {}: the family's attribute set {target} cannot be nested",
                        a.name
                    ));
                }
                if !nested_sets.iter().any(|s| &s.name == target) {
                    return fail(format!(
                        "attribute {}: nested-attributes {target}: no such attribute set",
                        a.name
                    ));
                }
            }
        }
        // The uapi names of every set share one C namespace (a nested set's carry its
        // name: `<FAMILY>_A_<SET>_<ATTR>`), as the Rust types of the sets share one.
        let mut c_names: Vec<(String, String)> = attrs
            .iter()
            .map(|a| a.name.clone())
            .chain(["max".to_owned()])
            .map(|n| (upper(&n), format!("attribute {n}")))
            .collect();
        for s in &nested_sets {
            for n in s
                .attrs
                .iter()
                .map(|a| a.name.clone())
                .chain(["max".to_owned()])
            {
                let c = upper(&format!("{}-{n}", s.name));
                if let Some((_, other)) = c_names.iter().find(|(x, _)| *x == c) {
                    return fail(format!(
                        "attribute {n} of set {}: its uapi name {}_A_{c} is taken by {other}",
                        s.name,
                        upper(&raw.name)
                    ));
                }
                c_names.push((c, format!("attribute {n} of set {}", s.name)));
            }
            let rust = format!("{}Attr", camel(&s.name));
            let taken = ["Attr", "AttrType", "Command"].contains(&rust.as_str())
                || enums.iter().any(|e| camel(&e.name) == rust);
            if taken {
                return fail(format!(
                    "attribute set {}: its Rust type {rust} is taken",
                    s.name
                ));
            }
        }
        for s in &nested_sets {
            if !attrs.iter().any(|a| a.nested.as_ref() == Some(&s.name)) {
                return fail(format!(
                    "attribute set {}: no attribute of set {} nests it (further sets are \
                     nested sets, referenced by nested-attributes)",
                    s.name, set.name
                ));
            }
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
            if let Some(s) = o.attribute_set.as_deref().filter(|s| *s != set.name) {
                return fail(format!(
                    "operation {}: attribute set {s}: operations use the family's set {}",
                    o.name, set.name
                ));
            }
            if nested_sets.iter().any(|s| s.name == o.name) {
                return fail(format!(
                    "operation {0} and attribute set {0}: their kernel policies would both be \
                     named {1}_{2}_nl_policy",
                    o.name,
                    lower(&raw.name),
                    lower(&o.name)
                ));
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
            attr_set_doc: set_doc,
            attrs,
            nested_sets,
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

    /// The nested sets some request carries (the kernel validates their entries), in
    /// spec order.
    pub fn request_nested_sets(&self) -> Vec<&AttrSet> {
        let requested = self.request_attrs();
        self.nested_sets
            .iter()
            .filter(|s| {
                requested
                    .iter()
                    .any(|a| a.nested.as_deref() == Some(s.name.as_str()))
            })
            .collect()
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
pub(super) mod tests {
    use super::*;

    const MINIMAL: &str = "# SPDX-License-Identifier: MIT\n\
        name: fam\nprotocol: genetlink-legacy\nversion: 3\ndoc: d\n\
        definitions:\n  - {type: const, name: version, value: 3}\n\
        attribute-sets:\n  - name: fam\n    attributes:\n\
        \x20     - {name: a, type: u32}\n      - {name: b, type: string, checks: {max-len: 7}}\n\
        operations:\n  list:\n\
        \x20   - {name: get, doc: g, do: {request: {attributes: [a]}}, dump: {request: {attributes: [a]}}}\n";

    /// [`MINIMAL`] with a nested set `item`, an indexed array `items` of its nests.
    pub(crate) fn nested() -> String {
        MINIMAL
            .replace(
                "      - {name: b, type: string, checks: {max-len: 7}}\n",
                "      - {name: b, type: string, checks: {max-len: 7}}\n\
                 \x20     - {name: items, type: indexed-array, sub-type: nest, \
                 nested-attributes: item}\n\
                 \x20 - name: item\n    doc: one item\n    attributes:\n\
                 \x20     - {name: data, type: binary}\n\
                 \x20     - {name: label, type: string, checks: {min-len: 2, max-len: 9}}\n",
            )
            .replace("attributes: [a]}}, dump", "attributes: [a, items]}}, dump")
            .replace(
                "dump: {request: {attributes: [a]}}",
                "dump: {request: {attributes: [a, items]}}",
            )
    }

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

    #[test]
    fn a_nested_set_reads() {
        let spec = Spec::parse(&nested()).unwrap();
        let items = spec.attr("items");
        assert_eq!(items.kind, AttrKind::NestArray);
        assert_eq!(items.value, 3);
        assert_eq!(items.nested.as_deref(), Some("item"));
        let [set] = &spec.nested_sets[..] else {
            panic!("{:?}", spec.nested_sets)
        };
        assert_eq!((set.name.as_str(), set.doc.as_str()), ("item", "one item"));
        let values: Vec<(&str, u16, AttrKind)> = set
            .attrs
            .iter()
            .map(|a| (a.name.as_str(), a.value, a.kind))
            .collect();
        assert_eq!(
            values,
            [
                ("data", 1, AttrKind::Binary),
                ("label", 2, AttrKind::String)
            ]
        );
        assert_eq!(set.attrs[1].checks.min_len, Some(2));
        assert_eq!(spec.request_nested_sets().len(), 1);
        // Only a request's nests need a kernel policy.
        let unrequested = Spec::parse(&nested().replace("[a, items]", "[a]")).unwrap();
        assert!(unrequested.request_nested_sets().is_empty());
    }

    #[test]
    fn nests_the_generators_cannot_do_are_refused() {
        let text = nested();
        refused(
            &text.replace("nested-attributes: item}", "nested-attributes: itme}"),
            "attribute items: nested-attributes itme: no such attribute set",
        );
        refused(
            &text.replace("nested-attributes: item}", "nested-attributes: fam}"),
            "the family's attribute set fam cannot be nested",
        );
        refused(
            &text.replace("sub-type: nest,", "sub-type: u32,"),
            "attribute items: indexed-array sub-type u32 is not supported by the generators \
             yet (only nest)",
        );
        refused(
            &text.replace("sub-type: nest,", ""),
            "attribute items: indexed-array needs sub-type: nest",
        );
        refused(
            &text.replace(", nested-attributes: item}", "}"),
            "attribute items: an indexed-array of nests needs nested-attributes",
        );
        refused(
            &text.replace(
                "{name: a, type: u32}",
                "{name: a, type: u32, sub-type: nest}",
            ),
            "attribute a: sub-type applies to indexed-array",
        );
        refused(
            &text.replace("{name: data, type: binary}", "{name: data, type: nest}"),
            "attribute data of set item: type nest is not supported",
        );
        refused(
            &text.replace(
                "{name: data, type: binary}",
                "{name: data, type: indexed-array, sub-type: nest, nested-attributes: item}",
            ),
            "attribute data of set item: nests inside nested sets are not supported",
        );
        refused(
            &text.replace("max-len: 9}", "max-len: 1}"),
            "attribute label of set item: min-len above max-len",
        );
        refused(
            &text.replace("- name: item\n", "- name: fam\n"),
            "attribute set fam is defined twice",
        );
        refused(
            &text.replace(
                "sub-type: nest, nested-attributes: item}",
                "sub-type: nest, nested-attributes: item, checks: {max-len: 4}}",
            ),
            "checks of an indexed-array are not supported yet",
        );
        // A further set must be nested somewhere.
        refused(
            &MINIMAL.replace(
                "operations:",
                "\x20 - name: loose\n    attributes:\n      - {name: data, type: binary}\n\
                 operations:",
            ),
            "attribute set loose: no attribute of set fam nests it",
        );
        refused(
            &text
                .replace("- name: item\n", "- name: get\n")
                .replace("nested-attributes: item", "nested-attributes: get"),
            "operation get and attribute set get",
        );
        refused(
            &text
                .replace("{name: a, type: u32}", "{name: item-data, type: u32}")
                .replace("[a, items]", "[item-data, items]"),
            "attribute data of set item: its uapi name FAM_A_ITEM_DATA is taken by attribute \
             item-data",
        );
        refused(
            &MINIMAL.replace("  - name: fam\n", "  - name: other\n"),
            "the first attribute set must be named like the family",
        );
    }
}
