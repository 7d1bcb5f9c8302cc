//! `data check` on the project's real data (`../shared/data`, beside the checkout): all six data sets are found and
//! pass every documented check. Where the data is absent outside CI, the test says so and passes.

mod shared;

use mm_data::check::{Status, check, check_all};
use mm_data::{DataRoot, Dataset};
use shared::shared_data;

#[test]
fn all_six_data_sets_are_found_and_whole() {
    let Some(root) = shared_data() else { return };
    let reports = check_all(&root, false);
    for report in &reports {
        assert_eq!(report.status, Status::Ok, "{}: {:?}", report.dataset, report.problems);
    }
    let count = |dataset: Dataset, name: &str| reports.iter().find(|r| r.dataset == dataset).unwrap().counts[name];
    assert_eq!(count(Dataset::Mnist, "train images"), 60_000);
    assert_eq!(count(Dataset::Fsdd, "recordings"), 3_000);
    assert_eq!(count(Dataset::Esc10, "clips"), 400);
    assert_eq!(count(Dataset::CocoMini, "captions"), 795);
    assert_eq!(count(Dataset::Text, "corpus tokens"), 17_000_880);
    assert_eq!(count(Dataset::Obama, "segments"), 65);
}

#[test]
fn a_damaged_copy_is_reported_wrong_and_an_absent_one_missing() {
    let Some(root) = shared_data() else { return };
    let source = root.dataset(Dataset::Fsdd).unwrap().join("recordings");
    let copy = tempfile::tempdir().unwrap();
    let recordings = copy.path().join("fsdd/recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    for entry in std::fs::read_dir(&source).unwrap().take(40) {
        let path = entry.unwrap().path();
        std::fs::copy(&path, recordings.join(path.file_name().unwrap())).unwrap();
    }
    let copied = DataRoot::at(copy.path());
    let report = check(&copied, Dataset::Fsdd, false);
    assert_eq!(report.status, Status::Wrong);
    assert!(report.problems.iter().any(|p| p.contains("recordings: found 40, expected 3000")), "{:?}", report.problems);

    // A truncated recording is an error naming the file.
    let victim = std::fs::read_dir(&recordings).unwrap().next().unwrap().unwrap().path();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..30]).unwrap();
    let report = check(&copied, Dataset::Fsdd, true);
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(report.problems.iter().any(|p| p.contains(&name)), "{:?}", report.problems);

    let missing = check(&copied, Dataset::Mnist, false);
    assert_eq!(missing.status, Status::Missing);
    assert!(missing.problems[0].contains("cargo xtask data fetch mnist"));
}
