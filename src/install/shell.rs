//! The little shell syntax the installer needs: quoting a word for `sh`,
//! and reading a command back into words.
//!
//! Claude Code runs a hook's `command` through a shell, so the path of the
//! binary must be quoted when it holds spaces or quotes. Reading goes the
//! other way, to recognise our own entries: a command counts as a plain
//! list of words only when it uses nothing but quoting (no expansions,
//! redirections, pipes or lists). Anything cleverer is treated as someone
//! else's command and left alone, which is the safe side to err on.

/// Characters that never need quoting in a word (`=`, `~` and `%` are left
/// out: they mean something at the start of a word).
fn is_plain(character: char) -> bool {
    character.is_ascii_alphanumeric()
        || matches!(character, '/' | '.' | '_' | '-' | '+' | ':' | ',' | '@')
}

/// Quotes `word` for `sh` when it needs it; plain words stay as they are.
pub fn quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(is_plain) {
        word.to_string()
    } else {
        quote_always(word)
    }
}

/// Quotes `word` in single quotes whatever it holds (`'` becomes `'\''`).
pub fn quote_always(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Splits a command into words the way `sh` would, or `None` when the
/// command uses any syntax beyond quoting and escaping (it is then not a
/// plain command line, and not one the installer wrote).
pub fn split(command: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut characters = command.chars();
    while let Some(character) = characters.next() {
        match character {
            ' ' | '\t' | '\n' => {
                if let Some(word) = current.take() {
                    words.push(word);
                }
            }
            '\'' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match characters.next()? {
                        '\'' => break,
                        other => word.push(other),
                    }
                }
            }
            '"' => {
                let word = current.get_or_insert_with(String::new);
                loop {
                    match characters.next()? {
                        '"' => break,
                        '$' | '`' => return None,
                        '\\' => match characters.next()? {
                            '\n' => {}
                            escaped @ ('$' | '`' | '"' | '\\') => word.push(escaped),
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        other => word.push(other),
                    }
                }
            }
            '\\' => match characters.next()? {
                '\n' => {}
                escaped => current.get_or_insert_with(String::new).push(escaped),
            },
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' | '#' | '~'
            | '{' | '}' | '!' => return None,
            other => current.get_or_insert_with(String::new).push(other),
        }
    }
    if let Some(word) = current {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_words_stay_bare_and_others_are_single_quoted() {
        let cases = [
            ("/usr/local/bin/pace-maker", "/usr/local/bin/pace-maker"),
            ("/home/a b/pace-maker", "'/home/a b/pace-maker'"),
            ("/tmp/it's/pace-maker", r"'/tmp/it'\''s/pace-maker'"),
            ("", "''"),
            ("~/bin/x", "'~/bin/x'"),
            ("a=b", "'a=b'"),
        ];
        for (word, expected) in cases {
            assert_eq!(quote(word), expected, "quoting {word:?}");
        }
    }

    #[test]
    fn split_reads_quotes_and_escapes_like_sh() {
        let cases: [(&str, Option<Vec<&str>>); 9] = [
            ("a b  c", Some(vec!["a", "b", "c"])),
            ("'a b' c", Some(vec!["a b", "c"])),
            (r#""a \"b\" \x" c"#, Some(vec![r#"a "b" \x"#, "c"])),
            (r"a\ b", Some(vec!["a b"])),
            ("'unterminated", None),
            ("a; b", None),
            ("a && b", None),
            ("echo $HOME", None),
            (r#""$(id)""#, None),
        ];
        for (command, expected) in cases {
            let expected = expected.map(|words| words.into_iter().map(String::from).collect());
            assert_eq!(split(command), expected, "splitting {command:?}");
        }
    }

    proptest! {
        #[test]
        fn a_quoted_word_splits_back_to_itself(word in any::<String>()) {
            prop_assert_eq!(split(&quote(&word)), Some(vec![word.clone()]));
            prop_assert_eq!(split(&quote_always(&word)), Some(vec![word]));
        }
    }
}
