//! The programs both recipes install are the workspace's programs: every
//! binary of `ipcon-samples` (its `src/bin/*.rs`, cargo's auto-discovered
//! binaries) is listed in `IPCON_TOOLS` or `IPCON_SAMPLES` of the Yocto
//! recipe and the Buildroot package, and the Yocto samples package lists
//! exactly `IPCON_SAMPLES`. A new program thus cannot be left out of the
//! images silently.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use super::licences::{bitbake_value, make_value};

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
    let yocto_samples = words(bitbake_value(&recipe, "IPCON_SAMPLES"));
    let mut problems = compare(
        recipe_path,
        &built,
        &words(bitbake_value(&recipe, "IPCON_TOOLS")),
        &yocto_samples,
    );
    problems.extend(compare(
        mk_path,
        &built,
        &words(make_value(&mk, "IPCON_TOOLS")),
        &words(make_value(&mk, "IPCON_SAMPLES")),
    ));
    let files = words(bitbake_value(&recipe, "FILES:${PN}-samples"));
    let want: BTreeSet<String> = yocto_samples
        .iter()
        .map(|s| format!("${{bindir}}/{s}"))
        .collect();
    if files != want {
        problems.push(format!(
            "{recipe_path}: FILES:${{PN}}-samples {files:?} is not IPCON_SAMPLES {want:?}"
        ));
    }
    if problems.is_empty() {
        Ok(format!("{} programs packaged", built.len()))
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
}
