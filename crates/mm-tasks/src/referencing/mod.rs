//! The referencing family: systems where one modality points into another. Visual question answering first
//! (`vqa`): a question picks out what to look at in a picture.

pub mod vqa;
