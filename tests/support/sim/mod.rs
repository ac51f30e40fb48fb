//! A simulated AWS in the test process, on a loopback port: just enough of EC2, Route53 and STS
//! for the function's calls, with faults that can be armed on any call. The function reaches it
//! through its real SDK clients, as it reaches AWS.

pub mod ec2;
pub mod route53;

use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

/// The calls a fault can be armed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    DescribeInstances,
    GetHostedZone,
    ListResourceRecordSets,
    ChangeResourceRecordSets,
    GetCallerIdentity,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    Deny,
}

/// A fault answered to the next `times` requests of `call` (about hosted zone `zone` only, when
/// given).
#[derive(Clone, Debug)]
pub struct Armed {
    pub call: Call,
    pub fault: Fault,
    pub times: u8,
    pub zone: Option<String>,
}

/// What the simulated AWS holds.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub instances: Vec<ec2::Instance>,
    pub zones: Vec<route53::Zone>,
    pub armed: Vec<Armed>,
    /// How many requests were answered with an armed fault.
    pub faults_answered: usize,
}

/// An HTTP answer.
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn ok(body: String) -> Self {
        Self { status: 200, body }
    }

    pub fn new(status: u16, body: String) -> Self {
        Self { status, body }
    }
}

/// The error shape of Route53 and STS (wrapped REST-XML and query errors).
pub fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>sim</RequestId></ErrorResponse>"
    )
}

/// EC2's error shape.
pub fn ec2_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::new(
        status,
        format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>sim</RequestID></Response>"
        ),
    )
}

/// One parameter of a query string or form body, decoded.
pub fn param(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// The simulated AWS, serving on a loopback port from a thread of its own for the life of the
/// test process.
#[derive(Clone)]
pub struct SimAws {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl SimAws {
    pub fn start() -> Self {
        // Without Nagle's algorithm on the accepted connections (Linux hands the listener's
        // setting down): tiny_http writes an answer in several small writes, which delayed ACKs
        // would otherwise hold back 40 ms each.
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
        socket.set_tcp_nodelay(true).expect("TCP_NODELAY");
        socket.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("a loopback port");
        socket.listen(64).expect("listening");
        let server = tiny_http::Server::from_listener(std::net::TcpListener::from(socket), None).expect("a server");
        let endpoint = format!("http://{}", server.server_addr().to_ip().expect("an IP address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let url = request.url().to_string();
                let (path, query) = url.split_once('?').unwrap_or((&url, ""));
                let reply = serve(
                    &mut shared.lock().unwrap_or_else(|p| p.into_inner()),
                    request.method().as_str(),
                    path,
                    query,
                    &body,
                );
                let header = |h: &str| h.parse::<tiny_http::Header>().expect("a header");
                let response = tiny_http::Response::from_string(reply.body)
                    .with_status_code(reply.status)
                    .with_header(header("Content-Type: text/xml"));
                let _ = request.respond(response);
            }
        });
        Self { endpoint, state }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn serve(state: &mut State, method: &str, path: &str, query: &str, body: &str) -> Reply {
    let action = param(body, "Action");
    let call = match (path.starts_with("/2013-04-01/"), action.as_deref()) {
        (true, _) if path.ends_with("/rrset") || path.ends_with("/rrset/") => {
            if method == "POST" {
                Some(Call::ChangeResourceRecordSets)
            } else {
                Some(Call::ListResourceRecordSets)
            }
        }
        (true, _) if path.contains("/hostedzone/") => Some(Call::GetHostedZone),
        (false, Some("DescribeInstances")) => Some(Call::DescribeInstances),
        (false, Some("GetCallerIdentity")) => Some(Call::GetCallerIdentity),
        _ => None,
    };
    if let Some(call) = call
        && let Some(armed) = state.armed.iter_mut().find(|a| {
            a.call == call && a.times > 0 && a.zone.as_ref().is_none_or(|z| path.contains(&format!("/hostedzone/{z}")))
        })
    {
        armed.times -= 1;
        state.faults_answered += 1;
        return fault_reply(call, armed.fault);
    }
    if let Some(reply) = route53::handle(&mut state.zones, method, path, query, body) {
        return reply;
    }
    let params: Vec<(String, String)> =
        form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    match action.as_deref() {
        Some("DescribeInstances") => ec2::describe(&state.instances, &params),
        Some("GetCallerIdentity") => Reply::ok(
            r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/sim</Arn><UserId>AIDSIM</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#.into(),
        ),
        other => Reply::new(400, error_xml("InvalidAction", &format!("the sim does not serve {other:?} at {path}"))),
    }
}

fn fault_reply(call: Call, fault: Fault) -> Reply {
    match (call, fault) {
        (Call::DescribeInstances, Fault::Throttle) => ec2_error(503, "RequestLimitExceeded", "Request limit exceeded."),
        (Call::DescribeInstances, Fault::Deny) => {
            ec2_error(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
        }
        (_, Fault::Throttle) => Reply::new(400, error_xml("Throttling", "Rate exceeded")),
        (_, Fault::Deny) => Reply::new(403, error_xml("AccessDenied", "User is not authorized to perform this action")),
    }
}
