//! Spec fidelity: the project's ArchAstro spec (`specs/archastro/openapi.json`) against the vendor's
//! rendered API reference (seed 003). Every operation must agree on method and path, on its
//! parameters (name, location, required flag) and on its request body's top-level fields (name,
//! required flag); the totals (65 paths, 89 operations) must agree as well. Every mismatch is
//! reported in one go, and a negative self-test checks that mutations of the spec are caught.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The seed sits in the `shared` folder beside the repository root (CI: a clean clone with
/// `../shared` beside it).
const SEED_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/seeds/003_f4e006a09dc97666.txt"
);
const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../specs/archastro/openapi.json");
const SKIP_ENV: &str = "AGENTAPIS_SKIP_SEED_TESTS";

const EXPECTED_PATHS: usize = 65;
const EXPECTED_OPERATIONS: usize = 89;

/// Operations the seed counts (in its "N paths M operations" header and in its group's
/// "N operations" line) but does not render. They cannot be compared field by field; instead
/// `seed_consistency` checks that each accounts for exactly the gap between its group's declared and
/// rendered operation counts, and that the seed indeed does not render it (a fixed seed makes the
/// entry stale and fails the test).
const SEED_UNRENDERED: &[(&str, &str)] = &[("GET", "/api/v1/threads/{thread}/search")];

const METHODS: [&str; 8] = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"];
const LOCATIONS: [&str; 4] = ["path", "query", "header", "cookie"];
const SIMPLE_TYPES: [&str; 6] = ["string", "integer", "number", "boolean", "object", "array"];

/// `(METHOD, path)`.
type OpKey = (String, String);

/// What is compared for one operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Operation {
    /// `(location, name)` to required flag.
    params: BTreeMap<(String, String), bool>,
    /// Top-level request-body field to required flag; `None` when there is no request body.
    body: Option<BTreeMap<String, bool>>,
    /// 1-based line of the operation in the seed (0 for the spec).
    line: usize,
}

/// A seed group: a header path (e.g. `/api/v1/threads`) with its declared operation count.
#[derive(Debug)]
struct Group {
    path: String,
    declared: usize,
    line: usize,
    rendered: Vec<OpKey>,
}

#[derive(Debug)]
struct Seed {
    declared_paths: usize,
    declared_operations: usize,
    groups: Vec<Group>,
    operations: BTreeMap<OpKey, Operation>,
}

#[derive(Debug)]
struct SpecModel {
    path_count: usize,
    operations: BTreeMap<OpKey, Operation>,
}

// ---------------------------------------------------------------------------------------------
// Seed parsing
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Params,
    Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Outside,
    AwaitingHeader,
    Rows,
}

/// One row of a parameter or request-body table (`location` is `None` for body fields).
#[derive(Debug, PartialEq, Eq)]
struct Row {
    name: String,
    location: Option<String>,
    required: bool,
}

/// Parses the rendered reference. Never panics: every line it cannot make sense of where structure
/// is expected (table rows, table headers, counts) is reported, with its line number.
fn parse_seed(text: &str) -> Result<Seed, Vec<String>> {
    let mut errors = Vec::new();
    let mut totals: Option<(usize, usize)> = None;
    let mut groups: Vec<Group> = Vec::new();
    let mut pending_group: Option<String> = None;
    let mut operations: BTreeMap<OpKey, Operation> = BTreeMap::new();
    let mut current: Option<OpKey> = None;
    let mut section = Section::None;
    let mut table = Table::Outside;

    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.trim();
        if line == "WebSocket topics" {
            // The realtime channel section follows; it has no HTTP operations.
            break;
        }
        if totals.is_none() {
            if let Some(found) = parse_totals(line) {
                totals = Some(found);
                continue;
            }
        }
        if let Some((method, path)) = parse_operation_line(line) {
            section = Section::None;
            table = Table::Outside;
            let key: OpKey = (method.to_string(), path.to_string());
            match groups.last_mut() {
                Some(group) => group.rendered.push(key.clone()),
                None => errors.push(format!(
                    "line {lineno}: operation `{line}` appears before any group header"
                )),
            }
            if let Some(previous) = operations.get(&key) {
                errors.push(format!(
                    "line {lineno}: operation `{line}` is rendered twice (first at line {})",
                    previous.line
                ));
                current = None;
            } else {
                operations.insert(
                    key.clone(),
                    Operation {
                        line: lineno,
                        ..Operation::default()
                    },
                );
                current = Some(key);
            }
            continue;
        }
        if line.is_empty() {
            if table == Table::Rows {
                table = Table::Outside;
                section = Section::None;
            }
            continue;
        }
        match line {
            "Parameters" | "Request body" => {
                section = if line == "Parameters" {
                    Section::Params
                } else {
                    Section::Body
                };
                table = Table::AwaitingHeader;
                match current.as_ref().and_then(|key| operations.get_mut(key)) {
                    None => errors.push(format!("line {lineno}: `{line}` heading outside any operation")),
                    Some(op) if section == Section::Body => {
                        if op.body.is_some() {
                            errors.push(format!("line {lineno}: second `Request body` section in one operation"));
                        }
                        op.body = Some(BTreeMap::new());
                    }
                    Some(_) => {}
                }
                continue;
            }
            "Responses" => {
                section = Section::None;
                table = Table::Outside;
                continue;
            }
            _ => {}
        }
        if let Some(count) = parse_group_count(line) {
            match pending_group.take() {
                Some(path) => groups.push(Group {
                    path,
                    declared: count,
                    line: lineno,
                    rendered: Vec::new(),
                }),
                None => errors.push(format!("line {lineno}: `{line}` without a preceding group path line")),
            }
            current = None;
            section = Section::None;
            table = Table::Outside;
            continue;
        }
        if line.starts_with('/') && !line.contains(char::is_whitespace) {
            pending_group = Some(line.to_string());
            current = None;
            section = Section::None;
            table = Table::Outside;
            continue;
        }
        match table {
            Table::AwaitingHeader => {
                if line == "NameTypeDescription" {
                    table = Table::Rows;
                } else {
                    errors.push(format!(
                        "line {lineno}: expected the `NameTypeDescription` table header, found {line:?}"
                    ));
                    table = Table::Outside;
                    section = Section::None;
                }
            }
            Table::Rows => {
                let row = match parse_row(line, section == Section::Params) {
                    Ok(row) => row,
                    Err(e) => {
                        errors.push(format!("line {lineno}: {e}"));
                        continue;
                    }
                };
                let Some(op) = current.as_ref().and_then(|key| operations.get_mut(key)) else {
                    errors.push(format!("line {lineno}: table row outside any operation: {line:?}"));
                    continue;
                };
                match (section, row.location) {
                    (Section::Params, Some(location)) => {
                        if op
                            .params
                            .insert((location.clone(), row.name.clone()), row.required)
                            .is_some()
                        {
                            errors.push(format!(
                                "line {lineno}: parameter `{}` ({location}) listed twice",
                                row.name
                            ));
                        }
                    }
                    (Section::Body, None) => {
                        let fields = op.body.get_or_insert_with(BTreeMap::new);
                        if fields.insert(row.name.clone(), row.required).is_some() {
                            errors.push(format!("line {lineno}: request-body field `{}` listed twice", row.name));
                        }
                    }
                    _ => errors.push(format!("line {lineno}: table row outside a table: {line:?}")),
                }
            }
            Table::Outside => {} // titles, prose, auth lines, response lists
        }
    }

    let (declared_paths, declared_operations) = totals.unwrap_or_else(|| {
        errors.push("no `<N> paths<M> operations` totals line found".to_string());
        (0, 0)
    });
    if groups.is_empty() {
        errors.push("no group headers (`<path>` … `<N> operations`) found".to_string());
    }
    if operations.is_empty() {
        errors.push("no operation lines (`GET/api/...`) found".to_string());
    }
    if errors.is_empty() {
        Ok(Seed {
            declared_paths,
            declared_operations,
            groups,
            operations,
        })
    } else {
        Err(errors)
    }
}

/// `GET/api/v1/agents` → `("GET", "/api/v1/agents")`.
fn parse_operation_line(line: &str) -> Option<(&str, &str)> {
    METHODS.iter().find_map(|method| {
        let path = line.strip_prefix(method)?;
        (path.starts_with('/') && !path.contains(char::is_whitespace)).then_some((*method, path))
    })
}

/// `65 paths89 operations30 channel events…` → `(65, 89)`.
fn parse_totals(line: &str) -> Option<(usize, usize)> {
    let (paths, rest) = leading_number(line)?;
    let rest = rest.trim_start().strip_prefix("paths")?;
    let (operations, rest) = leading_number(rest.trim_start())?;
    rest.trim_start().strip_prefix("operations")?;
    Some((paths, operations))
}

/// `24 operations` → `24`.
fn parse_group_count(line: &str) -> Option<usize> {
    let (count, rest) = leading_number(line)?;
    matches!(rest.trim(), "operations" | "operation").then_some(count)
}

fn leading_number(s: &str) -> Option<(usize, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '[' | ']')
}

/// Splits a table row whose cells were rendered without separators:
/// `name` + `location` (parameters only) + optional `required` + type + description.
/// Of all valid splits, one whose description does not start with a lower-case letter is preferred,
/// then the shortest name (so `namerequiredstring…` is the required field `name`).
fn parse_row(line: &str, with_location: bool) -> Result<Row, String> {
    let mut best: Option<((bool, usize), Row)> = None;
    for (i, c) in line.char_indices() {
        let valid = if i == 0 {
            c.is_ascii_alphabetic() || c == '_'
        } else {
            is_name_char(c)
        };
        if !valid {
            break;
        }
        let end = i + c.len_utf8();
        let name = &line[..end];
        if name.ends_with(['_', '-', '.']) {
            continue;
        }
        let rest = &line[end..];
        let after_location: Vec<(Option<&str>, &str)> = if with_location {
            LOCATIONS
                .iter()
                .filter_map(|location| rest.strip_prefix(location).map(|after| (Some(*location), after)))
                .collect()
        } else {
            vec![(None, rest)]
        };
        for (location, after) in after_location {
            for required in [true, false] {
                let after = if required {
                    match after.strip_prefix("required") {
                        Some(after) => after,
                        None => continue,
                    }
                } else {
                    after
                };
                let Some(description) = strip_type(after) else { continue };
                let score = (description.starts_with(|c: char| c.is_ascii_lowercase()), name.len());
                if best.as_ref().is_none_or(|(best_score, _)| score < *best_score) {
                    let row = Row {
                        name: name.to_string(),
                        location: location.map(str::to_string),
                        required,
                    };
                    best = Some((score, row));
                }
            }
        }
    }
    best.map(|(_, row)| row).ok_or_else(|| {
        let cells = if with_location {
            "name, location, [required], type"
        } else {
            "name, [required], type"
        };
        format!("cannot split table row into {cells} and description: {line:?}")
    })
}

/// Strips a leading type (`string`, `array<string>`, …) and returns what follows it.
fn strip_type(s: &str) -> Option<&str> {
    if let Some(inner) = s.strip_prefix("array<") {
        let mut depth = 1usize;
        for (i, c) in inner.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(&inner[i + 1..]);
                    }
                }
                _ => {}
            }
        }
        return None;
    }
    SIMPLE_TYPES.iter().find_map(|t| s.strip_prefix(t))
}

/// Internal consistency of the seed: group counts add up to the declared total, each group renders
/// what it declares (apart from `SEED_UNRENDERED`), and the rendered paths cover the declared ones.
fn seed_consistency(seed: &Seed) -> Vec<String> {
    let mut out = Vec::new();
    let declared_sum: usize = seed.groups.iter().map(|g| g.declared).sum();
    if declared_sum != seed.declared_operations {
        out.push(format!(
            "seed: group operation counts add up to {declared_sum}, the header declares {}",
            seed.declared_operations
        ));
    }
    let unrendered: Vec<OpKey> = SEED_UNRENDERED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    for key in &unrendered {
        if let Some(op) = seed.operations.get(key) {
            out.push(format!(
                "seed: {} {} is listed in SEED_UNRENDERED but the seed renders it (line {}); drop the entry",
                key.0, key.1, op.line
            ));
        }
        if !seed.groups.iter().any(|g| in_group(&key.1, &g.path)) {
            out.push(format!("seed: no group covers the unrendered {} {}", key.0, key.1));
        }
    }
    for group in &seed.groups {
        for key in &group.rendered {
            if !in_group(&key.1, &group.path) {
                out.push(format!(
                    "seed: {} {} is rendered under group {} (line {})",
                    key.0, key.1, group.path, group.line
                ));
            }
        }
        // An unrendered operation belongs to the group with the longest matching path.
        let missing = unrendered
            .iter()
            .filter(|key| {
                let owner = seed
                    .groups
                    .iter()
                    .filter(|g| in_group(&key.1, &g.path))
                    .max_by_key(|g| g.path.len());
                owner.is_some_and(|g| std::ptr::eq(g, group))
            })
            .count();
        if group.rendered.len() + missing != group.declared {
            out.push(format!(
                "seed: group {} (line {}) declares {} operations but renders {} (+{missing} known unrendered)",
                group.path,
                group.line,
                group.declared,
                group.rendered.len()
            ));
        }
    }
    let paths: BTreeSet<&str> = seed
        .operations
        .keys()
        .chain(unrendered.iter())
        .map(|(_, path)| path.as_str())
        .collect();
    if paths.len() != seed.declared_paths {
        out.push(format!(
            "seed: rendered (+ known unrendered) operations cover {} paths, the header declares {}",
            paths.len(),
            seed.declared_paths
        ));
    }
    out
}

fn in_group(path: &str, group: &str) -> bool {
    path == group || path.strip_prefix(group).is_some_and(|rest| rest.starts_with('/'))
}

// ---------------------------------------------------------------------------------------------
// Spec side
// ---------------------------------------------------------------------------------------------

fn load_spec() -> Value {
    let text =
        std::fs::read_to_string(SPEC_PATH).unwrap_or_else(|e| panic!("cannot read the spec at {SPEC_PATH}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the spec at {SPEC_PATH} is not valid JSON: {e}"))
}

/// Follows local `$ref`s (`#/components/...`).
fn resolve<'a>(root: &'a Value, mut value: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return Ok(value);
        };
        value = reference
            .strip_prefix('#')
            .and_then(|pointer| root.pointer(pointer))
            .ok_or_else(|| format!("unresolvable $ref {reference:?}"))?;
    }
    Err("$ref chain too long (cycle?)".to_string())
}

fn spec_model(spec: &Value) -> Result<SpecModel, Vec<String>> {
    let Some(paths) = spec.get("paths").and_then(Value::as_object) else {
        return Err(vec!["spec has no `paths` object".to_string()]);
    };
    let mut errors = Vec::new();
    let mut operations = BTreeMap::new();
    for (path, item) in paths {
        let item = match resolve(spec, item) {
            Ok(item) => item,
            Err(e) => {
                errors.push(format!("{path}: {e}"));
                continue;
            }
        };
        let Some(item) = item.as_object() else {
            errors.push(format!("{path}: path item is not an object"));
            continue;
        };
        let shared = match item.get("parameters") {
            Some(list) => collect_params(spec, list).unwrap_or_else(|e| {
                errors.push(format!("{path}: {e}"));
                BTreeMap::new()
            }),
            None => BTreeMap::new(),
        };
        for (method, op) in item {
            let method = method.to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let label = format!("{method} {path}");
            let mut params = shared.clone();
            if let Some(list) = op.get("parameters") {
                match collect_params(spec, list) {
                    Ok(own) => params.extend(own),
                    Err(e) => errors.push(format!("{label}: {e}")),
                }
            }
            let body = match op.get("requestBody") {
                None => None,
                Some(request_body) => match body_fields(spec, request_body) {
                    Ok(fields) => Some(fields),
                    Err(e) => {
                        errors.push(format!("{label}: {e}"));
                        None
                    }
                },
            };
            operations.insert((method, path.clone()), Operation { params, body, line: 0 });
        }
    }
    if errors.is_empty() {
        Ok(SpecModel {
            path_count: paths.len(),
            operations,
        })
    } else {
        Err(errors)
    }
}

fn collect_params(spec: &Value, list: &Value) -> Result<BTreeMap<(String, String), bool>, String> {
    let list = list.as_array().ok_or("`parameters` is not an array")?;
    let mut out = BTreeMap::new();
    for param in list {
        let param = resolve(spec, param)?;
        let name = param
            .get("name")
            .and_then(Value::as_str)
            .ok_or("parameter without a `name`")?;
        let location = param
            .get("in")
            .and_then(Value::as_str)
            .ok_or("parameter without `in`")?;
        let required = param.get("required").and_then(Value::as_bool).unwrap_or(false);
        // The reference names an array query parameter as the vendor's SDK takes it (`kind`);
        // the spec names it as the SDK sends it to the Plug server (`kind[]`).
        let is_array = resolve(spec, param.get("schema").unwrap_or(&Value::Null))
            .is_ok_and(|s| s.get("type").and_then(Value::as_str) == Some("array"));
        let name = match name.strip_suffix("[]") {
            Some(bare) if location == "query" && is_array => bare,
            _ => name,
        };
        if out.insert((location.to_string(), name.to_string()), required).is_some() {
            return Err(format!("parameter `{name}` ({location}) declared twice"));
        }
    }
    Ok(out)
}

fn body_fields(spec: &Value, request_body: &Value) -> Result<BTreeMap<String, bool>, String> {
    let request_body = resolve(spec, request_body)?;
    let content = request_body
        .get("content")
        .and_then(Value::as_object)
        .ok_or("request body without `content`")?;
    let media = content
        .get("application/json")
        .or_else(|| content.values().next())
        .ok_or("request body with empty `content`")?;
    let mut fields = BTreeMap::new();
    match media.get("schema") {
        Some(schema) => object_fields(spec, schema, &mut fields)?,
        None => return Err("request body without a schema".to_string()),
    }
    Ok(fields)
}

fn object_fields(spec: &Value, schema: &Value, fields: &mut BTreeMap<String, bool>) -> Result<(), String> {
    let schema = resolve(spec, schema)?;
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            object_fields(spec, part, fields)?;
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for name in properties.keys() {
            fields.entry(name.clone()).or_insert(false);
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required {
            let name = name.as_str().ok_or("non-string entry in `required`")?;
            fields.insert(name.to_string(), true);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

/// Every difference between the spec and the seed, one line each.
fn compare(spec: &SpecModel, seed: &Seed) -> Vec<String> {
    let mut out = Vec::new();
    if seed.declared_paths != EXPECTED_PATHS || seed.declared_operations != EXPECTED_OPERATIONS {
        out.push(format!(
            "totals: the seed declares {} paths and {} operations, expected {EXPECTED_PATHS} and {EXPECTED_OPERATIONS}",
            seed.declared_paths, seed.declared_operations
        ));
    }
    if spec.path_count != seed.declared_paths {
        out.push(format!(
            "totals: the spec has {} paths, the seed declares {}",
            spec.path_count, seed.declared_paths
        ));
    }
    if spec.operations.len() != seed.declared_operations {
        out.push(format!(
            "totals: the spec has {} operations, the seed declares {}",
            spec.operations.len(),
            seed.declared_operations
        ));
    }
    for ((method, path), seed_op) in &seed.operations {
        match spec.operations.get(&(method.clone(), path.clone())) {
            None => out.push(format!(
                "{method} {path}: in the seed (line {}) but not in the spec",
                seed_op.line
            )),
            Some(spec_op) => compare_operation(&format!("{method} {path}"), spec_op, seed_op, &mut out),
        }
    }
    let unrendered: BTreeSet<OpKey> = SEED_UNRENDERED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    for (method, path) in spec.operations.keys() {
        let key = (method.clone(), path.clone());
        if !seed.operations.contains_key(&key) && !unrendered.contains(&key) {
            out.push(format!("{method} {path}: in the spec but the seed does not list it"));
        }
    }
    for (method, path) in &unrendered {
        if !spec.operations.contains_key(&(method.clone(), path.clone())) {
            out.push(format!(
                "{method} {path}: counted but not rendered by the seed, and missing from the spec"
            ));
        }
    }
    out
}

fn compare_operation(label: &str, spec_op: &Operation, seed_op: &Operation, out: &mut Vec<String>) {
    let line = seed_op.line;
    let keys: BTreeSet<&(String, String)> = spec_op.params.keys().chain(seed_op.params.keys()).collect();
    for key in keys {
        let (location, name) = key;
        match (spec_op.params.get(key), seed_op.params.get(key)) {
            (Some(a), Some(b)) if a != b => out.push(format!(
                "{label}: parameter `{name}` ({location}) is required={a} in the spec but required={b} in the seed (line {line})"
            )),
            (Some(_), None) => out.push(format!(
                "{label}: parameter `{name}` ({location}) is in the spec but not in the seed (line {line})"
            )),
            (None, Some(_)) => out.push(format!(
                "{label}: parameter `{name}` ({location}) is in the seed (line {line}) but not in the spec"
            )),
            _ => {}
        }
    }
    match (&spec_op.body, &seed_op.body) {
        (None, None) => {}
        (Some(_), None) => out.push(format!(
            "{label}: the spec has a request body, the seed (line {line}) shows none"
        )),
        (None, Some(_)) => out.push(format!(
            "{label}: the seed (line {line}) shows a request body, the spec has none"
        )),
        (Some(spec_fields), Some(seed_fields)) => {
            let names: BTreeSet<&String> = spec_fields.keys().chain(seed_fields.keys()).collect();
            for name in names {
                match (spec_fields.get(name), seed_fields.get(name)) {
                    (Some(a), Some(b)) if a != b => out.push(format!(
                        "{label}: request-body field `{name}` is required={a} in the spec but required={b} in the seed (line {line})"
                    )),
                    (Some(_), None) => out.push(format!(
                        "{label}: request-body field `{name}` is in the spec but not in the seed (line {line})"
                    )),
                    (None, Some(_)) => out.push(format!(
                        "{label}: request-body field `{name}` is in the seed (line {line}) but not in the spec"
                    )),
                    _ => {}
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// The seed's text, or `None` when it is missing and `AGENTAPIS_SKIP_SEED_TESTS=1`; otherwise a
/// missing seed fails the test, naming where it looked.
fn load_seed() -> Option<String> {
    match std::fs::read_to_string(SEED_PATH) {
        Ok(text) => Some(text),
        Err(e) => {
            if std::env::var(SKIP_ENV).as_deref() == Ok("1") {
                eprintln!("note: seed 003 not readable at {SEED_PATH} ({e}); skipped because {SKIP_ENV}=1");
                return None;
            }
            panic!(
                "seed 003 not readable at {SEED_PATH} ({e}): the `shared` folder must sit beside the repository root; \
                 set {SKIP_ENV}=1 to skip the seed tests"
            );
        }
    }
}

fn parsed_seed(text: &str) -> Seed {
    parse_seed(text).unwrap_or_else(|errors| {
        panic!(
            "seed 003 at {SEED_PATH} did not parse ({} problems):\n  - {}",
            errors.len(),
            errors.join("\n  - ")
        )
    })
}

fn model(spec: &Value) -> SpecModel {
    spec_model(spec).unwrap_or_else(|errors| {
        panic!(
            "spec did not load into the comparison model ({} problems):\n  - {}",
            errors.len(),
            errors.join("\n  - ")
        )
    })
}

#[test]
fn spec_matches_seed() {
    let Some(text) = load_seed() else { return };
    let seed = parsed_seed(&text);

    // Sanity: a parser that finds nothing (or only part of the seed) cannot pass.
    let param_rows: usize = seed.operations.values().map(|op| op.params.len()).sum();
    let bodies = seed.operations.values().filter(|op| op.body.is_some()).count();
    assert!(
        !seed.operations.is_empty() && param_rows > 0 && bodies > 0,
        "the seed parser found {} operations, {param_rows} parameter rows, {bodies} request bodies",
        seed.operations.len()
    );
    let mut problems = Vec::new();
    if seed.operations.len() + SEED_UNRENDERED.len() != EXPECTED_OPERATIONS {
        problems.push(format!(
            "sanity: the parser found {} operations in the seed (+{} known unrendered), expected {EXPECTED_OPERATIONS}",
            seed.operations.len(),
            SEED_UNRENDERED.len()
        ));
    }
    problems.extend(seed_consistency(&seed));
    problems.extend(compare(&model(&load_spec()), &seed));
    assert!(
        problems.is_empty(),
        "{} mismatch(es) between {SPEC_PATH} and seed 003:\n  - {}",
        problems.len(),
        problems.join("\n  - ")
    );
    eprintln!(
        "fidelity: {} operations ({} parameters, {} request bodies) match seed 003; {} counted but unrendered by the seed",
        seed.operations.len(),
        param_rows,
        bodies,
        SEED_UNRENDERED.len()
    );
}

/// A spec mutation and the reports it must cause (each report: substrings one line must contain).
struct Mutation {
    what: &'static str,
    apply: fn(&mut Value) -> Result<(), String>,
    expect: &'static [&'static [&'static str]],
}

fn operation_mut<'a>(spec: &'a mut Value, path: &str, method: &str) -> Result<&'a mut Value, String> {
    spec.get_mut("paths")
        .and_then(|paths| paths.get_mut(path))
        .and_then(|item| item.get_mut(method))
        .ok_or_else(|| format!("spec has no {method} {path}"))
}

fn drop_parameter(spec: &mut Value) -> Result<(), String> {
    let op = operation_mut(spec, "/api/v1/activity_feed", "get")?;
    let params = op
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .ok_or("no parameters")?;
    let before = params.len();
    params.retain(|p| p.get("name").and_then(Value::as_str) != Some("limit"));
    (params.len() + 1 == before)
        .then_some(())
        .ok_or_else(|| "parameter `limit` not found".to_string())
}

fn flip_parameter_required(spec: &mut Value) -> Result<(), String> {
    let op = operation_mut(spec, "/api/v1/threads/{thread}/read_status", "get")?;
    let params = op
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .ok_or("no parameters")?;
    let param = params
        .iter_mut()
        .find(|p| p.get("name").and_then(Value::as_str) == Some("user"))
        .ok_or("parameter `user` not found")?;
    let required = param.get("required").and_then(Value::as_bool).unwrap_or(false);
    param["required"] = Value::Bool(!required);
    Ok(())
}

fn flip_body_field_required(spec: &mut Value) -> Result<(), String> {
    let op = operation_mut(spec, "/api/v1/agents/{agent}/search", "post")?;
    let required = op
        .pointer_mut("/requestBody/content/application~1json/schema/required")
        .and_then(Value::as_array_mut)
        .ok_or("no inline `required` list on the request body")?;
    let before = required.len();
    required.retain(|name| name.as_str() != Some("query"));
    (required.len() + 1 == before)
        .then_some(())
        .ok_or_else(|| "`query` was not required".to_string())
}

fn rename_path(spec: &mut Value) -> Result<(), String> {
    let paths = spec.get_mut("paths").and_then(Value::as_object_mut).ok_or("no paths")?;
    let item = paths.remove("/api/v1/teams/{team}/invite").ok_or("path not found")?;
    paths.insert("/api/v1/teams/{team}/invitation".to_string(), item);
    Ok(())
}

const MUTATIONS: &[Mutation] = &[
    Mutation {
        what: "drop parameter `limit` of GET /api/v1/activity_feed",
        apply: drop_parameter,
        expect: &[&[
            "GET /api/v1/activity_feed:",
            "parameter `limit` (query)",
            "not in the spec",
        ]],
    },
    Mutation {
        what: "flip the required flag of `user` on GET /api/v1/threads/{thread}/read_status",
        apply: flip_parameter_required,
        expect: &[&[
            "GET /api/v1/threads/{thread}/read_status:",
            "parameter `user` (query)",
            "required=true in the spec",
        ]],
    },
    Mutation {
        what: "make request-body field `query` of POST /api/v1/agents/{agent}/search optional",
        apply: flip_body_field_required,
        expect: &[&[
            "POST /api/v1/agents/{agent}/search:",
            "request-body field `query`",
            "required=false in the spec",
        ]],
    },
    Mutation {
        what: "rename /api/v1/teams/{team}/invite to /api/v1/teams/{team}/invitation",
        apply: rename_path,
        expect: &[
            &["POST /api/v1/teams/{team}/invite:", "not in the spec"],
            &["POST /api/v1/teams/{team}/invitation:", "seed does not list it"],
        ],
    },
];

/// Expectations of `mutation` that no line of `new` (reports the unmutated spec does not cause) meets.
fn unmet(mutation: &Mutation, new: &[String]) -> Vec<String> {
    mutation
        .expect
        .iter()
        .filter(|parts| !new.iter().any(|line| parts.iter().all(|part| line.contains(part))))
        .map(|parts| format!("{}: no report containing {parts:?}", mutation.what))
        .collect()
}

#[test]
fn comparison_reports_each_mutation() {
    let Some(text) = load_seed() else { return };
    let seed = parsed_seed(&text);
    let original = load_spec();
    let baseline: BTreeSet<String> = compare(&model(&original), &seed).into_iter().collect();
    let new_reports = |spec: &Value| -> Vec<String> {
        compare(&model(spec), &seed)
            .into_iter()
            .filter(|line| !baseline.contains(line))
            .collect()
    };

    let mut failures = Vec::new();
    let mut all_at_once = original.clone();
    for mutation in MUTATIONS {
        let mut mutated = original.clone();
        if let Err(e) = (mutation.apply)(&mut mutated).and_then(|()| (mutation.apply)(&mut all_at_once)) {
            failures.push(format!("{}: could not apply: {e}", mutation.what));
            continue;
        }
        let new = new_reports(&mutated);
        if new.is_empty() {
            failures.push(format!("{}: not reported at all", mutation.what));
        }
        failures.extend(unmet(mutation, &new));
    }
    // All mutations together: every one is reported in the same run.
    let new = new_reports(&all_at_once);
    for mutation in MUTATIONS {
        failures.extend(unmet(mutation, &new).into_iter().map(|f| format!("(all at once) {f}")));
    }
    assert!(
        failures.is_empty(),
        "the comparison missed mutations:\n  - {}",
        failures.join("\n  - ")
    );
}

#[test]
fn row_splitting() {
    let row = |line: &str, with_location: bool| parse_row(line, with_location);
    let expect = |name: &str, location: Option<&str>, required: bool| {
        Ok(Row {
            name: name.to_string(),
            location: location.map(str::to_string),
            required,
        })
    };
    assert_eq!(
        row("agentpathrequiredstringID of the agent.", true),
        expect("agent", Some("path"), true)
    );
    assert_eq!(
        row("queryquerystringFull-text search.", true),
        expect("query", Some("query"), false)
    );
    assert_eq!(
        row("kindqueryarray<string>One or more kinds.", true),
        expect("kind", Some("query"), false)
    );
    assert_eq!(
        row("namerequiredstringDisplay name.", false),
        expect("name", None, true)
    );
    assert_eq!(
        row("is_requiredbooleanWhether it is.", false),
        expect("is_required", None, false)
    );
    assert_eq!(
        row("invite_codestring12-character code.", false),
        expect("invite_code", None, false)
    );
    assert_eq!(
        row("template_bundleobjectBundle.", false),
        expect("template_bundle", None, false)
    );
    for odd in [
        "",
        "x",
        "é",
        "12abc",
        "namestrin",
        "name stringText",
        "kindqueryarray<string",
        "agentstringNo location",
    ] {
        assert!(row(odd, true).is_err(), "{odd:?} should not parse as a parameter row");
    }
    assert!(row("agentstringNo location", false).is_ok());
}

#[test]
fn parser_reports_odd_lines() {
    let good = "\
65 paths89 operations30 channel events

/api/v1/things

Things

2 operations
GET/api/v1/things/{thing}

Retrieve a thing

Returns it. See `GET /api/v1/other` too.

Bearer token

Parameters

NameTypeDescription
thingpathrequiredstringThing ID.
expandqueryarray<string>Fields to expand.

Responses

  • 200Successful response
POST/api/v1/things

Create a thing

Request body

NameTypeDescription
namerequiredstringDisplay name.
notesstringNo description provided.

Responses

  • 200Successful response

WebSocket topics

JOINapi:things:{id}
garbage that is never looked at
";
    let seed = parse_seed(good).unwrap_or_else(|e| panic!("good sample failed: {e:?}"));
    assert_eq!((seed.declared_paths, seed.declared_operations), (65, 89));
    assert_eq!(seed.groups.len(), 1);
    assert_eq!(seed.groups[0].declared, 2);
    let get = &seed.operations[&("GET".to_string(), "/api/v1/things/{thing}".to_string())];
    assert_eq!(get.params.get(&("path".to_string(), "thing".to_string())), Some(&true));
    assert_eq!(
        get.params.get(&("query".to_string(), "expand".to_string())),
        Some(&false)
    );
    assert_eq!(get.body, None);
    let post = &seed.operations[&("POST".to_string(), "/api/v1/things".to_string())];
    let body = post
        .body
        .as_ref()
        .map(|b| b.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>());
    assert_eq!(body, Some(vec![("name", true), ("notes", false)]));

    let odd = good
        .replace("expandqueryarray<string>Fields to expand.", "!!! not a row")
        .replace("POST/api/v1/things\n", "GET/api/v1/things/{thing}\n")
        .replace("\nNameTypeDescription\nnamerequired", "\nName | Type\nnamerequired");
    let errors = parse_seed(&odd).expect_err("odd sample must not parse cleanly");
    for needle in [
        "line 20: cannot split",
        "rendered twice",
        "expected the `NameTypeDescription`",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "no error mentioning {needle:?} in {errors:#?}"
        );
    }

    for text in [
        "",
        "\n\n\n",
        "GET/api/v1/x\nNameTypeDescription\nxpathstringX\n",
        "é\u{0}\t/\n1 operations\n",
    ] {
        assert!(parse_seed(text).is_err(), "{text:?} must be reported, not accepted");
    }
}
