//! Case conversion of identifiers: `#[label(rename_all = "...")]` for the derive, and the
//! `snake_case` form under which `#[instrument]` compares label and field names.

/// A `rename_all` rule (serde's names for them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RenameRule {
    Snake,
    Kebab,
    Lower,
    Upper,
    ScreamingSnake,
    ScreamingKebab,
    Camel,
    Pascal,
}

/// Every rule, by the name written in `rename_all = "..."`.
pub(crate) const RULES: &[(&str, RenameRule)] = &[
    ("snake_case", RenameRule::Snake),
    ("kebab-case", RenameRule::Kebab),
    ("lowercase", RenameRule::Lower),
    ("UPPERCASE", RenameRule::Upper),
    ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
    ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
    ("camelCase", RenameRule::Camel),
    ("PascalCase", RenameRule::Pascal),
];

impl RenameRule {
    pub(crate) fn from_name(name: &str) -> Option<RenameRule> {
        RULES.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
    }

    /// The names of every rule, for error messages.
    pub(crate) fn names() -> String {
        let quoted: Vec<String> = RULES.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        quoted.join(", ")
    }

    /// Renders a variant identifier (`FreeTrial`, `HTTPError`) under this rule.
    pub(crate) fn apply(self, ident: &str) -> String {
        let words = words(ident);
        let lower = || words.iter().map(|w| w.to_lowercase());
        let upper = || words.iter().map(|w| w.to_uppercase());
        match self {
            RenameRule::Snake => lower().collect::<Vec<_>>().join("_"),
            RenameRule::Kebab => lower().collect::<Vec<_>>().join("-"),
            RenameRule::Lower => lower().collect(),
            RenameRule::Upper => upper().collect(),
            RenameRule::ScreamingSnake => upper().collect::<Vec<_>>().join("_"),
            RenameRule::ScreamingKebab => upper().collect::<Vec<_>>().join("-"),
            RenameRule::Pascal => words.iter().map(|w| capitalize(w)).collect(),
            RenameRule::Camel => {
                let mut out = String::new();
                for (i, w) in words.iter().enumerate() {
                    if i == 0 {
                        out.push_str(&w.to_lowercase());
                    } else {
                        out.push_str(&capitalize(w));
                    }
                }
                out
            }
        }
    }
}

/// `snake_case` form of a name: `userId` and `UserID` are both `user_id`.
pub(crate) fn snake(name: &str) -> String {
    RenameRule::Snake.apply(name)
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

/// Splits an identifier into words: at `_`, `-` and `.`, before an upper-case letter that
/// follows a lower-case letter or digit (`userId`), and before the last capital of an acronym
/// followed by lower case (`HTTPError` is `HTTP` `Error`). Digits stay in their word (`Http2`).
pub(crate) fn words(ident: &str) -> Vec<String> {
    let chars: Vec<char> = ident.trim_start_matches("r#").chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if matches!(c, '_' | '-' | '.') {
            push_word(&mut words, &mut current);
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let after_lower = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
        let acronym_end =
            prev.is_some_and(char::is_uppercase) && next.is_some_and(char::is_lowercase);
        if c.is_uppercase() && (after_lower || acronym_end) {
            push_word(&mut words, &mut current);
        }
        current.push(c);
    }
    push_word(&mut words, &mut current);
    words
}

fn push_word(words: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words("FreeTrial"), ["Free", "Trial"]);
        assert_eq!(words("HTTPError"), ["HTTP", "Error"]);
        assert_eq!(words("Http2Error"), ["Http2", "Error"]);
        assert_eq!(words("userId"), ["user", "Id"]);
        assert_eq!(words("set_cookie"), ["set", "cookie"]);
        assert_eq!(words("http.request.header"), ["http", "request", "header"]);
        assert_eq!(words("r#type"), ["type"]);
        assert_eq!(words("A"), ["A"]);
    }

    #[test]
    fn every_rule() {
        let cases = [
            (RenameRule::Snake, "not_found"),
            (RenameRule::Kebab, "not-found"),
            (RenameRule::Lower, "notfound"),
            (RenameRule::Upper, "NOTFOUND"),
            (RenameRule::ScreamingSnake, "NOT_FOUND"),
            (RenameRule::ScreamingKebab, "NOT-FOUND"),
            (RenameRule::Camel, "notFound"),
            (RenameRule::Pascal, "NotFound"),
        ];
        for (rule, expected) in cases {
            assert_eq!(rule.apply("NotFound"), expected, "{rule:?}");
        }
        assert_eq!(RenameRule::Snake.apply("HTTPError"), "http_error");
        assert_eq!(RenameRule::Camel.apply("HTTPError"), "httpError");
        assert_eq!(snake("UserID"), "user_id");
        assert_eq!(snake("userId"), "user_id");
    }

    #[test]
    fn rule_names_round_trip() {
        for (name, rule) in RULES {
            assert_eq!(RenameRule::from_name(name), Some(*rule));
        }
        assert_eq!(RenameRule::from_name("snake"), None);
    }
}
