//! Which sections to match against: the user's selectors (ids or titles), or every
//! movie and show section.

use anyhow::{Result, bail};

use crate::plex::{Section, SectionKind};

/// Resolves selectors against the server's sections. A selector is a section id or a
/// title (case-insensitive, trimmed). No selector means every movie and show section.
pub fn resolve(selectors: &[String], all: &[Section]) -> Result<Vec<Section>> {
    if selectors.is_empty() {
        let chosen: Vec<Section> = all
            .iter()
            .filter(|s| matches!(s.kind, SectionKind::Movie | SectionKind::Show))
            .cloned()
            .collect();
        if chosen.is_empty() {
            bail!("the Plex server has no movie or show section to match against");
        }
        return Ok(chosen);
    }
    let mut out: Vec<Section> = Vec::new();
    for sel in selectors {
        let wanted = sel.trim();
        let by_id: Vec<&Section> = match wanted.parse::<u32>() {
            Ok(id) => all.iter().filter(|s| s.id == id).collect(),
            Err(_) => Vec::new(),
        };
        let hits: Vec<&Section> = if by_id.is_empty() {
            all.iter()
                .filter(|s| {
                    s.title.trim().eq_ignore_ascii_case(wanted)
                        || s.title.trim().to_lowercase() == wanted.to_lowercase()
                })
                .collect()
        } else {
            by_id
        };
        match hits.as_slice() {
            [] => bail!(
                "no library section is called or numbered {sel:?}; known sections: {}",
                describe(all)
            ),
            [one] => {
                if !out.iter().any(|s| s.id == one.id) {
                    out.push((*one).clone());
                }
            }
            many => bail!(
                "{sel:?} names several sections ({}); choose one by id",
                many.iter()
                    .map(|s| format!("{} = {:?}", s.id, s.title))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(out)
}

fn describe(all: &[Section]) -> String {
    all.iter()
        .map(|s| format!("{} {:?} ({})", s.id, s.title, s.kind.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: u32, title: &str, kind: SectionKind) -> Section {
        Section {
            id,
            uuid: String::new(),
            title: title.into(),
            kind,
        }
    }

    #[test]
    fn selectors_resolve_by_id_or_title() {
        let all = vec![
            s(1, "Movies", SectionKind::Movie),
            s(2, "TV", SectionKind::Show),
            s(3, "Music", SectionKind::Artist),
        ];
        assert_eq!(
            resolve(&[], &all)
                .unwrap()
                .iter()
                .map(|s| s.id)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(resolve(&["movies ".into()], &all).unwrap()[0].id, 1);
        assert_eq!(resolve(&["2".into(), "TV".into()], &all).unwrap().len(), 1);
        let err = resolve(&["Films".into()], &all).unwrap_err().to_string();
        assert!(
            err.contains("\"Films\"") && err.contains("1 \"Movies\""),
            "{err}"
        );
        let dup = vec![
            s(1, "Movies", SectionKind::Movie),
            s(4, "Movies", SectionKind::Movie),
        ];
        assert!(
            resolve(&["Movies".into()], &dup)
                .unwrap_err()
                .to_string()
                .contains("choose one by id")
        );
    }
}
