//! The caption grammar read backwards: [`parse_caption`] turns a caption into what it claims, and
//! [`Claim::is_true_of`] checks the claim against a scene — every named object exists, the count is right, and
//! so are the order ("from left to right") or the relation ("left of", "above", "below"). This is the
//! captioners' truthfulness measure: BLEU rewards words that match, truth asks whether the caption is right.

use super::{Colour, Object, Shape, Size};

/// An object as a caption names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    /// Size word.
    pub size: Size,
    /// Colour word.
    pub colour: Colour,
    /// Shape word.
    pub shape: Shape,
}

impl Named {
    fn matches(&self, object: &Object) -> bool {
        (self.size, self.colour, self.shape) == (object.size, object.colour, object.shape)
    }
}

/// How two objects stand, as the grammar says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// "left of": mostly to the left.
    LeftOf,
    /// "above": mostly higher up.
    Above,
    /// "below": mostly lower down.
    Below,
}

/// What a caption claims about a scene.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// "a large red circle": the scene is this one object.
    One(Named),
    /// "a large red circle left of a small blue square": two objects and how they stand.
    Two(Named, Relation, Named),
    /// "three objects from left to right: a …, a … and a …": the objects in order.
    InOrder(Vec<Named>),
}

const NUMBERS: [&str; 5] = ["zero", "one", "two", "three", "four"];

/// Reads one "a SIZE COLOUR SHAPE" from the front of `words`.
fn named(words: &mut &[&str]) -> Option<Named> {
    if words.len() < 4 {
        return None;
    }
    let (head, rest) = words.split_at(4);
    let [article, size, colour, shape] = [head[0], head[1], head[2], head[3]];
    if article != "a" && article != "an" {
        return None;
    }
    let size = [Size::Small, Size::Large].into_iter().find(|s| s.name() == size)?;
    let colour = Colour::ALL.into_iter().find(|c| c.name() == colour)?;
    let shape = Shape::ALL.into_iter().find(|s| s.name() == shape)?;
    *words = rest;
    Some(Named { size, colour, shape })
}

/// What `caption` claims, if the grammar produces it (words lower-case; commas and colons may be separate
/// tokens or attached); `None` for anything else.
pub fn parse_caption(caption: &str) -> Option<Claim> {
    let spaced = caption.replace([',', ':'], " ");
    let all: Vec<&str> = spaced.split_whitespace().collect();
    let mut words: &[&str] = &all;
    let claim = if let [count, "objects", "from", "left", "to", "right", rest @ ..] = words {
        let count = NUMBERS.iter().position(|n| n == count).filter(|&n| n >= 3)?;
        let rest: &[&str] = rest;
        words = rest;
        let mut objects = Vec::with_capacity(count);
        for i in 0..count {
            if i == count - 1 {
                let ["and", rest @ ..] = words else { return None };
                words = rest;
            }
            objects.push(named(&mut words)?);
        }
        Claim::InOrder(objects)
    } else {
        let first = named(&mut words)?;
        match words {
            [] => Claim::One(first),
            ["left", "of", rest @ ..] | ["above", rest @ ..] | ["below", rest @ ..] => {
                let relation = match words[0] {
                    "left" => Relation::LeftOf,
                    "above" => Relation::Above,
                    _ => Relation::Below,
                };
                words = rest;
                Claim::Two(first, relation, named(&mut words)?)
            }
            _ => return None,
        }
    };
    words.is_empty().then_some(claim)
}

/// Whether `a` stands in `relation` to `b` as the grammar measures it (the larger of the horizontal and vertical
/// offsets decides).
fn holds(relation: Relation, a: &Object, b: &Object) -> bool {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    match relation {
        Relation::LeftOf => dx > 0.0 && dx.abs() >= dy.abs(),
        Relation::Above => dy > 0.0 && dy.abs() > dx.abs(),
        Relation::Below => dy < 0.0 && dy.abs() > dx.abs(),
    }
}

impl Claim {
    /// Whether the claim is true of the scene's `objects` (sorted left to right, as the world gives them).
    pub fn is_true_of(&self, objects: &[Object]) -> bool {
        self.grounding(objects).is_some()
    }

    /// When the claim is true of `objects`: which object each named one is, in the order the caption names them.
    pub fn grounding(&self, objects: &[Object]) -> Option<Vec<usize>> {
        match self {
            Claim::One(a) => (objects.len() == 1 && a.matches(&objects[0])).then(|| vec![0]),
            Claim::Two(a, relation, b) => {
                if objects.len() != 2 {
                    return None;
                }
                [(0, 1), (1, 0)]
                    .into_iter()
                    .find(|&(i, j)| a.matches(&objects[i]) && b.matches(&objects[j]) && holds(*relation, &objects[i], &objects[j]))
                    .map(|(i, j)| vec![i, j])
            }
            Claim::InOrder(named) => (named.len() == objects.len() && named.iter().zip(objects).all(|(n, o)| n.matches(o))).then(|| (0..named.len()).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ShapesConfig, ShapesWorld, caption};
    use super::*;

    #[test]
    fn every_caption_of_the_world_parses_and_is_true_of_its_scene() {
        let world = ShapesWorld::new(ShapesConfig::default(), 9);
        for i in 0..500 {
            let objects = world.objects(i);
            let text = caption(&objects);
            let claim = parse_caption(&text).unwrap_or_else(|| panic!("{text}"));
            assert!(claim.is_true_of(&objects), "{text}");
            // Also as the tokenizer spaces it.
            assert_eq!(parse_caption(&text.replace(',', " ,").replace(':', " :")), Some(claim.clone()));
            // And false of the next scene, nearly always.
            let other = world.objects(i + 1000);
            if caption(&other) != text {
                assert!(!claim.is_true_of(&other) || other.len() == 2, "{text} vs {}", caption(&other));
            }
        }
    }

    #[test]
    fn wrong_captions_are_caught() {
        let object = |shape, colour, x, y| Object { shape, colour, size: Size::Large, x, y, radius: 5.0 };
        let scene = [object(Shape::Circle, Colour::Red, 10.0, 30.0), object(Shape::Square, Colour::Blue, 40.0, 32.0)];
        let claim = |text: &str| parse_caption(text).unwrap_or_else(|| panic!("{text}"));
        assert!(claim("a large red circle left of a large blue square").is_true_of(&scene));
        assert!(!claim("a large blue square left of a large red circle").is_true_of(&scene), "wrong order");
        assert_eq!(claim("a large blue square below a large red circle").grounding(&scene), None, "wrong relation");
        let above = [scene[0], Object { y: 5.0, x: 12.0, ..scene[1] }];
        assert_eq!(claim("a large blue square above a large red circle").grounding(&above), Some(vec![1, 0]));
        assert!(!claim("a large red circle above a large blue square").is_true_of(&scene), "wrong relation");
        assert!(!claim("a small red circle left of a large blue square").is_true_of(&scene), "wrong size");
        assert!(!claim("a large red circle").is_true_of(&scene), "wrong count");
        assert!(!claim("three objects from left to right: a large red circle, a large blue square and a large red circle").is_true_of(&scene));
        for nonsense in [
            "",
            "a large red",
            "a large red circle left a large blue square",
            "two objects from left to right: a large red circle and a large blue square",
            "a large red circle left of a large blue square and",
        ] {
            assert_eq!(parse_caption(nonsense), None, "{nonsense:?}");
        }
    }
}
