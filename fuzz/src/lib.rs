//! What the fuzz targets share: input reshaping that keeps the meaning of an
//! input while changing its form, so a target can assert that the code under
//! test does not care about the form.

use serde_json::Value;

/// A small deterministic generator, seeded from the input itself: the same
/// input always gets the same reshaping, so every crash reproduces.
pub struct Dice(u64);

impl Dice {
    pub fn from_input(data: &[u8]) -> Self {
        // FNV-1a: any change to the input changes the roll.
        let seed = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Dice(seed | 1)
    }

    pub fn roll(&mut self, sides: u64) -> u64 {
        // xorshift64: fast, never zero for a non-zero seed.
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % sides
    }
}

/// `data` cut into reads of 1 to 64 bytes: a network read can end anywhere,
/// inside a line, a terminator or a UTF-8 sequence.
pub fn reads(data: &[u8]) -> Vec<&[u8]> {
    let mut dice = Dice::from_input(data);
    let mut rest = data;
    let mut reads = Vec::new();
    while !rest.is_empty() {
        let take = (1 + dice.roll(64) as usize).min(rest.len());
        let (read, tail) = rest.split_at(take);
        reads.push(read);
        rest = tail;
    }
    reads
}

/// `value` as JSON that means the same but is spelled differently: object
/// keys in reverse order, whitespace between tokens, and some characters of
/// every string written as `\u` escapes.
pub fn respell(value: &Value, dice: &mut Dice) -> String {
    let mut out = String::new();
    write(value, dice, &mut out);
    out
}

fn write(value: &Value, dice: &mut Dice, out: &mut String) {
    space(dice, out);
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => out.push_str(&value.to_string()),
        Value::String(text) => string(text, dice, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write(item, dice, out);
            }
            space(dice, out);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (index, (key, item)) in map.iter().rev().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                space(dice, out);
                string(key, dice, out);
                space(dice, out);
                out.push(':');
                write(item, dice, out);
            }
            space(dice, out);
            out.push('}');
        }
    }
    space(dice, out);
}

fn space(dice: &mut Dice, out: &mut String) {
    out.push_str(["", " ", "\n", "\t", "\r\n  "][dice.roll(5) as usize]);
}

fn string(text: &str, dice: &mut Dice, out: &mut String) {
    out.push('"');
    for ch in text.chars() {
        let must_escape = ch == '"' || ch == '\\' || u32::from(ch) < 0x20;
        if must_escape || dice.roll(4) == 0 {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(ch);
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respelled_json_parses_to_the_same_value() {
        let value: Value = serde_json::from_str(
            r#"{"b":[1,2.5,-3,"x\"y\\ é 😀"],"a":{"z":null,"y":true},"c":"\u0001"}"#,
        )
        .unwrap();
        let mut dice = Dice::from_input(b"seed");
        let respelled = respell(&value, &mut dice);
        assert_ne!(respelled, value.to_string());
        assert_eq!(serde_json::from_str::<Value>(&respelled).unwrap(), value);
    }

    #[test]
    fn reads_cover_the_input_in_order() {
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(reads(&data).concat(), data);
        assert!(reads(b"").is_empty());
    }
}
