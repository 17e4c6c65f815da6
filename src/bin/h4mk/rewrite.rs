//! Where a command that rewrites a file (repair, sign) writes: `-o OUT`, or beside the input
//! first and then renamed over it with `--in-place`.

use std::fs::File;
use std::path::{Path, PathBuf};

pub struct Rewrite {
    input: PathBuf,
    dest: PathBuf,
    in_place: bool,
}

impl Rewrite {
    /// The destination for `input`; `suffix` names the temporary file of `--in-place`.
    pub fn new(
        input: &Path,
        output: Option<&Path>,
        in_place: bool,
        suffix: &str,
    ) -> Result<Rewrite, Box<dyn std::error::Error>> {
        let dest = match output {
            Some(p) => p.to_path_buf(),
            None => {
                let mut name = input.file_name().unwrap_or_default().to_os_string();
                name.push(suffix);
                input.with_file_name(name)
            }
        };
        if dest == input {
            return Err(
                "the output must differ from the input; use --in-place to replace it".into(),
            );
        }
        Ok(Rewrite {
            input: input.to_path_buf(),
            dest,
            in_place,
        })
    }

    pub fn create(&self) -> Result<File, Box<dyn std::error::Error>> {
        File::create(&self.dest)
            .map_err(|e| format!("cannot create {}: {e}", self.dest.display()).into())
    }

    /// Removes what was written after a failure.
    pub fn abandon(&self) {
        let _ = std::fs::remove_file(&self.dest);
    }

    /// Syncs the written file and, with `--in-place`, renames it over the input; returns the
    /// path of the result.
    pub fn commit(&self, file: File) -> Result<&Path, Box<dyn std::error::Error>> {
        file.sync_all()?;
        if self.in_place {
            std::fs::rename(&self.dest, &self.input)?;
            return Ok(&self.input);
        }
        Ok(&self.dest)
    }
}
