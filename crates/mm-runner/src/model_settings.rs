//! A model's burn `Config` inside a task's config: one config per hyper-parameter.
//!
//! A task config holds its model's own `#[derive(Config)]` struct, so every model field can be set from a
//! config file and each has one default, the model's. In the file the model's settings sit beside the task's
//! own (`#[serde(flatten)]`), as they always have, so configs and runs written before keep reading. The fields
//! the data decides (vocabulary size, feature widths) are neither read nor written: the task fills them in
//! when it builds the model.
//!
//! burn's derived `Deserialize` wants every field, defaults included; [`read_over`] reads the fields a file
//! gives over the model's defaults and refuses one the model does not have (what `deny_unknown_fields` does
//! for a plain serde struct, which `flatten` rules out). [`model_settings!`](crate::model_settings) writes the
//! `#[serde(with = …)]` module that ties the two to one model.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Reads the settings a config gives a model over `defaults`. A field the model lacks, or one in `from_data`,
/// is refused by name.
pub fn read_over<'de, D, C>(deserializer: D, defaults: C, from_data: &[&str]) -> Result<C, D::Error>
where
    D: Deserializer<'de>,
    C: Serialize + DeserializeOwned,
{
    let given = Map::<String, Value>::deserialize(deserializer)?;
    let mut settings = fields_of(&defaults).map_err(D::Error::custom)?;
    for (name, value) in given {
        if from_data.contains(&name.as_str()) {
            return Err(D::Error::custom(format!("`{name}` comes from the data, not from a config: leave it out")));
        }
        match settings.get_mut(&name) {
            Some(slot) => *slot = value,
            None => {
                let known: Vec<&str> = settings.keys().map(String::as_str).filter(|key| !from_data.contains(key)).collect();
                return Err(D::Error::custom(format!(
                    "unknown field `{name}`: neither one of the task's settings nor one of the model's ({})",
                    known.join(", ")
                )));
            }
        }
    }
    C::deserialize(Value::Object(settings)).map_err(D::Error::custom)
}

/// Writes a model's settings, without the fields in `from_data`.
pub fn write_without<S, C>(config: &C, from_data: &[&str], serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
    C: Serialize,
{
    let mut settings = fields_of(config).map_err(S::Error::custom)?;
    settings.retain(|name, _| !from_data.contains(&name.as_str()));
    settings.serialize(serializer)
}

fn fields_of<C: Serialize>(config: &C) -> Result<Map<String, Value>, String> {
    match serde_json::to_value(config) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(other) => Err(format!("a model config serialises to a map of settings, not to {other}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Declares the `#[serde(with = …)]` module that puts a model's burn `Config` in a task config: its
/// defaults (the model's own, with placeholders for what the data decides) and the fields the data decides.
///
/// ```
/// use burn::config::Config;
/// use serde::{Deserialize, Serialize};
///
/// /// A model: its input width comes from the data.
/// #[derive(Config, Debug)]
/// pub struct NetConfig {
///     /// Input width.
///     pub d_input: usize,
///     /// Hidden width.
///     #[config(default = 64)]
///     pub d_hidden: usize,
/// }
///
/// mm_runner::model_settings!(
///     /// The net's settings in a task config.
///     net_settings: NetConfig = NetConfig::new(0), from_data: ["d_input"]
/// );
///
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// #[serde(default)]
/// pub struct TaskConfig {
///     /// Epochs.
///     pub epochs: usize,
///     /// The net's settings, beside the task's in a file.
///     #[serde(flatten, with = "net_settings")]
///     pub net: NetConfig,
/// }
///
/// impl Default for TaskConfig {
///     fn default() -> Self {
///         Self { epochs: 3, net: net_settings::defaults() }
///     }
/// }
///
/// fn main() {
///     let config: TaskConfig = toml::from_str("epochs = 5\nd_hidden = 32").unwrap();
///     assert_eq!((config.epochs, config.net.d_hidden), (5, 32));
///     let written = serde_json::to_string(&config).unwrap();
///     assert_eq!(written, r#"{"epochs":5,"d_hidden":32}"#);
///     let typo = toml::from_str::<TaskConfig>("d_hiden = 32").unwrap_err().to_string();
///     assert!(typo.contains("unknown field `d_hiden`"), "{typo}");
///     let given = toml::from_str::<TaskConfig>("d_input = 3").unwrap_err().to_string();
///     assert!(given.contains("comes from the data"), "{given}");
/// }
/// ```
#[macro_export]
macro_rules! model_settings {
    ($(#[$doc:meta])* $module:ident: $config:ty = $defaults:expr, from_data: [$($field:literal),* $(,)?]) => {
        $(#[$doc])*
        pub mod $module {
            #[allow(unused_imports)]
            use super::*;

            /// The fields the task fills in from the data: never read from a config, nor written to one.
            pub const FROM_DATA: &[&str] = &[$($field),*];

            /// The model's defaults, with placeholders for the fields the data decides.
            pub fn defaults() -> $config {
                $defaults
            }

            /// Writes the model's settings, without the fields the data decides.
            pub fn serialize<S: $crate::serde::Serializer>(config: &$config, serializer: S) -> Result<S::Ok, S::Error> {
                $crate::model_settings::write_without(config, FROM_DATA, serializer)
            }

            /// Reads the settings a config gives over the model's defaults.
            pub fn deserialize<'de, D: $crate::serde::Deserializer<'de>>(deserializer: D) -> Result<$config, D::Error> {
                $crate::model_settings::read_over(deserializer, defaults(), FROM_DATA)
            }
        }
    };
}
