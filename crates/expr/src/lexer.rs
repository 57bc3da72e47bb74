//! Turns expression source into tokens with spans. Units are part of number tokens, so
//! `200ms` is one token and `200 ms` is an error that says so.

use crate::error::ParseError;
use crate::span::Span;
use crate::value::Value;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Literal(Value),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    Contains,
    Matches,
    In,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("`{name}`"),
            Tok::Literal(value) => format!("`{value}`"),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::LBracket => "`[`".into(),
            Tok::RBracket => "`]`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Dot => "`.`".into(),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::And => "`and`".into(),
            Tok::Or => "`or`".into(),
            Tok::Not => "`not`".into(),
            Tok::Contains => "`contains`".into(),
            Tok::Matches => "`matches`".into(),
            Tok::In => "`in`".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

pub fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = |tok: Tok| Token { tok, span: Span::new(start, start + 1) };
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
            }
            b'(' => {
                tokens.push(single(Tok::LParen));
                i += 1;
            }
            b')' => {
                tokens.push(single(Tok::RParen));
                i += 1;
            }
            b'[' => {
                tokens.push(single(Tok::LBracket));
                i += 1;
            }
            b']' => {
                tokens.push(single(Tok::RBracket));
                i += 1;
            }
            b',' => {
                tokens.push(single(Tok::Comma));
                i += 1;
            }
            b'.' => {
                tokens.push(single(Tok::Dot));
                i += 1;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let next = bytes.get(i + 1).copied();
                let (tok, len) = match (c, next) {
                    (b'=', Some(b'=')) => (Tok::Eq, 2),
                    (b'!', Some(b'=')) => (Tok::Ne, 2),
                    (b'<', Some(b'=')) => (Tok::Le, 2),
                    (b'>', Some(b'=')) => (Tok::Ge, 2),
                    (b'<', _) => (Tok::Lt, 1),
                    (b'>', _) => (Tok::Gt, 1),
                    (b'=', _) => {
                        return Err(ParseError::new(
                            Span::new(i, i + 1),
                            "`=` is not a comparison",
                            Some("write `==` to compare".into()),
                        ));
                    }
                    _ => {
                        return Err(ParseError::new(
                            Span::new(i, i + 1),
                            "`!` is not an operator here",
                            Some("write `not` to negate, or `!=` to compare".into()),
                        ));
                    }
                };
                tokens.push(Token { tok, span: Span::new(i, i + len) });
                i += len;
            }
            b'&' | b'|' => {
                let word = if c == b'&' { "and" } else { "or" };
                return Err(ParseError::new(
                    Span::new(i, (i + 2).min(bytes.len())),
                    format!("`{}` is not an operator here", if c == b'&' { "&&" } else { "||" }),
                    Some(format!("write `{word}`")),
                ));
            }
            b'"' | b'\'' => {
                let (text, end) = lex_string(src, i)?;
                tokens.push(Token { tok: Tok::Literal(Value::String(text)), span: Span::new(i, end) });
                i = end;
            }
            b'0'..=b'9' => {
                let (value, end) = lex_number(src, i, false)?;
                tokens.push(Token { tok: Tok::Literal(value), span: Span::new(i, end) });
                i = end;
            }
            b'-' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let (value, end) = lex_number(src, i + 1, true)?;
                tokens.push(Token { tok: Tok::Literal(value), span: Span::new(i, end) });
                i = end;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut end = i + 1;
                while end < bytes.len() && is_ident_continue(bytes, end) {
                    end += 1;
                }
                let word = &src[i..end];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "contains" => Tok::Contains,
                    "matches" => Tok::Matches,
                    "in" => Tok::In,
                    "true" => Tok::Literal(Value::Bool(true)),
                    "false" => Tok::Literal(Value::Bool(false)),
                    "null" => Tok::Literal(Value::Null),
                    _ => Tok::Ident(word.to_string()),
                };
                tokens.push(Token { tok, span: Span::new(i, end) });
                i = end;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(ParseError::new(
                    Span::new(i, i + ch.len_utf8()),
                    format!("unexpected character `{ch}`"),
                    None,
                ));
            }
        }
    }
    Ok(tokens)
}

/// Identifiers may contain `-` (check names like `api-availability`, headers like
/// `content-type`); the language has no arithmetic, so this is unambiguous.
fn is_ident_continue(bytes: &[u8], i: usize) -> bool {
    let c = bytes[i];
    c.is_ascii_alphanumeric()
        || c == b'_'
        || (c == b'-' && bytes.get(i + 1).is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'_'))
}

fn lex_string(src: &str, start: usize) -> Result<(String, usize), ParseError> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((offset, ch)) = chars.next() {
        let at = start + 1 + offset;
        if ch == quote {
            return Ok((out, at + 1));
        }
        if ch == '\\' {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, other)) => out.push(other),
                None => break,
            }
        } else {
            out.push(ch);
        }
    }
    Err(ParseError::new(
        Span::new(start, src.len()),
        "this string is never closed",
        Some(format!("end it with {quote}")),
    ))
}

/// A number and its unit suffix, if any: `200`, `0.5`, `200ms`, `85%`, `10GiB`.
fn lex_number(src: &str, start: usize, negative: bool) -> Result<(Value, usize), ParseError> {
    let bytes = src.as_bytes();
    let mut end = start;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
    let token_start = if negative { start - 1 } else { start };
    let magnitude: f64 = src[start..end]
        .parse()
        .map_err(|_| ParseError::new(Span::new(token_start, end), "this is not a number", None))?;
    let n = if negative { -magnitude } else { magnitude };
    let unit_start = end;
    while end < bytes.len() && (bytes[end].is_ascii_alphabetic() || bytes[end] == b'%') {
        end += 1;
    }
    let unit = &src[unit_start..end];
    let value = match unit {
        "" => Value::Number(n),
        "%" => Value::Percent(n),
        _ => match unit_factor(unit) {
            Some((Unit::Duration, factor)) => Value::Duration(n * factor),
            Some((Unit::Size, factor)) => Value::Size(n * factor),
            None => {
                return Err(ParseError::new(
                    Span::new(unit_start, end),
                    format!("unknown unit `{unit}`"),
                    Some("durations take ms, s, m, h, d or w; sizes take B, KB, MB, GB, TB, KiB, MiB, GiB or TiB; percentages take %".into()),
                ));
            }
        },
    };
    Ok((value, end))
}

enum Unit {
    Duration,
    Size,
}

fn unit_factor(unit: &str) -> Option<(Unit, f64)> {
    const KI: f64 = 1024.0;
    Some(match unit {
        "us" | "µs" => (Unit::Duration, 1e-6),
        "ms" => (Unit::Duration, 1e-3),
        "s" => (Unit::Duration, 1.0),
        "m" => (Unit::Duration, 60.0),
        "h" => (Unit::Duration, 3600.0),
        "d" => (Unit::Duration, 86400.0),
        "w" => (Unit::Duration, 7.0 * 86400.0),
        "B" => (Unit::Size, 1.0),
        "KB" | "kB" => (Unit::Size, 1e3),
        "MB" => (Unit::Size, 1e6),
        "GB" => (Unit::Size, 1e9),
        "TB" => (Unit::Size, 1e12),
        "KiB" => (Unit::Size, KI),
        "MiB" => (Unit::Size, KI * KI),
        "GiB" => (Unit::Size, KI * KI * KI),
        "TiB" => (Unit::Size, KI * KI * KI * KI),
        _ => return None,
    })
}
