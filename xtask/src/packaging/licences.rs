//! Licence bookkeeping that Yocto and Buildroot verify only at build time,
//! checked here against the files: every `LIC_FILES_CHKSUM` md5 (whole file
//! or a `beginline`/`endline` slice, as bitbake hashes it: the lines with
//! their newlines) and every `sha256` line of the Buildroot `.hash` files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Hex digest of `bytes` by a coreutils tool (`md5sum`, `sha256sum`): both
/// are on every machine that runs these checks, and no hashing crate is
/// worth a dependency for a few files.
pub fn digest(tool: &str, bytes: &[u8]) -> Result<String, String> {
    let mut child = Command::new(tool)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("running {tool}: {e}"))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(bytes)
        .map_err(|e| format!("writing to {tool}: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{tool}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match text.split_whitespace().next() {
        Some(hex) if out.status.success() => Ok(hex.to_owned()),
        _ => Err(format!("{tool} failed")),
    }
}

/// One `file://` entry of `LIC_FILES_CHKSUM`.
#[derive(Debug, PartialEq, Eq)]
pub struct LicFile {
    pub path: String,
    pub md5: Option<String>,
    pub beginline: Option<usize>,
    pub endline: Option<usize>,
}

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

/// The quoted value of the first plain assignment (`=`, `?=`, `??=`, `.=`
/// …) to `name` in a bitbake file, continuation lines joined.
pub fn bitbake_value(text: &str, name: &str) -> Option<String> {
    logical_lines(text).into_iter().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?;
        let rest = rest.trim_start();
        let op_end = rest.find('=')?;
        if !rest[..op_end].chars().all(|c| "?:.+".contains(c)) {
            return None;
        }
        let value = rest[op_end + 1..].trim();
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        Some(value.split_whitespace().collect::<Vec<_>>().join(" "))
    })
}

/// Parses the `file://` entries of a `LIC_FILES_CHKSUM` value.
pub fn parse_lic_files(value: &str) -> Result<Vec<LicFile>, String> {
    value
        .split_whitespace()
        .map(|uri| {
            let rest = uri
                .strip_prefix("file://")
                .ok_or_else(|| format!("not a file:// entry: {uri}"))?;
            let mut parts = rest.split(';');
            let mut entry = LicFile {
                path: parts.next().unwrap_or_default().to_owned(),
                md5: None,
                beginline: None,
                endline: None,
            };
            for part in parts {
                let (key, val) = part
                    .split_once('=')
                    .ok_or_else(|| format!("bad parameter {part} in {uri}"))?;
                let line = || {
                    val.parse::<usize>()
                        .map_err(|_| format!("bad {key} in {uri}"))
                };
                match key {
                    "md5" => entry.md5 = Some(val.to_owned()),
                    "beginline" => entry.beginline = Some(line()?),
                    "endline" => entry.endline = Some(line()?),
                    _ => return Err(format!("unknown parameter {key} in {uri}")),
                }
            }
            Ok(entry)
        })
        .collect()
}

/// The bytes bitbake hashes for an entry: the whole file, or lines
/// `beginline..=endline` (1-based, newlines included).
pub fn licence_bytes(content: &[u8], entry: &LicFile) -> Vec<u8> {
    if entry.beginline.is_none() && entry.endline.is_none() {
        return content.to_vec();
    }
    let begin = entry.beginline.unwrap_or(1);
    let end = entry.endline.unwrap_or(usize::MAX);
    content
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
        .filter(|(i, _)| (begin..=end).contains(&(i + 1)))
        .flat_map(|(_, line)| line.iter().copied())
        .collect()
}

/// The source directory a recipe's `file://` licence paths are relative
/// to: the repository root, or a subdirectory appended to the default S
/// (`S .= "/kmod"`).
fn recipe_source_dir(root: &Path, recipe_text: &str) -> PathBuf {
    let sub = logical_lines(recipe_text).into_iter().find_map(|line| {
        let value = line.trim().strip_prefix("S .=")?.trim();
        Some(value.trim_matches('"').trim_start_matches('/').to_owned())
    });
    match sub {
        Some(sub) => root.join(sub),
        None => root.to_path_buf(),
    }
}

fn files_with_extension(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files_with_extension(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            out.push(path);
        }
    }
}

/// Every recipe of the layer, sorted.
pub fn recipes(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    files_with_extension(&root.join("meta-ipcon"), &["bb", "bbappend"], &mut out);
    out
}

/// Checks each recipe's `LIC_FILES_CHKSUM` against the source tree.
pub fn check_lic_files_chksum(root: &Path) -> Result<String, String> {
    let mut checked = 0;
    let mut problems = Vec::new();
    for recipe in recipes(root) {
        let name = recipe
            .strip_prefix(root)
            .unwrap_or(&recipe)
            .display()
            .to_string();
        let text = fs::read_to_string(&recipe).map_err(|e| format!("{name}: {e}"))?;
        let Some(value) = bitbake_value(&text, "LIC_FILES_CHKSUM") else {
            // Recipes that fetch nothing (packagegroups) need no licence files.
            if text.contains("SRC_URI") || text.contains("require ") {
                problems.push(format!(
                    "{name}: fetches sources but has no LIC_FILES_CHKSUM"
                ));
            }
            continue;
        };
        let source_dir = recipe_source_dir(root, &text);
        for entry in parse_lic_files(&value).map_err(|e| format!("{name}: {e}"))? {
            checked += 1;
            let Some(want) = entry.md5.as_deref() else {
                problems.push(format!("{name}: {} has no md5", entry.path));
                continue;
            };
            let path = source_dir.join(&entry.path);
            let content = match fs::read(&path) {
                Ok(content) => content,
                Err(e) => {
                    problems.push(format!("{name}: {}: {e}", path.display()));
                    continue;
                }
            };
            let have = digest("md5sum", &licence_bytes(&content, &entry))?;
            if have != want {
                problems.push(format!(
                    "{name}: {} md5 is {have}, recipe says {want}",
                    entry.path
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(format!("{checked} licence files"))
    } else {
        Err(problems.join("\n"))
    }
}

/// `(algorithm, hex, file)` lines of a Buildroot `.hash` file.
pub fn parse_hash_file(text: &str) -> Result<Vec<(String, String, String)>, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<_> = line.split_whitespace().collect();
            match fields.as_slice() {
                [algo, hex, file] => Ok((algo.to_string(), hex.to_string(), file.to_string())),
                _ => Err(format!("malformed line: {line}")),
            }
        })
        .collect()
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

/// Checks every Buildroot package's `.hash` lines against the files (the
/// package sources are this repository, so paths are relative to its root)
/// and that every `<PKG>_LICENSE_FILES` entry has a hash.
pub fn check_hash_files(root: &Path) -> Result<String, String> {
    let mut checked = 0;
    let mut problems = Vec::new();
    let packages_dir = root.join("buildroot/package");
    let mut packages: Vec<_> = fs::read_dir(&packages_dir)
        .map_err(|e| format!("{}: {e}", packages_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    packages.sort();
    for dir in packages {
        let package = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let hash_path = dir.join(format!("{package}.hash"));
        let mk = fs::read_to_string(dir.join(format!("{package}.mk")))
            .map_err(|e| format!("{package}.mk: {e}"))?;
        let hashes = match fs::read_to_string(&hash_path) {
            Ok(text) => parse_hash_file(&text).map_err(|e| format!("{package}.hash: {e}"))?,
            Err(e) => {
                problems.push(format!("{package}.hash: {e}"));
                continue;
            }
        };
        for (algo, want, file) in &hashes {
            checked += 1;
            if algo != "sha256" {
                problems.push(format!("{package}.hash: {file}: use sha256, not {algo}"));
                continue;
            }
            match fs::read(root.join(file)) {
                Ok(content) => {
                    let have = digest("sha256sum", &content)?;
                    if &have != want {
                        problems.push(format!("{package}.hash: {file} is {have}, not {want}"));
                    }
                }
                Err(e) => problems.push(format!("{package}.hash: {file}: {e}")),
            }
        }
        let var = format!("{}_LICENSE_FILES", package.to_uppercase().replace('-', "_"));
        for file in make_value(&mk, &var).unwrap_or_default().split_whitespace() {
            if !hashes.iter().any(|(_, _, f)| f == file) {
                problems.push(format!("{package}.hash: no hash for licence file {file}"));
            }
        }
    }
    if problems.is_empty() {
        Ok(format!("{checked} hashes"))
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_continued_bitbake_values() {
        let text = "LICENSE = \"MIT\"\nLIC_FILES_CHKSUM = \"file://A;md5=1 \\\n    file://b/c.h;beginline=2;endline=3;md5=2\"\n";
        let value = bitbake_value(text, "LIC_FILES_CHKSUM").unwrap();
        let entries = parse_lic_files(&value).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].path, "A");
        assert_eq!(entries[1].beginline, Some(2));
        assert_eq!(entries[1].endline, Some(3));
        assert_eq!(entries[1].md5.as_deref(), Some("2"));
        // LICENSE must not match LICENSE:${PN} or LIC_FILES_CHKSUM.
        assert_eq!(bitbake_value(text, "LICENSE").as_deref(), Some("MIT"));
    }

    #[test]
    fn slices_lines_with_their_newlines() {
        let entry = LicFile {
            path: String::new(),
            md5: None,
            beginline: Some(2),
            endline: Some(2),
        };
        assert_eq!(licence_bytes(b"a\nb\nc\n", &entry), b"b\n");
        let whole = LicFile {
            path: String::new(),
            md5: None,
            beginline: None,
            endline: None,
        };
        assert_eq!(licence_bytes(b"a\nb", &whole), b"a\nb");
    }

    #[test]
    fn digests_match_known_values() {
        assert_eq!(
            digest("md5sum", b"").unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            digest("sha256sum", b"abc").unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parses_hash_files_and_make_values() {
        let hashes = parse_hash_file("# comment\nsha256  abc  LICENSE-MIT\n\n").unwrap();
        assert_eq!(
            hashes,
            vec![("sha256".into(), "abc".into(), "LICENSE-MIT".into())]
        );
        assert!(parse_hash_file("sha256 abc\n").is_err());
        let mk = "IPCON_LICENSE_FILES = LICENSE-MIT \\\n\tLICENSE-APACHE\nIPCON_LICENSE = MIT\n";
        assert_eq!(
            make_value(mk, "IPCON_LICENSE_FILES").as_deref(),
            Some("LICENSE-MIT LICENSE-APACHE")
        );
    }

    /// A scratch repository with one recipe and one Buildroot package.
    fn scratch_repo(name: &str, recipe: &str, hash: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("ipcon-packaging-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(root.join("meta-ipcon/recipes-x/x")).unwrap();
        fs::create_dir_all(root.join("buildroot/package/x")).unwrap();
        fs::create_dir_all(root.join("kmod")).unwrap();
        fs::write(root.join("LICENSE-MIT"), "MIT text\n").unwrap();
        fs::write(
            root.join("kmod/main.c"),
            "// SPDX-License-Identifier: GPL-2.0\nint x;\n",
        )
        .unwrap();
        fs::write(root.join("meta-ipcon/recipes-x/x/x_git.bb"), recipe).unwrap();
        fs::write(
            root.join("buildroot/package/x/x.mk"),
            "X_LICENSE_FILES = LICENSE-MIT\n",
        )
        .unwrap();
        fs::write(root.join("buildroot/package/x/x.hash"), hash).unwrap();
        root
    }

    #[test]
    fn checksums_pass_when_right_and_fail_when_wrong() {
        let mit_md5 = digest("md5sum", b"MIT text\n").unwrap();
        let spdx_md5 = digest("md5sum", b"// SPDX-License-Identifier: GPL-2.0\n").unwrap();
        let mit_sha = digest("sha256sum", b"MIT text\n").unwrap();
        let recipe = format!(
            "SRC_URI = \"git://x\"\nS .= \"/kmod\"\nLIC_FILES_CHKSUM = \"file://main.c;beginline=1;endline=1;md5={spdx_md5} \\\n    file://../LICENSE-MIT;md5={mit_md5}\"\n"
        );
        let good = scratch_repo(
            "good",
            &recipe,
            &format!("sha256  {mit_sha}  LICENSE-MIT\n"),
        );
        assert_eq!(check_lic_files_chksum(&good).unwrap(), "2 licence files");
        assert_eq!(check_hash_files(&good).unwrap(), "1 hashes");

        let wrong_md5 = recipe.replace(&mit_md5, "0123456789abcdef0123456789abcdef");
        let bad = scratch_repo("bad", &wrong_md5, "sha256  00  LICENSE-MIT\n");
        assert!(check_lic_files_chksum(&bad)
            .unwrap_err()
            .contains("LICENSE-MIT md5"));
        assert!(check_hash_files(&bad)
            .unwrap_err()
            .contains("LICENSE-MIT is"));

        let unhashed = scratch_repo("unhashed", &recipe, "# nothing\n");
        let error = check_hash_files(&unhashed).unwrap_err();
        assert!(error.contains("no hash for licence file LICENSE-MIT"));
        let no_lic = scratch_repo("nolic", "SRC_URI = \"git://x\"\n", "");
        assert!(check_lic_files_chksum(&no_lic)
            .unwrap_err()
            .contains("no LIC_FILES_CHKSUM"));
        for root in [good, bad, unhashed, no_lic] {
            fs::remove_dir_all(root).unwrap();
        }
    }

    #[test]
    fn source_dir_follows_an_appended_s() {
        let root = Path::new("/r");
        assert_eq!(
            recipe_source_dir(root, "S .= \"/kmod\"\n"),
            Path::new("/r/kmod")
        );
        assert_eq!(recipe_source_dir(root, "inherit cargo\n"), Path::new("/r"));
    }
}
