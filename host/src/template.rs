//! Spin's variable templates (`"https://{{ host }}:{{ port }}"`), parsed by
//! Spin's rules so wws-host refuses exactly the templates `spin up` refuses:
//! a `{{` without its `}}` is an error, the text between them is trimmed, and
//! anything else is literal.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("invalid variable template: unmatched '{{{{' in template")]
    Unmatched,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{{") {
                let (name, remainder) = after.split_once("}}").ok_or(TemplateError::Unmatched)?;
                parts.push(Part::Variable(name.trim().to_string()));
                rest = remainder;
            } else {
                let end = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Literal(rest[..end].to_string()));
                rest = &rest[end..];
            }
        }
        Ok(Self { parts })
    }

    pub fn is_literal(&self) -> bool {
        self.parts
            .iter()
            .all(|part| matches!(part, Part::Literal(_)))
    }

    /// The variable names the template refers to, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The expansion, or `None` when `value` has no value for a variable.
    pub fn render<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
        let mut output = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => output.push_str(text),
                Part::Variable(name) => output.push_str(value(name)?),
            }
        }
        Some(output)
    }
}

/// Spin's spelling, used in its error messages: `{{ name }}` with spaces.
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(text) => f.write_str(text)?,
                Part::Variable(name) => write!(f, "{{{{ {name} }}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_literals_and_trimmed_variables() {
        let template = Template::parse("https://{{host}}:{{  port }}/x").unwrap();
        assert_eq!(template.variables().collect::<Vec<_>>(), ["host", "port"]);
        assert!(!template.is_literal());
        assert_eq!(template.to_string(), "https://{{ host }}:{{ port }}/x");
        let rendered = template.render(|name| Some(if name == "host" { "h" } else { "1" }));
        assert_eq!(rendered.as_deref(), Some("https://h:1/x"));
        assert_eq!(template.render(|_| None), None);
        assert!(Template::parse("plain").unwrap().is_literal());
        assert!(Template::parse("").unwrap().is_literal());
    }

    #[test]
    fn an_unmatched_opening_is_refused() {
        assert_eq!(
            Template::parse("{{ a }} {{ b"),
            Err(TemplateError::Unmatched)
        );
        // A lone closing brace pair is literal text, as in Spin.
        assert!(Template::parse("a }} b").unwrap().is_literal());
    }
}
