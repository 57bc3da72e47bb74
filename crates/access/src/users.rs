//! `[[user]]` (dashboard sign-ins, argon2 password hashes) and `[[token]]` (API tokens, kept as
//! SHA-256), each with a role, read from the config through the same reader as everything else.

use crate::Role;
use upkeep_config::{Diagnostics, Sections, Table, TableReader};

#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub name: String,
    /// A PHC-format argon2 hash, as `upkeep user hash-password` prints.
    pub password_hash: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub name: String,
    /// Lower-case hex SHA-256 of the token, as `upkeep token new` prints.
    pub sha256: String,
    pub role: Role,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Access {
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
    /// Whether `/metrics` needs a token (`[server] metrics = "token"`).
    pub metrics_need_token: bool,
}

impl Access {
    /// With neither users nor tokens, the dashboard and API are open to whoever can connect.
    pub fn is_open(&self) -> bool {
        self.users.is_empty() && self.tokens.is_empty()
    }
}

fn role(t: &mut TableReader, d: &mut Diagnostics) -> Role {
    let Some(written) = t.string(d, "role") else { return Role::Viewer };
    written.get_ref().parse().unwrap_or_else(|problem: String| {
        d.error(written.span(), problem, Some("roles: viewer, responder, admin".into()));
        Role::Viewer
    })
}

fn read_user(table: Table, d: &mut Diagnostics) -> Option<User> {
    let mut t = TableReader::new(table, "a user");
    let name = t.required_string(d, "name", "\"alice\"");
    if let Some(name) = &name {
        t.set_context(format!("user \"{}\"", name.get_ref()));
    }
    let hash = t.required_string(d, "password_hash", "\"$argon2id$...\" (from `upkeep user hash-password`)");
    let role = role(&mut t, d);
    t.finish(d);
    let hash = hash?;
    match argon2_cost(hash.get_ref()) {
        Ok(()) => Some(User { name: name?.into_inner(), password_hash: hash.into_inner(), role }),
        Err(problem) => {
            d.error(
                hash.span(),
                problem,
                Some("make one with `upkeep user hash-password`; never put the password itself here".into()),
            );
            None
        }
    }
}

/// The most memory one sign-in's verification may take: verification uses the memory the
/// hash asks for, and a hash asking for gigabytes would let every sign-in attempt take them.
const MAX_ARGON2_KIB: u32 = 64 * 1024;
const MAX_ARGON2_PASSES: u32 = 16;
const MAX_ARGON2_LANES: u32 = 8;

/// `Ok` for an argon2 hash whose cost is bounded, else what is wrong with it.
fn argon2_cost(hash: &str) -> Result<(), String> {
    let parsed = argon2::PasswordHash::new(hash).map_err(|_| "`password_hash` is not an argon2 hash".to_string())?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err("`password_hash` is not an argon2 hash".into());
    }
    let params = argon2::Params::try_from(&parsed).map_err(|e| format!("`password_hash` has bad parameters: {e}"))?;
    if params.m_cost() > MAX_ARGON2_KIB || params.t_cost() > MAX_ARGON2_PASSES || params.p_cost() > MAX_ARGON2_LANES {
        return Err(format!(
            "`password_hash` asks for {} MiB, {} passes and {} lanes per sign-in; at most {} MiB, {MAX_ARGON2_PASSES} and {MAX_ARGON2_LANES}",
            params.m_cost() / 1024,
            params.t_cost(),
            params.p_cost(),
            MAX_ARGON2_KIB / 1024
        ));
    }
    Ok(())
}

fn read_token(table: Table, d: &mut Diagnostics) -> Option<Token> {
    let mut t = TableReader::new(table, "a token");
    let name = t.required_string(d, "name", "\"ci\"");
    if let Some(name) = &name {
        t.set_context(format!("token \"{}\"", name.get_ref()));
    }
    let sha = t.required_string(d, "sha256", "\"<64 hex digits>\" (from `upkeep token new`)");
    let role = role(&mut t, d);
    t.finish(d);
    let sha = sha?;
    let text = sha.get_ref().to_ascii_lowercase();
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Some(Token { name: name?.into_inner(), sha256: text, role })
    } else {
        d.error(
            sha.span(),
            "`sha256` must be 64 hex digits: the SHA-256 of the token",
            Some("make a token with `upkeep token new`; never put the token itself here".into()),
        );
        None
    }
}

/// Every `[[user]]` and `[[token]]`; `metrics_need_token` comes from `[server] metrics`.
pub fn read_access(sections: &mut Sections, d: &mut Diagnostics, metrics_need_token: bool) -> Access {
    let mut access = Access { metrics_need_token, ..Access::default() };
    for table in sections.tables(d, "user") {
        let start = table.span.start;
        if let Some(user) = read_user(table, d) {
            if access.users.iter().any(|u| u.name == user.name) {
                d.error(
                    start..start + 1,
                    format!("two users are named `{}`", user.name),
                    Some("each [[user]] needs its own `name`".into()),
                );
            }
            access.users.push(user);
        }
    }
    for table in sections.tables(d, "token") {
        if let Some(token) = read_token(table, d) {
            access.tokens.push(token);
        }
    }
    access
}
