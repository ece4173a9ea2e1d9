//! Deterministic generated libraries, for benchmarks and large tests.
//!
//! `generate(n, seed)` gives one movie section ("Movies", id 1) of `n` movies whose file
//! names mix the shapes real libraries have: plain `Title (Year).ext`, quality suffixes
//! (`Title (Year) - 1080p BluRay.mkv`), dated scene names (`Title - 2024-01-15.mp4` in a
//! `Studio/Title - date/` folder) and, for about 2% of items, a file name that another
//! item in a different folder also has (a duplicate).

use crate::library::{FileSpec, ItemSpec, LibraryFile, SectionSpec, SectionType};

const WORDS: &[&str] = &[
    "Silent",
    "River",
    "Crimson",
    "Harbor",
    "Echo",
    "Winter",
    "Golden",
    "Shadow",
    "Last",
    "Light",
    "Iron",
    "Garden",
    "Broken",
    "Signal",
    "Midnight",
    "Orchard",
    "Glass",
    "Empire",
    "Wild",
    "Coast",
    "Paper",
    "Moon",
    "Hidden",
    "Valley",
    "Burning",
    "Bridge",
    "Quiet",
    "Storm",
    "Velvet",
    "Road",
    "Northern",
    "Star",
    "Falling",
    "Tide",
    "Electric",
    "Dream",
    "Lost",
    "Horizon",
    "Copper",
    "Sky",
    "Adventure",
    "Time",
    "Good",
    "Vibes",
    "Kids",
    "Dark",
    "Water",
    "Summer",
    "Fire",
    "Stone",
];
const QUALITIES: &[&str] = &[
    "1080p",
    "2160p",
    "720p",
    "1080p BluRay",
    "WEB-DL 1080p",
    "4K HDR",
    "BluRay 2160p DV",
];
const STUDIOS: &[&str] = &[
    "Northlight",
    "Bright Alley",
    "Tin Roof",
    "Parallax",
    "Open Gate",
];
const EXTS: &[&str] = &["mkv", "mp4", "avi"];

/// splitmix64: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A generated library of `n` movies; the same `(n, seed)` always gives the same library.
pub fn generate(n: usize, seed: u64) -> LibraryFile {
    let mut rng = Rng(seed ^ 0x005E_ED0F_91E7);
    let mut items: Vec<ItemSpec> = Vec::with_capacity(n);
    for i in 0..n {
        let words = 2 + rng.below(3);
        let mut title: Vec<&str> = (0..words).map(|_| rng.pick(WORDS)).collect();
        title.dedup();
        // A serial number keeps titles distinct in large libraries, as real ones mostly are.
        let title = format!("{} {}", title.join(" "), serial(i));
        let year = 1960 + rng.below(66) as u32;
        let ext = rng.pick(EXTS);
        let path = match rng.below(10) {
            0..=3 => format!("/data/movies/{title} ({year})/{title} ({year}).{ext}"),
            4..=7 => {
                let q = rng.pick(QUALITIES);
                format!("/data/movies/{title} ({year})/{title} ({year}) - {q}.{ext}")
            }
            _ => {
                let studio = rng.pick(STUDIOS);
                let date = format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28));
                format!("/data/scenes/{studio}/{title} - {date}/{title} - {date}.{ext}")
            }
        };
        items.push(ItemSpec {
            rating_key: Some(1000 + i as u64),
            title,
            year: Some(year),
            show: None,
            season: None,
            episode: None,
            files: vec![FileSpec::Single(path)],
            guids: Vec::new(),
        });
    }
    // Duplicates: every 50th item gets a second item with the same file name elsewhere.
    let dup_count = n / 50;
    for d in 0..dup_count {
        let original = &items[d * 50];
        let FileSpec::Single(path) = &original.files[0] else {
            continue;
        };
        let name = path.rsplit('/').next().unwrap_or(path).to_owned();
        let title = format!("{} (copy)", original.title);
        items.push(ItemSpec {
            rating_key: Some(1000 + n as u64 + d as u64),
            title,
            year: original.year,
            show: None,
            season: None,
            episode: None,
            files: vec![FileSpec::Single(format!("/data/archive/{d:05}/{name}"))],
            guids: Vec::new(),
        });
    }
    LibraryFile {
        server_name: Some(format!(
            "plexmatch emulator (generated, {n} items, seed {seed})"
        )),
        machine_id: Some(format!("9e4e{n:018x}{seed:018x}")),
        sections: vec![SectionSpec {
            id: 1,
            title: "Movies".into(),
            kind: SectionType::Movie,
            uuid: None,
            locations: vec!["/data/movies".into(), "/data/scenes".into()],
            items,
        }],
    }
}

/// A short base-36 serial for titles.
fn serial(mut i: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut s = Vec::new();
    loop {
        s.push(DIGITS[i % 36]);
        i /= 36;
        if i == 0 {
            break;
        }
    }
    s.reverse();
    format!("#{}", String::from_utf8(s).expect("ascii"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let a = generate(500, 7);
        let b = generate(500, 7);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert_eq!(a.sections[0].items.len(), 510);
        assert_ne!(
            serde_json::to_string(&generate(500, 8)).unwrap(),
            serde_json::to_string(&a).unwrap()
        );
    }
}
