//! Split names (`train`, `val`, `test`): they become file names, so they are checked up front.

use pipeline_api::ParamError;

/// Refuses an empty list, repeats, and names that are not plain file stems.
pub fn check(splits: &[String]) -> Result<(), ParamError> {
    if splits.is_empty() {
        return Err(ParamError::new(
            "splits",
            "name at least one split, e.g. [\"train\"]",
        ));
    }
    for (index, split) in splits.iter().enumerate() {
        let plain = !split.is_empty()
            && split
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && !split.starts_with('.');
        if !plain {
            return Err(ParamError::new(
                format!("splits[{index}]"),
                format!("`{split}` is not a plain name (letters, digits, `_`, `-`, `.`)"),
            ));
        }
        if splits[..index].contains(split) {
            return Err(ParamError::new(
                format!("splits[{index}]"),
                format!("`{split}` is listed twice"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_plain_names_only() {
        assert!(check(&names(&["train", "val", "test_2"])).is_ok());
        assert_eq!(check(&[]).unwrap_err().path, "splits");
        assert_eq!(
            check(&names(&["train", "../x"])).unwrap_err().path,
            "splits[1]"
        );
        assert_eq!(
            check(&names(&["train", "train"])).unwrap_err().path,
            "splits[1]"
        );
        assert!(check(&names(&[".hidden"])).is_err());
    }
}
