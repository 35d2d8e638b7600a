//! Preferences kept between runs (through eframe's storage): which server to talk to and the
//! theme. Panel sizes and other widget state persist through egui's own memory. The remote
//! token is not among them: eframe's storage is a plain file any local user may read, so the
//! token lives in its own file, readable by its owner only ([`TokenFile`]).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Theme {
    #[default]
    Dark,
    Light,
    /// Follow the operating system.
    System,
}

impl Theme {
    pub fn preference(self) -> egui::ThemePreference {
        match self {
            Theme::Dark => egui::ThemePreference::Dark,
            Theme::Light => egui::ThemePreference::Light,
            Theme::System => egui::ThemePreference::System,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Talk to `server_url` instead of the embedded server.
    pub use_remote: bool,
    pub server_url: String,
    /// Never written with the other settings: see [`TokenFile`].
    #[serde(skip)]
    pub token: String,
    /// A PEM CA certificate to trust for an https server besides the system's roots
    /// (empty: the system's roots only).
    pub ca_cert: String,
    pub theme: Theme,
    /// Where the token is kept (None: not kept, e.g. in tests).
    #[serde(skip)]
    pub token_file: Option<PathBuf>,
}

impl Settings {
    /// The CA certificate path, when one is set.
    pub fn ca_cert_path(&self) -> Option<PathBuf> {
        let text = self.ca_cert.trim();
        (!text.is_empty()).then(|| PathBuf::from(text))
    }
}

pub const STORAGE_KEY: &str = "workflow-studio.settings";

/// Environment variable that gives the app its remote token.
pub const TOKEN_ENV: &str = "WORKFLOW_TOKEN";

#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read the token file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the token file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the token file {0} is empty")]
    Empty(PathBuf),
}

/// A file holding one bearer token, created readable and writable by its owner only (0600).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFile {
    pub path: PathBuf,
}

impl TokenFile {
    /// `token` in the platform config directory (e.g. `~/.config/workflow-studio/token`).
    pub fn in_config_dir(dirs: &directories::ProjectDirs) -> Self {
        TokenFile {
            path: dirs.config_dir().join("token"),
        }
    }

    /// The stored token; None when there is no file yet.
    pub fn load(&self) -> Result<Option<String>, TokenFileError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Some(text.trim().to_owned()).filter(|t| !t.is_empty())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TokenFileError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Replaces the stored token (an empty one removes the file). The new file is written
    /// beside the old with mode 0600 and renamed over it, so the token is never readable by
    /// others, not even for a moment.
    pub fn save(&self, token: &str) -> Result<(), TokenFileError> {
        let write_err = |source| TokenFileError::Write {
            path: self.path.clone(),
            source,
        };
        if token.trim().is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(write_err(err)),
                _ => Ok(()),
            };
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(write_err)?;
        let temp = dir.join(format!(".token.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&temp).and_then(|mut file| {
            use std::io::Write as _;
            // A file left from a crash may have other bits: set them, whatever it had.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
            file.write_all(token.trim().as_bytes())?;
            file.sync_all()
        });
        let renamed = written.and_then(|()| std::fs::rename(&temp, &self.path));
        if let Err(err) = renamed {
            let _ = std::fs::remove_file(&temp);
            return Err(write_err(err));
        }
        Ok(())
    }

    /// A token from a file the user names (`--token-file`): its first line, trimmed.
    pub fn read_given(path: &Path) -> Result<String, TokenFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        text.lines()
            .next()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| TokenFileError::Empty(path.to_path_buf()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_not_in_the_saved_settings() {
        let settings = Settings {
            use_remote: true,
            server_url: "https://studio:8470".into(),
            token: "wst_secret".into(),
            ca_cert: "/etc/studio-ca.pem".into(),
            ..Settings::default()
        };
        let saved = serde_json::to_string(&settings).expect("json");
        assert!(!saved.contains("wst_secret"), "{saved}");
        let back: Settings = serde_json::from_str(&saved).expect("json");
        assert_eq!(back.token, "");
        assert_eq!(
            back.ca_cert_path(),
            Some(PathBuf::from("/etc/studio-ca.pem"))
        );
        // Settings saved before the token moved out still load (the old token is dropped).
        let old: Settings =
            serde_json::from_str(r#"{"use_remote":true,"server_url":"u","token":"t"}"#)
                .expect("old settings");
        assert_eq!(old.token, "");
    }

    #[test]
    fn the_token_file_is_private_and_replaced_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let file = TokenFile {
            path: dir.path().join("config").join("token"),
        };
        assert_eq!(file.load().expect("load"), None);
        file.save("wst_one\n").expect("save");
        assert_eq!(file.load().expect("load").as_deref(), Some("wst_one"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file.path)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
            // Loosened by hand: the next save makes it private again.
            std::fs::set_permissions(&file.path, std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
            file.save("wst_two").expect("save");
            let mode = std::fs::metadata(&file.path)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
        assert_eq!(file.load().expect("load").as_deref(), Some("wst_two"));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("config"))
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
        file.save("").expect("clear");
        assert_eq!(file.load().expect("load"), None);

        let given = dir.path().join("given");
        std::fs::write(&given, "  wst_given  \nignored\n").expect("write");
        assert_eq!(TokenFile::read_given(&given).expect("read"), "wst_given");
        std::fs::write(&given, "\n").expect("write");
        assert!(matches!(
            TokenFile::read_given(&given),
            Err(TokenFileError::Empty(_))
        ));
        let err = TokenFile::read_given(&dir.path().join("missing")).expect_err("missing");
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
