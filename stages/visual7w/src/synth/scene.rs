//! Synthetic scenes: two to four coloured shapes, each in one of four places (left, right, top,
//! bottom), with sizes measured as the square root of the shape's area.

use crate::rng::Rng;

/// The shapes a scene draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Shape {
    pub const ALL: [Shape; 4] = [
        Shape::Circle,
        Shape::Square,
        Shape::Triangle,
        Shape::Diamond,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Circle => "circle",
            Shape::Square => "square",
            Shape::Triangle => "triangle",
            Shape::Diamond => "diamond",
        }
    }

    /// The shape as an answer: `A circle.`
    pub fn answer(self) -> &'static str {
        match self {
            Shape::Circle => "A circle.",
            Shape::Square => "A square.",
            Shape::Triangle => "A triangle.",
            Shape::Diamond => "A diamond.",
        }
    }
}

/// The colours a scene paints with: far apart in hue, so JPEG keeps them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Colour {
    Red,
    Green,
    Blue,
    Yellow,
    Purple,
    Orange,
}

impl Colour {
    pub const ALL: [Colour; 6] = [
        Colour::Red,
        Colour::Green,
        Colour::Blue,
        Colour::Yellow,
        Colour::Purple,
        Colour::Orange,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
            Colour::Purple => "purple",
            Colour::Orange => "orange",
        }
    }

    /// The colour as an answer: `Red.`
    pub fn answer(self) -> &'static str {
        match self {
            Colour::Red => "Red.",
            Colour::Green => "Green.",
            Colour::Blue => "Blue.",
            Colour::Yellow => "Yellow.",
            Colour::Purple => "Purple.",
            Colour::Orange => "Orange.",
        }
    }

    pub fn rgb(self) -> [u8; 3] {
        match self {
            Colour::Red => [220, 40, 40],
            Colour::Green => [40, 180, 60],
            Colour::Blue => [50, 90, 230],
            Colour::Yellow => [240, 225, 50],
            Colour::Purple => [160, 60, 200],
            Colour::Orange => [250, 140, 30],
        }
    }
}

/// Where an object sits: the middle of one edge of a 3x3 grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    Left,
    Right,
    Top,
    Bottom,
}

impl Place {
    pub const ALL: [Place; 4] = [Place::Left, Place::Right, Place::Top, Place::Bottom];

    /// The place as an answer: `On the left.`
    pub fn answer(self) -> &'static str {
        match self {
            Place::Left => "On the left.",
            Place::Right => "On the right.",
            Place::Top => "At the top.",
            Place::Bottom => "At the bottom.",
        }
    }

    /// The centre of the place, as fractions of the image side (x, y; y grows downwards).
    pub fn centre(self) -> (f64, f64) {
        match self {
            Place::Left => (0.2, 0.5),
            Place::Right => (0.8, 0.5),
            Place::Top => (0.5, 0.2),
            Place::Bottom => (0.5, 0.8),
        }
    }
}

/// One shape of a scene. Lengths are fractions of the image side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Object {
    pub shape: Shape,
    pub colour: Colour,
    pub place: Place,
    /// Square root of the area: objects of equal `size` cover the same number of pixels.
    pub size: f64,
    /// Offset of the centre from the place's centre.
    pub offset: (f64, f64),
}

/// A whole image: its objects and the grey of its background.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub objects: Vec<Object>,
    pub background: u8,
}

/// Smallest and largest object size. The largest triangle reaches 0.88 size from its centre, so
/// objects stay inside their place and never overlap.
pub const SIZE_RANGE: (f64, f64) = (0.09, 0.17);
const MAX_OFFSET: f64 = 0.02;
/// Chance that an object repeats the shape of an earlier one (so "how many" has answers above one).
const REPEAT_SHAPE: f64 = 0.4;

/// A random scene of `fewest` to `most` objects in distinct places, their sizes times `scale`
/// (above 1, objects may reach past their place: over each other or the image's edge).
pub fn random_scene(rng: &mut Rng, (fewest, most): (usize, usize), scale: f64) -> Scene {
    let count = fewest + rng.index(most - fewest + 1);
    let mut places = Place::ALL;
    rng.shuffle(&mut places);
    let mut objects: Vec<Object> = Vec::with_capacity(count);
    for place in places.into_iter().take(count) {
        let shape = if !objects.is_empty() && rng.chance(REPEAT_SHAPE) {
            objects[rng.index(objects.len())].shape
        } else {
            Shape::ALL[rng.index(Shape::ALL.len())]
        };
        objects.push(Object {
            shape,
            colour: Colour::ALL[rng.index(Colour::ALL.len())],
            place,
            size: rng.uniform(SIZE_RANGE.0, SIZE_RANGE.1) * scale,
            offset: (
                rng.uniform(-MAX_OFFSET, MAX_OFFSET),
                rng.uniform(-MAX_OFFSET, MAX_OFFSET),
            ),
        });
    }
    Scene {
        objects,
        background: 30 + rng.index(60) as u8,
    }
}
