//! The custom property values, read with nom: one module per grammar, the
//! shared set syntax, and how a refused value is reported.
//!
//! Each parser has its rule above it, in a small EBNF: `:=` defines a rule,
//! `|` separates choices, `?`, `*` and `+` mean optional, any number and one
//! or more, `"x"` is literal text and `EOF` the end of the value. Indented
//! lines under a rule say what it notes beyond the syntax: problems of
//! meaning, collected in `Notes` while parsing goes on, so that a syntax
//! error anywhere in the value wins.

pub mod affinity;
pub mod cputune;
pub mod emulatorpin;
pub mod guestnuma;
pub mod iothreadpin;
pub mod numatune;
pub mod one_to_one;
pub mod problem;
pub mod regex;
pub mod sets;
pub mod switch;
pub mod vcpupin;
