//! A recursive-descent parser: `or` < `and` < `not` < comparisons < primaries.

use crate::ast::{CompareOp, Expr, ExprKind, FieldRef, Segment};
use crate::error::ParseError;
use crate::lexer::{Tok, Token, lex};
use crate::span::Span;
use crate::value::Value;

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;
/// Longer expressions are refused: one condition is a line, not a program.
pub const MAX_LENGTH: usize = 4096;

/// Parses an expression. Never panics, whatever the input.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_LENGTH {
        return Err(ParseError::new(
            Span::new(0, 1),
            format!("the expression is {} bytes long; at most {MAX_LENGTH} are allowed", src.len()),
            Some("split it into several `expect` entries, or use `in [...]` for many values".into()),
        ));
    }
    let tokens = lex(src)?;
    let mut parser = Parser { tokens, pos: 0, src_len: src.len(), depth: 0 };
    if parser.tokens.is_empty() {
        return Err(ParseError::new(
            Span::new(0, src.len()),
            "the expression is empty",
            Some("write a condition such as `status == 200`".into()),
        ));
    }
    let expr = parser.or()?;
    if let Some(token) = parser.peek_token() {
        return Err(ParseError::new(
            token.span,
            format!("unexpected {} after a complete expression", token.tok.describe()),
            Some("join conditions with `and` or `or`".into()),
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    src_len: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn peek_token(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn end_span(&self) -> Span {
        Span::new(self.src_len, self.src_len)
    }

    fn expect(&mut self, want: Tok, what: &str) -> Result<Span, ParseError> {
        match self.next() {
            Some(token) if token.tok == want => Ok(token.span),
            Some(token) => {
                Err(ParseError::new(token.span, format!("expected {what}, found {}", token.tok.describe()), None))
            }
            None => Err(ParseError::new(self.end_span(), format!("expected {what} at the end"), None)),
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(span, "the expression is nested too deeply", None));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let first = self.and()?;
        self.chain(first, Tok::Or, Self::and, ExprKind::Or)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let first = self.not()?;
        self.chain(first, Tok::And, Self::not, ExprKind::And)
    }

    /// `first op term op term ...` as one node, however long.
    fn chain(
        &mut self,
        first: Expr,
        op: Tok,
        term: fn(&mut Self) -> Result<Expr, ParseError>,
        node: fn(Vec<Expr>) -> ExprKind,
    ) -> Result<Expr, ParseError> {
        if self.peek() != Some(&op) {
            return Ok(first);
        }
        let mut span = first.span;
        let mut terms = vec![first];
        while self.peek() == Some(&op) {
            self.pos += 1;
            let next = term(self)?;
            span = span.to(next.span);
            terms.push(next);
        }
        Ok(Expr { kind: node(terms), span })
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if let Some(token) = self.peek_token().filter(|t| t.tok == Tok::Not) {
            let start = token.span;
            self.pos += 1;
            self.enter(start)?;
            let inner = self.not()?;
            self.depth -= 1;
            let span = start.to(inner.span);
            return Ok(Expr { kind: ExprKind::Not(Box::new(inner)), span });
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.primary()?;
        let op = match self.peek() {
            Some(Tok::Eq) => Some(CompareOp::Eq),
            Some(Tok::Ne) => Some(CompareOp::Ne),
            Some(Tok::Lt) => Some(CompareOp::Lt),
            Some(Tok::Le) => Some(CompareOp::Le),
            Some(Tok::Gt) => Some(CompareOp::Gt),
            Some(Tok::Ge) => Some(CompareOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.primary()?;
            let span = left.span.to(right.span);
            return Ok(Expr { kind: ExprKind::Compare(op, Box::new(left), Box::new(right)), span });
        }
        match self.peek() {
            Some(Tok::Contains) => {
                self.pos += 1;
                let right = self.primary()?;
                let span = left.span.to(right.span);
                Ok(Expr { kind: ExprKind::Contains(Box::new(left), Box::new(right)), span })
            }
            Some(Tok::In) => {
                self.pos += 1;
                let right = self.primary()?;
                let span = left.span.to(right.span);
                Ok(Expr { kind: ExprKind::In(Box::new(left), Box::new(right)), span })
            }
            Some(Tok::Matches) => {
                self.pos += 1;
                self.matches(left)
            }
            _ => Ok(left),
        }
    }

    fn matches(&mut self, left: Expr) -> Result<Expr, ParseError> {
        match self.next() {
            Some(Token { tok: Tok::Literal(Value::String(pattern)), span }) => {
                let regex = regex::RegexBuilder::new(&pattern).size_limit(1 << 20).build().map_err(|e| {
                    let detail = e.to_string();
                    let last = detail.lines().last().unwrap_or("invalid").trim().to_string();
                    ParseError::new(span, format!("invalid regular expression: {last}"), None)
                })?;
                let span = left.span.to(span);
                Ok(Expr { kind: ExprKind::Matches(Box::new(left), regex), span })
            }
            Some(token) => Err(ParseError::new(
                token.span,
                format!("`matches` takes a quoted regular expression, found {}", token.tok.describe()),
                Some("for example: body matches \"^ok\"".into()),
            )),
            None => Err(ParseError::new(self.end_span(), "`matches` needs a quoted regular expression after it", None)),
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let Some(token) = self.next() else {
            return Err(ParseError::new(
                self.end_span(),
                "the expression ends too early",
                Some("a value or field is missing at the end".into()),
            ));
        };
        match token.tok {
            Tok::Literal(value) => Ok(Expr { kind: ExprKind::Literal(value), span: token.span }),
            Tok::LParen => {
                self.enter(token.span)?;
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.expect(Tok::RParen, "`)`")?;
                Ok(Expr { kind: inner.kind, span: token.span.to(close) })
            }
            Tok::LBracket => self.list(token.span),
            Tok::Ident(name) => {
                if self.peek() == Some(&Tok::LParen) {
                    self.call(name, token.span)
                } else {
                    self.field(name, token.span)
                }
            }
            other => Err(ParseError::new(
                token.span,
                format!("expected a value or a field, found {}", other.describe()),
                None,
            )),
        }
    }

    fn list(&mut self, open: Span) -> Result<Expr, ParseError> {
        self.enter(open)?;
        let mut items = Vec::new();
        if self.peek() != Some(&Tok::RBracket) {
            loop {
                items.push(self.primary()?);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    continue;
                }
                break;
            }
        }
        self.depth -= 1;
        let close = self.expect(Tok::RBracket, "`]` or `,`")?;
        Ok(Expr { kind: ExprKind::List(items), span: open.to(close) })
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, ParseError> {
        self.pos += 1; // the `(`
        self.enter(name_span)?;
        let mut args = Vec::new();
        if self.peek() != Some(&Tok::RParen) {
            loop {
                args.push(self.or()?);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    continue;
                }
                break;
            }
        }
        self.depth -= 1;
        let close = self.expect(Tok::RParen, "`)` or `,`")?;
        Ok(Expr { kind: ExprKind::Call(name, args), span: name_span.to(close) })
    }

    fn field(&mut self, root: String, start: Span) -> Result<Expr, ParseError> {
        let mut text = root.clone();
        let mut segments = Vec::new();
        let mut span = start;
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    match self.next() {
                        Some(Token { tok: Tok::Ident(key), span: s }) => {
                            text.push('.');
                            text.push_str(&key);
                            segments.push(Segment::Key(key));
                            span = span.to(s);
                        }
                        Some(Token { tok: Tok::Literal(Value::Number(n)), span: s })
                            if n >= 0.0 && n.fract() == 0.0 =>
                        {
                            text.push_str(&format!(".{}", n as usize));
                            segments.push(Segment::Index(n as usize));
                            span = span.to(s);
                        }
                        Some(token) => {
                            return Err(ParseError::new(
                                token.span,
                                format!("expected a field name after `.`, found {}", token.tok.describe()),
                                None,
                            ));
                        }
                        None => {
                            return Err(ParseError::new(self.end_span(), "expected a field name after `.`", None));
                        }
                    }
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    let segment = match self.next() {
                        Some(Token { tok: Tok::Literal(Value::Number(n)), .. })
                            if n >= 0.0 && n.fract() == 0.0 && n < 1e9 =>
                        {
                            text.push_str(&format!("[{}]", n as usize));
                            Segment::Index(n as usize)
                        }
                        Some(Token { tok: Tok::Literal(Value::String(key)), .. }) => {
                            text.push_str(&format!("[{key:?}]"));
                            Segment::Key(key)
                        }
                        Some(token) => {
                            return Err(ParseError::new(
                                token.span,
                                "expected an index like [0] or a key like [\"name\"]",
                                None,
                            ));
                        }
                        None => {
                            return Err(ParseError::new(self.end_span(), "expected an index after `[`", None));
                        }
                    };
                    segments.push(segment);
                    let close = self.expect(Tok::RBracket, "`]`")?;
                    span = span.to(close);
                }
                _ => break,
            }
        }
        Ok(Expr { kind: ExprKind::Field(FieldRef { text, root, segments }), span })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_precedence_of_and_over_or() {
        let expr = parse("a == 1 or b == 2 and c == 3").unwrap();
        let ExprKind::Or(terms) = expr.kind else { panic!("not an `or`") };
        assert!(matches!(terms.as_slice(), [_, right] if matches!(&right.kind, ExprKind::And(t) if t.len() == 2)));
    }

    #[test]
    fn parses_units_into_values() {
        let expr = parse("latency < 200ms").unwrap();
        let ExprKind::Compare(CompareOp::Lt, _, right) = expr.kind else { panic!("not a comparison") };
        assert!(matches!(right.kind, ExprKind::Literal(Value::Duration(d)) if (d - 0.2).abs() < 1e-12));
        let expr = parse("free < 10GiB").unwrap();
        let ExprKind::Compare(_, _, right) = expr.kind else { panic!("not a comparison") };
        assert!(matches!(right.kind, ExprKind::Literal(Value::Size(s)) if s == 10.0 * 1024.0 * 1024.0 * 1024.0));
    }

    #[test]
    fn parses_json_paths_with_indexes_and_quoted_keys() {
        let expr = parse(r#"json.data.items[0]["odd key"] == 1"#).unwrap();
        let ExprKind::Compare(_, left, _) = expr.kind else { panic!("not a comparison") };
        let ExprKind::Field(field) = left.kind else { panic!("not a field") };
        assert_eq!(field.root, "json");
        assert_eq!(
            field.segments,
            vec![
                Segment::Key("data".into()),
                Segment::Key("items".into()),
                Segment::Index(0),
                Segment::Key("odd key".into())
            ]
        );
    }

    #[test]
    fn reports_spans_for_errors() {
        let err = parse("status = 200").unwrap_err();
        assert_eq!(err.span, Span::new(7, 8));
        assert_eq!(err.hint.as_deref(), Some("write `==` to compare"));
        let err = parse("latency < 200 ms").unwrap_err();
        assert_eq!(err.span, Span::new(14, 16));
        let err = parse("latency < 200sec").unwrap_err();
        assert_eq!(err.span, Span::new(13, 16));
        assert!(err.message.contains("unknown unit `sec`"));
    }

    #[test]
    fn refuses_hostile_nesting_without_overflowing() {
        let deep = "(".repeat(2_000) + "true" + &")".repeat(2_000);
        assert!(parse(&deep).unwrap_err().message.contains("nested too deeply"));
        let nots = "not ".repeat(1_000) + "true";
        assert!(parse(&nots).is_err());
    }

    /// A long `or` chain was a left-deep tree that overflowed the stack of every pass over it
    /// (issue 22, defect 2); now it is one node, and an over-long expression is refused.
    #[test]
    fn long_chains_are_flat_and_overlong_expressions_refused() {
        let chain = vec!["true"; 500].join(" or ");
        assert!(chain.len() < MAX_LENGTH);
        let ExprKind::Or(terms) = parse(&chain).unwrap().kind else { panic!("not an `or`") };
        assert_eq!(terms.len(), 500);
        let long = vec!["true"; 3600].join(" or ");
        let err = parse(&long).unwrap_err();
        assert!(err.message.contains("at most 4096"), "{}", err.message);
    }
}
