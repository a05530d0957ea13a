//! `schemas/report.schema.json`, generated from the report types (what their
//! derives cannot say alone is in [`super::schema_rules`]): the generation
//! itself ([`generate`]), and the test that fails while the checked-in file
//! is not what the types generate.

/// Where the generated schema is kept, from the repository root.
pub const PATH: &str = "schemas/report.schema.json";

/// The JSON schema of a report file, as pretty-printed text ending in a
/// newline: what `schemas/report.schema.json` holds.
pub fn generate() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let schema = generator.into_root_schema_for::<super::json::Document>();
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checked-in schema is what the types generate: change a report
    /// type, then regenerate it with `UPDATE_SNAPSHOTS=1 cargo test --lib
    /// report::schema` and review the diff.
    #[test]
    fn the_checked_in_schema_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(PATH);
        let generated = generate();
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "{PATH} is not what the report types generate; regenerate it with \
             `UPDATE_SNAPSHOTS=1 cargo test --lib report::schema` and review the diff"
        );
    }
}
