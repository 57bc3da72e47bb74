//! The type checker: resolves every field against a [`Schema`] and refuses comparisons that
//! cannot mean anything (`latency < 200`, `status == "200"`), at load time.

use crate::ast::{CompareOp, Expr, ExprKind, FieldRef};
use crate::error::ParseError;
use crate::history::{Call, Function, Target};
use crate::parser::parse;
use crate::schema::{Schema, Type};
use crate::span::Span;
use crate::value::Value;
use std::time::Duration;

/// A type error, shaped like a parse error: a span, a message and perhaps a fix.
pub type CheckError = ParseError;

/// A parsed and type-checked expression, ready to evaluate many times.
#[derive(Clone, Debug)]
pub struct Program {
    source: String,
    expr: Expr,
    fields: Vec<FieldRef>,
    calls: Vec<Call>,
}

impl Program {
    pub fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The fields the expression reads, each once, in order of appearance.
    pub fn fields(&self) -> &[FieldRef] {
        &self.fields
    }

    /// The history it reads, each call once: fetch these, then evaluate.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// Whether the expression reads a field with this root (`json`, `body`, `tls`, ...), so a
    /// probe can skip work nobody asked for.
    pub fn reads(&self, root: &str) -> bool {
        self.fields.iter().any(|f| f.root == root)
    }
}

/// Parses and type-checks `source` against `schema`. All errors found are returned.
pub fn compile(source: &str, schema: &Schema) -> Result<Program, Vec<CheckError>> {
    let expr = parse(source).map_err(|e| vec![e])?;
    let mut checker = Checker { schema, errors: Vec::new(), fields: Vec::new(), calls: Vec::new() };
    let ty = checker.infer(&expr);
    if let Some(ty) = ty
        && !matches!(ty, Type::Bool | Type::Dynamic)
    {
        checker.errors.push(CheckError::new(
            expr.span,
            format!("this is {ty}, not a condition"),
            Some("compare it with something, e.g. `latency < 200ms` or `status == 200`".into()),
        ));
    }
    if checker.errors.is_empty() {
        Ok(Program { source: source.to_string(), expr, fields: checker.fields, calls: checker.calls })
    } else {
        Err(checker.errors)
    }
}

struct Checker<'a> {
    schema: &'a Schema,
    errors: Vec<CheckError>,
    fields: Vec<FieldRef>,
    calls: Vec<Call>,
}

impl Checker<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>, hint: Option<String>) -> Option<Type> {
        self.errors.push(CheckError::new(span, message, hint));
        None
    }

    /// The type of `expr`, or `None` after recording why it has none.
    fn infer(&mut self, expr: &Expr) -> Option<Type> {
        match &expr.kind {
            ExprKind::Literal(value) => {
                if let Value::Duration(n) | Value::Size(n) | Value::Percent(n) = value
                    && *n < 0.0
                {
                    return self.error(
                        expr.span,
                        format!("{} cannot be negative", literal_type(value)),
                        Some("latencies, sizes and percentages are zero or more".into()),
                    );
                }
                Some(literal_type(value))
            }
            ExprKind::Field(field) => self.field(field, expr.span),
            ExprKind::List(items) => {
                for item in items {
                    if let Some(Type::List) = self.infer(item) {
                        self.error(item.span, "lists cannot be nested", None);
                    }
                }
                Some(Type::List)
            }
            ExprKind::Not(inner) => {
                self.condition(inner, "`not`");
                Some(Type::Bool)
            }
            ExprKind::And(terms) | ExprKind::Or(terms) => {
                let word = if matches!(expr.kind, ExprKind::And(..)) { "`and`" } else { "`or`" };
                for term in terms {
                    self.condition(term, word);
                }
                Some(Type::Bool)
            }
            ExprKind::Compare(op, l, r) => {
                let (tl, tr) = (self.infer(l), self.infer(r));
                if let (Some(tl), Some(tr)) = (tl, tr) {
                    self.compare(*op, l, tl, r, tr);
                }
                Some(Type::Bool)
            }
            ExprKind::Contains(l, r) => {
                let (tl, tr) = (self.infer(l), self.infer(r));
                match (tl, tr) {
                    (Some(Type::String), Some(Type::String | Type::Dynamic))
                    | (Some(Type::List | Type::Dynamic), Some(_)) => {}
                    (Some(Type::String), Some(other)) => {
                        self.error(r.span, format!("a string can only contain a string, not {other}"), None);
                    }
                    (Some(other), Some(_)) => {
                        self.error(
                            l.span,
                            format!("`contains` needs a string or a list on its left, not {other}"),
                            None,
                        );
                    }
                    _ => {}
                }
                Some(Type::Bool)
            }
            ExprKind::In(l, r) => {
                self.infer(l);
                if matches!(&r.kind, ExprKind::List(items) if items.is_empty()) {
                    self.error(
                        r.span,
                        "`in []` is never true",
                        Some("list the values, e.g. status in [200, 204]".into()),
                    );
                }
                match self.infer(r) {
                    Some(Type::List | Type::Dynamic) | None => {}
                    Some(other) => {
                        self.error(
                            r.span,
                            format!("`in` needs a list on its right, not {other}"),
                            Some("for example: status in [200, 204]".into()),
                        );
                    }
                }
                Some(Type::Bool)
            }
            ExprKind::Matches(l, _) => {
                match self.infer(l) {
                    Some(Type::String | Type::Dynamic) | None => {}
                    Some(other) => {
                        self.error(l.span, format!("`matches` needs a string on its left, not {other}"), None);
                    }
                }
                Some(Type::Bool)
            }
            ExprKind::Call(name, args) => self.call(name, args, expr.span),
        }
    }

    fn condition(&mut self, expr: &Expr, word: &str) {
        match self.infer(expr) {
            Some(Type::Bool | Type::Dynamic) | None => {}
            Some(other) => {
                self.error(
                    expr.span,
                    format!("{word} needs a condition, but this is {other}"),
                    Some("compare it with something, e.g. `rows > 0`".into()),
                );
            }
        }
    }

    fn field(&mut self, field: &FieldRef, span: Span) -> Option<Type> {
        if let Some(scope) = self.schema.scope(&field.root) {
            return self.scoped_field(scope, field, span);
        }
        if let Some(ty) = resolve(self.schema, field) {
            self.note_field(field);
            return Some(ty);
        }
        let name = field.dotted().unwrap_or_else(|| field.text.clone());
        let scoped = self.schema.scope_names().next().is_some();
        let hint = match self.schema.suggest(&name) {
            Some(suggestion) => Some(format!("did you mean `{suggestion}`?")),
            None if scoped => {
                let root = crate::schema::closest(&field.root, self.schema.scope_names().map(String::from));
                Some(match root {
                    Some(check) => format!("did you mean `{check}`?"),
                    None => "name a check and its field, e.g. `api.status`".to_string(),
                })
            }
            None => Some(format!("known fields: {}", self.known_fields())),
        };
        let what = if scoped { "unknown check or field" } else { "unknown field" };
        self.error(span, format!("{what} `{}`", field.text), hint)
    }

    /// `disk.used_percent`: the field `used_percent` of check `disk`'s kind.
    fn scoped_field(&mut self, scope: &Schema, field: &FieldRef, span: Span) -> Option<Type> {
        let Some((crate::ast::Segment::Key(first), rest)) = field.segments.split_first() else {
            let example = scope.fields().first().map_or("status", |f| f.name);
            return self.error(
                span,
                format!("`{}` is a check; name one of its fields", field.text),
                Some(format!("for example `{}.{example}`", field.root)),
            );
        };
        let inner = FieldRef { text: field.text.clone(), root: first.clone(), segments: rest.to_vec() };
        if let Some(ty) = resolve(scope, &inner) {
            self.note_field(field);
            return Some(ty);
        }
        let name = inner.dotted().unwrap_or_else(|| inner.root.clone());
        let hint = match scope.suggest(&name) {
            Some(suggestion) => format!("did you mean `{}.{suggestion}`?", field.root),
            None => {
                let known: Vec<String> = scope.fields().iter().map(|f| f.name.to_string()).collect();
                format!("`{}` observes: {}", field.root, known.join(", "))
            }
        };
        self.error(span, format!("check `{}` does not observe `{name}`", field.root), Some(hint))
    }

    fn note_call(&mut self, call: Call) {
        if !self.calls.contains(&call) {
            self.calls.push(call);
        }
    }

    fn note_field(&mut self, field: &FieldRef) {
        if !self.fields.iter().any(|f| f.text == field.text) {
            self.fields.push(field.clone());
        }
    }

    fn known_fields(&self) -> String {
        let mut names: Vec<String> = self.schema.fields().iter().map(|f| f.name.to_string()).collect();
        names.extend(self.schema.dynamic_roots().iter().map(|f| format!("{}.<path>", f.name)));
        names.join(", ")
    }

    fn compare(&mut self, op: CompareOp, l: &Expr, tl: Type, r: &Expr, tr: Type) {
        use Type::*;
        let sym = op.symbol();
        let ok = match (tl, tr) {
            (Dynamic, List) | (List, Dynamic) | (List, List) => {
                self.error(l.span.to(r.span), "lists cannot be compared", Some("use `contains` or `in`".into()));
                return;
            }
            (Dynamic, _) | (_, Dynamic) => true,
            (Number | Percent, Number | Percent) | (Duration, Duration) | (Size, Size) => true,
            (Bool, Bool) | (String, String) | (Null, Null) if op.is_ordering() => {
                self.error(
                    l.span.to(r.span),
                    format!("{tl} can only be compared with `==` or `!=`, not `{sym}`"),
                    None,
                );
                return;
            }
            (Bool, Bool) | (String, String) | (Null, Null) => true,
            (Duration | Size, Number) if is_zero(r) => true,
            (Number, Duration | Size) if is_zero(l) => true,
            (Duration | Size, Number) => return self.unit_error(l, tl, r),
            (Number, Duration | Size) => return self.unit_error(r, tr, l),
            _ => false,
        };
        if !ok {
            let hint = match (tl, tr) {
                (Number, String) | (String, Number) => {
                    Some("numbers are written without quotes: `status == 200`".into())
                }
                _ => None,
            };
            self.error(
                l.span.to(r.span),
                format!("cannot compare {} ({tl}) with {} ({tr})", describe(l), describe(r)),
                hint,
            );
        }
    }

    fn unit_error(&mut self, unit_side: &Expr, unit_ty: Type, bare: &Expr) {
        let example = match (&bare.kind, unit_ty) {
            (ExprKind::Literal(Value::Number(n)), Type::Duration) => format!("{}ms", fmt_num(*n)),
            (ExprKind::Literal(Value::Number(n)), _) => format!("{}MiB", fmt_num(*n)),
            (_, Type::Duration) => "200ms".into(),
            _ => "10GiB".into(),
        };
        self.error(
            bare.span,
            format!("{} is {unit_ty}, but this number has no unit", describe(unit_side)),
            Some(format!("write it with a unit, e.g. `{example}`")),
        );
    }

    fn call(&mut self, name: &str, args: &[Expr], span: Span) -> Option<Type> {
        let Some(function) = Function::named(name) else {
            let known = Function::names().map(String::from);
            let hint = crate::schema::closest(name, known)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("functions: {}", Function::names().collect::<Vec<_>>().join(", "))));
            return self.error(span, format!("unknown function `{name}`"), hint);
        };
        let Some(history) = self.schema.history() else {
            return self.error(
                span,
                format!("`{name}(...)` reads stored history, which `expect` cannot"),
                Some("`expect` judges one probe run; put history in an alert's `when`".into()),
            );
        };
        let what = function.target();
        let (arity, usage) = match function.takes_window() {
            true => (2, format!("write `{name}({}-name, 1h)`", what.word().to_lowercase())),
            false => (1, format!("write `{name}({}-name)`", what.word().to_lowercase())),
        };
        if args.len() != arity {
            return self.error(span, format!("`{name}` takes {arity} argument(s), got {}", args.len()), Some(usage));
        }
        let target = match &args[0].kind {
            ExprKind::Field(f) if f.segments.is_empty() => f.root.clone(),
            _ => {
                return self.error(
                    args[0].span,
                    format!("the first argument of `{name}` names a {}", what.word()),
                    Some(usage),
                );
            }
        };
        let names = match what {
            Target::Check => &history.checks,
            Target::Slo => &history.slos,
        };
        if !names.contains(&target) {
            let hint = crate::schema::closest(&target, names.iter().cloned())
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("`{name}` reads a configured {}", what.word()));
            return self.error(args[0].span, format!("no {} is named `{target}`", what.word()), Some(hint));
        }
        let window = match args.get(1).map(|a| &a.kind) {
            None => None,
            Some(ExprKind::Literal(Value::Duration(d))) if *d >= 1.0 && *d < 1e9 => Some(Duration::from_secs_f64(*d)),
            Some(_) => {
                return self.error(
                    args[1].span,
                    format!("the second argument of `{name}` is a time window of a second or more"),
                    Some(usage),
                );
            }
        };
        self.note_call(Call { function, target, window });
        Some(function.result())
    }
}

/// The type of a field of `schema`, when it has one.
fn resolve(schema: &Schema, field: &FieldRef) -> Option<Type> {
    if let Some(known) = field.dotted().and_then(|name| schema.field(&name)) {
        return Some(known.ty);
    }
    schema.dynamic_root(&field.root).map(|_| Type::Dynamic)
}

fn literal_type(value: &Value) -> Type {
    match value {
        Value::Bool(_) => Type::Bool,
        Value::Number(_) => Type::Number,
        Value::Duration(_) => Type::Duration,
        Value::Size(_) => Type::Size,
        Value::Percent(_) => Type::Percent,
        Value::String(_) => Type::String,
        Value::List(_) => Type::List,
        Value::Json(_) => Type::Dynamic,
        Value::Null => Type::Null,
    }
}

fn is_zero(expr: &Expr) -> bool {
    matches!(expr.kind, ExprKind::Literal(Value::Number(n)) if n == 0.0)
}

fn describe(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Field(field) => format!("`{}`", field.text),
        ExprKind::Literal(value) => format!("`{value}`"),
        _ => "this".into(),
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 { format!("{}", n as i64) } else { format!("{n}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Field;

    fn http() -> Schema {
        Schema::new(&[
            Field::new("status", Type::Number, ""),
            Field::new("latency", Type::Duration, ""),
            Field::new("body", Type::String, ""),
            Field::new("tls.days_left", Type::Number, ""),
        ])
        .with_dynamic(Field::new("json", Type::Dynamic, ""))
    }

    fn first_error(src: &str) -> CheckError {
        compile(src, &http()).unwrap_err().remove(0)
    }

    #[test]
    fn accepts_the_design_examples() {
        for src in [
            "status == 200",
            r#"json.status == "healthy""#,
            "latency < 200ms",
            "tls.days_left > 14",
            r#"body contains "ok" and not (status >= 500)"#,
            "status in [200, 204]",
            r#"body matches "^\\{""#,
            "json.ok",
            "json.error == null",
            "latency < 0",
        ] {
            compile(src, &http()).unwrap_or_else(|e| panic!("{src}: {e:?}"));
        }
    }

    #[test]
    fn suggests_the_field_that_was_meant() {
        let err = first_error("lantency < 200ms");
        assert_eq!(err.message, "unknown field `lantency`");
        assert_eq!(err.hint.as_deref(), Some("did you mean `latency`?"));
        assert_eq!(err.span, Span::new(0, 8));
    }

    #[test]
    fn refuses_a_duration_without_a_unit() {
        let err = first_error("latency < 200");
        assert_eq!(err.message, "`latency` is a duration, but this number has no unit");
        assert_eq!(err.hint.as_deref(), Some("write it with a unit, e.g. `200ms`"));
        assert_eq!(err.span, Span::new(10, 13));
    }

    #[test]
    fn refuses_quoted_numbers_and_ordered_strings() {
        let err = first_error(r#"status == "200""#);
        assert!(err.message.starts_with("cannot compare `status` (a number) with"));
        let err = first_error(r#"body < "b""#);
        assert!(err.message.contains("only be compared with `==` or `!=`"));
    }

    #[test]
    fn refuses_non_conditions_and_history_in_expect() {
        assert_eq!(first_error("latency").message, "this is a duration, not a condition");
        let err = first_error("availability(api, 30d) > 99.9%");
        assert!(err.message.contains("reads stored history"));
        let history = crate::schema::History { checks: vec!["api".into()], slos: vec![] };
        let ok = compile("availability(api, 30d) > 99.9%", &http().with_history(history));
        assert_eq!(ok.unwrap().calls()[0].to_string(), "availability(api, 30d)");
    }

    #[test]
    fn records_the_fields_read_once_each() {
        let program = compile("status == 200 and status != 204 and json.a == 1", &http()).unwrap();
        let names: Vec<&str> = program.fields().iter().map(|f| f.text.as_str()).collect();
        assert_eq!(names, ["status", "json.a"]);
        assert!(program.reads("json"));
        assert!(!program.reads("body"));
    }
}
