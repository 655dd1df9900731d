//! `kmod/ipcon-nl-gen.h` and `kmod/ipcon-nl-gen.c`: the kernel side of the spec in the
//! style of the kernel's YNL-generated families (`<family>_nl_<op>_doit`/`_dumpit`
//! handlers, `<family>_<op>_nl_policy` policies, `<family>_nl_ops`,
//! `<FAMILY>_NLGRP_*`), made to build on every kernel the module supports:
//!
//! - split do/dump operations (`genl_split_ops`, Linux 6.2+) where Kbuild found them
//!   (`IPCON_HAVE_SPLIT_OPS`), else one full `genl_ops` per command;
//! - every policy spans the whole attribute space, so a handler may test any
//!   `info->attrs[]` entry; strict validation refuses what a request does not list;
//! - a dump accepts exactly its do's attributes (checked by the model): on kernels
//!   without split operations both share one policy;
//! - the kernel's missing-attribute report where it exists (6.1+), and a text naming
//!   the attribute on every kernel;
//! - a nested set that requests carry gets a policy of its own,
//!   `<family>_<set>_nl_policy` (as YNL names it), declared in the header for the
//!   handlers' `nla_parse_nested()`; an `indexed-array` of its nests is
//!   `NLA_POLICY_NESTED_ARRAY()` of it, which validates every entry (strict validation
//!   wants `NLA_F_NESTED` on the array).
use super::model::{lower, upper, Attr, AttrKind, AttrSet, OpFlag, Spec};
use super::{banner_c, CWriter};

pub const HEADER_NAME: &str = "ipcon-nl-gen.h";

/// `int name(args);` or `static int name(args)`, wrapped at the parenthesis so no line
/// passes 80 columns (tabs count 8).
fn prototype(w: &mut CWriter, head: &str, args: &[&str], end: &str) {
    let one = format!("{head}({}){end}", args.join(", "));
    if one.len() <= 80 {
        w.line(&one);
        return;
    }
    let column = head.len() + 1;
    let indent = format!("{}{}", "\t".repeat(column / 8), " ".repeat(column % 8));
    let mut line = format!("{head}(");
    for (i, arg) in args.iter().enumerate() {
        let piece = if i + 1 == args.len() {
            format!("{arg}){end}")
        } else {
            format!("{arg},")
        };
        if i > 0 {
            w.line(&line);
            line = indent.clone();
        }
        line.push_str(&piece);
    }
    w.line(&line);
}

const DOIT_ARGS: [&str; 2] = ["struct sk_buff *skb", "struct genl_info *info"];
const DUMPIT_ARGS: [&str; 2] = ["struct sk_buff *skb", "struct netlink_callback *cb"];
const PARSE_ARGS: [&str; 3] = [
    "struct genl_info *info",
    "const struct nla_policy *policy",
    "struct nlattr **tb",
];

/// The data requests (a message to a peer, a message to a group), whose
/// handlers parse their attributes themselves: their operations carry the
/// policy but no `maxattr`, so generic netlink parses nothing. For a
/// `parallel_ops` family it would `kmalloc()` a table spanning the whole
/// attribute space for every request, which `init_on_alloc` kernels (Debian's,
/// among others) also zero, and free it after the handler; the handler runs the
/// same strict validation against the same policy into a table on its stack.
/// Only introspection differs: the policy dump shows these operations' policy
/// with no attributes.
const PARSED_BY_HANDLER: &[&str] = &["unicast", "multicast"];

fn parsed_by_handler(op: &str) -> bool {
    PARSED_BY_HANDLER.contains(&op)
}

fn prefix(spec: &Spec) -> String {
    upper(&spec.name)
}

fn attr_enum(spec: &Spec, a: &Attr) -> String {
    format!("{}_A_{}", prefix(spec), upper(&a.name))
}

/// The uapi name of an attribute of a nested set.
fn nested_attr_enum(spec: &Spec, set: &AttrSet, a: &Attr) -> String {
    format!("{}_A_{}_{}", prefix(spec), upper(&set.name), upper(&a.name))
}

/// The uapi name of a nested set's highest attribute.
fn nested_max(spec: &Spec, set: &AttrSet) -> String {
    format!("{}_A_{}_MAX", prefix(spec), upper(&set.name))
}

/// The policy of a nested set's attributes.
fn nested_policy_name(spec: &Spec, set: &str) -> String {
    format!("{}_{}_nl_policy", lower(&spec.name), lower(set))
}

/// `const struct nla_policy <name>[<MAX> + 1]` of a nested set.
fn nested_policy_decl(spec: &Spec, set: &AttrSet) -> String {
    format!(
        "const struct nla_policy {}[{} + 1]",
        nested_policy_name(spec, &set.name),
        nested_max(spec, set)
    )
}

/// Writes `\t[<name>] = <entry>,`, the entry on a line of its own where the line would
/// pass 100 columns.
fn policy_line(w: &mut CWriter, name: &str, entry: &str) {
    let line = format!("\t[{name}] = {entry},");
    if line.len() + 7 <= 100 {
        w.line(&line);
    } else {
        w.line(&format!("\t[{name}] ="));
        w.line(&format!("\t\t{entry},"));
    }
}

/// The validation function of strings with a minimum length `min`.
fn min_len_validator(spec: &Spec, min: u64) -> String {
    format!("{}_nl_validate_min_len_{min}", lower(&spec.name))
}

/// The policy entry of an attribute.
fn policy_entry(spec: &Spec, a: &Attr) -> String {
    let c = &a.checks;
    match a.kind {
        AttrKind::String => {
            let len = c.max_len.map(|m| format!(", {m}")).unwrap_or_default();
            match c.min_len.filter(|&m| m > 0) {
                Some(min) => format!(
                    "NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, {}{len})",
                    min_len_validator(spec, min)
                ),
                None => match c.max_len {
                    Some(m) => format!("{{ .type = NLA_NUL_STRING, .len = {m}, }}"),
                    None => "{ .type = NLA_NUL_STRING, }".into(),
                },
            }
        }
        AttrKind::Binary => match c.max_len {
            Some(m) => format!("{{ .type = NLA_BINARY, .len = {m}, }}"),
            None => "{ .type = NLA_BINARY, }".into(),
        },
        AttrKind::U32 | AttrKind::U64 => {
            let ty = if a.kind == AttrKind::U32 {
                "NLA_U32"
            } else {
                "NLA_U64"
            };
            match (a.mask, c.min, c.max) {
                (Some(mask), _, _) => format!("NLA_POLICY_MASK({ty}, 0x{mask:x})"),
                (None, Some(min), Some(max)) => format!("NLA_POLICY_RANGE({ty}, {min}, {max})"),
                (None, Some(min), None) => format!("NLA_POLICY_MIN({ty}, {min})"),
                (None, None, Some(max)) => format!("NLA_POLICY_MAX({ty}, {max})"),
                (None, None, None) => format!("{{ .type = {ty}, }}"),
            }
        }
        AttrKind::Flag => "{ .type = NLA_FLAG, }".into(),
        AttrKind::NestArray => format!(
            "NLA_POLICY_NESTED_ARRAY({})",
            nested_policy_name(
                spec,
                a.nested
                    .as_deref()
                    .expect("checked by the model: a nest names its set")
            )
        ),
        AttrKind::Pad => unreachable!("requests never list pad (checked by the model)"),
    }
}

fn policy_name(spec: &Spec, op: &str) -> String {
    format!("{}_{}_nl_policy", lower(&spec.name), lower(op))
}

fn doit(spec: &Spec, op: &str) -> String {
    format!("{}_nl_{}_doit", lower(&spec.name), lower(op))
}

fn dumpit(spec: &Spec, op: &str) -> String {
    format!("{}_nl_{}_dumpit", lower(&spec.name), lower(op))
}

fn admin_flags(flags: &[OpFlag]) -> Vec<&'static str> {
    flags
        .iter()
        .map(|f| match f {
            OpFlag::AdminPerm => "GENL_ADMIN_PERM",
            OpFlag::UnsAdminPerm => "GENL_UNS_ADMIN_PERM",
        })
        .collect()
}

/// The tab stop designated initializers of members named `names` align their values on.
fn column(names: &[&str]) -> usize {
    let longest = names.iter().map(|n| n.len() + 1).max().unwrap_or(0);
    (longest + 8) / 8 * 8
}

/// Writes designated initializers, the values aligned on the tab stop of the struct's
/// longest member (`column`; `None`: of these members).
fn members(w: &mut CWriter, indent: &str, fields: &[(&str, String)], column_at: Option<usize>) {
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    let column = column_at.unwrap_or_else(|| column(&names));
    for (name, value) in fields {
        let tabs = (column - (name.len() + 1)).div_ceil(8);
        w.line(&format!("{indent}.{name}{}= {value},", "\t".repeat(tabs)));
    }
}

pub fn header(spec: &Spec) -> String {
    let fam = lower(&spec.name);
    let pfx = prefix(spec);
    let guard = format!("_{pfx}_NL_GEN_H");
    let mut w = CWriter::default();
    w.line(&format!("/* SPDX-License-Identifier: {} */", spec.license));
    banner_c(&mut w);
    w.blank();
    w.line(&format!("#ifndef {guard}"));
    w.line(&format!("#define {guard}"));
    w.blank();
    w.line("#include <net/genetlink.h>");
    w.line("#include <net/netlink.h>");
    w.blank();
    w.line(&format!("#include \"uapi/{fam}.h\""));
    w.blank();
    w.line(&format!(
        "/* The family: operations, policies, multicast groups ({fam}-nl-gen.c). */"
    ));
    w.line(&format!("extern struct genl_family {fam}_family;"));
    w.blank();
    let nested = spec.request_nested_sets();
    if !nested.is_empty() {
        w.line("/* The policies of nested sets, for nla_parse_nested() of their nests. */");
        for set in &nested {
            w.line(&format!("extern {};", nested_policy_decl(spec, set)));
        }
        w.blank();
    }
    let own: Vec<&str> = spec
        .ops
        .iter()
        .filter(|o| o.is_request() && parsed_by_handler(&o.name))
        .map(|o| o.name.as_str())
        .collect();
    if !own.is_empty() {
        w.line("/*");
        w.line(" * The policies of the requests whose handlers parse their attributes");
        w.line(" * (generic netlink does not: their operations have no maxattr).");
        w.line(" */");
        for op in own {
            w.line(&format!(
                "extern const struct nla_policy {}[{pfx}_A_MAX + 1];",
                policy_name(spec, op)
            ));
        }
        w.blank();
    }
    w.line("/* The handlers, one per do and dump of the spec. */");
    for op in &spec.ops {
        if op.do_.is_some() {
            prototype(
                &mut w,
                &format!("int {}", doit(spec, &op.name)),
                &DOIT_ARGS,
                ";",
            );
        }
        if op.dump.is_some() {
            prototype(
                &mut w,
                &format!("int {}", dumpit(spec, &op.name)),
                &DUMPIT_ARGS,
                ";",
            );
        }
    }
    w.blank();
    if !spec.mcast_groups.is_empty() {
        w.line("/* Multicast groups, by index in the family. */");
        w.line("enum {");
        for g in &spec.mcast_groups {
            w.line(&format!("\t{pfx}_NLGRP_{},", upper(g)));
        }
        w.line("};");
        w.blank();
    }
    prototype(
        &mut w,
        &format!("bool {fam}_nl_attr_missing"),
        &["struct genl_info *info", "unsigned int type"],
        ";",
    );
    if spec.ops.iter().any(|o| parsed_by_handler(&o.name)) {
        prototype(&mut w, &format!("int {fam}_nl_parse"), &PARSE_ARGS, ";");
    }
    w.blank();
    w.line("/*");
    w.line(" * The attributes of a dump request, validated against the dump's policy:");
    w.line(" * where the core keeps them moved with split operations (6.2).");
    w.line(" */");
    prototype(
        &mut w,
        &format!("static inline struct nlattr **{fam}_nl_dump_attrs"),
        &["struct netlink_callback *cb"],
        "",
    );
    w.line("{");
    w.line(&format!("#ifdef {pfx}_HAVE_SPLIT_OPS"));
    w.line("\treturn genl_dumpit_info(cb)->info.attrs;");
    w.line("#else");
    w.line("\treturn genl_dumpit_info(cb)->attrs;");
    w.line("#endif");
    w.line("}");
    w.blank();
    w.line(&format!("#endif /* {guard} */"));
    w.finish()
}

pub fn source(spec: &Spec) -> String {
    let fam = lower(&spec.name);
    let pfx = prefix(spec);
    let mut w = CWriter::default();
    w.line(&format!("// SPDX-License-Identifier: {}", spec.license));
    banner_c(&mut w);
    w.blank();
    w.line("#include <linux/module.h>");
    w.line("#include <linux/string.h>");
    w.line("#include <net/genetlink.h>");
    w.line("#include <net/netlink.h>");
    w.blank();
    w.line(&format!("#include \"{HEADER_NAME}\""));
    w.blank();

    // Validators for strings with a minimum length.
    let request_attrs = spec.request_attrs();
    let nested = spec.request_nested_sets();
    let mut minimums: Vec<u64> = request_attrs
        .iter()
        .copied()
        .chain(nested.iter().flat_map(|set| &set.attrs))
        .filter(|a| a.kind == AttrKind::String)
        .filter_map(|a| a.checks.min_len)
        .filter(|&m| m > 0)
        .collect();
    minimums.sort_unstable();
    minimums.dedup();
    if !minimums.is_empty() {
        w.line("/*");
        w.line(" * The string policy bounds a length only from above: a string attribute");
        w.line(" * with a minimum length gets a validation function too.  It runs after");
        w.line(" * the NUL-string checks, so the value holds a NUL.");
        w.line(" */");
    }
    for min in &minimums {
        prototype(
            &mut w,
            &format!("static int {}", min_len_validator(spec, *min)),
            &[
                "const struct nlattr *attr",
                "struct netlink_ext_ack *extack",
            ],
            "",
        );
        w.line("{");
        w.line(&format!(
            "\tif (strnlen(nla_data(attr), nla_len(attr)) >= {min})"
        ));
        w.line("\t\treturn 0;");
        w.line("\tNL_SET_ERR_MSG_ATTR(extack, attr,");
        w.line(&format!(
            "\t\t\t    \"string shorter than its minimum length {min}\");"
        ));
        w.line("\treturn -EINVAL;");
        w.line("}");
        w.blank();
    }

    // Policies of nested sets, before the request policies that refer to them.
    if !nested.is_empty() {
        w.line("/*");
        w.line(" * The policies of nested sets, spanning each set's attribute space: every");
        w.line(" * nest of an indexed array is validated against its set's policy.");
        w.line(" */");
    }
    for set in &nested {
        w.line(&format!("/* {} */", set.name));
        w.line(&format!("{} = {{", nested_policy_decl(spec, set)));
        // A pad is never listed, as in requests: strict validation refuses it.
        for a in set.attrs.iter().filter(|a| a.kind != AttrKind::Pad) {
            policy_line(
                &mut w,
                &nested_attr_enum(spec, set, a),
                &policy_entry(spec, a),
            );
        }
        w.line("};");
        w.blank();
    }

    // Policies.
    w.line("/*");
    w.line(" * One policy per request, spanning the whole attribute space so that a");
    w.line(" * handler may test any info->attrs[] entry: strict validation refuses every");
    w.line(" * attribute the request does not list.  A dump takes its do's attributes.");
    w.line(" */");
    for op in spec.ops.iter().filter(|o| o.is_request()) {
        let modes = match (op.do_.is_some(), op.dump.is_some()) {
            (true, true) => "do, dump",
            (true, false) => "do",
            _ => "dump",
        };
        let own = parsed_by_handler(&op.name);
        w.line(&format!(
            "/* {pfx}_CMD_{} - {modes}{} */",
            upper(&op.name),
            if own { ", parsed by the handler" } else { "" }
        ));
        w.line(&format!(
            "{}const struct nla_policy {}[{pfx}_A_MAX + 1] = {{",
            if own { "" } else { "static " },
            policy_name(spec, &op.name)
        ));
        for name in op.request().unwrap_or_default() {
            let a = spec.attr(name);
            policy_line(&mut w, &attr_enum(spec, a), &policy_entry(spec, a));
        }
        w.line("};");
        w.blank();
    }

    // Operations.
    let maxattr = format!("{pfx}_A_MAX");
    // One column for every operation, with or without maxattr.
    let op_column = column(&["cmd", "doit", "dumpit", "policy", "maxattr", "flags"]);
    w.line("/*");
    w.line(" * Split do/dump operations exist since 6.2 (Kbuild defines");
    w.line(&format!(
        " * {pfx}_HAVE_SPLIT_OPS); older kernels take one genl_ops per command."
    ));
    w.line(" */");
    w.line(&format!("#ifdef {pfx}_HAVE_SPLIT_OPS"));
    w.line(&format!(
        "static const struct genl_split_ops {fam}_nl_ops[] = {{"
    ));
    for op in spec.ops.iter().filter(|o| o.is_request()) {
        let policy = policy_name(spec, &op.name);
        let mut entries = Vec::new();
        if op.do_.is_some() {
            entries.push(("doit", doit(spec, &op.name), "GENL_CMD_CAP_DO"));
        }
        if op.dump.is_some() {
            entries.push(("dumpit", dumpit(spec, &op.name), "GENL_CMD_CAP_DUMP"));
        }
        for (kind, handler, cap) in entries {
            let mut flags = admin_flags(&op.flags);
            flags.push(cap);
            let mut fields = vec![
                ("cmd", format!("{pfx}_CMD_{}", upper(&op.name))),
                (kind, handler),
                ("policy", policy.clone()),
            ];
            if !parsed_by_handler(&op.name) {
                fields.push(("maxattr", maxattr.clone()));
            }
            fields.push(("flags", flags.join(" | ")));
            w.line("\t{");
            members(&mut w, "\t\t", &fields, Some(op_column));
            w.line("\t},");
        }
    }
    w.line("};");
    w.line("#else");
    w.line(&format!("static const struct genl_ops {fam}_nl_ops[] = {{"));
    for op in spec.ops.iter().filter(|o| o.is_request()) {
        let mut fields = vec![("cmd", format!("{pfx}_CMD_{}", upper(&op.name)))];
        if op.do_.is_some() {
            fields.push(("doit", doit(spec, &op.name)));
        }
        if op.dump.is_some() {
            fields.push(("dumpit", dumpit(spec, &op.name)));
        }
        fields.push(("policy", policy_name(spec, &op.name)));
        if !parsed_by_handler(&op.name) {
            fields.push(("maxattr", maxattr.clone()));
        }
        let flags = admin_flags(&op.flags);
        if !flags.is_empty() {
            fields.push(("flags", flags.join(" | ")));
        }
        w.line("\t{");
        members(&mut w, "\t\t", &fields, Some(op_column));
        w.line("\t},");
    }
    w.line("};");
    w.line("#endif");
    w.blank();

    if !spec.mcast_groups.is_empty() {
        w.line(&format!(
            "static const struct genl_multicast_group {fam}_nl_mcgrps[] = {{"
        ));
        for g in &spec.mcast_groups {
            w.line(&format!(
                "\t[{pfx}_NLGRP_{}] = {{ .name = {pfx}_MCGRP_{}, }},",
                upper(g),
                upper(g)
            ));
        }
        w.line("};");
        w.blank();
    }

    let first_op = spec
        .ops
        .iter()
        .find(|o| o.is_request())
        .map(|o| format!("{pfx}_CMD_{}", upper(&o.name)))
        .unwrap_or_default();
    w.line("/* Not const: genl_register_family() fills in the id. */");
    w.line(&format!(
        "struct genl_family {fam}_family __ro_after_init = {{"
    ));
    let family_column = column(&[
        "name",
        "version",
        "maxattr",
        "netnsok",
        "parallel_ops",
        "module",
        "split_ops",
        "n_split_ops",
        "ops",
        "n_ops",
        "resv_start_op",
        "mcgrps",
        "n_mcgrps",
    ]);
    members(
        &mut w,
        "\t",
        &[
            ("name", format!("{pfx}_FAMILY_NAME")),
            ("version", format!("{pfx}_FAMILY_VERSION")),
        ],
        Some(family_column),
    );
    if spec.ops.iter().any(|o| parsed_by_handler(&o.name)) {
        // Before 6.2 an operation without maxattr takes the family's, and
        // generic netlink would parse the data requests after all.
        w.line("\t/* No maxattr: every operation has its own, or none (see the policies). */");
    } else {
        members(
            &mut w,
            "\t",
            &[("maxattr", maxattr.clone())],
            Some(family_column),
        );
    }
    members(
        &mut w,
        "\t",
        &[
            ("netnsok", "true".into()),
            ("parallel_ops", "true".into()),
            ("module", "THIS_MODULE".into()),
        ],
        Some(family_column),
    );
    w.line(&format!("#ifdef {pfx}_HAVE_SPLIT_OPS"));
    members(
        &mut w,
        "\t",
        &[
            ("split_ops", format!("{fam}_nl_ops")),
            ("n_split_ops", format!("ARRAY_SIZE({fam}_nl_ops)")),
        ],
        Some(family_column),
    );
    w.line("#else");
    members(
        &mut w,
        "\t",
        &[
            ("ops", format!("{fam}_nl_ops")),
            ("n_ops", format!("ARRAY_SIZE({fam}_nl_ops)")),
        ],
        Some(family_column),
    );
    w.line("#endif");
    w.line(&format!("#ifdef {pfx}_HAVE_RESV_START_OP"));
    w.line("\t/* Reserved header bytes must be 0 and policies apply to every command. */");
    members(
        &mut w,
        "\t",
        &[("resv_start_op", first_op)],
        Some(family_column),
    );
    w.line("#endif");
    if !spec.mcast_groups.is_empty() {
        members(
            &mut w,
            "\t",
            &[
                ("mcgrps", format!("{fam}_nl_mcgrps")),
                ("n_mcgrps", format!("ARRAY_SIZE({fam}_nl_mcgrps)")),
            ],
            Some(family_column),
        );
    }
    w.line("};");
    w.blank();

    // Missing attributes.
    w.line("/*");
    w.line(" * Reports the required attribute @type of a request as missing: with the");
    w.line(" * kernel's missing-attribute extended ACK where it has one (6.0+: user space");
    w.line(" * learns the attribute's number) and with a text naming it on every kernel.");
    w.line(" * Returns true when the attribute is absent.");
    w.line(" */");
    prototype(
        &mut w,
        &format!("bool {fam}_nl_attr_missing"),
        &["struct genl_info *info", "unsigned int type"],
        "",
    );
    w.line("{");
    w.line("\tif (info->attrs[type])");
    w.line("\t\treturn false;");
    w.line("#ifdef NL_SET_ERR_ATTR_MISS");
    w.line("\tNL_SET_ERR_ATTR_MISS(info->extack, NULL, type);");
    w.line("#endif");
    w.line("\tswitch (type) {");
    // A flag is never required: its absence is its value.
    for a in request_attrs.iter().filter(|a| a.kind != AttrKind::Flag) {
        w.line(&format!("\tcase {}:", attr_enum(spec, a)));
        w.line(&format!(
            "\t\tNL_SET_ERR_MSG(info->extack, \"missing attribute {}\");",
            a.name
        ));
        w.line("\t\tbreak;");
    }
    w.line("\tdefault:");
    w.line("\t\tNL_SET_ERR_MSG(info->extack, \"missing attribute\");");
    w.line("\t\tbreak;");
    w.line("\t}");
    w.line("\treturn true;");
    w.line("}");
    if spec.ops.iter().any(|o| parsed_by_handler(&o.name)) {
        w.blank();
        w.line("/*");
        w.line(" * Parses the attributes of a request whose operation has no maxattr (see");
        w.line(" * its policy) as generic netlink parses the others: strictly, against");
        w.line(&format!(
            " * @policy, into @tb ({pfx}_A_MAX + 1 entries, on the handler's stack);"
        ));
        w.line(" * info->attrs then points to @tb.");
        w.line(" */");
        prototype(&mut w, &format!("int {fam}_nl_parse"), &PARSE_ARGS, "");
        w.line("{");
        w.line(&format!(
            "\tint err = nla_parse(tb, {pfx}_A_MAX, genlmsg_data(info->genlhdr),"
        ));
        w.line("\t\t\t    genlmsg_len(info->genlhdr), policy, info->extack);");
        w.blank();
        w.line("\tif (!err)");
        w.line("\t\tinfo->attrs = tb;");
        w.line("\treturn err;");
        w.line("}");
    }
    w.finish()
}
