//! Objects and their placement.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::ShapesConfig;

/// The shapes of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// A disc.
    Circle,
    /// An axis-aligned square.
    Square,
    /// An upward-pointing triangle.
    Triangle,
    /// A square standing on a corner.
    Diamond,
}

impl Shape {
    /// Every shape.
    pub const ALL: [Shape; 4] = [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond];

    /// The word for it.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Square => "square",
            Shape::Triangle => "triangle",
            Shape::Diamond => "diamond",
        }
    }
}

/// The colours of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// Red.
    Red,
    /// Orange.
    Orange,
    /// Yellow.
    Yellow,
    /// Green.
    Green,
    /// Blue.
    Blue,
    /// Purple.
    Purple,
}

impl Colour {
    /// Every colour.
    pub const ALL: [Colour; 6] = [Colour::Red, Colour::Orange, Colour::Yellow, Colour::Green, Colour::Blue, Colour::Purple];

    /// The word for it.
    pub fn name(self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Orange => "orange",
            Colour::Yellow => "yellow",
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Purple => "purple",
        }
    }

    /// How it is painted.
    pub fn rgb(self) -> [u8; 3] {
        match self {
            Colour::Red => [220, 40, 40],
            Colour::Orange => [245, 140, 30],
            Colour::Yellow => [235, 215, 40],
            Colour::Green => [40, 175, 70],
            Colour::Blue => [45, 90, 225],
            Colour::Purple => [150, 65, 205],
        }
    }

    /// Red, orange and yellow; the others are cool. The warm colours play the three lowest notes (C4–E4).
    pub fn is_warm(self) -> bool {
        matches!(self, Colour::Red | Colour::Orange | Colour::Yellow)
    }

    /// The pitch of its note in hertz: C4, D4, E4, G4, A4, C5 (a pentatonic scale, so chords sound consonant).
    pub fn pitch_hz(self) -> f32 {
        match self {
            Colour::Red => 261.63,
            Colour::Orange => 293.66,
            Colour::Yellow => 329.63,
            Colour::Green => 392.00,
            Colour::Blue => 440.00,
            Colour::Purple => 523.25,
        }
    }
}

/// Two sizes, far enough apart to tell at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// Radius about 12% of the picture.
    Small,
    /// Radius about 20% of the picture.
    Large,
}

impl Size {
    /// The word for it.
    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Large => "large",
        }
    }
}

/// One object: what it is and where (centre and radius in pixels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// Shape.
    pub shape: Shape,
    /// Colour.
    pub colour: Colour,
    /// Size.
    pub size: Size,
    /// Centre, pixels from the left.
    pub x: f32,
    /// Centre, pixels from the top.
    pub y: f32,
    /// Radius of the circle the shape fits in, in pixels.
    pub radius: f32,
}

impl Object {
    /// "large red circle".
    pub fn description(&self) -> String {
        format!("{} {} {}", self.size.name(), self.colour.name(), self.shape.name())
    }
}

/// Draws the objects of one scene, sorted left to right. Objects never overlap and keep a margin from the edges.
pub(super) fn layout(config: &ShapesConfig, rng: &mut impl Rng) -> Vec<Object> {
    let size = config.image_size as f32;
    let wanted = rng.random_range(config.min_objects..=config.max_objects);
    let mut objects: Vec<Object> = Vec::with_capacity(wanted);
    let mut attempts = 0;
    while objects.len() < wanted && attempts < 1000 {
        attempts += 1;
        let object_size = if rng.random_bool(0.5) { Size::Small } else { Size::Large };
        let radius = size
            * match object_size {
                Size::Small => rng.random_range(0.10..0.13),
                Size::Large => rng.random_range(0.17..0.21),
            };
        let margin = radius + 1.0;
        let x = rng.random_range(margin..size - margin);
        let y = rng.random_range(margin..size - margin);
        let shape = Shape::ALL[rng.random_range(0..Shape::ALL.len())];
        let colour = Colour::ALL[rng.random_range(0..Colour::ALL.len())];
        // Keep a gap between objects, and make "left of" unambiguous between any two of them.
        let clear = objects.iter().all(|o| {
            let distance = ((o.x - x).powi(2) + (o.y - y).powi(2)).sqrt();
            distance > o.radius + radius + 2.0 && (o.x - x).abs() > 2.0
        });
        if clear {
            objects.push(Object { shape, colour, size: object_size, x, y, radius });
        }
    }
    objects.sort_by(|a, b| a.x.total_cmp(&b.x));
    objects
}
