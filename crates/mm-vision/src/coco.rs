//! COCO captions: the standard `captions_{split}.json` annotations and the images they name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

#[derive(Deserialize)]
struct CaptionsFile {
    images: Vec<ImageEntry>,
    annotations: Vec<CaptionEntry>,
}

#[derive(Deserialize)]
struct ImageEntry {
    id: u64,
    file_name: String,
    width: u32,
    height: u32,
}

#[derive(Deserialize)]
struct CaptionEntry {
    image_id: u64,
    id: u64,
    caption: String,
}

/// One image with its captions.
#[derive(Debug, Clone, PartialEq)]
pub struct CocoImage {
    /// COCO image id.
    pub id: u64,
    /// The image file.
    pub path: PathBuf,
    /// Width the annotations declare.
    pub width: u32,
    /// Height the annotations declare.
    pub height: u32,
    /// Captions, ordered by caption id, whitespace collapsed.
    pub captions: Vec<String>,
}

/// The images of one COCO split and their captions, ordered by image id.
#[derive(Debug, Clone)]
pub struct CocoCaptions {
    /// Every image.
    pub images: Vec<CocoImage>,
}

impl CocoCaptions {
    /// Reads `root/annotations/captions_{split}.json`; image paths are `root/{split}/{file_name}`.
    pub fn open(root: impl AsRef<Path>, split: &str) -> Result<Self> {
        let root = root.as_ref();
        let json_path = root.join("annotations").join(format!("captions_{split}.json"));
        let text = std::fs::read(&json_path).map_err(|e| Error::io(&json_path, e))?;
        let file: CaptionsFile = serde_json::from_slice(&text).map_err(|source| Error::Json { path: json_path.clone(), source })?;
        let mut by_id: HashMap<u64, CocoImage> = HashMap::new();
        for image in file.images {
            let entry =
                CocoImage { id: image.id, path: root.join(split).join(&image.file_name), width: image.width, height: image.height, captions: Vec::new() };
            if by_id.insert(image.id, entry).is_some() {
                return Err(Error::invalid(&json_path, format!("image id {} appears twice", image.id)));
            }
        }
        let mut annotations = file.annotations;
        annotations.sort_by_key(|a| a.id);
        for annotation in annotations {
            let image = by_id
                .get_mut(&annotation.image_id)
                .ok_or_else(|| Error::invalid(&json_path, format!("caption {} refers to unknown image {}", annotation.id, annotation.image_id)))?;
            let caption = annotation.caption.split_whitespace().collect::<Vec<_>>().join(" ");
            if caption.is_empty() {
                return Err(Error::invalid(&json_path, format!("caption {} is empty", annotation.id)));
            }
            image.captions.push(caption);
        }
        let mut images: Vec<CocoImage> = by_id.into_values().collect();
        images.sort_by_key(|i| i.id);
        Ok(Self { images })
    }

    /// Total number of captions.
    pub fn caption_count(&self) -> usize {
        self.images.iter().map(|i| i.captions.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_captions_and_rejects_dangling_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("annotations")).unwrap();
        let json = dir.path().join("annotations/captions_val2017.json");
        std::fs::write(
            &json,
            r#"{"images":[{"id":7,"file_name":"7.jpg","width":3,"height":2}],
            "annotations":[{"image_id":7,"id":2,"caption":"b  cat "},{"image_id":7,"id":1,"caption":"a dog"}]}"#,
        )
        .unwrap();
        let coco = CocoCaptions::open(dir.path(), "val2017").unwrap();
        assert_eq!(coco.images[0].captions, ["a dog", "b cat"]);
        assert_eq!(coco.images[0].path, dir.path().join("val2017/7.jpg"));

        std::fs::write(&json, r#"{"images":[],"annotations":[{"image_id":7,"id":2,"caption":"x"}]}"#).unwrap();
        assert!(CocoCaptions::open(dir.path(), "val2017").unwrap_err().to_string().contains("unknown image 7"));
        std::fs::write(&json, "{").unwrap();
        assert!(CocoCaptions::open(dir.path(), "val2017").unwrap_err().to_string().contains("captions_val2017.json"));
    }
}
