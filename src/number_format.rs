//! Numbers as text and text as numbers, without Rust's float formatter and
//! parser in the page.
//!
//! `format!("{x:.1}")`, `format!("{x}")` and `format!("{x:e}")` on an `f64`
//! link core's float-to-decimal code (the Grisu and Dragon4 algorithms and
//! their tables) into the program, and `text.parse::<f64>()` links its
//! decimal-to-float code (with a 10 KB table of powers of five). The browser
//! page would carry all of it in its download, although the browser already
//! holds an exact float formatter and parser: JavaScript's
//! `Number.prototype.toFixed`, `String(x)` and `parseFloat`. So in the
//! browser (wasm32) these functions ask JavaScript; natively (the server,
//! unit tests) they ask Rust. Either way the result is Rust's, character for
//! character and bit for bit: `tests/number_format.rs` compares the two in
//! headless Chromium.
//!
//! Where JavaScript's rules differ from Rust's, this module follows Rust:
//! - a tie (`0.25` to one decimal) goes to the even digit in Rust (`0.2`) and
//!   away from zero in JavaScript (`0.3`);
//! - `-0.0` keeps its sign (`-0.0`, `-0`); infinity reads `inf`, not `Infinity`;
//! - JavaScript writes `1.5e+300` where Rust writes `1.5e300`, and switches to
//!   exponent form below 10⁻⁶ and from 10²¹ on, where `{}` never does.
//!
//! One difference is left, far from any number the page shows: from 10²¹ on,
//! [`fixed`] pads the shortest digits with zeros (`1e300` reads
//! `1000…000.0`), where `format!` prints the double's exact binary value
//! (`1000…0052504760…`).

/// `format!("{x:.decimals$}")`: `x` rounded to `decimals` places, a tie to
/// the even digit (`fixed(0.25, 1)` is `0.2`, `fixed(2.5, 0)` is `2`).
pub fn fixed(x: f64, decimals: u8) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        browser::fixed(x, decimals)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        format!("{x:.*}", usize::from(decimals))
    }
}

/// `format!("{x}")`: the fewest digits that read back as the same `f64`,
/// never in exponent form (`0.1`, `2`, `0.0000001`).
pub fn shortest(x: f64) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        browser::digits(x).map_or_else(|text| text, |digits| digits.decimal())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        format!("{x}")
    }
}

/// `format!("{x:e}")`: the fewest digits that read back as the same `f64`,
/// in exponent form (`1e-7`, `1.5e300`).
pub fn exponent(x: f64) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        browser::digits(x).map_or_else(|text| text, |digits| digits.exponent())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        format!("{x:e}")
    }
}

/// `text.parse::<f64>().ok()`: exactly the text Rust reads as a number
/// (`2.5`, `-7`, `.5`, `1e308`, `inf`, `NaN`), nothing more — no spaces, no
/// `0x10`, no empty text, which JavaScript's `Number` would all take.
pub fn parse(text: &str) -> Option<f64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(match syntax(text)? {
            // With the syntax checked, `parseFloat` reads all of the text,
            // and rounds to the nearest double exactly as Rust does.
            Syntax::Decimal => web_sys::js_sys::parse_float(text),
            Syntax::Infinity { negative } => signed(f64::INFINITY, negative),
            Syntax::NotANumber { negative } => signed(f64::NAN, negative),
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        text.parse().ok()
    }
}

/// What kind of number Rust's `str::parse::<f64>` reads in a text.
#[derive(Debug, PartialEq)]
pub enum Syntax {
    /// Digits with at most one decimal point and an exponent: `-1.5e3`.
    Decimal,
    /// `inf` or `infinity`, in any case.
    Infinity { negative: bool },
    /// `nan`, in any case.
    NotANumber { negative: bool },
}

/// Rust's float syntax, checked without reading the number:
/// `[+-]? (inf | infinity | nan | digits [. digits] [e [+-] digits])`,
/// where the mantissa may start or end with its point (`.5`, `5.`).
pub fn syntax(text: &str) -> Option<Syntax> {
    let negative = text.starts_with('-');
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let word = |w: &str| unsigned.eq_ignore_ascii_case(w);
    if word("inf") || word("infinity") {
        return Some(Syntax::Infinity { negative });
    }
    if word("nan") {
        return Some(Syntax::NotANumber { negative });
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exp) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exp)) => (mantissa, Some(exp)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let exp_ok = exp.is_none_or(|exp| {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        !exp.is_empty() && digits(exp)
    });
    let mantissa_ok = digits(whole) && digits(fraction) && whole.len() + fraction.len() > 0;
    (mantissa_ok && exp_ok).then_some(Syntax::Decimal)
}

#[cfg(target_arch = "wasm32")]
fn signed(x: f64, negative: bool) -> f64 {
    if negative { -x } else { x }
}

/// A finite number as a sign, significant digits and the place of the
/// decimal point: `-0.0125` is `-`, `125`, point -1 (`-0.125 × 10⁻¹`).
#[derive(Debug, PartialEq)]
pub struct Digits {
    negative: bool,
    /// No leading or trailing zeros; empty for zero.
    digits: String,
    /// The value is `0.digits × 10^point`.
    point: i32,
}

impl Digits {
    /// Reads a number as JavaScript's `String(x)` or Rust's `{:e}` writes
    /// it: `123.45`, `-0.000001`, `1e-7`, `1.5e+300`, `1.5e300`.
    pub fn parse(text: &str) -> Option<Digits> {
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exp) = match text.split_once(['e', 'E']) {
            Some((mantissa, exp)) => (mantissa, exp.parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let mut point = i32::try_from(whole.len()).ok()? + exp;
        let joined = format!("{whole}{fraction}");
        let significant = joined.trim_start_matches('0');
        point -= i32::try_from(joined.len() - significant.len()).ok()?;
        let digits = significant.trim_end_matches('0').to_owned();
        Some(Digits {
            negative,
            point: if digits.is_empty() { 0 } else { point },
            digits,
        })
    }

    /// Rust's `{}`: `0.0000001`, `2`, `-1500`.
    pub fn decimal(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        let digits = self.digits.as_str();
        if digits.is_empty() {
            return format!("{sign}0");
        }
        let zeros = |n: i32| "0".repeat(usize::try_from(n).unwrap_or(0));
        let len = i32::try_from(digits.len()).unwrap_or(i32::MAX);
        if self.point <= 0 {
            format!("{sign}0.{}{digits}", zeros(-self.point))
        } else if self.point >= len {
            format!("{sign}{digits}{}", zeros(self.point - len))
        } else {
            let (whole, fraction) = digits.split_at(self.point as usize);
            format!("{sign}{whole}.{fraction}")
        }
    }

    /// Rust's `{:e}`: `1e-7`, `1.5e300`, `0e0`.
    pub fn exponent(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        let Some(first) = self.digits.get(..1) else {
            return format!("{sign}0e0");
        };
        let rest = &self.digits[1..];
        let dot = if rest.is_empty() { "" } else { "." };
        format!("{sign}{first}{dot}{rest}e{}", self.point - 1)
    }
}

/// Whether rounding `magnitude` (≥ 0) to `decimals` places is a tie: its
/// exact binary value lies halfway between two `decimals`-place numbers.
///
/// That needs `magnitude × 10^decimals × 2` to be an odd integer. A double
/// is an integer over a power of two, so the factor `5^decimals` cannot
/// cancel its denominator: the test is that `magnitude × 2^(decimals + 1)`,
/// exact in floating point, is an odd integer.
pub fn is_tie(magnitude: f64, decimals: u8) -> bool {
    let scaled = magnitude * f64::powi(2.0, i32::from(decimals) + 1);
    // From 2^53 on every double is an even integer.
    scaled < 9_007_199_254_740_992.0 && scaled.fract() == 0.0 && (scaled / 2.0).fract() != 0.0
}

/// How Rust spells what is not a finite number, or `None` for a number.
pub fn non_finite(x: f64) -> Option<&'static str> {
    if x.is_nan() {
        Some("NaN")
    } else if x == f64::INFINITY {
        Some("inf")
    } else if x == f64::NEG_INFINITY {
        Some("-inf")
    } else {
        None
    }
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::{Digits, is_tie, non_finite};
    use web_sys::js_sys::{JsString, Number};

    /// JavaScript's `toFixed`, which rounds exactly, ties away from zero.
    fn to_fixed(magnitude: f64, decimals: u8) -> String {
        Number::from(magnitude)
            .to_fixed(decimals)
            .map_or_else(|_| String::new(), String::from)
    }

    pub(super) fn fixed(x: f64, decimals: u8) -> String {
        if let Some(word) = non_finite(x) {
            return word.to_owned();
        }
        let sign = if x.is_sign_negative() { "-" } else { "" };
        let magnitude = x.abs();
        if magnitude >= 1e21 {
            // `toFixed` writes exponent form here: pad the shortest digits.
            let whole = digits(magnitude).map_or_else(|text| text, |d| d.decimal());
            let dot = if decimals == 0 { "" } else { "." };
            return format!("{sign}{whole}{dot}{}", "0".repeat(usize::from(decimals)));
        }
        let mut text = to_fixed(magnitude, decimals);
        if let Some(last) = text.pop() {
            // JavaScript rounds a tie up; Rust to the even digit. Up to an
            // odd digit means the even one is one below: no carry to ripple.
            let odd = (last as u8) % 2 == 1;
            text.push(if odd && is_tie(magnitude, decimals) {
                char::from(last as u8 - 1)
            } else {
                last
            });
        }
        format!("{sign}{text}")
    }

    /// The shortest digits of `x` from JavaScript's `String(x)`, or Rust's
    /// spelling of `x` when it has none (infinity, NaN).
    pub(super) fn digits(x: f64) -> Result<Digits, String> {
        if let Some(word) = non_finite(x) {
            return Err(word.to_owned());
        }
        let text = Number::from(x)
            .to_string_with_radix(10)
            .map_or_else(|_| String::new(), |s: JsString| String::from(s));
        let mut digits = Digits::parse(&text).ok_or(text)?;
        // `String(-0)` is "0": the sign comes from the double itself.
        digits.negative = x.is_sign_negative();
        Ok(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Doubles of every kind: small, large, integers, exact binary
    /// fractions, ties, and values around the exponent-form thresholds.
    fn samples() -> Vec<f64> {
        let mut values = vec![
            0.0, -0.0, 0.1, 0.25, 0.35, 2.5, -2.5, 0.125, 1.0005, 0.0625, 1e-6, 1e-7, 9.99e-7,
            1e15, 1e20, 1e21, 1.5e300, 5e-324, 123.456, -0.01, 1.0, 42.0, 3.0e-10,
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            // xorshift: a fixed, reproducible spread of bit patterns.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() {
                values.push(x);
            }
            values.push((state % 100_000) as f64 / 64.0);
            values.push((state % 1_000_000) as f64 / 1000.0);
        }
        values
    }

    #[test]
    fn digits_laid_out_as_decimals_read_like_rusts_display() {
        for x in samples() {
            let digits = Digits::parse(&format!("{x:e}")).expect("Rust's {:e} parses");
            assert_eq!(digits.decimal(), format!("{x}"), "{x:e}");
            assert_eq!(digits.exponent(), format!("{x:e}"), "{x:e}");
        }
    }

    #[test]
    fn javascripts_spellings_parse_to_the_same_digits() {
        let cases = [
            ("1.5e+300", "1.5e300"),
            ("1e-7", "1e-7"),
            ("0.000001", "1e-6"),
            ("123.45", "1.2345e2"),
            ("-1500", "-1.5e3"),
            ("0", "0e0"),
            ("1e+21", "1e21"),
        ];
        for (javascript, rust) in cases {
            assert_eq!(
                Digits::parse(javascript),
                Digits::parse(rust),
                "{javascript}"
            );
        }
        assert_eq!(Digits::parse("Infinity"), None);
        assert_eq!(Digits::parse("1.2.3"), None);
    }

    #[test]
    fn a_tie_is_exactly_halfway_in_the_exact_decimal_expansion() {
        for x in samples() {
            let magnitude = x.abs();
            // Rust prints a double's exact expansion when asked for enough
            // places; every double has fewer than 1100.
            let exact = format!("{magnitude:.1100}");
            let (_, fraction) = exact.split_once('.').unwrap();
            for decimals in 0..5u8 {
                let after = &fraction[usize::from(decimals)..];
                let halfway = after.starts_with('5') && after[1..].bytes().all(|b| b == b'0');
                assert_eq!(is_tie(magnitude, decimals), halfway, "{x} to {decimals}");
            }
        }
    }

    #[test]
    fn the_syntax_check_accepts_exactly_what_rust_parses() {
        let mut texts: Vec<String> = [
            "",
            "+",
            "-",
            ".",
            "e5",
            ".e5",
            "5.",
            ".5",
            "+.5e-3",
            "1e",
            "1e+",
            "1E+5",
            "1.5.2",
            "1e5e5",
            " 1",
            "1 ",
            "0x10",
            "1_000",
            "Infinity",
            "-INF",
            "+infinity",
            "infinit",
            "NaN",
            "-nan",
            "nan1",
            "١",
            "--1",
            "+-1",
            "1e-400",
            "1e400",
            "00012.50",
        ]
        .map(String::from)
        .to_vec();
        // And every short text over the alphabet that makes numbers.
        let alphabet = ['1', '.', 'e', '-', '+', 'i', 'n', ' '];
        let mut frontier = vec![String::new()];
        for _ in 0..4 {
            frontier = frontier
                .iter()
                .flat_map(|t| alphabet.map(|c| format!("{t}{c}")))
                .collect();
            texts.extend(frontier.iter().cloned());
        }
        for text in texts {
            let rust = text.parse::<f64>().ok();
            let expected = rust.map(|x| {
                if x.is_nan() {
                    Syntax::NotANumber {
                        negative: x.is_sign_negative(),
                    }
                } else if x.is_infinite() && !text.to_lowercase().contains('e') {
                    Syntax::Infinity { negative: x < 0.0 }
                } else {
                    Syntax::Decimal
                }
            });
            assert_eq!(syntax(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn rust_rounds_ties_to_even_and_spells_the_odd_cases_its_own_way() {
        assert_eq!(fixed(0.25, 1), "0.2");
        assert_eq!(fixed(0.35, 1), "0.3");
        assert_eq!(fixed(2.5, 0), "2");
        assert_eq!(fixed(-0.0, 1), "-0.0");
        assert_eq!(fixed(f64::NAN, 2), "NaN");
        assert_eq!(fixed(f64::NEG_INFINITY, 0), "-inf");
        assert_eq!(shortest(-0.0), "-0");
        assert_eq!(exponent(0.0), "0e0");
        assert_eq!(non_finite(f64::INFINITY), Some("inf"));
        assert_eq!(non_finite(1.0), None);
    }
}
