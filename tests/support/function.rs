//! The function binary, started as Lambda starts it (or as a CLI), with its output collected.
//! A log is read whole only once the process has exited and every line is in: [`Function::stop`].

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::runtime::RuntimeApi;

pub struct Function {
    pub child: Child,
    log: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// The binary under test, with a clean environment: PATH and what Lambda sets, then `env`.
pub fn command(env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dynamic-dns-updater"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

impl Function {
    /// Starts the binary polling `runtime`, as function "ddns-test".
    pub fn start(runtime: &RuntimeApi, env: &[(String, String)]) -> Self {
        Self::start_at(&format!("127.0.0.1:{}", runtime.port), env)
    }

    /// Starts the binary polling the Runtime API at `api` (host:port, or a URL with a path).
    pub fn start_at(api: &str, env: &[(String, String)]) -> Self {
        let mut lambda: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", api),
            ("AWS_LAMBDA_FUNCTION_NAME", "ddns-test"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "test"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/ddns-test"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        lambda.extend_from_slice(env);
        let mut child = command(&lambda).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let streams: [Option<Box<dyn Read + Send>>; 2] = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>),
        ];
        let readers = streams.into_iter().flatten().map(|stream| copy_into(stream, log.clone())).collect();
        Self { child, log, readers }
    }

    /// What the process wrote so far: for messages when a test fails, never for assertions.
    pub fn log_so_far(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Stops the process and returns everything it wrote, every reader drained.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.drain()
    }

    /// Waits for the process to exit by itself (start-up failures); its status and whole log.
    pub fn wait_exit(mut self, within: Duration) -> (Option<ExitStatus>, String) {
        let start = Instant::now();
        let mut status = None;
        while start.elapsed() < within {
            if let Some(s) = self.child.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        if status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        (status, self.drain())
    }

    fn drain(&mut self) -> String {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.log.lock().unwrap().clone()
    }
}

fn copy_into(mut stream: Box<dyn Read + Send>, log: Arc<Mutex<String>>) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            log.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
