use std::borrow::Cow;

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breadcrumb {
    /// When it happened.
    pub timestamp: f64,
    /// The kind of breadcrumb, such as `default`, `http`, `navigation` or `error`.
    #[serde(rename = "type", default = "default_type")]
    pub ty: Cow<'static, str>,
    /// A dotted category such as `app.startup` or `http`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Cow<'static, str>>,
    /// How severe it is.
    #[serde(default)]
    pub level: Level,
    /// What happened, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Cow<'static, str>>,
    /// Structured detail.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breadcrumbs {
    /// The entries, oldest first.
    pub values: Vec<Breadcrumb>,
}
