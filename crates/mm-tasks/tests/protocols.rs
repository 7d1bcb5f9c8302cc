//! The evaluation protocols' splits, on the real data: who and what each split holds.

mod common;

use std::collections::BTreeSet;

use common::shared_data;
use mm_tasks::encoders::fsdd::FsddProtocol;
use mm_tasks::runner::{RunError, Split};

/// New speakers: the test speaker's 500 recordings test, the validation speaker's 500 validate, the other four
/// speakers' 2,000 train, and no speaker is in two splits; unknown or repeated speakers are config errors.
#[test]
fn fsdd_new_speakers_split_by_speaker() {
    let Some(root) = shared_data() else { return };
    let protocol = FsddProtocol::NewSpeakers { test: "theo".into(), valid: "jackson".into() };
    let speakers = |split| -> (usize, BTreeSet<String>) {
        let recordings = protocol.recordings(&root, 270, split).unwrap();
        (recordings.len(), recordings.into_iter().map(|r| r.speaker).collect())
    };
    let ((train_n, train), (valid_n, valid), (test_n, test)) = (speakers(Split::Train), speakers(Split::Valid), speakers(Split::Test));
    assert_eq!((train_n, valid_n, test_n), (2000, 500, 500));
    assert_eq!((valid.into_iter().collect::<Vec<_>>(), test.into_iter().collect::<Vec<_>>()), (vec!["jackson".to_string()], vec!["theo".to_string()]));
    assert!(train.len() == 4 && !train.contains("theo") && !train.contains("jackson"), "{train:?}");
    for bad in
        [FsddProtocol::NewSpeakers { test: "nobody".into(), valid: "jackson".into() }, FsddProtocol::NewSpeakers { test: "theo".into(), valid: "theo".into() }]
    {
        assert!(matches!(bad.recordings(&root, 270, Split::Test), Err(RunError::BadSetting { .. })));
    }
    // The official split: 300 test takes of all six speakers, 2,430 + 270 of the others.
    let official = |split| FsddProtocol::Official.recordings(&root, 270, split).unwrap().len();
    assert_eq!((official(Split::Train), official(Split::Valid), official(Split::Test)), (2430, 270, 300));
}
