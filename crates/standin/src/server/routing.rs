//! Which operation of the spec a request is for.

use super::{error, Reply};
use crate::spec::{Operation, PathParams, Segment, Spec};
use crate::Api;

/// Why no operation answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteMiss {
    /// No path of the spec matches.
    NotFound,
    /// The path exists, under other methods.
    MethodNotAllowed,
}

impl RouteMiss {
    /// The answer a server gives for the miss.
    pub(crate) fn reply(self, api: Api) -> Reply {
        match self {
            RouteMiss::NotFound => error(api, 404, "NOT_FOUND", "no such route", &[]),
            RouteMiss::MethodNotAllowed => error(api, 405, "METHOD_NOT_ALLOWED", "method not allowed here", &[]),
        }
    }
}

impl Spec {
    /// The operation for `method` and `path`, with its path parameters; literal segments win
    /// over parameters.
    pub(crate) fn route(&self, method: &str, path: &str) -> Result<(&Operation, PathParams), RouteMiss> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut best: Option<(&Operation, PathParams, usize)> = None;
        let mut other_method = false;
        for op in &self.operations {
            if op.segments.len() != parts.len() {
                continue;
            }
            let mut params = Vec::new();
            let mut literals = 0;
            let matched = op.segments.iter().zip(&parts).all(|(seg, part)| match seg {
                Segment::Literal(l) => {
                    literals += 1;
                    l == part
                }
                Segment::Param(name) => {
                    params.push((name.clone(), (*part).to_owned()));
                    true
                }
            });
            if !matched {
                continue;
            }
            if op.method != method {
                other_method = true;
                continue;
            }
            if best.as_ref().is_none_or(|(_, _, l)| literals > *l) {
                best = Some((op, params, literals));
            }
        }
        best.map(|(op, params, _)| (op, params)).ok_or(if other_method {
            RouteMiss::MethodNotAllowed
        } else {
            RouteMiss::NotFound
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_miss_says_whether_the_path_exists_under_another_method() {
        let spec = crate::cached(Api::ArchAstro).expect("the bundled spec loads");
        let (op, params) = spec.route("GET", "/api/v1/agents/agt_1").expect("a route");
        assert_eq!((op.template.as_str(), params.len()), ("/api/v1/agents/{agent}", 1));
        assert_eq!(
            spec.route("TRACE", "/api/v1/agents").err(),
            Some(RouteMiss::MethodNotAllowed)
        );
        assert_eq!(
            spec.route("GET", "/api/v1/nowhere/at/all").err(),
            Some(RouteMiss::NotFound)
        );
        assert_eq!(RouteMiss::NotFound.reply(Api::ArchAstro).status().as_u16(), 404);
        assert_eq!(RouteMiss::MethodNotAllowed.reply(Api::Agentiv).status().as_u16(), 405);
    }
}
