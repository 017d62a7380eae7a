use serde::{Deserialize, Serialize};

use super::{Level, Map, timestamp_now};

/// A trail entry recorded before an event: a log line, a request, a user action.
///
/// ```
/// use sentry_core::protocol::{Breadcrumb, Level};
///
/// let crumb = Breadcrumb::new("config loaded").category("startup").level(Level::Info);
/// sentry_core::add_breadcrumb(crumb);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breadcrumb {
    /// When it happened.
    pub timestamp: f64,
    /// The kind of breadcrumb, such as `default`, `http`, `navigation` or `error`.
    #[serde(rename = "type", default = "default_type")]
    pub ty: String,
    /// A dotted category such as `app.startup` or `http`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// How severe it is.
    #[serde(default)]
    pub level: Level,
    /// What happened, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Structured detail.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub data: Map,
}

fn default_type() -> String {
    "default".to_owned()
}

impl Default for Breadcrumb {
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
    pub fn new(message: impl Into<String>) -> Self {
        Breadcrumb {
            message: Some(message.into()),
            ..Default::default()
        }
    }

    /// Sets the category.
    pub fn category(mut self, category: impl Into<String>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// Sets the level.
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Sets the type.
    pub fn ty(mut self, ty: impl Into<String>) -> Self {
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breadcrumbs {
    /// The entries, oldest first.
    pub values: Vec<Breadcrumb>,
}
