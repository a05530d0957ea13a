//! What a device is doing, shown as it happens: the progress line of its
//! span on a terminal, a debug log line otherwise. Its own file so the
//! session steps ([`super::sync`], [`super::tasks`]) and the device run in
//! `device/mod.rs` share it without importing each other.

/// Show `text` as the device's current step.
pub fn phase(text: &str) {
    use tracing_indicatif::span_ext::IndicatifSpanExt;
    tracing::Span::current().pb_set_message(text);
    tracing::debug!("{text}");
}
