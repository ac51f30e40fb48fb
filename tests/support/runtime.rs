//! A Lambda Runtime API on a loopback port the system picks: hands events to the function process
//! and collects its answers, as Lambda does. As in Lambda, an event's deadline runs from when
//! the function takes it, not from when it was queued (a cold start is not part of it).
//! Stopped when dropped.

use std::io::Read;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

/// The function's answer to one event.
#[derive(Clone, Debug)]
pub enum Answered {
    Response(Value),
    Error(Value),
    InitError(Value),
}

pub struct RuntimeApi {
    pub port: u16,
    events: Sender<(Value, Duration)>,
    /// Each answer, with how long after the function took its event it came.
    answers: Mutex<Receiver<(Answered, Duration)>>,
    server: Arc<tiny_http::Server>,
}

impl RuntimeApi {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let (events_tx, events_rx) = channel::<(Value, Duration)>();
        let (answers_tx, answers_rx) = channel();
        let s = server.clone();
        thread::spawn(move || {
            let mut n = 0u32;
            let mut taken = Instant::now();
            for mut req in s.incoming_requests() {
                let url = req.url().to_string();
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
                if url.ends_with("/invocation/next") {
                    let Ok((event, timeout)) = events_rx.recv() else {
                        return;
                    };
                    n += 1;
                    taken = Instant::now();
                    let deadline = SystemTime::now() + timeout;
                    let deadline_ms = deadline.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as u64;
                    let _ = req.respond(next_event(n, &event, deadline_ms));
                } else {
                    let answered = if url.ends_with("/response") {
                        Answered::Response(parsed)
                    } else if url.contains("/init/error") {
                        Answered::InitError(parsed)
                    } else {
                        Answered::Error(parsed)
                    };
                    let _ = answers_tx.send((answered, taken.elapsed()));
                    let _ = req.respond(tiny_http::Response::from_string("{}").with_status_code(202));
                }
            }
        });
        Self { port, events: events_tx, answers: Mutex::new(answers_rx), server }
    }

    /// Hands one event to the function with `timeout` until its deadline, and waits for its answer.
    pub fn invoke(&self, event: &Value, timeout: Duration) -> Answered {
        self.invoke_timed(event, timeout).0
    }

    /// The same, and how long the answer took from when the function took the event: what
    /// Lambda's deadline measures.
    pub fn invoke_timed(&self, event: &Value, timeout: Duration) -> (Answered, Duration) {
        self.events.send((event.clone(), timeout)).unwrap();
        // Generous: the function may still be starting when the event is queued.
        let wait = timeout + Duration::from_secs(60);
        self.answers.lock().unwrap().recv_timeout(wait).expect("the function answered")
    }
}

/// The answer to `GET /invocation/next`: the event, with the headers Lambda sends beside it.
fn next_event(n: u32, event: &Value, deadline_ms: u64) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", format!("req-{n}")),
        ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
        ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:ddns-test".into()),
        ("Lambda-Runtime-Trace-Id", format!("Root=1-00000000-{n:024}")),
        ("Content-Type", "application/json".into()),
    ];
    let mut resp = tiny_http::Response::from_string(event.to_string());
    for (k, v) in headers {
        resp.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
    }
    resp
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
