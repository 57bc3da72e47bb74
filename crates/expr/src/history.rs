//! Functions over stored history (`availability(api, 30d)`, `burn_rate(api-availability, 1h)`)
//! and the environment an expression is evaluated in. A program lists its calls ([`Call`]) so
//! the caller can fetch every value a rule needs from the store first (one read per call, none
//! of them per row), then evaluate without waiting on anything.

use crate::ast::FieldRef;
use crate::eval::EvalError;
use crate::schema::Type;
use crate::value::Value;
use std::time::Duration;

/// A history function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// Share of passing runs, as a percentage.
    Availability,
    /// Share of failing runs, as a percentage.
    ErrorRate,
    /// A latency quantile of the check's runs.
    Quantile(Quantile),
    /// How many runs.
    Count,
    /// How many times the check went from passing to failing or back.
    Changes,
    /// An SLO's burn rate over a window.
    BurnRate,
    /// An SLO's remaining error budget over its own window, as a percentage (may be negative).
    BudgetRemaining,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quantile {
    P50,
    P90,
    P95,
    P99,
}

impl Quantile {
    /// Every quantile, in the order windows keep them.
    pub const ALL: [Quantile; 4] = [Quantile::P50, Quantile::P90, Quantile::P95, Quantile::P99];

    /// Its place in [`Quantile::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn q(self) -> f64 {
        match self {
            Quantile::P50 => 0.5,
            Quantile::P90 => 0.9,
            Quantile::P95 => 0.95,
            Quantile::P99 => 0.99,
        }
    }
}

/// What a function's first argument names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Check,
    Slo,
}

impl Target {
    pub fn word(self) -> &'static str {
        match self {
            Target::Check => "check",
            Target::Slo => "SLO",
        }
    }
}

const FUNCTIONS: &[(&str, Function)] = &[
    ("availability", Function::Availability),
    ("error_rate", Function::ErrorRate),
    ("p50", Function::Quantile(Quantile::P50)),
    ("p90", Function::Quantile(Quantile::P90)),
    ("p95", Function::Quantile(Quantile::P95)),
    ("p99", Function::Quantile(Quantile::P99)),
    ("count", Function::Count),
    ("changes", Function::Changes),
    ("burn_rate", Function::BurnRate),
    ("budget_remaining", Function::BudgetRemaining),
];

impl Function {
    pub fn named(name: &str) -> Option<Function> {
        FUNCTIONS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    pub fn name(self) -> &'static str {
        FUNCTIONS.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    pub fn names() -> impl Iterator<Item = &'static str> {
        FUNCTIONS.iter().map(|(n, _)| *n)
    }

    pub fn target(self) -> Target {
        match self {
            Function::BurnRate | Function::BudgetRemaining => Target::Slo,
            _ => Target::Check,
        }
    }

    /// Whether the second argument, a window, is taken: an SLO's remaining budget is over the
    /// SLO's own window.
    pub fn takes_window(self) -> bool {
        self != Function::BudgetRemaining
    }

    pub fn result(self) -> Type {
        match self {
            Function::Availability | Function::ErrorRate | Function::BudgetRemaining => Type::Percent,
            Function::Quantile(_) => Type::Duration,
            Function::Count | Function::Changes | Function::BurnRate => Type::Number,
        }
    }
}

/// One call in a program, with its arguments resolved: what to fetch before evaluating.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Call {
    pub function: Function,
    /// The check or SLO it reads.
    pub target: String,
    /// The window, for functions that take one.
    pub window: Option<Duration>,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.window {
            Some(w) => write!(f, "{}({}, {})", self.function.name(), self.target, Value::duration(w)),
            None => write!(f, "{}({})", self.function.name(), self.target),
        }
    }
}

/// What an expression reads its fields and calls from: one probe run's observations for
/// `expect`; the latest observations of every check and the fetched history for `when`.
pub trait Env {
    fn field(&self, field: &FieldRef) -> Result<Value, EvalError>;

    fn call(&self, call: &Call) -> Result<Value, EvalError> {
        Err(EvalError { message: format!("`{call}` needs stored history, which is not available here") })
    }
}
