//! `ipcon policy load FILE`: the ownership policy file (format:
//! [`ipcon_linux::policy`], `docs/security.md`) turned into
//! the rules the kernel takes, user and group names looked up in `/etc/passwd` and
//! `/etc/group`.

use std::path::Path;

use ipcon_linux::policy::{rules, Id};
use ipcon_linux::PolicyRule;

use crate::CliError;

/// The id of `name` in a colon-separated database (`/etc/passwd`, `/etc/group`:
/// name in the first field, id in the third).
fn lookup(database: &str, name: &str) -> Option<u32> {
    database.lines().find_map(|line| {
        let mut fields = line.split(':');
        let found = fields.next()? == name;
        let id = fields.nth(1)?.parse().ok()?;
        found.then_some(id)
    })
}

/// The rules of policy `text` (from `path`, for messages), names resolved
/// with `passwd` and `group` (the databases' text).
pub fn resolve(
    path: &str,
    text: &str,
    passwd: &str,
    group: &str,
) -> Result<Vec<PolicyRule>, CliError> {
    let id = |line: usize, what: &str, database: &str, id: Option<Id<'_>>| match id {
        None => Ok(None),
        Some(Id::Number(n)) => Ok(Some(n)),
        Some(Id::Name(name)) => lookup(database, name)
            .map(Some)
            .ok_or_else(|| CliError::Input(format!("{path}: line {line}: no {what} {name:?}"))),
    };
    rules(text)
        .map(|rule| {
            let rule = rule.map_err(|e| CliError::Input(format!("{path}: {e}")))?;
            Ok(PolicyRule {
                pattern: rule.pattern,
                uid: id(rule.line, "user", passwd, rule.user)?,
                gid: id(rule.line, "group", group, rule.group)?,
            })
        })
        .collect()
}

/// Reads and resolves the policy file at `path`.
pub fn read(path: &str) -> Result<Vec<PolicyRule>, CliError> {
    let read = |p: &str| {
        std::fs::read_to_string(Path::new(p)).map_err(|e| CliError::Input(format!("{p}: {e}")))
    };
    let text = read(path)?;
    // Numbers need no database: a system without one can still use them.
    let passwd = read("/etc/passwd").unwrap_or_default();
    let group = read("/etc/group").unwrap_or_default();
    resolve(path, &text, &passwd, &group)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nsvc:x:998:998::/:/sbin/nologin\n";
    const GROUP: &str = "root:x:0:\nnetdev:x:108:alice,bob\n";

    #[test]
    fn names_are_looked_up_numbers_kept() {
        let text = "name svc user svc\nname net.* group netdev\nname x user 5 group 0\n\
                    name t* anyone\n";
        let got = resolve("p", text, PASSWD, GROUP).unwrap();
        let ids: Vec<_> = got
            .iter()
            .map(|r| (r.pattern.as_str(), r.uid, r.gid))
            .collect();
        assert_eq!(
            ids,
            [
                ("svc", Some(998), None),
                ("net.*", None, Some(108)),
                ("x", Some(5), Some(0)),
                ("t*", None, None),
            ]
        );
    }

    #[test]
    fn unknown_names_and_bad_lines_name_the_line() {
        let err = resolve("p", "name a anyone\nname b user nobody\n", PASSWD, GROUP)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "p: line 2: no user \"nobody\"");
        let err = resolve("p", "\nname\n", PASSWD, GROUP)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "p: line 2: no pattern");
    }
}
