//! Evaluates a checked [`Program`] against one run's [`Observations`], and explains a failure
//! the way a person on call would want to read it: `expected status == 200, got 503`.

use crate::ast::{CompareOp, Expr, ExprKind, FieldRef, Segment};
use crate::check::Program;
use crate::history::{Call, Env, Function};
use crate::value::{Observations, Value};
use std::cmp::Ordering;
use std::fmt;

/// Why an expression could not be decided on this run (a field was not observed, a JSON value
/// had an unexpected type). A check treats this as a failure with this message.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalError {
    pub message: String,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EvalError {}

fn err<T>(message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError { message: message.into() })
}

impl Program {
    /// Decides the condition on one run's observations.
    pub fn eval(&self, obs: &Observations) -> Result<bool, EvalError> {
        self.eval_in(obs)
    }

    /// Decides the condition in any environment: an alert's reads every check's latest run and
    /// the history fetched for [`Program::calls`].
    pub fn eval_in<E: Env + ?Sized>(&self, env: &E) -> Result<bool, EvalError> {
        match eval(self.expr(), env)? {
            Value::Bool(b) | Value::Json(serde_json::Value::Bool(b)) => Ok(b),
            other => err(format!("`{}` is {}, not true or false", self.source(), other.type_name())),
        }
    }

    /// The value of the first field or call the expression reads, for `{{ value }}` in an
    /// alert's summary: `disk.used_percent > 85` has the value of `disk.used_percent`.
    pub fn first_value<E: Env + ?Sized>(&self, env: &E) -> Option<Value> {
        first_operand(self.expr(), env)
    }

    /// `expected <source>, got <what the fields were>` for a failed condition.
    pub fn explain(&self, obs: &Observations) -> String {
        self.explain_in(obs)
    }

    pub fn explain_in<E: Env + ?Sized>(&self, env: &E) -> String {
        let seen: Vec<(String, String)> = self
            .fields()
            .iter()
            .map(|field| {
                let shown = match env.field(field) {
                    Ok(value) => value.to_string(),
                    Err(e) => format!("nothing ({})", e.message),
                };
                (field.text.clone(), shown)
            })
            .collect();
        match seen.as_slice() {
            [] => format!("expected {}", self.source()),
            [(_, value)] => format!("expected {}, got {value}", self.source()),
            many => {
                let parts: Vec<String> = many.iter().map(|(name, value)| format!("{name} = {value}")).collect();
                format!("expected {}, got {}", self.source(), parts.join(", "))
            }
        }
    }
}

impl Env for Observations {
    fn field(&self, field: &FieldRef) -> Result<Value, EvalError> {
        lookup(field, self)
    }
}

/// The leftmost field or call of `expr`, evaluated.
fn first_operand<E: Env + ?Sized>(expr: &Expr, env: &E) -> Option<Value> {
    match &expr.kind {
        ExprKind::Field(_) | ExprKind::Call(..) => eval(expr, env).ok(),
        ExprKind::Literal(_) | ExprKind::List(_) => None,
        ExprKind::Not(inner) | ExprKind::Matches(inner, _) => first_operand(inner, env),
        ExprKind::And(terms) | ExprKind::Or(terms) => terms.iter().find_map(|t| first_operand(t, env)),
        ExprKind::Compare(_, l, r) | ExprKind::Contains(l, r) | ExprKind::In(l, r) => {
            first_operand(l, env).or_else(|| first_operand(r, env))
        }
    }
}

fn eval<E: Env + ?Sized>(expr: &Expr, obs: &E) -> Result<Value, EvalError> {
    match &expr.kind {
        ExprKind::Literal(value) => Ok(value.clone()),
        ExprKind::Field(field) => obs.field(field),
        ExprKind::List(items) => Ok(Value::List(items.iter().map(|i| eval(i, obs)).collect::<Result<_, _>>()?)),
        ExprKind::Not(inner) => Ok(Value::Bool(!truth(inner, obs)?)),
        ExprKind::And(terms) => {
            for term in terms {
                if !truth(term, obs)? {
                    return Ok(Value::Bool(false));
                }
            }
            Ok(Value::Bool(true))
        }
        ExprKind::Or(terms) => {
            for term in terms {
                if truth(term, obs)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        ExprKind::Compare(op, l, r) => {
            let (lv, rv) = (eval(l, obs)?, eval(r, obs)?);
            compare(*op, &lv, &rv).map(Value::Bool)
        }
        ExprKind::Contains(l, r) => {
            let (lv, rv) = (eval(l, obs)?, eval(r, obs)?);
            contains(&lv, &rv).map(Value::Bool)
        }
        ExprKind::In(l, r) => {
            let (lv, rv) = (eval(l, obs)?, eval(r, obs)?);
            contains(&rv, &lv).map(Value::Bool)
        }
        ExprKind::Matches(l, regex) => match eval(l, obs)? {
            Value::String(s) | Value::Json(serde_json::Value::String(s)) => Ok(Value::Bool(regex.is_match(&s))),
            other => err(format!("`matches` needs a string, but the value is {}", other.type_name())),
        },
        ExprKind::Call(name, args) => obs.call(&call_of(name, args)?),
    }
}

/// The call as the type checker resolved it: a name, a target and perhaps a window.
fn call_of(name: &str, args: &[Expr]) -> Result<Call, EvalError> {
    let Some(function) = Function::named(name) else { return err(format!("unknown function `{name}`")) };
    let target = match args.first().map(|a| &a.kind) {
        Some(ExprKind::Field(f)) => f.root.clone(),
        _ => return err(format!("`{name}` names no check")),
    };
    let window = match args.get(1).map(|a| &a.kind) {
        Some(ExprKind::Literal(Value::Duration(d))) => Some(std::time::Duration::from_secs_f64(*d)),
        _ => None,
    };
    Ok(Call { function, target, window })
}

fn truth<E: Env + ?Sized>(expr: &Expr, obs: &E) -> Result<bool, EvalError> {
    match eval(expr, obs)? {
        Value::Bool(b) | Value::Json(serde_json::Value::Bool(b)) => Ok(b),
        other => err(format!("expected true or false, but the value is {} ({other})", other.type_name())),
    }
}

/// Reads a field; for dynamic roots, walks the JSON path. Header names are case-insensitive.
pub(crate) fn lookup(field: &FieldRef, obs: &Observations) -> Result<Value, EvalError> {
    if let Some(name) = field.dotted()
        && let Some(value) = obs.get(&name)
    {
        return Ok(value.clone());
    }
    let Some(root) = obs.get(&field.root) else {
        return match obs.why_missing(&field.root) {
            Some(reason) => err(format!("{} was not observed: {reason}", field.text)),
            None => err(format!("{} was not observed", field.text)),
        };
    };
    if field.segments.is_empty() {
        return Ok(root.clone());
    }
    let Value::Json(json) = root else {
        return err(format!("{} has no fields inside it", field.root));
    };
    let mut current = json;
    let fold_case = field.root == "header";
    for (depth, segment) in field.segments.iter().enumerate() {
        let next = match (segment, current) {
            (Segment::Key(key), serde_json::Value::Object(map)) => {
                if fold_case {
                    map.get(&key.to_ascii_lowercase())
                } else {
                    map.get(key)
                }
            }
            (Segment::Index(i), serde_json::Value::Array(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(value) => current = value,
            None => {
                let at = path_prefix(field, depth + 1);
                return err(format!("{at} is missing"));
            }
        }
    }
    Ok(Value::Json(current.clone()))
}

fn path_prefix(field: &FieldRef, segments: usize) -> String {
    let mut text = field.root.clone();
    for segment in &field.segments[..segments] {
        match segment {
            Segment::Key(k) => {
                text.push('.');
                text.push_str(k);
            }
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

/// A value reduced to what comparison needs.
enum Scalar<'a> {
    Num(f64, NumKind),
    Str(&'a str),
    Bool(bool),
    Null,
    Other(&'static str),
}

#[derive(Clone, Copy, PartialEq)]
enum NumKind {
    Plain,
    Duration,
    Size,
}

fn scalar(value: &Value) -> Scalar<'_> {
    match value {
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) | Value::Percent(n) => Scalar::Num(*n, NumKind::Plain),
        Value::Duration(n) => Scalar::Num(*n, NumKind::Duration),
        Value::Size(n) => Scalar::Num(*n, NumKind::Size),
        Value::String(s) => Scalar::Str(s),
        Value::Null => Scalar::Null,
        Value::List(_) => Scalar::Other("a list"),
        Value::Json(json) => match json {
            serde_json::Value::Null => Scalar::Null,
            serde_json::Value::Bool(b) => Scalar::Bool(*b),
            serde_json::Value::Number(n) => Scalar::Num(n.as_f64().unwrap_or(f64::NAN), NumKind::Plain),
            serde_json::Value::String(s) => Scalar::Str(s),
            serde_json::Value::Array(_) => Scalar::Other("a list"),
            serde_json::Value::Object(_) => Scalar::Other("an object"),
        },
    }
}

fn compare(op: CompareOp, l: &Value, r: &Value) -> Result<bool, EvalError> {
    let ordering = match (scalar(l), scalar(r)) {
        (Scalar::Num(a, ka), Scalar::Num(b, kb)) => {
            let units_agree = ka == kb || (ka == NumKind::Plain && a == 0.0) || (kb == NumKind::Plain && b == 0.0);
            if !units_agree {
                return err(format!("cannot compare {l} ({}) with {r} ({})", l.type_name(), r.type_name()));
            }
            a.partial_cmp(&b)
        }
        (Scalar::Str(a), Scalar::Str(b)) => Some(a.cmp(b)),
        (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(&b)),
        (Scalar::Null, Scalar::Null) => Some(Ordering::Equal),
        (Scalar::Other(what), _) | (_, Scalar::Other(what)) => {
            return err(format!("cannot compare {what} with `{}`", op.symbol()));
        }
        // Different JSON types are simply unequal; ordering them means nothing.
        _ if !op.is_ordering() => None,
        _ => {
            return err(format!("cannot order {l} ({}) against {r} ({})", l.type_name(), r.type_name()));
        }
    };
    Ok(match (op, ordering) {
        (CompareOp::Eq, o) => o == Some(Ordering::Equal),
        (CompareOp::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => false, // NaN is never ordered
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
    })
}

fn contains(haystack: &Value, needle: &Value) -> Result<bool, EvalError> {
    let equal = |item: &Value| compare(CompareOp::Eq, item, needle).unwrap_or(false);
    match haystack {
        Value::String(s) | Value::Json(serde_json::Value::String(s)) => match scalar(needle) {
            Scalar::Str(n) => Ok(s.contains(n)),
            _ => err(format!("a string can only contain a string, not {}", needle.type_name())),
        },
        Value::List(items) => Ok(items.iter().any(equal)),
        Value::Json(serde_json::Value::Array(items)) => Ok(items.iter().any(|item| equal(&Value::Json(item.clone())))),
        Value::Json(serde_json::Value::Object(map)) => match scalar(needle) {
            Scalar::Str(key) => Ok(map.contains_key(key)),
            _ => err("an object can only contain a key (a string)"),
        },
        other => err(format!("`contains` needs a string or a list, but the value is {}", other.type_name())),
    }
}

#[cfg(test)]
mod tests {
    use crate::schema::{Field, Schema, Type};
    use crate::value::{Observations, Value};
    use crate::{Program, compile};
    use serde_json::json;

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("status", Type::Number, ""),
            Field::new("latency", Type::Duration, ""),
            Field::new("body", Type::String, ""),
            Field::new("free", Type::Size, ""),
            Field::new("used_percent", Type::Percent, ""),
            Field::new("tls.days_left", Type::Number, ""),
        ])
        .with_dynamic(Field::new("json", Type::Dynamic, ""))
        .with_dynamic(Field::new("header", Type::Dynamic, ""))
    }

    fn program(src: &str) -> Program {
        compile(src, &schema()).unwrap_or_else(|e| panic!("{src}: {e:?}"))
    }

    fn obs() -> Observations {
        let mut o = Observations::new();
        o.insert("status", Value::Number(503.0));
        o.insert("latency", Value::Duration(0.35));
        o.insert("body", Value::String("{\"status\":\"degraded\"}".into()));
        o.insert("free", Value::Size(5.0 * 1024.0 * 1024.0 * 1024.0));
        o.insert("used_percent", Value::Percent(87.5));
        o.insert(
            "json",
            Value::Json(json!({"status": "degraded", "checks": {"db": {"ok": true}}, "items": [1, 2, 3]})),
        );
        o.insert("header", Value::Json(json!({"content-type": "application/json"})));
        o
    }

    #[test]
    fn evaluates_units_against_units() {
        let o = obs();
        assert!(!program("latency < 200ms").eval(&o).unwrap());
        assert!(program("latency < 1s").eval(&o).unwrap());
        assert!(program("free < 10GiB").eval(&o).unwrap());
        assert!(program("used_percent > 85").eval(&o).unwrap());
        assert!(program("used_percent > 85%").eval(&o).unwrap());
    }

    #[test]
    fn navigates_json_and_headers() {
        let o = obs();
        assert!(program(r#"json.status == "degraded""#).eval(&o).unwrap());
        assert!(program("json.checks.db.ok").eval(&o).unwrap());
        assert!(program("json.items[1] == 2").eval(&o).unwrap());
        assert!(program("json.items contains 3").eval(&o).unwrap());
        assert!(program(r#"header.Content-Type contains "json""#).eval(&o).unwrap());
        let missing = program(r#"json.checks.cache.ok"#).eval(&o).unwrap_err();
        assert_eq!(missing.message, "json.checks.cache is missing");
    }

    #[test]
    fn short_circuits_so_guards_work() {
        let o = obs();
        assert!(!program("status == 200 and json.nope == 1").eval(&o).unwrap());
        assert!(program("status == 503 or json.nope == 1").eval(&o).unwrap());
    }

    #[test]
    fn mismatched_json_types_are_unequal_not_errors() {
        let o = obs();
        assert!(!program("json.status == 1").eval(&o).unwrap());
        assert!(program("json.status != 1").eval(&o).unwrap());
        assert!(program("json.status < 1").eval(&o).is_err());
    }

    #[test]
    fn explains_failures_in_words() {
        let o = obs();
        assert_eq!(program("status == 200").explain(&o), "expected status == 200, got 503");
        assert_eq!(
            program("status == 200 and latency < 200ms").explain(&o),
            "expected status == 200 and latency < 200ms, got status = 503, latency = 350ms"
        );
        let mut o = Observations::new();
        o.mark_missing("tls", "the URL is not https");
        assert_eq!(
            program("tls.days_left > 14").explain(&o),
            "expected tls.days_left > 14, got nothing (tls.days_left was not observed: the URL is not https)"
        );
    }
}
