//! The programs both recipes install are the workspace's programs: every
//! binary of `ipcon-samples` (its `src/bin/*.rs`, cargo's auto-discovered
//! binaries) is listed in `IPCON_TOOLS` or `IPCON_SAMPLES` of the Yocto
//! recipe and the Buildroot package. A new program thus cannot be left out
//! of the images silently: no build would fail, so only this check (no
//! real tool) catches it. (That the Yocto samples package ships exactly
//! `IPCON_SAMPLES` is asserted on `bitbake -e`.) Likewise every C sample
//! (`samples/c/*.c`) of the pinned release is listed in `IPCON_C_SAMPLES` of
//! the Yocto C samples recipe and `IPCON_C_SAMPLES_PROGRAMS` of the Buildroot
//! package: both build the release, so a sample added since joins the lists
//! when the release moves (the summary names such samples).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// Joins backslash-continued lines, so that a variable's value is one line.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(line);
            lines.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        lines.push(pending);
    }
    lines
}

/// The quoted value of the first plain assignment (`=`, `?=`, `+=` …) to
/// `name` in a bitbake file, continuation lines joined.
pub fn bitbake_value(text: &str, name: &str) -> Option<String> {
    logical_lines(text).into_iter().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?.trim_start();
        let op_end = rest.find('=')?;
        if !rest[..op_end].chars().all(|c| "?:.+".contains(c)) {
            return None;
        }
        let value = rest[op_end + 1..].trim();
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        Some(value.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

/// The whitespace-separated value of `NAME = value` in a Buildroot `.mk`.
pub fn make_value(text: &str, name: &str) -> Option<String> {
    logical_lines(text).into_iter().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?.trim_start();
        let rest = rest
            .strip_prefix("+=")
            .or_else(|| rest.strip_prefix(":="))
            .or_else(|| rest.strip_prefix("?="))
            .or_else(|| rest.strip_prefix('='))?;
        Some(rest.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

fn words(value: Option<String>) -> BTreeSet<String> {
    value
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Names of the auto-discovered binaries under `samples/src/bin`.
pub fn workspace_programs(root: &Path) -> Result<BTreeSet<String>, String> {
    let dir = root.join("samples/src/bin");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut programs = BTreeSet::new();
    for path in entries.flatten().map(|e| e.path()) {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let is_file_bin = path.extension().is_some_and(|e| e == "rs");
        let is_dir_bin = path.is_dir() && path.join("main.rs").exists();
        if is_file_bin || is_dir_bin {
            programs.insert(name.to_owned());
        }
    }
    Ok(programs)
}

/// Names of the C samples: `samples/c/<name>.c`.
pub fn c_samples(root: &Path) -> Result<BTreeSet<String>, String> {
    let dir = root.join("samples/c");
    let entries = fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .filter_map(|p| p.file_stem()?.to_str().map(str::to_owned))
        .collect())
}

/// The recipe include that pins the release (`SRCREV`).
const SOURCE_INC: &str = "meta-ipcon/recipes-ipcon/ipcon/ipcon-source.inc";

/// Names of the C samples at commit `rev` of the checkout; `None` without
/// git history (e.g. an exported tree: the worktree's samples count then).
fn c_samples_at(root: &Path, rev: &str) -> Option<BTreeSet<String>> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-tree", "--name-only", rev, "samples/c/"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|path| path.strip_prefix("samples/c/")?.strip_suffix(".c"))
            .map(str::to_owned)
            .collect(),
    )
}

/// Differences between the C samples and what a recipe's `variable` lists.
pub fn compare_c(
    recipe: &str,
    variable: &str,
    built: &BTreeSet<String>,
    listed: &BTreeSet<String>,
) -> Vec<String> {
    let missing = built
        .difference(listed)
        .map(|m| format!("{recipe}: C sample samples/c/{m}.c is not in {variable}"));
    let stale = listed
        .difference(built)
        .map(|s| format!("{recipe}: {variable} lists {s}, but there is no samples/c/{s}.c"));
    missing.chain(stale).collect()
}

/// The programs of an archive listing: `<bin_dir><name>.rs` and
/// `<bin_dir><name>/main.rs` entries.
pub fn programs_in_listing(listing: &BTreeSet<String>, bin_dir: &str) -> BTreeSet<String> {
    listing
        .iter()
        .filter_map(|path| path.strip_prefix(bin_dir))
        .filter_map(|rest| {
            rest.strip_suffix(".rs")
                .filter(|name| !name.contains('/'))
                .or_else(|| rest.strip_suffix("/main.rs"))
        })
        .map(str::to_owned)
        .collect()
}

/// Differences between what is built and what a recipe lists.
pub fn compare(
    recipe: &str,
    built: &BTreeSet<String>,
    tools: &BTreeSet<String>,
    samples: &BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for both in tools.intersection(samples) {
        problems.push(format!(
            "{recipe}: {both} is in IPCON_TOOLS and IPCON_SAMPLES"
        ));
    }
    let listed: BTreeSet<String> = tools.union(samples).cloned().collect();
    for missing in built.difference(&listed) {
        problems.push(format!(
            "{recipe}: program {missing} is built but in neither IPCON_TOOLS nor IPCON_SAMPLES"
        ));
    }
    for stale in listed.difference(built) {
        problems.push(format!(
            "{recipe}: {stale} is listed but no such program is built"
        ));
    }
    problems
}

pub fn check(root: &Path) -> Result<String, String> {
    let built = workspace_programs(root)?;
    let recipe_path = "meta-ipcon/recipes-ipcon/ipcon/ipcon_git.bb";
    let mk_path = "buildroot/package/ipcon/ipcon.mk";
    let recipe =
        fs::read_to_string(root.join(recipe_path)).map_err(|e| format!("{recipe_path}: {e}"))?;
    let mk = fs::read_to_string(root.join(mk_path)).map_err(|e| format!("{mk_path}: {e}"))?;
    let mut problems = compare(
        recipe_path,
        &built,
        &words(bitbake_value(&recipe, "IPCON_TOOLS")),
        &words(bitbake_value(&recipe, "IPCON_SAMPLES")),
    );
    problems.extend(compare(
        mk_path,
        &built,
        &words(make_value(&mk, "IPCON_TOOLS")),
        &words(make_value(&mk, "IPCON_SAMPLES")),
    ));
    let c_all = c_samples(root)?;
    let release = fs::read_to_string(root.join(SOURCE_INC))
        .ok()
        .and_then(|inc| bitbake_value(&inc, "SRCREV"))
        .ok_or_else(|| format!("{SOURCE_INC}: no SRCREV"))?;
    let c_built = c_samples_at(root, &release).unwrap_or_else(|| c_all.clone());
    let newer: Vec<&String> = c_all.difference(&c_built).collect();
    let c_recipe_path = "meta-ipcon/recipes-ipcon/ipcon-c-samples/ipcon-c-samples_git.bb";
    let c_mk_path = "buildroot/package/ipcon-c-samples/ipcon-c-samples.mk";
    let c_recipe = fs::read_to_string(root.join(c_recipe_path))
        .map_err(|e| format!("{c_recipe_path}: {e}"))?;
    let c_mk = fs::read_to_string(root.join(c_mk_path)).map_err(|e| format!("{c_mk_path}: {e}"))?;
    problems.extend(compare_c(
        c_recipe_path,
        "IPCON_C_SAMPLES",
        &c_built,
        &words(bitbake_value(&c_recipe, "IPCON_C_SAMPLES")),
    ));
    problems.extend(compare_c(
        c_mk_path,
        "IPCON_C_SAMPLES_PROGRAMS",
        &c_built,
        &words(make_value(&c_mk, "IPCON_C_SAMPLES_PROGRAMS")),
    ));
    if problems.is_empty() {
        let mut summary = format!(
            "{} programs, {} C samples of the release packaged",
            built.len(),
            c_built.len()
        );
        if !newer.is_empty() {
            let names: Vec<&str> = newer.iter().map(|n| n.as_str()).collect();
            summary.push_str(&format!(
                "; newer than the release, listed when it moves: {}",
                names.join(", ")
            ));
        }
        Ok(summary)
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn c_samples_of_a_commit_come_from_git() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        // The first commit with C samples has the tutorial's four.
        let first = c_samples_at(&root, "625e7bf");
        if let Some(first) = first {
            for name in ["ipcon_server", "ipcon_sender", "ipcon_user", "ipcon_kevent"] {
                assert!(first.contains(name), "{first:?}");
            }
            assert!(!first.contains("ipcon_calc"), "{first:?}");
        }
        assert_eq!(c_samples_at(&root, "no-such-revision"), None);
    }

    #[test]
    fn values_and_listed_programs_are_read() {
        let text = "LICENSE = \"MIT\"\nIPCON_SAMPLES = \"a \\\n    b\"\n";
        assert_eq!(bitbake_value(text, "IPCON_SAMPLES").as_deref(), Some("a b"));
        assert_eq!(bitbake_value(text, "LICENSE").as_deref(), Some("MIT"));
        let mk = "IPCON_TOOLS = ipcon\nIPCON_SAMPLES = x \\\n\ty\n";
        assert_eq!(make_value(mk, "IPCON_SAMPLES").as_deref(), Some("x y"));
        // A longer name with the same start is another variable.
        let mk = "IPCON_RELEASE_SITE = $(x)\nIPCON_RELEASE = 0123abc\n";
        assert_eq!(make_value(mk, "IPCON_RELEASE").as_deref(), Some("0123abc"));
        assert_eq!(make_value(mk, "IPCON_SITE"), None);
        let bb = "SRCREV:pn-x = \"no\"\nSRCREV_FORMAT = \"a\"\nSRCREV = \"0123\"\n";
        assert_eq!(bitbake_value(bb, "SRCREV").as_deref(), Some("0123"));
        assert_eq!(bitbake_value(bb, "PV"), None);
        let listing: BTreeSet<String> = [
            "t/samples/src/bin/",
            "t/samples/src/bin/ipcon.rs",
            "t/samples/src/bin/tool/main.rs",
            "t/samples/src/bin/tool/util.rs",
            "t/samples/src/lib.rs",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            programs_in_listing(&listing, "t/samples/src/bin/"),
            set(&["ipcon", "tool"])
        );
    }

    #[test]
    fn finds_unlisted_stale_and_doubled_programs() {
        let built = set(&["ipcon", "ipcon-server", "ipcon-bench"]);
        assert!(compare(
            "r",
            &built,
            &set(&["ipcon"]),
            &set(&["ipcon-server", "ipcon-bench"])
        )
        .is_empty());
        let problems = compare(
            "r",
            &built,
            &set(&["ipcon"]),
            &set(&["ipcon-server", "gone"]),
        );
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("ipcon-bench is built"));
        assert!(problems[1].contains("gone is listed"));
        let doubled = compare(
            "r",
            &built,
            &set(&["ipcon", "ipcon-bench"]),
            &set(&["ipcon-bench", "ipcon-server"]),
        );
        assert!(doubled[0].contains("in IPCON_TOOLS and IPCON_SAMPLES"));
    }

    #[test]
    fn finds_unlisted_and_stale_c_samples() {
        let built = set(&["ipcon_server", "ipcon_user"]);
        assert!(compare_c("r", "V", &built, &set(&["ipcon_user", "ipcon_server"])).is_empty());
        let problems = compare_c("r", "V", &built, &set(&["ipcon_user", "old"]));
        assert_eq!(problems.len(), 2);
        assert!(problems[0].contains("samples/c/ipcon_server.c is not in V"));
        assert!(problems[1].contains("V lists old"));
    }
}
