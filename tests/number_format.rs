//! The page's number formatting in a real browser (headless Chromium,
//! through `wasm-bindgen-test-runner`): `number_format` asks JavaScript for
//! the digits there, and must print exactly what `format!` prints — ties,
//! negative zero, infinity and the exponent-form thresholds included — and
//! read exactly what `str::parse` reads.
//! Natively this file compiles to nothing (there both sides are Rust's).
//!
//! Run: `cargo test -p rpc-lab --target wasm32-unknown-unknown --test number_format`

#![cfg(target_arch = "wasm32")]

use rpc_lab::number_format::{exponent, fixed, parse, shortest};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Doubles of every kind: ties, exact binary fractions, milliseconds as
/// `performance.now()` gives them, and a reproducible spread of bit patterns.
fn samples() -> Vec<f64> {
    let mut values = vec![
        0.0,
        -0.0,
        0.1,
        0.25,
        -0.25,
        0.35,
        0.5,
        1.5,
        2.5,
        -2.5,
        0.125,
        1.0005,
        0.0625,
        -0.01,
        1e-6,
        9.99e-7,
        1e-7,
        1e15,
        1e20,
        1e21,
        5e-324,
        123.456,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        values.push(f64::from_bits(state));
        values.push((state % 100_000) as f64 / 64.0);
        values.push((state % 10_000_000) as f64 / 1000.0 - 5000.0);
    }
    values
}

#[wasm_bindgen_test]
fn fixed_prints_what_format_prints_below_ten_to_the_21() {
    for x in samples()
        .into_iter()
        .filter(|x| x.is_nan() || x.abs() < 1e21)
    {
        for decimals in 0..5u8 {
            let rust = format!("{x:.*}", usize::from(decimals));
            assert_eq!(fixed(x, decimals), rust, "{x:e} to {decimals} places");
        }
    }
}

#[wasm_bindgen_test]
fn shortest_and_exponent_print_what_format_prints() {
    for x in samples() {
        assert_eq!(shortest(x), format!("{x}"), "{x:e}");
        assert_eq!(exponent(x), format!("{x:e}"), "{x:e}");
    }
}

#[wasm_bindgen_test]
fn parse_reads_what_rust_reads_bit_for_bit() {
    let mut texts: Vec<String> = [
        "",
        " 1",
        "1 ",
        "0x10",
        "1_000",
        "+",
        ".",
        "e5",
        "5.",
        ".5",
        "+.5e-3",
        "1E+5",
        "1e",
        "-0",
        "Infinity",
        "-INF",
        "+infinity",
        "NaN",
        "-nan",
        "1e-400",
        "1e400",
        "00012.50",
        "2.2250738585072011e-308",
        "9007199254740993",
        "0.1000000000000000055511151231257827",
    ]
    .map(String::from)
    .to_vec();
    for x in samples() {
        texts.push(format!("{x}"));
        texts.push(format!("{x:e}"));
        texts.push(format!("{x:.3}"));
    }
    for text in texts {
        let ours = parse(&text).map(f64::to_bits);
        let rust = text.parse::<f64>().ok().map(f64::to_bits);
        assert_eq!(ours, rust, "{text:?}");
    }
}
