//! A pickle machine that reads any `torch.save` pickle and understands only tensors.
//!
//! A training checkpoint holds much more than weights: optimizer state keyed by integers,
//! tuples, a `GradScaler` dict, an `argparse.Namespace`. Nothing but the tensors matters to a
//! loader, so this machine never calls anything: a class applied to arguments stays an opaque
//! [`Obj::Call`], dictionary keys may be any object, and only the handful of `torch` rebuild
//! functions are interpreted, into [`Obj::Tensor`] descriptions (no data is read here).
//!
//! Objects live in an arena and the stack and memo hold their indices, so an object changed after
//! it was memoised (a dict filled by `SETITEMS`) is the same object wherever it is referred to,
//! as in Python.

use std::fmt;

/// Index of an object in the [`Pickle`] arena.
pub type Id = usize;

/// A tensor as the pickle describes it: where its values are and how to read them.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    /// The storage's record name in the archive (`data/<key>`).
    pub storage: String,
    /// The storage class name, e.g. `HalfStorage`.
    pub storage_type: String,
    /// Offset of the first element, in elements.
    pub offset: usize,
    pub shape: Vec<usize>,
    /// Strides in elements.
    pub strides: Vec<usize>,
}

/// One unpickled object.
#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    Dict(Vec<(Id, Id)>),
    /// `module.name`, as named by `GLOBAL`.
    Global(String, String),
    /// `callable(*args)` that was not evaluated (a class, a function we do not know), with the
    /// state `BUILD` gave it.
    Call {
        callable: Id,
        args: Id,
    },
    /// A storage named by a persistent id `('storage', type, key, location, numel)`.
    Storage {
        storage_type: String,
        key: String,
    },
    /// Any other persistent id.
    Persistent(Id),
    Tensor(TensorRef),
    /// The stack marker of `MARK`.
    Mark,
}

/// Why a pickle cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub struct PickleError(pub String);

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn error<T>(message: impl Into<String>) -> Result<T, PickleError> {
    Err(PickleError(message.into()))
}

/// The objects of one pickle and its root.
#[derive(Debug, Default)]
pub struct Pickle {
    pub objects: Vec<Obj>,
    pub root: Id,
}

impl Pickle {
    pub fn get(&self, id: Id) -> &Obj {
        &self.objects[id]
    }

    /// The string value of `id`, if it is one.
    pub fn str(&self, id: Id) -> Option<&str> {
        match self.get(id) {
            Obj::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A dictionary key as text: strings as they are, integers in decimal, anything else `None`.
    pub fn key_text(&self, id: Id) -> Option<String> {
        match self.get(id) {
            Obj::Str(s) => Some(s.clone()),
            Obj::Int(i) => Some(i.to_string()),
            _ => None,
        }
    }
}

/// Runs the pickle in `data` to its `STOP`.
pub fn unpickle(data: &[u8]) -> Result<Pickle, PickleError> {
    let mut machine = Machine {
        input: Input { data, at: 0 },
        pickle: Pickle::default(),
        stack: Vec::new(),
        marks: Vec::new(),
        memo: std::collections::HashMap::new(),
    };
    loop {
        let at = machine.input.at;
        let op = machine.input.byte()?;
        match machine.step(op) {
            Ok(true) => break,
            Ok(false) => {}
            Err(PickleError(message)) => {
                return error(format!("{message} (opcode 0x{op:02x} at byte {at})"));
            }
        }
    }
    machine.pickle.root = machine.pop()?;
    Ok(machine.pickle)
}

struct Input<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return error("the pickle ends early: is the file truncated?");
        };
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }
    fn byte(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }
    fn uint(&mut self, n: usize) -> Result<u64, PickleError> {
        let bytes = self.take(n)?;
        Ok(bytes.iter().rev().fold(0, |acc, &b| (acc << 8) | b as u64))
    }
    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.at..];
        let Some(len) = rest.iter().position(|&b| b == b'\n') else {
            return error("a text opcode without its newline");
        };
        let text = String::from_utf8_lossy(&rest[..len]).into_owned();
        self.at += len + 1;
        Ok(text)
    }
    fn text(&mut self, n: usize) -> Result<String, PickleError> {
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
}

struct Machine<'a> {
    input: Input<'a>,
    pickle: Pickle,
    stack: Vec<Id>,
    /// Stack depths at each `MARK`.
    marks: Vec<usize>,
    memo: std::collections::HashMap<u64, Id>,
}

impl Machine<'_> {
    fn new_obj(&mut self, obj: Obj) -> Id {
        self.pickle.objects.push(obj);
        self.pickle.objects.len() - 1
    }
    fn push(&mut self, obj: Obj) {
        let id = self.new_obj(obj);
        self.stack.push(id);
    }
    fn pop(&mut self) -> Result<Id, PickleError> {
        self.stack
            .pop()
            .map_or_else(|| error("stack underflow: the file is corrupt"), Ok)
    }
    fn top(&self) -> Result<Id, PickleError> {
        self.stack
            .last()
            .copied()
            .map_or_else(|| error("stack underflow: the file is corrupt"), Ok)
    }
    fn pop_mark(&mut self) -> Result<Vec<Id>, PickleError> {
        let Some(depth) = self.marks.pop() else {
            return error("no MARK to pop to: the file is corrupt");
        };
        if depth > self.stack.len() {
            return error("MARK above the stack: the file is corrupt");
        }
        Ok(self.stack.split_off(depth))
    }
    fn memo_get(&mut self, key: u64) -> Result<(), PickleError> {
        let Some(&id) = self.memo.get(&key) else {
            return error(format!("memo entry {key} does not exist"));
        };
        self.stack.push(id);
        Ok(())
    }
    fn memo_put(&mut self, key: u64) -> Result<(), PickleError> {
        let id = self.top()?;
        self.memo.insert(key, id);
        Ok(())
    }

    /// Executes one opcode; `true` at `STOP`.
    fn step(&mut self, op: u8) -> Result<bool, PickleError> {
        match op {
            b'.' => return Ok(true),
            0x80 => {
                let version = self.input.byte()?;
                if version > 5 {
                    return error(format!("pickle protocol {version} is newer than 5"));
                }
            }
            0x95 => drop(self.input.take(8)?), // FRAME: a length hint
            b'(' => self.marks.push(self.stack.len()),
            b'0' => drop(self.pop()?),
            b'1' => drop(self.pop_mark()?),
            b'2' => self.stack.push(self.top()?),
            _ => return self.step_value(op).map(|()| false),
        }
        Ok(false)
    }

    /// Opcodes that build or store values.
    fn step_value(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'N' => self.push(Obj::None),
            0x88 => self.push(Obj::Bool(true)),
            0x89 => self.push(Obj::Bool(false)),
            b'J' => {
                let v = self.input.uint(4)? as u32 as i32;
                self.push(Obj::Int(v.into()))
            }
            b'K' => {
                let v = self.input.uint(1)?;
                self.push(Obj::Int(v as i64))
            }
            b'M' => {
                let v = self.input.uint(2)?;
                self.push(Obj::Int(v as i64))
            }
            0x8a => {
                let n = self.input.byte()? as usize;
                self.long(n)?
            }
            0x8b => {
                let n = self.input.uint(4)? as usize;
                self.long(n)?
            }
            b'I' | b'L' => self.text_int()?,
            b'G' => {
                let bytes: [u8; 8] = self.input.take(8)?.try_into().expect("8 bytes");
                self.push(Obj::Float(f64::from_be_bytes(bytes)))
            }
            b'F' => {
                let line = self.input.line()?;
                let v = line.trim().parse().or_else(|_| error("a bad FLOAT"))?;
                self.push(Obj::Float(v))
            }
            _ => return self.step_text(op),
        }
        Ok(())
    }

    /// Strings, bytes and containers.
    fn step_text(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'X' | b'T' => {
                let n = self.input.uint(4)? as usize;
                let s = self.input.text(n)?;
                self.push(Obj::Str(s))
            }
            0x8c | b'U' => {
                let n = self.input.byte()? as usize;
                let s = self.input.text(n)?;
                self.push(Obj::Str(s))
            }
            0x8d => {
                let n = self.input.uint(8)? as usize;
                let s = self.input.text(n)?;
                self.push(Obj::Str(s))
            }
            b'V' | b'S' => {
                let s = self.input.line()?;
                self.push(Obj::Str(s))
            }
            b'B' | b'C' | 0x8e | 0x96 => {
                let width = match op {
                    b'B' => 4,
                    b'C' => 1,
                    _ => 8,
                };
                let n = self.input.uint(width)? as usize;
                let bytes = self.input.take(n)?.to_vec();
                self.push(Obj::Bytes(bytes))
            }
            _ => return self.step_container(op),
        }
        Ok(())
    }

    fn step_container(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b')' => self.push(Obj::Tuple(Vec::new())),
            b't' => {
                let items = self.pop_mark()?;
                self.push(Obj::Tuple(items))
            }
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                if self.stack.len() < n {
                    return error("stack underflow: the file is corrupt");
                }
                let items = self.stack.split_off(self.stack.len() - n);
                self.push(Obj::Tuple(items))
            }
            b']' | 0x8f => self.push(Obj::List(Vec::new())),
            b'l' | 0x91 => {
                let items = self.pop_mark()?;
                self.push(Obj::List(items))
            }
            b'a' => {
                let item = self.pop()?;
                self.extend(vec![item])?
            }
            b'e' | 0x90 => {
                let items = self.pop_mark()?;
                self.extend(items)?
            }
            b'}' => self.push(Obj::Dict(Vec::new())),
            b'd' => {
                let items = self.pop_mark()?;
                let pairs = pairs(items)?;
                self.push(Obj::Dict(pairs))
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![(key, value)])?
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(pairs(items)?)?
            }
            _ => return self.step_memo(op),
        }
        Ok(())
    }

    fn step_memo(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'p' => {
                let key = self.input.line()?;
                self.memo_put(key.trim().parse().or_else(|_| error("a bad PUT"))?)?
            }
            b'q' => {
                let key = self.input.uint(1)?;
                self.memo_put(key)?
            }
            b'r' => {
                let key = self.input.uint(4)?;
                self.memo_put(key)?
            }
            0x94 => {
                let key = self.memo.len() as u64;
                self.memo_put(key)?
            }
            b'g' => {
                let key = self.input.line()?;
                self.memo_get(key.trim().parse().or_else(|_| error("a bad GET"))?)?
            }
            b'h' => {
                let key = self.input.uint(1)?;
                self.memo_get(key)?
            }
            b'j' => {
                let key = self.input.uint(4)?;
                self.memo_get(key)?
            }
            _ => return self.step_call(op),
        }
        Ok(())
    }

    /// Globals, calls and persistent ids.
    fn step_call(&mut self, op: u8) -> Result<(), PickleError> {
        match op {
            b'c' => {
                let module = self.input.line()?;
                let name = self.input.line()?;
                self.push(Obj::Global(module, name))
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Some(module), Some(name)) = (self.pickle.str(module), self.pickle.str(name))
                else {
                    return error("STACK_GLOBAL needs two strings");
                };
                let global = Obj::Global(module.to_string(), name.to_string());
                self.push(global)
            }
            b'R' | 0x81 => {
                let args = self.pop()?;
                let callable = self.pop()?;
                let obj = self.call(callable, args);
                self.push(obj)
            }
            0x92 => {
                let _kwargs = self.pop()?;
                let args = self.pop()?;
                let callable = self.pop()?;
                self.push(Obj::Call { callable, args })
            }
            b'b' => {
                let state = self.pop()?;
                self.build(state)?
            }
            b'Q' => {
                let pid = self.pop()?;
                let obj = self.persistent(pid);
                self.push(obj)
            }
            _ => return error(format!("unsupported pickle opcode 0x{op:02x}")),
        }
        Ok(())
    }

    /// Python integers of `n` little-endian two's-complement bytes (at most 64 bits kept).
    fn long(&mut self, n: usize) -> Result<(), PickleError> {
        let bytes = self.input.take(n)?;
        if n > 8 {
            let obj = Obj::Bytes(bytes.to_vec()); // too large for any index or size we read
            self.push(obj);
            return Ok(());
        }
        let mut value = bytes
            .iter()
            .rev()
            .fold(0i64, |acc, &b| (acc << 8) | b as i64);
        if n > 0 && n < 8 && bytes[n - 1] & 0x80 != 0 {
            value -= 1i64 << (8 * n);
        }
        self.push(Obj::Int(value));
        Ok(())
    }

    fn text_int(&mut self) -> Result<(), PickleError> {
        let line = self.input.line()?;
        let text = line.trim().trim_end_matches('L');
        let obj = match text {
            "00" => Obj::Bool(false),
            "01" => Obj::Bool(true),
            _ => Obj::Int(text.parse().or_else(|_| error("a bad INT"))?),
        };
        self.push(obj);
        Ok(())
    }

    fn extend(&mut self, items: Vec<Id>) -> Result<(), PickleError> {
        let target = self.top()?;
        match &mut self.pickle.objects[target] {
            Obj::List(list) => list.extend(items),
            Obj::Call { .. } => {} // list subclasses and sets of unknown classes: not needed
            _ => return error("APPEND to something that is not a list"),
        }
        Ok(())
    }

    fn set_items(&mut self, items: Vec<(Id, Id)>) -> Result<(), PickleError> {
        let target = self.top()?;
        match &mut self.pickle.objects[target] {
            Obj::Dict(dict) => dict.extend(items),
            Obj::Call { .. } => {} // dict subclasses of unknown classes: not needed
            _ => return error("SETITEM on something that is not a dict"),
        }
        Ok(())
    }

    /// `BUILD`: a dict's state updates the dict; any other object's state is not needed.
    fn build(&mut self, state: Id) -> Result<(), PickleError> {
        let target = self.top()?;
        if let (Obj::Dict(_), Obj::Dict(update)) = (self.pickle.get(target), self.pickle.get(state))
        {
            let update = update.clone();
            self.set_items(update)?;
        }
        Ok(())
    }

    fn persistent(&mut self, pid: Id) -> Obj {
        let fields = match self.pickle.get(pid) {
            Obj::Tuple(fields) if fields.len() >= 3 => fields.clone(),
            _ => return Obj::Persistent(pid),
        };
        let storage_type = match self.pickle.get(fields[1]) {
            Obj::Global(_, name) => Some(name.clone()),
            Obj::Str(name) => Some(name.clone()),
            _ => None,
        };
        match (
            self.pickle.str(fields[0]),
            storage_type,
            self.pickle.key_text(fields[2]),
        ) {
            (Some("storage"), Some(storage_type), Some(key)) => Obj::Storage { storage_type, key },
            _ => Obj::Persistent(pid),
        }
    }

    /// What `callable(*args)` gives: a tensor for torch's rebuild functions, an empty dict for
    /// `OrderedDict()`, an opaque call for everything else.
    fn call(&mut self, callable: Id, args: Id) -> Obj {
        let opaque = Obj::Call { callable, args };
        let (module, name) = match self.pickle.get(callable) {
            Obj::Global(module, name) => (module.clone(), name.clone()),
            _ => return opaque,
        };
        let Obj::Tuple(args) = self.pickle.get(args).clone() else {
            return opaque;
        };
        let first = |p: &Pickle| args.first().map(|&id| p.get(id).clone());
        match (module.as_str(), name.as_str()) {
            ("collections", "OrderedDict") if args.is_empty() => Obj::Dict(Vec::new()),
            ("torch._utils", "_rebuild_tensor_v2" | "_rebuild_tensor") => {
                self.tensor(&args).unwrap_or(opaque)
            }
            // (tensor, requires_grad, hooks[, state]): the parameter is its tensor.
            ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
                first(&self.pickle).unwrap_or(opaque)
            }
            // (function, type, args, state): apply the function to its arguments.
            ("torch._tensor", "_rebuild_from_type_v2") if args.len() >= 3 => {
                let (function, inner) = (args[0], args[2]);
                self.call(function, inner)
            }
            _ => opaque,
        }
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, ...)`.
    fn tensor(&self, args: &[Id]) -> Option<Obj> {
        let p = &self.pickle;
        let Obj::Storage { storage_type, key } = p.get(*args.first()?) else {
            return None;
        };
        let Obj::Int(offset) = p.get(*args.get(1)?) else {
            return None;
        };
        let ints = |id: Id| -> Option<Vec<usize>> {
            let Obj::Tuple(items) = p.get(id) else {
                return None;
            };
            items
                .iter()
                .map(|&i| match p.get(i) {
                    Obj::Int(v) => usize::try_from(*v).ok(),
                    _ => None,
                })
                .collect()
        };
        Some(Obj::Tensor(TensorRef {
            storage: key.clone(),
            storage_type: storage_type.clone(),
            offset: usize::try_from(*offset).ok()?,
            shape: ints(*args.get(2)?)?,
            strides: ints(*args.get(3)?)?,
        }))
    }
}

fn pairs(items: Vec<Id>) -> Result<Vec<(Id, Id)>, PickleError> {
    if !items.len().is_multiple_of(2) {
        return error("a dict with an odd number of items: the file is corrupt");
    }
    Ok(items.chunks(2).map(|c| (c[0], c[1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `{1: 'a', (2, 3): {'x': 4.5}}` pickled item by item with SETITEM (protocol 2), the
    /// inner dict memoised before it is filled and fetched again as the value of `'y'`.
    fn mixed_keys() -> Vec<u8> {
        let mut p = vec![0x80, 2, b'}', b'q', 0];
        p.extend([b'K', 1, 0x8c, 1, b'a', b's']); // 1: 'a'
        p.extend([b'K', 2, b'K', 3, 0x86]); // (2, 3)
        p.extend([b'}', b'q', 1]); // {} memoised as 1
        p.extend([0x8c, 1, b'x', b'G']);
        p.extend(4.5f64.to_be_bytes());
        p.extend([b's', b's']); // inner['x'] = 4.5; outer[(2, 3)] = inner
        p.extend([0x8c, 1, b'y', b'h', 1, b's', b'.']); // outer['y'] = memo[1]
        p
    }

    fn entries(p: &Pickle, id: Id) -> Vec<(Id, Id)> {
        match p.get(id) {
            Obj::Dict(entries) => entries.clone(),
            other => panic!("not a dict: {other:?}"),
        }
    }

    #[test]
    fn dict_keys_may_be_integers_and_tuples() {
        let p = unpickle(&mixed_keys()).unwrap();
        let outer = entries(&p, p.root);
        assert_eq!(outer.len(), 3);
        assert_eq!(p.key_text(outer[0].0).as_deref(), Some("1"));
        assert_eq!(p.str(outer[0].1), Some("a"));
        assert!(matches!(p.get(outer[1].0), Obj::Tuple(t) if t.len() == 2));
        assert_eq!(p.key_text(outer[1].0), None, "a tuple key has no text");
    }

    #[test]
    fn a_memoised_dict_is_the_same_object_after_it_is_filled() {
        let p = unpickle(&mixed_keys()).unwrap();
        let outer = entries(&p, p.root);
        assert_eq!(outer[1].1, outer[2].1, "both values are one object");
        let inner = entries(&p, outer[2].1);
        assert_eq!(p.get(inner[0].1), &Obj::Float(4.5));
    }

    #[test]
    fn unknown_classes_stay_opaque_and_are_never_called() {
        // argparse.Namespace() with a state dict, as protocol 2 writes it (NEWOBJ, BUILD).
        let mut p = vec![0x80, 2, b'c'];
        p.extend(b"argparse\nNamespace\n");
        p.extend([
            b')', 0x81, b'}', 0x8c, 2, b'l', b'r', b'K', 7, b's', b'b', b'.',
        ]);
        let p = unpickle(&p).unwrap();
        assert!(matches!(p.get(p.root), Obj::Call { .. }));
    }

    #[test]
    fn a_truncated_pickle_is_an_error_not_a_panic() {
        let whole = mixed_keys();
        for end in 0..whole.len() - 1 {
            let err = unpickle(&whole[..end]).unwrap_err();
            assert!(!err.0.is_empty(), "at {end}");
        }
    }

    #[test]
    fn negative_and_long_integers() {
        // LONG1 of -2 (0xfe) and BININT of -1.
        let p = [
            0x80, 2, 0x8a, 1, 0xfe, b'J', 0xff, 0xff, 0xff, 0xff, 0x86, b'.',
        ];
        let p = unpickle(&p).unwrap();
        let Obj::Tuple(items) = p.get(p.root) else {
            panic!()
        };
        assert_eq!(
            [p.get(items[0]), p.get(items[1])],
            [&Obj::Int(-2), &Obj::Int(-1)]
        );
    }
}
