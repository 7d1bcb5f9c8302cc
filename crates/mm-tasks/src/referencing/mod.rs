//! The referencing family: systems where one modality points into another. Visual question answering first
//! (`vqa`): a question picks out what to look at in a picture; sound-source localisation (`localisation`): a sound
//! picks out where in the picture it comes from; audio-visual separation (`separation`): a face (or an object) picks
//! out which voice in a mixture to keep.

pub mod localisation;
pub mod separation;
pub mod vqa;
