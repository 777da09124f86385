//! Persisted operations: documents registered ahead of time, which clients send by the
//! SHA-256 of their text instead of the text itself, and which safelist mode lets
//! through. They are read from a manifest in Apollo's format
//! (`{"operations": [{"id": "<sha256 hex of body>", "body": "query …"}]}`); an id that is
//! not the hash of its body is refused at start, so an id always names its text.

use std::collections::HashMap;

use serde::Deserialize;

#[derive(Deserialize)]
struct Manifest {
    operations: Vec<Operation>,
}

#[derive(Deserialize)]
struct Operation {
    id: String,
    body: String,
}

/// The operations of a manifest, document by id; `Err` says what is wrong with it.
pub fn from_manifest(text: &str) -> Result<HashMap<String, String>, String> {
    let manifest: Manifest = serde_json::from_str(text)
        .map_err(|e| format!("the persisted-operation manifest is not valid: {e}"))?;
    let mut operations = HashMap::new();
    for operation in manifest.operations {
        let id = operation.id.to_ascii_lowercase();
        let hash = crate::audit::sha256_hex(operation.body.as_bytes());
        if id != hash {
            return Err(format!(
                "the persisted operation {id} is not the SHA-256 of its body ({hash})"
            ));
        }
        operations.insert(id, operation.body);
    }
    Ok(operations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_the_hash_of_their_body() {
        let body = "{ themes { id } }";
        let id = crate::audit::sha256_hex(body.as_bytes());
        let good = serde_json::json!({ "operations": [{ "id": id, "body": body }] });
        let parsed = from_manifest(&good.to_string()).expect("a valid manifest");
        assert_eq!(parsed.get(&id).map(String::as_str), Some(body));
        let bad = serde_json::json!({ "operations": [{ "id": "00", "body": body }] });
        assert!(from_manifest(&bad.to_string()).is_err());
        assert!(from_manifest("not json").is_err());
    }
}
