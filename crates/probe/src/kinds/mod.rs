//! Every probe kind, one file each (the SQL kinds share `sql/`), registered below: a new kind
//! is a new file here and one line in `kinds!`.

pub mod command;
pub mod disk;
pub mod dns;
pub mod file;
pub mod heartbeat;
pub mod http;
pub mod load_avg;
pub mod log;
pub mod memory;
pub mod redis;
pub mod sql;
pub mod tcp;
pub mod tls;

crate::kind::kinds! {
    Http => http::Http,
    Tcp => tcp::Tcp,
    Tls => tls::Tls,
    Dns => dns::Dns,
    Postgres => sql::postgres::Postgres,
    Mysql => sql::mysql::Mysql,
    Sqlite => sql::sqlite::Sqlite,
    Redis => redis::Redis,
    Disk => disk::Disk,
    Memory => memory::Memory,
    Load => load_avg::Load,
    File => file::File,
    Log => log::Log,
    Command => command::Command,
    Heartbeat => heartbeat::Heartbeat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_expectation_compiles_against_its_kind() {
        for kind in KINDS {
            let schema = schema(kind).expect("every kind has a schema");
            for source in default_expect(kind) {
                if let Err(e) = upkeep_expr::compile(source, &schema) {
                    panic!("default expect `{source}` of {kind} does not compile: {e:?}");
                }
            }
        }
    }

    #[test]
    fn no_field_is_named_like_an_operator() {
        const KEYWORDS: &[&str] = &["and", "or", "not", "contains", "matches", "in", "true", "false", "null"];
        for kind in KINDS {
            let schema = schema(kind).expect("every kind has a schema");
            for field in schema.fields().iter().chain(schema.dynamic_roots()) {
                let root = field.name.split('.').next().unwrap_or_default();
                assert!(!KEYWORDS.contains(&root), "{kind} field `{}` cannot be written in an expression", field.name);
            }
        }
    }
}
