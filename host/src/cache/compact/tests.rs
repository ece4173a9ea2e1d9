use super::*;

#[test]
fn every_index_entry_lies_in_its_hash_s_bucket() {
    for n in [0usize, 1, 2, 3, 100, 5_000] {
        // Hashes spread over the 31 bits, clustered, and at both ends.
        let mut index: Vec<(u32, u32)> = (0..n as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) & 0x7fff_ffff, i))
            .chain([(0, 0), (0x7fff_ffff, 1), (42, 2), (42, 3), (u32::MAX, 4)])
            .collect();
        index.sort_unstable();
        let buckets = Buckets::new(&index);
        for (at, e) in index.iter().enumerate() {
            assert!(buckets.range(e.0).contains(&at), "n={n}: {e:?} at {at}");
        }
        // The ranges cover the index once, in order.
        assert_eq!(buckets.starts.first(), Some(&0));
        assert_eq!(*buckets.starts.last().unwrap() as usize, index.len());
        assert!(buckets.starts.is_sorted());
    }
}

fn item(key: &str, files: &[&str]) -> Item {
    Item {
        rating_key: key.into(),
        title: key.into(),
        kind: ItemKind::Movie,
        section_id: 1,
        files: files.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn finds_every_holder_by_normalised_name() {
    let r = ResidentSnapshot::new(
        1,
        vec![
            item("1", &["/a/Amélie.mkv", "/b/Amélie.mkv"]),
            item("2", &["/c/AME\u{301}LIE.MKV"]),
            item("3", &["/d/other.mkv"]),
        ],
    );
    let keys: Vec<String> = r
        .items_named("amélie.mkv")
        .into_iter()
        .map(|i| i.rating_key)
        .collect();
    assert_eq!(keys, ["1", "2"], "each holder once");
    assert!(r.items_named("missing.mkv").is_empty());
}

#[test]
fn a_stored_copy_reads_back_as_the_same_items_and_a_damaged_one_not_at_all() {
    let mut items = vec![
        item(
            "10",
            &[
                "/data/movies/Amélie (2001)/Amélie (2001).mkv",
                "/data/movies/x/b.mkv",
            ],
        ),
        item("2", &["C:\\Films\\Heat\\Heat.mkv"]),
        item("abc", &[]),
    ];
    items[0].title = "Amélie (2001)".into();
    items[0].extras = Extras::new(Some(2001), &["imdb://tt0211915".into()], &[]);
    let r = ResidentSnapshot::new(42, items.clone());
    let bytes = r.to_bytes();
    let back = ResidentSnapshot::from_bytes(bytes.clone(), 1).expect("reads back");
    assert_eq!(back.version(), 42);
    assert_eq!(back.items().collect::<Vec<_>>(), items);
    assert_eq!(
        back.items_named("AMÉLIE (2001).MKV"),
        vec![items[0].clone()]
    );
    assert_eq!(back.items_named("heat.mkv"), vec![items[1].clone()]);
    assert!(
        ResidentSnapshot::from_bytes(bytes.clone(), 2).is_none(),
        "another section"
    );
    for at in [0, bytes.len() / 2, bytes.len() - 20, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x40;
        assert!(
            ResidentSnapshot::from_bytes(damaged, 1).is_none(),
            "byte {at} flipped"
        );
    }
    for len in [0, 7, bytes.len() - 1] {
        assert!(
            ResidentSnapshot::from_bytes(bytes[..len].to_vec(), 1).is_none(),
            "cut to {len}"
        );
    }
}
