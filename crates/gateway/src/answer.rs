//! The answer tree, what execution holds between the subgraphs and projection: each
//! subgraph answer parsed once into an immutable [`Node`] tree and never merged into
//! another. An entity fetch's answers are attached to the objects they extend by the
//! objects' identity ([`Answers`]), so merging copies nothing and a parsed answer can be
//! shared by every request waiting on the same fetch. Objects are small vectors of
//! fields with keys stored inline, so finding a field compares a few short byte strings
//! instead of hashing; projection and the gathering of representations read the tree
//! through a [`View`], the object together with everything that extends it.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// Keys up to this many bytes are stored in the field itself; nearly every GraphQL
/// response key fits.
const INLINE_KEY: usize = 22;

/// A response key as it came from a subgraph.
#[derive(Clone)]
pub enum Key {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<str>),
}

impl Key {
    pub fn new(key: &str) -> Self {
        if key.len() <= INLINE_KEY {
            let mut bytes = [0; INLINE_KEY];
            bytes[..key.len()].copy_from_slice(key.as_bytes());
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(key.into())
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(key) => key.as_bytes(),
        }
    }

    /// The key as text; it was text when parsed, so this cannot fail.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    fn is(&self, key: &str) -> bool {
        self.as_bytes() == key.as_bytes()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// One value of a parsed answer.
#[derive(Debug, Clone, Default)]
pub enum Node {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Box<str>),
    List(Vec<Node>),
    Object(Object),
}

/// An object of a parsed answer: its fields in the order the subgraph sent them.
#[derive(Debug, Clone, Default)]
pub struct Object {
    fields: Vec<(Key, Node)>,
}

impl Object {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.fields
            .iter()
            .find(|(k, _)| k.is(key))
            .map(|(_, value)| value)
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.fields.iter().position(|(k, _)| k.is(key))
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// What the object is while its answer is held: the address of its fields, which
    /// never move once parsed (an object without fields has no identity and is never
    /// extended).
    fn identity(&self) -> usize {
        self.fields.as_ptr() as usize
    }
}

impl Node {
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Node::Object(object) => Some(object),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Node::Null)
    }

    /// Writes the value as JSON.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Bool(true) => out.extend_from_slice(b"true"),
            Node::Bool(false) => out.extend_from_slice(b"false"),
            Node::Number(number) => write_number(number, out),
            Node::String(text) => write_string(text, out),
            Node::List(items) => {
                out.push(b'[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Node::Object(object) => {
                out.push(b'{');
                for (index, (key, value)) in object.fields.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    write_string(key.as_str(), out);
                    out.push(b':');
                    value.write_json(out);
                }
                out.push(b'}');
            }
        }
    }

    /// The value as a `serde_json` value, for the paths that are not hot.
    pub fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.to_string()),
            Node::List(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Object(object) => Value::Object(
                object
                    .fields
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }

    pub fn from_value(value: Value) -> Node {
        match value {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(b),
            Value::Number(n) => Node::Number(n),
            Value::String(s) => Node::String(s.into()),
            Value::Array(items) => Node::List(items.into_iter().map(Node::from_value).collect()),
            Value::Object(map) => Node::Object(Object {
                fields: map
                    .into_iter()
                    .map(|(k, v)| (Key::new(&k), Node::from_value(v)))
                    .collect(),
            }),
        }
    }
}

/// Writes `text` as a JSON string. Most text in answers needs no escaping, and is
/// copied as it is.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    if text
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\')
    {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a Vec cannot fail, and a str always serialises.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

fn write_number(number: &Number, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, number);
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        Node::deserialize(deserializer)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Node, E> {
        Ok(Node::Bool(b))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Node, E> {
        Ok(Node::Number(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Node, E> {
        Ok(Number::from_f64(n).map_or(Node::Null, Node::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Node, E> {
        Ok(Node::String(s.into()))
    }
    fn visit_string<E>(self, s: String) -> Result<Node, E> {
        Ok(Node::String(s.into_boxed_str()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some(key) = map.next_key::<KeySeed>()? {
            let value = map.next_value::<Node>()?;
            match fields
                .iter_mut()
                .find(|(k, _): &&mut (Key, Node)| k.is(key.0.as_str()))
            {
                // A repeated key: the last one counts, as in any JSON parser.
                Some((_, slot)) => *slot = value,
                None => fields.push((key.0, value)),
            }
        }
        Ok(Node::Object(Object { fields }))
    }
}

/// A key read without allocating when it is short and has no escapes.
struct KeySeed(Key);

impl<'de> Deserialize<'de> for KeySeed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = KeySeed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, s: &str) -> Result<KeySeed, E> {
                Ok(KeySeed(Key::new(s)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A fast hasher for keys no client chooses: the addresses of objects, and texts that
/// are compared in full after their hashes match.
#[derive(Default)]
pub struct FastHasher(u64);

const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(MIX);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        // A product's high bits are its best mixed; hash tables index by the low ones.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(
                word.try_into().expect("chunks_exact gives eight bytes"),
            ));
        }
        for &byte in words.remainder() {
            self.add(u64::from(byte));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        // Addresses share their low bits (alignment): the multiplication spreads them.
        self.add(n as u64);
    }
}

/// Hashes `bytes` with [`FastHasher`].
pub fn fast_hash(bytes: &[u8]) -> u64 {
    let mut hasher = FastHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

type ByIdentity<V> = HashMap<usize, V, BuildHasherDefault<FastHasher>>;

/// Where an object extending another lies: in which answer, and where in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The `data` of a root fetch (or introspection): it extends the root.
    Root { answer: u32 },
    /// Item `index` of the list under the answer's field at `field`: one `_entities` answer.
    Entity { answer: u32, field: u32, index: u32 },
}

/// A plan's answers and what extends what.
#[derive(Default)]
pub struct Answers {
    answers: Vec<Arc<Node>>,
    roots: Vec<Slot>,
    extensions: ByIdentity<Vec<Slot>>,
}

/// An object with everything that extends it, in the order the answers came: a field
/// is looked up in all of them.
pub type View<'a> = Vec<&'a Object>;

impl Answers {
    /// Keeps an answer, returning its number.
    pub fn keep(&mut self, answer: Arc<Node>) -> u32 {
        self.answers.push(answer);
        u32::try_from(self.answers.len() - 1).expect("fewer than 2^32 answers to one request")
    }

    /// Adds a root fetch's `data` (kept as `answer`) to the root object.
    pub fn extend_root(&mut self, answer: u32) {
        if matches!(self.answer(answer), Some(Node::Object(_))) {
            self.roots.push(Slot::Root { answer });
        }
    }

    /// Attaches item `index` of the list under `response_key` in `answer` to the object
    /// `target` (an [`identity`] of a view).
    pub fn extend(&mut self, target: usize, answer: u32, response_key: &str, index: usize) {
        let Some(field) = self
            .answer(answer)
            .and_then(Node::as_object)
            .and_then(|data| data.position(response_key))
        else {
            return;
        };
        let slot = Slot::Entity {
            answer,
            field: field as u32,
            index: index as u32,
        };
        if let Some(Node::Object(object)) = self.resolve(slot)
            && !object.is_empty()
        {
            // An object reached along several paths is extended once.
            let slots = self.extensions.entry(target).or_default();
            if !slots.contains(&slot) {
                slots.push(slot);
            }
        }
    }

    fn answer(&self, answer: u32) -> Option<&Node> {
        self.answers.get(answer as usize).map(|answer| &**answer)
    }

    fn resolve(&self, slot: Slot) -> Option<&Node> {
        match slot {
            Slot::Root { answer } => self.answer(answer),
            Slot::Entity {
                answer,
                field,
                index,
            } => match self.answer(answer)? {
                Node::Object(data) => match &data.fields.get(field as usize)?.1 {
                    Node::List(items) => items.get(index as usize),
                    _ => None,
                },
                _ => None,
            },
        }
    }

    /// The root object: every root fetch's data.
    pub fn root(&self) -> View<'_> {
        let mut view = Vec::with_capacity(self.roots.len());
        for &slot in &self.roots {
            if let Some(Node::Object(object)) = self.resolve(slot) {
                self.expand(object, &mut view);
            }
        }
        view
    }

    /// Adds `object` and what extends it to `view`.
    pub fn expand<'a>(&'a self, object: &'a Object, view: &mut View<'a>) {
        view.push(object);
        if self.extensions.is_empty() || object.is_empty() {
            return;
        }
        if let Some(slots) = self.extensions.get(&object.identity()) {
            for &slot in slots {
                if let Some(Node::Object(extension)) = self.resolve(slot) {
                    self.expand(extension, view);
                }
            }
        }
    }

    /// The view of the value that `candidates` (one position's values from every
    /// source) make an object of, when they do.
    pub fn view_of<'a>(&'a self, candidates: &[&'a Node]) -> View<'a> {
        let mut view = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            if let Node::Object(object) = candidate {
                self.expand(object, &mut view);
            }
        }
        view
    }
}

/// The identity [`Answers::extend`] attaches to: the first object of a view.
pub fn identity(view: &[&Object]) -> Option<usize> {
    view.first()
        .filter(|object| !object.is_empty())
        .map(|object| object.identity())
}

/// The values `key` has in the objects of `view`, in order.
pub fn lookup<'a>(view: &[&'a Object], key: &str, out: &mut Vec<&'a Node>) {
    out.clear();
    for object in view {
        if let Some(value) = object.get(key) {
            out.push(value);
        }
    }
}

/// What one position holds when its sources disagree: the last non-null value, as a
/// merge of the answers in order would leave it.
pub fn settled<'a>(candidates: &[&'a Node]) -> Option<&'a Node> {
    candidates
        .iter()
        .rev()
        .find(|candidate| !candidate.is_null())
        .or(candidates.last())
        .copied()
}

/// Whether `key` has no value in a view: missing from every source, or null in all.
pub fn is_null(view: &[&Object], key: &str) -> bool {
    view.iter()
        .all(|object| object.get(key).is_none_or(Node::is_null))
}

/// The `__typename` of a view, when a source has it.
pub fn typename<'a>(view: &[&'a Object]) -> Option<&'a str> {
    view.iter()
        .rev()
        .find_map(|object| object.get("__typename").and_then(Node::as_str))
}

/// The items of list candidates: item `index` of every list as long as the one that
/// settles the position.
pub fn list_items<'a>(candidates: &[&'a Node]) -> Option<(usize, Vec<&'a [Node]>)> {
    let Some(Node::List(settled)) = settled(candidates) else {
        return None;
    };
    let len = settled.len();
    let lists = candidates
        .iter()
        .filter_map(|candidate| match candidate {
            Node::List(items) if items.len() == len => Some(items.as_slice()),
            _ => None,
        })
        .collect();
    Some((len, lists))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn parsing_and_writing_keep_the_answer_as_sent() {
        let text = r#"{"a":1,"b":[true,null,"x\"y"],"a_key_longer_than_twenty_two":{"c":-2.5}}"#;
        let mut out = Vec::new();
        parse(text).write_json(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), text);
    }

    #[test]
    fn text_that_needs_escaping_is_escaped() {
        for text in [
            "plain",
            "a \"quote\"",
            "back\\slash",
            "new\nline",
            "\u{1}",
            "åäö €",
        ] {
            let mut out = Vec::new();
            write_string(text, &mut out);
            assert_eq!(out, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn an_entity_answer_extends_the_object_it_was_fetched_for() {
        let mut answers = Answers::default();
        let root = answers.keep(Arc::new(parse(r#"{"me":{"id":"1"}}"#)));
        answers.extend_root(root);
        let me = {
            let view = answers.root();
            let mut found = Vec::new();
            lookup(&view, "me", &mut found);
            identity(&answers.view_of(&found)).unwrap()
        };
        let entities = answers.keep(Arc::new(parse(r#"{"_entities":[{"name":"Ada"}]}"#)));
        answers.extend(me, entities, "_entities", 0);
        let view = answers.root();
        let mut found = Vec::new();
        lookup(&view, "me", &mut found);
        let me = answers.view_of(&found);
        assert_eq!(me.len(), 2);
        lookup(&me, "name", &mut found);
        assert_eq!(settled(&found).and_then(Node::as_str), Some("Ada"));
    }

    #[test]
    fn the_last_non_null_value_settles_a_position() {
        let (a, b, null) = (parse("1"), parse("2"), parse("null"));
        assert!(
            matches!(settled(&[&a, &b, &null]), Some(Node::Number(n)) if n.as_u64() == Some(2))
        );
        assert!(settled(&[&null]).is_some_and(Node::is_null));
        assert!(settled(&[]).is_none());
    }
}
