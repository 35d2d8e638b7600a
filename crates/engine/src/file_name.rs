//! Text made safe as part of a file name (artifact files, deliverable names).

/// `text` reduced to letters, digits, `-` and `_` (`node` for empty
/// text), safe as part of a file name: never a path, never hidden.
pub fn file_part(text: &str) -> String {
    let part: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    if part.is_empty() {
        "node".to_owned()
    } else {
        part
    }
}

#[cfg(test)]
mod tests {
    use super::file_part;

    #[test]
    fn names_and_ids_become_single_file_name_parts() {
        assert_eq!(file_part("Turntable 36 frames"), "Turntable_36_frames");
        assert_eq!(file_part("../etc/passwd"), "___etc_passwd");
        assert_eq!(file_part("line-7_b"), "line-7_b");
        assert_eq!(file_part(""), "node");
        assert_eq!(file_part(&"x".repeat(200)).len(), 80);
    }
}
