//! The committed subgraph SDLs are what the code produces: composition reads the files,
//! so a stale file would compose a supergraph the subgraphs do not serve. The same holds
//! for the list of indicators in `docs/indicators.md`.

use std::path::PathBuf;

#[test]
fn committed_sdl_matches_the_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema");
    for name in kotohub::ALL_SUBGRAPHS {
        let path = dir.join(kotohub::sdl::file_name(name));
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); run `cargo run -- sdl`",
                path.display()
            )
        });
        let produced = kotohub::sdl::sdl(name).unwrap();
        assert!(
            committed == produced,
            "{} is stale; run `cargo run -- sdl`",
            path.display()
        );
    }
}

#[test]
fn every_division_extends_the_shared_entities() {
    for name in ["employment", "education", "social", "culture"] {
        let sdl = kotohub::sdl::sdl(name).unwrap();
        assert!(sdl.contains("type Client @key(fields: \"id\")"), "{name}");
        assert!(sdl.contains("type Measure @key(fields: \"id\")"), "{name}");
        assert!(
            sdl.contains("type ResponsibleBody @key(fields: \"id\", resolvable: false)"),
            "{name}"
        );
    }
    let programme = kotohub::sdl::sdl("programme").unwrap();
    assert!(programme.contains("type ResponsibleBody @key(fields: \"id\")"));
}

#[test]
fn the_indicator_list_matches_the_catalog() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/indicators.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let catalog = kotohub_programme::catalog::Catalog::embedded().unwrap();
    let produced = kotohub_programme::indicator_values::catalog_markdown(&catalog);
    assert!(
        committed == produced,
        "{} is stale; run `cargo run -- indicators > docs/indicators.md`",
        path.display()
    );
    assert_eq!(
        produced.lines().filter(|l| l.starts_with("| ")).count(),
        83 + 1
    );
}
