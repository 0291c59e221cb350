//! `--help` of every binary names the related commands of the other
//! binaries and README sections that exist (issue 18, "the tools explain
//! themselves").

use std::process::Command;

use provlog_e2e::readme::readme;

/// The binaries a user runs, and the commands of the others each one's
/// help must mention.
const BINARIES: &[(&str, &[&str])] = &[
    ("provlog", &["provlog-server", "provlog-monitor"]),
    (
        "provlog-server",
        &[
            "provlog submit",
            "provlog-monitor init",
            "provlog-server init",
        ],
    ),
    (
        "provlog-monitor",
        &[
            "provlog verify-evidence",
            "provlog-server --witness",
            "provlog-monitor init",
        ],
    ),
];

#[test]
fn every_binary_help_names_the_related_commands_and_readme_sections() {
    let readme = readme();
    let headings: Vec<&str> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    for (bin, related) in BINARIES {
        let out = Command::new(provlog_e2e::bin(bin))
            .arg("--help")
            .output()
            .expect("run --help");
        assert!(out.status.success(), "{bin} --help: {out:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        // Line breaks in the help text are not meaningful.
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for r in *related {
            assert!(flat.contains(r), "{bin} --help mentions `{r}`:\n{help}");
        }
        // `README.md: "Section", "Other section"`: each is a heading.
        let cited = flat
            .split_once("README.md:")
            .unwrap_or_else(|| panic!("{bin} --help names README sections:\n{help}"))
            .1;
        let sections: Vec<&str> = cited
            .split('"')
            .skip(1)
            .step_by(2)
            .take_while(|s| !s.is_empty())
            .collect();
        assert!(!sections.is_empty(), "{bin}: {cited}");
        for s in sections {
            assert!(
                headings.iter().any(|h| h.starts_with(s)),
                "{bin} --help cites README section {s:?}, which README.md does not have"
            );
        }
    }
}
