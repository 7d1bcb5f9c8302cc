//! Every trainable system by name: one line each.

use std::path::Path;

use super::{Report, System};
use crate::runner::{EvalRequest, RunError, TrainRequest, reads_as};

/// One entry of the registry.
#[derive(Clone, Copy)]
pub struct Registered {
    /// The name on the command line, in `runs/`, in `configs/` and in the README.
    pub name: &'static str,
    /// `train NAME`.
    pub train: fn(&TrainRequest) -> Result<Box<dyn Report>, RunError>,
    /// `eval NAME`.
    pub eval: fn(&EvalRequest) -> Result<Box<dyn Report>, RunError>,
    /// Whether a config file reads as this system's config.
    pub reads_config: fn(&Path) -> bool,
}

impl Registered {
    /// The entry of system `T`.
    pub const fn of<T: System>() -> Self {
        Self { name: T::NAME, train: T::train, eval: eval_of::<T>, reads_config: reads_as::<T> }
    }
}

/// `eval NAME`: `--test-seed` refused up front for a run whose test split no seed redraws, whichever evaluation
/// the system's own `eval` runs, then that evaluation.
fn eval_of<T: System>(request: &EvalRequest) -> Result<Box<dyn Report>, RunError> {
    request.check_test_seed::<T>()?;
    T::eval(request)
}

/// Every trainable system, by name.
pub const SYSTEMS: &[Registered] = &[
    Registered::of::<crate::encoders::mnist::Mnist>(),
    Registered::of::<crate::encoders::fsdd::FsddDigits>(),
    Registered::of::<crate::encoders::esc10::Esc10Sounds>(),
    Registered::of::<crate::encoders::shapes::Shapes>(),
    Registered::of::<crate::matching::tagging::Tagging>(),
    Registered::of::<crate::matching::recipe::Recipe>(),
    Registered::of::<crate::matching::soundnet::SoundNet>(),
    Registered::of::<crate::translating::show_and_tell::ShowAndTellTask>(),
    Registered::of::<crate::translating::show_attend_tell::ShowAttendTellTask>(),
    Registered::of::<crate::translating::text_to_image::text_embedding::TextEmbedding>(),
    Registered::of::<crate::translating::text_to_image::TextToImage>(),
    Registered::of::<crate::referencing::vqa::Vqa>(),
    Registered::of::<crate::referencing::localisation::Localisation>(),
    Registered::of::<crate::referencing::separation::Separation>(),
];

/// The system registered as `name`.
pub fn system(name: &str) -> Result<&'static Registered, RunError> {
    SYSTEMS.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = SYSTEMS.iter().map(|s| s.name).collect();
        RunError::bad_setting("system", name, format!("no such system (there are: {})", names.join(", ")))
    })
}

/// The systems whose config a file reads as.
pub fn config_owners(path: &Path) -> Vec<&'static str> {
    SYSTEMS.iter().filter(|s| (s.reads_config)(path)).map(|s| s.name).collect()
}
