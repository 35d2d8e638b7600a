use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The kind of work a graph does. Every node definition lists the families it may appear in
/// and every graph declares exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Uploaded CAD files turned into previewable geometry.
    CadFile,
    /// Order lines turned into rendered deliverables.
    OrderLine,
}

impl Family {
    pub const ALL: [Family; 2] = [Family::CadFile, Family::OrderLine];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::CadFile => "cad_file",
            Family::OrderLine => "order_line",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown family '{0}': expected one of cad_file, order_line")]
pub struct UnknownFamily(pub String);

impl FromStr for Family {
    type Err = UnknownFamily;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Family::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFamily(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for f in Family::ALL {
            assert_eq!(f.as_str().parse::<Family>(), Ok(f));
        }
        let err = "cad".parse::<Family>().expect_err("cad is not a family");
        assert!(err.to_string().contains("cad_file, order_line"));
    }
}
