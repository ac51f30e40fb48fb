//! An evaluator of the IAM conditions the function's policy uses on Route53 writes: whether a
//! policy allows one ChangeResourceRecordSets request, by its zone and the action, normalised
//! name and type of every change in it (the route53:ChangeResourceRecordSets* condition keys,
//! under ForAllValues:StringEquals and ForAllValues:StringLike). Small, and only what the
//! module renders; anything else it meets counts as not allowed.

use serde_json::Value;

/// One change of a request, as IAM sees it: CREATE/UPSERT/DELETE, the name in Route53's
/// normalised form (lower case, no trailing dot, `\052` for `*`), and the type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub action: String,
    pub name: String,
    pub rtype: String,
}

/// One request: its zone and its changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub zone: String,
    pub items: Vec<Item>,
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// IAM's StringLike: `*` any run of characters, `?` any one.
pub fn like(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn values<'a>(r: &'a Request, key: &str) -> Option<Vec<&'a str>> {
    let pick = |i: &'a Item| match key {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames" => Some(i.name.as_str()),
        "route53:ChangeResourceRecordSetsRecordTypes" => Some(i.rtype.as_str()),
        "route53:ChangeResourceRecordSetsActions" => Some(i.action.as_str()),
        _ => None,
    };
    r.items.iter().map(pick).collect()
}

fn statement_allows(s: &Value, r: &Request) -> bool {
    let actions = list(&s["Action"]);
    let resources = list(&s["Resource"]);
    let arn = format!("arn:aws:route53:::hostedzone/{}", r.zone);
    if s["Effect"] != "Allow"
        || !actions.iter().any(|a| like(a, "route53:ChangeResourceRecordSets"))
        || !resources.iter().any(|res| like(res, &arn))
    {
        return false;
    }
    let Some(conditions) = s.get("Condition").and_then(Value::as_object) else { return true };
    conditions.iter().all(|(operator, keys)| {
        let test: fn(&str, &str) -> bool = match operator.as_str() {
            "ForAllValues:StringEquals" => |p, v| p == v,
            "ForAllValues:StringLike" => like,
            _ => return false,
        };
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, allowed)| {
                let allowed = list(allowed);
                values(r, key).is_some_and(|vals| vals.iter().all(|v| allowed.iter().any(|p| test(p, v))))
            })
        })
    })
}

/// Whether some statement of `policy` allows the request whole.
pub fn allows(policy: &Value, r: &Request) -> bool {
    policy["Statement"].as_array().is_some_and(|all| all.iter().any(|s| statement_allows(s, r)))
}

/// `policy` with the statement `sid` changed by `narrow`, for checking that the evaluation
/// notices a statement narrowed.
pub fn narrowed(policy: &Value, sid: &str, narrow: impl Fn(&mut Value)) -> Value {
    let mut p = policy.clone();
    for s in p["Statement"].as_array_mut().unwrap() {
        if s["Sid"] == sid {
            narrow(s);
        }
    }
    p
}
