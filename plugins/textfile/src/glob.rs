//! Directory patterns as Go's `filepath.Glob` expands them, which
//! node_exporter applies to `--collector.textfile.directory`: `*` (any run
//! of characters but `/`), `?` (one such character), `[...]` classes with
//! ranges and `^` negation, and `\` to take the next character literally.
//! Matches are sorted within each directory level.

use std::fs;

/// A pattern Go's `filepath.Match` would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern;

fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// Expands `pattern` to the existing paths it matches.
pub fn expand(pattern: &str) -> Result<Vec<String>, BadPattern> {
    check(pattern)?;
    if !has_meta(pattern) {
        return Ok(if fs::symlink_metadata(pattern).is_ok() {
            vec![pattern.to_owned()]
        } else {
            Vec::new()
        });
    }
    let (dir, file) = match pattern.rfind('/') {
        Some(i) => (&pattern[..i], &pattern[i + 1..]),
        None => ("", pattern),
    };
    let dir = match dir {
        "" if pattern.starts_with('/') => "/".to_owned(),
        "" => ".".to_owned(),
        d => d.to_owned(),
    };
    let dirs = if has_meta(&dir) {
        expand(&dir)?
    } else {
        vec![dir]
    };
    let mut out = Vec::new();
    for dir in dirs {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            if matches(file, &name)? {
                out.push(join(&dir, &name));
            }
        }
    }
    Ok(out)
}

/// `dir/name`, without doubling a slash.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Refuses a pattern with an unclosed class or a trailing `\`, as Go does
/// before it matches anything.
fn check(pattern: &str) -> Result<(), BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(BadPattern);
                }
                i += 2;
            }
            '[' => i += class(&p[i..], None)?.1,
            _ => i += 1,
        }
    }
    Ok(())
}

/// Whether `name` (one path component) matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = name.chars().collect();
    match_from(&p, &s)
}

fn match_from(p: &[char], s: &[char]) -> Result<bool, BadPattern> {
    let Some(&first) = p.first() else {
        return Ok(s.is_empty());
    };
    match first {
        '*' => {
            let rest = &p[1..];
            for i in 0..=s.len() {
                if i > 0 && s[i - 1] == '/' {
                    break;
                }
                if match_from(rest, &s[i..])? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        '?' => match s.first() {
            Some(c) if *c != '/' => match_from(&p[1..], &s[1..]),
            _ => Ok(false),
        },
        '[' => {
            let Some(&c) = s.first() else {
                return Ok(false);
            };
            let (hit, len) = class(p, Some(c))?;
            if hit && c != '/' {
                match_from(&p[len..], &s[1..])
            } else {
                Ok(false)
            }
        }
        '\\' => {
            let literal = *p.get(1).ok_or(BadPattern)?;
            if s.first() == Some(&literal) {
                match_from(&p[2..], &s[1..])
            } else {
                Ok(false)
            }
        }
        c => {
            if s.first() == Some(&c) {
                match_from(&p[1..], &s[1..])
            } else {
                Ok(false)
            }
        }
    }
}

/// Reads the class at the start of `p` (which begins with `[`): whether
/// `c` is in it, and the class's length in the pattern.
fn class(p: &[char], c: Option<char>) -> Result<(bool, usize), BadPattern> {
    let mut i = 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let lo = match p.get(i) {
            None => return Err(BadPattern),
            Some(']') if !first => break,
            Some(']' | '-') => return Err(BadPattern),
            Some('\\') => {
                i += 1;
                *p.get(i).ok_or(BadPattern)?
            }
            Some(&x) => x,
        };
        i += 1;
        first = false;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            i += 1;
            hi = match p.get(i) {
                None | Some(']' | '-') => return Err(BadPattern),
                Some('\\') => {
                    i += 1;
                    *p.get(i).ok_or(BadPattern)?
                }
                Some(&x) => x,
            };
            i += 1;
        }
        if c.is_some_and(|c| lo <= c && c <= hi) {
            hit = true;
        }
    }
    Ok((hit != negated, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_as_go_matches_them() {
        let yes = [
            ("*", "abc"),
            ("*.prom", "a.prom"),
            ("a?c", "abc"),
            ("[a-c]x", "bx"),
            ("[^a-c]x", "dx"),
            ("\\*", "*"),
            ("a*b*c", "axxbyyc"),
            ("*", ""),
            ("[\\]a]", "]"),
        ];
        for (p, s) in yes {
            assert_eq!(matches(p, s), Ok(true), "{p} {s}");
        }
        let no = [
            ("*.prom", "a.prom.tmp"),
            ("a?c", "ac"),
            ("[a-c]x", "dx"),
            ("[^a-c]x", "ax"),
            ("a*", "b"),
            ("?", "/"),
        ];
        for (p, s) in no {
            assert_eq!(matches(p, s), Ok(false), "{p} {s}");
        }
        for bad in ["[", "[a-", "a\\", "[-a]", "[a-]", "[]a]", "[a--]"] {
            assert_eq!(check(bad), Err(BadPattern), "{bad}");
        }
    }

    #[test]
    fn patterns_expand_level_by_level_in_order() {
        let root = std::env::temp_dir().join(format!("textfile-glob-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for d in ["b/x", "a/x", "a/y", "c"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        let r = root.to_str().unwrap();
        assert_eq!(
            expand(&format!("{r}/*/x")).unwrap(),
            [format!("{r}/a/x"), format!("{r}/b/x")]
        );
        assert_eq!(expand(&format!("{r}/[ab]")).unwrap().len(), 2);
        assert_eq!(expand(&format!("{r}/c")).unwrap(), [format!("{r}/c")]);
        assert!(expand(&format!("{r}/missing")).unwrap().is_empty());
        assert!(expand(&format!("{r}/*/z")).unwrap().is_empty());
        assert_eq!(expand(&format!("{r}/[")), Err(BadPattern));
        fs::remove_dir_all(&root).unwrap();
    }
}
