//! The ownership policy file (`/etc/ipcon/policy.conf`, loaded by `ipcon policy load`):
//! which peer names only some users may register in a network namespace.
//!
//! ```text
//! # Comments run from '#' to the end of the line; blank lines are ignored.
//! name svc            user root          # only root registers "svc" (and so its groups)
//! name net.*          group netdev       # the members of group netdev
//! name log?           user 0 group adm   # uid 0 or the members of adm
//! name test.*         anyone             # an exception to the rule below
//! name *              user root          # every other name: root only
//! ```
//!
//! One rule per line: `name PATTERN` and then `anyone`, or `user USER`, `group GROUP` or
//! both. In a pattern, `*` matches any run of characters (also none) and `?` one
//! character; otherwise patterns follow the rules of names (1..=31 printable ASCII bytes
//! without `/`). USER and GROUP are numbers as the namespace's user namespace maps them,
//! or names the loader looks up (in `/etc/passwd` and `/etc/group`). The first rule a
//! name matches decides; names no rule matches are free to anyone, and so is every name
//! when there is no policy. At most [`MAX_POLICY_RULES`] rules.
//!
//! This module only reads the text ([`rules`]); it allocates nothing.

use crate::name::Name;
use crate::spec::MAX_POLICY_RULES;

/// A user or group as the file names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id<'a> {
    /// A number.
    Number(u32),
    /// A name, to be looked up.
    Name(&'a str),
}

/// One rule of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule<'a> {
    /// The line it was on, from 1.
    pub line: usize,
    /// The names it applies to.
    pub pattern: Name,
    /// The user the names are reserved for.
    pub user: Option<Id<'a>>,
    /// The group whose members the names are reserved for.
    pub group: Option<Id<'a>>,
}

/// What is wrong with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyErrorKind {
    /// The line does not start with `name`.
    NotARule,
    /// `name` without a pattern.
    MissingPattern,
    /// The pattern is not 1..=31 printable ASCII bytes without `/`.
    BadPattern,
    /// A rule that says neither `anyone` nor `user`/`group`.
    MissingOwner,
    /// `user` or `group` without its value.
    MissingId,
    /// `user` or `group` given twice, or with `anyone`.
    Conflicting,
    /// A word that is none of `anyone`, `user`, `group`.
    UnknownWord,
    /// More than [`MAX_POLICY_RULES`] rules.
    TooManyRules,
}

/// A line of the file that is not a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyError {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub kind: PolicyErrorKind,
}

impl core::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self.kind {
            PolicyErrorKind::NotARule => "not `name ...`",
            PolicyErrorKind::MissingPattern => "no pattern",
            PolicyErrorKind::BadPattern => "bad pattern",
            PolicyErrorKind::MissingOwner => "no owner (anyone, user, group)",
            PolicyErrorKind::MissingId => "no user or group value",
            PolicyErrorKind::Conflicting => "conflicting owners",
            PolicyErrorKind::UnknownWord => "unknown word",
            PolicyErrorKind::TooManyRules => "over 256 rules",
        };
        write!(f, "line {}: {what}", self.line)
    }
}

fn id(word: &str) -> Id<'_> {
    match word.parse() {
        Ok(n) => Id::Number(n),
        Err(_) => Id::Name(word),
    }
}

/// Reads one line (number `line`); `Ok(None)` for a blank or comment line.
fn parse_line(line: usize, text: &str) -> Result<Option<Rule<'_>>, PolicyError> {
    let fail = |kind| PolicyError { line, kind };
    let text = text.split('#').next().unwrap_or("");
    let mut words = text.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(None);
    };
    if first != "name" {
        return Err(fail(PolicyErrorKind::NotARule));
    }
    let pattern = words.next().ok_or(fail(PolicyErrorKind::MissingPattern))?;
    let pattern = Name::new(pattern).map_err(|_| fail(PolicyErrorKind::BadPattern))?;
    let (mut user, mut group, mut anyone) = (None, None, false);
    while let Some(word) = words.next() {
        let slot = match word {
            "anyone" if !anyone && user.is_none() && group.is_none() => {
                anyone = true;
                continue;
            }
            "user" if !anyone && user.is_none() => &mut user,
            "group" if !anyone && group.is_none() => &mut group,
            "anyone" | "user" | "group" => return Err(fail(PolicyErrorKind::Conflicting)),
            _ => return Err(fail(PolicyErrorKind::UnknownWord)),
        };
        *slot = Some(id(words.next().ok_or(fail(PolicyErrorKind::MissingId))?));
    }
    if !anyone && user.is_none() && group.is_none() {
        return Err(fail(PolicyErrorKind::MissingOwner));
    }
    Ok(Some(Rule {
        line,
        pattern,
        user,
        group,
    }))
}

/// The rules of a policy file, in order, each checked; an error names its line. More
/// than [`MAX_POLICY_RULES`] rules is an error on the first one too many.
pub fn rules(text: &str) -> impl Iterator<Item = Result<Rule<'_>, PolicyError>> {
    let mut count = 0;
    text.lines().enumerate().filter_map(move |(i, line)| {
        let rule = parse_line(i + 1, line).transpose()?;
        count += 1;
        if rule.is_ok() && count > MAX_POLICY_RULES {
            return Some(Err(PolicyError {
                line: i + 1,
                kind: PolicyErrorKind::TooManyRules,
            }));
        }
        Some(rule)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Rule<'_>, PolicyError> {
        let mut all = rules(text);
        let rule = all.next().expect("a rule");
        assert!(all.next().is_none());
        rule
    }

    #[test]
    fn rules_of_the_documented_example() {
        let text = "# comment\n\nname svc user root # trailing\n  name net.*\tgroup netdev\n\
                    name log? user 0 group adm\nname test.* anyone\nname * user root\n";
        let got: heapless::Vec<Rule<'_>, 8> = rules(text).map(Result::unwrap).collect();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].line, 3);
        assert_eq!(got[0].pattern.as_str(), "svc");
        assert_eq!(got[0].user, Some(Id::Name("root")));
        assert_eq!(got[0].group, None);
        assert_eq!(got[1].group, Some(Id::Name("netdev")));
        assert_eq!(
            (got[2].user, got[2].group),
            (Some(Id::Number(0)), Some(Id::Name("adm")))
        );
        assert_eq!((got[3].user, got[3].group), (None, None));
        assert_eq!(got[4].pattern.as_str(), "*");
    }

    #[test]
    fn every_mistake_names_its_line() {
        let cases = [
            ("reserve svc user root", PolicyErrorKind::NotARule),
            ("name", PolicyErrorKind::MissingPattern),
            ("name a/b user root", PolicyErrorKind::BadPattern),
            (
                "name 0123456789012345678901234567890123 anyone",
                PolicyErrorKind::BadPattern,
            ),
            ("name svc", PolicyErrorKind::MissingOwner),
            ("name svc user", PolicyErrorKind::MissingId),
            ("name svc user a user b", PolicyErrorKind::Conflicting),
            ("name svc anyone user a", PolicyErrorKind::Conflicting),
            ("name svc group a anyone", PolicyErrorKind::Conflicting),
            ("name svc owner root", PolicyErrorKind::UnknownWord),
        ];
        for (text, kind) in cases {
            assert_eq!(one(text), Err(PolicyError { line: 1, kind }), "{text}");
        }
        let mut all = rules("name a anyone\n\nname b frob\n");
        assert!(all.next().unwrap().is_ok());
        assert_eq!(all.next().unwrap().unwrap_err().line, 3);
    }

    #[test]
    fn at_most_the_kernels_rule_count() {
        let mut text = [0u8; 16 * (MAX_POLICY_RULES + 1)];
        let line = b"name a anyone  \n";
        for chunk in text.chunks_mut(line.len()) {
            chunk.copy_from_slice(line);
        }
        let text = core::str::from_utf8(&text).unwrap();
        let last = rules(text).last().unwrap();
        assert_eq!(
            last,
            Err(PolicyError {
                line: MAX_POLICY_RULES + 1,
                kind: PolicyErrorKind::TooManyRules
            })
        );
        assert!(rules(text).take(MAX_POLICY_RULES).all(|r| r.is_ok()));
    }
}
