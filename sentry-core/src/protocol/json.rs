//! The JSON form of the protocol types, written by hand rather than derived.
//!
//! Why not `#[derive(Serialize, Deserialize)]`: serde_derive brings its own `syn` to every
//! build of a program that uses the SDK, and the derived readers are whole state machines,
//! compiled again for every input they are read from. Here writing goes field by field
//! through serde as before (same keys, same order, same omissions: the wire form is
//! unchanged), and reading parses one [`Value`] and then takes the fields out of it with
//! plain code, compiled once.
//!
//! Reading keeps derive's rules: unknown keys are ignored, `null` is `None` for an optional
//! field, a missing field takes its default where it has one and is an error where it has
//! none, and a value of the wrong type is an error.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};

use super::{Map, Value};

/// Starts writing an object; add its fields with [`Fields`], then [`Fields::end`].
pub(crate) fn object<S: Serializer>(serializer: S) -> Result<Fields<S::SerializeMap>, S::Error> {
    serializer.serialize_map(None).map(Fields)
}

/// An object being written.
pub(crate) struct Fields<M>(M);

impl<M: SerializeMap> Fields<M> {
    /// A field written whatever its value.
    pub(crate) fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        self.0.serialize_entry(key, value)
    }

    /// A field left out when it is `None` or an empty list or map.
    pub(crate) fn unless_empty<T: Serialize + Empty>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        if value.is_empty() {
            return Ok(());
        }
        self.0.serialize_entry(key, value)
    }

    /// A map's entries as fields of this object, after the named ones (serde's `flatten`).
    pub(crate) fn flatten(&mut self, map: &Map) -> Result<(), M::Error> {
        for (key, value) in map {
            self.0.serialize_entry(key, value)?;
        }
        Ok(())
    }

    /// Closes the object.
    pub(crate) fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

/// What a field may be left out for: nothing to say.
pub(crate) trait Empty {
    /// True when the field is not written.
    fn is_empty(&self) -> bool;
}

impl<T> Empty for Option<T> {
    fn is_empty(&self) -> bool {
        self.is_none()
    }
}

impl<T> Empty for Vec<T> {
    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

impl<V> Empty for BTreeMap<String, V> {
    fn is_empty(&self) -> bool {
        BTreeMap::is_empty(self)
    }
}

impl Empty for Map {
    fn is_empty(&self) -> bool {
        Map::is_empty(self)
    }
}

/// A type read from an already parsed JSON value.
pub(crate) trait FromJson: Sized {
    /// Takes the value apart; the error says what was wrong, as serde's would.
    fn from_json(value: Value) -> Result<Self, String>;
}

/// The body of every `Deserialize` impl here: parse one value, then take it apart.
pub(crate) fn deserialize<'de, D: Deserializer<'de>, T: FromJson>(
    deserializer: D,
) -> Result<T, D::Error> {
    let value = Value::deserialize(deserializer)?;
    T::from_json(value).map_err(serde::de::Error::custom)
}

/// `Deserialize` for types that are [`FromJson`], through [`deserialize`].
macro_rules! deserialize_from_json {
    ($($ty:ty),* $(,)?) => {$(
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::protocol::json::deserialize(deserializer)
            }
        }
    )*};
}
pub(crate) use deserialize_from_json;

/// The error for a value of the wrong type, worded as serde words it.
pub(crate) fn invalid_type(value: &Value, expected: &str) -> String {
    let found = match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean `{b}`"),
        Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
        Value::Number(n) => format!("integer `{n}`"),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "sequence".to_owned(),
        Value::Object(_) => "map".to_owned(),
    };
    format!("invalid type: {found}, expected {expected}")
}

/// The fields of an object being read, taken out one by one.
pub(crate) struct Object(Map);

impl Object {
    /// The object `value` must be; `what` names it in the error otherwise.
    pub(crate) fn new(value: Value, what: &str) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(Object(map)),
            other => Err(invalid_type(&other, what)),
        }
    }

    /// A field without a default: missing is an error.
    pub(crate) fn required<T: FromJson>(&mut self, key: &str) -> Result<T, String> {
        match self.0.remove(key) {
            Some(value) => T::from_json(value),
            None => Err(format!("missing field `{key}`")),
        }
    }

    /// A field with a default, which a missing field takes.
    pub(crate) fn optional<T: FromJson + Default>(&mut self, key: &str) -> Result<T, String> {
        self.or_else(key, T::default)
    }

    /// A field with its own default.
    pub(crate) fn or_else<T: FromJson>(
        &mut self,
        key: &str,
        default: impl FnOnce() -> T,
    ) -> Result<T, String> {
        match self.0.remove(key) {
            Some(value) => T::from_json(value),
            None => Ok(default()),
        }
    }

    /// The keys not taken out (serde's `flatten`).
    pub(crate) fn rest(self) -> Map {
        self.0
    }
}

impl FromJson for Value {
    fn from_json(value: Value) -> Result<Self, String> {
        Ok(value)
    }
}

impl FromJson for Map {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(map),
            other => Err(invalid_type(&other, "a map")),
        }
    }
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::String(text) => Ok(text),
            other => Err(invalid_type(&other, "a string")),
        }
    }
}

impl FromJson for Cow<'static, str> {
    fn from_json(value: Value) -> Result<Self, String> {
        String::from_json(value).map(Cow::Owned)
    }
}

impl FromJson for bool {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(invalid_type(&other, "a boolean")),
        }
    }
}

impl FromJson for f64 {
    fn from_json(value: Value) -> Result<Self, String> {
        match value.as_f64() {
            Some(number) => Ok(number),
            None => Err(invalid_type(&value, "f64")),
        }
    }
}

impl FromJson for u64 {
    fn from_json(value: Value) -> Result<Self, String> {
        match value.as_u64() {
            Some(number) => Ok(number),
            None => Err(invalid_type(&value, "u64")),
        }
    }
}

impl FromJson for u32 {
    fn from_json(value: Value) -> Result<Self, String> {
        match value.as_u64().map(u32::try_from) {
            Some(Ok(number)) => Ok(number),
            _ => Err(invalid_type(&value, "u32")),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => items.into_iter().map(T::from_json).collect(),
            other => Err(invalid_type(&other, "a sequence")),
        }
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            // Inserted one by one, not collected: collecting into a map sorts first, which
            // compiles a sort for every `T` (the keys are sorted already).
            Value::Object(map) => {
                let mut read = BTreeMap::new();
                for (key, value) in map {
                    read.insert(key, T::from_json(value)?);
                }
                Ok(read)
            }
            other => Err(invalid_type(&other, "a map")),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn wrong_types_are_errors_worded_as_serde_words_them() {
        assert_eq!(
            u64::from_json(json!(-1)).unwrap_err(),
            "invalid type: integer `-1`, expected u64"
        );
        assert_eq!(
            String::from_json(json!(1.5)).unwrap_err(),
            "invalid type: floating point `1.5`, expected a string"
        );
        assert_eq!(u32::from_json(json!(1u64 << 40)).ok(), None);
        assert_eq!(f64::from_json(json!(3)).unwrap(), 3.0);
    }

    #[test]
    fn null_is_none_and_missing_fields_take_their_defaults_or_fail() {
        let mut object = Object::new(json!({"a": null, "b": [1, 2]}), "struct T").unwrap();
        assert_eq!(object.optional::<Option<String>>("a").unwrap(), None);
        assert_eq!(object.optional::<Vec<u64>>("b").unwrap(), vec![1, 2]);
        assert_eq!(object.optional::<Vec<u64>>("c").unwrap(), Vec::<u64>::new());
        assert_eq!(
            object.required::<String>("d").unwrap_err(),
            "missing field `d`"
        );
        assert_eq!(
            Object::new(json!([]), "struct T").err().unwrap(),
            "invalid type: sequence, expected struct T"
        );
    }
}
