//! Exporting each subgraph's SDL to `schema/<name>.graphql`. The committed files are the
//! input of supergraph composition, so a test compares them with what the code produces
//! and fails on drift.

use async_graphql::SDLExportOptions;

/// The Federation v2 SDL of the subgraph called `name`, as its `_service { sdl }` gives it.
pub fn sdl(name: &str) -> Option<String> {
    // The options async-graphql uses for `_service { sdl }`, so the files equal what
    // the running subgraph reports.
    let options = SDLExportOptions::new().federation().compose_directive();
    Some(match name {
        "programme" => kotohub_programme::schema_builder()
            .finish()
            .sdl_with_options(options),
        "employment" => kotohub_employment::schema_builder()
            .finish()
            .sdl_with_options(options),
        "education" => kotohub_education::schema_builder()
            .finish()
            .sdl_with_options(options),
        "social" => kotohub_social::schema_builder()
            .finish()
            .sdl_with_options(options),
        "culture" => kotohub_culture::schema_builder()
            .finish()
            .sdl_with_options(options),
        "partners" => kotohub_partners::schema_builder()
            .finish()
            .sdl_with_options(options),
        "audit" => kotohub_audit::graphql::schema_builder()
            .finish()
            .sdl_with_options(options),
        "queries" => kotohub_queries::graphql::schema_builder()
            .finish()
            .sdl_with_options(options),
        _ => return None,
    })
}

/// The file a subgraph's SDL is committed in, relative to the repository root.
pub fn file_name(name: &str) -> String {
    format!("{name}.graphql")
}
