//! The layering the code promises, checked from the source: the domain (signup flow, policy,
//! store, event source) never imports the HTTP layer, and the policy's modules import each
//! other without a circle. Reviews miss such an import; this test does not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(under: &Path) -> Vec<PathBuf> {
    if under.is_file() {
        return vec![under.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(under).expect("a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

fn src(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(path)
}

#[test]
fn the_domain_never_imports_the_http_layer_or_the_settings() {
    let mut offenders = Vec::new();
    for area in ["signup", "policy", "store", "events.rs", "rate_limit"] {
        for file in sources(&src(area)) {
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                let web = [
                    "crate::http",
                    "axum",
                    "tower",
                    "hyper",
                    "http::",
                    "crate::settings",
                    "crate::cli",
                ];
                let grouped = code.contains("crate::{") && code.contains("http");
                if grouped || web.iter().any(|name| code.contains(name)) {
                    offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "domain code imports the HTTP layer:\n{}",
        offenders.join("\n")
    );
}

/// `use super::a::…;`, `use super::{a, b::…};` and `super::a::f(..)` in one policy module name
/// the sibling modules it depends on.
fn siblings_used(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (at, _) in text.match_indices("super::") {
        let rest = &text[at + "super::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            group.split(',').map(|part| part.trim()).collect()
        } else {
            vec![rest]
        };
        for name in names {
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if modules.contains(&name) {
                used.insert(name);
            }
        }
    }
    used
}

#[test]
fn the_policy_modules_import_each_other_without_a_circle() {
    let dir = src("policy");
    let files: BTreeMap<String, String> = std::fs::read_dir(&dir)
        .expect("src/policy")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "rs" && name != "mod")
                .then(|| (name, std::fs::read_to_string(&path).expect("readable")))
        })
        .collect();
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    let graph: BTreeMap<&String, BTreeSet<String>> = files
        .iter()
        .map(|(name, text)| (name, siblings_used(text, &modules)))
        .collect();
    assert!(
        graph.values().any(|used| !used.is_empty()),
        "the scan found no imports at all: {graph:?}"
    );

    // Depth-first search; a module met again while still on the path closes a circle.
    fn visit<'a>(
        name: &'a String,
        graph: &'a BTreeMap<&'a String, BTreeSet<String>>,
        path: &mut Vec<&'a String>,
        done: &mut BTreeSet<&'a String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == name) {
            let mut circle: Vec<String> = path[at..].iter().map(|n| n.to_string()).collect();
            circle.push(name.clone());
            return Some(circle);
        }
        if !done.insert(name) {
            return None;
        }
        path.push(name);
        for next in &graph[name] {
            let next = graph.keys().find(|k| **k == next).expect("a known module");
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for name in graph.keys() {
        let circle = visit(name, &graph, &mut Vec::new(), &mut done);
        assert!(
            circle.is_none(),
            "import circle in src/policy: {}",
            circle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn the_circle_finder_sees_a_circle() {
    let modules: BTreeSet<String> = ["rules", "binding"].map(String::from).into();
    let used = siblings_used(
        "use super::{binding, signals};\nuse super::rules::judge;",
        &modules,
    );
    assert_eq!(used, ["binding", "rules"].map(String::from).into());
}

/// The OpenAPI document lists the routes added with `utoipa_axum::routes!`, from each handler's
/// `#[utoipa::path]`; a route added any other way would be served but not documented. So no
/// file of the HTTP layer adds one another way (the fallbacks answer unknown paths and methods,
/// and are not routes).
#[test]
fn every_route_is_added_with_its_openapi_entry() {
    let mut offenders = Vec::new();
    let mut added = 0;
    let console = src("http").join("console");
    for file in sources(&src("http")) {
        // The console's pages are HTML for people, not API: they are deliberately left out of
        // the OpenAPI document (which schemathesis fuzzes) and merged after it is split.
        if file.starts_with(&console) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            added += code.matches(".routes(routes!(").count();
            let other = [".route(", ".route_service(", ".nest(", ".nest_service("];
            if other.iter().any(|call| code.contains(call)) {
                offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(added >= 10, "the scan found only {added} documented routes");
    assert!(
        offenders.is_empty(),
        "routes added without their OpenAPI entry (use `.routes(routes!(handler))`):\n{}",
        offenders.join("\n")
    );
}
