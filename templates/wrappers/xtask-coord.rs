//! `cargo xtask coord ...`: a thin wrapper over the claude-coord CLI.
//!
//! Add this file to your xtask crate as `src/coord.rs`, then dispatch to it from `main.rs`:
//!
//! ```rust,ignore
//! mod coord;
//!
//! fn main() {
//!     let args: Vec<String> = std::env::args().skip(1).collect();
//!     match args.first().map(String::as_str) {
//!         Some("coord") => std::process::exit(coord::run(&args[1..])),
//!         _ => {
//!             eprintln!("usage: cargo xtask coord <claims|next|claim TASK|complete TASK|doctor|plan-validate>");
//!             std::process::exit(64);
//!         }
//!     }
//! }
//! ```
//!
//! Usage:
//!
//! ```bash
//! cargo xtask coord claims
//! cargo xtask coord next
//! cargo xtask coord claim implement-feature-x
//! cargo xtask coord complete implement-feature-x
//! cargo xtask coord doctor
//! cargo xtask coord plan-validate
//! ```
//!
//! The CLI's exit code is returned unchanged (0 ok, 1 conflict, 2 service unavailable, 3 session already
//! has a claim, 4 stale token, 5 repository not whitelisted, 64 usage or configuration).

use std::process::Command;

/// Runs `claude-coord` for the given xtask arguments and returns its exit code.
pub fn run(args: &[String]) -> i32 {
    let cli_args: Vec<String> = match args {
        [sub] if sub == "claims" || sub == "next" || sub == "doctor" => vec![sub.clone()],
        [sub] if sub == "plan-validate" => vec!["plan".into(), "validate".into()],
        [sub, task] if sub == "claim" || sub == "complete" => vec![sub.clone(), "--task".into(), task.clone()],
        _ => {
            eprintln!("usage: cargo xtask coord <claims|next|claim TASK|complete TASK|doctor|plan-validate>");
            return 64;
        }
    };
    let program = std::env::var("CLAUDE_COORD").unwrap_or_else(|_| "claude-coord".to_string());
    match Command::new(&program).args(&cli_args).status() {
        Ok(status) => status.code().unwrap_or(1),
        Err(error) => {
            eprintln!("ERROR: could not run {program}: {error}");
            eprintln!("ACTION REQUIRED: install claude-coord (see install.sh) or set CLAUDE_COORD to its path.");
            2
        }
    }
}
