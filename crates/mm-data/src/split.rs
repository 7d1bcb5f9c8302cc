//! Train, validation and test.

use serde::{Deserialize, Serialize};

use crate::DataError;

/// The splits every task has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// What the model learns from.
    Train,
    /// What choices are made on: curves, the best checkpoint, early stopping, readouts, layers.
    Valid,
    /// What the final numbers are read on, once, at the end (and by `eval`).
    Test,
}

impl Split {
    /// `train`, `valid` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

impl std::str::FromStr for Split {
    type Err = DataError;
    fn from_str(name: &str) -> Result<Self, DataError> {
        match name {
            "train" => Ok(Self::Train),
            "valid" | "validation" => Ok(Self::Valid),
            "test" => Ok(Self::Test),
            _ => Err(DataError::BadSetting { name: "split".into(), value: name.into(), why: "expected train, valid or test".into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parse_by_name_and_refuse_others_naming_the_choices() {
        assert_eq!("validation".parse::<Split>().unwrap(), Split::Valid);
        assert_eq!("test".parse::<Split>().unwrap(), Split::Test);
        assert!("dev".parse::<Split>().unwrap_err().to_string().contains("valid"));
    }
}
