//! What the report types' schema derives cannot say alone: the patterns of
//! timestamps and digests, and the rules tying a device's `status` to its
//! `error` and `reason`. Used by the derives in [`super`]; kept apart from
//! [`super::schema`] (which generates from [`super::json`]) so no file of
//! `report` imports one that imports it back.

use schemars::Schema;
use serde_json::json;

/// `started_at`: RFC 3339, UTC, millisecond precision or none.
pub const RFC3339_UTC: &str =
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$";

/// `snapshot_sha256`: a sha256 in lowercase hex.
pub const SHA256: &str = "^[0-9a-f]{64}$";

/// A change set's digest (the keys of `change_sets`, a group's `change_set`).
pub const CHANGE_SET_DIGEST: &str = "^sha256:[0-9a-f]{64}$";

/// A `failed` device carries an `error` and no `reason`, a `skipped` one a
/// `reason` and no `error`, any other neither (see `DeviceReport::failed`
/// and `DeviceReport::skipped`).
pub fn device_rules(schema: &mut Schema) {
    let rule = |status: &str, field: &str, then: serde_json::Value| {
        json!({
            "if": { "properties": { "status": { "const": status } } },
            "then": { "properties": { field: then } },
            "else": { "properties": { field: { "type": "null" } } },
        })
    };
    schema.insert(
        "allOf".into(),
        json!([
            rule("failed", "error", json!({ "type": "object" })),
            rule("skipped", "reason", json!({ "type": "string" })),
        ]),
    );
}
