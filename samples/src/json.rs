//! The `--json` output of the CLI: one JSON object per line, written by
//! hand (a few field kinds; a JSON library would cost the CLI's ARM size
//! budget more than this whole module).

use std::fmt::Write;

/// One JSON object, built field by field in order.
///
/// ```
/// let mut object = ipcon_samples::JsonObject::new();
/// object.str("name", "srv").num("port", 12).opt_str("group", None).bool("replayed", false);
/// assert_eq!(object.finish(), r#"{"name":"srv","port":12,"group":null,"replayed":false}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonObject {
    text: String,
}

impl Default for JsonObject {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> Self {
        Self {
            text: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) -> &mut Self {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_string(&mut self.text, key);
        self.text.push(':');
        self
    }

    /// A string field.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_string(&mut self.text, value);
        self
    }

    /// A string field, `null` when `None`.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.str(key, value),
            None => self.null(key),
        }
    }

    /// A number field.
    pub fn num(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.text, "{value}");
        self
    }

    /// A number field, `null` when `None`.
    pub fn opt_num(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        match value {
            Some(value) => self.num(key, value),
            None => self.null(key),
        }
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.text.push_str(if value { "true" } else { "false" });
        self
    }

    fn null(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.text.push_str("null");
        self
    }

    /// The object's text, on one line.
    pub fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// Appends `value` as a JSON string: quotes, backslashes and every control
/// character escaped, so an object never spans two lines.
fn push_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The keys of a one-line object written by [`JsonObject`], in order (for
/// tests: every documented field is there, and nothing else).
#[cfg(test)]
pub(crate) fn keys(object: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut chars = object.chars().peekable();
    let mut current = String::new();
    let mut in_string = false;
    let mut expecting_key = true;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    in_string = false;
                    if expecting_key && chars.peek() == Some(&':') {
                        keys.push(std::mem::take(&mut current));
                        expecting_key = false;
                    }
                    current.clear();
                }
                c => current.push(c),
            }
        } else {
            match c {
                '"' => in_string = true,
                ',' => expecting_key = true,
                _ => {}
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_onto_one_line() {
        let mut object = JsonObject::new();
        object.str("text", "a \"quoted\"\\path\nnext\u{1}\u{7f}é");
        assert_eq!(
            object.finish(),
            r#"{"text":"a \"quoted\"\\path\nnext\u0001\u007fé"}"#
        );
    }

    #[test]
    fn empty_and_null_fields() {
        assert_eq!(JsonObject::new().finish(), "{}");
        let mut object = JsonObject::new();
        object.opt_num("gid", None).opt_num("len", Some(6));
        assert_eq!(object.finish(), r#"{"gid":null,"len":6}"#);
    }

    #[test]
    fn keys_are_found_past_tricky_values() {
        let mut object = JsonObject::new();
        object
            .str("a", "x\",\"b\":1")
            .num("c", 2)
            .opt_str("d", None);
        assert_eq!(keys(&object.finish()), ["a", "c", "d"]);
    }
}
