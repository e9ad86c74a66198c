//! Spec → normalized document → progenitor → formatted Rust with a provenance header.

mod bisect;
pub mod channels;
pub mod emit;
pub mod mocks;
pub mod open_enums;
pub mod progenitor;
pub mod scope;
mod stream;
pub mod wire_names;

use serde_json::Value;

use crate::apis::ApiEntry;
use crate::error::SpecError;
use crate::facts::Facts;
use crate::rules::Report;
use crate::spec::LoadedSpec;

/// The progenitor version the workspace pins (checked against `Cargo.lock` by a test).
pub const PROGENITOR_VERSION: &str = "0.15.1";

use self::progenitor::{Failure, INNER_TYPE};

use self::emit::{DROPPED_HEADER, SEGMENT_ENCODER};
use self::stream::TYPE_BUILDERS_FEATURE;

/// A generated client, ready to write.
pub struct Generated {
    /// The whole file, header included.
    pub code: String,
    /// The contract test for the generated client, header included.
    pub contract: String,
    /// Which rules fired.
    pub report: Report,
    /// Operations left out (also listed in the header).
    pub skipped: Vec<Skipped>,
    /// Paginated operations with no pagination glue (operation id, why).
    pub unwalkable: emit::Unwalkable,
    /// What the contract test covers.
    pub coverage: crate::contract::Coverage,
    /// The typed realtime channel module and its contract test, for an API with channels.
    pub channels: Option<ChannelFiles>,
    /// Operations in the normalized document (skipped ones included).
    pub operations: usize,
    /// The typed httpmock mocks, for an API whose table entry names a mock module.
    pub mocks: Option<String>,
}

impl Generated {
    /// Every generated file of `api` (its table entry says where each goes) with its text.
    pub fn files(&self, api: &ApiEntry) -> Vec<(&'static str, &str)> {
        let mut files = vec![(api.output, self.code.as_str()), (api.contract, self.contract.as_str())];
        if let (Some(path), Some(mocks)) = (api.mocks, &self.mocks) {
            files.push((path, mocks.as_str()));
        }
        if let (Some(outputs), Some(channels)) = (api.channels, &self.channels) {
            files.push((outputs.code, channels.code.as_str()));
            files.push((outputs.contract, channels.contract.as_str()));
        }
        files
    }

    /// What the `specs` gate (so the test command) refuses in this code, freshness aside: an
    /// operation the contract test does not call, a channel entry it does not test, a paginated
    /// operation with no stream. One message per problem, naming the API.
    pub fn gate_errors(&self, api: &ApiEntry) -> Vec<String> {
        let mut out = Vec::new();
        let (covered, ops) = (self.coverage.operations, self.operations);
        if covered < ops {
            out.push(format!(
                "{}: the contract test covers {covered} of {ops} operations",
                api.name
            ));
        }
        if let Some(c) = self
            .channels
            .as_ref()
            .map(|c| &c.coverage)
            .filter(|c| c.covered < c.entries)
        {
            out.push(format!(
                "{}: the channel contract test covers {} of {} channel entries",
                api.name, c.covered, c.entries
            ));
        }
        for (operation, why) in &self.unwalkable {
            out.push(format!(
                "{}: `{operation}` is paginated but has no stream: {why}",
                api.name
            ));
        }
        out
    }
}

/// The generated channel module of an API with `x-channels`.
pub struct ChannelFiles {
    /// The module, header included.
    pub code: String,
    /// Its contract test, header included.
    pub contract: String,
    /// What the contract test covers.
    pub coverage: crate::channel_contract::ChannelCoverage,
}

/// Validates, normalizes and generates the client for `api` from `spec`.
pub fn generate(api: &ApiEntry, spec: &LoadedSpec, label: &str) -> Result<Generated, SpecError> {
    let normalized = crate::pipeline::normalize(&spec.path, spec.doc.clone(), &api.options)?;
    let (mut doc, report) = (normalized.doc, normalized.report);
    let code = generate_code_with(&spec.path, &doc, api.mocks.is_some())?;
    let operations = crate::rules::walk::each_operation(&doc).count();
    for skip in &code.skipped {
        remove_operation(&mut doc, &skip.pointer);
    }
    let file_header = header(api, spec, &report, &code.skipped, &progenitor_generator());
    let sha = &spec.sha256;
    let variant = quote::format_ident!("{}", api.variant);
    let view = match &api.scope {
        Some(scope) => scope::emit(&doc, &code.facts, scope).map_err(|e| SpecError::new(&spec.path, "", e))?,
        None => proc_macro2::TokenStream::new(),
    };
    let constants: syn::File = syn::parse_quote! {
        /// The API this client calls.
        pub const API: ::agentapis_runtime::Api = ::agentapis_runtime::Api::#variant;
        /// The version label of the spec this client was generated from.
        pub const SPEC_VERSION: &str = #label;
        /// The sha256 of that spec file.
        pub const SPEC_SHA256: &str = #sha;
        #view
    };
    let (contract_tokens, coverage) = crate::contract::emit(api, &doc, &code.facts);
    let contract_ast: syn::File = syn::parse2(contract_tokens)
        .map_err(|e| SpecError::new(&spec.path, "", format!("contract test does not parse: {e}")))?;
    let contract = format!(
        "// @generated by `cargo xtask regen {name}` from {path} (sha256 {sha}), generator: progenitor {PROGENITOR_VERSION} + xtask contract emitter. Do not edit by hand.\n\n{}",
        prettyplease::unparse(&contract_ast),
        name = api.name,
        path = spec.path,
    );
    let channels = match api.channels {
        Some(outputs) => Some(generate_channels(api, spec, &doc, &code.facts, &report, outputs)?),
        None => None,
    };
    let mocks = code.mocks.as_ref().map(|source| {
        let generator = format!("progenitor {PROGENITOR_VERSION} httpmock generator + xtask array-query repair");
        format!("{}{source}", header(api, spec, &report, &code.skipped, &generator))
    });
    Ok(Generated {
        code: format!("{file_header}{}\n{}", prettyplease::unparse(&constants), code.source),
        contract,
        report,
        skipped: code.skipped,
        unwalkable: code.unwalkable,
        coverage,
        channels,
        operations,
        mocks,
    })
}

/// The channel module and its contract test (`doc` normalized, `facts` from the client).
fn generate_channels(
    api: &ApiEntry,
    spec: &LoadedSpec,
    doc: &Value,
    facts: &Facts,
    report: &Report,
    outputs: crate::apis::ChannelOutputs,
) -> Result<ChannelFiles, SpecError> {
    let model = crate::channels::read(&spec.path, doc).map_err(|mut errors| errors.swap_remove(0))?;
    if model.is_empty() {
        return Err(SpecError::new(
            &spec.path,
            "/x-channels",
            format!(
                "the API table names a channel module ({}) but the spec describes no channels",
                outputs.code
            ),
        ));
    }
    let emitted =
        self::channels::emit(api.variant, &model, facts).map_err(|e| SpecError::new(&spec.path, "/x-channels", e))?;
    let code: syn::File = syn::parse2(emitted.tokens).map_err(|e| {
        SpecError::new(
            &spec.path,
            "/x-channels",
            format!("the channel module does not parse: {e}"),
        )
    })?;
    let generator = format!(
        "xtask channel emitter over the types of progenitor {PROGENITOR_VERSION}, runtime agentapis_runtime::realtime"
    );
    let header = header(api, spec, report, &[], &generator);
    let (tokens, coverage) = crate::channel_contract::emit(api, &model, doc, &emitted.entries);
    let contract: syn::File = syn::parse2(tokens).map_err(|e| {
        SpecError::new(
            &spec.path,
            "/x-channels",
            format!("the channel contract test does not parse: {e}"),
        )
    })?;
    let contract = format!(
        "// @generated by `cargo xtask regen {name}` from {path} (sha256 {sha}), generator: xtask channel contract emitter. Do not edit by hand.\n\n{}",
        prettyplease::unparse(&contract),
        name = api.name,
        path = spec.path,
        sha = spec.sha256,
    );
    Ok(ChannelFiles {
        code: format!("{header}{}", prettyplease::unparse(&code)),
        contract,
        coverage,
    })
}

/// What generates the client file, for its header.
fn progenitor_generator() -> String {
    format!(
        "progenitor {PROGENITOR_VERSION} (builder interface, hooks expected, inner type {INNER_TYPE}, \
         path parameters encoded by {SEGMENT_ENCODER}, builders of types no operation takes as its body behind \
         feature `{TYPE_BUILDERS_FEATURE}`, no `{DROPPED_HEADER}` header)"
    )
}

fn header(api: &ApiEntry, spec: &LoadedSpec, report: &Report, skipped: &[Skipped], generator: &str) -> String {
    let fired = report.fired();
    let fired = if fired.is_empty() {
        "none".to_owned()
    } else {
        fired.join(", ")
    };
    format!(
        "// @generated by `cargo xtask regen {name}`. Do not edit by hand: change the spec or a\n\
         // normalization rule and regenerate.\n\
         // spec: {path}\n\
         // spec-sha256: {sha}\n\
         // generator: {generator}\n\
         // rules fired: {fired}\n{skips}\n",
        name = api.name,
        path = spec.path,
        sha = spec.sha256,
        skips = skipped_lines(skipped),
    )
}

/// Header lines naming each operation left out, with why: every line of a reason that runs over
/// several lines (progenitor's messages do) is a comment of its own, so the file still compiles.
pub fn skipped_lines(skipped: &[Skipped]) -> String {
    let mut out = String::new();
    for skip in skipped {
        let text = skip.to_string();
        // A line comment ends at `\n` only; a lone `\r` is a line break to editors and diffs.
        let mut lines = text.split(['\n', '\r']).filter(|l| !l.trim().is_empty());
        out.push_str("// skipped operation: ");
        out.push_str(lines.next().unwrap_or_default().trim_end());
        out.push('\n');
        for line in lines {
            out.push_str("//     ");
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Runs progenitor on a normalized document and formats the result (no header).
pub fn generate_code(file: &str, doc: &Value) -> Result<Code, SpecError> {
    generate_code_with(file, doc, false)
}

/// [`generate_code`], and with `with_mocks` the client's typed httpmock mocks too (from the same
/// generator run, see [`progenitor::run_with_mocks`]).
pub fn generate_code_with(file: &str, doc: &Value, with_mocks: bool) -> Result<Code, SpecError> {
    let mut owned: Option<Value> = None;
    let mut skipped = Vec::new();
    let (tokens, mock_tokens) = loop {
        let current = owned.as_ref().unwrap_or(doc);
        let failure = match progenitor::run_with_mocks(current, with_mocks) {
            Ok(generated) => break generated,
            Err(failure) => failure,
        };
        match explain(file, current, failure) {
            Explained::Skip(skips) => {
                let mut next = current.clone();
                for skip in skips {
                    remove_operation(&mut next, &skip.pointer);
                    skipped.push(skip);
                }
                owned = Some(next);
            }
            Explained::Fatal(e) => return Err(e),
        }
    };
    let doc = owned.as_ref().unwrap_or(doc);
    let wire = wire_names::collect(doc);
    let extra: Vec<proc_macro2::TokenStream> = open_enums::collect(doc).iter().map(open_enums::items).collect();
    let tokens = wire_names::restore(tokens, &wire);
    let extra = wire_names::restore(quote::quote!(#(#extra)*), &wire);
    let formatted = stream::format(tokens, extra, &channel_params(doc))
        .map_err(|e| SpecError::new(file, "", format!("progenitor produced code that does not parse: {e}")))?;
    if let Some(name) = formatted.duplicate {
        // The component typify named so, if one is (an inline type has no node of its own).
        let component = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .and_then(|m| m.keys().find(|k| crate::syntax::typify_name(k) == name));
        let pointer = component.map_or(String::new(), |k| {
            format!("/components/schemas/{}", crate::error::escape(k))
        });
        return Err(SpecError::new(
            file,
            pointer,
            format!("progenitor generated two types named `{name}`, which would not compile; add or fix a normalization rule for the schema(s) typify names so"),
        ));
    }
    let facts = formatted.facts;
    let (paging, unwalkable) = emit::paging_module(doc, &facts);
    let operations = emit::operations_table(doc);
    let added: syn::File = syn::parse2(wire_names::restore(quote::quote! { #operations #paging }, &wire))
        .map_err(|e| SpecError::new(file, "", format!("the xtask's own items do not parse: {e}")))?;
    let mut source = formatted.source;
    source.push_str(&prettyplease::unparse(&added));
    let mocks = match mock_tokens {
        Some(tokens) => Some(mocks::emit(wire_names::restore(tokens, &wire)).map_err(|e| SpecError::new(file, "", e))?),
        None => None,
    };
    Ok(Code {
        source,
        skipped,
        unwalkable,
        facts,
        mocks,
    })
}

/// The types of channel join and message params: what a caller builds to send, like a request
/// body, so their builders are not behind the type-builders feature.
fn channel_params(doc: &Value) -> Vec<String> {
    doc.pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, s)| {
            s.get(crate::rules::channels::MARKER)
                .and_then(Value::as_str)
                .is_some_and(|origin| origin.ends_with("/params"))
        })
        .map(|(name, _)| crate::syntax::typify_name(name))
        .collect()
}

/// An operation left out of the generated client because progenitor cannot generate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The operation's JSON pointer.
    pub pointer: String,
    /// progenitor's message for the operation alone.
    pub reason: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.pointer, self.reason)
    }
}

/// Generated code and what had to be left out of it.
#[derive(Debug)]
pub struct Code {
    /// The formatted source (no header).
    pub source: String,
    /// Operations progenitor cannot generate, each named with its reason.
    pub skipped: Vec<Skipped>,
    /// Paginated operations with no pagination glue (operation id, why).
    pub unwalkable: emit::Unwalkable,
    /// What progenitor generated, as data.
    pub facts: Facts,
    /// The client's typed httpmock mocks (no header), when asked for.
    pub mocks: Option<String>,
}

enum Explained {
    /// Operations fail alone: leave them out and say so.
    Skip(Vec<Skipped>),
    /// Nothing can be left out: the error names the smallest failing node.
    Fatal(SpecError),
}

/// Turns a failure into an error with the pointer of the smallest piece that fails alone.
fn explain(file: &str, doc: &Value, failure: Failure) -> Explained {
    match failure {
        Failure::Invalid { pointer, message } => Explained::Fatal(SpecError::new(
            file,
            pointer,
            format!("not a valid OpenAPI 3.0 document after normalization: {message}"),
        )),
        Failure::Generator(whole) => match bisect::culprit(doc) {
            Some(bisect::Culprit::Schema { pointer, message }) => Explained::Fatal(SpecError::new(
                file,
                pointer,
                format!(
                    "progenitor fails on this schema of the normalized document ({message}); {}; add or fix a normalization rule for this construct",
                    save_normalized(file, doc)
                ),
            )),
            Some(bisect::Culprit::Operations(failing)) => Explained::Skip(
                failing
                    .into_iter()
                    .map(|(pointer, message)| Skipped {
                        pointer,
                        reason: format!("progenitor cannot generate it: {message}"),
                    })
                    .collect(),
            ),
            None => Explained::Fatal(SpecError::new(
                file,
                "",
                format!("progenitor fails ({whole}), but on no single schema or operation alone"),
            )),
        },
    }
}

/// Saves the normalized document the bisect probed, so the user can look at the schema the
/// pointer names as the generator saw it (rules may have rewritten it); says where, or how to
/// print it when it cannot be saved.
fn save_normalized(file: &str, doc: &Value) -> String {
    let printed = format!("`cargo xtask normalize {file}` prints it");
    let name: String = file
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = std::env::temp_dir().join(format!("xtask-normalized-{name}"));
    match serde_json::to_string_pretty(doc) {
        Ok(text) if std::fs::write(&path, &text).is_ok() => {
            format!("saved as {} ({printed})", path.display())
        }
        _ => printed,
    }
}

fn remove_operation(doc: &mut Value, pointer: &str) {
    let Some((item, method)) = pointer.rsplit_once('/') else {
        return;
    };
    if let Some(item) = doc.pointer_mut(item).and_then(Value::as_object_mut) {
        item.remove(method);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_a_multi_line_skip_reason_is_a_comment() {
        let skipped = [
            Skipped {
                pointer: "/paths/~1a/get".into(),
                reason: "progenitor cannot generate it: unsupported parameter\n  location: cookie\r\n\n\rsee docs"
                    .into(),
            },
            Skipped {
                pointer: "/paths/~1b/get".into(),
                reason: "one line".into(),
            },
        ];
        let lines = skipped_lines(&skipped);
        assert_eq!(
            lines,
            "// skipped operation: /paths/~1a/get (progenitor cannot generate it: unsupported parameter\n\
             //       location: cookie\n\
             //     see docs)\n\
             // skipped operation: /paths/~1b/get (one line)\n"
        );
        let file = format!("{lines}pub struct After;\n");
        let parsed = syn::parse_file(&file).expect("the header lines are comments");
        assert_eq!(parsed.items.len(), 1);
    }
}
