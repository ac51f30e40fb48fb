//! `cargo lambda watch --only-lambda-apis` as the Runtime API, and `cargo lambda invoke`: how
//! Rust Lambda authors try a function locally. cargo-lambda comes from PyPI (./test.sh installs
//! it into .venv/). Given port 0 it takes 9000 rather than a free port, so it is given a port
//! picked free, and is tried again on another if that one was taken meanwhile; it stops when
//! dropped.

use std::process::{Child, Command, Output, Stdio};

use super::moto::{repo_root, tool};
use super::net::{free_port, wait_for_own_port};

fn cargo_lambda() -> Command {
    let mut command = Command::new(tool("CARGO_LAMBDA", "cargo-lambda"));
    command.arg("lambda").current_dir(repo_root());
    command
}

pub struct Watch {
    pub port: u16,
    child: Child,
}

impl Watch {
    pub fn start() -> Self {
        for _ in 0..3 {
            let port = free_port();
            let mut child = cargo_lambda()
                .args(["watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cargo-lambda must be installed (./test.sh installs it into .venv/)");
            if wait_for_own_port(&mut child, port, "cargo lambda watch") {
                return Self { port, child };
            }
            let _ = child.wait();
        }
        panic!("cargo lambda watch could not listen on any of three free ports");
    }

    /// What a function started under this server sets as AWS_LAMBDA_RUNTIME_API.
    pub fn runtime_api(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }

    /// `cargo lambda invoke` with `payload`, as the function named `_`.
    pub fn invoke(&self, payload: &serde_json::Value) -> Output {
        cargo_lambda()
            .args(["invoke", "-A", "127.0.0.1", "-P", &self.port.to_string(), "--output-format", "json"])
            .args(["--data-ascii", &payload.to_string(), "_"])
            .output()
            .unwrap()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
