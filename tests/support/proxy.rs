//! An HTTP proxy in front of moto that holds back a chosen AWS call, or answers it with
//! Route53's throttling error while told to, for the tests of the real function process and of
//! slow SSM (in-process tests use aws-smithy-mocks for every other fault). Calls are told apart
//! by the request itself: Route53's REST path and method, EC2's `Action` parameter, SSM's
//! `X-Amz-Target` header.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The calls the function makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    DescribeInstances,
    ListRecords,
    ChangeRecords,
    GetParameter,
    PutParameter,
}

impl Call {
    fn of(method: &str, path: &str, body: &str, target: Option<&str>) -> Option<Call> {
        let action = body.split('&').find_map(|kv| kv.strip_prefix("Action="));
        match target {
            Some("AmazonSSM.GetParameter") => return Some(Call::GetParameter),
            Some("AmazonSSM.PutParameter") => return Some(Call::PutParameter),
            _ => {}
        }
        match (method, path.split('?').next().unwrap_or_default().ends_with("/rrset"), action) {
            (_, _, Some("DescribeInstances")) => Some(Call::DescribeInstances),
            ("GET", true, _) => Some(Call::ListRecords),
            ("POST", true, _) => Some(Call::ChangeRecords),
            _ => None,
        }
    }
}

/// What the proxy does to the chosen call.
#[derive(Clone, Debug)]
enum Fault {
    /// Holds it back this long, then forwards it.
    Delay(Duration),
    /// Answers it with Route53's `Throttling` error while the switch is on.
    Throttle(Arc<AtomicBool>),
}

pub struct FaultProxy {
    pub port: u16,
    /// Each call that reached the proxy.
    log: Arc<Mutex<Vec<Call>>>,
    /// The throttling switch, for a throttling proxy.
    throttling: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
}

impl FaultProxy {
    /// A proxy to moto on `upstream` that holds every `call` back for `delay`.
    pub fn start(upstream: u16, call: Call, delay: Duration) -> Self {
        Self::with(upstream, call, Fault::Delay(delay), Arc::default())
    }

    /// A proxy to moto on `upstream` that answers every `call` with Route53's throttling error
    /// (every attempt, so it outlasts the SDK's retries) while [`FaultProxy::throttle`] is on.
    pub fn throttling(upstream: u16, call: Call) -> Self {
        let switch = Arc::new(AtomicBool::new(false));
        Self::with(upstream, call, Fault::Throttle(switch.clone()), switch)
    }

    /// Turns the throttling on or off.
    pub fn throttle(&self, on: bool) {
        self.throttling.store(on, Ordering::SeqCst);
    }

    fn with(upstream: u16, call: Call, fault: Fault, throttling: Arc<AtomicBool>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l) = (server.clone(), log.clone());
        thread::spawn(move || {
            for req in s.incoming_requests() {
                let (l, fault) = (l.clone(), fault.clone());
                thread::spawn(move || proxy_one(req, upstream, call, &fault, &l));
            }
        });
        Self { port, log, throttling, server }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many times `call` reached the proxy.
    pub fn count(&self, call: Call) -> usize {
        self.log.lock().unwrap().iter().filter(|c| **c == call).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn proxy_one(mut req: tiny_http::Request, upstream: u16, chosen: Call, fault: &Fault, log: &Mutex<Vec<Call>>) {
    let mut body = Vec::new();
    let _ = req.as_reader().read_to_end(&mut body);
    let (method, url) = (req.method().to_string(), req.url().to_string());
    let target = req.headers().iter().find(|h| h.field.equiv("X-Amz-Target")).map(|h| h.value.to_string());
    let call = Call::of(&method, &url, &String::from_utf8_lossy(&body), target.as_deref());
    if let Some(call) = call {
        log.lock().unwrap().push(call);
    }
    match fault {
        Fault::Delay(delay) if call == Some(chosen) => thread::sleep(*delay),
        Fault::Throttle(on) if call == Some(chosen) && on.load(Ordering::SeqCst) => {
            let xml = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>proxy</RequestId></ErrorResponse>";
            let _ = req.respond(tiny_http::Response::from_string(xml).with_status_code(400));
            return;
        }
        _ => {}
    }
    let Some((status, headers, data)) = forward(upstream, &method, &url, req.headers(), &body) else { return };
    let mut resp = tiny_http::Response::from_data(data).with_status_code(status);
    for (k, v) in headers {
        resp.add_header(tiny_http::Header::from_bytes(k, v).unwrap());
    }
    let _ = req.respond(resp);
}

/// An HTTP answer: status, headers, body.
type Reply = (u16, Vec<(String, String)>, Vec<u8>);

/// Sends the request on to moto over HTTP/1.0 and reads its whole answer.
fn forward(upstream: u16, method: &str, url: &str, headers: &[tiny_http::Header], body: &[u8]) -> Option<Reply> {
    let skip = |name: &str, extra: &[&str]| {
        let name = name.to_ascii_lowercase();
        ["connection", "content-length", "transfer-encoding"].contains(&name.as_str()) || extra.contains(&name.as_str())
    };
    let mut conn = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    let mut head = format!("{method} {url} HTTP/1.0\r\n");
    for h in headers.iter().filter(|h| !skip(h.field.as_str().as_str(), &[])) {
        head.push_str(&format!("{}: {}\r\n", h.field, h.value));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(body)).ok()?;
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw);
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(502);
    let kept = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(k, _)| !skip(k.trim(), &["date", "server"]))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some((status, kept, raw[split..].to_vec()))
}
