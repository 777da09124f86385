//! Shared secrets the embedded default makes for itself: the key development tokens are
//! signed with and the key the gateway signs forwarded principals with. Production sets
//! both in its configuration; a single machine keeps them in files under its data
//! directory, readable by the owner only, so that `kotohub token` and `kotohub serve`
//! agree on them across restarts.

use std::io::Write;
use std::path::Path;

/// Bytes of a generated key: 256 bits, as HS256 wants.
const KEY_BYTES: usize = 32;

/// The key stored at `path`, creating it with fresh random bytes if the file is missing.
pub fn load_or_create(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim().to_owned();
            if key.len() < KEY_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{} holds a key shorter than {KEY_BYTES} characters",
                        path.display()
                    ),
                ));
            }
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let key = random_key()?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut file) => {
                    file.write_all(key.as_bytes())?;
                    file.write_all(b"\n")?;
                    Ok(key)
                }
                // Another process made it first: use theirs.
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    load_or_create(path)
                }
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// A fresh random key, hex-encoded.
pub fn random_key() -> std::io::Result<String> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_read_back_and_private() {
        let dir = std::env::temp_dir().join(format!("kotohub-keys-{}", std::process::id()));
        let path = dir.join("k.key");
        let _ = std::fs::remove_file(&path);
        let made = load_or_create(&path).unwrap();
        assert_eq!(made.len(), 2 * KEY_BYTES);
        assert_eq!(load_or_create(&path).unwrap(), made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key file is readable by others");
        }
        assert_ne!(random_key().unwrap(), made);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_short_key_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("kotohub-keys-short-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.key");
        std::fs::write(&path, "short\n").unwrap();
        assert!(load_or_create(&path).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
