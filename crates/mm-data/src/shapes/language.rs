//! Captions and questions from a small grammar over a scene's objects.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Colour, Object, Shape};

const NUMBERS: [&str; 5] = ["zero", "one", "two", "three", "four"];

/// The kinds of questions, each probing one ability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// "what colour is the circle?"
    Colour,
    /// "what shape is the red object?"
    Shape,
    /// "how many objects are there?" / "how many red objects are there?"
    Count,
    /// "is there a blue triangle?"
    Existence,
    /// "is the red circle on the left or on the right?"
    Position,
    /// "is the red circle left of the blue square?"
    Relation,
    /// "what size is the red circle?"
    Size,
}

/// A question with its one-word answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// What it probes.
    pub kind: QuestionKind,
    /// The question, lowercase, ending in "?".
    pub text: String,
    /// The answer: a colour, shape, size, number word, "yes"/"no" or "left"/"right".
    pub answer: String,
}

/// Describes the scene, objects left to right, e.g. "a large red circle left of a small blue square".
pub fn caption(objects: &[Object]) -> String {
    let described: Vec<String> = objects.iter().map(|o| format!("a {}", o.description())).collect();
    match objects {
        [] => "an empty scene".into(),
        [_] => described[0].clone(),
        [a, b] => {
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let relation = if dx.abs() >= dy.abs() {
                "left of"
            } else if dy > 0.0 {
                "above"
            } else {
                "below"
            };
            format!("{} {relation} {}", described[0], described[1])
        }
        _ => {
            let (last, rest) = described.split_last().expect("at least three objects");
            format!("{} objects from left to right: {} and {}", NUMBERS[objects.len()], rest.join(", "), last)
        }
    }
}

fn ask(kind: QuestionKind, text: String, answer: &str) -> Question {
    Question { kind, text, answer: answer.to_string() }
}

/// Objects that no other object shares (colour, shape) with: they can be named unambiguously.
fn uniquely_named(objects: &[Object]) -> Vec<&Object> {
    objects.iter().filter(|o| objects.iter().filter(|p| p.colour == o.colour && p.shape == o.shape).count() == 1).collect()
}

/// Questions about the scene: one count question always, and one of each other kind that the scene allows.
pub fn questions(objects: &[Object], image_size: u32, rng: &mut impl Rng) -> Vec<Question> {
    let mut out = vec![ask(QuestionKind::Count, "how many objects are there?".into(), NUMBERS[objects.len()])];

    let colour = Colour::ALL[rng.random_range(0..Colour::ALL.len())];
    let n = objects.iter().filter(|o| o.colour == colour).count();
    out.push(ask(QuestionKind::Count, format!("how many {} objects are there?", colour.name()), NUMBERS[n]));

    // Existence: half the time about an object that is there, half the time about a random combination.
    let (colour, shape) = if rng.random_bool(0.5) {
        let o = &objects[rng.random_range(0..objects.len())];
        (o.colour, o.shape)
    } else {
        (Colour::ALL[rng.random_range(0..Colour::ALL.len())], Shape::ALL[rng.random_range(0..Shape::ALL.len())])
    };
    let present = objects.iter().any(|o| o.colour == colour && o.shape == shape);
    out.push(ask(QuestionKind::Existence, format!("is there a {} {}?", colour.name(), shape.name()), if present { "yes" } else { "no" }));

    let unique_shapes: Vec<&Object> = objects.iter().filter(|o| objects.iter().filter(|p| p.shape == o.shape).count() == 1).collect();
    if !unique_shapes.is_empty() {
        let o = unique_shapes[rng.random_range(0..unique_shapes.len())];
        out.push(ask(QuestionKind::Colour, format!("what colour is the {}?", o.shape.name()), o.colour.name()));
    }
    let unique_colours: Vec<&Object> = objects.iter().filter(|o| objects.iter().filter(|p| p.colour == o.colour).count() == 1).collect();
    if !unique_colours.is_empty() {
        let o = unique_colours[rng.random_range(0..unique_colours.len())];
        out.push(ask(QuestionKind::Shape, format!("what shape is the {} object?", o.colour.name()), o.shape.name()));
    }

    let named = uniquely_named(objects);
    if !named.is_empty() {
        let o = named[rng.random_range(0..named.len())];
        let name = format!("{} {}", o.colour.name(), o.shape.name());
        out.push(ask(QuestionKind::Size, format!("what size is the {name}?"), o.size.name()));
        let middle = image_size as f32 / 2.0;
        if (o.x - middle).abs() > 3.0 {
            let side = if o.x < middle { "left" } else { "right" };
            out.push(ask(QuestionKind::Position, format!("is the {name} on the left or on the right?"), side));
        }
    }
    if named.len() >= 2 {
        let i = rng.random_range(0..named.len());
        let j = (i + rng.random_range(1..named.len())) % named.len();
        let (a, b) = (named[i], named[j]);
        out.push(ask(
            QuestionKind::Relation,
            format!("is the {} {} left of the {} {}?", a.colour.name(), a.shape.name(), b.colour.name(), b.shape.name()),
            if a.x < b.x { "yes" } else { "no" },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::Size;
    use super::*;

    fn object(shape: Shape, colour: Colour, x: f32, y: f32) -> Object {
        Object { shape, colour, size: Size::Large, x, y, radius: 10.0 }
    }

    #[test]
    fn captions_follow_the_grammar() {
        let a = object(Shape::Circle, Colour::Red, 10.0, 30.0);
        let b = object(Shape::Square, Colour::Blue, 50.0, 32.0);
        let c = object(Shape::Triangle, Colour::Green, 55.0, 5.0);
        assert_eq!(caption(&[a]), "a large red circle");
        assert_eq!(caption(&[a, b]), "a large red circle left of a large blue square");
        assert_eq!(caption(&[b, c]), "a large blue square below a large green triangle");
        assert_eq!(caption(&[a, b, c]), "three objects from left to right: a large red circle, a large blue square and a large green triangle");
    }

    #[test]
    fn answers_are_true_of_the_scene() {
        use rand::SeedableRng;
        let scene =
            [object(Shape::Circle, Colour::Red, 10.0, 30.0), object(Shape::Circle, Colour::Blue, 40.0, 30.0), object(Shape::Diamond, Colour::Red, 55.0, 10.0)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for _ in 0..50 {
            for q in questions(&scene, 64, &mut rng) {
                let expected = match q.text.as_str() {
                    "how many objects are there?" => "three",
                    "how many red objects are there?" => "two",
                    "how many blue objects are there?" => "one",
                    "what colour is the diamond?" => "red",
                    "what shape is the blue object?" => "circle",
                    "is the red circle left of the blue circle?" => "yes",
                    "is the red diamond left of the red circle?" => "no",
                    "is the red circle on the left or on the right?" => "left",
                    "is there a red diamond?" | "is there a blue circle?" | "is there a red circle?" => "yes",
                    text if text.starts_with("what size") => "large",
                    text if text.starts_with("how many") => "zero",
                    text if text.starts_with("is there") => "no",
                    _ => continue,
                };
                assert_eq!(q.answer, expected, "{}", q.text);
            }
        }
    }
}
