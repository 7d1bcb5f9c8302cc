//! How an encoder's feature map becomes one vector per item: the one choice every system that reads a map
//! makes (the image and sound classifiers' heads, the matching systems' frozen features, VQA's image stream).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// How a feature map `[B, C, H, W]` becomes one row per item (for a log-mel CNN's map, `H` is frequency and
/// `W` time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readout {
    /// The global average, `[C]`: what is there, weighted by area, and not where (ResNet's pool5; the same
    /// sound anywhere in a clip counts the same).
    #[default]
    #[serde(alias = "pooled")]
    Average,
    /// The global maximum, `[C]`: whether something is anywhere, however small (which objects are present).
    Max,
    /// The global average and maximum side by side, `[2C]`: what is there, and whether anything small is.
    AverageAndMax,
    /// Each column's average over height, channel-major, `[C · W]`: keeps left-to-right order, for pictures
    /// read in a line.
    Columns,
    /// The whole map, channel-major, `[C · H · W]`: keeps where (and for sound when and at what pitch) things
    /// are, as a network's fully connected layers read its last map.
    #[serde(alias = "flattened")]
    Flatten,
}

impl Readout {
    /// The width of the row this readout makes of a `[channels, height, width]` map.
    pub fn width(&self, [channels, height, width]: [usize; 3]) -> usize {
        match self {
            Readout::Average | Readout::Max => channels,
            Readout::AverageAndMax => 2 * channels,
            Readout::Columns => channels * width,
            Readout::Flatten => channels * height * width,
        }
    }

    /// Maps `[B, C, H, W]` → rows `[B, self.width([C, H, W])]`.
    pub fn read(&self, map: Tensor<4>) -> Tensor<2> {
        let [batch, channels, height, width] = map.dims();
        let average = |map: Tensor<4>| map.mean_dim(3).mean_dim(2).reshape([batch, channels]);
        let max = |map: Tensor<4>| map.max_dim(3).max_dim(2).reshape([batch, channels]);
        match self {
            Readout::Average => average(map),
            Readout::Max => max(map),
            Readout::AverageAndMax => Tensor::cat(vec![average(map.clone()), max(map)], 1),
            Readout::Columns => map.mean_dim(2).reshape([batch, channels * width]),
            Readout::Flatten => map.reshape([batch, channels * height * width]),
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor, TensorData};

    use super::Readout;

    #[test]
    fn each_readout_gives_the_width_it_names_and_the_values_by_hand() {
        let device = Device::flex();
        // One item, 2 channels of 2×3: channel 0 is 0..6, channel 1 is 10× that.
        let values: Vec<f32> = (0..6).map(|v| v as f32).chain((0..6).map(|v| 10.0 * v as f32)).collect();
        let map = Tensor::<4>::from_data(TensorData::new(values, [1, 2, 2, 3]), &device);
        let read = |readout: Readout| {
            let rows = readout.read(map.clone());
            assert_eq!(rows.dims(), [1, readout.width([2, 2, 3])], "{readout:?}");
            rows.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
        };
        assert_eq!(read(Readout::Average), [2.5, 25.0]);
        assert_eq!(read(Readout::Max), [5.0, 50.0]);
        assert_eq!(read(Readout::AverageAndMax), [2.5, 25.0, 5.0, 50.0]);
        assert_eq!(read(Readout::Columns), [1.5, 2.5, 3.5, 15.0, 25.0, 35.0]);
        assert_eq!(read(Readout::Flatten).len(), 12);
    }

    #[test]
    fn the_names_older_configs_wrote_still_read() {
        for (name, readout) in [("\"pooled\"", Readout::Average), ("\"flattened\"", Readout::Flatten), ("\"average-and-max\"", Readout::AverageAndMax)] {
            assert_eq!(serde_json::from_str::<Readout>(name).unwrap(), readout);
        }
        assert_eq!(serde_json::to_string(&Readout::Flatten).unwrap(), "\"flatten\"");
    }
}
