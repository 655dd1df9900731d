//! `cargo xtask codegen [--check]`: every description of the protocol besides
//! `kmod/ipcon.yaml` is generated from it.
//!
//! | File | What |
//! |---|---|
//! | `kmod/uapi/ipcon.h` | the uapi header, laid out as the kernel's YNL lays it out |
//! | `kmod/ipcon-nl-gen.h`, `.c` | policies, operations table, family, handler prototypes |
//! | `ipcon-core/src/spec.rs` | constants, enums, attributes, commands |
//! | `ipcon-core/src/wire/messages.rs` | one struct per message, with parse and emit |
//!
//! Without `--check` the files are written; with it (the `codegen` step of
//! `cargo xtask test`) nothing is written and any file that differs from what the spec
//! generates fails the run, naming the file and the first differing line.
//!
//! Adding an operation or an attribute is: edit the YAML, `cargo xtask codegen`, write
//! the handler the generated header declares (`ipcon_nl_<op>_doit`/`_dumpit`) and use
//! the generated message struct in ipcon-core (see `kmod/README.md`).
mod c_kernel;
mod c_uapi;
pub mod model;
mod rust;

use std::path::Path;

use crate::host_tools;

/// The protocol's single source, relative to the repository root.
pub const SPEC_PATH: &str = "kmod/ipcon.yaml";

/// One generated file: where it goes and what it holds.
#[derive(Debug, Clone)]
pub struct Generated {
    pub path: &'static str,
    pub content: String,
}

/// Collects C source lines; blank lines requested in a row collapse into one.
#[derive(Debug, Default)]
pub struct CWriter {
    out: String,
    blank: bool,
}

impl CWriter {
    pub fn line(&mut self, text: &str) {
        if self.blank && !self.out.is_empty() {
            self.out.push('\n');
        }
        self.blank = false;
        self.out.push_str(text);
        self.out.push('\n');
    }

    pub fn blank(&mut self) {
        self.blank = true;
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// The "generated, do not edit" line of the C files (after the SPDX line).
pub fn banner_c(w: &mut CWriter) {
    w.line(&format!(
        "/* Generated from {SPEC_PATH} by cargo xtask codegen - do not edit. */"
    ));
}

/// Every generated file, from the spec's text.
pub fn generate(spec_text: &str) -> Result<Vec<Generated>, String> {
    let spec = model::Spec::parse(spec_text)?;
    Ok(vec![
        Generated {
            path: "kmod/uapi/ipcon.h",
            content: c_uapi::generate(&spec),
        },
        Generated {
            path: "kmod/ipcon-nl-gen.h",
            content: c_kernel::header(&spec),
        },
        Generated {
            path: "kmod/ipcon-nl-gen.c",
            content: c_kernel::source(&spec),
        },
        Generated {
            path: "ipcon-core/src/spec.rs",
            content: format_rust(&rust::spec_rs(&spec))?,
        },
        Generated {
            path: "ipcon-core/src/wire/messages.rs",
            content: format_rust(&rust::messages_rs(&spec))?,
        },
    ])
}

fn read_spec(root: &Path) -> Result<String, String> {
    std::fs::read_to_string(root.join(SPEC_PATH)).map_err(|e| format!("{SPEC_PATH}: {e}"))
}

/// Where `committed` first differs from `generated`: a line number and both lines.
fn first_difference(generated: &str, committed: &str) -> String {
    let mut g = generated.lines();
    let mut c = committed.lines();
    let mut number = 1;
    loop {
        match (g.next(), c.next()) {
            (Some(a), Some(b)) if a == b => number += 1,
            (a, b) => {
                return format!(
                    "line {number}: generated {:?}, committed {:?}",
                    a.unwrap_or("<end of file>"),
                    b.unwrap_or("<end of file>")
                )
            }
        }
    }
}

/// Compares the committed files under `root` with what its spec generates; `Ok` holds
/// the summary line, `Err` every difference.
pub fn check(root: &Path) -> Result<String, String> {
    let files = generate(&read_spec(root)?)?;
    let mut problems = Vec::new();
    for file in &files {
        match std::fs::read_to_string(root.join(file.path)) {
            Ok(committed) if committed == file.content => {}
            Ok(committed) => problems.push(format!(
                "{} differs from what {SPEC_PATH} generates ({})",
                file.path,
                first_difference(&file.content, &committed)
            )),
            Err(e) => problems.push(format!("{}: {e}", file.path)),
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "codegen: {} generated files match {SPEC_PATH}",
            files.len()
        ))
    } else {
        problems.push("run `cargo xtask codegen` and commit the result".into());
        Err(problems.join("\n"))
    }
}

/// Writes every generated file under `root`; returns the paths that changed.
pub fn write(root: &Path) -> Result<Vec<&'static str>, String> {
    let mut changed = Vec::new();
    for file in generate(&read_spec(root)?)? {
        let path = root.join(file.path);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(file.content.as_str()) {
            continue;
        }
        std::fs::write(&path, &file.content).map_err(|e| format!("{}: {e}", file.path))?;
        changed.push(file.path);
    }
    Ok(changed)
}

/// `cargo xtask codegen [--check]`.
pub fn command(root: &Path, args: &[String]) -> Result<(), String> {
    host_tools::ensure_rust_component("rustfmt")?;
    match args {
        [] => {
            let changed = write(root)?;
            if changed.is_empty() {
                println!("codegen: every generated file is up to date");
            }
            for path in changed {
                println!("codegen: wrote {path}");
            }
            Ok(())
        }
        [flag] if flag == "--check" => {
            let summary = check(root)?;
            println!("{summary}");
            Ok(())
        }
        _ => Err("usage: cargo xtask codegen [--check]".into()),
    }
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
            "rustfmt failed on generated code: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("rustfmt: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn repo_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .to_path_buf()
    }

    /// A scratch copy of the spec and of every generated file.
    fn scratch(name: &str) -> PathBuf {
        let root = repo_root();
        let dir = std::env::temp_dir().join(format!("xtask-codegen-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let files = generate(&read_spec(&root).unwrap()).unwrap();
        for path in files.iter().map(|f| f.path).chain([SPEC_PATH]) {
            let to = dir.join(path);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(root.join(path), &to).unwrap();
        }
        dir
    }

    #[test]
    fn committed_files_match_the_spec() {
        if let Err(problems) = check(&repo_root()) {
            panic!("{problems}");
        }
    }

    /// The data requests reach their handlers unparsed (no maxattr on their
    /// operations, none on the family that older kernels would lend them);
    /// every other operation keeps generic netlink's parse.
    #[test]
    fn the_data_requests_are_parsed_by_their_handlers() {
        let files = generate(&read_spec(&repo_root()).unwrap()).unwrap();
        let text = |path: &str| {
            files
                .iter()
                .find(|f| f.path == path)
                .map(|f| f.content.clone())
                .unwrap()
        };
        let source = text("kmod/ipcon-nl-gen.c");
        let header = text("kmod/ipcon-nl-gen.h");
        let entries: Vec<&str> = source.split("\t{\n").skip(1).collect();
        let mut own = 0;
        for entry in entries.iter().filter(|e| e.contains(".cmd")) {
            let entry = &entry[..entry.find("\t},").unwrap()];
            let data =
                entry.contains("IPCON_CMD_UNICAST,") || entry.contains("IPCON_CMD_MULTICAST,");
            assert_eq!(entry.contains(".maxattr"), !data, "{entry}");
            assert!(entry.contains(".policy"), "{entry}");
            own += usize::from(data);
        }
        // Split and full operations tables.
        assert_eq!(own, 4);
        let family = &source[source.find("struct genl_family ipcon_family").unwrap()..];
        assert!(!family[..family.find("};").unwrap()].contains(".maxattr"));
        for decl in [
            "int ipcon_nl_parse(",
            "extern const struct nla_policy ipcon_unicast_nl_policy[IPCON_A_MAX + 1];",
            "extern const struct nla_policy ipcon_multicast_nl_policy[IPCON_A_MAX + 1];",
        ] {
            assert!(header.contains(decl), "{decl}");
        }
        assert!(source.contains("\nconst struct nla_policy ipcon_unicast_nl_policy["));
        assert!(source.contains("\nstatic const struct nla_policy ipcon_peer_register_nl_policy["));
    }

    #[test]
    fn a_drifted_file_fails_the_check() {
        let dir = scratch("drift");
        assert!(check(&dir).is_ok());
        let file = dir.join("kmod/ipcon-nl-gen.c");
        let text = std::fs::read_to_string(&file).unwrap();
        let drifted = text.replacen(
            "NLA_POLICY_RANGE(NLA_U32, 1, 3)",
            "NLA_POLICY_RANGE(NLA_U32, 1, 4)",
            1,
        );
        assert_ne!(drifted, text);
        std::fs::write(&file, drifted).unwrap();
        let err = check(&dir).unwrap_err();
        assert!(err.contains("kmod/ipcon-nl-gen.c differs"), "{err}");
        assert!(err.contains("cargo xtask codegen"), "{err}");
        assert!(!err.contains("uapi/ipcon.h"), "{err}");
        // `cargo xtask codegen` repairs it.
        assert_eq!(write(&dir).unwrap(), ["kmod/ipcon-nl-gen.c"]);
        assert!(check(&dir).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_spec_change_without_regeneration_fails_the_check() {
        let dir = scratch("spec");
        let spec = dir.join(SPEC_PATH);
        let text = std::fs::read_to_string(&spec).unwrap();
        let changed = text.replacen(
            "        name: error\n",
            "        name: error\n        type: u32\n      -\n        name: an-extra\n",
            1,
        );
        assert_ne!(changed, text);
        std::fs::write(&spec, changed).unwrap();
        let err = check(&dir).unwrap_err();
        for path in ["kmod/uapi/ipcon.h", "ipcon-core/src/spec.rs"] {
            assert!(err.contains(&format!("{path} differs")), "{err}");
        }
        std::fs::remove_file(dir.join("ipcon-core/src/wire/messages.rs")).unwrap();
        let err = check(&dir).unwrap_err();
        assert!(err.contains("ipcon-core/src/wire/messages.rs:"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_nested_set_is_generated_in_every_file() {
        let spec = model::Spec::parse(&model::tests::nested()).unwrap();
        let uapi = c_uapi::generate(&spec);
        let sets = "enum {\n\tFAM_A_A = 1,\n\tFAM_A_B,\n\tFAM_A_ITEMS,\n\n\t__FAM_A_MAX,\n\
                    \tFAM_A_MAX = (__FAM_A_MAX - 1)\n};\n\nenum {\n\tFAM_A_ITEM_DATA = 1,\n\
                    \tFAM_A_ITEM_LABEL,\n\n\t__FAM_A_ITEM_MAX,\n\
                    \tFAM_A_ITEM_MAX = (__FAM_A_ITEM_MAX - 1)\n};\n\nenum {\n\tFAM_CMD_GET = 1,";
        assert!(uapi.contains(sets), "{uapi}");

        let header = c_kernel::header(&spec);
        let declared = "extern const struct nla_policy fam_item_nl_policy[FAM_A_ITEM_MAX + 1];";
        assert!(header.contains(declared), "{header}");
        let source = c_kernel::source(&spec);
        let nested = "const struct nla_policy fam_item_nl_policy[FAM_A_ITEM_MAX + 1] = {\n\
                      \t[FAM_A_ITEM_DATA] = { .type = NLA_BINARY, },\n\
                      \t[FAM_A_ITEM_LABEL] = \
                      NLA_POLICY_VALIDATE_FN(NLA_NUL_STRING, fam_nl_validate_min_len_2, 9),\n\
                      };\n";
        let entry = "\t[FAM_A_ITEMS] = NLA_POLICY_NESTED_ARRAY(fam_item_nl_policy),\n";
        let (Some(defined), Some(used)) = (source.find(nested), source.find(entry)) else {
            panic!("{source}")
        };
        assert!(
            defined < used,
            "the policy is defined after its use: {source}"
        );
        assert!(
            source.contains("static int fam_nl_validate_min_len_2("),
            "{source}"
        );
        assert!(source.contains("\tcase FAM_A_ITEMS:\n"), "{source}");

        let spec_rs = rust::spec_rs(&spec);
        for expected in [
            "pub enum ItemAttr {",
            "impl ItemAttr {\n    /// The highest attribute number.\n    pub const MAX: u16 = 2;",
            "Self::Items => Some(AttrType::IndexedArray),",
            "Self::Label => Some(2),",
        ] {
            assert!(spec_rs.contains(expected), "{expected:?} in {spec_rs}");
        }
        let messages = rust::messages_rs(&spec);
        for expected in [
            "pub struct GetRequest<'a> {",
            "pub items: Option<&'a [u8]>,",
            "Attr::Items => m.items = Some(attr.value()),",
            "w.put_nested(Attr::Items.to_raw(), v)?;",
        ] {
            assert!(messages.contains(expected), "{expected:?} in {messages}");
        }
    }

    #[test]
    fn differences_name_the_first_line() {
        assert_eq!(
            first_difference("a\nb\nc\n", "a\nx\nc\n"),
            "line 2: generated \"b\", committed \"x\""
        );
        assert_eq!(
            first_difference("a\n", "a\nb\n"),
            "line 2: generated \"<end of file>\", committed \"b\""
        );
    }

    #[test]
    fn defines_align_like_the_kernel_headers() {
        let mut w = CWriter::default();
        c_uapi::defines(
            &mut w,
            &[
                ("IPCON_VERSION".into(), "2".into()),
                ("IPCON_MAX_PAYLOAD_LEN".into(), "2048".into()),
            ],
        );
        assert_eq!(
            w.finish(),
            "#define IPCON_VERSION\t\t2\n#define IPCON_MAX_PAYLOAD_LEN\t2048\n"
        );
    }

    #[test]
    fn doc_comments_wrap_before_80_columns() {
        let mut w = CWriter::default();
        let text = "word ".repeat(30);
        c_uapi::doc_lines(&mut w, &text, true);
        let out = w.finish();
        assert!(out.lines().all(|l| l.len() < 80), "{out}");
        assert!(
            out.lines().skip(1).all(|l| l.starts_with(" *   word")),
            "{out}"
        );
    }
}
