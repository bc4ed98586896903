//! The custom property values, read with nom: one module per grammar, the
//! shared set syntax, and how a refused value is reported.

pub mod affinity;
pub mod cputune;
pub mod emulatorpin;
pub mod guestnuma;
pub mod iothreadpin;
pub mod numatune;
pub mod problem;
pub mod regex;
pub mod sets;
pub mod switch;
