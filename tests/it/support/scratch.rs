//! A directory of one test's own files: emptied when made, removed when
//! the test ends, a failing one's too.

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// `mailvet-NAME-PID` under the system's temporary directory.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// The directory for the test `name` (unique among the tests), made
    /// empty.
    pub fn new(name: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!("mailvet-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        ScratchDir(dir)
    }
}

impl Deref for ScratchDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
