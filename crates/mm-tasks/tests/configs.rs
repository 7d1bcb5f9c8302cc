//! Task configs hold their model's burn `Config`: every file in `configs/` reads as its own system's config, a model field the task once did not expose can be set, a misspelt or data-given field is refused
//! by name, and the task's default model is the model's own default.

use std::path::Path;

use mm_generate::show_attend_tell::ShowAttendTellConfig;
use mm_tasks::encoders::Readout;
use mm_tasks::referencing::separation::SeparationTaskConfig;
use mm_tasks::referencing::vqa::{VqaNetConfig, VqaTaskConfig};
use mm_tasks::runner::load_config;
use mm_tasks::systems::{SYSTEMS, config_owners};
use mm_tasks::translating::show_attend_tell::ShowAttendTellTaskConfig;

fn written(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_config_file_reads_as_its_own_system() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        // The system a file belongs to is the longest registered name it starts with.
        let owner = SYSTEMS.iter().map(|s| s.name).filter(|system| name.starts_with(system)).max_by_key(|system| system.len());
        let owner = owner.unwrap_or_else(|| panic!("{name}: no system's name starts it"));
        let readers = config_owners(&path);
        // Two systems of one family can share every setting a file gives (the captioners' data, the sound
        // classifiers' network).
        assert!(readers.contains(&owner), "{name}: {readers:?}");
        seen += 1;
    }
    assert!(seen >= 40, "{seen} configs");
}

#[test]
fn a_model_field_the_task_did_not_expose_before_is_set_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = written(dir.path(), "separation.toml", "[sizes]\naudio_out_channels = 4\nvisual_dilations = [1, 2]\n");
    let config: SeparationTaskConfig = load_config(&path).unwrap();
    let separator = config.separator();
    assert_eq!((separator.audio_out_channels, separator.visual_dilations), (4, vec![1, 2]));
    assert_eq!(separator.bins, config.signal.n_fft / 2 + 1, "the bins come from the signal settings");

    let path = written(dir.path(), "vqa.toml", "image_feature = \"pooled\"\nd_common = 48\n");
    let config: VqaTaskConfig = load_config(&path).unwrap();
    let net = config.net(7, [3, 3]);
    assert_eq!((net.image_feature, net.d_common, net.image_channels, net.map_size), (Readout::Average, 48, 7, [3, 3]));
}

#[test]
fn misspelt_and_data_given_fields_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let typo = written(dir.path(), "typo.toml", "d_embd = 64\n");
    let error = load_config::<ShowAttendTellTaskConfig>(&typo).unwrap_err().to_string();
    assert!(error.contains("typo.toml") && error.contains("unknown field `d_embd`") && error.contains("d_embed"), "{error}");
    let given = written(dir.path(), "given.toml", "d_annotation = 66\n");
    let error = load_config::<ShowAttendTellTaskConfig>(&given).unwrap_err().to_string();
    assert!(error.contains("`d_annotation` comes from the data"), "{error}");
    let nested = written(dir.path(), "nested.toml", "[sizes]\nbins = 3\n");
    let error = load_config::<SeparationTaskConfig>(&nested).unwrap_err().to_string();
    assert!(error.contains("`bins` comes from the data"), "{error}");
}

#[test]
fn one_default_each_the_models_own() {
    let (task, model) = (ShowAttendTellTaskConfig::default().decoder, ShowAttendTellConfig::new(1, 1));
    assert_eq!((task.d_embed, task.d_hidden, task.d_attention, task.dropout), (model.d_embed, model.d_hidden, model.d_attention, model.dropout));
    let (task, model) = (VqaTaskConfig::default().net, VqaNetConfig::new(1, 1, 1, [1, 1]));
    assert_eq!(
        (task.d_embed, task.d_hidden, task.d_common, task.dropout, task.image_feature),
        (model.d_embed, model.d_hidden, model.d_common, model.dropout, model.image_feature)
    );
    // Written, a task config leaves out what the data gives and keeps the model's settings beside its own.
    let json = serde_json::to_value(ShowAttendTellTaskConfig::default()).unwrap();
    assert!(json.get("d_annotation").is_none() && json.get("vocab_size").is_none(), "{json}");
    assert_eq!(json["d_embed"], ShowAttendTellConfig::new(1, 1).d_embed);
}
