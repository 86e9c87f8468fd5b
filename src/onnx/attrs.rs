//! A node's attributes by name, read with their declared types; every getter's error says which
//! attribute was wrong and what it should be.

use std::collections::HashMap;

use super::proto::AttributeProto;
use super::proto::attribute_proto::AttributeType;
use super::value::{Value, decode};

/// The attributes of one node.
pub(crate) struct Attrs<'a> {
    by_name: HashMap<&'a str, &'a AttributeProto>,
}

impl<'a> Attrs<'a> {
    /// Indexes `attrs` by name.
    pub(crate) fn new(attrs: &'a [AttributeProto]) -> Self {
        Self {
            by_name: attrs.iter().map(|a| (a.name(), a)).collect(),
        }
    }

    /// The attribute names, sorted (for refusing unknown ones).
    pub(crate) fn names(&self) -> Vec<&'a str> {
        let mut names: Vec<&str> = self.by_name.keys().copied().collect();
        names.sort_unstable();
        names
    }

    fn get(&self, name: &str, want: AttributeType) -> Result<Option<&'a AttributeProto>, String> {
        match self.by_name.get(name) {
            None => Ok(None),
            Some(a) if a.r#type == Some(want as i32) || (a.r#type.is_none() && has(a, want)) => {
                Ok(Some(a))
            }
            Some(a) => Err(format!(
                "attribute {name} has type {}, expected {}",
                a.r#type
                    .and_then(|t| AttributeType::try_from(t).ok())
                    .map_or("UNDEFINED", |t| t.as_str_name()),
                want.as_str_name()
            )),
        }
    }

    /// An `INT` attribute.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, String> {
        Ok(self.get(name, AttributeType::Int)?.map(|a| a.i()))
    }

    /// A `FLOAT` attribute.
    pub(crate) fn float(&self, name: &str) -> Result<Option<f32>, String> {
        Ok(self.get(name, AttributeType::Float)?.map(|a| a.f()))
    }

    /// A `STRING` attribute (UTF-8).
    pub(crate) fn string(&self, name: &str) -> Result<Option<String>, String> {
        Ok(self
            .get(name, AttributeType::String)?
            .map(|a| String::from_utf8_lossy(a.s()).into_owned()))
    }

    /// An `INTS` attribute.
    pub(crate) fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, String> {
        Ok(self.get(name, AttributeType::Ints)?.map(|a| a.ints.clone()))
    }

    /// A `FLOATS` attribute.
    pub(crate) fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, String> {
        Ok(self
            .get(name, AttributeType::Floats)?
            .map(|a| a.floats.clone()))
    }

    /// A `STRINGS` attribute (UTF-8).
    pub(crate) fn strings(&self, name: &str) -> Result<Option<Vec<String>>, String> {
        Ok(self.get(name, AttributeType::Strings)?.map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        }))
    }

    /// A `TENSOR` attribute, decoded.
    pub(crate) fn tensor(&self, name: &str) -> Result<Option<Value>, String> {
        match self.get(name, AttributeType::Tensor)? {
            None => Ok(None),
            Some(a) => {
                let t =
                    a.t.as_ref()
                        .ok_or_else(|| format!("attribute {name} holds no tensor"))?;
                decode(t)
                    .map(Some)
                    .map_err(|e| format!("attribute {name}: {e}"))
            }
        }
    }
}

/// Whether an attribute written without its type field (IR version 1) holds `want`'s field.
fn has(a: &AttributeProto, want: AttributeType) -> bool {
    match want {
        AttributeType::Float => a.f.is_some(),
        AttributeType::Int => a.i.is_some(),
        AttributeType::String => a.s.is_some(),
        AttributeType::Tensor => a.t.is_some(),
        AttributeType::Floats => !a.floats.is_empty(),
        AttributeType::Ints => !a.ints.is_empty(),
        AttributeType::Strings => !a.strings.is_empty(),
        _ => false,
    }
}
