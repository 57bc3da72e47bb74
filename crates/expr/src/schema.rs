//! What a probe kind observes: the fields an expression may name, with their types.

use std::fmt;

/// The static type of an expression or field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    Duration,
    Size,
    Percent,
    String,
    List,
    Null,
    /// JSON whose shape is known only at run time (`json.*`, `row.*`, `header.*`).
    Dynamic,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Bool => "a boolean",
            Type::Number => "a number",
            Type::Duration => "a duration",
            Type::Size => "a size",
            Type::Percent => "a percentage",
            Type::String => "a string",
            Type::List => "a list",
            Type::Null => "null",
            Type::Dynamic => "a JSON value",
        })
    }
}

/// One observed field: its name, type and a line of documentation.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub ty: Type,
    pub doc: &'static str,
}

impl Field {
    pub const fn new(name: &'static str, ty: Type, doc: &'static str) -> Self {
        Field { name, ty, doc }
    }
}

/// The fields a context offers to expressions.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    fields: Vec<Field>,
    /// Roots whose paths are resolved at run time, such as `json` in `json.status`.
    dynamic_roots: Vec<Field>,
    /// Names scoping other schemas: in an alert's `when`, each check's name scopes its kind's
    /// fields (`disk.used_percent`).
    scopes: std::collections::BTreeMap<String, std::sync::Arc<Schema>>,
    /// The checks and SLOs functions over stored history may read; `None` where history
    /// cannot be read (`expect` judges one run).
    history: Option<History>,
}

/// What history functions may name.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub checks: Vec<String>,
    pub slos: Vec<String>,
}

impl Schema {
    pub fn new(fields: &[Field]) -> Self {
        Schema { fields: fields.to_vec(), dynamic_roots: Vec::new(), scopes: Default::default(), history: None }
    }

    /// Adds a root such as `json` whose sub-paths are typed at run time.
    pub fn with_dynamic(mut self, root: Field) -> Self {
        self.dynamic_roots.push(root);
        self
    }

    pub fn with_fields(mut self, fields: &[Field]) -> Self {
        self.fields.extend_from_slice(fields);
        self
    }

    /// Allows functions over the stored history of these checks and SLOs, as alert
    /// conditions do.
    pub fn with_history(mut self, history: History) -> Self {
        self.history = Some(history);
        self
    }

    /// Adds a name whose fields are `schema`'s: `disk` in `disk.used_percent`.
    /// Schemas are shared: every check of a kind scopes the same one.
    pub fn with_scope(mut self, name: impl Into<String>, schema: std::sync::Arc<Schema>) -> Self {
        self.scopes.insert(name.into(), schema);
        self
    }

    pub fn scope(&self, name: &str) -> Option<&Schema> {
        self.scopes.get(name).map(|s| &**s)
    }

    pub fn scope_names(&self) -> impl Iterator<Item = &str> {
        self.scopes.keys().map(String::as_str)
    }

    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    pub fn dynamic_roots(&self) -> &[Field] {
        &self.dynamic_roots
    }

    pub fn history(&self) -> Option<&History> {
        self.history.as_ref()
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn dynamic_root(&self, root: &str) -> Option<&Field> {
        self.dynamic_roots.iter().find(|f| f.name == root)
    }

    /// The known name closest to a misspelt one, if any is close enough to be a typo.
    pub fn suggest(&self, name: &str) -> Option<String> {
        let candidates = self
            .fields
            .iter()
            .map(|f| f.name.to_string())
            .chain(self.dynamic_roots.iter().map(|f| format!("{}.", f.name)));
        closest(name, candidates)
    }
}

/// The candidate most like `name`, when it is similar enough to be what was meant.
pub fn closest(name: &str, candidates: impl IntoIterator<Item = String>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, &c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
