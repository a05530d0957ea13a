//! One router over SSH: connect, authenticate, enter enable, read the
//! groups, push the changes and verify them. [`ios`] holds the IOS dialect
//! (commands and parsers of real output).

pub mod ios;
