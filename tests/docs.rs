//! The README cannot drift from the scripts: every command in its Quick start, its cargo lambda
//! walk-through and its operator CLI section (English and Korean alike) exists, and every flag it
//! gives is one that command's `--help` lists; and every relative link in the docs resolves.

mod support;

use std::process::Command;

use support::moto::{repo_root, tool};

/// The shell blocks of the sections that `anchors` name: a section is named by the `<a id>` just
/// before its heading, else by its English heading's slug.
fn blocks(readme: &str, anchors: &[&str]) -> Vec<String> {
    let (mut section, mut pending) = (String::new(), None::<String>);
    let (mut out, mut block) = (Vec::new(), None::<String>);
    for line in readme.lines() {
        if let Some(id) = line.strip_prefix("<a id=\"").and_then(|l| l.split('"').next()) {
            pending = Some(id.to_string());
            continue;
        }
        if let Some(heading) = line.strip_prefix("## ") {
            section = pending.take().unwrap_or_else(|| heading.to_lowercase().replace(' ', "-"));
            continue;
        }
        match (&mut block, line.trim_start()) {
            (None, "```sh") if anchors.contains(&section.as_str()) => block = Some(String::new()),
            (Some(b), "```") => {
                out.push(std::mem::take(b));
                block = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

/// The commands of a block: continuations joined, comments dropped, `&&`, `;`, `&` and `$(…)`
/// split apart.
fn commands(block: &str) -> Vec<Vec<String>> {
    let joined = block.replace("\\\n", " ");
    let mut out = Vec::new();
    for line in joined.lines() {
        let line = match line.find(" #") {
            Some(i) if !line[..i].contains('\'') => &line[..i],
            _ => line,
        };
        let line = line.replace("$(", "&& ").replace(')', " ");
        for part in line.split("&&").flat_map(|p| p.split(';')).flat_map(|p| p.split(" &")) {
            let words: Vec<String> = part.split_whitespace().map(str::to_string).collect();
            let words: Vec<String> = words.into_iter().skip_while(|w| w.contains('=') && !w.starts_with('-')).collect();
            if !words.is_empty() {
                out.push(words);
            }
        }
    }
    out
}

/// Runs `program args… --help` and returns what it printed; it must succeed.
fn help(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).arg("--help").output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?} --help failed: {}", String::from_utf8_lossy(&out.stderr));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Checks one command as the README gives it; returns what it was, for the tally.
fn check(words: &[String]) -> &'static str {
    let flags = |words: &[String]| -> Vec<String> {
        words.iter().filter(|w| w.starts_with('-')).map(|w| w.split('=').next().unwrap().to_string()).collect()
    };
    let root = repo_root();
    let first = words[0].as_str();
    let (help_text, kind) = match first {
        "./demo.sh" | "./deploy.sh" | "./test.sh" | "./build.sh" | "./bench.sh" => {
            (help(root.join(first.trim_start_matches("./")).to_str().unwrap(), &[]), "script")
        }
        "cargo" if words.get(1).map(String::as_str) == Some("lambda") => {
            let sub = words[2].as_str();
            (help(tool("CARGO_LAMBDA", "cargo-lambda").to_str().unwrap(), &["lambda", sub]), "cargo lambda")
        }
        "cargo" => (help("cargo", &[words[1].as_str()]), "cargo"),
        "dynamic-dns-updater" => {
            let sub: Vec<&str> = words[1..].iter().take(1).map(String::as_str).collect();
            (help(env!("CARGO_BIN_EXE_dynamic-dns-updater"), &sub), "cli")
        }
        "moto_server" => (help(tool("MOTO_SERVER", "moto_server").to_str().unwrap(), &[]), "moto"),
        "python3" if words.get(1).is_some_and(|w| w.ends_with("demo_aws.py")) => {
            let out = Command::new("python3").arg(root.join(&words[1])).output().unwrap();
            let usage = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(usage.contains(&words[2]), "demo_aws.py has no command {:?}: {usage}", words[2]);
            return "demo_aws.py";
        }
        // Other people's tools, named in the text for the reader: not this project's to check.
        "python3" | ".venv/bin/pip" | "aws" | "dig" | "export" => return "external",
        other => panic!("the README runs {other:?}, which this check does not know: add it here"),
    };
    for flag in flags(&words[1..]) {
        assert!(help_text.contains(&flag), "{words:?}: {flag} is not in its --help:\n{help_text}");
    }
    kind
}

#[test]
fn every_command_in_the_quick_start_and_walk_throughs_exists_with_its_flags() {
    for readme in ["README.md", "README.ko.md"] {
        let text = std::fs::read_to_string(repo_root().join(readme)).unwrap();
        let sections = ["quick-start", "trying-it-locally-with-cargo-lambda", "operator-cli"];
        let blocks = blocks(&text, &sections);
        assert!(blocks.len() >= 6, "{readme}: the sections' shell blocks were found: {blocks:#?}");
        let mut tally = std::collections::BTreeMap::new();
        for block in &blocks {
            for words in commands(block) {
                *tally.entry(check(&words)).or_insert(0) += 1;
            }
        }
        for kind in ["script", "cargo lambda", "cli", "moto", "demo_aws.py"] {
            assert!(tally.contains_key(kind), "{readme}: no {kind} command was checked: {tally:?}");
        }
    }
}

/// The Markdown files whose links are checked: the READMEs (English and Korean), the reference
/// and the module's.
const DOCS: [&str; 6] = [
    "README.md",
    "README.ko.md",
    "docs/reference.md",
    "docs/reference.ko.md",
    "terraform/README.md",
    "terraform/modules/member/README.md",
];

/// The targets of a file's inline links `[text](target)`, outside code blocks and code spans.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    out
}

/// The anchors a file offers: every `<a id>` and each heading's slug as GitHub makes it (lower
/// case; letters, digits, `-` and `_` kept; spaces to `-`; a repeated slug numbered).
fn anchors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced {
            continue;
        }
        for part in line.split("<a id=\"").skip(1) {
            out.push(part.split('"').next().unwrap_or_default().to_string());
        }
        let Some(heading) = line.strip_prefix('#').map(|h| h.trim_start_matches('#')) else { continue };
        if !heading.starts_with(' ') {
            continue;
        }
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let taken = out
            .iter()
            .filter(|a| **a == slug || a.strip_prefix(&format!("{slug}-")).is_some_and(|n| n.parse::<u32>().is_ok()))
            .count();
        out.push(if taken == 0 { slug } else { format!("{slug}-{taken}") });
    }
    out
}

#[test]
fn every_link_in_the_docs_resolves_to_a_file_and_an_anchor() {
    let root = repo_root();
    let mut checked = 0;
    let mut broken = Vec::new();
    for doc in DOCS {
        let path = root.join(doc);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
        for link in links(&text) {
            if link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, anchor) = link.split_once('#').map_or((link.as_str(), None), |(f, a)| (f, Some(a)));
            let target = if file.is_empty() { path.clone() } else { path.parent().unwrap().join(file) };
            if !target.exists() {
                broken.push(format!(
                    "{doc}: {link}: no file {}",
                    target.strip_prefix(&root).unwrap_or(&target).display()
                ));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            let offered = anchors(&std::fs::read_to_string(&target).unwrap_or_default());
            if !offered.iter().any(|a| a == anchor) {
                broken.push(format!("{doc}: {link}: no anchor #{anchor} there"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked >= 60, "the links were found: {checked}");
}

#[test]
fn anchors_are_the_ones_github_makes() {
    let text = "## What fails, what alerts, and when\n## Quick start\n<a id=\"operator-cli\"></a>\n## 운영자 CLI\n```sh\n# not a heading\n```\n## Quick start\n";
    assert_eq!(
        anchors(text),
        ["what-fails-what-alerts-and-when", "quick-start", "operator-cli", "운영자-cli", "quick-start-1"]
    );
    assert_eq!(links("see [a](x.md#b) and `[c](d)`\n```\n[e](f)\n```\n[g](#h)"), ["x.md#b", "#h"]);
}
