use std::borrow::Cow;

use serde::{Serialize, Serializer};

use super::json::{self, FromJson, Object};

use super::{Level, Map, timestamp_now};

/// A trail entry recorded before an event: a log line, a request, a user action.
///
/// Its texts are [`Cow<'static, str>`](Cow): a literal (`"ui.click"`) is kept as a borrowed
/// `&'static str` and costs no allocation, which matters on paths that leave a breadcrumb for
/// every request or log line; a `String` (`format!(...)`) is kept as it is.
///
/// ```
/// use sentry_core::protocol::{Breadcrumb, Level};
///
/// let crumb = Breadcrumb::new("config loaded").category("startup").level(Level::Info);
/// sentry_core::add_breadcrumb(crumb);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Breadcrumb {
    /// When it happened.
    pub timestamp: f64,
    /// The kind of breadcrumb, such as `default`, `http`, `navigation` or `error`.
    pub ty: Cow<'static, str>,
    /// A dotted category such as `app.startup` or `http`.
    pub category: Option<Cow<'static, str>>,
    /// How severe it is.
    pub level: Level,
    /// What happened, in words.
    pub message: Option<Cow<'static, str>>,
    /// Structured detail.
    pub data: Map,
}

fn default_type() -> Cow<'static, str> {
    Cow::Borrowed("default")
}

impl Default for Breadcrumb {
    #[inline]
    fn default() -> Self {
        Breadcrumb {
            timestamp: timestamp_now(),
            ty: default_type(),
            category: None,
            level: Level::Info,
            message: None,
            data: Map::new(),
        }
    }
}

impl Breadcrumb {
    /// A breadcrumb with a message, timestamped now.
    #[inline]
    pub fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Breadcrumb {
            message: Some(message.into()),
            ..Default::default()
        }
    }

    /// Sets the category.
    #[inline]
    pub fn category(mut self, category: impl Into<Cow<'static, str>>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// Sets the level.
    #[inline]
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Sets the type.
    #[inline]
    pub fn ty(mut self, ty: impl Into<Cow<'static, str>>) -> Self {
        self.ty = ty.into();
        self
    }

    /// Adds one key to the structured data.
    pub fn data(mut self, key: impl Into<String>, value: impl Into<super::Value>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }
}

/// The breadcrumbs of an event, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breadcrumbs {
    /// The entries, oldest first.
    pub values: Vec<Breadcrumb>,
}

impl Serialize for Breadcrumb {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("timestamp", &self.timestamp)?;
        fields.field("type", &self.ty)?;
        fields.unless_empty("category", &self.category)?;
        fields.field("level", &self.level)?;
        fields.unless_empty("message", &self.message)?;
        fields.unless_empty("data", &self.data)?;
        fields.end()
    }
}

impl FromJson for Breadcrumb {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Breadcrumb")?;
        Ok(Breadcrumb {
            timestamp: object.required("timestamp")?,
            ty: object.or_else("type", default_type)?,
            category: object.optional("category")?,
            level: object.optional("level")?,
            message: object.optional("message")?,
            data: object.optional("data")?,
        })
    }
}

impl Serialize for Breadcrumbs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("values", &self.values)?;
        fields.end()
    }
}

impl FromJson for Breadcrumbs {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Breadcrumbs")?;
        Ok(Breadcrumbs {
            values: object.required("values")?,
        })
    }
}

json::deserialize_from_json!(Breadcrumb, Breadcrumbs);
