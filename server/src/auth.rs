//! Bearer tokens bound to source patterns: which producer may send which sources.

use crate::config::TokenConfig;

/// A source pattern: `*` (every source), `<system>/*` (every source of a system), or one
/// exact source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Every source.
    Any,
    /// Every source whose system (the part before `/`) is this.
    System(String),
    /// Exactly this source.
    Exact(String),
}

impl Pattern {
    /// Parses a pattern; a `*` anywhere but as the whole pattern or after `<system>/` is an
    /// error.
    pub fn parse(p: &str) -> Result<Pattern, String> {
        if p == "*" {
            return Ok(Pattern::Any);
        }
        let Some((system, name)) = p.split_once('/') else {
            return Err(format!(
                "pattern `{p}`: expected `*`, `<system>/*` or `<system>/<name>`"
            ));
        };
        if system.is_empty() || system.contains('*') {
            return Err(format!("pattern `{p}`: the system must be named"));
        }
        match name {
            "*" => Ok(Pattern::System(system.to_owned())),
            "" => Err(format!("pattern `{p}`: the name is empty")),
            n if n.contains('*') => Err(format!("pattern `{p}`: `*` only as the whole name")),
            _ => Ok(Pattern::Exact(p.to_owned())),
        }
    }

    /// Whether `source` is covered.
    pub fn covers(&self, source: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::System(s) => source
                .split_once('/')
                .is_some_and(|(sys, _)| sys == s.as_str()),
            Pattern::Exact(e) => e == source,
        }
    }
}

/// The tokens of the configuration; with none, every request is let in.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: Vec<(String, Vec<Pattern>)>,
}

/// What a request's `Authorization` header gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access<'a> {
    /// No tokens are configured: every source.
    Open,
    /// A known token: the sources its patterns cover.
    Sources(&'a [Pattern]),
    /// No token, or an unknown one (401).
    Denied,
}

impl Access<'_> {
    /// Whether `source` may be sent.
    pub fn covers(&self, source: &str) -> bool {
        match self {
            Access::Open => true,
            Access::Sources(p) => p.iter().any(|p| p.covers(source)),
            Access::Denied => false,
        }
    }
}

impl Tokens {
    /// From the configuration (patterns were checked when it was read).
    pub fn new(config: &[TokenConfig]) -> Tokens {
        Tokens {
            tokens: config
                .iter()
                .map(|t| {
                    let p = t.sources.iter().filter_map(|p| Pattern::parse(p).ok());
                    (t.token.clone(), p.collect())
                })
                .collect(),
        }
    }

    /// The access an `Authorization` header value gives (compared in constant time per token).
    pub fn access(&self, authorization: Option<&[u8]>) -> Access<'_> {
        if self.tokens.is_empty() {
            return Access::Open;
        }
        let Some(given) = authorization.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return Access::Denied;
        };
        let mut found = None;
        for (token, patterns) in &self.tokens {
            if constant_time_eq(token.as_bytes(), given) && found.is_none() {
                found = Some(patterns.as_slice());
            }
        }
        found.map_or(Access::Denied, Access::Sources)
    }
}

/// Equality whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_cover_what_they_say() {
        // (pattern, source, covered)
        let cases = [
            ("*", "erp/main", true),
            ("fleet/*", "fleet/truck-1", true),
            ("fleet/*", "fleetx/truck-1", false),
            ("fleet/*", "erp/fleet", false),
            ("erp/sap-us", "erp/sap-us", true),
            ("erp/sap-us", "erp/sap-usa", false),
            ("erp/sap-us", "erp/sap", false),
        ];
        for (p, s, want) in cases {
            assert_eq!(Pattern::parse(p).unwrap().covers(s), want, "{p} {s}");
        }
        for bad in ["", "fleet", "*/x", "fleet/tr*", "/x", "fleet/"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_give_their_sources_and_nothing_else() {
        let t = Tokens::new(&[TokenConfig {
            token: "s3cret".into(),
            sources: vec!["fleet/*".into()],
        }]);
        assert_eq!(t.access(None), Access::Denied);
        assert_eq!(t.access(Some(b"Bearer nope")), Access::Denied);
        assert_eq!(t.access(Some(b"s3cret")), Access::Denied);
        let a = t.access(Some(b"Bearer s3cret"));
        assert!(a.covers("fleet/truck-9") && !a.covers("erp/main"));
        assert_eq!(Tokens::default().access(None), Access::Open);
    }
}
