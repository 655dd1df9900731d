//! `kmod/uapi/ipcon.h`: the family's user API, laid out as the kernel's YNL lays out a
//! uapi header (so the two can be compared line for line, banner aside): the family's
//! name and version, the constants, each enum with its kernel-doc, the attribute enums
//! (the family's set, then each nested set), the command enum, the multicast group
//! names.
use super::model::{upper, Definition, Spec};
use super::{banner_c, CWriter};

/// The header guard, as YNL names it.
fn guard(spec: &Spec) -> String {
    format!("_UAPI_LINUX_{}_H", upper(&spec.name))
}

/// `#define NAME<tabs>value` lines, the values aligned on a common tab stop.
pub fn defines(w: &mut CWriter, defines: &[(String, String)]) {
    let longest = defines
        .iter()
        .map(|(name, _)| name.len())
        .max()
        .unwrap_or(0);
    let column = (longest + 8) / 8 * 8;
    for (name, value) in defines {
        let tabs = (column - name.len()).div_ceil(8);
        w.line(&format!("#define {name}{}{value}", "\t".repeat(tabs)));
    }
}

/// Wraps `text` into comment lines (` * ...`) shorter than 80 columns; continuation
/// lines are indented by two spaces when `indent`.
pub fn doc_lines(w: &mut CWriter, text: &str, indent: bool) {
    let mut line = String::from(" *");
    for word in text.split_whitespace() {
        if line.len() + word.len() >= 79 {
            w.line(&line);
            line = String::from(if indent { " *  " } else { " *" });
        }
        line.push(' ');
        line.push_str(word);
    }
    w.line(&line);
}

/// An anonymous enum of numbered names (the value spelled out only where it is not the
/// previous one + 1), closed by `__<MAX>` and `<MAX>`.
fn numbered_enum(w: &mut CWriter, items: &[(String, u32)], max: &str) {
    w.line("enum {");
    let mut next = 0;
    for (name, value) in items {
        if *value == next {
            w.line(&format!("\t{name},"));
        } else {
            w.line(&format!("\t{name} = {value},"));
        }
        next = value + 1;
    }
    if !items.is_empty() {
        w.blank();
    }
    w.line(&format!("\t__{max},"));
    w.line(&format!("\t{max} = (__{max} - 1)"));
    w.line("};");
    w.blank();
}

fn c_string(value: &str) -> String {
    format!("\"{value}\"")
}

pub fn generate(spec: &Spec) -> String {
    let prefix = upper(&spec.name);
    let mut w = CWriter::default();
    w.line(&format!("/* SPDX-License-Identifier: {} */", spec.license));
    banner_c(&mut w);
    w.blank();
    w.line(&format!("#ifndef {}", guard(spec)));
    w.line(&format!("#define {}", guard(spec)));
    w.blank();
    defines(
        &mut w,
        &[
            (format!("{prefix}_FAMILY_NAME"), c_string(&spec.name)),
            (format!("{prefix}_FAMILY_VERSION"), spec.version.to_string()),
        ],
    );
    w.blank();

    let mut pending: Vec<(String, String)> = Vec::new();
    for definition in &spec.definition_order {
        match *definition {
            Definition::Const(i) => {
                let c = &spec.consts[i];
                let value = match &c.value {
                    super::model::ConstValue::Int(v) => v.to_string(),
                    super::model::ConstValue::Str(s) => c_string(s),
                };
                pending.push((format!("{prefix}_{}", upper(&c.name)), value));
            }
            Definition::Enum(i) => {
                defines(&mut w, &pending);
                pending.clear();
                w.blank();
                let e = &spec.enums[i];
                let c_name = format!("{}_{}", spec.name, e.name).replace('-', "_");
                let entry_docs = e.entries.iter().any(|x| !x.doc.is_empty());
                if entry_docs {
                    w.line("/**");
                    let doc = if e.doc.is_empty() {
                        String::new()
                    } else {
                        format!(" - {}", e.doc)
                    };
                    doc_lines(&mut w, &format!("enum {c_name}{doc}"), true);
                    for entry in e.entries.iter().filter(|x| !x.doc.is_empty()) {
                        let name = format!("{prefix}_{}_{}", upper(&e.name), upper(&entry.name));
                        doc_lines(&mut w, &format!("@{name}: {}", entry.doc), true);
                    }
                    w.line(" */");
                } else if !e.doc.is_empty() {
                    w.line("/*");
                    doc_lines(&mut w, &e.doc, false);
                    w.line(" */");
                }
                w.line(&format!("enum {c_name} {{"));
                for entry in &e.entries {
                    let name = format!("{prefix}_{}_{}", upper(&e.name), upper(&entry.name));
                    if entry.explicit {
                        w.line(&format!("\t{name} = {},", e.value(entry)));
                    } else {
                        w.line(&format!("\t{name},"));
                    }
                }
                w.line("};");
                w.blank();
            }
        }
    }
    if !pending.is_empty() {
        defines(&mut w, &pending);
        w.blank();
    }

    let attrs: Vec<(String, u32)> = spec
        .attrs
        .iter()
        .map(|a| (format!("{prefix}_A_{}", upper(&a.name)), u32::from(a.value)))
        .collect();
    numbered_enum(&mut w, &attrs, &format!("{prefix}_A_MAX"));
    // A nested set's names carry the set's name too (YNL's default name-prefix).
    for set in &spec.nested_sets {
        let set_prefix = format!("{prefix}_A_{}", upper(&set.name));
        let attrs: Vec<(String, u32)> = set
            .attrs
            .iter()
            .map(|a| {
                (
                    format!("{set_prefix}_{}", upper(&a.name)),
                    u32::from(a.value),
                )
            })
            .collect();
        numbered_enum(&mut w, &attrs, &format!("{set_prefix}_MAX"));
    }
    let ops: Vec<(String, u32)> = spec
        .ops
        .iter()
        .map(|o| {
            (
                format!("{prefix}_CMD_{}", upper(&o.name)),
                u32::from(o.value),
            )
        })
        .collect();
    numbered_enum(&mut w, &ops, &format!("{prefix}_CMD_MAX"));

    let groups: Vec<(String, String)> = spec
        .mcast_groups
        .iter()
        .map(|g| (format!("{prefix}_MCGRP_{}", upper(g)), c_string(g)))
        .collect();
    if !groups.is_empty() {
        defines(&mut w, &groups);
        w.blank();
    }
    w.line(&format!("#endif /* {} */", guard(spec)));
    w.finish()
}
