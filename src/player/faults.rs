//! Fault injection, in test builds only: a command sent by the device [`PANICKING_SENDER`]
//! panics inside [`Session::apply`](super::Session::apply) after it changed the session and
//! before `seq` moves, leaving the session half-applied, as a bug would. The supervision tests
//! use it to check that such a panic answers `INTERNAL`, brings the session back from its last
//! committed state and touches no other user.

/// The device id whose commands panic.
pub const PANICKING_SENDER: &str = "fault.panic";

/// Panics when `sender` is [`PANICKING_SENDER`].
pub fn after_change(sender: Option<&str>) {
    if sender == Some(PANICKING_SENDER) {
        panic!("a fault injected by a test");
    }
}
