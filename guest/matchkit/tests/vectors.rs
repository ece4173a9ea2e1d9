//! The Rust helpers against the SDK test vectors that the Python and JavaScript helpers
//! are checked against too (guest/vectors/helpers.json).

use plexmatch_matchkit::{file_name, has_file_named, name_key, parent_name, title_variants};
use serde_json::Value;

#[test]
fn helpers_agree_with_the_shared_vectors() {
    let text = include_str!("../../vectors/helpers.json");
    let vectors: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
    let mut failed = Vec::new();
    let mut checked = 0;
    for (helper, rows) in &vectors {
        if helper == "about" {
            continue;
        }
        for row in rows.as_array().unwrap() {
            let (given, expected) = (&row[0], &row[1]);
            let text = || given.as_str().unwrap();
            let got: Value = match helper.as_str() {
                "file_name" => file_name(text()).into(),
                "parent_name" => parent_name(text()).into(),
                "name_key" => name_key(text()).into(),
                "title_variants" => title_variants(text()).into(),
                "has_file_named" => {
                    let files: Vec<&str> = given["files"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| f.as_str().unwrap())
                        .collect();
                    has_file_named(&files, given["key"].as_str().unwrap()).into()
                }
                "decide_by_path" => {
                    let strings = |v: &Value| -> Vec<String> {
                        v.as_array()
                            .unwrap()
                            .iter()
                            .map(|s| s.as_str().unwrap().to_owned())
                            .collect()
                    };
                    let holders: Vec<Vec<String>> = given["holders"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(strings)
                        .collect();
                    let refs: Vec<&[String]> = holders.iter().map(Vec::as_slice).collect();
                    let rewrites: Vec<(String, String)> = given["rewrites"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| {
                            let r = strings(r);
                            (r[0].clone(), r[1].clone())
                        })
                        .collect();
                    let path = given["path"].as_str().unwrap();
                    match plexmatch_matchkit::paths::decide_by_path(path, &refs, &rewrites) {
                        Some((i, rule)) => serde_json::json!([i, rule.to_string()]),
                        None => Value::Null,
                    }
                }
                other => panic!("no helper {other} in the Rust SDK"),
            };
            checked += 1;
            if &got != expected {
                failed.push(format!("{helper}({given}) = {got}, expected {expected}"));
            }
        }
    }
    assert!(checked > 40, "only {checked} vectors");
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
