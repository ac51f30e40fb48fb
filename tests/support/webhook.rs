//! A real HTTP receiver for webhooks on a free loopback port, stopped when dropped.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use serde_json::Value;

/// What a webhook receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// How the receiver answers: a status per request (the last one repeats), or never.
#[derive(Clone, Debug)]
pub enum Reply {
    Statuses(Vec<u16>),
    Never,
}

pub struct WebhookSink {
    pub port: u16,
    pub got: Arc<Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
}

impl WebhookSink {
    pub fn start(reply: Reply) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (server.clone(), got.clone());
        thread::spawn(move || {
            let mut statuses: VecDeque<u16> = match &reply {
                Reply::Statuses(v) => v.iter().copied().collect(),
                Reply::Never => VecDeque::new(),
            };
            let mut held = Vec::new();
            for mut req in s.incoming_requests() {
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                let headers = req.headers().iter().map(|h| (h.field.to_string(), h.value.to_string())).collect();
                g.lock().unwrap().push(Received { headers, body, at: Instant::now() });
                match &reply {
                    Reply::Never => held.push(req),
                    Reply::Statuses(_) => {
                        let status = if statuses.len() > 1 {
                            statuses.pop_front().unwrap()
                        } else {
                            statuses.front().copied().unwrap_or(200)
                        };
                        let _ = req.respond(tiny_http::Response::from_string("ok").with_status_code(status));
                    }
                }
            }
        });
        Self { port, got, server }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook/secret-path-token", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
