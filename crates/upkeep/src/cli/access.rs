//! `upkeep user hash-password` and `upkeep token new`: make the secrets that `[[user]]` and
//! `[[token]]` refer to. Only hashes go into upkeep.toml.

use super::{EXIT_BAD_INPUT, EXIT_OK};
use clap::Subcommand;
use std::io::BufRead;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Read a password on standard input and print its argon2 hash for `password_hash`.
    HashPassword,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a new API token; prints the token (give it to the client) and the config lines.
    New {
        /// The token's name in config and logs.
        #[arg(long, default_value = "api")]
        name: String,
        /// viewer, responder or admin.
        #[arg(long, default_value = "viewer")]
        role: String,
    },
}

pub fn user(command: UserCommand) -> u8 {
    match command {
        UserCommand::HashPassword => {
            eprintln!("Password (one line on standard input):");
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).is_err() {
                eprintln!("error: cannot read standard input");
                return EXIT_BAD_INPUT;
            }
            let password = line.trim_end_matches(['\r', '\n']);
            if password.len() < 8 {
                eprintln!("error: use a password of at least 8 characters");
                return EXIT_BAD_INPUT;
            }
            match upkeep_access::hash_password(password) {
                Ok(hash) => {
                    println!("{hash}");
                    eprintln!(
                        "\nIn upkeep.toml:\n[[user]]\nname = \"you\"\npassword_hash = '{hash}'\nrole = \"admin\""
                    );
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("error: cannot hash the password: {e}");
                    EXIT_BAD_INPUT
                }
            }
        }
    }
}

pub fn token(command: TokenCommand) -> u8 {
    match command {
        TokenCommand::New { name, role } => {
            if let Err(problem) = role.parse::<upkeep_access::Role>() {
                eprintln!("error: {problem}");
                return EXIT_BAD_INPUT;
            }
            let (token, sha) = upkeep_access::new_token();
            println!("{token}");
            eprintln!("\nGive the token above to the client (Authorization: Bearer <token>); it is shown only now.");
            eprintln!("In upkeep.toml:\n[[token]]\nname = \"{name}\"\nsha256 = \"{sha}\"\nrole = \"{role}\"");
            EXIT_OK
        }
    }
}
