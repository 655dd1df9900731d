//! The spec check (the `spec` step of `cargo xtask test`): proves that the three other
//! descriptions of the protocol agree with `kmod/ipcon.yaml`, its single source of truth:
//!
//! 1. `kmod/uapi/ipcon.h`: defines and enums (names, values, order);
//! 2. `ipcon-core/src/spec.rs`: generated from the YAML, so "generated == committed"
//!    (regenerate it with `cargo test -p xtask -- --ignored regenerate`, or run the check
//!    with `IPCON_SPEC_WRITE=1` in the environment);
//! 3. `kmod/policy.c`: one `nla_policy` array per operation whose entries match the
//!    operation's request attributes, their types and their checks.
//!
//! The YAML is read with serde_yaml; the C files with small purpose-built readers that
//! rely on the one-entry-per-line form the kernel sources promise (see `kmod/policy.c`).
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

const YAML_PATH: &str = "kmod/ipcon.yaml";
const HEADER_PATH: &str = "kmod/uapi/ipcon.h";
const POLICY_PATH: &str = "kmod/policy.c";
const RUST_PATH: &str = "ipcon-core/src/spec.rs";

/// Runs the check from the repository root; prints `spec-check: N passed, M failed`.
///
/// With `IPCON_SPEC_WRITE=1` in the environment it first regenerates
/// `ipcon-core/src/spec.rs` from the YAML.
pub fn run(root: &Path) -> Result<(), String> {
    if std::env::var_os("IPCON_SPEC_WRITE").is_some_and(|v| v == "1") {
        write(root)?;
    }
    let read =
        |rel: &str| std::fs::read_to_string(root.join(rel)).map_err(|e| format!("{rel}: {e}"));
    let spec = Spec::parse(&read(YAML_PATH)?)?;
    let mut report = Report::default();
    report.add(
        "uapi header",
        read(HEADER_PATH).map(|h| check_header(&spec, &h)),
    );
    report.add(
        "ipcon-core/src/spec.rs",
        read(RUST_PATH).map(|r| check_rust(&spec, &r)),
    );
    let policy = match read(HEADER_PATH) {
        Ok(header) => match read(POLICY_PATH) {
            Ok(policy) => Ok(check_policy(&spec, &header, &policy)),
            Err(e) => Err(format!(
                "{e} (the kernel's attribute policies are not written yet?)"
            )),
        },
        Err(e) => Err(e),
    };
    report.add("kernel policies", policy);
    println!(
        "spec-check: {} passed, {} failed",
        report.passed, report.failed
    );
    if report.failed == 0 {
        Ok(())
    } else {
        Err(format!("spec-check: {} check(s) failed", report.failed))
    }
}

/// Regenerates `ipcon-core/src/spec.rs` from `kmod/ipcon.yaml`.
pub fn write(root: &Path) -> Result<(), String> {
    let yaml =
        std::fs::read_to_string(root.join(YAML_PATH)).map_err(|e| format!("{YAML_PATH}: {e}"))?;
    let spec = Spec::parse(&yaml)?;
    let path = root.join(RUST_PATH);
    std::fs::write(&path, format_rust(&generate_rust(&spec))?)
        .map_err(|e| format!("{RUST_PATH}: {e}"))?;
    println!("spec-check: wrote {RUST_PATH}");
    Ok(())
}

/// One checked item (a define list, an enum, a policy array, ...) and what is wrong with it.
type Item = (String, Vec<String>);

/// Flattens the problems of checked items.
#[cfg(test)]
fn problems(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .flat_map(|(name, p)| p.iter().map(move |line| format!("{name}: {line}")))
        .collect()
}

/// Counts checked items; an item passes when it has no problem.
#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn add(&mut self, what: &str, items: Result<Vec<Item>, String>) {
        match items {
            Ok(items) => {
                let bad: Vec<&Item> = items.iter().filter(|(_, p)| !p.is_empty()).collect();
                self.passed += items.len() - bad.len();
                self.failed += bad.len();
                if bad.is_empty() {
                    println!("spec-check: {what}: {} ok", items.len());
                } else {
                    println!(
                        "spec-check: {what}: {} of {} FAILED",
                        bad.len(),
                        items.len()
                    );
                    for (name, p) in bad {
                        for line in p {
                            println!("  - {name}: {line}");
                        }
                    }
                }
            }
            Err(e) => {
                self.failed += 1;
                println!("spec-check: {what}: FAILED: {e}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The YAML model (only the parts the checks use).

#[derive(Debug, Deserialize)]
struct YamlSpec {
    name: String,
    #[serde(default)]
    definitions: Vec<Definition>,
    #[serde(rename = "attribute-sets")]
    attribute_sets: Vec<AttributeSet>,
    operations: Operations,
    #[serde(rename = "mcast-groups", default)]
    mcast_groups: Option<McastGroups>,
}

#[derive(Debug, Clone, Deserialize)]
struct Definition {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    value: Option<serde_yaml::Value>,
    #[serde(default)]
    doc: Option<String>,
    #[serde(rename = "value-start", default)]
    value_start: Option<u32>,
    #[serde(default)]
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    name: String,
    #[serde(default)]
    doc: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AttributeSet {
    #[serde(default)]
    doc: Option<String>,
    attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, Deserialize)]
struct Attribute {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    doc: Option<String>,
    #[serde(default)]
    checks: Option<Checks>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Checks {
    #[serde(rename = "max-len", default)]
    max_len: Option<u64>,
    #[serde(default)]
    min: Option<u64>,
    #[serde(default)]
    max: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct Operations {
    list: Vec<Operation>,
}

#[derive(Debug, Clone, Deserialize)]
struct Operation {
    name: String,
    #[serde(default)]
    doc: Option<String>,
    #[serde(rename = "do", default)]
    do_: Option<OpMode>,
    #[serde(default)]
    dump: Option<OpMode>,
    #[serde(default)]
    event: Option<AttrList>,
}

#[derive(Debug, Clone, Deserialize)]
struct OpMode {
    #[serde(default)]
    request: Option<AttrList>,
    #[serde(default)]
    reply: Option<AttrList>,
}

#[derive(Debug, Clone, Deserialize)]
struct AttrList {
    #[serde(default)]
    attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct McastGroups {
    list: Vec<Entry>,
}

/// The parsed YAML plus the values the checks derive from it.
#[derive(Debug, Clone)]
struct Spec {
    family: String,
    consts: Vec<Definition>,
    enums: Vec<Definition>,
    attr_set_doc: String,
    attrs: Vec<Attribute>,
    ops: Vec<Operation>,
    mcast_groups: Vec<String>,
}

impl Spec {
    fn parse(yaml: &str) -> Result<Spec, String> {
        let y: YamlSpec = serde_yaml::from_str(yaml).map_err(|e| format!("{YAML_PATH}: {e}"))?;
        let [set] = <[AttributeSet; 1]>::try_from(y.attribute_sets)
            .map_err(|_| format!("{YAML_PATH}: expected exactly one attribute set"))?;
        let (consts, enums) = y.definitions.into_iter().partition(|d| d.kind == "const");
        let spec = Spec {
            family: y.name,
            consts,
            enums,
            attr_set_doc: set.doc.unwrap_or_default(),
            attrs: set.attributes,
            ops: y.operations.list,
            mcast_groups: y
                .mcast_groups
                .map(|g| g.list.into_iter().map(|e| e.name).collect())
                .unwrap_or_default(),
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Rejects a YAML the generators cannot represent faithfully.
    fn validate(&self) -> Result<(), String> {
        for d in &self.enums {
            if d.kind != "enum" && d.kind != "flags" {
                return Err(format!(
                    "definition {}: unsupported type {}",
                    d.name, d.kind
                ));
            }
        }
        for a in &self.attrs {
            if !matches!(
                a.kind.as_str(),
                "string" | "binary" | "u32" | "u64" | "flag" | "pad"
            ) {
                return Err(format!("attribute {}: unsupported type {}", a.name, a.kind));
            }
        }
        for op in &self.ops {
            for list in op_lists(op) {
                for name in &list.1 {
                    if self.attr(name).is_none() {
                        return Err(format!("operation {}: unknown attribute {name}", op.name));
                    }
                }
            }
        }
        Ok(())
    }

    fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Wire values of an enum's or flags' entries.
    fn entry_values(d: &Definition) -> Vec<(String, u64)> {
        let start = u64::from(d.value_start.unwrap_or(0));
        d.entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let v = if d.kind == "flags" {
                    1u64 << (start + i as u64)
                } else {
                    start + i as u64
                };
                (e.name.clone(), v)
            })
            .collect()
    }
}

/// The named attribute lists of an operation: (label, attributes).
fn op_lists(op: &Operation) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    let attrs = |l: &Option<AttrList>| l.as_ref().map(|l| l.attributes.clone());
    if let Some(d) = &op.do_ {
        if let Some(a) = attrs(&d.request) {
            out.push(("do request", a));
        }
        if let Some(a) = attrs(&d.reply) {
            out.push(("do reply", a));
        }
    }
    if let Some(d) = &op.dump {
        if let Some(a) = attrs(&d.request) {
            out.push(("dump request", a));
        }
        if let Some(a) = attrs(&d.reply) {
            out.push(("dump reply", a));
        }
    }
    if let Some(a) = attrs(&op.event) {
        out.push(("event", a));
    }
    out
}

fn upper_snake(name: &str) -> String {
    name.replace('-', "_").to_ascii_uppercase()
}

fn lower_snake(name: &str) -> String {
    name.replace('-', "_").to_ascii_lowercase()
}

fn camel(name: &str) -> String {
    name.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// (2) The Rust constants.

fn check_rust(spec: &Spec, committed: &str) -> Vec<Item> {
    vec![(RUST_PATH.to_string(), rust_problems(spec, committed))]
}

fn rust_problems(spec: &Spec, committed: &str) -> Vec<String> {
    let generated = match format_rust(&generate_rust(spec)) {
        Ok(g) => g,
        Err(e) => return vec![e],
    };
    if generated == committed {
        return Vec::new();
    }
    let first = generated
        .lines()
        .zip(committed.lines())
        .position(|(g, c)| g != c)
        .unwrap_or_else(|| generated.lines().count().min(committed.lines().count()));
    vec![format!(
        "{RUST_PATH} differs from what {YAML_PATH} generates (first at line {}); \
         regenerate it: `cargo test -p xtask -- --ignored regenerate`",
        first + 1
    )]
}

/// Formats generated code with rustfmt, so `cargo fmt` leaves the committed file alone.
fn format_rust(source: &str) -> Result<String, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2021", "--emit", "stdout"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("rustfmt: {e} (install it: rustup component add rustfmt)"))?;
    let mut stdin = child.stdin.take().ok_or("rustfmt: no stdin")?;
    let input = source.to_string();
    // Feed stdin from a thread so a large output cannot dead-lock against the pipe.
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt: {e}"))?;
    feeder
        .join()
        .map_err(|_| "rustfmt: writer panicked".to_string())?
        .map_err(|e| format!("rustfmt: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("rustfmt: {e}"))
}

fn doc_lines(out: &mut String, indent: &str, doc: Option<&str>) {
    let doc = doc.unwrap_or("").trim_end();
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

/// The Rust type of a YAML constant.
fn const_type(name: &str, value: &serde_yaml::Value) -> &'static str {
    match value {
        serde_yaml::Value::String(_) => "&str",
        _ if name == "version" => "u8",
        _ => "usize",
    }
}

fn const_value(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(s) => format!("{s:?}"),
        serde_yaml::Value::Number(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// Writes a value enum with an `Unknown(raw)` variant and its conversions.
fn write_enum(
    out: &mut String,
    doc: Option<&str>,
    name: &str,
    raw: &str,
    entries: &[(String, Option<String>, u64)],
    unknown_doc: &str,
) {
    doc_lines(out, "", doc);
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n");
    out.push_str("#[cfg_attr(feature = \"defmt\", derive(defmt::Format))]\n");
    let _ = writeln!(out, "pub enum {name} {{");
    for (entry, doc, _) in entries {
        doc_lines(out, "    ", doc.as_deref());
        let _ = writeln!(out, "    {},", camel(entry));
    }
    let _ = writeln!(out, "    /// {unknown_doc}");
    let _ = writeln!(out, "    Unknown({raw}),");
    out.push_str("}\n\n");
    let _ = writeln!(out, "impl {name} {{");
    let _ = writeln!(
        out,
        "    /// Every value this version of the protocol knows, in wire order."
    );
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
    out.push_str("            Self::Unknown(other) => other,\n        }\n    }\n}\n\n");
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

fn attr_list_literal(list: &[String]) -> String {
    let items: Vec<String> = list.iter().map(|a| format!("Attr::{}", camel(a))).collect();
    format!("&[{}]", items.join(", "))
}

fn generate_rust(spec: &Spec) -> String {
    let mut out = String::new();
    out.push_str(
        "//! The ipcon protocol of `kmod/ipcon.yaml`, in Rust: constants, enums, attributes,\n\
         //! commands and the attribute lists of every operation.\n\
         //!\n\
         //! Generated from the YAML by xtask (`cargo test -p xtask -- --ignored regenerate`);\n\
         //! the spec check of `cargo xtask test` fails when the two disagree. Do not edit.\n\n",
    );
    out.push_str("/// Name of the generic netlink family.\n");
    let _ = writeln!(out, "pub const FAMILY_NAME: &str = {:?};\n", spec.family);
    for c in &spec.consts {
        let value = c.value.clone().unwrap_or(serde_yaml::Value::Null);
        doc_lines(&mut out, "", c.doc.as_deref());
        let _ = writeln!(
            out,
            "pub const {}: {} = {};\n",
            upper_snake(&c.name),
            const_type(&c.name, &value),
            const_value(&value)
        );
    }
    for d in &spec.enums {
        let values = Spec::entry_values(d);
        if d.kind == "flags" {
            out.push_str("bitflags::bitflags! {\n");
            doc_lines(&mut out, "    ", d.doc.as_deref());
            out.push_str("    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]\n");
            let _ = writeln!(out, "    pub struct {}: u32 {{", camel(&d.name));
            for (e, (_, v)) in d.entries.iter().zip(&values) {
                doc_lines(&mut out, "        ", e.doc.as_deref());
                let _ = writeln!(out, "        const {} = {v};", upper_snake(&e.name));
            }
            out.push_str("    }\n}\n\n");
        } else {
            let entries: Vec<_> = d
                .entries
                .iter()
                .zip(&values)
                .map(|(e, (_, v))| (e.name.clone(), e.doc.clone(), *v))
                .collect();
            write_enum(
                &mut out,
                d.doc.as_deref(),
                &camel(&d.name),
                "u32",
                &entries,
                "A value this version of the protocol does not know.",
            );
        }
    }

    // Attributes.
    out.push_str("/// How an attribute's value is encoded.\n");
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n");
    out.push_str("#[cfg_attr(feature = \"defmt\", derive(defmt::Format))]\n");
    out.push_str(
        "pub enum AttrType {\n    /// A NUL-terminated string.\n    String,\n    /// Raw bytes.\n    Binary,\n    \
         /// A native-endian `u32`.\n    U32,\n    /// A native-endian `u64`.\n    U64,\n    \
         /// Present or absent; no value.\n    Flag,\n    /// Alignment padding; carries nothing.\n    Pad,\n}\n\n",
    );
    let attr_entries: Vec<_> = spec
        .attrs
        .iter()
        .enumerate()
        .map(|(i, a)| (a.name.clone(), a.doc.clone(), i as u64 + 1))
        .collect();
    write_enum(
        &mut out,
        Some(&spec.attr_set_doc),
        "Attr",
        "u16",
        &attr_entries,
        "An attribute number this version of the protocol does not know.",
    );
    out.push_str("impl Attr {\n");
    out.push_str("    /// The highest attribute number.\n");
    let _ = writeln!(out, "    pub const MAX: u16 = {};\n", spec.attrs.len());
    out.push_str("    /// How the value is encoded (`None` for an unknown attribute).\n");
    out.push_str("    pub const fn value_type(self) -> Option<AttrType> {\n        match self {\n");
    for a in &spec.attrs {
        let t = match a.kind.as_str() {
            "string" => "String",
            "binary" => "Binary",
            "u32" => "U32",
            "u64" => "U64",
            "flag" => "Flag",
            _ => "Pad",
        };
        let _ = writeln!(
            out,
            "            Self::{} => Some(AttrType::{t}),",
            camel(&a.name)
        );
    }
    out.push_str("            Self::Unknown(_) => None,\n        }\n    }\n\n");
    out.push_str("    /// Largest value length the kernel accepts (strings: without the NUL).\n");
    out.push_str("    pub const fn max_len(self) -> Option<usize> {\n        match self {\n");
    for a in &spec.attrs {
        if let Some(m) = a.checks.as_ref().and_then(|c| c.max_len) {
            let _ = writeln!(out, "            Self::{} => Some({m}),", camel(&a.name));
        }
    }
    out.push_str("            _ => None,\n        }\n    }\n\n");
    out.push_str("    /// Inclusive range of values the kernel accepts, where it checks one.\n");
    out.push_str("    pub const fn range(self) -> Option<(u64, u64)> {\n        match self {\n");
    for a in &spec.attrs {
        if let Some(c) = &a.checks {
            if c.min.is_some() || c.max.is_some() {
                let max = c.max.map_or("u64::MAX".to_string(), |m| m.to_string());
                let _ = writeln!(
                    out,
                    "            Self::{} => Some(({}, {max})),",
                    camel(&a.name),
                    c.min.unwrap_or(0)
                );
            }
        }
    }
    out.push_str("            _ => None,\n        }\n    }\n}\n\n");

    // Commands.
    let cmd_entries: Vec<_> = spec
        .ops
        .iter()
        .enumerate()
        .map(|(i, o)| (o.name.clone(), o.doc.clone(), i as u64 + 1))
        .collect();
    write_enum(
        &mut out,
        Some("A generic netlink command of the family (the `cmd` of the generic netlink header)."),
        "Command",
        "u8",
        &cmd_entries,
        "A command number this version of the protocol does not know.",
    );
    out.push_str("impl Command {\n");
    out.push_str("    /// The highest command number.\n");
    let _ = writeln!(out, "    pub const MAX: u8 = {};\n", spec.ops.len());
    type ListOf = fn(&Operation) -> Option<Vec<String>>;
    let fns: [(&str, &str, ListOf); 5] = [
        ("request_attrs", "Attributes of the request (do).", |o| {
            o.do_
                .as_ref()
                .and_then(|d| d.request.as_ref())
                .map(|l| l.attributes.clone())
        }),
        ("reply_attrs", "Attributes of the reply (do).", |o| {
            o.do_
                .as_ref()
                .and_then(|d| d.reply.as_ref())
                .map(|l| l.attributes.clone())
        }),
        (
            "dump_request_attrs",
            "Attributes of the dump request.",
            |o| {
                o.dump
                    .as_ref()
                    .and_then(|d| d.request.as_ref())
                    .map(|l| l.attributes.clone())
            },
        ),
        ("dump_reply_attrs", "Attributes of each dump reply.", |o| {
            o.dump
                .as_ref()
                .and_then(|d| d.reply.as_ref())
                .map(|l| l.attributes.clone())
        }),
        (
            "event_attrs",
            "Attributes of a delivery or event the kernel sends with this command.",
            |o| o.event.as_ref().map(|l| l.attributes.clone()),
        ),
    ];
    for (fname, doc, get) in fns {
        let _ = writeln!(out, "    /// {doc}");
        let _ = writeln!(
            out,
            "    pub const fn {fname}(self) -> &'static [Attr] {{\n        match self {{"
        );
        for o in &spec.ops {
            if let Some(list) = get(o) {
                if !list.is_empty() {
                    let _ = writeln!(
                        out,
                        "            Self::{} => {},",
                        camel(&o.name),
                        attr_list_literal(&list)
                    );
                }
            }
        }
        out.push_str("            _ => &[],\n        }\n    }\n\n");
    }
    out.push_str(
        "    /// Whether the command has a do operation (a request user space may send).\n",
    );
    out.push_str("    pub const fn has_do(self) -> bool {\n        matches!(self, ");
    let with_do: Vec<_> = spec
        .ops
        .iter()
        .filter(|o| o.do_.is_some())
        .map(|o| format!("Self::{}", camel(&o.name)))
        .collect();
    out.push_str(&with_do.join(" | "));
    out.push_str(")\n    }\n\n");
    out.push_str("    /// Whether the command has a dump operation.\n");
    out.push_str("    pub const fn has_dump(self) -> bool {\n        matches!(self, ");
    let with_dump: Vec<_> = spec
        .ops
        .iter()
        .filter(|o| o.dump.is_some())
        .map(|o| format!("Self::{}", camel(&o.name)))
        .collect();
    out.push_str(&if with_dump.is_empty() {
        "Self::Unknown(_) if false".to_string()
    } else {
        with_dump.join(" | ")
    });
    out.push_str(")\n    }\n}\n\n");

    out.push_str("/// The generic netlink multicast groups of the family.\n");
    let groups: Vec<String> = spec.mcast_groups.iter().map(|g| format!("{g:?}")).collect();
    let _ = writeln!(
        out,
        "pub const MCAST_GROUPS: [&str; {}] = [{}];",
        groups.len(),
        groups.join(", ")
    );
    out
}

// ---------------------------------------------------------------------------------------
// (1) The C header.

/// The defines and enums of a C header.
#[derive(Debug, Default)]
struct Header {
    /// `#define NAME value` (value as written, trimmed).
    defines: Vec<(String, String)>,
    /// `enum [tag] { ... }`: tag (empty if anonymous) and entries with evaluated values.
    enums: Vec<(String, Vec<(String, i64)>)>,
}

impl Header {
    fn parse(text: &str) -> Result<Header, String> {
        let text = strip_comments(text);
        let mut header = Header::default();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("#define") {
                let mut parts = rest.trim().splitn(2, char::is_whitespace);
                let name = parts.next().unwrap_or("").to_string();
                let value = parts.next().unwrap_or("").trim().to_string();
                if !name.starts_with('_') {
                    header.defines.push((name, value));
                }
            }
        }
        let mut rest = text.as_str();
        while let Some(pos) = find_word(rest, "enum") {
            rest = &rest[pos + 4..];
            let Some(open) = rest.find('{') else { break };
            let tag = rest[..open].trim().to_string();
            if tag.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                // `enum x` used as a type, not a definition.
                continue;
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("enum {tag}: no closing brace"));
            };
            let body = &rest[open + 1..open + close];
            rest = &rest[open + close..];
            let mut entries: Vec<(String, i64)> = Vec::new();
            let mut next = 0i64;
            for item in body.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                let (name, value) = match item.split_once('=') {
                    Some((n, v)) => {
                        let symbols: BTreeMap<String, i64> = entries.iter().cloned().collect();
                        (
                            n.trim().to_string(),
                            eval(v.trim(), &symbols).map_err(|e| format!("{item}: {e}"))?,
                        )
                    }
                    None => (item.to_string(), next),
                };
                next = value + 1;
                entries.push((name, value));
            }
            header.enums.push((tag, entries));
        }
        Ok(header)
    }

    /// Every symbol with an integer value, for evaluating policy expressions.
    fn symbols(&self) -> BTreeMap<String, i64> {
        let mut symbols = BTreeMap::new();
        for (name, value) in &self.defines {
            if let Ok(v) = eval(value, &symbols) {
                symbols.insert(name.clone(), v);
            }
        }
        for (_, entries) in &self.enums {
            for (name, value) in entries {
                symbols.insert(name.clone(), *value);
            }
        }
        symbols
    }
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.map_or(true, |l| b < l) => {
                out.push_str(&rest[..b]);
                match rest[b..].find("*/") {
                    Some(e) => rest = &rest[b + e + 2..],
                    None => return out,
                }
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                match rest[l..].find('\n') {
                    Some(e) => rest = &rest[l + e..],
                    None => return out,
                }
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// Position of `word` as a whole identifier.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(p) = text[from..].find(word) {
        let at = from + p;
        let before = text[..at].chars().next_back().is_some_and(is_ident);
        let after = text[at + word.len()..].chars().next().is_some_and(is_ident);
        if !before && !after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// Evaluates an integer C expression of literals, symbols, `+`, `-` and parentheses.
fn eval(expr: &str, symbols: &BTreeMap<String, i64>) -> Result<i64, String> {
    let tokens = tokenize(expr)?;
    let mut pos = 0;
    let v = eval_sum(&tokens, &mut pos, symbols)?;
    if pos != tokens.len() {
        return Err(format!("unexpected `{}` in `{expr}`", tokens[pos]));
    }
    Ok(v)
}

fn tokenize(expr: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "+-()".contains(c) {
            tokens.push(c.to_string());
            chars.next();
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut t = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    t.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(t);
        } else {
            return Err(format!("unsupported character `{c}` in `{expr}`"));
        }
    }
    Ok(tokens)
}

fn eval_sum(t: &[String], pos: &mut usize, symbols: &BTreeMap<String, i64>) -> Result<i64, String> {
    let mut v = eval_atom(t, pos, symbols)?;
    while let Some(op) = t.get(*pos) {
        let sign = match op.as_str() {
            "+" => 1,
            "-" => -1,
            _ => break,
        };
        *pos += 1;
        v += sign * eval_atom(t, pos, symbols)?;
    }
    Ok(v)
}

fn eval_atom(
    t: &[String],
    pos: &mut usize,
    symbols: &BTreeMap<String, i64>,
) -> Result<i64, String> {
    let tok = t.get(*pos).ok_or("expression ends early")?;
    *pos += 1;
    if tok == "(" {
        let v = eval_sum(t, pos, symbols)?;
        if t.get(*pos).map(String::as_str) != Some(")") {
            return Err("missing `)`".into());
        }
        *pos += 1;
        return Ok(v);
    }
    if tok == "-" {
        return Ok(-eval_atom(t, pos, symbols)?);
    }
    if let Some(hex) = tok.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).map_err(|e| format!("{tok}: {e}"));
    }
    if tok.starts_with(|c: char| c.is_ascii_digit()) {
        return tok
            .trim_end_matches(['u', 'U', 'l', 'L'])
            .parse()
            .map_err(|e| format!("{tok}: {e}"));
    }
    symbols
        .get(tok)
        .copied()
        .ok_or_else(|| format!("unknown symbol `{tok}`"))
}

fn check_header(spec: &Spec, text: &str) -> Vec<Item> {
    let header = match Header::parse(text) {
        Ok(h) => h,
        Err(e) => return vec![(HEADER_PATH.to_string(), vec![e])],
    };
    let mut items: Vec<Item> = Vec::new();

    // Defines: the family name plus every const, nothing else.
    let mut expected: Vec<(String, String)> =
        vec![("IPCON_FAMILY_NAME".into(), format!("{:?}", spec.family))];
    for c in &spec.consts {
        let name = if c.name == "version" {
            "IPCON_FAMILY_VERSION".to_string()
        } else {
            format!("IPCON_{}", upper_snake(&c.name))
        };
        let value = c.value.clone().map(|v| const_value(&v)).unwrap_or_default();
        expected.push((name, value));
    }
    let defines: Vec<(String, String)> = header
        .defines
        .iter()
        .filter(|(n, _)| n.starts_with("IPCON_"))
        .cloned()
        .collect();
    let mut defines_problems = Vec::new();
    if defines != expected {
        defines_problems.push(format!("header has {defines:?}, YAML says {expected:?}"));
    }
    items.push(("defines".to_string(), defines_problems));

    // Enums: one per definition, then the attributes and the commands.
    let mut wanted: Vec<(String, Vec<(String, i64)>)> = Vec::new();
    for d in &spec.enums {
        let prefix = format!("IPCON_{}_", upper_snake(&d.name));
        let entries = Spec::entry_values(d)
            .into_iter()
            .map(|(n, v)| (format!("{prefix}{}", upper_snake(&n)), v as i64))
            .collect();
        wanted.push((format!("ipcon_{}", lower_snake(&d.name)), entries));
    }
    let max_list = |prefix: &str, names: Vec<&str>| {
        let mut entries: Vec<(String, i64)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("{prefix}{}", upper_snake(n)), i as i64 + 1))
            .collect();
        let n = entries.len() as i64;
        entries.push((format!("__{prefix}MAX"), n + 1));
        entries.push((format!("{prefix}MAX"), n));
        (String::new(), entries)
    };
    wanted.push(max_list(
        "IPCON_A_",
        spec.attrs.iter().map(|a| a.name.as_str()).collect(),
    ));
    wanted.push(max_list(
        "IPCON_CMD_",
        spec.ops.iter().map(|o| o.name.as_str()).collect(),
    ));
    let mut count_problems = Vec::new();
    if header.enums.len() != wanted.len() {
        count_problems.push(format!(
            "header has {} enums, YAML implies {}",
            header.enums.len(),
            wanted.len()
        ));
    }
    items.push(("enum count".to_string(), count_problems));
    for (want_tag, want_entries) in &wanted {
        let mut problems = Vec::new();
        let first = want_entries.first().map(|e| e.0.as_str()).unwrap_or("");
        let found = header.enums.iter().find(|(tag, entries)| {
            if want_tag.is_empty() {
                tag.is_empty() && entries.first().map(|e| e.0.as_str()) == Some(first)
            } else {
                tag == want_tag
            }
        });
        match found {
            None => problems.push(format!(
                "enum {} (starting {first}) missing",
                if want_tag.is_empty() {
                    "<anonymous>"
                } else {
                    want_tag
                }
            )),
            Some((_, entries)) if entries != want_entries => {
                for i in 0..entries.len().max(want_entries.len()) {
                    let (h, y) = (entries.get(i), want_entries.get(i));
                    if h != y {
                        problems.push(format!("enum entry #{i}: header {h:?}, YAML {y:?}"));
                        break;
                    }
                }
            }
            Some(_) => {}
        }
        let label = if want_tag.is_empty() {
            format!("enum {}*", first.trim_end_matches(|c: char| c != '_'))
        } else {
            format!("enum {want_tag}")
        };
        items.push((label, problems));
    }
    items
}

// ---------------------------------------------------------------------------------------
// (3) The kernel's attribute policies.

/// One policy entry as the check understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PolicyEntry {
    /// `{ .type = NLA_X }` or `{ .type = NLA_X, .len = N }`.
    Typed { nla_type: String, len: Option<i64> },
    /// `NLA_POLICY_RANGE(NLA_X, min, max)`.
    Range {
        nla_type: String,
        min: i64,
        max: i64,
    },
}

/// Parses `static const struct nla_policy NAME[...] = { [ATTR] = ENTRY, ... };` arrays.
fn parse_policies(
    text: &str,
    symbols: &BTreeMap<String, i64>,
) -> Result<BTreeMap<String, Vec<(String, PolicyEntry)>>, String> {
    let text = strip_comments(text);
    let mut policies = BTreeMap::new();
    let mut current: Option<(String, Vec<(String, PolicyEntry)>)> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = |e: String| format!("{POLICY_PATH}:{}: {e}", n + 1);
        if let Some((name, entries)) = current.as_mut() {
            if line.starts_with("};") {
                let (name, entries) = (std::mem::take(name), std::mem::take(entries));
                if policies.insert(name.clone(), entries).is_some() {
                    return Err(at(format!("policy {name} defined twice")));
                }
                current = None;
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let rest = line
                .strip_prefix('[')
                .ok_or_else(|| at(format!("expected `[ATTR] = ...`, got `{line}`")))?;
            let (attr, rest) = rest
                .split_once(']')
                .ok_or_else(|| at("missing `]`".into()))?;
            let rest = rest
                .trim()
                .strip_prefix('=')
                .ok_or_else(|| at("missing `=`".into()))?
                .trim();
            let rest = rest.strip_suffix(',').unwrap_or(rest).trim();
            let entry = parse_policy_entry(rest, symbols).map_err(at)?;
            if entries.iter().any(|(a, _)| a == attr.trim()) {
                return Err(at(format!("{} listed twice in {name}", attr.trim())));
            }
            entries.push((attr.trim().to_string(), entry));
        } else if line.contains("struct nla_policy") && line.contains('[') && line.ends_with('{') {
            let before = line.split('[').next().unwrap_or("");
            let name = before.split_whitespace().last().unwrap_or("").to_string();
            if !line.contains("IPCON_A_MAX + 1") {
                return Err(at(format!("{name}: expected size [IPCON_A_MAX + 1]")));
            }
            current = Some((name, Vec::new()));
        }
    }
    if let Some((name, _)) = current {
        return Err(format!("{POLICY_PATH}: policy {name} not closed"));
    }
    Ok(policies)
}

fn parse_policy_entry(text: &str, symbols: &BTreeMap<String, i64>) -> Result<PolicyEntry, String> {
    if let Some(args) = text
        .strip_prefix("NLA_POLICY_RANGE(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let parts: Vec<&str> = args.split(',').map(str::trim).collect();
        let [t, min, max] = parts[..] else {
            return Err(format!("NLA_POLICY_RANGE needs 3 arguments: `{text}`"));
        };
        return Ok(PolicyEntry::Range {
            nla_type: t.to_string(),
            min: eval(min, symbols)?,
            max: eval(max, symbols)?,
        });
    }
    let body = text
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or_else(|| format!("unsupported policy entry `{text}`"))?;
    let mut nla_type = None;
    let mut len = None;
    for field in body.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let (key, value) = field
            .split_once('=')
            .ok_or_else(|| format!("bad field `{field}`"))?;
        match key.trim() {
            ".type" => nla_type = Some(value.trim().to_string()),
            ".len" => len = Some(eval(value.trim(), symbols)?),
            other => return Err(format!("unsupported field `{other}`")),
        }
    }
    Ok(PolicyEntry::Typed {
        nla_type: nla_type.ok_or_else(|| format!("no .type in `{text}`"))?,
        len,
    })
}

/// The policy entry the YAML implies for an attribute.
fn expected_entry(a: &Attribute) -> PolicyEntry {
    let checks = a.checks.clone().unwrap_or_default();
    let nla = match a.kind.as_str() {
        "string" => "NLA_NUL_STRING",
        "binary" => "NLA_BINARY",
        "u32" => "NLA_U32",
        "u64" => "NLA_U64",
        "flag" => "NLA_FLAG",
        _ => "NLA_UNSPEC",
    };
    if checks.min.is_some() || checks.max.is_some() {
        return PolicyEntry::Range {
            nla_type: nla.to_string(),
            min: checks.min.unwrap_or(0) as i64,
            max: checks.max.map_or(i64::from(u32::MAX), |m| m as i64),
        };
    }
    PolicyEntry::Typed {
        nla_type: nla.to_string(),
        len: checks.max_len.map(|m| m as i64),
    }
}

fn check_policy(spec: &Spec, header: &str, policy: &str) -> Vec<Item> {
    let symbols = match Header::parse(header) {
        Ok(h) => h.symbols(),
        Err(e) => return vec![(HEADER_PATH.to_string(), vec![e])],
    };
    let policies = match parse_policies(policy, &symbols) {
        Ok(p) => p,
        Err(e) => return vec![(POLICY_PATH.to_string(), vec![e])],
    };
    let mut items: Vec<Item> = Vec::new();
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for op in &spec.ops {
        let base = format!("ipcon_{}", lower_snake(&op.name));
        if let Some(req) = op.do_.as_ref().and_then(|d| d.request.as_ref()) {
            expected.insert(format!("{base}_policy"), req.attributes.clone());
        }
        if let Some(req) = op.dump.as_ref().and_then(|d| d.request.as_ref()) {
            if !req.attributes.is_empty() {
                expected.insert(format!("{base}_dump_policy"), req.attributes.clone());
            }
        }
    }
    for (name, attrs) in &expected {
        let mut problems = Vec::new();
        let Some(entries) = policies.get(name) else {
            // An operation without request attributes needs no policy array.
            if !attrs.is_empty() {
                problems.push(format!("missing (request attributes {attrs:?})"));
            }
            items.push((name.clone(), problems));
            continue;
        };
        let mut want: Vec<(String, PolicyEntry)> = Vec::new();
        for a in attrs {
            let Some(attr) = spec.attr(a) else { continue };
            want.push((format!("IPCON_A_{}", upper_snake(a)), expected_entry(attr)));
        }
        for (attr, entry) in &want {
            match entries.iter().find(|(a, _)| a == attr) {
                None => problems.push(format!("{attr} missing")),
                Some((_, got)) if got != entry => {
                    problems.push(format!("{attr} is {got:?}, YAML implies {entry:?}"))
                }
                Some(_) => {}
            }
        }
        for (attr, _) in entries {
            if !want.iter().any(|(a, _)| a == attr) {
                problems.push(format!(
                    "{attr} is not a request attribute of the operation"
                ));
            }
        }
        items.push((name.clone(), problems));
    }
    let mut extra = Vec::new();
    for name in policies.keys() {
        if !expected.contains_key(name) {
            extra.push(format!("{name}: no such operation request in the YAML"));
        }
    }
    items.push(("no other policy arrays".to_string(), extra));
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_problems(spec: &Spec, text: &str) -> Vec<String> {
        problems(&check_header(spec, text))
    }

    fn policy_problems(spec: &Spec, header: &str, policy: &str) -> Vec<String> {
        problems(&check_policy(spec, header, policy))
    }

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    fn read(rel: &str) -> String {
        std::fs::read_to_string(root().join(rel)).unwrap()
    }

    fn spec() -> Spec {
        Spec::parse(&read(YAML_PATH)).unwrap()
    }

    /// A policy file in the promised form, written from the YAML itself.
    fn policy_from(spec: &Spec) -> String {
        let mut out = String::from("/* generated for the test */\n#include \"uapi/ipcon.h\"\n\n");
        for op in &spec.ops {
            let base = format!("ipcon_{}", lower_snake(&op.name));
            let mut arrays = Vec::new();
            if let Some(r) = op.do_.as_ref().and_then(|d| d.request.as_ref()) {
                if !r.attributes.is_empty() {
                    arrays.push((format!("{base}_policy"), r.attributes.clone()));
                }
            }
            if let Some(r) = op.dump.as_ref().and_then(|d| d.request.as_ref()) {
                if !r.attributes.is_empty() {
                    arrays.push((format!("{base}_dump_policy"), r.attributes.clone()));
                }
            }
            for (name, attrs) in arrays {
                let _ = writeln!(
                    out,
                    "static const struct nla_policy {name}[IPCON_A_MAX + 1] = {{"
                );
                for a in attrs {
                    let attr = spec.attr(&a).unwrap();
                    let entry = match (attr.kind.as_str(), &attr.checks) {
                        ("string", _) => {
                            "{ .type = NLA_NUL_STRING, .len = IPCON_MAX_NAME_LEN - 1 }".to_string()
                        }
                        ("binary", Some(c)) if c.max_len.is_some() => {
                            "{ .type = NLA_BINARY, .len = IPCON_MAX_PAYLOAD_LEN }".to_string()
                        }
                        ("binary", _) => "{ .type = NLA_BINARY }".to_string(),
                        ("u32", Some(c)) if c.min.is_some() => format!(
                            "NLA_POLICY_RANGE(NLA_U32, IPCON_GROUP_ACCESS_OPEN, {})",
                            c.max.unwrap()
                        ),
                        ("u32", _) => "{ .type = NLA_U32 }".to_string(),
                        ("u64", _) => "{ .type = NLA_U64 }".to_string(),
                        _ => "{ .type = NLA_FLAG }".to_string(),
                    };
                    let _ = writeln!(out, "\t[IPCON_A_{}] = {entry},", upper_snake(&a));
                }
                out.push_str("};\n\n");
            }
        }
        out
    }

    /// `cargo test -p xtask -- --ignored regenerate` rewrites spec.rs without the CLI.
    #[test]
    #[ignore]
    fn regenerate() {
        write(&root()).unwrap();
    }

    /// `cargo test -p xtask -- --ignored run_on_repository` runs the whole check.
    #[test]
    #[ignore]
    fn run_on_repository() {
        run(&root()).unwrap();
    }

    #[test]
    fn committed_header_and_rust_match_the_yaml() {
        let spec = spec();
        assert_eq!(
            header_problems(&spec, &read(HEADER_PATH)),
            Vec::<String>::new()
        );
        assert_eq!(
            problems(&check_rust(&spec, &read(RUST_PATH))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_kernel_policy_file_is_checked_item_by_item() {
        let path = root().join(POLICY_PATH);
        let Ok(policy) = std::fs::read_to_string(path) else {
            return; // not written yet: `run` reports that
        };
        let spec = spec();
        let header = read(HEADER_PATH);
        let items = check_policy(&spec, &header, &policy);
        // One item per operation request with a policy array, plus "no other arrays".
        assert!(items.len() >= 12, "{items:?}");
        let mutated = policy.replacen(
            "NLA_POLICY_RANGE(NLA_U32, 1, 3)",
            "NLA_POLICY_RANGE(NLA_U32, 0, 3)",
            1,
        );
        if mutated != policy {
            assert!(!policy_problems(&spec, &header, &mutated).is_empty());
        }
        let mutated = policy.replacen("NLA_NUL_STRING", "NLA_STRING", 1);
        assert_ne!(mutated, policy);
        assert!(!policy_problems(&spec, &header, &mutated).is_empty());
    }

    #[test]
    fn a_policy_in_the_promised_form_passes() {
        let spec = spec();
        let policy = policy_from(&spec);
        assert_eq!(
            problems(&check_policy(&spec, &read(HEADER_PATH), &policy)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn header_value_change_alone_fails() {
        let spec = spec();
        let header =
            read(HEADER_PATH).replace("IPCON_GROUP_ACCESS_OPEN = 1", "IPCON_GROUP_ACCESS_OPEN = 0");
        assert!(!header_problems(&spec, &header).is_empty());
        let header = read(HEADER_PATH).replace(
            "#define IPCON_MAX_NAME_LEN\t32",
            "#define IPCON_MAX_NAME_LEN\t33",
        );
        assert!(!header_problems(&spec, &header).is_empty());
    }

    #[test]
    fn header_order_change_alone_fails() {
        let spec = spec();
        let header = read(HEADER_PATH).replace(
            "\tIPCON_A_PID,\n\tIPCON_A_UID,",
            "\tIPCON_A_UID,\n\tIPCON_A_PID,",
        );
        assert_ne!(header, read(HEADER_PATH));
        assert!(!header_problems(&spec, &header).is_empty());
    }

    #[test]
    fn yaml_change_alone_fails_every_side() {
        let yaml = read(YAML_PATH).replace(
            "name: uid\n        type: u32",
            "name: uid\n        type: u64",
        );
        assert_ne!(yaml, read(YAML_PATH));
        let changed = Spec::parse(&yaml).unwrap();
        assert!(!rust_problems(&changed, &read(RUST_PATH)).is_empty());
        // A new attribute at the end changes the header's attribute enum.
        let yaml = read(YAML_PATH).replace(
            "      -\n        name: pad\n",
            "      -\n        name: extra\n        type: u32\n      -\n        name: pad\n",
        );
        let changed = Spec::parse(&yaml).unwrap();
        assert!(!header_problems(&changed, &read(HEADER_PATH)).is_empty());
        let original = spec();
        let policy = policy_from(&original);
        let yaml = read(YAML_PATH).replace("attributes: [ cookie ]", "attributes: [ cookie, pid ]");
        let changed = Spec::parse(&yaml).unwrap();
        assert!(!policy_problems(&changed, &read(HEADER_PATH), &policy).is_empty());
    }

    #[test]
    fn rust_change_alone_fails() {
        let spec = spec();
        let rust = read(RUST_PATH).replace(
            "pub const MAX_PAYLOAD_LEN: usize = 2048;",
            "pub const MAX_PAYLOAD_LEN: usize = 4096;",
        );
        assert!(!rust_problems(&spec, &rust).is_empty());
    }

    #[test]
    fn policy_changes_alone_fail() {
        let spec = spec();
        let header = read(HEADER_PATH);
        let good = policy_from(&spec);
        let mutations = [
            // a wrong string length
            good.replacen("IPCON_MAX_NAME_LEN - 1", "IPCON_MAX_NAME_LEN", 1),
            // a wrong type
            good.replacen(
                "[IPCON_A_COOKIE] = { .type = NLA_U64 }",
                "[IPCON_A_COOKIE] = { .type = NLA_U32 }",
                1,
            ),
            // a wrong range
            good.replacen(
                "NLA_POLICY_RANGE(NLA_U32, IPCON_GROUP_ACCESS_OPEN, 3)",
                "NLA_POLICY_RANGE(NLA_U32, 0, 3)",
                1,
            ),
            // a missing attribute
            good.replacen("\t[IPCON_A_PAYLOAD] = { .type = NLA_BINARY },\n", "", 1),
            // an extra attribute
            good.replacen(
                "\t[IPCON_A_COOKIE]",
                "\t[IPCON_A_PID] = { .type = NLA_U32 },\n\t[IPCON_A_COOKIE]",
                1,
            ),
            // a missing array
            good.replacen(
                "ipcon_group_get_dump_policy",
                "ipcon_group_get_dumb_policy",
                1,
            ),
        ];
        for (i, m) in mutations.iter().enumerate() {
            assert_ne!(m, &good, "mutation {i} changed nothing");
            assert!(
                !check_policy(&spec, &header, m).is_empty(),
                "mutation {i} passed"
            );
        }
    }

    #[test]
    fn eval_handles_the_policy_expressions() {
        let mut s = BTreeMap::new();
        s.insert("A".to_string(), 32);
        assert_eq!(eval("A - 1", &s), Ok(31));
        assert_eq!(eval("(A + 2) - (1)", &s), Ok(33));
        assert_eq!(eval("0x10", &s), Ok(16));
        assert!(eval("B", &s).is_err());
        assert!(eval("A *", &s).is_err());
    }
}
