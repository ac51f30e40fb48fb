//! An HTTP proxy in front of moto that holds back, answers for (an SSM error, Route53's
//! throttling while told to), or lines up chosen AWS calls, for the tests of the real function
//! process (in-process tests use aws-smithy-mocks for every other fault). Calls are told apart by the request itself: Route53's REST path and method,
//! EC2's `Action` parameter, SSM's `X-Amz-Target` header.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The calls the function makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    DescribeInstances,
    ListRecords,
    ChangeRecords,
    GetParameter,
    PutParameter,
    AssumeRole,
    /// Route53's GetHostedZone: a zone's name and type.
    GetZone,
}

impl Call {
    fn of(method: &str, path: &str, target: Option<&str>, body: &str) -> Option<Call> {
        let action = body.split('&').find_map(|kv| kv.strip_prefix("Action="));
        match (method, path.split('?').next().unwrap_or_default().ends_with("/rrset"), action, target) {
            (_, _, Some("DescribeInstances"), _) => Some(Call::DescribeInstances),
            (_, _, Some("AssumeRole"), _) => Some(Call::AssumeRole),
            ("GET", true, ..) => Some(Call::ListRecords),
            ("POST", true, ..) => Some(Call::ChangeRecords),
            (.., Some("AmazonSSM.GetParameter")) => Some(Call::GetParameter),
            (.., Some("AmazonSSM.PutParameter")) => Some(Call::PutParameter),
            ("GET", false, None, None) if path.contains("/hostedzone/") => Some(Call::GetZone),
            _ => None,
        }
    }
}

/// What the proxy does to a call.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Holds it back this long, then passes it on.
    Delay(Duration),
    /// Answers it with this status and AWS JSON error code, never passing it on (SSM's shape).
    JsonError(u16, &'static str),
    /// Holds the first `n` such calls until all `n` have arrived, then passes them on together:
    /// `n` processes are made to read before any of them writes. Later calls pass at once.
    Together(usize),
    /// Answers it with Route53's `Throttling` error (every attempt, so it outlasts the SDK's
    /// retries) while the switch is on.
    Throttle(Arc<AtomicBool>),
    /// Answers it with an AWS query API's `AccessDenied` when its request holds this text (a
    /// role's name, say), passing the others on.
    Deny(&'static str),
    /// Lets at most this many such calls through in any one second, as Route53's quota does, and
    /// answers the others with its `Throttling` error.
    Rate(Arc<Rate>),
    /// Refuses a change batch as a zone's change guardrail would (see [`Guardrail`]).
    Guardrail(Arc<Guardrail>),
}

/// Route53's request quota, a token bucket as Route53 keeps it: `per_second` calls of burst,
/// refilled at `per_second` a second, and how many calls were turned away. A client that spaces
/// its calls 1/`per_second` apart keeps the bucket nearly full, so a late timer or a slow answer
/// never tips it over; one that sends as fast as it can empties it within a second.
#[derive(Debug)]
pub struct Rate {
    per_second: usize,
    /// Tokens left, and when they were counted.
    bucket: Mutex<(f64, Instant)>,
    pub throttled: AtomicUsize,
}

impl Rate {
    pub fn new(per_second: usize) -> Arc<Self> {
        let bucket = Mutex::new((per_second as f64, Instant::now()));
        Arc::new(Self { per_second, bucket, throttled: AtomicUsize::new(0) })
    }

    /// Whether a token is left for one more call; it takes one when there is.
    fn admit(&self) -> bool {
        let now = Instant::now();
        let mut bucket = self.bucket.lock().unwrap();
        let (tokens, counted) = *bucket;
        let refilled = self.per_second as f64 * now.duration_since(counted).as_secs_f64();
        let tokens = (tokens + refilled).min(self.per_second as f64);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            return true;
        }
        *bucket = (tokens, now);
        self.throttled.fetch_add(1, Ordering::SeqCst);
        false
    }
}

/// Route53's answer to a call over its quota.
const THROTTLED: &str = "<?xml version=\"1.0\"?><ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>proxy</RequestId></ErrorResponse>";

pub struct FaultProxy {
    pub port: u16,
    /// Each call that reached the proxy.
    log: Arc<Mutex<Vec<Call>>>,
    faults: Arc<Vec<(Call, Fault, Arrivals)>>,
    /// The switch of a throttling proxy.
    throttling: Arc<AtomicBool>,
    server: Arc<tiny_http::Server>,
}

/// How many calls a [`Fault::Together`] has seen arrive.
type Arrivals = Arc<(Mutex<usize>, Condvar)>;

impl FaultProxy {
    /// A proxy to moto on `upstream` that holds every `call` back for `delay`.
    pub fn start(upstream: u16, call: Call, delay: Duration) -> Self {
        Self::with(upstream, &[(call, Fault::Delay(delay))])
    }

    /// A proxy to moto on `upstream` that answers every `call` with Route53's throttling error
    /// while [`FaultProxy::throttle`] is on.
    pub fn throttling(upstream: u16, call: Call) -> Self {
        let switch = Arc::new(AtomicBool::new(false));
        Self::build(upstream, &[(call, Fault::Throttle(switch.clone()))], switch)
    }

    /// Turns the throttling on or off.
    pub fn throttle(&self, on: bool) {
        self.throttling.store(on, Ordering::SeqCst);
    }

    /// A proxy to moto on `upstream` that does to each call what `faults` say.
    pub fn with(upstream: u16, faults: &[(Call, Fault)]) -> Self {
        Self::build(upstream, faults, Arc::default())
    }

    fn build(upstream: u16, faults: &[(Call, Fault)], throttling: Arc<AtomicBool>) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (s, l) = (server.clone(), log.clone());
        let faults: Arc<Vec<(Call, Fault, Arrivals)>> =
            Arc::new(faults.iter().map(|(c, f)| (*c, f.clone(), Arrivals::default())).collect());
        let f = faults.clone();
        thread::spawn(move || {
            for req in s.incoming_requests() {
                let (l, f) = (l.clone(), f.clone());
                thread::spawn(move || proxy_one(req, upstream, &f, &l));
            }
        });
        Self { port, log, faults, throttling, server }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Lines up the next calls of every [`Fault::Together`] afresh, as if none had arrived.
    pub fn rearm(&self) {
        for (_, _, arrivals) in self.faults.iter() {
            *arrivals.0.lock().unwrap() = 0;
        }
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

fn proxy_one(mut req: tiny_http::Request, upstream: u16, faults: &[(Call, Fault, Arrivals)], log: &Mutex<Vec<Call>>) {
    let mut body = Vec::new();
    let _ = req.as_reader().read_to_end(&mut body);
    let (method, url) = (req.method().to_string(), req.url().to_string());
    let target = req.headers().iter().find(|h| h.field.equiv("X-Amz-Target")).map(|h| h.value.to_string());
    let call = Call::of(&method, &url, target.as_deref(), &String::from_utf8_lossy(&body));
    if let Some(call) = call {
        log.lock().unwrap().push(call);
    }
    for (_, fault, arrivals) in faults.iter().filter(|(c, ..)| Some(*c) == call) {
        match fault {
            Fault::Delay(delay) => thread::sleep(*delay),
            Fault::JsonError(status, code) => {
                let body = format!("{{\"__type\":\"{code}\",\"message\":\"injected {code}\"}}");
                let content = tiny_http::Header::from_bytes("Content-Type", "application/x-amz-json-1.1").unwrap();
                let _ =
                    req.respond(tiny_http::Response::from_string(body).with_status_code(*status).with_header(content));
                return;
            }
            Fault::Throttle(on) if on.load(Ordering::SeqCst) => {
                let _ = req.respond(tiny_http::Response::from_string(THROTTLED).with_status_code(400));
                return;
            }
            Fault::Rate(rate) if !rate.admit() => {
                let _ = req.respond(tiny_http::Response::from_string(THROTTLED).with_status_code(400));
                return;
            }
            Fault::Deny(needle) if String::from_utf8_lossy(&body).contains(needle) => {
                let xml = format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>injected: not authorized to assume {needle}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
                );
                let _ = req.respond(tiny_http::Response::from_string(xml).with_status_code(403));
                return;
            }
            Fault::Guardrail(guard) => {
                if let Some(xml) = guard.refusal(&String::from_utf8_lossy(&body)) {
                    let _ = req.respond(tiny_http::Response::from_string(xml).with_status_code(400));
                    return;
                }
            }
            Fault::Throttle(_) | Fault::Rate(_) | Fault::Deny(_) => {}
            Fault::Together(n) => {
                let (count, all_in) = &**arrivals;
                let mut count = count.lock().unwrap();
                *count += 1;
                if *count <= *n {
                    all_in.notify_all();
                    // Bounded, so a test whose processes never line up fails rather than hangs.
                    let (count, waited) =
                        all_in.wait_timeout_while(count, Duration::from_secs(60), |c| *c < *n).unwrap();
                    drop(count);
                    assert!(!waited.timed_out(), "{n} calls never arrived together");
                }
            }
        }
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

/// A stand-in for one of a hosted zone's change guardrails (Route53's developer guide, "Change
/// Guardrails for hosted zones"): while on, it refuses every ChangeResourceRecordSets batch that
/// holds the chosen change with Route53's `InvalidChangeBatch`, naming the guardrail and, unless
/// told not to, the record; other batches pass on to moto.
#[derive(Debug)]
pub struct Guardrail {
    /// `CREATE`, `UPSERT` or `DELETE`.
    action: &'static str,
    /// As sent: `app.example.com.`.
    name: String,
    rtype: &'static str,
    /// The guardrail's token, as `ACTIVE_RECORD_CHECK`.
    token: &'static str,
    names_record: bool,
    on: AtomicBool,
    /// How many batches it refused.
    pub refused: AtomicUsize,
}

impl Guardrail {
    /// On from the start.
    pub fn new(
        action: &'static str,
        name: &str,
        rtype: &'static str,
        token: &'static str,
        names_record: bool,
    ) -> Arc<Self> {
        let name = if name.ends_with('.') { name.to_string() } else { format!("{name}.") };
        Arc::new(Self {
            action,
            name,
            rtype,
            token,
            names_record,
            on: AtomicBool::new(true),
            refused: AtomicUsize::new(0),
        })
    }

    /// Turns the refusing on or off.
    pub fn set(&self, on: bool) {
        self.on.store(on, Ordering::SeqCst);
    }

    /// Route53's answer to a ChangeResourceRecordSets request body that holds the change, while on.
    fn refusal(&self, body: &str) -> Option<String> {
        let holds = body.split("<Change>").skip(1).any(|change| {
            change.contains(&format!("<Action>{}</Action>", self.action))
                && change.contains(&format!("<Name>{}</Name>", self.name))
                && change.contains(&format!("<Type>{}</Type>", self.rtype))
        });
        if !self.on.load(Ordering::SeqCst) || !holds {
            return None;
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        let message = if self.names_record {
            format!(
                "[RRSet with DNS name {}, type {} cannot be deleted because of guardrail {}: the record received queries in the last 24 hours]",
                self.name, self.rtype, self.token
            )
        } else {
            format!("[Change refused because of guardrail {}]", self.token)
        };
        Some(format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>InvalidChangeBatch</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        ))
    }
}
