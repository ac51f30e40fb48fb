//! Progress lines for long CLI runs. The AWS edges are handed a [`Progress`] and say what they
//! are doing; on a terminal that shows, everywhere else (Lambda, pipes, tests) it is silent.

use std::fmt;

/// Something an edge can tell how far it got.
pub trait Progress: fmt::Debug + Send + Sync {
    fn say(&self, message: fmt::Arguments<'_>);
    /// Clears what `say` showed.
    fn done(&self) {}
}

/// Says nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn say(&self, _: fmt::Arguments<'_>) {}
}

/// One line on standard error, rewritten in place.
#[derive(Clone, Copy, Debug, Default)]
pub struct Terminal;

impl Progress for Terminal {
    fn say(&self, message: fmt::Arguments<'_>) {
        eprint!("\r\x1b[2K{message}");
    }

    fn done(&self) {
        eprint!("\r\x1b[2K");
    }
}
