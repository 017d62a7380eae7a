use serde::{Serialize, Serializer};

use super::json::{self, FromJson, Object};

use super::Map;

/// The user affected by an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    /// Your application's identifier for the user.
    pub id: Option<String>,
    /// The user's e-mail address.
    pub email: Option<String>,
    /// The user's name or handle.
    pub username: Option<String>,
    /// The user's IP address.
    pub ip_address: Option<String>,
    /// Anything else worth knowing about the user.
    pub other: Map,
}

impl Serialize for User {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.unless_empty("id", &self.id)?;
        fields.unless_empty("email", &self.email)?;
        fields.unless_empty("username", &self.username)?;
        fields.unless_empty("ip_address", &self.ip_address)?;
        fields.flatten(&self.other)?;
        fields.end()
    }
}

impl FromJson for User {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct User")?;
        let id = object.optional("id")?;
        let email = object.optional("email")?;
        let username = object.optional("username")?;
        let ip_address = object.optional("ip_address")?;
        Ok(User {
            id,
            email,
            username,
            ip_address,
            other: object.rest(),
        })
    }
}

json::deserialize_from_json!(User);
